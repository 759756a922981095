"""A connection's schedule paused and resumed from the console, kept in the state file so it outlives restarts.

While paused the daemon skips its scheduled passes (a pass asked for by a person still runs); resuming lets the
next scheduled pass go ahead, and the persisted cursors make it catch up everything read meanwhile.
"""

from __future__ import annotations

import json

from connex.state.store import StateStore, now

PREFIX = "schedule:paused:"


def paused(state: StateStore, connection: str) -> dict | None:
    """``{"by": who, "at": when}`` while ``connection``'s schedule is paused, else None."""
    raw = state.get(PREFIX + connection)
    if not raw:
        return None
    value = json.loads(raw)
    return value if isinstance(value, dict) and value.get("paused") else None


def set_paused(state: StateStore, connection: str, on: bool, by: str) -> None:
    state.put(PREFIX + connection, json.dumps({"paused": on, "by": by, "at": now()}))
