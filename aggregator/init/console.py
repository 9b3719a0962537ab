"""The terminal of `inqd init`: prompts on one stream, answers from another, secrets read hidden on a terminal."""

from __future__ import annotations

import getpass
from typing import TextIO

from aggregator.init.texts import Lang, say

_YES = {"y", "yes", "예", "네", "ㅇ"}
_NO = {"n", "no", "아니오", "아니요", "ㄴ"}


class EndOfInput(Exception):
    """stdin ended before the wizard did."""


class Console:
    """Prompts on `out`, answers from `inp`; secrets are read hidden when `inp` is a terminal."""

    def __init__(self, inp: TextIO, out: TextIO, lang: Lang, *, interactive: bool) -> None:
        self.inp, self.out, self.lang, self.interactive = inp, out, lang, interactive

    def say(self, text: str) -> None:
        """Write one message."""
        self.out.write(text + "\n")
        self.out.flush()

    def line(self, prompt: str) -> str:
        """One answer, stripped; raises EndOfInput at the end of stdin."""
        self.out.write(prompt)
        self.out.flush()
        answer = self.inp.readline()
        if not answer:
            raise EndOfInput
        return answer.strip()

    def ask(self, prompt: str, default: str = "", *, optional: bool = False) -> str:
        """A value; Enter takes `default`."""
        while True:
            answer = self.line(f"{prompt} [{default}]: " if default else f"{prompt}: ") or default
            if answer or optional:
                return answer
            self.say(say(self.lang, "required"))

    def secret(self, prompt: str, keep: str, *, optional: bool) -> str:
        """A secret, never echoed on a terminal; "" means keep the current one (`keep` names it) or none."""
        shown = f"{prompt} [{keep}]: " if keep else f"{prompt}: "
        while True:
            if self.inp.isatty():
                try:
                    answer = getpass.getpass(shown, stream=self.out).strip()
                except EOFError as err:
                    raise EndOfInput from err
            else:
                answer = self.line(shown)
            if answer or keep or optional:
                return answer
            self.say(say(self.lang, "required"))

    def yes(self, prompt: str, default: bool) -> bool:
        """y or n; Enter takes `default`."""
        while True:
            answer = self.line(f"{prompt} [{'Y/n' if default else 'y/N'}]: ").lower()
            if not answer:
                return default
            if answer in _YES or answer in _NO:
                return answer in _YES
            self.say(say(self.lang, "yes_no"))

    def choose(self, prompt: str, count: int, default: int) -> int:
        """A number 1..count."""
        while True:
            answer = self.line(f"{prompt} [{default}]: ") or str(default)
            if answer.isdigit() and 1 <= int(answer) <= count:
                return int(answer)
            self.say(say(self.lang, "pick_number", count=count))
