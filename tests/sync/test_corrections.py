"""Corrections end to end (issue 17): Linnworks simulator -> Connex -> QuickBooks Online simulator.

``sync.on_change: update`` rewrites a posted invoice in place (sparse update with its SyncToken), ``void_and_repost``
voids it and posts the new version as ``<number>-1`` (its payment follows it), ``sync --order X --repost`` does the
same for a rule change, and an order cancelled after posting is voided; every correction is in the ledger's history.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from connex_linnworks.simulator import LinnworksSimulator
from connex_quickbooks_online.simulator import QuickBooksOnlineSimulator

from connex.documents import from_record
from connex.state import history, open_state
from tests.conftest import run_connex
from tests.sync.test_payments import run, write_config


@pytest.fixture
def shop(tmp_path):
    with LinnworksSimulator(processed_orders=6, open_orders=0, purchase_orders=0) as lw, \
            QuickBooksOnlineSimulator(enforce_limits=False) as qbo:
        order = lw.account.add_processed_order(processed_at=dt.datetime(2026, 2, 1, tzinfo=dt.UTC))
        target = {"plugin": "quickbooks_online", "missing_items": "create_non_inventory", **qbo.connector_config()}
        yield tmp_path, lw, qbo, order, target


def configure(folder, lw, target, on_change, rules=None):
    write_config(folder, lw, target, on_change=on_change)
    if rules:
        config = json.loads((folder / "connex.yaml").read_text())
        path = folder / "extra.yaml"
        path.write_text(rules)
        config["rules"] = [str(path)]
        (folder / "connex.yaml").write_text(json.dumps(config))


def invoice(qbo, number):
    return qbo.entity("Invoice", DocNumber=str(number))


def raise_first_line(order, by: Decimal):
    item = order["Items"][0]
    item["Cost"] = float(Decimal(str(item["Cost"])) + by)
    for field in ("Subtotal", "TotalCharge"):
        order["TotalsInfo"][field] = float(Decimal(str(order["TotalsInfo"][field])) + by)


def events(folder, key):
    state = open_state(folder / "connex.db")
    try:
        return history.events(state, key), state.lookup([key])[key]
    finally:
        state.close()


def test_update_rewrites_the_posted_invoice_in_place(shop):
    folder, lw, qbo, order, target = shop
    configure(folder, lw, target, "update")
    run(folder)
    before = invoice(qbo, order["NumOrderId"])
    raise_first_line(order, Decimal("10.00"))
    preview = run_connex("explain", str(order["NumOrderId"]), cwd=folder)
    assert "the source has CHANGED since" in preview.stdout, preview.stdout
    old_total = Decimal(str(before["TotalAmt"]))
    assert f"posted -> new: total: {old_total} -> {old_total + 10}" in preview.stdout, preview.stdout
    report = run(folder, order_ids=(order["OrderId"],))["orders"]
    assert not report.failures, report.failures
    after = invoice(qbo, order["NumOrderId"])
    assert after["Id"] == before["Id"] and int(after["SyncToken"]) > int(before["SyncToken"])
    assert Decimal(str(after["TotalAmt"])) == Decimal(str(before["TotalAmt"])) + 10
    assert len(qbo.entities("Invoice")) == len([i for i in qbo.entities("Invoice")])  # no second invoice
    assert [i["DocNumber"] for i in qbo.entities("Invoice")].count(str(order["NumOrderId"])) == 1
    # the payment followed: voided and recorded again for the new total, so nothing stays open
    assert Decimal(str(after["Balance"])) == 0
    trail, row = events(folder, f"invoice:{order['OrderId']}")
    (event,) = [e for e in trail if e["event"] == "corrected"]
    assert event["mode"] == "update" and event["by"].endswith("on_change update)")
    assert any(change.startswith("total: ") for change in event["changes"]), event
    assert any(change.startswith("line 1: ") for change in event["changes"]), event
    assert row.status == "posted" and row.target_id == before["Id"]
    assert run(folder, order_ids=(order["OrderId"],))["orders"].counts.get("corrected", 0) == 0


def test_void_and_repost_after_a_rule_change_with_repost(shop):
    folder, lw, qbo, order, target = shop
    configure(folder, lw, target, "void_and_repost")
    run(folder)
    original = invoice(qbo, order["NumOrderId"])
    configure(folder, lw, target, "void_and_repost", rules="""kind: rules
rules:
  - id: memo-fix
    type: map_fields
    flows: [orders]
    set: {memo: "Corrected by the integrator"}
