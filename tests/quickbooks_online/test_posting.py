"""Posting mapped documents into the simulator over HTTP: created once, right customers, exact amounts."""

from __future__ import annotations

from decimal import Decimal

import pytest

from connex.documents import Line

from .qbo_factories import line, party, purchase, random_sales, refund, sale


def by_number(sim, entity):
    return {e["DocNumber"]: e for e in sim.entities(entity)}


def test_sales_customers_currencies_and_amounts_exact(sim, target):
    docs = random_sales(40)
    results = target.post_documents(docs)
    assert [r.status for r in results] == ["posted"] * 40
    assert [r.key for r in results] == [d.key for d in docs]
    stored = {**by_number(sim, "SalesReceipt"), **by_number(sim, "Invoice")}
    assert len(stored) == 40
    customers = {c["Id"]: c for c in sim.entities("Customer")}
    for doc, result in zip(docs, results):
        txn = stored[doc.doc_number]
        assert txn["Id"] == result.target_id
        assert Decimal(str(txn["TotalAmt"])) == doc.total  # exact to the cent, discount and tax included
        assert txn["CurrencyRef"]["value"] == doc.currency
        customer = customers[txn["CustomerRef"]["value"]]
        assert customer["DisplayName"] == doc.customer.display_name
        assert customer["CurrencyRef"]["value"] == doc.currency
        if doc.currency != "USD":
            assert Decimal(str(txn["ExchangeRate"])) == doc.exchange_rate
            assert Decimal(str(txn["HomeTotalAmt"])) == (doc.total * doc.exchange_rate).quantize(
                Decimal("0.01")
            )
        assert txn["PrivateNote"].startswith(f"Connex {doc.key}")
    # one customer per store and currency, created once each
    names = [c["DisplayName"] for c in sim.entities("Customer")]
    assert len(names) == len(set(names))


def test_requests_are_batched_and_reads_cached(sim, target):
    target.post_documents(random_sales(60, seed=3))
    first = dict(sim.stats)
    assert first["batch"] <= 4  # customers + 2 document batches (+ nothing else)
    target.post_documents(random_sales(30, seed=4, prefix="B"))
    # customers, items and accounts are cached: the second call is one batch and no reads
    assert sim.stats["reads"] == first["reads"]
    assert sim.stats["batch"] == first["batch"] + 1


def test_lines_shipping_discount_tax_and_invoice(sim, target):
    doc = sale(
        "S-100",
        lines=[line("MUG-BLU-01", 2), line("TEA-EARL-250", 3)],
        shipping="4.99",
        discount="2.00",
        tax="3.10",
        kind="invoice",
    )
    [result] = target.post_documents([doc])
    assert result.status == "posted"
    invoice = sim.entity("Invoice", DocNumber="S-100")
    kinds = [ln["DetailType"] for ln in invoice["Line"]]
    assert kinds == ["SalesItemLineDetail"] * 3 + ["DiscountLineDetail"]
    shipping = invoice["Line"][2]["SalesItemLineDetail"]["ItemRef"]
    assert shipping["name"] == "Shipping"
    assert invoice["TxnTaxDetail"]["TotalTax"] == 3.10
    expected = Decimal("24.00") + Decimal("54.00") + Decimal("4.99") - Decimal("2.00") + Decimal("3.10")
    assert Decimal(str(invoice["TotalAmt"])) == expected


def test_rounding_line_within_tolerance_and_failure_beyond(sim, target):
    near = sale("R-1", total=Decimal("24.03"))
    far = sale("R-2", total=Decimal("26.00"))
    ok, bad = target.post_documents([near, far])
    assert ok.status == "posted"
    receipt = sim.entity("SalesReceipt", DocNumber="R-1")
    assert receipt["TotalAmt"] == 24.03
    assert receipt["Line"][-1]["SalesItemLineDetail"]["ItemRef"]["name"] == "Rounding"
    assert receipt["Line"][-1]["Amount"] == 0.03
    assert bad.status == "failed" and "rounding tolerance" in bad.error and "R-2" in bad.error


def test_rounded_unit_price_still_balances(sim, target):
    odd = Line(
        kind="item",
        sku="SOCKS-3PK",
        quantity=Decimal(3),
        unit_price=Decimal("3.33"),
        amount=Decimal("10.00"),
    )
    [result] = target.post_documents([sale("U-1", lines=[odd])])
    assert result.status == "posted"
    assert sim.entity("SalesReceipt", DocNumber="U-1")["TotalAmt"] == 10.00


