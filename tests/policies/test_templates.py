"""Answer templates: the file's shape, filling a template for an inquiry, dates in the seller's work calendar,
the starter set, and hypothesis on rendering (never a known variable left, never a crash on a product name)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.init.starter_templates import STARTER_TEMPLATES
from core.models import KST, Category, Inquiry, Marketplace, StreamKind
from policies.answer_check import check_answer
from policies.calendar import Calendar
from policies.intervals import Schedule, parse_interval
from policies.templates import (
    PLAIN_VARIABLES,
    VARIABLE,
    Template,
    TemplateError,
    business_days_after,
    format_day,
    is_public,
    parse_templates,
    render,
    templates_for,
)

CS_HOURS = parse_interval("cs-hours", [{"weekdays": ["monday:friday"], "times": ["13:00-18:00"]}])
WORK = Schedule([CS_HOURS], KST, Calendar(), exclude_closed_days=True)
WEDNESDAY = datetime(2026, 12, 2, 10, 0, tzinfo=KST)


def _inquiry(
    stream: StreamKind = StreamKind.CALL_CENTER,
    *,
    product_name: str | None = "무선 블루투스 이어폰",
    order_id: str | None = "2000012345678",
    marketplace: Marketplace = Marketplace.COUPANG,
    site: str | None = None,
) -> Inquiry:
    return Inquiry(
        account_id="shop",
        marketplace=marketplace,
        stream=stream,
        external_id="1",
        received_at=datetime(2026, 12, 1, 21, 30, tzinfo=KST),
        body="언제 와요?",
        category=Category.DELIVERY,
        product_name=product_name,
        order_id=order_id,
        buyer="김민수",
        site=site,
    )


def _template(body: str, title: str = "안내드립니다") -> Template:
    return Template("t", Category.DELIVERY, title, body)


def test_the_issue_example_two_work_days_from_a_wednesday() -> None:
    rendered = render(_template("{약속일:+2영업일}까지 보내 드리겠습니다."), _inquiry(), work=WORK, now=WEDNESDAY)

    assert rendered.text == "12월 4일(금)까지 보내 드리겠습니다."
    assert rendered.unfilled == ()
    assert rendered.promise is not None
    assert rendered.promise.day == date(2026, 12, 4)
    assert rendered.promise.at == datetime(2026, 12, 4, 18, 0, tzinfo=KST)  # the end of that day's work hours


@pytest.mark.parametrize(
    ("now", "variable", "expected"),
    [
        (datetime(2026, 12, 4, 10, 0, tzinfo=KST), "+1영업일", "12월 7일(월)"),  # over a weekend
        (datetime(2026, 9, 23, 10, 0, tzinfo=KST), "+1영업일", "9월 28일(월)"),  # over 추석 and a weekend
        (datetime(2026, 9, 23, 10, 0, tzinfo=KST), "+2영업일", "9월 29일(화)"),
        (datetime(2026, 12, 24, 10, 0, tzinfo=KST), "+1영업일", "12월 28일(월)"),  # 기독탄신일 on a Friday
        (datetime(2026, 12, 5, 10, 0, tzinfo=KST), "+0영업일", "12월 7일(월)"),  # today is Saturday: the next one
        (WEDNESDAY, "+0영업일", "12월 2일(수)"),
        (WEDNESDAY, "+3일", "12월 5일(토)"),  # calendar days count weekends
        (WEDNESDAY, "+ 10 일", "12월 12일(토)"),
        (datetime(2026, 12, 31, 23, 0, tzinfo=KST), "+1영업일", "1월 4일(월)"),  # 신정 and a weekend, next year
    ],
)
def test_dates_are_counted_in_the_work_calendar(now: datetime, variable: str, expected: str) -> None:
    rendered = render(_template(f"{{발송일:{variable}}}"), _inquiry(), work=WORK, now=now)
    assert (rendered.text, rendered.unfilled, rendered.promise) == (expected, (), None)


def test_a_vacation_and_a_day_without_work_hours_are_not_work_days() -> None:
    saturday_shift = parse_interval("sat", [{"weekdays": ["saturday"], "times": ["10:00-12:00"]}])
    work = Schedule(
        [CS_HOURS, saturday_shift], KST, Calendar(closed=frozenset({date(2026, 12, 3)})), exclude_closed_days=True
    )
    assert business_days_after(work, date(2026, 12, 2), 1) == date(2026, 12, 4)
    assert business_days_after(work, date(2026, 12, 2), 2) == date(2026, 12, 5)  # Saturday has work hours here
    no_hours = Schedule([], KST, Calendar(), exclude_closed_days=True)
    rendered = render(_template("{약속일:+1영업일}"), _inquiry(), work=no_hours, now=WEDNESDAY)
    assert (rendered.text, rendered.missing, rendered.promise) == ("{약속일:+1영업일}", ("약속일:+1영업일",), None)


def test_the_earliest_promise_is_returned() -> None:
    body = "{약속일:+3영업일}까지 교환, {약속일:+1영업일}까지 회수, {도착예정일:+1영업일} 도착"
    rendered = render(_template(body), _inquiry(), work=WORK, now=WEDNESDAY)
    assert rendered.promise is not None
    assert (rendered.promise.variable, rendered.promise.day) == ("약속일:+1영업일", date(2026, 12, 3))


def test_every_plain_variable_on_a_private_stream() -> None:
    body = " / ".join(f"{{{name}}}" for name in PLAIN_VARIABLES)
    rendered = render(_template(body), _inquiry(), work=WORK, now=WEDNESDAY, shop_name="바른생활")
    assert (
        rendered.text == "무선 블루투스 이어폰 / 2000012345678 / 바른생활 / 쿠팡 / 고객님 / 12월 2일(수) / 12월 1일(화)"
    )
    assert rendered.unfilled == ()


def test_the_order_number_is_never_filled_on_a_public_stream() -> None:
    rendered = render(_template("{주문번호} 확인했습니다"), _inquiry(StreamKind.PRODUCT_QNA), work=WORK, now=WEDNESDAY)
    assert (rendered.text, rendered.missing) == ("{주문번호} 확인했습니다", ("주문번호",))
    assert [f.code for f in check_answer(rendered.text, public=True)] == ["order_number_public"]


def test_the_shop_defaults_to_the_site_or_marketplace() -> None:
    esm = _inquiry(marketplace=Marketplace.ESM, site="옥션")
    assert render(_template("{쇼핑몰}/{마켓}"), esm, work=WORK, now=WEDNESDAY).text == "옥션/옥션"
    naver = _inquiry(marketplace=Marketplace.NAVER)
    assert render(_template("{쇼핑몰}"), naver, work=WORK, now=WEDNESDAY).text == "스마트스토어"


def test_missing_and_unknown_variables_are_reported_and_left_in_place() -> None:
    body = "{상품명} {상품 이름} {약속일:다음주} {:+1일} {주문번호}"
    rendered = render(
        _template(body, "{상품명} 안내"), _inquiry(product_name=None, order_id=None), work=WORK, now=WEDNESDAY
    )
    assert rendered.text == body
    assert rendered.title == "{상품명} 안내"
    assert rendered.missing == ("상품명", "주문번호")
    assert rendered.unknown == ("상품 이름", "약속일:다음주", ":+1일")


def test_braces_in_a_product_name_are_written_full_width() -> None:
    rendered = render(_template("{상품명}"), _inquiry(product_name="{1+1} 양말 {상품명}"), work=WORK, now=WEDNESDAY)
    assert rendered.text == "｛1+1｝ 양말 ｛상품명｝"
    assert VARIABLE.search(rendered.text) is None


def test_format_day_and_public_streams() -> None:
    assert format_day(date(2026, 12, 4)) == "12월 4일(금)"
    assert [s for s in StreamKind if is_public(s)] == [StreamKind.PRODUCT_QNA]


# ---- the file --------------------------------------------------------------------------------------------------

GOOD_FILE = """
[[templates]]
name = "배송 지연"
category = "배송"
title = "배송 지연 안내"
body = '''
{고객님}, 늦어져 죄송합니다.
'''
"""


def test_a_templates_file_parses() -> None:
    (template,) = parse_templates(GOOD_FILE)
    assert template == Template("배송 지연", Category.DELIVERY, "배송 지연 안내", "{고객님}, 늦어져 죄송합니다.")
    assert templates_for((template,), Category.DELIVERY) == (template,)
    assert templates_for((template,), Category.REFUND) == ()
    assert parse_templates("") == ()


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("templates = 3", "templates: write each template as a [[templates]] table"),
        ("x = 1", "x: unknown key"),
        ("[[templates]]\nname = 'a'\ncategory = '배송'\ntitle = 't'", "templates[0].body: field required"),
        ("[[templates]]\nname = 'a'\ncategory = '배달'\ntitle = 't'\nbody = 'b'", "templates[0].category: unknown"),
        (
            "[[templates]]\nname = ' '\ncategory = '배송'\ntitle = 't'\nbody = 'b'",
            "templates[0].name: must be non-empty",
        ),
        ("[[templates]]\nname = 'a'\ncategory = '배송'\ntitle = 't'\nbody = 'b'\nlang = 'ko'", "templates[0].lang"),
        ("[[templates]]\nname = 'a'\ncategory = '배송'\ntitle = 't'\nbody = 2", "templates[0].body: must be"),
        ("templates = [1]", "templates[0]: must be a table"),
        ("[[templates]\n", "not valid TOML"),
        (GOOD_FILE + GOOD_FILE, "templates: duplicate name '배송 지연'"),
    ],
)
def test_a_bad_templates_file_names_the_key(text: str, error: str) -> None:
    with pytest.raises(TemplateError, match=r"^" + error.replace("[", r"\[").replace("]", r"\]")):
        parse_templates(text)


# ---- the starter set ---------------------------------------------------------------------------------------------

STARTER = parse_templates(STARTER_TEMPLATES)


def test_the_deploy_example_is_the_starter_set() -> None:
    example = Path(__file__).parents[2] / "deploy" / "templates.example.toml"
    assert example.read_text(encoding="utf-8") == STARTER_TEMPLATES


def test_the_starter_set_covers_the_issue() -> None:
    names = " ".join(t.name for t in STARTER)
    for topic in ("지연", "통관", "불량", "반품", "환불", "재입고", "사이즈", "사용", "개인통관고유부호"):
        assert topic in names
    assert all(t.unknown_variables() == () for t in STARTER)
    assert {t.category for t in STARTER} == set(Category)


@pytest.mark.parametrize("template", STARTER, ids=lambda t: t.name)
@pytest.mark.parametrize("stream", list(StreamKind))
def test_every_starter_template_passes_the_check(template: Template, stream: StreamKind) -> None:
    rendered = render(template, _inquiry(stream), work=WORK, now=WEDNESDAY, shop_name="바른생활")
    findings = check_answer(rendered.text, public=is_public(stream), order_ids=["2000012345678"])
    uses_order_number = "주문번호" in template.variables()
    expected = ["order_number_public"] if uses_order_number and is_public(stream) else []
    assert [f.code for f in findings] == expected, rendered.text
    assert check_answer(rendered.title, public=is_public(stream)) == ()


# ---- hypothesis ---------------------------------------------------------------------------------------------------

ALL_KNOWN = Template(
    "all",
    Category.OTHER,
    "{상품명} 문의 답변",
    " ".join(f"{{{name}}}" for name in PLAIN_VARIABLES) + " {약속일:+2영업일} {도착일:+5일} {발송일:+0영업일}",
)


@settings(max_examples=300, deadline=None)
@given(
    product=st.text(min_size=1).filter(str.strip),
    order=st.text(min_size=1).filter(str.strip),
    shop=st.text(min_size=1).filter(str.strip),
    stream=st.sampled_from([StreamKind.CALL_CENTER, StreamKind.CUSTOMER_INQUIRY, StreamKind.URGENT]),
    minutes=st.integers(min_value=0, max_value=60 * 24 * 800),
)
def test_no_known_variable_is_ever_left_unfilled(
    product: str, order: str, shop: str, stream: StreamKind, minutes: int
) -> None:
    now = datetime(2026, 1, 1, tzinfo=KST) + timedelta(minutes=minutes)
    inquiry = _inquiry(stream, product_name=product, order_id=order)
    rendered = render(ALL_KNOWN, inquiry, work=WORK, now=now, shop_name=shop)
    assert rendered.unfilled == ()
    assert VARIABLE.search(rendered.text) is None and VARIABLE.search(rendered.title) is None
    assert not any(f.code == "unfilled_variable" for f in check_answer(rendered.text, public=False))
    assert rendered.promise is not None and rendered.promise.at > now


PLAIN_TEXT = st.text(alphabet=st.characters(blacklist_characters="{}"))
PIECES = st.lists(
    st.one_of(
        PLAIN_TEXT,
        PLAIN_TEXT.map(lambda name: f"{{{name}}}"),
        st.sampled_from(PLAIN_VARIABLES).map(lambda n: f"{{{n}}}"),
    )
)


@settings(max_examples=300, deadline=None)
@given(body=PIECES.map("".join), title=PIECES.map("".join), product=st.one_of(st.none(), st.text()))
def test_any_template_renders_and_reports_what_it_left(body: str, title: str, product: str | None) -> None:
    template = Template("t", Category.OTHER, title, body)
    rendered = render(template, _inquiry(product_name=product), work=WORK, now=WEDNESDAY)
    left = {m[1] for m in VARIABLE.finditer(rendered.text)} | {m[1] for m in VARIABLE.finditer(rendered.title)}
    assert left <= set(rendered.unfilled)
