"""Payments for invoices, end to end: Linnworks simulator -> Connex -> QuickBooks Online and Desktop simulators.

A paid order's invoice gets a payment applied to it, so nothing paid stays open in accounts receivable; an unpaid
order's invoice stays open and gets its payment on a later pass, once Linnworks marks the order paid, found by the
ledger (only the awaiting orders are re-read).
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from connex_linnworks.simulator import LinnworksSimulator
from connex_quickbooks_online.simulator import QuickBooksOnlineSimulator

from connex.config import load_config
from connex.plugin_manager import get_plugins
from connex.state import open_state
from connex.sync.engine import SyncEngine
from connex.sync.report import RunOptions

UNPAID = 0


def run(folder, **options):
    plugins = get_plugins()
    config = load_config(folder / "connex.yaml", plugins)
    state = open_state(config.state_path)
    engine = SyncEngine(config, plugins, state)
    try:
        return {r.flow: r for r in engine.run(["orders"], RunOptions(**options))}
    finally:
        engine.close()
        state.close()


def write_config(folder, lw, target, **sync):
    config = {"source": {"plugin": "linnworks", **lw.connector_config()}, "target": target,
              "sync": {"from_date": "2020-01-01", "document": "invoice", **sync}, "state": "connex.db"}
    (folder / "connex.yaml").write_text(json.dumps(config))


def rules_file(folder, text: str) -> str:
    path = folder / "payments.yaml"
    path.write_text(text)
    return str(path)


def orders(lw):
    return [lw.account.edit_order(order_id) for _, _, order_id in lw.account.processed_index]


def paid(order) -> bool:
    return order["GeneralInfo"]["Status"] not in (0, 3) and not order["GeneralInfo"].get("HoldOrCancel")


@pytest.fixture
def online(tmp_path):
    with LinnworksSimulator(processed_orders=12, open_orders=0, purchase_orders=0) as lw, \
            QuickBooksOnlineSimulator(enforce_limits=False) as qbo:
        unpaid = lw.account.add_processed_order(processed_at=dt.datetime(2026, 2, 1, tzinfo=dt.UTC), status=UNPAID)
        target = {"plugin": "quickbooks_online", "missing_items": "create_non_inventory", **qbo.connector_config()}
        write_config(tmp_path, lw, target)
        yield tmp_path, lw, qbo, unpaid, target


def open_invoices(qbo):
    return {i["DocNumber"]: Decimal(str(i["Balance"])) for i in qbo.entities("Invoice") if Decimal(str(i["Balance"]))}


def test_online_paid_invoices_are_paid_and_an_unpaid_one_later(online):
    folder, lw, qbo, unpaid, _ = online
    report = run(folder)["orders"]
    assert not report.failures, report.failures
    invoices = qbo.entities("Invoice")
    expected = [o for o in orders(lw) if not o["GeneralInfo"].get("HoldOrCancel")]
    assert len(invoices) == len(expected)
    payments = qbo.entities("Payment")
    unpaid_now = [o for o in expected if not paid(o)]
    assert unpaid in unpaid_now and len(payments) == len(expected) - len(unpaid_now)
    # every paid order's invoice is closed, and only the unpaid orders' stay open for their whole total
    assert open_invoices(qbo) == {str(o["NumOrderId"]): Decimal(str(o["TotalsInfo"]["TotalCharge"]))
                                  for o in unpaid_now}
    for payment in payments:
        (link,) = payment["Line"][0]["LinkedTxn"]
        invoice = next(i for i in invoices if i["Id"] == link["TxnId"])
        assert Decimal(str(payment["TotalAmt"])) == Decimal(str(invoice["TotalAmt"]))
        assert payment["DepositToAccountRef"]["name"] == "Undeposited Funds"
        assert payment["CustomerRef"]["value"] == invoice["CustomerRef"]["value"]
    state = open_state(folder / "connex.db")
    assert sorted(r.source_id for r in state.rows("orders", "awaiting")) == sorted(o["OrderId"] for o in unpaid_now)
    state.close()
    # nothing new: the next pass re-reads the one awaiting order, posts nothing
    again = run(folder)["orders"]
    assert again.counts.get("posted", 0) == 0 and len(qbo.entities("Payment")) == len(payments)
    # Linnworks marks them paid: the next pass pays them, and nothing stays open
    for order in unpaid_now:
        order["GeneralInfo"]["Status"] = 1
        order["PaidDateTime"] = "2026-02-03T10:00:00Z"
    later = run(folder)["orders"]
    assert later.counts["posted"] == len(unpaid_now), later.counts
    assert open_invoices(qbo) == {}
    newest = next(p for p in qbo.entities("Payment") if p["PaymentRefNum"] == str(unpaid["NumOrderId"]))
    assert newest["TxnDate"] == "2026-02-03" and newest["PaymentRefNum"] == str(unpaid["NumOrderId"])
    state = open_state(folder / "connex.db")
    assert state.rows("orders", "awaiting") == []
    state.close()
    assert run(folder)["orders"].counts.get("posted", 0) == 0


def test_an_order_no_longer_invoiced_awaits_no_payment(online):
    folder, lw, qbo, unpaid, _ = online
    run(folder)
    state = open_state(folder / "connex.db")
    assert state.rows("orders", "awaiting")
    state.close()
    config = json.loads((folder / "connex.yaml").read_text())
    config["sync"]["document"] = "sales_receipt"  # the bookkeeper switches to sales receipts
    (folder / "connex.yaml").write_text(json.dumps(config))
    receipts = len(qbo.entities("SalesReceipt"))
    run(folder)
    state = open_state(folder / "connex.db")
    assert state.rows("orders", "awaiting") == []  # nothing is re-read for a payment any more
    state.close()
    assert len(qbo.entities("SalesReceipt")) == receipts  # and the re-read posted no sales receipt beside them


def test_online_deposit_account_and_method_by_rule(online):
    folder, lw, qbo, unpaid, target = online
    rules = rules_file(folder, """kind: rules
