"""The inquiry page over plain HTTP: what it shows, buyer data masked for a browser elsewhere, and the composer's
rules — a blocked draft cannot be sent, warnings need the seller's confirmation, only the text the seller saw is
approved, and a second click sends nothing more."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from aggregator.answering.desk import template_key, text_digest
from aggregator.settings.service import AdminConfig
from aggregator.store.answers import AnswerState
from connectors.sandbox import CoupangSandbox
from tests.conftest import SHOP_ACCOUNT, MakeSettings, quiet_sink
from tests.fakes import FakeClock
from tests.web.conftest import WebDaemon, csrf_of, start_web_daemon

TEMPLATES = """
[[templates]]
name = "재고 안내"
category = "상품"
title = "재고"
body = "안녕하세요, {쇼핑몰}입니다. 문의하신 상품은 {출고일:+2영업일}에 들어옵니다."

[[templates]]
name = "배송 지연"
category = "배송"
title = "지연"
body = "배송이 늦어 죄송합니다."

[[templates]]
name = "입고 약속"
category = "상품"
title = "입고"
body = "문의하신 상품은 {약속일:+2영업일}까지 입고해 보내 드리겠습니다."
"""
# The sandbox takes answers only under its WING login ID.
ANSWERING_ACCOUNT = {**SHOP_ACCOUNT, "reply_by": "sandbox-wing"}
PHONE = "010-2345-6789"
QUESTION = f"사이즈 교환 되나요? 연락은 {PHONE} 으로 주세요."
BLOCKED = "자세한 건 010-9876-5432로 전화 주세요."
WARNED = "규정상 절대 불가합니다. 어쩔 수 없습니다."


def write_templates(directory: Path) -> Path:
    """The seller's templates file: one product template, one delivery template."""
    path = directory / "templates.toml"
    path.write_text(TEMPLATES, encoding="utf-8")
    return path


@pytest.fixture
async def web_daemon(
    tmp_path: Path, real_clock: FakeClock, sandbox: CoupangSandbox, make_settings: MakeSettings
) -> AsyncIterator[WebDaemon]:
    """The inbox's daemon with the seller's templates file (the browser tests' `page` uses it too)."""
    settings = make_settings(
        quiet_sink(tmp_path), account=ANSWERING_ACCOUNT, quiet_hours=(), templates_file=write_templates(tmp_path)
    )
    running = await start_web_daemon(settings, real_clock, sandbox)
    try:
        yield running
    finally:
        await running.admin.aclose()
        await running.daemon.aclose()


async def seed(web_daemon: WebDaemon, content: str = QUESTION) -> int:
    """One open product question in the sandbox, polled into the store; its row id."""
    web_daemon.sandbox.add_product_inquiry(content=content, inquiry_at=web_daemon.clock.now(), order_ids=[31000222])
    await web_daemon.poll()
    rows = await web_daemon.daemon.store.open_inquiries()
    return next(r.id for r in rows if r.inquiry.body == content)


def hidden(html: str, name: str) -> str:
    """A hidden field's value in a page or fragment."""
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no {name} field"
    return match.group(1)


async def test_the_page_shows_the_question_clocks_timeline_and_seller_centre(
    client: httpx.AsyncClient, web_daemon: WebDaemon
) -> None:
    row = await seed(web_daemon)
    page = await client.get(f"/inquiries/{row}")
    assert page.status_code == 200
    html = page.text
    assert PHONE in html  # this machine: in full
    assert "31000222" in html and "쿠팡" in html and "상품문의" in html
    assert html.count('class="left" data-deadline=') >= 1 and "남음" in html
    assert "https://wing.coupang.com/tenants/cs/product/inquiries" in html
    assert 'rel="noreferrer noopener"' in html
    assert "경과" in html
    assert "marketplace:warn" not in html and "alert_queued" not in html  # words, never keys
    for action in ("handled", "snooze", "promise"):
        assert f'action="/inquiries/{row}/{action}"' in html
    assert 'id="answer"' in html and "재고 안내" in html and "배송 지연" in html
    assert 'href="?template=' in html


async def test_an_unknown_inquiry_is_a_korean_404(client: httpx.AsyncClient) -> None:
    for path in ("/inquiries/999999", "/inquiries/abc"):
        page = await client.get(path)
        assert page.status_code == 404
        assert "문의를 찾을 수 없습니다" in page.text


