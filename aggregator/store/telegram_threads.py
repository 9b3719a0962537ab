"""Answering from Telegram: which inquiry a ForceReply prompt asks about, and each inquiry's thread on the phone.

A reply is matched to its inquiry by the prompt's message id, looked up here; the text the seller types never names
the inquiry. A thread keeps the notification the seller tapped "답변" on (edited later with the answer's fate), the
latest preview (only its buttons may send, and only the text it showed), and the fate already written into the
notification: the edits follow the answers table level by level, so a crash before or after an edit only means the
edit is made (again) on the next round.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from aggregator.store.answers import AnswerState
from aggregator.store.base import StoreBase
from aggregator.store.database import Row
from aggregator.store.schema import _dt, db_time

# The fates a notification shows; the others (draft, approved, sending, uncertain, cancelled) leave it as it is.
SHOWN_STATES = frozenset(
    {
        AnswerState.SENT,
        AnswerState.CONFIRMED,
        AnswerState.ALREADY_ANSWERED,
        AnswerState.NOT_ANSWERABLE,
        AnswerState.REFUSED,
    }
)
_STATUS_DUE = (
    "SELECT t.*, a.state AS answer_state, COALESCE(a.sent_at, a.done_at, a.updated_at) AS answer_at "
    "FROM telegram_threads t JOIN answers a ON a.id = t.answer_id WHERE t.channel = ? "
    "AND t.origin_message_id IS NOT NULL AND a.state <> t.shown "
    "AND a.state IN ('sent', 'confirmed', 'already_answered', 'not_answerable', 'refused') "  # SHOWN_STATES
    "ORDER BY t.updated_at"
)
# Prompts older than this are forgotten when the next one is written: a reply to one is then not matched.
PROMPT_KEEP = timedelta(days=30)


@dataclass(frozen=True, slots=True)
class TelegramThread:
    """One inquiry's answering conversation in one Telegram channel."""

    channel: str
    inquiry_id: int
    chat_id: str
    origin_message_id: int | None  # the notification the seller tapped "답변" on
    origin_text: str  # its text as Telegram showed it (already masked when we sent it)
    preview_message_id: int | None  # the latest preview: the only one whose buttons act
    preview_digest: str  # the digest of the answer text that preview showed
    answer_id: int | None  # the answer this thread drafted (its id stays when the draft is rewritten)
    shown: str  # the answer state last written into the notification ('' for none)


@dataclass(frozen=True, slots=True)
class ThreadStatus:
    """A notification behind its answer's fate: the thread, the state to show and when the answer went out."""

    thread: TelegramThread
    state: AnswerState
    at: datetime  # sent_at, else when the state was reached


def _thread(row: Row) -> TelegramThread:
    return TelegramThread(
        channel=row["channel"],
        inquiry_id=row["inquiry_id"],
        chat_id=row["chat_id"],
        origin_message_id=row["origin_message_id"],
        origin_text=row["origin_text"],
        preview_message_id=row["preview_message_id"],
        preview_digest=row["preview_digest"],
        answer_id=row["answer_id"],
        shown=row["shown"],
    )


class TelegramThreadsMixin(StoreBase):
    """The `Store` methods for answering from Telegram."""

    async def telegram_origin(
        self, channel: str, inquiry_id: int, *, chat_id: str, message_id: int, text: str, now: datetime
    ) -> None:
        """Remember the notification the seller tapped "답변" on (the latest tap wins)."""
        async with self._transaction() as db:
            await db.execute(
                "INSERT INTO telegram_threads (channel, inquiry_id, chat_id, origin_message_id, origin_text, "
                "updated_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (channel, inquiry_id) DO UPDATE SET "
                "chat_id = excluded.chat_id, origin_message_id = excluded.origin_message_id, "
                "origin_text = excluded.origin_text, shown = '', updated_at = excluded.updated_at",
                (channel, inquiry_id, chat_id, message_id, text, db_time(now)),
            )

    async def telegram_preview(
        self,
        channel: str,
        inquiry_id: int,
        *,
        chat_id: str,
        message_id: int,
        answer_id: int,
        digest: str,
        now: datetime,
    ) -> None:
        """Remember the latest preview of the inquiry's draft: its buttons alone may send, and only `digest`'s text."""
        async with self._transaction() as db:
            await db.execute(
                "INSERT INTO telegram_threads (channel, inquiry_id, chat_id, preview_message_id, preview_digest, "
                "answer_id, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (channel, inquiry_id) DO UPDATE SET "
                "chat_id = excluded.chat_id, preview_message_id = excluded.preview_message_id, "
                "preview_digest = excluded.preview_digest, answer_id = excluded.answer_id, "
                "shown = CASE WHEN telegram_threads.answer_id IS NOT DISTINCT FROM excluded.answer_id "
                "THEN telegram_threads.shown ELSE '' END, "
                "updated_at = excluded.updated_at",
                (channel, inquiry_id, chat_id, message_id, digest, answer_id, db_time(now)),
            )

    async def telegram_thread(self, channel: str, inquiry_id: int) -> TelegramThread | None:
        """The inquiry's thread in `channel`, if the seller started one."""
        async with self._conn.execute(
            "SELECT * FROM telegram_threads WHERE channel = ? AND inquiry_id = ?", (channel, inquiry_id)
        ) as cur:
            row = await cur.fetchone()
        return None if row is None else _thread(row)

    async def telegram_prompt(
        self, channel: str, *, chat_id: str, message_id: int, inquiry_id: int, now: datetime
    ) -> None:
        """Remember that the ForceReply prompt `message_id` asks for an answer to `inquiry_id`."""
        async with self._transaction() as db:
            await db.execute("DELETE FROM telegram_prompts WHERE created_at < ?", (db_time(now - PROMPT_KEEP),))
            await db.execute(
                "INSERT INTO telegram_prompts (channel, chat_id, message_id, inquiry_id, created_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (channel, chat_id, message_id) DO UPDATE SET "
                "inquiry_id = excluded.inquiry_id, created_at = excluded.created_at",
                (channel, chat_id, message_id, inquiry_id, db_time(now)),
            )

    async def telegram_prompt_inquiry(self, channel: str, *, chat_id: str, message_id: int) -> int | None:
        """The inquiry the prompt `message_id` of `chat_id` asks about; None for any other message."""
        async with self._conn.execute(
            "SELECT inquiry_id FROM telegram_prompts WHERE channel = ? AND chat_id = ? AND message_id = ?",
            (channel, chat_id, message_id),
        ) as cur:
            row = await cur.fetchone()
        return None if row is None else int(row["inquiry_id"])

    async def telegram_status_due(self, channel: str) -> list[ThreadStatus]:
        """The notifications of `channel` whose answer reached a fate they do not show yet."""
        async with self._conn.execute(_STATUS_DUE, (channel,)) as cur:
            rows = await cur.fetchall()
        return [ThreadStatus(_thread(row), AnswerState(row["answer_state"]), _dt(row["answer_at"])) for row in rows]

    async def telegram_status_shown(self, thread: TelegramThread, state: AnswerState) -> None:
        """Record that the thread's notification now shows `state` (unless the thread moved on meanwhile)."""
        async with self._transaction() as db:
            await db.execute(
                "UPDATE telegram_threads SET shown = ? WHERE channel = ? AND inquiry_id = ? "
                "AND answer_id IS NOT DISTINCT FROM ? AND origin_message_id IS NOT DISTINCT FROM ?",
                (state.value, thread.channel, thread.inquiry_id, thread.answer_id, thread.origin_message_id),
            )