rules:
  - id: paypal-to-checking
    type: map_deposit_account
    value: Checking
  - id: method
    type: map_payment_method
    value: PayPal
""")
    config = json.loads((folder / "connex.yaml").read_text())
    config["rules"] = [rules]
    config["target"]["create_missing"] = ["payment_methods"]  # a fresh company has no PayPal: web shops add it
    (folder / "connex.yaml").write_text(json.dumps(config))
    report = run(folder)["orders"]
    assert not report.failures, report.failures
    payments = qbo.entities("Payment")
    assert payments and all(p["DepositToAccountRef"]["name"] == "Checking" for p in payments)
    method = qbo.entity("PaymentMethod", Name="PayPal")
    assert all(p["PaymentMethodRef"]["value"] == method["Id"] for p in payments)


def test_online_a_payment_left_in_flight_is_found_not_posted_twice(online):
    folder, lw, qbo, unpaid, _ = online
    run(folder)
    payments = qbo.entities("Payment")
    state = open_state(folder / "connex.db")
    row = state.rows("orders", "posted")
    row = next(r for r in row if r.kind == "payment")
    # as if the process died after QuickBooks took the payment but before the ledger heard: intent, no outcome
    from connex.documents import PaymentDocument, to_record
    from connex.state.store import LedgerEntry
    invoice_number = row.number
    doc = PaymentDocument(kind="payment", source_id=row.source_id, doc_number=invoice_number, txn_date=None,
                          currency="GBP", invoice_number=invoice_number)
    state.record([LedgerEntry(row.key, "orders", "payment", row.source_id, row.number, row.content_hash,
                              "in_flight", document=to_record(doc))], None)
    state.close()
    report = run(folder)["orders"]
    assert report.counts["resolved"] == 1
    assert len(qbo.entities("Payment")) == len(payments)
    state = open_state(folder / "connex.db")
    assert state.lookup([row.key])[row.key].status == "posted"
    state.close()


# --- QuickBooks Desktop ------------------------------------------------------------------------------------------
@pytest.fixture
def desktop(tmp_path):
    from connex_quickbooks_desktop.simulator import make_simulator

    with LinnworksSimulator(processed_orders=12, open_orders=0, purchase_orders=0) as lw:
        unpaid = lw.account.add_processed_order(processed_at=dt.datetime(2026, 2, 1, tzinfo=dt.UTC), status=UNPAID)
        wc = make_simulator()
        target = {"plugin": "quickbooks_desktop", "missing_items": "create_non_inventory", **wc.connector_config()}
        write_config(tmp_path, lw, target)
        yield tmp_path, lw, wc, unpaid, target


def session(folder, wc, target):
    from connex_quickbooks_desktop.service import serve

    endpoint = serve({k: v for k, v in target.items() if k != "plugin"} | {"queue_db": str(folder / "connex.db")})
    try:
        wc.run_session(endpoint.url, target["username"], target["password"])
    finally:
        endpoint.stop()


def desktop_open_invoices(company):
    return {t.ref_number: t.balance for t in company.find_transactions("Invoice") if t.balance and not t.void}


def test_desktop_paid_invoices_are_paid_and_an_unpaid_one_later(desktop):
    folder, lw, wc, unpaid, target = desktop
    run(folder)
    session(folder, wc, target)
    report = run(folder)["orders"]  # collects the session's outcomes
    assert not report.failures, report.failures
    company = wc.company
    expected = [o for o in orders(lw) if not o["GeneralInfo"].get("HoldOrCancel")]
    unpaid_now = [o for o in expected if not paid(o)]
    assert len(company.find_transactions("Invoice")) == len(expected)
    payments = company.find_transactions("ReceivePayment")
    assert len(payments) == len(expected) - len(unpaid_now)
    assert set(desktop_open_invoices(company)) == {str(o["NumOrderId"]) for o in unpaid_now}
    assert all(p.deposit_to == "Undeposited Funds" and len(p.applied_to) == 1 for p in payments)
    for order in unpaid_now:
        order["GeneralInfo"]["Status"] = 1
        order["PaidDateTime"] = "2026-02-03T10:00:00Z"
    run(folder)
    session(folder, wc, target)
    later = run(folder)["orders"]
    assert not later.failures, later.failures
    assert desktop_open_invoices(company) == {}
    assert len(company.find_transactions("ReceivePayment")) == len(expected)
    state = open_state(folder / "connex.db")
    assert state.rows("orders", "awaiting") == [] and state.rows("orders", "queued") == []
    state.close()
    # a rerun and another session post nothing more
    run(folder)
    session(folder, wc, target)
    assert len(company.find_transactions("ReceivePayment")) == len(expected)
