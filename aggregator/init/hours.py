"""The quiet and work hours of `inqd init`: the --quiet and --work flags, the questions, and the answers' form.

An answer is a plain "days + times" spec such as `"mon-fri 13:00-18:00"` (read by settings.hours, the same
parser the config's hours keys use); the built-in intervals keep their names when the answer equals them,
anything else becomes the interval `quiet` or `work` in the config.
A helper of the init wizard composition root: it may import anything of ours.
"""

from __future__ import annotations

from typing import Any

from aggregator.init.config import EXIT_USAGE, StopInit
from aggregator.init.steps import WizardSteps
from aggregator.init.texts import say
from aggregator.settings.hours import parse_hours
from policies.intervals import IntervalError

# The built-in intervals of settings.policy, as the specs an answer is compared with.
_BUILTIN: dict[str, dict[str, list[str]]] = {
    "night": {"times": ["22:00-09:00"]},
    "cs-hours": {"weekdays": ["monday:friday"], "times": ["13:00-18:00"]},
}

__all__ = ["HoursSteps", "hours_text", "parse_hours"]


def hours_text(spec: dict[str, Any]) -> str:
    """The answer form of a spec: `"mon-fri 13:00-18:00"`."""
    days = ",".join("-".join(p[:3] for p in str(d).split(":")) for d in spec.get("weekdays", ()))
    return f"{days} {', '.join(spec['times'])}".strip()


class HoursSteps(WizardSteps):
    """The hours steps of the wizard, which mixes them in: --quiet and --work, then the questions."""

    def _hours_flag(self, flag: str, text: str | None, *, none_ok: bool) -> str | None:
        if text is None:
            return None
        try:
            if parse_hours(text) is None and not none_ok:
                raise IntervalError("times", "give a time range such as 13:00-18:00")
        except IntervalError as err:
            raise StopInit(EXIT_USAGE, f"{flag}: {err}") from err
        return text

    def _hours(self, quiet_flag: str | None, work_flag: str | None) -> None:
        self._section("section_hours")
        user = {str(t.get("name")): t.get("time_intervals") for t in self.file.tables("time_intervals")}
        quiet_now = list(self.file.plain.get("quiet_hours", ["night", "closed-days"]))
        holidays_now = "closed-days" in quiet_now
        quiet = self._ask_hours("quiet", quiet_flag, [n for n in quiet_now if n != "closed-days"], user)
        holidays = self.args.holidays_quiet
        if holidays is None:
            holidays = self.io.yes(say(self.lang, "holidays_quiet"), holidays_now) if self.interactive else holidays_now
        quiet += ["closed-days"] if holidays else []
        if sorted(quiet) != sorted(quiet_now):
            self.hours.quiet = quiet
        work_now = list(self.file.plain.get("work_hours", ["cs-hours"]))
        work = self._ask_hours("work", work_flag, work_now, user)
        if sorted(work) != sorted(work_now):
            self.hours.work = work

    def _ask_hours(self, own: str, flag: str | None, names: list[str], user: dict[str, Any]) -> list[str]:
        """The interval names of the answer; a new spec is kept in self.hours.intervals under `own`."""
        specs = (user.get(names[0]) or [_BUILTIN.get(names[0])]) if len(names) == 1 else None
        spec_now = specs[0] if isinstance(specs, list) and len(specs) == 1 and isinstance(specs[0], dict) else None
        # Only a plain "days + times" spec can be shown as an answer; anything richer is kept as it is.
        simple = (
            spec_now
            if spec_now is not None
            and set(spec_now) <= {"times", "weekdays"}
            and all(isinstance(v, list) and all(isinstance(i, str) for i in v) for v in spec_now.values())
            and spec_now.get("times")
            else None
        )
        text_now = ("none" if self.lang == "en" else "없음") if not names else hours_text(simple) if simple else ""
        if flag is None and not self.interactive:
            return names
        while True:
            default = text_now or say(self.lang, "keep_current", names=", ".join(names))
            answer = flag if flag is not None else self.io.ask(say(self.lang, own), default)
            if answer == default and not text_now:
                return names
            try:
                spec = parse_hours(answer)
                if spec is None and own == "work":
                    raise IntervalError("times", say(self.lang, "need_range"))
            except IntervalError as err:
                self.io.say(say(self.lang, "invalid", problem=str(err)))
                continue
            break
        if spec is None:
            return []
        if simple and spec == simple:
            return names
        builtin = "night" if own == "quiet" else "cs-hours"
        if spec == _BUILTIN[builtin] and builtin not in user:
            return [builtin]
        self.hours.intervals[own] = spec
        return [own]