async def test_a_template_fills_the_composer_for_this_inquiry(client: httpx.AsyncClient, web_daemon: WebDaemon) -> None:
    row = await seed(web_daemon)
    key = re.search(
        r'href="\?template=([0-9a-f]{8})#answer" data-key="[0-9a-f]+" data-text="[^"]*">재고 안내',
        (await client.get(f"/inquiries/{row}")).text,
    )
    assert key
    html = (await client.get(f"/inquiries/{row}", params={"template": key.group(1)})).text
    textarea = re.search(r'<textarea id="answer"[^>]*>([^<]*)</textarea>', html)
    assert textarea and "안녕하세요, 쿠팡입니다." in textarea.group(1)
    assert "{" not in textarea.group(1)  # every variable filled, the work-calendar date too


async def test_buyer_data_is_masked_for_a_browser_elsewhere(
    tmp_path: Path, real_clock: FakeClock, sandbox: CoupangSandbox, make_settings: MakeSettings
) -> None:
    settings = make_settings(
        quiet_sink(tmp_path),
        quiet_hours=(),
        admin=AdminConfig(port=0, token="s3cret-token"),
        templates_file=write_templates(tmp_path),
    )
    running = await start_web_daemon(settings, real_clock, sandbox)
    try:
        row = await seed(running)
        async with httpx.AsyncClient(base_url=running.url) as http:
            assert (await http.post("/login", data={"token": "s3cret-token", "next": "/"})).status_code == 303
            local = await http.get(f"/inquiries/{row}")
            remote = await http.get(f"/inquiries/{row}", headers={"X-Forwarded-For": "100.64.0.7"})
        assert PHONE in local.text
        assert remote.status_code == 200 and "개인정보 가림" in remote.text
        assert PHONE not in remote.text and "6789" in remote.text
    finally:
        await running.admin.aclose()
        await running.daemon.aclose()


async def test_a_blocked_draft_cannot_be_sent(client: httpx.AsyncClient, web_daemon: WebDaemon) -> None:
    row = await seed(web_daemon)
    csrf = csrf_of((await client.get(f"/inquiries/{row}")).text)
    checked = await client.post(f"/inquiries/{row}/answer/check", data={"csrf": csrf, "text": BLOCKED, "fragment": "1"})
    assert 'data-blocked="1"' in checked.text and "보낼 수 없음" in checked.text
    drafted = await client.post(f"/inquiries/{row}/answer/draft", data={"csrf": csrf, "text": BLOCKED})
    assert "마켓 밖 연락처" in drafted.text and f'action="/inquiries/{row}/answer/send"' not in drafted.text
    answer = (await web_daemon.daemon.store.answers_for(row))[-1]
    sent = await client.post(
        f"/inquiries/{row}/answer/send",
        data={"csrf": csrf, "answer_id": str(answer.id), "digest": text_digest(answer.text), "confirm_warnings": "1"},
    )
    assert sent.status_code == 409 and "보낼 수 없는 내용" in sent.text
    assert (await web_daemon.daemon.store.get_answer(answer.id)).state is AnswerState.DRAFT  # type: ignore[union-attr]


async def test_warnings_need_the_confirmation(client: httpx.AsyncClient, web_daemon: WebDaemon) -> None:
    row = await seed(web_daemon)
    csrf = csrf_of((await client.get(f"/inquiries/{row}")).text)
    drafted = (await client.post(f"/inquiries/{row}/answer/draft", data={"csrf": csrf, "text": WARNED})).text
    assert "경고를 확인했습니다" in drafted and 'data-blocked="0"' in drafted
    form = {"csrf": csrf, "answer_id": hidden(drafted, "answer_id"), "digest": hidden(drafted, "digest")}
    refused = await client.post(f"/inquiries/{row}/answer/send", data=form)
    assert refused.status_code == 409 and "경고를 확인" in refused.text
    sent = await client.post(f"/inquiries/{row}/answer/send", data={**form, "confirm_warnings": "1"})
    assert sent.status_code == 303
    answer = await web_daemon.daemon.store.get_answer(int(form["answer_id"]))
    assert answer is not None and answer.state is AnswerState.APPROVED and answer.approved_by == "web"


