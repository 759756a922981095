"""A ledger key's history of deliberate changes (``connex forget``, corrections), kept in the key-value store.

The ledger row says where a document stands now; this says who reset it and why, so ``connex explain`` can show
that a document was posted once, forgotten after it was deleted in QuickBooks, and posted again, or updated in
place, voided and reposted under a new number, voided because the order was cancelled: who did it, when, and what
changed.
"""

from __future__ import annotations

import json

from connex.state.store import StateStore, now

PREFIX = "history:"


def events(state: StateStore, key: str) -> list[dict]:
    raw = state.get(PREFIX + key)
    return json.loads(raw) if raw else []


def add(state: StateStore, key: str, event: str, **details) -> dict:
    entry = {"at": now(), "event": event, **{k: v for k, v in details.items() if v is not None}}
    state.put(PREFIX + key, json.dumps([*events(state, key), entry], ensure_ascii=False))
    return entry


def correction(state: StateStore, key: str, *, mode: str, who: str, changes: list[str], old_target: str | None,
               new_target: str | None = None, number: str | None = None) -> dict:
    """A correction of a posted document (``corrected``, with ``mode`` update, void_and_repost or void)."""
    return add(state, key, "corrected", mode=mode, by=who, changes=changes, old_target=old_target,
               new_target=new_target, number=number)
