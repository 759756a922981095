"""Existing users' Web Connector queues move into the state store without losing a row (issue 18): a state file of
revision 0004 that holds the plugin's old ``qbd_*`` tables (migration 0006 moves them), and a separate ``queue_db``
file (imported when the connector first opens the store). Then a real session finishes the work: what was pending
is posted once, what was done is not posted again."""

from __future__ import annotations

import shutil
import sqlite3
from collections import Counter

from alembic import command
from connex_quickbooks_desktop.connector import QuickBooksDesktopTarget
from connex_quickbooks_desktop.simulator import SimulatedCompany, WebConnectorSimulator
from sqlalchemy import create_engine

from connex.state import open_state
from connex.state.database import _alembic_config

from .conftest import _EMITTED, PASSWORD, USERNAME, order

# the plugin's queue tables up to revision 0004, as plugins/connex_quickbooks_desktop/queue.py created them then
OLD_SCHEMA = """
CREATE TABLE IF NOT EXISTS qbd_jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    stage TEXT NOT NULL,
    context TEXT NOT NULL DEFAULT '{}',
    outcome TEXT,
    target_id TEXT,
    error TEXT,
    code TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    collected INTEGER NOT NULL DEFAULT 1,
    doc_kind TEXT,
    doc_number TEXT,
    created REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS qbd_jobs_status ON qbd_jobs(status, seq);
CREATE INDEX IF NOT EXISTS qbd_jobs_number ON qbd_jobs(doc_kind, doc_number);
CREATE TABLE IF NOT EXISTS qbd_inflight (
    request_id TEXT NOT NULL,
    job_key TEXT NOT NULL,
    stage TEXT NOT NULL,
    part TEXT NOT NULL,
    ticket TEXT NOT NULL,
    sent REAL NOT NULL,
    PRIMARY KEY (request_id, job_key, part)
);
CREATE TABLE IF NOT EXISTS qbd_inventory (
    snapshot TEXT NOT NULL,
    name TEXT NOT NULL,
    list_id TEXT,
    quantity TEXT NOT NULL,
    PRIMARY KEY (snapshot, name)
);
CREATE TABLE IF NOT EXISTS qbd_catalogue (
    snapshot TEXT NOT NULL,
    full_name TEXT NOT NULL,
    part_number TEXT NOT NULL,
    list_id TEXT,
    PRIMARY KEY (snapshot, full_name)
);
CREATE INDEX IF NOT EXISTS qbd_catalogue_part ON qbd_catalogue(snapshot, part_number);
CREATE TABLE IF NOT EXISTS qbd_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

JOB_COLUMNS = ("key", "kind", "payload", "status", "stage", "context", "outcome", "target_id", "error", "code",
               "attempts", "collected", "doc_kind", "doc_number")


def _legacy_rows(tmp_path, config) -> list[dict]:
    """Real queue rows: what the connector queues for six orders, the first two then done (posted earlier)."""
    scratch = tmp_path / "scratch.db"
    with QuickBooksDesktopTarget({**config, "queue_db": str(scratch)}) as target:
        target.post_documents([order(f"OLD-{n}") for n in range(6)])
    with sqlite3.connect(scratch) as db:
        db.row_factory = sqlite3.Row
        rows = [dict(r) for r in db.execute("SELECT * FROM queue_jobs ORDER BY seq")]
    for row in rows:
        if row["doc_number"] in ("OLD-0", "OLD-1"):
            row.update(status="done", outcome="posted", target_id=f"TXN-{row['doc_number']}", stage="add")
    return rows


def _write_legacy(path, rows: list[dict], *, revision: str | None) -> None:
    """A file as an older Connex left it: the state tables at ``revision`` (None: a queue file of its own) and the
    plugin's qbd_* tables beside them."""
    if revision:
        engine = create_engine(f"sqlite:///{path}")
        with engine.begin() as conn:
            command.upgrade(_alembic_config(conn), revision)
        engine.dispose()
    with sqlite3.connect(path) as db:
        db.executescript(OLD_SCHEMA)
        db.executemany(f"INSERT INTO qbd_jobs ({', '.join(JOB_COLUMNS)}, created, updated) VALUES "
                       f"({', '.join('?' * len(JOB_COLUMNS))}, 1700000000.5, 1700000001.5)",
                       [tuple(r[c] for c in JOB_COLUMNS) for r in rows])
        db.executemany("INSERT INTO qbd_inventory VALUES ('latest', ?, ?, ?)",
                       [("SKU-ABC-001", "80000001-1", "120"), ("SKU-XYZ-010", "80000002-1", "7")])
        db.execute("INSERT INTO qbd_meta VALUES ('multicurrency', 'true')")
        db.execute("INSERT INTO qbd_inflight VALUES ('r1', 'sales_receipt:order-OLD-2', 'check', 'dup', 't', 1.0)")


