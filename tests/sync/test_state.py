"""The SQLite state store: migrations, WAL, cursors that an empty value never overwrites, the ledger."""

import dataclasses
import sqlite3
import sys
from pathlib import Path

from connex.documents import to_record
from connex.rules.engine import EngineSettings, RulesEngine
from connex.rules.loader import load_rules
from connex.state import open_state
from connex.state.migrations import MIGRATIONS
from connex.state.store import LedgerEntry
from connex.sync.classify import content_hash
from tests.rules.conftest import RULES, fixture_records, sample_order

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from workload import realistic_orders  # noqa: E402


def test_migrations_wal_and_reopen(tmp_path):
    path = tmp_path / "state.db"
    store = open_state(path)
    assert store.schema_version == len(MIGRATIONS)
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    store.put("quickbooks_online:refresh_token:1", "rt-1")
    store.close()
    again = open_state(path)
    assert again.schema_version == len(MIGRATIONS) and again.get("quickbooks_online:refresh_token:1") == "rt-1"


def test_an_empty_cursor_never_replaces_a_stored_one(tmp_path):
    store = open_state(tmp_path / "s.db")
    assert store.save_cursor("orders", {"since": "2025-01-01T00:00:00Z", "seen": ["a"]})
    assert not store.save_cursor("orders", {})
    assert not store.save_cursor("orders", None)
    assert store.get_cursor("orders") == {"since": "2025-01-01T00:00:00Z", "seen": ["a"]}


def test_ledger_counts_attempts_and_keeps_target_ids(tmp_path):
    store = open_state(tmp_path / "s.db")
    entry = LedgerEntry("sales_receipt:1", "orders", "sales_receipt", "1", "1001", "h1", "in_flight",
                        document={"type": "x"})
    store.record([entry], None, attempt=True)
    store.record([LedgerEntry("sales_receipt:1", "orders", "sales_receipt", "1", "1001", "h1", "posted",
                              target_id="55")], None)
    row = store.lookup(["sales_receipt:1"])["sales_receipt:1"]
    assert (row.status, row.target_id, row.attempts, row.document) == ("posted", "55", 1, None)
    store.record([LedgerEntry("sales_receipt:1", "orders", "sales_receipt", "1", "1001", None, "changed")], None)
    row = store.lookup(["sales_receipt:1"])["sales_receipt:1"]
    assert row.target_id == "55" and row.content_hash == "h1"  # kept when the update does not say
    assert store.counts() == {"orders": {"changed": 1}}


def test_a_second_connection_reads_while_the_first_writes(tmp_path):
    path = tmp_path / "s.db"
    writer = open_state(path)
    writer.db.execute("BEGIN IMMEDIATE")
    writer.db.execute("INSERT INTO kv (key, value, updated_at) VALUES ('a', 'b', 'now')")
    reader = sqlite3.connect(path)
    assert reader.execute("SELECT COUNT(*) FROM kv").fetchone()[0] == 0  # WAL: readers see the last commit
    writer.db.execute("COMMIT")
    assert reader.execute("SELECT COUNT(*) FROM kv").fetchone()[0] == 1



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