async def test_a_changed_text_is_refused(client: httpx.AsyncClient, web_daemon: WebDaemon) -> None:
    row = await seed(web_daemon)
    csrf = csrf_of((await client.get(f"/inquiries/{row}")).text)
    seen = (await client.post(f"/inquiries/{row}/answer/draft", data={"csrf": csrf, "text": "재고 있습니다."})).text
    form = {"csrf": csrf, "answer_id": hidden(seen, "answer_id"), "digest": hidden(seen, "digest")}
    # Another tab rewrote the draft after this confirm step was shown.
    await client.post(f"/inquiries/{row}/answer/draft", data={"csrf": csrf, "text": "재고가 없습니다."})
    refused = await client.post(f"/inquiries/{row}/answer/send", data={**form, "fragment": "1"})
    assert refused.status_code == 409 and "내용이 바뀌었습니다" in refused.text
    answer = await web_daemon.daemon.store.get_answer(int(form["answer_id"]))
    assert answer is not None and answer.state is AnswerState.DRAFT


async def test_a_second_click_sends_nothing_more(client: httpx.AsyncClient, web_daemon: WebDaemon) -> None:
    row = await seed(web_daemon)
    csrf = csrf_of((await client.get(f"/inquiries/{row}")).text)
    seen = (await client.post(f"/inquiries/{row}/answer/draft", data={"csrf": csrf, "text": "재고 있습니다."})).text
    form = {"csrf": csrf, "answer_id": hidden(seen, "answer_id"), "digest": hidden(seen, "digest"), "fragment": "1"}
    first = await client.post(f"/inquiries/{row}/answer/send", data=form)
    second = await client.post(f"/inquiries/{row}/answer/send", data=form)
    assert first.status_code == 200 and "승인됨" in first.text and "보내기 취소" in first.text
    assert second.status_code == 409 and "이미 보낸 답변" in second.text
    answers = await web_daemon.daemon.store.answers_for(row)
    assert [a.state for a in answers] == [AnswerState.APPROVED]
    stored = await web_daemon.daemon.store.get_inquiry(row)
    assert stored is not None
    await web_daemon.poll()
    assert web_daemon.sandbox.is_answered(int(stored.inquiry.external_id))
    assert len(web_daemon.sandbox.product_inquiry(int(stored.inquiry.external_id)).comments) == 1  # type: ignore[union-attr]


async def test_an_approved_answer_can_be_cancelled_before_it_goes(
    client: httpx.AsyncClient, web_daemon: WebDaemon
) -> None:
    row = await seed(web_daemon)
    csrf = csrf_of((await client.get(f"/inquiries/{row}")).text)
    seen = (await client.post(f"/inquiries/{row}/answer/draft", data={"csrf": csrf, "text": "재고 있습니다."})).text
    answer_id = hidden(seen, "answer_id")
    form = {"csrf": csrf, "answer_id": answer_id, "digest": hidden(seen, "digest")}
    await client.post(f"/inquiries/{row}/answer/send", data=form)
    cancelled = await client.post(
        f"/inquiries/{row}/answer/cancel", data={"csrf": csrf, "answer_id": answer_id, "fragment": "1"}
    )
    assert cancelled.status_code == 200 and "취소됨" in cancelled.text
    assert 'id="answer"' in cancelled.text  # the composer is back
    answer = await web_daemon.daemon.store.get_answer(int(answer_id))
    assert answer is not None and answer.state is AnswerState.CANCELLED


async def test_a_template_promise_is_recorded_when_sent_from_the_page(
    client: httpx.AsyncClient, web_daemon: WebDaemon
) -> None:
    row = await seed(web_daemon)
    key = template_key("입고 약속")
    picked = (await client.get(f"/inquiries/{row}", params={"template": key})).text
    assert hidden(picked, "template") == key  # the composer carries the picked template
    textarea = re.search(r'<textarea id="answer"[^>]*>([^<]*)</textarea>', picked)
    assert textarea and "까지 입고해" in textarea.group(1)
    csrf = csrf_of(picked)
    drafted = (
        await client.post(
            f"/inquiries/{row}/answer/draft",
            data={"csrf": csrf, "text": html.unescape(textarea.group(1)), "template": hidden(picked, "template")},
        )
    ).text
    assert hidden(drafted, "template") == key  # ... through the confirm step to the send form
    form = {k: hidden(drafted, k) for k in ("answer_id", "digest", "template")}

    sent = await client.post(f"/inquiries/{row}/answer/send", data={"csrf": csrf, **form})

    stored = await web_daemon.daemon.store.get_inquiry(row)
    assert stored is not None and stored.controls.promise_at is not None
    assert sent.status_code == 200 and "연락 약속을 기록했습니다" in sent.text
    assert stored.controls.promise_note.startswith(f"답변 #{form['answer_id']}에서 약속한 날")
    answer = await web_daemon.daemon.store.get_answer(int(form["answer_id"]))
    assert answer is not None and answer.state is AnswerState.APPROVED
