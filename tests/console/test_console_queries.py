"""The console's queries on both databases (SQLAlchemy Core over the store's engine): counts, the chart, failures
grouped by their own reason, one document with its summary, search by number, reference, SKU and customer, and
nothing from another connection."""

from __future__ import annotations

import datetime as dt

from connex.console.queries import Ledger
from connex.state.store import LedgerEntry, open_state


def sales(number: str, customer: str, sku: str) -> dict:
    return {"type": "SalesDocument", "data": {
        "kind": "sales_receipt", "doc_number": number, "txn_date": "2026-01-05", "currency": "GBP", "total": "12.00",
        "source_reference": f"AMZ-{number}", "customer": {"display_name": customer},
        "lines": [{"kind": "item", "sku": sku, "quantity": "1", "amount": "12.00"}]}}


def test_console_reads_one_connection_on_either_database(state_target):
    acme, globex = open_state(state_target, connection="acme"), open_state(state_target, connection="globex")
    acme.record([LedgerEntry("sales_receipt:1", "orders", "sales_receipt", "1", "1001", "h", "in_flight",
                             document=sales("1001", "Ada Lovelace Ltd", "SKU-Red")),
                 LedgerEntry("sales_receipt:2", "orders", "sales_receipt", "2", "1002", "h", "in_flight",
                             document=sales("1002", "Bob's Bikes", "SKU-Blue"))], None)
    acme.record([LedgerEntry("sales_receipt:1", "orders", "sales_receipt", "1", "1001", None, "posted",
                             target_id="9"),
                 LedgerEntry("sales_receipt:2", "orders", "sales_receipt", "2", "1002", None, "failed",
                             error="sales_receipt 1002 field currency: 'QQQ' is not a currency")], None)
    globex.record([LedgerEntry("sales_receipt:1", "orders", "sales_receipt", "1", "1001", "h", "failed",
                               error="other", document=sales("1001", "Globex Corp", "SKU-Green"))], None)
    ledger = Ledger(acme)
    try:
        assert ledger.counts() == {"orders": {"posted": 1, "failed": 1}}
        today = dt.datetime.now(dt.UTC).date()
        assert ledger.per_day(2, today)[-1] == (today.isoformat(), 1, 1)
        assert ledger.failure_reasons() == [("field currency: 'QQQ' is not a currency", "orders", 1)]
        failed = ledger.failures_for(["field currency: 'QQQ' is not a currency"])
        assert [d.key for d in failed] == ["sales_receipt:2"]
        one = ledger.document("sales_receipt:1")
        assert one.status == "posted" and one.summary["party"] == "Ada Lovelace Ltd"
        for text in ("1001", "amz-1001", "sku-red", "ada l", "ADA"):
            assert [d.key for d in ledger.search(text)] == ["sales_receipt:1"], text
        assert ledger.search("Globex") == [] and ledger.search("100%") == []
        assert ledger.flows() == ["orders"] and ledger.history("sales_receipt:1") == []
    finally:
        ledger.close()
        acme.close()
        globex.close()