def test_document_errors_fail_alone_and_name_the_field(sim, target):
    long_number = sale("X" * 22)
    no_rate = sale("NR-1", currency="JPY")  # QuickBooks has no rate for it either
    no_rate.exchange_rate = None
    fine = sale("OK-1")
    unknown = sale(
        "UNK-1",
        lines=[Line(kind="item", sku="SKU-X", quantity=Decimal(1), unit_price=Decimal(1), amount=Decimal(1))],
    )
    results = target.post_documents([long_number, no_rate, fine, unknown])
    assert [r.status for r in results] == ["failed", "failed", "posted", "failed"]
    assert "DocNumber" in results[0].error and "21" in results[0].error
    assert "no QuickBooks exchange rate for JPY" in results[1].error and "NR-1" in results[1].error
    assert "item SKU-X not in QuickBooks" in results[3].error and "UNK-1" in results[3].error
    assert list(by_number(sim, "SalesReceipt")) == ["OK-1"]


def test_a_foreign_document_without_a_rate_takes_quickbooks_rate_for_its_date(sim, target):
    """Never the silent 1.0: with sync.exchange_rates quickbooks (the default) the mapping leaves the rate to
    QuickBooks, whose rate table is read once per currency and date."""
    first, second = sale("FX-1", currency="GBP"), sale("FX-2", currency="GBP")
    first.exchange_rate = second.exchange_rate = None
    assert [r.status for r in target.post_documents([first, second])] == ["posted", "posted"]
    receipt = sim.entity("SalesReceipt", DocNumber="FX-1")
    assert Decimal(str(receipt["ExchangeRate"])) == Decimal("1.2714")
    assert sim.stats["exchangerate"] == 1


def test_customer_in_another_currency_is_a_document_error(sim, target):
    [first] = target.post_documents([sale("C-1", currency="GBP", customer="eBay Shop")])
    assert first.status == "posted"
    [second] = target.post_documents([sale("C-2", currency="USD", customer="eBay Shop")])
    assert second.status == "failed" and second.code == "currency_mismatch"
    assert "GBP" in second.error and "USD" in second.error and "C-2" in second.error


def test_duplicate_name_with_a_vendor_is_reported(sim, target):
    target.find_or_create_vendor(party("Acme USD", "USD"))
    [result] = target.post_documents([sale("D-1", customer="Acme USD")])
    assert result.status == "failed" and result.code == "6240" and "duplicate name" in result.error


def test_colon_in_display_name_is_replaced(sim, target):
    [result] = target.post_documents([sale("K-1", customer="shop:uk USD")])
    assert result.status == "posted"
    assert sim.entity("Customer", DisplayName="shop-uk USD") is not None


@pytest.mark.parametrize(
    "policy, item_type", [("create_non_inventory", "NonInventory"), ("create_inventory", "Inventory")]
)
def test_missing_item_policies_create_items(sim, make_target, policy, item_type):
    target = make_target(missing_items=policy)
    new = Line(
        kind="item",
        sku="SKU-NEW-9",
        description="New gadget",
        quantity=Decimal(2),
        unit_price=Decimal("7.50"),
        amount=Decimal("15.00"),
    )
    results = target.post_documents([sale("M-1", lines=[new]), sale("M-2", lines=[new])])
    assert [r.status for r in results] == ["posted", "posted"]
    items = [i for i in sim.entities("Item") if i.get("Sku") == "SKU-NEW-9"]
    assert len(items) == 1 and items[0]["Type"] == item_type
    if item_type == "Inventory":
        assert items[0]["QtyOnHand"] == -4  # QuickBooks allows selling below zero


def test_purchase_order_with_bill_and_pending_po_only(sim, target):
    mug = sim.entity("Item", Sku="MUG-BLU-01")["QtyOnHand"]
    docs = [
        purchase("PO-1", status="Delivered"),
        purchase("PO-1", kind="bill", status="Delivered", linked="PO-1"),
        purchase("PO-2", status="Pending", source_id="po-pending"),
    ]
    results = target.post_documents(docs)
    assert [r.status for r in results] == ["posted"] * 3
    po1 = sim.entity("PurchaseOrder", DocNumber="PO-1")
    bill = sim.entity("Bill", DocNumber="B-PO-1")
    links = [ln["LinkedTxn"][0] for ln in bill["Line"]]
    assert {lt["TxnId"] for lt in links} == {po1["Id"]}
    assert [lt["TxnLineId"] for lt in links] == [ln["Id"] for ln in po1["Line"]]
    assert po1["POStatus"] == "Closed"
    assert sim.entity("PurchaseOrder", DocNumber="PO-2")["POStatus"] == "Open"
    # only the bill moved stock: +24 mugs; the pending PO did nothing
    assert sim.entity("Item", Sku="MUG-BLU-01")["QtyOnHand"] == mug + 24
    assert len(sim.entities("Bill")) == 1
    pending_bill = purchase("PO-2", kind="bill", status="Pending", linked="PO-2", source_id="po-pending")
    [refused] = target.post_documents([pending_bill])
    assert refused.status == "failed" and "Pending" in refused.error


