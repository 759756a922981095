"""Versioned schema migrations, applied in order; ``PRAGMA user_version`` records how far a file has come.

Append new steps; never edit a released one.
"""

MIGRATIONS: list[str] = [
    # 1: the ledger, cursors, key-value store and run history
    """
    CREATE TABLE ledger (
        key TEXT PRIMARY KEY,            -- the document key (kind:source_id), or flow kind:source_id when unmapped
        flow TEXT NOT NULL,
        kind TEXT NOT NULL,
        source_id TEXT NOT NULL,
        number TEXT,
        content_hash TEXT,
        status TEXT NOT NULL,            -- in_flight, posted, queued, failed, skipped, changed
        target_id TEXT,
        error TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        document TEXT,                   -- the mapped document (JSON) while in flight, to resolve it after a crash
        record TEXT,                     -- the source record (JSON) of a failed document, for --retry-failed
        run_id INTEGER,
        first_seen TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX ledger_flow_status ON ledger (flow, status);
    CREATE INDEX ledger_source ON ledger (flow, source_id);
    CREATE TABLE cursors (flow TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at TEXT NOT NULL);
    CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at TEXT NOT NULL);
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        flow TEXT NOT NULL,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        status TEXT NOT NULL,            -- running, ok, failures, incomplete
        counts TEXT,
        message TEXT
    );
    """,
]
