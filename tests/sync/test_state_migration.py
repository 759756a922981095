"""A SQLite state file written by Connex before the store moved to SQLAlchemy and Alembic is migrated in place:
every row kept, under the connection "default", and the run numbers go on where they were."""

from __future__ import annotations

import sqlite3

from connex.state import open_state
from connex.state.database import head_revision
from connex.state.store import LedgerEntry

# The schema exactly as the code before issue 18 created it (connex/state/migrations.py, PRAGMA user_version 1,
# plus the exchange-rate table it created at every open). Kept here, not in the package: it is this test's input.
OLD_SCHEMA = """
CREATE TABLE ledger (
    key TEXT PRIMARY KEY, flow TEXT NOT NULL, kind TEXT NOT NULL, source_id TEXT NOT NULL, number TEXT,
    content_hash TEXT, status TEXT NOT NULL, target_id TEXT, error TEXT, attempts INTEGER NOT NULL DEFAULT 0,
    document TEXT, record TEXT, run_id INTEGER, first_seen TEXT NOT NULL, updated_at TEXT NOT NULL
);
CREATE INDEX ledger_flow_status ON ledger (flow, status);
CREATE INDEX ledger_source ON ledger (flow, source_id);
CREATE TABLE cursors (flow TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT, flow TEXT NOT NULL, started_at TEXT NOT NULL, finished_at TEXT,
    status TEXT NOT NULL, counts TEXT, message TEXT
);
PRAGMA user_version = 1;
"""
RATES = ("CREATE TABLE IF NOT EXISTS exchange_rates (scope TEXT NOT NULL, currency TEXT NOT NULL, day TEXT NOT NULL,"
         " rate TEXT NOT NULL, origin TEXT NOT NULL, fetched_at TEXT NOT NULL, PRIMARY KEY (scope, currency, day))")


def old_state_file(path, *, with_rates: bool = True) -> None:
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.executescript(OLD_SCHEMA)
    if with_rates:
        db.execute(RATES)
        db.execute("INSERT INTO exchange_rates VALUES ('realm-1', 'EUR', '2025-01-02', '1.0412', 'quickbooks', 't')")
    db.executemany("INSERT INTO ledger (key, flow, kind, source_id, number, content_hash, status, target_id, error,"
                   " attempts, document, record, run_id, first_seen, updated_at)"
                   " VALUES (?, 'orders', 'sales_receipt', ?, ?, ?, ?, ?, NULL, 1, ?, NULL, 41, 't0', 't1')",
                   [("sales_receipt:1", "1", "1001", "h1", "posted", "55", None),
                    ("sales_receipt:2", "2", "1002", "h2", "in_flight", None, '{"type":"SalesDocument"}')])
    db.execute("INSERT INTO cursors VALUES ('orders', '{\"since\":\"2025-01-01T00:00:00Z\"}', 't')")
    db.execute("INSERT INTO kv VALUES ('quickbooks_online:refresh_token:1', 'rt-1', 't')")
    db.execute("INSERT INTO runs (id, flow, started_at, status) VALUES (41, 'orders', 't0', 'running')")
    db.commit()
    db.close()


def test_an_old_state_file_is_migrated_in_place(tmp_path):
    path = tmp_path / "connex.db"
    old_state_file(path)
    state = open_state(path)
    assert state.schema_version == head_revision()
    rows = state.lookup(["sales_receipt:1", "sales_receipt:2"])
    assert (rows["sales_receipt:1"].status, rows["sales_receipt:1"].target_id) == ("posted", "55")
    assert rows["sales_receipt:2"].status == "in_flight" and rows["sales_receipt:2"].document == {
        "type": "SalesDocument"}  # the next run resolves it: the crash-safety protocol goes on across the upgrade
    assert state.get_cursor("orders") == {"since": "2025-01-01T00:00:00Z"}
    assert state.get("quickbooks_online:refresh_token:1") == "rt-1"
    assert str(state.exchange_rates("realm-1", "EUR", "2025-01-01", "2025-01-31")["2025-01-02"]) == "1.0412"
    assert state.interrupt_stale_runs() == 1  # the old run that was left running
    assert state.start_run("orders") == 42  # run numbers go on
    state.record([LedgerEntry("sales_receipt:2", "orders", "sales_receipt", "2", "1002", status="posted",
                              target_id="56")], 42)
    assert state.counts() == {"orders": {"posted": 2}}
    state.close()
    with sqlite3.connect(path) as db:  # every old row now belongs to "default"
        assert db.execute("SELECT DISTINCT connection FROM ledger").fetchall() == [("default",)]
    other = open_state(path, connection="acme")
    assert other.counts() == {} and other.get("quickbooks_online:refresh_token:1") is None
    other.close()


def test_an_old_state_file_without_the_rate_table_is_migrated(tmp_path):
    path = tmp_path / "connex.db"
    old_state_file(path, with_rates=False)
    state = open_state(path)
    assert state.lookup(["sales_receipt:1"])["sales_receipt:1"].target_id == "55"
    assert state.exchange_rates("realm-1", "EUR", "2025-01-01", "2025-01-31") == {}
    state.close()


def test_a_migrated_file_opens_again_without_migrating(tmp_path):
    path = tmp_path / "connex.db"
    old_state_file(path)
    open_state(path).close()
    before = path.stat().st_mtime_ns
    state = open_state(path)
    assert state.get("quickbooks_online:refresh_token:1") == "rt-1"
    state.close()
    assert path.stat().st_mtime_ns == before


def test_the_cli_runs_on_an_old_state_file(workspace):
    workspace.write_config(purchases=False, refunds=False)
    old_state_file(workspace.folder / "connex.db")
    result = workspace.cli("status")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "orders: 1 in_flight, 1 posted" in result.stdout
