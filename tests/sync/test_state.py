"""The state store's contract, on SQLite and PostgreSQL alike: migrations, cursors that an empty value never
overwrites, the ledger, runs, exchange rates, and every row kept apart by connection."""

import dataclasses
import os
import sqlite3
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine

from connex.documents import to_record
from connex.rules.engine import EngineSettings, RulesEngine
from connex.rules.loader import load_rules
from connex.state import open_state, tables
from connex.state.database import head_revision
from connex.state.lock import StateBusy
from connex.state.store import LedgerEntry
from connex.state.target import state_target as parse_target
from connex.sync.classify import content_hash
from tests.rules.conftest import RULES, fixture_records, sample_order

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from workload import realistic_orders  # noqa: E402


def test_migrations_and_reopen(state_target):
    store = open_state(state_target)
    assert store.schema_version == head_revision()
    store.put("quickbooks_online:refresh_token:1", "rt-1")
    store.close()
    again = open_state(state_target)
    assert again.schema_version == head_revision() and again.get("quickbooks_online:refresh_token:1") == "rt-1"
    again.close()


def test_the_migrated_schema_is_what_tables_py_says(state_target):
    """A table or column added to tables.py without its migration (or the other way round) fails here."""
    open_state(state_target).close()
    engine = create_engine(state_target_url(state_target))
    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), tables.metadata)
    engine.dispose()
    assert differences == []


def test_an_empty_cursor_never_replaces_a_stored_one(state_target):
    store = open_state(state_target)
    assert store.save_cursor("orders", {"since": "2025-01-01T00:00:00Z", "seen": ["a"]})
    assert not store.save_cursor("orders", {})
    assert not store.save_cursor("orders", None)
    assert store.get_cursor("orders") == {"since": "2025-01-01T00:00:00Z", "seen": ["a"]}
    store.close()


def test_ledger_counts_attempts_and_keeps_target_ids(state_target):
    store = open_state(state_target)
    entry = LedgerEntry("sales_receipt:1", "orders", "sales_receipt", "1", "1001", "h1", "in_flight",
                        document={"type": "x", "total": Decimal("10.10")})
    store.record([entry], None, attempt=True)
    assert store.lookup(["sales_receipt:1"])["sales_receipt:1"].document == {"type": "x", "total": Decimal("10.10")}
    store.record([LedgerEntry("sales_receipt:1", "orders", "sales_receipt", "1", "1001", "h1", "posted",
                              target_id="55")], None)
    row = store.lookup(["sales_receipt:1"])["sales_receipt:1"]
    assert (row.status, row.target_id, row.attempts, row.document) == ("posted", "55", 1, None)
    store.record([LedgerEntry("sales_receipt:1", "orders", "sales_receipt", "1", "1001", None, "changed")], None)
    row = store.lookup(["sales_receipt:1"])["sales_receipt:1"]
    assert row.target_id == "55" and row.content_hash == "h1"  # kept when the update does not say
    assert store.counts() == {"orders": {"changed": 1}}
    store.close()


def test_one_batch_may_name_a_key_twice_and_the_last_write_wins(state_target):
    store = open_state(state_target)
    store.record([LedgerEntry("k:1", "orders", "k", "1", status="in_flight", document={"a": 1}),
                  LedgerEntry("k:2", "orders", "k", "2", status="in_flight"),
                  LedgerEntry("k:1", "orders", "k", "1", status="posted", target_id="9")], 7, attempt=True)
    rows = store.lookup(["k:1", "k:2", "k:3"])
    assert set(rows) == {"k:1", "k:2"}
    assert (rows["k:1"].status, rows["k:1"].target_id, rows["k:1"].attempts, rows["k:1"].run_id) == ("posted", "9",
                                                                                                     2, 7)
    store.close()


def test_lookup_and_forget_many_keys(state_target):
    store = open_state(state_target)
    keys = [f"order:{i}" for i in range(1234)]
    store.record([LedgerEntry(k, "orders", "order", k, status="posted") for k in keys], None)
    assert len(store.lookup(keys + ["order:none"])) == 1234
    assert store.forget(keys[:700] + ["order:none"]) == 700
    assert store.counts() == {"orders": {"posted": 534}}
    assert [r.key for r in store.rows(status="posted", limit=3)] == sorted(keys[700:])[:3]
    store.close()


def test_runs_are_numbered_and_a_stale_run_is_marked_interrupted(state_target):
    store = open_state(state_target)
    first = store.start_run("orders")
    second = store.start_run("orders")  # the first never finished: its process was killed
    store.finish_run(second, "ok", {"posted": 3})
    third = store.start_run("refunds")
    assert first < second < third
    runs = {r["id"]: r for r in store.last_runs()}
    assert runs[first]["status"] == "interrupted" and runs[second]["counts"] == {"posted": 3}
    assert store.interrupt_stale_runs() == 1 and store.last_runs(1)[0]["status"] == "interrupted"
    store.close()