def _drain(target, validator) -> Counter:
    company = SimulatedCompany.seeded(validator=validator)
    endpoint = target.services()[0].start()
    try:
        log = WebConnectorSimulator(company, on_request=_EMITTED.append).run_session(endpoint.url, USERNAME, PASSWORD)
        assert not log.errors, log.errors
    finally:
        endpoint.stop()
    return Counter(t.ref_number for t in company.find_transactions("SalesReceipt"))


def _jobs(path) -> list[tuple]:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT connection, key, status, stage, target_id FROM queue_jobs ORDER BY seq").fetchall()


def test_a_state_file_holding_the_old_queue_is_migrated_without_losing_a_row(tmp_path, config, validator_if_present):
    rows = _legacy_rows(tmp_path, config)
    state_file = tmp_path / "connex.db"
    _write_legacy(state_file, rows, revision="0004")
    state = open_state(state_file)  # migrates to the newest revision
    with sqlite3.connect(state_file) as db:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert not {t for t in tables if t.startswith("qbd_")}  # moved, not copied
    assert _jobs(state_file) == [("default", r["key"], r["status"], r["stage"], r["target_id"]) for r in rows]
    del config["queue_db"]
    target = QuickBooksDesktopTarget(config, state=state)
    assert target.queue.inventory() == [("SKU-ABC-001", "80000001-1", "120"), ("SKU-XYZ-010", "80000002-1", "7")]
    assert target.queue.meta("multicurrency") == "true"
    assert _drain(target, validator_if_present) == Counter(f"OLD-{n}" for n in range(2, 6))  # done ones not again
    assert {r.key: r.status for r in target.collect_results()} == {f"sales_receipt:order-OLD-{n}": "posted"
                                                                   for n in range(2, 6)}
    target.close()
    state.close()


def test_a_separate_queue_file_is_imported_into_the_store_on_first_open(tmp_path, config, validator_if_present):
    rows = _legacy_rows(tmp_path, config)
    queue_file = tmp_path / "qbwc-queue.db"
    _write_legacy(queue_file, rows, revision=None)
    kept = tmp_path / "copy.db"
    shutil.copy(queue_file, kept)
    state_file = tmp_path / "state.db"
    state = open_state(state_file, connection="acme")
    target = QuickBooksDesktopTarget({**config, "queue_db": str(queue_file)}, state=state)
    assert not queue_file.exists() and (tmp_path / "qbwc-queue.db.imported").exists()
    assert _jobs(state_file) == [("acme", r["key"], r["status"], r["stage"], r["target_id"]) for r in rows]
    # opened again (the file gone, or put back by hand): nothing is imported twice
    shutil.copy(kept, queue_file)
    QuickBooksDesktopTarget({**config, "queue_db": str(queue_file)}, state=state).close()
    assert len(_jobs(state_file)) == len(rows)
    assert _drain(target, validator_if_present) == Counter(f"OLD-{n}" for n in range(2, 6))
    target.close()
    state.close()
