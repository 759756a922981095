"""The QuickBooks Online simulator's payments, updates and voids refuse what the reference says QuickBooks
refuses (quickbooks-online-api.md §2, §6, Finance.xsd Payment), with the real faults; and the connector re-reads a
stale object (5010) and retries once."""

from __future__ import annotations

import pytest
from connex_quickbooks_online.simulator.rules import SimFault

from connex.documents import Document


@pytest.fixture
def company(sim):
    rules = sim.rules
    customer = rules.create("Customer", {"DisplayName": "Pay Tester", "CurrencyRef": {"value": "USD"}})
    item = sim.entity("Item", Name="Blue Mug")
    invoice = rules.create("Invoice", {
        "DocNumber": "INV-1", "CustomerRef": {"value": customer["Id"]}, "CurrencyRef": {"value": "USD"},
        "Line": [{"Amount": 24.0, "DetailType": "SalesItemLineDetail",
                  "SalesItemLineDetail": {"ItemRef": {"value": item["Id"]}, "Qty": 2, "UnitPrice": 12.0,
                                          "TaxCodeRef": {"value": "NON"}}}]})
    return rules, customer, invoice


def payment(customer, invoice, amount, total=None):
    return {"CustomerRef": {"value": customer["Id"]}, "CurrencyRef": {"value": "USD"},
            "TotalAmt": total if total is not None else amount,
            "Line": [{"Amount": amount, "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]}]}


def fault(call) -> SimFault:
    with pytest.raises(SimFault) as caught:
        call()
    return caught.value


def test_a_payment_lowers_the_balance_and_never_applies_more_than_is_owed(company):
    rules, customer, invoice = company
    total = invoice["TotalAmt"]
    assert fault(lambda: rules.create("Payment", payment(customer, invoice, total + 1))).code == "6000"
    assert fault(lambda: rules.create("Payment", payment(customer, invoice, 5, total=4))).code == "6000"
    paid = rules.create("Payment", payment(customer, invoice, 10))
    assert paid["DepositToAccountRef"]["name"] == "Undeposited Funds"
    assert invoice["Balance"] == total - 10 and invoice["LinkedTxn"] == [{"TxnId": paid["Id"], "TxnType": "Payment"}]
    assert fault(lambda: rules.create("Payment", payment(customer, invoice, total - 9))).code == "6000"
    missing = {**payment(customer, invoice, 1), "PaymentMethodRef": {"value": "999"}}
    assert fault(lambda: rules.create("Payment", missing)).code == "2500"


def test_updates_need_the_current_sync_token_and_voids_happen_once(company):
    rules, customer, invoice = company
    stale = {"Id": invoice["Id"], "SyncToken": "0", "sparse": True, "PrivateNote": "edited"}
    rules.update("Invoice", stale)
    assert invoice["SyncToken"] == "1" and invoice["PrivateNote"] == "edited"
    assert fault(lambda: rules.update("Invoice", stale)).code == "5010"  # SyncToken 0 is stale now
    paid = rules.create("Payment", payment(customer, invoice, 5))
    current = {"Id": invoice["Id"], "SyncToken": invoice["SyncToken"]}
    assert "payments applied" in fault(lambda: rules.void("Invoice", current)).detail
    rules.void("Payment", {"Id": paid["Id"], "SyncToken": paid["SyncToken"], "sparse": True})
    assert invoice["Balance"] == invoice["TotalAmt"]
    rules.void("Invoice", {"Id": invoice["Id"], "SyncToken": invoice["SyncToken"]})
    assert invoice["TxnStatus"] == "Voided" and invoice["TotalAmt"] == 0
    again = fault(lambda: rules.void("Invoice", {"Id": invoice["Id"], "SyncToken": invoice["SyncToken"]}))
    assert again.code == "6000" and "already voided" in again.detail
    edit = {"Id": invoice["Id"], "SyncToken": invoice["SyncToken"], "sparse": True, "PrivateNote": "x"}
    assert fault(lambda: rules.update("Invoice", edit)).code == "6000"


def test_the_connector_reads_a_stale_object_again_and_retries_once(sim, target, company):
    rules, customer, invoice = company
    reads = []
    original = target._read

    def someone_edits_after_our_read(entity, target_id):
        row = original(entity, target_id)
        reads.append(row["SyncToken"])
        if len(reads) == 1:  # a bookkeeper saves the invoice right after Connex read it
            rules.update("Invoice", {"Id": invoice["Id"], "SyncToken": invoice["SyncToken"], "sparse": True,
                                     "PrivateNote": "saved by the bookkeeper"})
        return row

    target._read = someone_edits_after_our_read
    doc = Document(kind="invoice", source_id="s1", doc_number="INV-1", txn_date=None, currency="USD")
    result = target.void_document(doc, invoice["Id"])
    assert result.status == "posted", result
    assert len(reads) == 2 and sim.entity("Invoice", Id=invoice["Id"])["TxnStatus"] == "Voided"