def test_exchange_rates_by_scope_currency_and_day(state_target):
    store = open_state(state_target)
    store.save_exchange_rates("realm-1", "eur", {"2025-01-02": Decimal("1.0412"), "2025-01-03": Decimal("1.05")},
                              "quickbooks")
    store.save_exchange_rates("realm-1", "EUR", {"2025-01-03": Decimal("1.0501")}, "ecb")
    assert store.exchange_rates("realm-1", "EUR", "2025-01-01", "2025-01-31") == {
        "2025-01-02": Decimal("1.0412"), "2025-01-03": Decimal("1.0501")}
    assert store.exchange_rates("realm-2", "EUR", "2025-01-01", "2025-01-31") == {}
    store.close()


def test_every_table_is_kept_apart_by_connection(state_target):
    acme, globex = open_state(state_target, connection="acme"), open_state(state_target, connection="globex")
    acme.put("token", "acme-token")
    acme.save_cursor("orders", {"since": "a"})
    acme.record([LedgerEntry("order:1", "orders", "order", "1", status="posted", target_id="1")], None)
    acme.save_exchange_rates("realm", "EUR", {"2025-01-02": Decimal("1.1")}, "quickbooks")
    running = acme.start_run("orders")
    globex.record([LedgerEntry("order:1", "orders", "order", "1", status="failed", error="no")], None)
    assert (globex.get("token"), globex.get_cursor("orders")) == (None, None)
    assert globex.lookup(["order:1"])["order:1"].status == "failed"
    assert acme.lookup(["order:1"])["order:1"].status == "posted"
    assert globex.exchange_rates("realm", "EUR", "2025-01-01", "2025-01-31") == {}
    assert globex.last_runs() == [] and globex.interrupt_stale_runs() == 0
    assert globex.forget(["order:1"]) == 1 and acme.counts() == {"orders": {"posted": 1}}
    assert acme.last_runs()[0]["id"] == running and acme.last_runs()[0]["status"] == "running"
    acme.close()
    globex.close()


def test_one_run_per_connection_and_connections_run_side_by_side(state_target):
    acme, again, globex = (open_state(state_target, connection=name) for name in ("acme", "acme", "globex"))
    with acme.run_lock().acquire():
        assert again.run_holder()["pid"] == os.getpid()
        with pytest.raises(StateBusy, match="acme") as busy:
            again.run_lock().acquire(wait=0.3)
        assert f"pid {os.getpid()}" in str(busy.value)
        with globex.run_lock().acquire():  # another connection is not held up
            assert globex.run_holder() is not None
    assert again.run_holder() is None and globex.run_holder() is None
    with again.run_lock().acquire():
        pass
    for store in (acme, again, globex):
        store.close()


def test_a_second_connection_reads_while_the_first_writes(tmp_path):
    path = tmp_path / "s.db"
    open_state(path).close()
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("INSERT INTO kv (connection, key, value, updated_at) VALUES ('default', 'a', 'b', 'now')")
    reader = open_state(path)
    assert reader.get("a") is None  # WAL: readers see the last commit, and are not blocked by the writer
    writer.execute("COMMIT")
    assert reader.get("a") == "b"
    with sqlite3.connect(path) as check:
        assert check.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    reader.close()


def state_target_url(target: str):
    parsed = parse_target(target)
    return parsed.url if hasattr(parsed, "url") else f"sqlite:///{parsed}"


def _documents_of_every_kind():
    engine = RulesEngine(load_rules([RULES]), EngineSettings())
    records = [("orders", order) for order in realistic_orders(200)]
    records += [(flow, record) for flow, found in fixture_records().items() for record in found]
    return [doc for flow, record in records for doc in engine.map(flow, record).documents]


def test_stored_documents_are_what_dataclasses_asdict_gives():
    """Ledgers hold content hashes of this form: a different form would report every posted document as changed."""
    documents = _documents_of_every_kind()
    assert {type(doc).__name__ for doc in documents} == {"SalesDocument", "PurchaseDocument", "RefundDocument",
                                                         "StockLevel"}
    for doc in documents:
        assert to_record(doc) == {"type": type(doc).__name__, "data": dataclasses.asdict(doc)}


def test_content_hash_of_a_known_order_is_unchanged():
    """Pinned: if the document contract or its stored form changes, the hashes in every existing ledger no longer
    match, and the next run reports every posted document as changed. Such a change needs a ledger migration."""
    document = RulesEngine(load_rules([RULES]), EngineSettings()).map("orders", sample_order()).documents[0]
    assert content_hash(document) == "e59b65e2f3d577be4783"
    # The same order as the shipped mapping mapped it before issue 14 (ship via from the postal service, the
    # shipping line naming "Shipping"): the contract's stored form did not move (fields added since, such as
    # department and terms, are hashed only when set), so a ledger written then keeps its hashes for it.
    before = dataclasses.replace(document, ship_via=sample_order()["ShippingInfo"]["PostalServiceName"],
                                 lines=[dataclasses.replace(ln, item_name="Shipping") if ln.kind == "shipping" else ln
                                        for ln in document.lines])
    assert content_hash(before) == "a19958664119b3dbc79b"
