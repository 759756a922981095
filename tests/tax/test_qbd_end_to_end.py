"""Linnworks -> QuickBooks Desktop through the real engine and a Web Connector session, against the US and the
Canadian company files: orders (as receipts and as invoices) with shipping, discounts, mixed rates, foreign
currency and prices with and without tax; purchase orders with bills; a refund; stock. Every transaction
QuickBooks records has Linnworks' total and, where the file computes tax per line from the codes (Canada), the
tax the channel charged, to the cent; the US file computes one tax on the taxable subtotal from the sales tax
item, so its tax is QuickBooks' own (within a cent of the channel's: the cent goes into a line's amount) while
the total is still Linnworks'."""

from __future__ import annotations

from decimal import Decimal

import pytest
from connex_linnworks.simulator import LinnworksSimulator
from connex_linnworks.simulator.catalogue import PRODUCTS
from connex_quickbooks_desktop.simulator import SimulatedCompany, WebConnectorSimulator
from connex_quickbooks_desktop.validation import QbxmlValidator

from tests.conftest import reference
from tests.quickbooks_desktop.test_own_items import sync_with_a_session, write_config

from .tax_support import COUNTRY, cents, locate, when
from .test_qbo_end_to_end import seed_orders, seed_purchases

TXN = {"sales_receipt": "SalesReceipt", "invoice": "Invoice"}
HOME = {"us": "US Dollar", "ca": "Canadian Dollar"}


@pytest.fixture(scope="module")
def validator() -> QbxmlValidator:
    """Every request the company file receives is checked against Intuit's qbXML 13.0 schemas."""
    return QbxmlValidator(reference("qbxml-xsd/qbxmlops130.xsd").parent)


def company_file(edition: str, validator) -> SimulatedCompany:
    company = SimulatedCompany.seeded(edition=edition, validator=validator, home_currency=HOME[edition])
    for sku, *_ in PRODUCTS:
        company.add_list_record(sku, "ItemInventory", quantity=Decimal(500))
    return company


def recorded(company, txn_type: str, number) -> object:
    [found] = [t for t in company.transactions if t.txn_type == txn_type and t.ref_number == str(number)[:11]]
    return found


@pytest.mark.parametrize("document", ["sales_receipt", "invoice"])
@pytest.mark.parametrize("edition", ["us", "ca"])
def test_every_transaction_has_linnworks_totals_and_tax(tmp_path, validator, edition, document):
    company = company_file(edition, validator)
    with LinnworksSimulator(processed_orders=0, open_orders=0, purchase_orders=0, refunds=False) as lw:
        orders = seed_orders(lw, edition)
        locate(lw, COUNTRY[edition])
        pos = seed_purchases(lw, edition)
        refunded = orders[2]
        header = lw.account.book_refund(refunded["OrderId"], lines=[("SOCKS-3PK", 1)], shipping=True,
                                        reason="DAMAGED", booked_at=when(20))
        lw.account.action_refund(header["RefundHeaderId"], at=when(21))
        wc = WebConnectorSimulator(company)
        target = write_config(tmp_path, lw, wc, tax_model="us" if edition == "us" else "global",
                              missing_items="fail")
        config = (tmp_path / "connex.yaml")
        text = config.read_text().replace('"refunds": true}', f'"refunds": true, "document": "{document}", '
                                                              '"inventory": true}')
        config.write_text(text)
        reports = sync_with_a_session(tmp_path, wc, target)
    failures = [f for report in reports for f in report.failures]
    assert failures == [], failures[:3]

    for order in orders:
        txn = recorded(company, TXN[document], order["NumOrderId"])
        totals = order["TotalsInfo"]
        assert txn.total == cents(totals["TotalCharge"]), order["NumOrderId"]
        if edition == "ca":
            assert txn.tax == cents(totals["Tax"]), order["NumOrderId"]
        else:
            assert abs(txn.tax - cents(totals["Tax"])) <= Decimal("0.01"), order["NumOrderId"]

    for po in pos:
        head = po["PurchaseOrderHeader"]
        for txn_type in ("PurchaseOrder", "Bill"):
            txn = recorded(company, txn_type, head["ExternalInvoiceNumber"])
            assert txn.total == cents(head["TotalCost"]), (txn_type, head["ExternalInvoiceNumber"])
            if edition == "ca":
                tax = head["taxPaid"] + sum(c["Tax"] for c in po.get("AdditionalCosts") or [])
                assert txn.tax == cents(tax)

    [memo] = [t for t in company.transactions if t.txn_type == "CreditMemo"]
    amounts = [Decimal(str(line["Amount"])) for line in header["RefundLines"]]
    assert memo.total == sum(amounts)
    assert memo.tax > 0
    assert any(r.flow == "inventory" and r.counts.get("posted", 0) + r.counts.get("read", 0) for r in reports)
