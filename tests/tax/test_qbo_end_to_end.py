"""Linnworks -> QuickBooks Online through the real engine, against every company profile: orders (as receipts
and as invoices) with shipping, discounts, mixed rates, foreign currency, prices with and without tax; purchase
orders with bills; refunds. Every posted document's total equals Linnworks' to the cent and its tax equals the
tax the channel charged, to the cent, with each line on the company's code for its rate."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from connex_linnworks.simulator import LinnworksSimulator
from connex_linnworks.wire import EMPTY_GUID
from connex_quickbooks_online.simulator import QuickBooksOnlineSimulator

from .tax_support import COUNTRY, RATES, cents, locate, price_order, retax_purchase_order, sync, when

SALES_ENTITY = {"sales_receipt": "SalesReceipt", "invoice": "Invoice"}
FOREIGN = {"uk": "USD", "ca": "USD", "au": "USD", "us": "GBP", "us-manual": "GBP"}
HOME = {"uk": "GBP", "ca": "CAD", "au": "AUD", "us": "USD", "us-manual": "USD"}


def seed_orders(lw, profile: str) -> list[dict]:
    """Orders covering what breaks tax: every kind priced at the profile's own rates."""
    standard, reduced, zero = RATES[profile]
    home, foreign = HOME[profile], FOREIGN[profile]
    shapes = [
        # inclusive, one rate, shipping at the same rate
        dict(lines=[("MUG-BLU-01", 2, "12.00", standard)], postage_gross="3.99", postage_rate=standard),
        # the reference's unrounded order: 27.99 gross at the standard rate, no shipping
        dict(lines=[("TEA-EARL-250", 1, "27.99", standard)]),
        # mixed: standard + reduced + zero-rated lines, shipping taxed
        dict(lines=[("CANDLE-SOY-L", 1, "24.50", standard), ("SOCKS-3PK", 3, "14.95", reduced),
                    ("BOOK-CHAI", 2, "9.99", zero)], postage_gross="4.80", postage_rate=standard),
        # exclusive prices with a discount on the standard rate
        dict(lines=[("TSHIRT-M-RED", 3, "16.66", standard), ("MUG-BLU-01", 1, "10.00", standard)],
             inclusive=False, discount="5.00", discount_rate=standard, postage_gross="2.99", postage_rate=standard),
        # zero-rated export with free shipping
        dict(lines=[("BOOK-CHAI", 4, "9.99", zero)]),
        # foreign currency, inclusive, mixed
        dict(lines=[("GIFT-SET-TEA", 1, "39.90", standard), ("BOOK-CHAI", 1, "9.99", zero)], currency=foreign,
             postage_gross="7.50", postage_rate=standard),
    ]
    orders = []
    for n, shape in enumerate(shapes):
        order = lw.account.add_processed_order(processed_at=when(n + 2))
        orders.append(price_order(order, currency=shape.pop("currency", home), country=COUNTRY[profile], **shape))
    return orders


def seed_purchases(lw, profile: str) -> list[dict]:
    standard, reduced, _ = RATES[profile]
    made = []
    for n, (status, rate, shipping) in enumerate([("OPEN", standard, None), ("DELIVERED", standard, Decimal("25")),
                                                  ("DELIVERED", reduced, None)]):
        po = lw.account.add_purchase_order(status=status, supplier_id=EMPTY_GUID, location_id=EMPTY_GUID,
                                           purchased_at=when(n + 10), currency=HOME[profile],
                                           lines=[("MUG-BLU-01", 24 + n), ("TEA-EARL-250", 7)], shipping=shipping,
                                           index=900 + n)
        made.append(retax_purchase_order(po, rate))
    return made


@pytest.fixture(params=["uk", "ca", "au", "us", "us-manual"])
def profile(request):
    return request.param


