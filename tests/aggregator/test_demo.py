"""`inqd demo` on a fake clock: one summary per shop, its shops kept with the data dir, and the config it writes.

The sandboxes answer through httpx.MockTransport; the generators are ticked by hand: no server, no sleeping.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from pathlib import Path

import httpx
import pytest
from structlog.testing import capture_logs

from aggregator import demo
from aggregator.cli.stops import Stops
from aggregator.cli.words import Words
from aggregator.daemon import Daemon
from aggregator.demo_state import STATE_FILE, DemoSandboxes
from aggregator.language import Lang
from aggregator.settings import load_settings
from aggregator.settings.editing import set_hours
from aggregator.wiring.connectors import build_connector
from core.particles import with_particle
from tests.conftest import START
from tests.fakes import FakeClock

NOWHERE = "http://127.0.0.1:9"  # every request goes through the shop's MockTransport


def _open(data_dir: Path, clock: FakeClock) -> tuple[list[demo.DemoShop], DemoSandboxes]:
    shops = demo.demo_shops(clock)
    factories = {shop.name: shop.new_generator for shop in shops}
    return shops, DemoSandboxes.open(data_dir, factories, now=clock.now(), backlog=6, rng=random.Random(7))


async def _daemon(data_dir: Path, clock: FakeClock, shops: Sequence[demo.DemoShop]) -> Daemon:
    accounts = tuple(shop.account(NOWHERE, 3.0) for shop in shops)
    transports = {acc.id: httpx.MockTransport(shop.handler) for shop, acc in zip(shops, accounts, strict=True)}
    settings = demo.demo_settings(accounts, data_dir=data_dir)
    return await Daemon.build(settings, clock=clock, transport_for=lambda acc: transports[acc.id], rng=random.Random(3))


async def _questions(shops: Sequence[demo.DemoShop], clock: FakeClock) -> dict[str, list[tuple[str, str, bool]]]:
    """What each stream of each shop shows a first (backfilling) poll: id, text and answered, per stream."""
    shown = {}
    for shop in shops:
        account = shop.account(NOWHERE, 3.0)
        connector = build_connector(account, clock=clock, transport=httpx.MockTransport(shop.handler))
        for stream in account.stream_kinds:
            polled = await connector.poll(stream, None, now=clock.now())
            shown[f"{shop.name}:{stream.value}"] = sorted((i.external_id, i.body, i.answered) for i in polled.inquiries)
        await connector.aclose()
    return shown


def _sent(data_dir: Path) -> list[dict[str, str]]:
    lines = (data_dir / "notifications.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def _run(sandboxes: DemoSandboxes, clock: FakeClock, seconds: int) -> None:
    for _ in range(seconds // 2):
        clock.advance(2)
        sandboxes.tick(clock.now())


async def test_the_demo_start_sends_one_summary_per_shop(tmp_path: Path) -> None:
    clock = FakeClock(START)
    shops, _ = _open(tmp_path, clock)
    daemon = await _daemon(tmp_path, clock, shops)
    await daemon.run_once()
    await daemon.aclose()
    summaries = [m["title"] for m in _sent(tmp_path) if m["kind"] == "backfill_summary"]
    assert sorted(summaries) == [
        "[11번가] 상품문의·긴급알리미 연결됨",
        "[G마켓/옥션] 상품문의·긴급알리미 연결됨",
        "[스마트스토어] 상품문의·고객문의 연결됨",
        "[쿠팡] 상품문의·고객센터 문의 연결됨",
    ]


async def test_a_second_run_on_the_data_dir_continues_the_same_shops(tmp_path: Path) -> None:
    clock = FakeClock(START)
    shops, sandboxes = _open(tmp_path, clock)
    daemon = await _daemon(tmp_path, clock, shops)
    for _ in range(10):
        _run(sandboxes, clock, 30)
        await daemon.run_once()
    before = await daemon.store.open_inquiries()
    shown = await _questions(shops, clock)
    await daemon.aclose()  # no goodbye for the shops: the state on disk already holds every tick
    sent_by_first = len(_sent(tmp_path))
    shops, sandboxes = _open(tmp_path, clock)
    shown_again = await _questions(shops, clock)
    daemon = await _daemon(tmp_path, clock, shops)
    with capture_logs() as logs:
        await daemon.run_once()
        after = await daemon.store.open_inquiries()
        for _ in range(5):
            _run(sandboxes, clock, 30)
            await daemon.run_once()
    await daemon.aclose()
    sent_by_second = _sent(tmp_path)[sent_by_first:]
    assert sum(len(questions) for questions in shown.values()) > 4 * 6  # the first run's ticks added some
    assert shown_again == shown
    assert [(r.id, r.inquiry.body) for r in after] == [(r.id, r.inquiry.body) for r in before]
    assert [e for e in logs if e["event"] == "inquiry_text_changed"] == []
    assert {m["kind"] for m in sent_by_second} <= {"new_inquiry", "sla_warning", "answered"}  # no summary again
    assert len(sent_by_second) > 0


async def test_the_state_on_disk_includes_a_tick_as_soon_as_the_shops_show_it(tmp_path: Path) -> None:
    clock = FakeClock(START)
    shops, sandboxes = _open(tmp_path, clock)
    _run(sandboxes, clock, 600)
    shown = await _questions(shops, clock)
    rebuilt, _ = _open(tmp_path, clock)  # as after kill -9: nothing but what each tick wrote
    assert await _questions(rebuilt, clock) == shown


@pytest.mark.parametrize("state", [None, "{", '{"version": 99, "runs": []}', '{"version": 1}'])
async def test_a_data_dir_with_a_database_but_no_readable_shop_state_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], state: str | None
) -> None:
    (tmp_path / "inqd.db").write_bytes(b"")
    if state is not None:
        (tmp_path / STATE_FILE).write_text(state, encoding="utf-8")
    code = await demo.run_demo(duration_s=0.0, data_dir=tmp_path, poll_interval_s=3.0, stops=Stops(), words=Words("ko"))
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1
    assert str(tmp_path) in err[0] and "--data-dir" in err[0] and "지운 뒤" in err[0]


def test_the_config_the_demo_writes_reads_back_as_the_demo_settings(tmp_path: Path) -> None:
    clock = FakeClock(START)
    shops = demo.demo_shops(clock)
    urls = {shop.name: f"http://127.0.0.1:{8000 + n}" for n, shop in enumerate(shops)}
    path = demo.write_demo_config(tmp_path, [shop.account_values(urls[shop.name], 3.0) for shop in shops])
    settings = demo.demo_settings(tuple(shop.account(urls[shop.name], 3.0) for shop in shops), data_dir=tmp_path)
    loaded = load_settings(path)
    assert path == tmp_path / "inqd.toml"
    assert (loaded.accounts, loaded.db_path, loaded.quiet_hours) == (settings.accounts, settings.db_path, ())
    assert loaded.notifiers == settings.notifiers
    assert [line for line in demo.data_dir_hints(tmp_path) if "explain" in line] == [
        f"  문의 하나:    inqd explain ID --config {path}"
    ]


def test_the_demo_coupang_account_answers_as_the_sandbox_wing_login() -> None:
    [coupang] = [shop for shop in demo.demo_shops(FakeClock(START)) if shop.name == "coupang"]
    account = coupang.account(NOWHERE, 3.0)
    assert getattr(account, "reply_by", None) == demo.DEMO_WING_LOGIN


async def test_the_demo_answers_one_coupang_question_sent_then_confirmed(tmp_path: Path) -> None:
    clock = FakeClock(START)
    shops, _ = _open(tmp_path, clock)
    daemon = await _daemon(tmp_path, clock, shops)
    said: list[str] = []
    try:
        await daemon.run_once()
        questions = [
            s
            for s in await daemon.store.open_inquiries()
            if s.inquiry.account_id == "demo-coupang" and s.inquiry.stream.value == "product_qna"
        ]
        answer_id = await demo.demo_answer(daemon, questions[-1], say=said.append)
        assert answer_id is not None
        await daemon.run_once()  # the sender posts it to the sandbox
        clock.advance(3)
        await daemon.run_once()  # the next poll sees it answered
        state = await demo.follow_demo_answer(daemon, answer_id, say=said.append)
        approval = await daemon.store.get_answer(answer_id)
    finally:
        await daemon.aclose()
    assert state is not None and state.value == "confirmed"
    assert approval is not None and approval.approved_by == "demo"
    assert f"'{demo.DEMO_TEMPLATE}' 템플릿으로 답변합니다. 보내기 전 점검: 문제 없음" in said[0]
    assert any("연락 약속을 기록했습니다" in line for line in said)
    assert said[-2:] == [
        f"답변 {with_particle(f'#{answer_id}', '를')} 쿠팡 샌드박스에 보냈습니다 (마켓이 받음)",
        f"답변 #{answer_id} 확인됨: 다음 조회에서 샌드박스가 답변된 문의로 보여 줍니다",
    ]


def test_the_demo_runs_on_its_written_config_and_keeps_hours_saved_there(tmp_path: Path) -> None:
    shops = demo.demo_shops(FakeClock(START))
    accounts = [shop.account_values(f"http://127.0.0.1:{8000 + n}", 3.0) for n, shop in enumerate(shops)]
    first = demo.load_demo_config(tmp_path, accounts, Words("ko"))
    assert (first.quiet_hours, first.config_path, first.shop_name) == ((), tmp_path / "inqd.toml", "데모상점")
    set_hours(tmp_path / "inqd.toml", ["월-금 22:00-09:00"], ["월-금 10:00-19:00"])  # as the web page saves
    again = demo.load_demo_config(tmp_path, accounts, Words("ko"))
    assert (again.quiet_hours, again.work_hours) == (("월-금 22:00-09:00",), ("월-금 10:00-19:00",))
    (tmp_path / "inqd.toml").write_text('quiet_hours = ["no-such-hours"]\n', encoding="utf-8")
    assert demo.load_demo_config(tmp_path, accounts, Words("ko")).quiet_hours == ()


@pytest.mark.parametrize(
    ("lang", "line"),
    [("ko", "  웹 문의함:    http://127.0.0.1:9464/ "), ("en", "  web inbox:     http://127.0.0.1:9464/ ")],
)
async def test_the_demo_banner_gives_the_web_inbox_address(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], lang: Lang, line: str
) -> None:
    code = await demo.run_demo(duration_s=0.0, data_dir=tmp_path, poll_interval_s=3.0, stops=Stops(), words=Words(lang))
    banner = capsys.readouterr().err
    assert code == 0
    assert any(text.startswith(line) for text in banner.splitlines()), banner
