"""The numbered migrations of the inqd database: the one at index i takes the schema from version i to i + 1.

Never edit a released one; add the next. The store runs those the database has not seen, each in its own
transaction, at open.

Both engines have the same numbers. MIGRATIONS are SQLite's texts; PostgreSQL's (POSTGRES_MIGRATIONS, same
index) are the same texts with PostgreSQL's types (store/dialect.py `postgres_schema`), except where a migration
rewrites rows with SQLite's own functions (json_set...): every PostgreSQL database was created by an inqd that
already writes rows in the new form, so such a migration has nothing to rewrite there and is listed in
_POSTGRES_NOTHING_TO_REWRITE. A new migration is appended to MIGRATIONS only; add its index there, or its text
to _POSTGRES_OWN_TEXT, when its SQL is SQLite's alone (the store tests run every migration on both engines).
"""

from __future__ import annotations

from aggregator.store.dialect import postgres_schema

MIGRATIONS: tuple[str, ...] = (
    # v1: inquiries, cursors, events, outbox, stream status
    """
    CREATE TABLE inquiries (
        id INTEGER PRIMARY KEY,
        account_id TEXT NOT NULL,
        stream TEXT NOT NULL,
        external_id TEXT NOT NULL,
        marketplace TEXT NOT NULL,
        received_at TEXT NOT NULL,
        category TEXT NOT NULL,
        title TEXT,
        body TEXT NOT NULL,
        product_name TEXT,
        order_id TEXT,
        buyer TEXT,
        answered INTEGER NOT NULL DEFAULT 0,
        answered_at TEXT,
        deadline_at TEXT,
        first_seen_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        UNIQUE (account_id, stream, external_id)
    );
    CREATE INDEX inquiries_open ON inquiries (answered, account_id, stream, received_at);
    CREATE TABLE cursors (
        account_id TEXT NOT NULL,
        stream TEXT NOT NULL,
        cursor TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (account_id, stream)
    );
    CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        kind TEXT NOT NULL,
        inquiry_id INTEGER REFERENCES inquiries (id),
        account_id TEXT,
        stream TEXT,
        detail TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX events_inquiry ON events (inquiry_id, id);
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        channel TEXT NOT NULL,
        inquiry_id INTEGER REFERENCES inquiries (id),
        payload TEXT NOT NULL DEFAULT '{}',
        dedup_key TEXT NOT NULL UNIQUE,
        state TEXT NOT NULL DEFAULT 'pending',
        due_at TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        lease_until TEXT,
        last_error TEXT,
        created_at TEXT NOT NULL,
        done_at TEXT
    );
    CREATE INDEX outbox_due ON outbox (state, due_at);
    CREATE TABLE stream_status (
        account_id TEXT NOT NULL,
        stream TEXT NOT NULL,
        last_success_at TEXT,
        last_error_at TEXT,
        last_error TEXT,
        consecutive_failures INTEGER NOT NULL DEFAULT 0,
        skipped_total INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (account_id, stream)
    );
    """,
    # v2: SLA timers (next alert per open inquiry, the log of fired alerts) and the reason of each outcome
    """
    ALTER TABLE inquiries ADD COLUMN next_alert_at TEXT;
    CREATE INDEX inquiries_alert_due ON inquiries (next_alert_at) WHERE answered = 0;
    CREATE TABLE alert_log (
        inquiry_id INTEGER NOT NULL REFERENCES inquiries (id),
        key TEXT NOT NULL,
        due_at TEXT NOT NULL,
        fired_at TEXT NOT NULL,
        outcome TEXT NOT NULL,
        PRIMARY KEY (inquiry_id, key)
    );
    ALTER TABLE outbox ADD COLUMN reason TEXT;
    CREATE INDEX outbox_held ON outbox (state, channel, due_at);
    """,
    # v3: small key-value facts about the database (e.g. which policy config the stored alert plans follow)
    """
    CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    """,
    # v4: the sub-marketplace (G마켓 / 옥션) and what the marketplace needs to answer an item later
    """
    ALTER TABLE inquiries ADD COLUMN site TEXT;
    ALTER TABLE inquiries ADD COLUMN answer_ref TEXT;
    """,
    # v5: find what was sent about an inquiry (to clear it on the phone once answered, and for `inqd explain`)
    """
    CREATE INDEX outbox_inquiry ON outbox (inquiry_id, channel, state);
    """,
    # v6: connection health (since when a stream fails, whether the marketplace refused our credentials) and
    # what has been said about each account's connection, so a restart neither repeats nor forgets it
    """
    ALTER TABLE stream_status ADD COLUMN failing_since TEXT;
    ALTER TABLE stream_status ADD COLUMN auth_failed INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE connection_notices (
        account_id TEXT PRIMARY KEY,
        since TEXT NOT NULL,
        kind TEXT NOT NULL,
        noticed_at TEXT NOT NULL
    );
    """,
    # v7: the seller's controls: per-inquiry snooze / handled / promised call-back, and vacations (closed days
    # kept in the database so `inqd vacation add` takes effect without editing the TOML)
    """
    ALTER TABLE inquiries ADD COLUMN snoozed_until TEXT;
    ALTER TABLE inquiries ADD COLUMN handled_at TEXT;
    ALTER TABLE inquiries ADD COLUMN promise_at TEXT;
    ALTER TABLE inquiries ADD COLUMN promise_note TEXT;
    CREATE TABLE vacations (
        id INTEGER PRIMARY KEY,
        first_day TEXT NOT NULL,
        last_day TEXT NOT NULL,
        note TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL
    );
    """,
    # v8: outbox payloads are typed records (core/payloads.py). Rows written before keep working: an alert's
    # `label` becomes `quiet_from` (evening warning) or `note` (promise alerts) and the unread `alert` goes; a
    # backfill summary gains its account's marketplace, which only the inquiries it brought can tell.
    """
    UPDATE outbox SET payload = json_remove(
        json_set(
            payload,
            '$.quiet_from', CASE WHEN kind = 'evening_warning' THEN json_extract(payload, '$.label') END,
            '$.note', CASE WHEN kind IN ('promise_reminder', 'promise_missed')
                THEN COALESCE(json_extract(payload, '$.label'), '') ELSE '' END
        ),
        '$.label', '$.alert'
    )
    WHERE kind IN ('sla_warning', 'sla_breach', 'sla_repeat', 'evening_warning', 'promise_reminder', 'promise_missed')
    AND json_valid(payload) AND json_type(payload, '$.quiet_from') IS NULL;
    UPDATE outbox SET payload = json_set(
        payload,
        '$.marketplace',
        (SELECT marketplace FROM inquiries WHERE account_id = json_extract(outbox.payload, '$.account_id') LIMIT 1)
    )
    WHERE kind = 'backfill_summary' AND json_valid(payload) AND json_type(payload, '$.marketplace') IS NULL;
    """,
    # v9: one summary per account's first connection, listing its streams: a summary written for one stream
    # becomes a list of that one stream.
    """
    UPDATE outbox SET payload = json_object(
        'account_id', json_extract(payload, '$.account_id'),
        'marketplace', json_extract(payload, '$.marketplace'),
        'streams', json_array(json_object(
            'stream', json_extract(payload, '$.stream'),
            'open', json_extract(payload, '$.open'),
            'total', json_extract(payload, '$.total')
        ))
    )
    WHERE kind = 'backfill_summary' AND json_valid(payload) AND json_type(payload, '$.streams') IS NULL;
    """,
    # v10: the seller's answers and their lifecycle (aggregator/store/answers.py). A state is written before the
    # request it leads to; the partial unique indexes keep one draft and one live answer per inquiry.
    """
    CREATE TABLE answers (
        id INTEGER PRIMARY KEY,
        inquiry_id INTEGER NOT NULL REFERENCES inquiries (id),
        text TEXT NOT NULL,
        final INTEGER NOT NULL DEFAULT 1,
        state TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        approved_by TEXT,
        approved_at TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT,
        lease_until TEXT,
        maybe_delivered INTEGER NOT NULL DEFAULT 0,
        open_polls INTEGER NOT NULL DEFAULT 0,
        outcome TEXT,
        marketplace_message TEXT NOT NULL DEFAULT '',
        sent_at TEXT,
        done_at TEXT
    );
    CREATE UNIQUE INDEX answers_one_draft ON answers (inquiry_id) WHERE state = 'draft';
    CREATE UNIQUE INDEX answers_one_live ON answers (inquiry_id)
        WHERE state IN ('approved', 'sending', 'sent', 'uncertain');
    CREATE INDEX answers_due ON answers (state, next_attempt_at);
    """,
    # v11: answering from Telegram (aggregator/store/telegram_threads.py). A ForceReply prompt's message id names
    # the inquiry a reply answers (never the reply's text); a thread remembers, per Telegram channel and inquiry,
    # the notification to edit with the answer's fate, the latest preview, and the fate already shown.
    """
    CREATE TABLE telegram_prompts (
        channel TEXT NOT NULL,
        chat_id TEXT NOT NULL,
        message_id INTEGER NOT NULL,
        inquiry_id INTEGER NOT NULL REFERENCES inquiries (id),
        created_at TEXT NOT NULL,
        PRIMARY KEY (channel, chat_id, message_id)
    );
    CREATE TABLE telegram_threads (
        channel TEXT NOT NULL,
        inquiry_id INTEGER NOT NULL REFERENCES inquiries (id),
        chat_id TEXT NOT NULL,
        origin_message_id INTEGER,
        origin_text TEXT NOT NULL DEFAULT '',
        preview_message_id INTEGER,
        preview_digest TEXT NOT NULL DEFAULT '',
        answer_id INTEGER REFERENCES answers (id),
        shown TEXT NOT NULL DEFAULT '',
        updated_at TEXT NOT NULL,
        PRIMARY KEY (channel, inquiry_id)
    );
    CREATE INDEX telegram_threads_answer ON telegram_threads (answer_id) WHERE answer_id IS NOT NULL;
    """,
    # v12: a date promised in an answer (a template's {약속일:...}) outlives the answer: the timer also plans answered
    # inquiries carrying one (schema.PLANNED_ROWS, the index's predicate word for word). Open rows are indexed as
    # before. Promises the answering flow recorded before this version are found by the note it writes, and
    # planned again (a passed one plans nothing).
    """
    ALTER TABLE inquiries ADD COLUMN promise_by_answer INTEGER NOT NULL DEFAULT 0;
    UPDATE inquiries SET promise_by_answer = 1, next_alert_at = NULL
        WHERE promise_at IS NOT NULL AND promise_note LIKE '답변 #%에서 약속한 날 %';
    DROP INDEX inquiries_alert_due;
    CREATE INDEX inquiries_alert_due ON inquiries (next_alert_at) WHERE (answered = 0 OR promise_by_answer = 1);
    """,
    # v13: the answer-time report (aggregator/store/report.py). Where each answered_at comes from: 'marketplace'
    # (the API's own time), 'poll' (the poll that saw the inquiry answered), 'unknown' (already answered when first
    # seen, no time from the API). Rows before this version: a time equal to an `answered` event's was the poll's
    # (the snapshot wrote both from one `now`); an answered row with no time but an `answered` event takes that
    # event's time as a poll time; any other time came from the marketplace; no time and no event is unknown.
    # Each stream's first successful poll: weeks before it are "no data" in the report (before: the first
    # inquiry seen, else the last poll, the best the database knows).
    """
    ALTER TABLE inquiries ADD COLUMN answer_time_source TEXT;
    UPDATE inquiries SET answer_time_source = CASE
        WHEN answered_at IS NULL THEN NULL
        WHEN EXISTS (SELECT 1 FROM events WHERE events.inquiry_id = inquiries.id AND events.kind = 'answered'
            AND events.at = inquiries.answered_at) THEN 'poll'
        ELSE 'marketplace' END
        WHERE answered = 1;
    UPDATE inquiries SET answer_time_source = 'poll', answered_at = (SELECT MIN(at) FROM events
        WHERE events.inquiry_id = inquiries.id AND events.kind = 'answered')
        WHERE answered = 1 AND answered_at IS NULL AND EXISTS (SELECT 1 FROM events
            WHERE events.inquiry_id = inquiries.id AND events.kind = 'answered');
    UPDATE inquiries SET answer_time_source = 'unknown' WHERE answered = 1 AND answered_at IS NULL;
    CREATE INDEX inquiries_received ON inquiries (received_at);
    ALTER TABLE stream_status ADD COLUMN first_success_at TEXT;
    UPDATE stream_status SET first_success_at = COALESCE((SELECT MIN(first_seen_at) FROM inquiries
        WHERE inquiries.account_id = stream_status.account_id AND inquiries.stream = stream_status.stream),
        last_success_at);
    """,
    # v14: "every plan is stale" is one number (aggregator/store/alert_plans.py): meta's `plan_generation`, bumped
    # by a config change, and each planned row's own, written with its plan; a row whose generation is older is
    # planned again, so a re-plan no longer rewrites 100k wide rows before it starts. The timer's index leads with
    # the generation (current plans by time, each stale generation by its old time). Plans marked stale before
    # this version (a "0" before the time) keep their time under generation -1: stale, soonest first.
    """
    ALTER TABLE inquiries ADD COLUMN plan_generation INTEGER NOT NULL DEFAULT 0;
    UPDATE inquiries SET plan_generation = -1, next_alert_at = substr(next_alert_at, 2)
        WHERE next_alert_at LIKE '0%';
    DROP INDEX inquiries_alert_due;
    CREATE INDEX inquiries_alert_due ON inquiries (plan_generation, next_alert_at)
        WHERE (answered = 0 OR promise_by_answer = 1);
    """,
    # v15: several instances on one PostgreSQL share the work (aggregator/store/leases.py): each instance's
    # heartbeat, each account's lease (its holder, a fence bumped by every claim, its expiry), and the leader's
    # lease (the one-owner jobs). Times are the database's own (PostgreSQL's clock, never an instance's), so clock
    # skew between machines cannot make two holders. SQLite (one instance, holding everything) has the tables and
    # leaves them empty.
    """
    CREATE TABLE instances (
        id TEXT PRIMARY KEY,
        started_at TEXT NOT NULL,
        heartbeat_at TEXT NOT NULL
    );
    CREATE TABLE account_leases (
        account_id TEXT PRIMARY KEY,
        holder TEXT,
        fence INTEGER NOT NULL DEFAULT 0,
        expires_at TEXT NOT NULL
    );
    CREATE TABLE leader (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        holder TEXT NOT NULL,
        fence INTEGER NOT NULL,
        expires_at TEXT NOT NULL
    );
    """,
)