@pytest.mark.parametrize("document", ["sales_receipt", "invoice"])
def test_every_document_posts_with_linnworks_totals_and_tax_to_the_cent(tmp_path, profile, document):
    with LinnworksSimulator(processed_orders=0, open_orders=0, purchase_orders=0, refunds=False) as lw, \
            QuickBooksOnlineSimulator(company=profile, enforce_limits=False) as qbo:
        orders = seed_orders(lw, profile)
        locate(lw, COUNTRY[profile])  # the company's own warehouse: its suppliers' tax is its own
        pos = seed_purchases(lw, profile)
        refunded = orders[2]  # the mixed-rate order: an item at the reduced rate and the shipping back
        header = lw.account.book_refund(refunded["OrderId"], lines=[("SOCKS-3PK", 1)], shipping=True,
                                        reason="DAMAGED", booked_at=when(20))
        lw.account.action_refund(header["RefundHeaderId"], at=when(21))
        reports = sync(tmp_path, lw, qbo, document=document,
                       flows=("orders", "purchases", "refunds", "inventory"))
        for report in reports.values():
            assert not report.failures, report.failures
        assert reports["orders"].documents[document] == len(orders)
        if document == "invoice":  # the paid orders' invoices are paid (issue 17): no open balance is left
            paid = [o for o in orders if o["GeneralInfo"]["Status"] not in (0, 3, "UNPAID", "PENDING")]
            assert reports["orders"].documents["payment"] == len(paid)
            assert all(Decimal(str(i["Balance"])) == 0 for i in qbo.entities("Invoice")
                       if i["DocNumber"] in {str(o["NumOrderId"]) for o in paid})
        assert reports["inventory"].status == "ok"  # stock: tax plays no part, and nothing breaks it

        entity = SALES_ENTITY[document]
        for order in orders:
            posted = qbo.entity(entity, DocNumber=str(order["NumOrderId"]))
            totals = order["TotalsInfo"]
            assert Decimal(str(posted["TotalAmt"])) == cents(totals["TotalCharge"]), order["NumOrderId"]
            assert Decimal(str(posted["TxnTaxDetail"]["TotalTax"])) == cents(totals["Tax"]), order["NumOrderId"]
            assert_line_codes(qbo, profile, posted, order)

        for po in pos:
            header_po = po["PurchaseOrderHeader"]
            posted = qbo.entity("PurchaseOrder", DocNumber=header_po["ExternalInvoiceNumber"])
            assert Decimal(str(posted["TotalAmt"])) == cents(header_po["TotalCost"])
            if not profile.startswith("us"):
                tax = header_po["taxPaid"] + sum(c["Tax"] for c in po.get("AdditionalCosts") or [])
                assert Decimal(str(posted["TxnTaxDetail"]["TotalTax"])) == cents(tax)
                codes = {line["ItemBasedExpenseLineDetail"]["TaxCodeRef"]["value"] for line in posted["Line"]
                         if "ItemBasedExpenseLineDetail" in line
                         and line["ItemBasedExpenseLineDetail"]["ItemRef"].get("name") != "Rounding"}
                assert all(purchase_percent(qbo, c) == Decimal(str(po["PurchaseOrderItem"][0]["TaxRate"]))
                           for c in codes)
            # no PO here is Pending, so each has its bill, linked, with the same money
            bill = qbo.entity("Bill", DocNumber=header_po["ExternalInvoiceNumber"])
            assert bill["Line"][0].get("LinkedTxn")
            assert (bill["TotalAmt"], bill.get("TxnTaxDetail")) == (posted["TotalAmt"], posted.get("TxnTaxDetail"))
            if profile.startswith("us"):  # a US company records no purchase tax: the supplier's is in the cost
                assert "TxnTaxDetail" not in posted and all("TaxCodeRef" not in ln[ln["DetailType"]]
                                                            for ln in posted["Line"])

        [refund] = qbo.entities("RefundReceipt")
        amounts = [Decimal(str(line["Amount"])) for line in header["RefundLines"]]
        assert Decimal(str(refund["TotalAmt"])) == sum(amounts)
        if not profile.startswith("us"):
            reduced, standard = Decimal(RATES[profile][1]), Decimal(RATES[profile][0])
            expected = sum(a - cents(a * 100 / (100 + r)) for a, r in zip(amounts, (reduced, standard)))
            assert Decimal(str(refund["TxnTaxDetail"]["TotalTax"])) == expected


def sales_percent(qbo, code_id: str) -> Decimal:
    code = qbo.entity("TaxCode", Id=code_id)
    return sum((Decimal(str(qbo.entity("TaxRate", Id=d["TaxRateRef"]["value"])["RateValue"]))
                for d in code["SalesTaxRateList"]["TaxRateDetail"]), Decimal(0))


def purchase_percent(qbo, code_id: str) -> Decimal:
    code = qbo.entity("TaxCode", Id=code_id)
    return sum((Decimal(str(qbo.entity("TaxRate", Id=d["TaxRateRef"]["value"])["RateValue"]))
                for d in code["PurchaseTaxRateList"]["TaxRateDetail"]), Decimal(0))


def assert_line_codes(qbo, profile, posted, order):
    """Each item line sits on the code for the rate Linnworks charged (US: TAX when taxed, else NON)."""
    item_lines = [ln for ln in posted["Line"] if ln.get("DetailType") == "SalesItemLineDetail"]
    for line, item in zip(item_lines, order["Items"]):
        code = line["SalesItemLineDetail"]["TaxCodeRef"]["value"]
        rate = Decimal(str(item["TaxRate"]))
        if profile.startswith("us"):
            assert code == ("TAX" if rate else "NON")
            if profile == "us-manual" and rate:  # the transaction's code carries the rate
                txn_code = posted["TxnTaxDetail"]["TxnTaxCodeRef"]["value"]
                assert sales_percent(qbo, txn_code) == rate
        else:
            assert sales_percent(qbo, code) == rate
            if posted.get("GlobalTaxCalculation") == "TaxInclusive":
                gross = Decimal(str(line["SalesItemLineDetail"]["TaxInclusiveAmt"]))
                assert abs(gross - cents(item["CostIncTax"])) <= Decimal("0.01")


