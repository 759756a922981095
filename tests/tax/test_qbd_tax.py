"""QuickBooks Desktop: sales tax codes per line and the US sales tax item per transaction, on a US and a Canadian
company file, XSD-valid (every request is validated against Intuit's qbXML 13.0 schemas by the simulator)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from connex_quickbooks_desktop.connector import QuickBooksDesktopTarget
from connex_quickbooks_desktop.service import serve
from connex_quickbooks_desktop.simulator import SimulatedCompany, WebConnectorSimulator
from connex_quickbooks_desktop.validation import QbxmlValidator
from lxml import etree

from connex.documents import Line, Party, SalesDocument
from tests.conftest import REFERENCE

XSD = REFERENCE / "qbxml-xsd"
pytestmark = pytest.mark.skipif(not (XSD / "qbxmlops130.xsd").exists(),
                                reason=f"needs the qbXML schemas in {XSD}")
USER, PASSWORD = "connex-sync", "s3cret-pa55"


def order(number: str, lines: list[Line], currency: str) -> SalesDocument:
    tax = sum((ln.tax_amount for ln in lines), Decimal(0))
    return SalesDocument(kind="sales_receipt", source_id=f"o-{number}", doc_number=number,
                         txn_date=dt.date(2026, 1, 5), currency=currency, lines=lines, total_tax=tax,
                         total=sum((ln.amount for ln in lines), Decimal(0)) + tax,
                         customer=Party(display_name=f"Shop {currency}", currency=currency),
                         deposit_account="Undeposited Funds")


def item(sku, amount, tax, rate):
    return Line(sku=sku, quantity=Decimal(1), unit_price=Decimal(amount), amount=Decimal(amount),
                tax_amount=Decimal(tax), tax_rate=Decimal(rate))


def sync(tmp_path, edition, docs, **tax_config):
    company = SimulatedCompany.seeded(edition=edition, validator=QbxmlValidator(XSD))
    config = {"listen": "127.0.0.1:0", "username": USER, "password": PASSWORD,
              "queue_db": str(tmp_path / "connex.db"), "shipping_item": "Shipping", "rounding_item": "Rounding",
              **tax_config}
    server = serve(config)
    qbwc = WebConnectorSimulator(company)
    try:
        with QuickBooksDesktopTarget(config) as target:
            queued = target.post_documents(docs)
            qbwc.run_session(server.url, USER, PASSWORD)
            results = {r.key: r for r in target.collect_results()}
            return queued, results, company
    finally:
        qbwc.stop()
        server.stop()


def sent(company, tag: str) -> list[str]:
    names = []
    for xml in company.received:
        root = etree.fromstring(xml.encode("utf-8") if isinstance(xml, str) else xml)
        names += [n.text for n in root.iter(tag)]
    return names


def test_us_file_lines_are_tax_or_non_with_the_sales_tax_item(tmp_path):
    doc = order("US-1", [item("SKU-ABC-001", "20.00", "1.45", "7.25"), item("SKU-ABC-002", "10.00", "0", "0")],
                "US Dollar")
    _, results, company = sync(tmp_path, "us", [doc], tax_model="us", item_sales_tax="State Sales Tax")
    assert results[doc.key].status == "posted", results[doc.key].error
    codes = [n.findtext("SalesTaxCodeRef/FullName") for x in company.received
             for n in etree.fromstring(x.encode()).iter("SalesReceiptLineAdd")]
    assert codes == ["Tax", "Non"]
    assert sent(company, "ItemSalesTaxRef") and "State Sales Tax" in "".join(company.received)


def test_canadian_file_lines_take_codes_by_rate_and_no_item_sales_tax(tmp_path):
    doc = order("CA-1", [item("SKU-ABC-001", "20.00", "2.60", "13"), item("SKU-ABC-002", "10.00", "0", "0")],
                "Canadian Dollar")
    _, results, company = sync(tmp_path, "ca", [doc], tax_model="global", tax_codes={13: "H", 5: "G", 0: "Z"})
    assert results[doc.key].status == "posted", results[doc.key].error
    codes = [n.findtext("SalesTaxCodeRef/FullName") for x in company.received
             for n in etree.fromstring(x.encode()).iter("SalesReceiptLineAdd")]
    assert codes == ["H", "Z"]
    assert not sent(company, "ItemSalesTaxRef")


def test_canadian_file_refuses_an_item_sales_tax_with_the_real_fault(tmp_path):
    doc = order("CA-2", [item("SKU-ABC-001", "20.00", "1.00", "5")], "Canadian Dollar")
    _, results, _ = sync(tmp_path, "ca", [doc], tax_model="us", item_sales_tax="GST")
    assert results[doc.key].status == "failed"
    assert 'invalid reference to QuickBooks Item Sales Tax "GST"' in results[doc.key].error


def test_a_rate_missing_from_the_table_fails_that_document_naming_the_rate(tmp_path):
    bad = order("CA-3", [item("SKU-ABC-001", "20.00", "3.00", "15")], "Canadian Dollar")
    good = order("CA-4", [item("SKU-ABC-001", "20.00", "1.00", "5")], "Canadian Dollar")
    queued, results, _ = sync(tmp_path, "ca", [bad, good], tax_model="global", tax_codes={13: "H", 5: "G", 0: "Z"})
    failed = {r.key: r for r in queued}[bad.key]
    assert failed.status == "failed" and "no tax code for 15%" in failed.error and "13% H" in failed.error
    assert results[good.key].status == "posted"
