"""Answer templates: parsing the seller's templates file and filling a template for one inquiry.

A template is a title and a body with variables in braces. Known variables:
- `{상품명}` the product, `{쇼핑몰}` the shop name (config `shop_name`, else 쿠팡/스마트스토어/...), `{마켓}` the
  marketplace or site, `{고객님}` always "고객님" (the buyer's name is never put in an answer), `{오늘}` and
  `{문의일}` as "12월 2일(수)";
- `{주문번호}` only on private streams: product Q&A answers are shown on the product page, so there it stays unfilled
  and the check before sending blocks it;
- a date counted from now: `{NAME:+N영업일}` (days the calendar keeps open and the work hours have time on) or
  `{NAME:+N일}` (calendar days). `{약속일:...}` is a promise: rendering returns it so the caller can set a reminder.
Braces are for variables only; a brace inside a filled value (a product name) is written full-width so the answer
never looks as if a variable were left in it. Pure: `now` and the work schedule are parameters.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from core.models import Category, Inquiry, StreamKind
from policies.intervals import HORIZON_DAYS, Schedule

VARIABLE = re.compile(r"\{([^{}\n]{1,40})\}")
_DATE_OFFSET = re.compile(r"^\s*\+\s*(\d{1,3})\s*(영업일|일)\s*$")
ORDER_NUMBER = "주문번호"
PROMISE_NAME = "약속일"
PLAIN_VARIABLES = ("상품명", ORDER_NUMBER, "쇼핑몰", "마켓", "고객님", "오늘", "문의일")
PUBLIC_STREAMS = frozenset({StreamKind.PRODUCT_QNA})  # shown on the product page to every visitor
_WEEKDAYS = "월화수목금토일"
_TEMPLATE_KEYS = ("name", "category", "title", "body")
_LITERAL_BRACES = str.maketrans({"{": "｛", "}": "｝"})


def is_public(stream: StreamKind) -> bool:
    """True for a stream whose answers anyone can read (product Q&A is shown on the product page)."""
    return stream in PUBLIC_STREAMS


class TemplateError(ValueError):
    """The templates file is unusable; the message names the key path, e.g. `templates[2].category: ...`."""


@dataclass(frozen=True, slots=True)
class Template:
    """One named answer template for a category."""

    name: str
    category: Category
    title: str
    body: str

    def variables(self) -> tuple[str, ...]:
        """The variables it uses, as written between the braces, in order of first use."""
        found = (m[1] for m in VARIABLE.finditer(f"{self.title}\n{self.body}"))
        return tuple(dict.fromkeys(found))

    def unknown_variables(self) -> tuple[str, ...]:
        """The variables no inquiry can fill (a typo such as `{상품 명}`)."""
        return tuple(v for v in self.variables() if not is_known_variable(v))


@dataclass(frozen=True, slots=True)
class Promise:
    """A date a rendered answer promises: the caller may record it as an inqd promise on the inquiry."""

    variable: str  # as written, e.g. "약속일:+2영업일"
    day: date
    at: datetime  # the end of the seller's work hours that day (the next midnight on a day without work hours)


@dataclass(frozen=True, slots=True)
class Rendered:
    """A template filled for one inquiry."""

    title: str
    text: str
    missing: tuple[str, ...] = ()  # known variables without a value here; left in braces in the text
    unknown: tuple[str, ...] = ()  # variables nobody knows; left in braces in the text
    promise: Promise | None = None  # the earliest {약속일:...} in the text

    @property
    def unfilled(self) -> tuple[str, ...]:
        """Every variable still in braces in the text or title."""
        return (*self.missing, *self.unknown)


def is_known_variable(variable: str) -> bool:
    """True for a plain variable this module fills, or any `NAME:+N영업일` / `NAME:+N일` date."""
    name, sep, arg = variable.partition(":")
    if not sep:
        return variable.strip() in PLAIN_VARIABLES
    return bool(name.strip()) and _DATE_OFFSET.match(arg) is not None


def parse_templates(text: str) -> tuple[Template, ...]:
    """Templates from the TOML text of a templates file (`[[templates]]` tables); TemplateError names the bad key."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise TemplateError(f"not valid TOML: {err}") from err
    unknown = sorted(set(data) - {"templates"})
    if unknown:
        raise TemplateError(f"{unknown[0]}: unknown key (expected [[templates]] tables)")
    raw = data.get("templates", [])
    if not isinstance(raw, list):
        raise TemplateError("templates: write each template as a [[templates]] table")
    templates = tuple(_parse_one(item, f"templates[{index}]") for index, item in enumerate(raw))
    names = [t.name for t in templates]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise TemplateError(f"templates: duplicate name {', '.join(repr(n) for n in dupes)}")
    return templates


