"""Answer kill soak: the real daemon is SIGKILLed K times while N answers are approved; each answer reaches the
marketplace exactly once and ends confirmed.

Run `python -m bench.answer_soak --answers N --kills K [--seed S]` (`make soak-answers`); the CI variant is
tests/test_answer_soak.py. Exit code 0 when every invariant holds, 1 otherwise.

One run, all on 127.0.0.1 and in a temporary directory:
- a CoupangSandbox (상품문의 and 고객센터 문의, the latter once-only: a second reply is refused) and an
  ElevenstSandbox (긴급알리미, once-only: -10005), each served by SandboxServer in a thread of this process, with the
  N open questions spread over the three streams before the first start;
- the daemon as a subprocess (bench/soak.py's DaemonRunner: `python -m aggregator run`, output to a log file), its
  admin API on a free loopback port with a token, polling every 0.5 s;
- once every question is stored, an approver thread runs `inqd answer ID -m TEXT --yes` as its own process at N
  seeded moments (it pokes the daemon through the admin API, or finds none while it is down), while the main thread
  SIGKILLs the daemon at K seeded moments, one per equal slice of the run, and restarts it at once. A share of the
  kills waits for the next answer request to reach a sandbox and kills within microseconds of it: between "the
  marketplace took it" and "marked sent", where a careless sender would post it again;
- then the last daemon catches up (every answer confirmed by a poll) and stops on SIGTERM; the database is read
  with sqlite3, read-only.

Invariants: every approval accepted by `inqd answer`; every answer accepted by its sandbox exactly once (no
duplicates, none missing); every answer `confirmed` in the store; a restart per kill; a clean exit on SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO

from aggregator.admin import poke_answer_sender
from aggregator.answering.service import AnswerService
from aggregator.store import Store
from bench.answer import free_port
from bench.soak import ACCESS_KEY, ACCOUNT, SECRET_KEY, VENDOR, DaemonRunner, make_plan, query, run_from_cli
from connectors.sandbox import CallCenterStatus, CoupangSandbox, ElevenstSandbox, SandboxServer
from core.clock import SystemClock

ST11, ST11_KEY, WING = "st11", "soak-11st-key", "soak-wing"
ADMIN_TOKEN = "soak-admin-token"
SECRETS = {
    f"INQD_{ACCOUNT.upper()}__ACCESS_KEY": ACCESS_KEY,
    f"INQD_{ACCOUNT.upper()}__SECRET_KEY": SECRET_KEY,
    f"INQD_{ST11.upper()}__API_KEY": ST11_KEY,
    "INQD_ADMIN__TOKEN": ADMIN_TOKEN,
}
STREAMS = ((ACCOUNT, "product_qna"), (ACCOUNT, "call_center"), (ST11, "urgent"))
FIRST_POLL_S = 30.0  # from the first start to every question stored
CATCH_UP_S = 60.0  # after the last approval: every answer confirmed
ANSWER_WAIT_S = 5.0  # a kill "after the next answer request" waits this long for one, then kills anyway
CHECK_EVERY_S = 0.05
APPROVE_TIMEOUT_S = 60.0
DESCRIPTION = "Answer kill soak: SIGKILL the daemon while answers are approved; each is posted once and confirmed."


@dataclass(frozen=True, slots=True)
class AnswerSoakResult:
    """The counts of one answer soak; `failures` names every invariant that did not hold."""

    seed: int
    answers: int  # approved through `inqd answer`
    per_stream: dict[str, int]
    approvals_failed: int  # `inqd answer` runs that did not exit 0
    accepted_once: int  # answers their sandbox accepted exactly once
    missing: int  # approved answers no sandbox accepted
    duplicates: int  # accepted answers beyond the first per question
    refused_requests: int  # answer requests a sandbox refused (a second try on a once-only endpoint, say)
    confirmed: int
    not_confirmed: dict[str, int]  # state -> count of the answers that did not end confirmed
    recovered: int  # answers a restarted daemon found `sending` (killed mid-request)
    retried_after_open_polls: int  # uncertain answers sent again after polls showed the question still open
    kills: int
    kills_after_answer: int  # kills made within microseconds of an answer request reaching a sandbox
    restarts: int
    caught_up: bool
    catch_up_s: float
    exit_code: int | None
    wall_s: float

    @property
    def failures(self) -> tuple[str, ...]:
        """One line per invariant that did not hold; empty when the run passed."""
        checks = (
            (self.approvals_failed == 0, f"{self.approvals_failed} approvals failed"),
            (self.duplicates == 0, f"{self.duplicates} answers posted twice"),
            (self.missing == 0, f"{self.missing} approved answers never reached the marketplace"),
            (self.accepted_once == self.answers, f"{self.answers - self.accepted_once} not posted exactly once"),
            (self.confirmed == self.answers, f"{self.answers - self.confirmed} not confirmed: {self.not_confirmed}"),
            (self.restarts == self.kills, f"{self.kills} kills but {self.restarts} restarts"),
            (self.caught_up, "the last daemon did not confirm every answer in time"),
            (self.exit_code == 0, f"the last daemon exited with {self.exit_code} on SIGTERM"),
        )
        return tuple(message for ok, message in checks if not ok)

    def report(self) -> str:
        """The counts as printed lines."""
        streams = ", ".join(f"{name} {count}" for name, count in sorted(self.per_stream.items()))
        rows = (
            ("answers approved", f"{self.answers} ({streams})"),
            ("approvals failed", str(self.approvals_failed)),
            ("posted exactly once", str(self.accepted_once)),
            ("duplicates", str(self.duplicates)),
            ("missing", str(self.missing)),
            ("answer requests refused", str(self.refused_requests)),
            ("confirmed", f"{self.confirmed}" + (f" (others: {self.not_confirmed})" if self.not_confirmed else "")),
            ("recovered after a kill", str(self.recovered)),
            ("re-sent after open polls", str(self.retried_after_open_polls)),
            ("kills / right after an answer", f"{self.kills} / {self.kills_after_answer}"),
            ("restarts", str(self.restarts)),
            ("catch-up", f"{self.catch_up_s:.1f} s" + ("" if self.caught_up else " (gave up)")),
            ("last exit code", str(self.exit_code)),
            ("wall time", f"{self.wall_s:.1f} s"),
        )
        width = max(len(name) for name, _ in rows)
        lines = [f"answer kill soak, seed {self.seed}"]
        lines += [f"  {name:<{width}}  {value}" for name, value in rows]
        failures = self.failures
        lines.append("result: OK" if not failures else "result: FAILED")
        lines += [f"  - {failure}" for failure in failures]
        return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class Question:
    """One seeded question: its account, stream and marketplace id."""

    account: str
    stream: str
    external_id: str


class Marketplaces:
    """The two sandboxes and the questions seeded into them."""

    def __init__(self, answers: int, rng: random.Random) -> None:
        now = datetime.now(UTC)
        self.coupang = CoupangSandbox(
            vendor_id=VENDOR,
            access_key=ACCESS_KEY,
            secret_key=SECRET_KEY,
            now=lambda: datetime.now(UTC),
            rate_limit_per_s=10,
            wing_login_id=WING,
        )
        self.elevenst = ElevenstSandbox(api_key=ST11_KEY, now=lambda: datetime.now(UTC))
        self.questions: list[Question] = []
        for n in range(answers):
            at = now - timedelta(minutes=rng.uniform(5, 55))
            stream = STREAMS[n % len(STREAMS)][1]
            if stream == "product_qna":
                item = self.coupang.add_product_inquiry(content=f"언제 출고되나요? ({n})", inquiry_at=at)
                self.questions.append(Question(ACCOUNT, stream, str(item)))
            elif stream == "call_center":
                item = self.coupang.add_call_center_inquiry(
                    inquiry_at=at,
                    agent_note=f"[판매자이관] 배송 문의 ({n})",
                    item_name="텀블러",
                    status=CallCenterStatus.REQUEST_ANSWER,
                )
                self.questions.append(Question(ACCOUNT, stream, str(item)))
            else:
                item = self.elevenst.add_alimi(
                    content=f"배송이 늦어요 ({n})", created_at=at, reply_deadline=now + timedelta(hours=4)
                )
                self.questions.append(Question(ST11, stream, str(item)))

    def answer_requests(self) -> int:
        """Answer requests that reached either sandbox's answer logic so far."""
        return len(self.coupang.answers) + len(self.elevenst.answers)

    def accepted(self, question: Question) -> int:
        """How many answers to `question` its sandbox accepted."""
        sandbox = self.coupang if question.account == ACCOUNT else self.elevenst
        return sandbox.accepted_answers(question.external_id)

    def refused(self) -> int:
        """Answer requests either sandbox refused."""
        return sum(not r.accepted for r in (*self.coupang.answers, *self.elevenst.answers))


