"""The masker: run every detector over one text, the sure shapes first, names last (they use the others as cues)."""

from __future__ import annotations

from collections.abc import Iterable

from core.masking.accounts import find_accounts
from core.masking.addresses import find_addresses
from core.masking.codes import find_codes
from core.masking.emails import find_emails
from core.masking.names import NameJudge, find_names
from core.masking.naming import find_known_names, find_split_names
from core.masking.phones import find_phones
from core.masking.romanized import find_romanized_names
from core.masking.spans import Claimed, Found, apply_masks, fold


def _add(taken: Claimed, new: Iterable[Found]) -> None:
    for item in new:
        taken.add(item)


def find_pii(text: str, *, known_names: Iterable[str] = (), name_judge: NameJudge | None = None) -> list[Found]:
    """Every piece of buyer data in `text`, in text order, none overlapping."""
    folded = fold(text)
    taken = Claimed(len(folded))
    _add(taken, find_known_names(folded, known_names))
    # Fixed shapes before loose ones: a customs code or an email holds digits a phone or account rule would take.
    _add(taken, find_codes(folded))
    _add(taken, find_emails(folded))
    _add(taken, find_phones(folded))
    _add(taken, find_accounts(folded))
    _add(taken, find_addresses(folded, taken))
    _add(taken, find_split_names(folded, taken))
    _add(taken, find_names(folded, taken, name_judge))
    _add(taken, find_romanized_names(folded))
    return sorted(taken.items, key=lambda f: f.start)


def mask_pii(text: str, *, known_names: Iterable[str] = (), name_judge: NameJudge | None = None) -> str:
    """`text` with names, phones, emails, addresses, accounts and personal codes masked."""
    if not text:
        return text
    return apply_masks(text, find_pii(text, known_names=known_names, name_judge=name_judge))
