"""A ledger key's history of deliberate changes (``connex forget``), kept in the key-value store.

The ledger row says where a document stands now; this says who reset it and why, so ``connex explain`` can show
that a document was posted once, forgotten after it was deleted in QuickBooks, and posted again.
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