# Migrations that only rewrite rows written by an older inqd, in SQLite's JSON functions (v8, v9).
_POSTGRES_NOTHING_TO_REWRITE: frozenset[int] = frozenset({7, 8})
# Migrations whose PostgreSQL text is not the SQLite one with its types changed (index -> text).
_POSTGRES_OWN_TEXT: dict[int, str] = {
    # v15: the lease times are timestamps (compared with the server's clock_timestamp()).
    14: """
    CREATE TABLE instances (
        id TEXT PRIMARY KEY,
        started_at TIMESTAMPTZ NOT NULL,
        heartbeat_at TIMESTAMPTZ NOT NULL
    );
    CREATE INDEX instances_heartbeat ON instances (heartbeat_at);
    CREATE TABLE account_leases (
        account_id TEXT PRIMARY KEY,
        holder TEXT,
        fence BIGINT NOT NULL DEFAULT 0,
        expires_at TIMESTAMPTZ NOT NULL
    );
    CREATE INDEX account_leases_holder ON account_leases (holder);
    CREATE TABLE leader (
        id BIGINT PRIMARY KEY CHECK (id = 1),
        holder TEXT NOT NULL,
        fence BIGINT NOT NULL,
        expires_at TIMESTAMPTZ NOT NULL
    );
    """,
}

POSTGRES_MIGRATIONS: tuple[str, ...] = tuple(
    "" if index in _POSTGRES_NOTHING_TO_REWRITE else _POSTGRES_OWN_TEXT.get(index, postgres_schema(script))
    for index, script in enumerate(MIGRATIONS)
)