def test_bill_links_to_a_purchase_order_from_an_earlier_run(sim, target, make_target):
    target.post_documents([purchase("PO-9", status="Open")])
    later = make_target()  # a new run: empty caches, must find the PO by number
    [result] = later.post_documents([purchase("PO-9", kind="bill", status="Delivered", linked="PO-9")])
    assert result.status == "posted"
    bill = sim.entity("Bill", DocNumber="B-PO-9")
    assert bill["Line"][0]["LinkedTxn"][0]["TxnId"] == sim.entity("PurchaseOrder", DocNumber="PO-9")["Id"]
    [orphan] = later.post_documents([purchase("PO-404", kind="bill", linked="PO-404")])
    assert orphan.status == "failed" and "PO-404 not in QuickBooks" in orphan.error


def test_refund_receipts_link_to_the_original_sale(sim, target):
    earl = sim.entity("Item", Sku="TEA-EARL-250")["QtyOnHand"]
    results = target.post_documents(
        [sale("S-7", lines=[line("TEA-EARL-250", 2)]), refund("RF-7", "S-7", lines=[line("TEA-EARL-250", 1)])]
    )
    assert [r.status for r in results] == ["posted", "posted"]
    refund_receipt = sim.entity("RefundReceipt", DocNumber="RF-7")
    assert "refund of S-7" in refund_receipt["PrivateNote"]
    assert refund_receipt["CustomerMemo"]["value"] == "Refund for order S-7"
    assert refund_receipt["DepositToAccountRef"]["name"] == "Undeposited Funds"
    assert refund_receipt["TotalAmt"] == 18.00
    assert sim.entity("Item", Sku="TEA-EARL-250")["QtyOnHand"] == earl - 2 + 1


def test_negative_refund_amounts_post_as_positive(sim, target):
    negative = refund(
        "RF-8",
        "S-8",
        lines=[
            Line(
                kind="item",
                sku="TSHIRT-M-RED",
                quantity=Decimal(1),
                unit_price=Decimal("-12.50"),
                amount=Decimal("-12.50"),
            )
        ],
    )
    [result] = target.post_documents([negative])
    assert result.status == "posted"
    assert sim.entity("RefundReceipt", DocNumber="RF-8")["TotalAmt"] == 12.50


def test_find_posted_and_inventory(sim, target, make_target):
    doc = sale("F-1", lines=[line("CANDLE-SOY-L", 3)])
    target.post_documents([doc])
    fresh = make_target()
    found = fresh.find_posted(doc)
    assert found.status == "exists" and found.target_id == sim.entity("SalesReceipt", DocNumber="F-1")["Id"]
    assert fresh.find_posted(sale("F-2")) is None
    other_source = sale("F-1", source_id="someone-else")
    assert fresh.find_posted(other_source) is None  # same number, different order: not ours
    levels = {lv.sku: lv.quantity_on_hand for lv in fresh.read_inventory()}
    assert levels["CANDLE-SOY-L"] == 37 and levels["MUG-BLU-01"] == 120
    assert {lv.sku for lv in fresh.read_inventory(["TEA-EARL-250"])} == {"TEA-EARL-250"}


def test_find_or_create_names_are_cached(sim, target):
    first = target.find_or_create_customer(party("Shopify USD", "USD"))
    reads = sim.stats["reads"]
    assert target.find_or_create_customer(party("shopify usd", "USD")) == first
    assert sim.stats["reads"] == reads
    assert target.find_or_create_item("MUG-BLU-01") == sim.entity("Item", Sku="MUG-BLU-01")["Id"]
    with pytest.raises(Exception, match="item NOPE-1 not in QuickBooks"):
        target.find_or_create_item("NOPE-1")
