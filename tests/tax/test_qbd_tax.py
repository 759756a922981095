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
        names += [n.text for n in root.iterfind(".//" + tag)]
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


def test_a_rate_no_code_carries_fails_that_document_naming_the_rate_and_the_files_codes(tmp_path):
    bad = order("CA-3", [item("SKU-ABC-001", "20.00", "3.00", "15")], "Canadian Dollar")
    good = order("CA-4", [item("SKU-ABC-001", "20.00", "1.00", "5")], "Canadian Dollar")
    queued, results, _ = sync(tmp_path, "ca", [bad, good], tax_model="global")
    assert {r.key: r.status for r in queued} == {bad.key: "queued", good.key: "queued"}  # codes not read yet
    error = results[bad.key].error
    assert results[bad.key].status == "failed" and "no sales tax code at 15%" in error
    assert "G (5%), H (13%)" in error and "E (no tax)" in error
    assert results[good.key].status == "posted"


def txn(company, number):
    [found] = [t for t in company.transactions if t.ref_number == number]
    return found


def test_us_file_codes_and_the_item_come_from_the_company_file_read_once_per_session(tmp_path):
    """No item_sales_tax configured: the item whose rate is the order's (State Sales Tax, 7.25%) and the
    customer's taxable code are named from the file's lists; QuickBooks' tax on the taxable subtotal equals the
    source's; an untaxed order names the non-taxable customer code and takes none."""
    taxed = order("US-2", [item("SKU-ABC-001", "20.00", "1.45", "7.25"), item("SKU-ABC-002", "10.00", "0", "0"),
                           item("SKU-XYZ-010", "40.00", "2.90", "7.25")], "US Dollar")
    free = order("US-3", [item("SKU-ABC-002", "10.00", "0", "0")], "US Dollar")
    nyc = order("US-4", [item("SKU-ABC-001", "100.00", "8.88", "8.875")], "US Dollar")
    _, results, company = sync(tmp_path, "us", [taxed, free, nyc], tax_model="us")
    assert all(r.status == "posted" for r in results.values()), results
    assert len(sent(company, "SalesTaxCodeQueryRq")) == 1 and len(sent(company, "ItemSalesTaxQueryRq")) == 1
    for doc, item_name in ((taxed, "State Sales Tax"), (free, None), (nyc, "New York City")):
        posted = txn(company, doc.doc_number)
        assert posted.total == doc.total and posted.tax == doc.total_tax, doc.doc_number
        if item_name:
            assert posted.tax_item == item_name
    assert sent(company, "CustomerSalesTaxCodeRef/FullName") == ["Tax", "Non", "Tax"]


def test_canadian_file_codes_by_rate_from_the_file_with_tax_included_amounts(tmp_path):
    """No tax_codes table: 13% is H, 5% G, 12% S (the GST/PST BC group), untaxed Z, each as the file lists
    them; prices with tax included go gross with IsTaxIncluded, and QuickBooks' totals are the source's."""
    lines = [item("SKU-ABC-001", "17.70", "2.30", "13"), item("SKU-ABC-002", "9.52", "0.48", "5"),
             item("SKU-XYZ-010", "26.79", "3.21", "12"), item("SKU-ABC-001", "5.00", "0", "0")]
    inclusive = order("CA-5", lines, "Canadian Dollar")
    inclusive.prices_include_tax = True
    exclusive = order("CA-6", [item("SKU-ABC-001", "19.99", "2.60", "13")], "Canadian Dollar")
    _, results, company = sync(tmp_path, "ca", [inclusive, exclusive], tax_model="global")
    assert all(r.status == "posted" for r in results.values()), results
    codes = [n.findtext("SalesTaxCodeRef/FullName") for x in company.received
             for n in etree.fromstring(x.encode()).iter("SalesReceiptLineAdd")]
    assert codes == ["H", "G", "S", "Z", "H"]
    assert sent(company, "IsTaxIncluded") == ["true"]
    for doc in (inclusive, exclusive):
        posted = txn(company, doc.doc_number)
        assert (posted.total, posted.tax) == (doc.total, doc.total_tax), doc.doc_number