def write_config(workdir: Path, *, coupang_url: str, elevenst_url: str, admin_port: int) -> Path:
    """Both accounts on their sandboxes (every 0.5 s), the admin API on `admin_port`, a sink file."""
    path = workdir / "inqd.toml"
    accounts = (
        f'marketplace = "coupang"\nid = "{ACCOUNT}"\nvendor_id = "{VENDOR}"\nreply_by = "{WING}"\n'
        f"base_url = {json.dumps(coupang_url)}\npoll_interval_s = 0.5\nmax_requests_per_s = 5\n"
        'streams = ["product_qna", "call_center"]',
        f'marketplace = "elevenst"\nid = "{ST11}"\nbase_url = {json.dumps(elevenst_url)}\npoll_interval_s = 0.5\n'
        'max_requests_per_s = 2\nstreams = ["urgent"]',
    )
    path.write_text(
        f"db_path = {json.dumps(str(workdir / 'inqd.db'))}\nquiet_hours = []\n[admin]\nport = {admin_port}\n"
        + "".join(f"[[accounts]]\n{account}\n" for account in accounts)
        + f'[[notifiers]]\ntype = "sink"\nconsole = false\nfile = {json.dumps(str(workdir / "sink.jsonl"))}\n',
        encoding="utf-8",
    )
    return path


