"""Durable state: the document ledger, per-flow cursors, the key-value store (tokens) and run history.

The store (SQLAlchemy) is imported on first use, so commands that never open the state (``validate``,
``--version``) do not pay for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from connex.state.store import LedgerRow, SqliteStateStore, SqlStateStore, StateStore, open_state

__all__ = ["LedgerRow", "SqlStateStore", "SqliteStateStore", "StateStore", "open_state"]


def __getattr__(name: str):
    if name in __all__:
        from connex.state import store

        return getattr(store, name)
    raise AttributeError(f"module 'connex.state' has no attribute {name!r}")