def _parse_one(raw: object, path: str) -> Template:
    if not isinstance(raw, Mapping):
        raise TemplateError(f"{path}: must be a table with {', '.join(_TEMPLATE_KEYS)}")
    for key in raw:
        if key not in _TEMPLATE_KEYS:
            raise TemplateError(f"{path}.{key}: unknown key (expected {', '.join(_TEMPLATE_KEYS)})")
    values: dict[str, str] = {}
    for key in _TEMPLATE_KEYS:
        value = raw.get(key)
        if not isinstance(value, str) or not value.strip():
            raise TemplateError(f"{path}.{key}: {'field required' if value is None else 'must be non-empty text'}")
        values[key] = value.strip()
    try:
        category = Category(values["category"])
    except ValueError:
        expected = ", ".join(c.value for c in Category)
        raise TemplateError(f"{path}.category: unknown category {values['category']!r} (expected {expected})") from None
    return Template(values["name"], category, values["title"], values["body"])


def templates_for(templates: Iterable[Template], category: Category) -> tuple[Template, ...]:
    """The templates of one category, in file order."""
    return tuple(t for t in templates if t.category is category)


def format_day(day: date) -> str:
    """A date as sellers write it: "12월 4일(금)"."""
    return f"{day.month}월 {day.day}일({_WEEKDAYS[day.weekday()]})"


def is_business_day(work: Schedule, day: date) -> bool:
    """A 영업일: the calendar keeps the day open and the work hours have time on it."""
    if work.calendar.is_closed(day):
        return False
    start = datetime.combine(day, time(0), tzinfo=work.zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=work.zone)
    return bool(work.spans(start, end))


def business_days_after(work: Schedule, start: date, count: int) -> date | None:
    """The `count`-th 영업일 after `start` (0: `start` itself if it is one, else the next); None beyond the horizon."""
    day = start
    left = count
    if left == 0 and is_business_day(work, day):
        return day
    for _ in range(HORIZON_DAYS):
        day += timedelta(days=1)
        if is_business_day(work, day):
            left -= 1
            if left <= 0:
                return day
    return None


def _promise_at(work: Schedule, day: date) -> datetime:
    start = datetime.combine(day, time(0), tzinfo=work.zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=work.zone)
    spans = work.spans(start, end)
    return spans[-1][1] if spans else end


def render(
    template: Template, inquiry: Inquiry, *, work: Schedule, now: datetime, shop_name: str | None = None
) -> Rendered:
    """Fill `template` for `inquiry`: dates are counted from `now` in the seller's work calendar."""
    filler = _Filler(inquiry, work, now, shop_name)
    title = VARIABLE.sub(filler.replace, template.title)
    text = VARIABLE.sub(filler.replace, template.body)
    return Rendered(
        title=title,
        text=text,
        missing=tuple(dict.fromkeys(filler.missing)),
        unknown=tuple(dict.fromkeys(filler.unknown)),
        promise=min(filler.promises, key=lambda p: p.day, default=None),
    )


class _Filler:
    """One rendering's variable values, and what it could not fill."""

    def __init__(self, inquiry: Inquiry, work: Schedule, now: datetime, shop_name: str | None) -> None:
        self.work = work
        self.today = now.astimezone(work.zone).date()
        public = is_public(inquiry.stream)
        self.values: dict[str, str | None] = {
            "상품명": inquiry.product_name,
            ORDER_NUMBER: None if public else inquiry.order_id,
            "쇼핑몰": shop_name or inquiry.shop,
            "마켓": inquiry.shop,
            "고객님": "고객님",
            "오늘": format_day(self.today),
            "문의일": format_day(inquiry.received_at.astimezone(work.zone).date()),
        }
        self.missing: list[str] = []
        self.unknown: list[str] = []
        self.promises: list[Promise] = []

    def replace(self, match: re.Match[str]) -> str:
        """The value of one `{variable}`, or the variable itself (recorded as missing or unknown)."""
        variable = match[1]
        name, sep, arg = variable.partition(":")
        if sep:
            value = self._date(variable, name.strip(), arg)
        elif variable.strip() in self.values:
            value = self.values[variable.strip()]
            value = value.strip().translate(_LITERAL_BRACES) if value and value.strip() else None
            if value is None:
                self.missing.append(variable)
        else:
            self.unknown.append(variable)
            return match[0]
        return match[0] if value is None else value

    def _date(self, variable: str, name: str, arg: str) -> str | None:
        offset = _DATE_OFFSET.match(arg)
        if offset is None or not name:
            self.unknown.append(variable)
            return None
        count, unit = int(offset[1]), offset[2]
        if unit == "일":
            day: date | None = self.today + timedelta(days=count)
        else:
            day = business_days_after(self.work, self.today, count)
        if day is None:  # no work hours within the horizon: nothing honest to promise
            self.missing.append(variable)
            return None
        if name == PROMISE_NAME:
            self.promises.append(Promise(variable, day, _promise_at(self.work, day)))
        return format_day(day)