def store_ids(db_path: Path) -> dict[tuple[str, str], int]:
    """(account, marketplace id) -> store id."""
    rows = query(db_path, "SELECT account_id, external_id, id FROM inquiries")
    return {(str(account), str(external)): int(str(row_id)) for account, external, row_id in rows}


async def approve_in_process(db_path: Path, admin_port: int, inquiry_id: int, text: str) -> None:
    """Draft and approve through the store from this process, then poke the daemon, as `inqd answer` does."""

    def poke() -> None:
        poke_answer_sender("127.0.0.1", admin_port, ADMIN_TOKEN)

    store = await Store.open(db_path)
    try:
        service = AnswerService(store, SystemClock(), on_approved=poke)
        draft = await service.draft(inquiry_id, text)
        await service.approve(draft.answer.id, "soak")
    finally:
        await store.aclose()


class Approver(threading.Thread):
    """Approves each planned answer at its moment: `inqd answer ID -m TEXT --yes` as its own process, or through
    the store from this process (`via="store"`, faster: no interpreter start per answer), then the same poke."""

    def __init__(
        self, config: Path, ids: Sequence[int], at_s: Sequence[float], start: float, *, via: str, admin_port: int
    ) -> None:
        super().__init__(name="soak-approver", daemon=True)
        self._config, self._ids, self._at_s, self._start = config, ids, at_s, start
        self._via = via
        self._admin_port = admin_port
        self._env = {**os.environ, **SECRETS}
        self.stop = threading.Event()
        self.failed: list[str] = []
        self.approved = 0

    def run(self) -> None:
        """Approve until every planned answer is approved or `stop` is set."""
        for n, (inquiry_id, offset) in enumerate(zip(self._ids, self._at_s, strict=True)):
            if self.stop.wait(max(0.0, self._start + offset - time.monotonic())):
                return
            text = f"안녕하세요, 고객님. 오늘 출고해 드리겠습니다. 감사합니다. (답변 {n})"
            try:
                error = self._approve(inquiry_id, text)
            except Exception as err:  # noqa: BLE001 - counted as a failed approval and shown in the report
                error = repr(err)
            if error:
                self.failed.append(f"#{inquiry_id}: {error}")
            else:
                self.approved += 1

    def _approve(self, inquiry_id: int, text: str) -> str:
        """Approve one answer; the error, or "" when it was approved."""
        if self._via == "store":
            asyncio.run(approve_in_process(self._config.parent / "inqd.db", self._admin_port, inquiry_id, text))
            return ""
        args = ["answer", str(inquiry_id), "-m", text, "--yes", "--config", str(self._config)]
        done = subprocess.run(
            [sys.executable, "-m", "aggregator", *args],
            env=self._env,
            capture_output=True,
            timeout=APPROVE_TIMEOUT_S,
            check=False,
        )
        return "" if done.returncode == 0 else f"{done.returncode} {done.stderr.decode(errors='replace')[-300:]}"


