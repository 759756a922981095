"""Builders: schema element order, limits, memo/RefNumber rules, and validity for arbitrary input."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from connex_quickbooks_desktop import limits, qbxml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from connex.documents import Address, Line, Party, PurchaseDocument, RefundDocument, SalesDocument
from connex.errors import DocumentError
from tests.conftest import examples

from .conftest import bill, customer, order, purchase_order, refund

BUILDER = qbxml.QbxmlBuilder(
    shipping_item="Shipping",
    rounding_item="Rounding",
    income_account="Merchandise Sales",
    expense_account="Cost of Goods Sold",
)


def _valid(validator, *requests):
    xml = qbxml.message_set(requests)
    assert validator.validate(xml) == [], xml
    return etree.fromstring(xml.split("\n", 2)[2].encode())


def test_every_request_type_validates(validator):
    party = customer("Ünïcödé Ωmega Customer With A Very Long Name Indeed")
    _valid(
        validator,
        BUILDER.customer_add("1", party, "British Pound Sterling"),
        BUILDER.vendor_add("2", party, None),
        BUILDER.item_query("3", ["SKU-1", "Parent:Child"]),
        BUILDER.item_non_inventory_add("4", "SKU-1", "desc"),
        BUILDER.item_inventory_query("5"),
        BUILDER.item_inventory_query("6", iterator_id="{0F9E8D7C-6B5A-4493-8271-605F4E3D2C1B}"),
        BUILDER.txn_query("7", order("LW-1")),
        BUILDER.purchase_order_lines_query("8", "PO-1"),
        BUILDER.document_add("9", order("LW-1")),
        BUILDER.document_add("10", order("LW-2", kind="invoice")),
        BUILDER.document_add("11", refund("RF-1", "LW-1")),
        BUILDER.document_add("12", purchase_order("PO-1")),
        BUILDER.document_add("13", bill("B-1", "PO-1"), [qbxml.PoLineLink("1A-1", "1B-1", "SKU-ABC-002")]),
    )


def test_customer_add_puts_currency_last_and_cuts_the_name(validator):
    root = _valid(validator, BUILDER.customer_add("1", customer("A" * 60), "Euro"))
    add = root.find(".//CustomerAdd")
    assert len(add.findtext("Name")) == 41
    assert add[-1].tag == "CurrencyRef"


def test_long_order_number_goes_to_memo_and_refnumber_keeps_eleven(validator):
    root = _valid(validator, BUILDER.document_add("1", order("202405010001-AMAZON-UK")))
    assert root.findtext(".//RefNumber") == "202405010001"[:11]
    assert "202405010001-AMAZON-UK" in root.findtext(".//Memo")


def test_bill_lines_link_to_matching_purchase_order_lines(validator):
    document = bill("B-7", "PO-7", skus=("SKU-ABC-002", "SKU-XYZ-010"))
    links = [qbxml.PoLineLink("T1", "L-xyz", "SKU-XYZ-010"), qbxml.PoLineLink("T1", "L-abc", "SKU-ABC-002")]
    root = _valid(validator, BUILDER.document_add("1", document, links))
    lines = root.findall(".//ItemLineAdd")
    assert [ln.findtext("LinkToTxn/TxnLineID") for ln in lines] == ["L-abc", "L-xyz"]
    assert root.find(".//BillAdd/VendorRef") is root.find(".//BillAdd")[0]


def test_memo_token_match_is_exact():
    assert qbxml.memo_mentions("Order (#LW-1001)", "LW-1001")
    assert not qbxml.memo_mentions("Order (#LW-10011)", "LW-1001")
    assert not qbxml.memo_mentions(None, "LW-1001")


def test_documents_qbxml_cannot_express_fail_with_where():
    empty = order("LW-9")
    empty.lines = []
    with pytest.raises(DocumentError, match="sales_receipt LW-9 field lines"):
        BUILDER.document_add("1", empty)
    no_item = qbxml.QbxmlBuilder()
    with pytest.raises(DocumentError, match="shipping_item"):
        no_item.document_add("1", order("LW-10"))
    orphan = order("LW-11")
    orphan.customer = None
    with pytest.raises(DocumentError, match="field customer"):
        BUILDER.document_add("1", orphan)


_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=80)
_money = st.decimals(min_value=-99999, max_value=99999, places=2, allow_nan=False, allow_infinity=False)


@st.composite
def documents(draw):
    party = Party(
        display_name=draw(_text.filter(lambda s: limits.clip(s, 41))),
        company=draw(_text),
        phone=draw(_text),
        email=draw(_text),
        first_name=draw(_text),
        last_name=draw(_text),
        billing_address=Address(
            draw(_text),
            draw(_text),
            city=draw(_text),
            region=draw(_text),
            postal_code=draw(_text),
            country=draw(_text),
        ),
    )
    lines = [
        Line(
            sku=draw(_text.filter(qbxml.item_ref_name)),
            description=draw(_text),
            quantity=draw(st.decimals(min_value=0, max_value=1000, places=3)),
            unit_price=draw(_money),
            amount=draw(_money),
            tax_code=draw(st.sampled_from([None, "S", "Z"])),
        )
        for _ in range(draw(st.integers(1, 3)))
    ]
    kind = draw(st.sampled_from(["sales_receipt", "invoice", "credit_memo", "purchase_order", "bill"]))
    common = dict(
        kind=kind,
        source_id="x",
        doc_number=draw(_text.filter(lambda s: limits.clip(s, 11))),
        txn_date=dt.date(2024, 1, 2),
        currency="GBP",
        lines=lines,
        memo=draw(_text),
        exchange_rate=draw(st.sampled_from([None, Decimal("1.2345")])),
    )
    if kind in ("purchase_order", "bill"):
        return PurchaseDocument(vendor=party, linked_po_number="PO-1" if kind == "bill" else None, **common)
    if kind == "credit_memo":
        return RefundDocument(customer=party, original_doc_number=draw(_text), **common)
    return SalesDocument(customer=party, source_reference=draw(_text), **common)


@settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(documents())
def test_any_document_builds_valid_latin1_qbxml(validator, document):
    requests = [BUILDER.document_add("1", document), BUILDER.txn_query("2", document)]
    party = getattr(document, "customer", None) or document.vendor
    requests.append(BUILDER.customer_add("3", party, "Euro"))
    xml = qbxml.message_set(requests)
    xml.encode("iso-8859-1")
    assert validator.validate(xml) == []
