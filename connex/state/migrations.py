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
    # 2: summary postings (sync.posting: summary): one document per store + currency + period, and the link from
    # every order (or refund) to the summary that holds it. connex/state/summaries.py reads and writes them.
    """
    CREATE TABLE summaries (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        flow TEXT NOT NULL,              -- orders or refunds
        kind TEXT NOT NULL,              -- the members' document kind: sales_receipt, invoice, refund_receipt...
        store TEXT NOT NULL,             -- the members' store name ('' when they have none)
        currency TEXT NOT NULL,
        period TEXT NOT NULL,            -- daily:2026-01-03, weekly:2026-01-05 (its first day), monthly:2026-01-01
        closes_at TEXT NOT NULL,         -- UTC instant from which the summary may be closed (period end + grace)
        doc_key TEXT NOT NULL UNIQUE,    -- the summary document's ledger key (its own ledger row)
        doc_number TEXT NOT NULL,
        status TEXT NOT NULL,            -- open (takes members), closed (members frozen: posting or posted)
        created_at TEXT NOT NULL,
        closed_at TEXT,
        UNIQUE (flow, kind, store, currency, period)
    );
    CREATE TABLE summary_members (
        member_key TEXT PRIMARY KEY,     -- the ledger key of the order's (or refund's) own document
        summary_id INTEGER NOT NULL REFERENCES summaries (id),
        source_id TEXT NOT NULL,
        number TEXT,
        moment TEXT NOT NULL,            -- when the order happened (ISO instant): what placed it in a period
        content_hash TEXT NOT NULL,
        document TEXT NOT NULL,          -- the mapped document (JSON): what the summary is built from
        added_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX summary_members_summary ON summary_members (summary_id);
    """,
]