def _kill_after_next_answer(daemons: DaemonRunner, markets: Marketplaces) -> bool:
    """SIGKILL right after the next answer request reaches a sandbox; True when one came within ANSWER_WAIT_S."""
    seen = markets.answer_requests()
    deadline = time.monotonic() + ANSWER_WAIT_S
    came = False
    # A spin, not a sleep: between "the sandbox took it" and "marked sent" there are a few milliseconds.
    while time.monotonic() < deadline:
        if markets.answer_requests() > seen:
            came = True
            break
    daemons.kill()
    return came


def _wait_stored(daemons: DaemonRunner, db_path: Path, markets: Marketplaces) -> list[int]:
    """The store ids of every seeded question, once the first daemon has stored them all."""
    deadline = time.monotonic() + FIRST_POLL_S
    while time.monotonic() < deadline:
        daemons.running()
        ids = store_ids(db_path)
        if all((q.account, q.external_id) in ids for q in markets.questions):
            return [ids[(q.account, q.external_id)] for q in markets.questions]
        time.sleep(CHECK_EVERY_S)
    raise AssertionError(f"the first daemon did not store every question in {FIRST_POLL_S:g} s\n{daemons.log_tail()}")


def answer_states(db_path: Path) -> dict[int, str]:
    """Inquiry store id -> the state of its (one) answer."""
    return {int(str(i)): str(s) for i, s in query(db_path, "SELECT inquiry_id, state FROM answers")}


def _catch_up(daemons: DaemonRunner, db_path: Path, ids: Sequence[int]) -> bool:
    deadline = time.monotonic() + CATCH_UP_S
    while time.monotonic() < deadline:
        daemons.running()
        states = answer_states(db_path)
        if all(states.get(i) == "confirmed" for i in ids):
            return True
        time.sleep(CHECK_EVERY_S)
    return False


def _events(db_path: Path, state: str) -> int:
    rows = query(db_path, "SELECT detail FROM events WHERE kind = 'answer'")
    return sum(1 for (detail,) in rows if json.loads(str(detail)).get("state") == state)