def test_the_uk_example_rules_post_foreign_vat_outside_uk_vat(tmp_path):
    """docs/tax.md's UK example against the UK company: an Amazon DE order (German VAT) goes on "No VAT" with the
    German VAT kept in the lines, so the total is still Linnworks' and no UK VAT is recorded; a book is 0.0% Z."""
    rules = Path(__file__).resolve().parents[2] / "rules" / "examples" / "tax_uk.yaml"
    with LinnworksSimulator(processed_orders=0, open_orders=0, purchase_orders=0, refunds=False) as lw, \
            QuickBooksOnlineSimulator(company="uk", enforce_limits=False) as qbo:
        german = price_order(lw.account.add_processed_order(processed_at=when(2)),
                             [("MUG-BLU-01", 2, "14.99", "19")], postage_gross="4.99", postage_rate="19",
                             currency="EUR", country="United Kingdom")
        german["GeneralInfo"].update(Source="AMAZON", SubSource="Amazon DE")
        uk = price_order(lw.account.add_processed_order(processed_at=when(3)),
                         [("MUG-BLU-01", 1, "12.00", "20"), ("BOOK-CHAI", 1, "9.99", "20")],
                         country="United Kingdom")
        reports = sync(tmp_path, lw, qbo, flows=("orders",), rules=[rules])
        assert not reports["orders"].failures, reports["orders"].failures
        posted = qbo.entity("SalesReceipt", DocNumber=str(german["NumOrderId"]))
        assert Decimal(str(posted["TotalAmt"])) == cents(german["TotalsInfo"]["TotalCharge"])
        assert posted["TxnTaxDetail"]["TotalTax"] == 0
        no_vat = qbo.entity("TaxCode", Name="No VAT")["Id"]
        assert {ln["SalesItemLineDetail"]["TaxCodeRef"]["value"] for ln in posted["Line"]
                if ln["SalesItemLineDetail"]["ItemRef"].get("name") != "Rounding"} == {no_vat}
        posted = qbo.entity("SalesReceipt", DocNumber=str(uk["NumOrderId"]))
        codes = [qbo.entity("TaxCode", Id=ln["SalesItemLineDetail"]["TaxCodeRef"]["value"])["Name"]
                 for ln in posted["Line"] if ln["SalesItemLineDetail"]["ItemRef"].get("name") != "Rounding"]
        assert codes == ["20.0% S", "0.0% Z"]
        assert Decimal(str(posted["TotalAmt"])) == cents(uk["TotalsInfo"]["TotalCharge"])


def test_a_fresh_uk_company_books_other_countries_tax_outside_uk_vat_and_fails_a_uk_rate_it_lacks(tmp_path):
    """Connex's defaults on a UK company with only the codes QuickBooks gives it: German VAT on an Amazon DE
    order shipped to Germany and US sales tax on a US order are those countries' tax, so their lines go on
    "No VAT" with the tax kept in the amounts (total still Linnworks'); an export with no tax is zero-rated; a
    UK order at a rate the company has no code for fails, naming the rate and the company's codes."""
    with LinnworksSimulator(processed_orders=0, open_orders=0, purchase_orders=0, refunds=False) as lw, \
            QuickBooksOnlineSimulator(company="uk", enforce_limits=False) as qbo:
        german = price_order(lw.account.add_processed_order(processed_at=when(2)),
                             [("MUG-BLU-01", 2, "14.99", "19"), ("BOOK-CHAI", 1, "9.99", "19")],
                             postage_gross="4.99", postage_rate="19", currency="EUR", country="Germany",
                             inclusive=False, discount="1.50", discount_rate="19")
        american = price_order(lw.account.add_processed_order(processed_at=when(3)),
                               [("TEA-EARL-250", 3, "8.50", "7.25")], currency="USD", country="United States")
        export = price_order(lw.account.add_processed_order(processed_at=when(4)),
                             [("CANDLE-SOY-L", 1, "24.50", "0")], currency="USD", country="Japan")
        wrong = price_order(lw.account.add_processed_order(processed_at=when(5)),
                            [("SOCKS-3PK", 1, "14.95", "17.5")], country="United Kingdom")
        reports = sync(tmp_path, lw, qbo, flows=("orders",))
        [failure] = reports["orders"].failures
        assert str(wrong["NumOrderId"]) in str(failure)
        assert "no sales tax code at 17.5%" in str(failure) and "20.0% S (20%)" in str(failure)
        names = {row["Id"]: row["Name"] for row in qbo.entities("TaxCode")}
        for order, code in ((german, "No VAT"), (american, "No VAT"), (export, "0.0% Z")):
            posted = qbo.entity("SalesReceipt", DocNumber=str(order["NumOrderId"]))
            assert Decimal(str(posted["TotalAmt"])) == cents(order["TotalsInfo"]["TotalCharge"])
            assert Decimal(str(posted["TxnTaxDetail"]["TotalTax"])) == 0
            assert {names[ln[ln["DetailType"]]["TaxCodeRef"]["value"]] for ln in posted["Line"]
                    if "TaxCodeRef" in ln[ln["DetailType"]]} == {code}
