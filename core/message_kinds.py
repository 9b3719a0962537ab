"""Groups of message kinds that more than one layer asks about (routing drops them, a channel clears them)."""

from __future__ import annotations

from core.models import MessageKind

# Kinds that put an inquiry's notification on the phone: dropped once the inquiry is answered, and what an
# `answered` clear can take away.
INQUIRY_KINDS: frozenset[MessageKind] = frozenset(
    {
        MessageKind.NEW_INQUIRY,
        MessageKind.SLA_WARNING,
        MessageKind.SLA_BREACH,
        MessageKind.SLA_REPEAT,
        MessageKind.EVENING_WARNING,
        MessageKind.PROMISE_REMINDER,
        MessageKind.PROMISE_MISSED,
    }
)