def run_answer_soak(
    answers: int,
    kills: int,
    seed: int = 1,
    *,
    duration_s: float | None = None,
    answer_kill_share: float = 0.5,
    approve_via: str = "cli",
    workdir: Path | None = None,
) -> AnswerSoakResult:
    """Run one answer soak (see the module docstring); `workdir` is kept, a temporary one is removed.

    `approve_via`: "cli" runs `inqd answer` as a process per answer; "store" approves from this process.
    """
    started = time.monotonic()
    duration = duration_s if duration_s is not None else max(6.0, 0.5 * answers)
    plan = make_plan(answers, kills, seed=seed, duration_s=duration, send_kill_share=answer_kill_share)
    markets = Marketplaces(answers, random.Random(f"answer-soak:{seed}"))
    with ExitStack() as stack:
        if workdir is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="inqd-answer-soak-")))
        db_path = workdir / "inqd.db"
        coupang = stack.enter_context(SandboxServer(markets.coupang.handler))
        elevenst = stack.enter_context(SandboxServer(markets.elevenst.handler))
        admin_port = free_port()
        config = write_config(workdir, coupang_url=coupang.url, elevenst_url=elevenst.url, admin_port=admin_port)
        daemons = DaemonRunner(config, workdir / "daemon.log", SECRETS)
        stack.callback(daemons.close)
        daemons.start()
        ids = _wait_stored(daemons, db_path, markets)
        live_start = time.monotonic()
        approver = Approver(config, ids, plan.arrivals_s, live_start, via=approve_via, admin_port=admin_port)
        stack.callback(approver.join, APPROVE_TIMEOUT_S)
        stack.callback(approver.stop.set)
        approver.start()
        after_answer = 0
        for kill_s, wait_for_answer in zip(plan.kills_s, plan.after_send, strict=True):
            time.sleep(max(0.0, live_start + kill_s - time.monotonic()))
            if wait_for_answer:
                after_answer += _kill_after_next_answer(daemons, markets)
            else:
                daemons.kill()
            daemons.start()
        approver.join(timeout=max(0.0, live_start + duration - time.monotonic()) + APPROVE_TIMEOUT_S)
        if approver.is_alive():
            raise AssertionError(f"the approver did not approve its {answers} answers in time")
        catch_up_start = time.monotonic()
        caught_up = _catch_up(daemons, db_path, ids)
        catch_up_s = time.monotonic() - catch_up_start
        exit_code = daemons.terminate()
        states = answer_states(db_path)
        accepted = [markets.accepted(q) for q in markets.questions]
        return AnswerSoakResult(
            seed=seed,
            answers=answers,
            per_stream=dict(Counter(f"{q.account}/{q.stream}" for q in markets.questions)),
            approvals_failed=answers - approver.approved,
            accepted_once=sum(1 for n in accepted if n == 1),
            missing=sum(1 for n in accepted if n == 0),
            duplicates=sum(max(0, n - 1) for n in accepted),
            refused_requests=markets.refused(),
            confirmed=sum(1 for i in ids if states.get(i) == "confirmed"),
            not_confirmed=dict(Counter(states.get(i, "none") for i in ids if states.get(i) != "confirmed")),
            recovered=_events(db_path, "recovered"),
            retried_after_open_polls=_events(db_path, "still_open"),
            kills=len(plan.kills_s),
            kills_after_answer=after_answer,
            restarts=daemons.starts - 1,
            caught_up=caught_up,
            catch_up_s=catch_up_s,
            exit_code=exit_code,
            wall_s=time.monotonic() - started,
        )


def main(argv: Sequence[str] | None = None, out: IO[str] | None = None) -> int:
    """Command-line entry: run, print the counts, 0 when every invariant holds."""
    parser = argparse.ArgumentParser(prog="python -m bench.answer_soak", description=DESCRIPTION)
    parser.add_argument("--answers", type=int, default=200, help="answers approved while the daemon is killed")
    parser.add_argument("--kills", type=int, default=10, help="SIGKILLs (each followed by a restart)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--duration", type=float, default=None, help="seconds of approvals (default 0.5 s each)")
    parser.add_argument("--answer-kill-share", type=float, default=0.5, help="share of kills right after an answer")
    parser.add_argument(
        "--approve-via", choices=("cli", "store"), default="cli", help="inqd answer processes or this one"
    )
    parser.add_argument("--keep", type=Path, default=None, help="use this directory and keep it (db, log)")
    args = parser.parse_args(argv)
    return run_from_cli(
        "answer kill soak",
        args.keep,
        lambda: run_answer_soak(
            args.answers,
            args.kills,
            args.seed,
            duration_s=args.duration,
            answer_kill_share=args.answer_kill_share,
            approve_via=args.approve_via,
            workdir=args.keep,
        ),
        out,
    )


if __name__ == "__main__":
    sys.exit(main())
