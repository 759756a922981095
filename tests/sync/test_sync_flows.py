"""The sync engine over the Linnworks simulator (HTTP) into the example JSON-lines target, with real SQLite."""

import datetime as dt
import json

from connex.documents import from_record, to_record
from connex.state.store import LedgerEntry
from connex.sync.report import RunOptions


def keys(documents):
    return [d["key"] for d in documents]


def processed_orders(sim):
    return [sim.account.order(order_id) for _, _, order_id in sim.account.processed_index]


def expected_orders(sim) -> int:
    """Processed orders minus the cancelled ones, which the shipped default rule does not import."""
    return sum(1 for o in processed_orders(sim) if not o["GeneralInfo"].get("HoldOrCancel"))


def test_everything_syncs_once_and_a_rerun_creates_nothing(workspace):
    first = workspace.run(("orders", "purchases", "refunds"))
    posted = keys(workspace.documents())
    cancelled = len(processed_orders(workspace.sim)) - expected_orders(workspace.sim)
    assert cancelled >= 1
    assert first["orders"].counts["posted"] == expected_orders(workspace.sim)
    assert first["orders"].counts["skipped"] == cancelled
    assert first["purchases"].counts["posted"] > 6  # POs plus bills for the non-pending ones
    assert first["refunds"].counts["posted"] >= 1
    assert len(posted) == len(set(posted))
    second = workspace.run(("orders", "purchases", "refunds"))
    assert keys(workspace.documents()) == posted
    assert all(r.counts.get("posted", 0) == 0 for r in second.values())


def test_a_bad_order_fails_alone_with_its_reason_and_the_others_go_on(workspace):
    bad = workspace.sim.account.add_processed_order(processed_at=dt.datetime(2026, 1, 2, tzinfo=dt.UTC))
    bad["TotalsInfo"]["Currency"] = ""  # a broken order as Linnworks could hold it; the simulator still serves it
    result = workspace.cli("sync", "--once", "--flow", "orders")
    assert result.returncode == 1, result.stderr
    assert f"FAILED order {bad['NumOrderId']}: field currency:" in result.stdout
    assert len(workspace.documents()) == expected_orders(workspace.sim) - 1
    status = workspace.cli("status")
    assert f"orders: order {bad['NumOrderId']}: field currency" in status.stdout or \
        f"order {bad['NumOrderId']}" in status.stdout
    # fixed at the source, the order is picked up by --retry-failed
    bad["TotalsInfo"]["Currency"] = "GBP"
    retry = workspace.cli("sync", "--retry-failed", "--flow", "orders")
    assert retry.returncode == 0, retry.stdout + retry.stderr
    assert len(workspace.documents()) == expected_orders(workspace.sim)


def test_a_changed_source_order_is_reported_not_duplicated(workspace):
    order = workspace.sim.account.add_processed_order(processed_at=dt.datetime(2026, 1, 3, tzinfo=dt.UTC))
    workspace.run()
    before = len(workspace.documents())
    order["GeneralInfo"]["ReferenceNum"] = "EDITED-1"  # edited in Linnworks after it was synced
    report = workspace.run(("orders",), order_ids=(order["OrderId"],))["orders"]
    assert report.counts["changed"] == 1 and "source changed after it was posted" in report.changes[0][1]
    assert len(workspace.documents()) == before


def test_dry_run_writes_nothing(workspace):
    result = workspace.cli("sync", "--dry-run", "--flow", "orders", "--flow", "purchases")
    assert result.returncode == 0, result.stderr
    assert "would post sales receipt" in result.stdout and "would post purchase order" in result.stdout
    assert workspace.documents() == []
    assert not (workspace.folder / "out").exists() or not (workspace.folder / "out" / "documents.jsonl").exists()
    assert workspace.state().counts() == {}


def test_sync_one_order_by_id(workspace):
    order_id = sorted(workspace.sim.account.processed_index)[3][2]
    result = workspace.cli("sync", "--order", order_id)
    assert result.returncode == 0, result.stderr
    assert [d["source_id"] for d in workspace.documents()] == [order_id]


def test_documents_left_in_flight_are_resolved_before_anything_is_posted_again(workspace):
    """A crash after the target got the document but before the ledger heard back: no second post."""
    engine = workspace.engine()
    report = engine.run(["orders"], RunOptions())[0]
    assert report.counts["posted"] == expected_orders(workspace.sim)
    posted_doc = json.loads((workspace.out / "documents.jsonl").read_text().splitlines()[0])
    state = engine.state
    row = state.lookup([posted_doc["key"]])[posted_doc["key"]]
    # rewind the ledger to "in flight", as a crash between post and record leaves it
    doc = engine.rules.map("orders", workspace.sim.account.order(row.source_id)).documents[0]
    assert from_record(json.loads(json.dumps(to_record(doc), default=str))) is not None
    state.record([LedgerEntry(row.key, "orders", row.kind, row.source_id, row.number, row.content_hash,
                              "in_flight", document=to_record(doc))], None)
    engine.close()
    state.close()
    again = workspace.run()["orders"]
    assert again.counts["resolved"] == 1 and again.counts.get("posted", 0) == 0
    assert len(workspace.documents()) == expected_orders(workspace.sim)
