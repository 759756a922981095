"""Durable state: the document ledger, per-flow cursors, the key-value store (tokens) and run history."""

from connex.state.store import LedgerRow, SqliteStateStore, SqlStateStore, StateStore, open_state

__all__ = ["LedgerRow", "SqlStateStore", "SqliteStateStore", "StateStore", "open_state"]
