"""The check before sending as every surface runs it: policies/answer_check.py given the facts of one inquiry.

The facts: whether the stream is public (product Q&A is shown on the product page), the stream's length limit as
the account's connector class declares it (ANSWER_LIMITS, read without building a connector), the buyer's name
the store has and the inquiry's own order number. The terminal, the daemon's surfaces and `inqd templates
--preview` all build their check here, so a finding is the same wherever the seller answers.
"""

from __future__ import annotations

from collections.abc import Mapping

from aggregator.answering.service import Check
from aggregator.settings import Settings
from aggregator.wiring.connectors import connector_class
from core.answers import AnswerLimit, Finding
from core.models import Inquiry, Marketplace, StreamKind
from policies.answer_check import check_answer
from policies.templates import is_public


def answer_limit(connector: type | None, stream: StreamKind) -> AnswerLimit | None:
    """The stream's answer length limit as the connector class declares it (None where it declares none)."""
    limits = getattr(connector, "ANSWER_LIMITS", {})
    limit = limits.get(stream) if isinstance(limits, Mapping) else None
    return limit if isinstance(limit, AnswerLimit) else None


def answer_check(settings: Settings) -> Check:
    """The check for answers to this config's inquiries (an account no longer configured: its marketplace's)."""
    account_types = {account.id: type(account) for account in settings.accounts}
    classes: dict[tuple[str, Marketplace], type | None] = {}

    def check(inquiry: Inquiry, text: str) -> tuple[Finding, ...]:
        key = (inquiry.account_id, inquiry.marketplace)
        if key not in classes:
            classes[key] = connector_class(account_types.get(inquiry.account_id), inquiry.marketplace)
        return check_answer(
            text,
            public=is_public(inquiry.stream),
            limit=answer_limit(classes[key], inquiry.stream),
            known_names=[inquiry.buyer] if inquiry.buyer else [],
            order_ids=[inquiry.order_id] if inquiry.order_id else [],
        )

    return check