""")
    result = run_connex("sync", "--order", order["OrderId"], "--repost", "--yes", "--no-progress", cwd=folder)
    assert result.returncode == 0, result.stdout + result.stderr
    voided = qbo.entity("Invoice", Id=original["Id"])
    assert voided["TxnStatus"] == "Voided" and Decimal(str(voided["TotalAmt"])) == 0
    new = invoice(qbo, f"{order['NumOrderId']}-1")
    assert new is not None and "Corrected by the integrator" in new["PrivateNote"]
    assert Decimal(str(new["TotalAmt"])) == Decimal(str(original["TotalAmt"]))
    assert Decimal(str(new["Balance"])) == 0  # its payment was posted again, against the new invoice
    live = [p for p in qbo.entities("Payment") if p.get("TxnStatus") != "Voided"
            and p["Line"][0]["LinkedTxn"][0]["TxnId"] in (original["Id"], new["Id"])]
    assert [p["Line"][0]["LinkedTxn"][0]["TxnId"] for p in live] == [new["Id"]]
    trail, row = events(folder, f"invoice:{order['OrderId']}")
    (event,) = [e for e in trail if e["event"] == "corrected"]
    assert event["mode"] == "void_and_repost" and "--repost" in event["by"]
    assert event["old_target"] == original["Id"] and event["new_target"] == new["Id"]
    assert "memo: " in "".join(event["changes"])
    assert row.number == f"{order['NumOrderId']}-1" and row.target_id == new["Id"]
    explained = run_connex("explain", str(order["NumOrderId"]), cwd=folder)
    assert "corrected" in explained.stdout and "void_and_repost" in explained.stdout, explained.stdout


def test_repost_needs_confirmation(shop):
    folder, lw, qbo, order, target = shop
    configure(folder, lw, target, "report")
    result = run_connex("sync", "--order", order["OrderId"], "--repost", "--no-progress", cwd=folder)
    assert result.returncode == 2 and "--yes" in result.stderr, result.stdout + result.stderr


def test_a_cancelled_order_is_voided(shop):
    folder, lw, qbo, order, target = shop
    configure(folder, lw, target, "update")
    run(folder)
    posted = invoice(qbo, order["NumOrderId"])
    order["GeneralInfo"]["HoldOrCancel"] = True
    report = run(folder, order_ids=(order["OrderId"],))["orders"]
    assert report.counts["voided"] == 1, report.counts
    assert qbo.entity("Invoice", Id=posted["Id"])["TxnStatus"] == "Voided"
    payment = next(p for p in qbo.entities("Payment") if p["Line"][0]["LinkedTxn"][0]["TxnId"] == posted["Id"])
    assert payment["TxnStatus"] == "Voided"
    trail, row = events(folder, f"invoice:{order['OrderId']}")
    assert row.status == "voided" and trail[-1]["mode"] == "void"
    again = run(folder, order_ids=(order["OrderId"],))["orders"]
    assert again.counts.get("voided", 0) == 0 and not again.failures


def test_a_deleted_order_named_with_order_is_voided(shop):
    folder, lw, qbo, order, target = shop
    configure(folder, lw, target, "void_and_repost")
    run(folder)
    posted = invoice(qbo, order["NumOrderId"])
    lw.account.delete_order(order["OrderId"])
    report = run(folder, order_ids=(order["OrderId"],))["orders"]
    assert report.counts["voided"] == 1 and not report.failures, (report.counts, report.failures)
    assert qbo.entity("Invoice", Id=posted["Id"])["TxnStatus"] == "Voided"
    trail, row = events(folder, f"invoice:{order['OrderId']}")
    assert row.status == "voided" and trail[-1]["changes"] == ["the order was deleted in the source"]


def test_an_interrupted_correction_is_finished_once(shop):
    """As if the process died after QuickBooks voided the old invoice but before the new one was posted: the
    next run finds the row still correcting and finishes it, without a second void or a second invoice."""
    folder, lw, qbo, order, target = shop
    configure(folder, lw, target, "void_and_repost")
    run(folder)
    original = invoice(qbo, order["NumOrderId"])
    raise_first_line(order, Decimal("2.00"))
    from connex.sync import document_flow

    real = document_flow.DocumentFlow._finish_correction

    def die_after_the_void(self, key, old_target, intent, record):
        self.target.void_document(from_record(intent["new"]), old_target)
        raise KeyboardInterrupt  # the process stops here: the ledger still says "correcting"

    document_flow.DocumentFlow._finish_correction = die_after_the_void
    try:
        with pytest.raises(KeyboardInterrupt):
            run(folder, order_ids=(order["OrderId"],))
    finally:
        document_flow.DocumentFlow._finish_correction = real
    _, row = events(folder, f"invoice:{order['OrderId']}")
    assert row.status == "correcting" and qbo.entity("Invoice", Id=original["Id"])["TxnStatus"] == "Voided"
    report = run(folder)["orders"]
    assert report.counts["corrected"] == 1 and not report.failures, (report.counts, report.failures)
    numbers = [i["DocNumber"] for i in qbo.entities("Invoice")]
    assert numbers.count(f"{order['NumOrderId']}-1") == 1
    run(folder)  # the payment voided with the old invoice is awaited, and paid again against the new one
    assert Decimal(str(invoice(qbo, f"{order['NumOrderId']}-1")["Balance"])) == 0
    trail, row = events(folder, f"invoice:{order['OrderId']}")
    assert row.status == "posted" and len([e for e in trail if e["event"] == "corrected"]) == 1


def test_report_mode_changes_nothing(shop):
    folder, lw, qbo, order, target = shop
    configure(folder, lw, target, "report")
    run(folder)
    before = invoice(qbo, order["NumOrderId"])
    raise_first_line(order, Decimal("5.00"))
    report = run(folder, order_ids=(order["OrderId"],))["orders"]
    assert report.counts["changed"] == 2  # the invoice and its payment, both only reported
    assert invoice(qbo, order["NumOrderId"])["SyncToken"] == before["SyncToken"]


# --- QuickBooks Desktop (through Web Connector sessions) -------------------------------------------------------
@pytest.fixture
def desk(tmp_path):
    from connex_quickbooks_desktop.simulator import make_simulator

    with LinnworksSimulator(processed_orders=6, open_orders=0, purchase_orders=0) as lw:
        order = lw.account.add_processed_order(processed_at=dt.datetime(2026, 2, 1, tzinfo=dt.UTC))
        wc = make_simulator()
        target = {"plugin": "quickbooks_desktop", "missing_items": "create_non_inventory", **wc.connector_config()}
        yield tmp_path, lw, wc, order, target


def pass_and_session(folder, wc, target, **options):
    from tests.sync.test_payments import session

    report = run(folder, **options)["orders"]
    session(folder, wc, target)
    collected = run(folder)["orders"]
    return report, collected


def desk_invoices(wc, number):
    return [t for t in wc.company.find_transactions("Invoice") if t.ref_number == str(number)]


def test_desktop_update_modifies_the_invoice_and_its_payment_follows(desk):
    folder, lw, wc, order, target = desk
    configure(folder, lw, target, "update")
    pass_and_session(folder, wc, target)
    (before,) = desk_invoices(wc, order["NumOrderId"])
    total, sequence, txn_id = before.total, before.edit_sequence, before.txn_id
    raise_first_line(order, Decimal("10.00"))
    report, collected = pass_and_session(folder, wc, target, order_ids=(order["OrderId"],))
    assert not report.failures and not collected.failures, (report.failures, collected.failures)
    (after,) = desk_invoices(wc, order["NumOrderId"])
    assert after.txn_id == txn_id and after.edit_sequence > sequence and after.total == total + 10
    assert after.balance == 0, after.balance  # the old payment deleted, a new one for the new total
    trail, row = events(folder, f"invoice:{order['OrderId']}")
    assert [e["mode"] for e in trail if e["event"] == "corrected"] == ["update"]
    assert row.status == "posted" and row.target_id == txn_id


def test_desktop_void_and_repost_and_cancel(desk):
    folder, lw, wc, order, target = desk
    configure(folder, lw, target, "void_and_repost")
    pass_and_session(folder, wc, target)
    (original,) = desk_invoices(wc, order["NumOrderId"])
    raise_first_line(order, Decimal("3.00"))
    report, collected = pass_and_session(folder, wc, target, order_ids=(order["OrderId"],))
    assert not report.failures and not collected.failures, (report.failures, collected.failures)
    assert original.void and original.total == 0
    (new,) = desk_invoices(wc, f"{order['NumOrderId']}-1")
    assert new.balance == 0 and not new.void
    payments = [p for p in wc.company.find_transactions("ReceivePayment") if any(
        i in (original.txn_id, new.txn_id) for i, _ in p.applied_to)]
    assert [p.applied_to[0][0] for p in payments] == [new.txn_id]  # the old payment was deleted, not left as credit
    # then the order is cancelled in Linnworks: the reposted invoice is voided too
    order["GeneralInfo"]["HoldOrCancel"] = True
    report, collected = pass_and_session(folder, wc, target, order_ids=(order["OrderId"],))
    assert report.counts["voided"] == 1 and not collected.failures
    assert new.void
    trail, row = events(folder, f"invoice:{order['OrderId']}")
    assert [e["mode"] for e in trail if e["event"] == "corrected"] == ["void_and_repost", "void"]
    assert row.status == "voided"


def test_desktop_stale_edit_sequence_is_read_again_once(desk):
    folder, lw, wc, order, target = desk
    configure(folder, lw, target, "update")
    pass_and_session(folder, wc, target)
    (invoice,) = desk_invoices(wc, order["NumOrderId"])
    raise_first_line(order, Decimal("1.00"))
    run(folder, order_ids=(order["OrderId"],))
    original = wc.company._txn_mod

    def someone_else_edits_first(rq, txn):  # a bookkeeper saves the invoice between Connex's read and its Mod
        if not getattr(someone_else_edits_first, "done", False):
            someone_else_edits_first.done = True
            invoice.edit_sequence += 1
        return original(rq, txn)

    wc.company._txn_mod = someone_else_edits_first
    from tests.sync.test_payments import session

    session(folder, wc, target)
    collected = run(folder)["orders"]
    assert not collected.failures, collected.failures
    mods = [r for r in wc.company.received if "<InvoiceModRq" in r]
    assert len(mods) == 2 and invoice.total == sum(line.amount + line.tax for line in invoice.lines)
