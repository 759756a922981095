"""Mapped documents -> qbXML 13.0 requests, every aggregate in the XSD's element order.

qbXML is order-sensitive: one child out of sequence fails the whole message set with HRESULT 0x80040400. Each
builder below therefore appends children in exactly the order of ``qbxmlops130.xsd`` and leaves out what is
empty. All text passes through ``limits.clip`` (ISO-8859-1 and maxLength) and all amounts through
``limits.amount`` (two decimals), so a builder cannot produce a value the schema refuses.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from lxml import etree

from connex.documents import (
    Address,
    Document,
    Line,
    Party,
    PaymentDocument,
    PurchaseDocument,
    RefundDocument,
    SalesDocument,
)
from connex.errors import DocumentError, DocumentRef
from connex_quickbooks_desktop import limits
from connex_quickbooks_desktop.tax import CompanyTax, DesktopTax

QBXML_VERSION = "13.0"

#: document kind -> (qbXML transaction name, RefNumber limit)
TXN_TYPES = {
    "sales_receipt": ("SalesReceipt", limits.REF_NUMBER),
    "invoice": ("Invoice", limits.REF_NUMBER),
    "credit_memo": ("CreditMemo", limits.REF_NUMBER),
    "refund_receipt": ("CreditMemo", limits.REF_NUMBER),  # Desktop has no refund receipt: a credit memo
    "purchase_order": ("PurchaseOrder", limits.REF_NUMBER),
    "bill": ("Bill", limits.BILL_REF_NUMBER),
    "payment": ("ReceivePayment", limits.PAYMENT_REF_NUMBER),
    "journal_entry": ("JournalEntry", limits.REF_NUMBER),
}


def _sub(parent: etree._Element, tag: str, text: str | None = None) -> etree._Element | None:
    """Append ``<tag>text</tag>``; skip it entirely when ``text`` is None or empty (optional elements)."""
    if text is None or text == "":
        return None
    node = etree.SubElement(parent, tag)
    node.text = text
    return node


def _ref(parent: etree._Element, tag: str, full_name: str | None, limit: int = limits.ACCOUNT_REF) -> None:
    name = limits.clip(full_name, limit)
    if name:
        etree.SubElement(etree.SubElement(parent, tag), "FullName").text = name


def _date(value: dt.date | None) -> str | None:
    return value.isoformat() if value else None


def _address(
    parent: etree._Element, tag: str, address: Address | None, first_line: str | None = None
) -> None:
    """BillAddress/ShipAddress/VendorAddress: Addr1..Addr5, City, State, PostalCode, Country (XSD order)."""
    if address is None:
        return
    lines = [first_line, address.line1, address.line2, address.line3]
    lines = [clipped for clipped in (limits.clip(x, limits.NAME) for x in lines) if clipped][:5]
    fields = [
        ("City", limits.clip(address.city, limits.CITY)),
        ("State", limits.clip(address.region, limits.STATE)),
        ("PostalCode", limits.clip(address.postal_code, limits.POSTAL_CODE)),
        ("Country", limits.clip(address.country or address.country_code, limits.COUNTRY)),
    ]
    if not lines and not any(value for _, value in fields):
        return
    node = etree.SubElement(parent, tag)
    for index, text in enumerate(lines, start=1):
        _sub(node, f"Addr{index}", text)
    for name, value in fields:
        _sub(node, name, value)


def party_name(party: Party) -> str:
    """The Customer/Vendor Name (and so every CustomerRef/VendorRef FullName): Latin-1, at most 41."""
    name = limits.clip(party.display_name, limits.NAME)
    if not name:
        raise DocumentError(
            "customer/vendor has an empty display name", where=DocumentRef("party", "", "Name")
        )
    return name


def item_ref_name(raw: str) -> str:
    """The ItemRef FullName for a SKU or mapped item name. Plain names are cut to the 31 characters an Item
    Name may hold (so the ref matches an item Connex creates); hierarchical "Parent:Child" names are kept
    whole because only each segment is limited."""
    if ":" in raw:
        return limits.clip(raw, limits.ACCOUNT_REF) or ""
    return limits.clip(raw, limits.ITEM_NAME) or ""


def memo_with_number(document: Document) -> str:
    """The Memo holds the full document number (RefNumber holds only its first 11 characters): the duplicate
    check compares it, exactly as Connex does."""
    number = " ".join(limits.to_latin1(document.doc_number).split())
    memo = limits.clip(document.memo, limits.MEMO - len(number) - 4)
    if memo and memo_mentions(memo, number):
        return memo
    return f"{memo} (#{number})" if memo else f"#{number}"


def memo_mentions(memo: str | None, number: str) -> bool:
    """True when ``memo`` carries ``number`` as a whole token (so "LW-1001" does not match "LW-10011")."""
    if not memo or not number:
        return False
    return re.search(r"(?<![\w-])" + re.escape(number) + r"(?![\w-])", memo) is not None


@dataclass(frozen=True)
class PoLineLink:
    """A line of the purchase order a bill settles: the bill line with the same item links to it."""

    txn_id: str
    txn_line_id: str
    item_name: str


@dataclass(frozen=True)
class InvoiceLink:
    """The invoice a payment applies to, as QuickBooks holds it: its TxnID and what it still owes."""

    txn_id: str
    balance: Decimal


#: Line kinds posted to one of Connex's own items (Other Charge items it creates when missing)
OWN_ITEM_KINDS = ("shipping", "rounding", "discount")


class QbxmlBuilder:
    """Builds ``*Rq`` elements from mapped documents with the connector's item and account settings."""

    def __init__(
        self,
        *,
        shipping_item: str | None = None,
        rounding_item: str | None = None,
        discount_item: str | None = None,
        discount_account: str | None = None,
        income_account: str | None = None,
        expense_account: str | None = None,
        tax: DesktopTax | None = None,
        sku_map: dict[str, str] | None = None,
    ):
        self.tax = tax or DesktopTax()
        #: the company file's codes and tax items, read at the start of the session (None: not read)
        self.company_tax: CompanyTax | None = None
        self.resolved: dict[str, str] = {}  # SKU (casefolded) -> item full name found by part number
        self.sku_map = sku_map or {}  # SKU (casefolded) -> item full name, from the SKU map CSV
        self.shipping_item = shipping_item
        self.rounding_item = rounding_item
        self.discount_item = discount_item
        self.discount_account = discount_account or income_account
        self.income_account = income_account
        self.expense_account = expense_account

    # --- names -------------------------------------------------------------------------------------------
    def line_item(self, document: Document, index: int, line: Line) -> str:
        """Which QuickBooks item a line posts to; a DocumentError naming the line when there is none."""
        if line.kind == "shipping":
            raw = line.item_name or self.shipping_item
            what = "shipping line needs an item (set shipping_item in the target config or map item_name)"
        elif line.kind == "rounding":
            raw = line.item_name or self.rounding_item
            what = "rounding line needs an item (set rounding_item in the target config or map item_name)"
        elif line.kind == "discount":
            raw = line.item_name or self.discount_item
            what = "discount line needs an item (set discount_item in the target config or map item_name)"
        else:
            found = self.resolved.get(line.sku.casefold()) if self.by_part_number(line) else None
            if found:
                return found  # the full name QuickBooks itself gave: used as it is
            raw = self.mapped_line_item(line) or line.item_name or line.sku
            what = f"{line.kind} line has neither item_name nor sku"
        name = item_ref_name(raw) if raw else ""
        if not name:
            raise DocumentError(what, where=_where(document, f"lines[{index}]"))
        return name

    def by_part_number(self, line: Line) -> bool:
        """True for an item line whose item is found by the SKU itself (not a SKU map entry or a rule's item):
        the lines item_matching sku / sku_then_name looks up by Manufacturer's Part Number."""
        return (line.kind == "item" and bool(line.sku) and not (line.item_name and line.item_name != line.sku)
                and self.mapped_item(line.sku) is None)

    def mapped_item(self, sku: str | None) -> str | None:
        """The item the SKU map names for ``sku``, if any."""
        return self.sku_map.get(sku.casefold()) if sku else None

    def mapped_line_item(self, line: Line) -> str | None:
        """The SKU map's item for an item line, unless a rule named another item than the SKU itself."""
        if line.kind != "item" or (line.item_name and line.item_name != line.sku):
            return None
        return self.mapped_item(line.sku)

    def item_names(self, document: Document) -> list[str]:
        """Distinct item names a document references, in first-use order."""
        seen: dict[str, None] = {}
        for index, line in enumerate(document.lines):
            seen.setdefault(self.line_item(document, index, line), None)
        return list(seen)

    # --- lists -------------------------------------------------------------------------------------------
    def customer_add(self, request_id: str, party: Party, currency: str | None) -> etree._Element:
        return self._party_add("Customer", "BillAddress", request_id, party, currency)

    def vendor_add(self, request_id: str, party: Party, currency: str | None) -> etree._Element:
        return self._party_add("Vendor", "VendorAddress", request_id, party, currency)

    def _party_add(
        self, role: str, address_tag: str, request_id: str, party: Party, currency: str | None
    ) -> etree._Element:
        """CustomerAdd and VendorAdd share their shape but for the names of the request and the main address."""
        rq = etree.Element(f"{role}AddRq", requestID=request_id)
        add = etree.SubElement(rq, f"{role}Add")
        self._party_fields(add, party, address_tag)
        _address(add, "ShipAddress", party.shipping_address)
        _sub(add, "Phone", limits.clip(party.phone, limits.PHONE))
        _sub(add, "Email", limits.clip(party.email, limits.EMAIL))
        _ref(add, "CurrencyRef", currency, limits.CURRENCY_REF)  # the last child of both
        return rq

    @staticmethod
    def _party_fields(add: etree._Element, party: Party, address_tag: str) -> None:
        _sub(add, "Name", party_name(party))
        _sub(add, "CompanyName", limits.clip(party.company, limits.NAME))
        _sub(add, "FirstName", limits.clip(party.first_name, limits.FIRST_LAST))
        _sub(add, "LastName", limits.clip(party.last_name, limits.FIRST_LAST))
        _address(add, address_tag, party.billing_address)

    @staticmethod
    def tax_lists_query(request_id: str, part: str) -> etree._Element:
        """One of the session's reads of the company's tax set-up: ``codes`` (SalesTaxCodeQuery), ``items``
        (ItemSalesTaxQuery) or ``groups`` (ItemSalesTaxGroupQuery), active ones only (the default filter)."""
        name = {"codes": "SalesTaxCodeQueryRq", "items": "ItemSalesTaxQueryRq",
                "groups": "ItemSalesTaxGroupQueryRq"}[part]
        return etree.Element(name, requestID=request_id)

    def item_query(self, request_id: str, names: Sequence[str]) -> etree._Element:
        rq = etree.Element("ItemQueryRq", requestID=request_id)
        for name in names:
            _sub(rq, "FullName", name)
        return rq

    def item_non_inventory_add(self, request_id: str, name: str, description: str | None,
                               part_number: str | None = None) -> etree._Element:
        """A non-inventory item for a SKU QuickBooks does not know (``missing_items: create_non_inventory``).
        With an expense account it is bought and sold (SalesAndPurchase), otherwise only sold. ``part_number``:
        the SKU, as Manufacturer's Part Number (item_matching sku), so the next look-up finds the item."""
        rq = etree.Element("ItemNonInventoryAddRq", requestID=request_id)
        add = etree.SubElement(rq, "ItemNonInventoryAdd")
        _sub(add, "Name", limits.clip(name, limits.ITEM_NAME))
        _sub(add, "ManufacturerPartNumber", limits.clip(part_number, limits.ITEM_NAME))
        desc = limits.clip(description, limits.DESC)
        if self.expense_account:
            both = etree.SubElement(add, "SalesAndPurchase")
            _sub(both, "SalesDesc", desc)
            _ref(both, "IncomeAccountRef", self.income_account)
            _sub(both, "PurchaseDesc", desc)
            _ref(both, "ExpenseAccountRef", self.expense_account)
        else:
            one = etree.SubElement(add, "SalesOrPurchase")
            _sub(one, "Desc", desc)
            _ref(one, "AccountRef", self.income_account)
        return rq

    def item_other_charge_add(self, request_id: str, name: str, own: str) -> etree._Element:
        """One of Connex's own items (``own``: shipping, rounding or discount), as an Other Charge item sold to
        the income account (a discount item: to the discount account). The XSD leaves AccountRef optional but
        QuickBooks cannot post a sale to an item without one, so its absence is the user's to fix."""
        account = self.discount_account if own == "discount" else self.income_account
        if not account:
            key = "discount_account or income_account" if own == "discount" else "income_account"
            raise DocumentError(f"item {name!r} is not in QuickBooks and Connex cannot create it without an "
                                f"account: set {key} in the target config, or name an existing item in {own}_item")
        rq = etree.Element("ItemOtherChargeAddRq", requestID=request_id)
        add = etree.SubElement(rq, "ItemOtherChargeAdd")
        _sub(add, "Name", limits.clip(name, limits.ITEM_NAME))
        one = etree.SubElement(add, "SalesOrPurchase")
        _sub(one, "Desc", f"{own.capitalize()} (created by Connex)")
        _ref(one, "AccountRef", account)
        return rq

    def item_catalogue_query(self, request_id: str, *, iterator_id: str | None = None,
                             max_returned: int = 100) -> etree._Element:
        """One page of every active item's full name and Manufacturer's Part Number (item_matching sku):
        ItemQuery has no filter by part number, so the list is read and matched in Connex."""
        if iterator_id:
            rq = etree.Element("ItemQueryRq", requestID=request_id, iterator="Continue", iteratorID=iterator_id)
        else:
            rq = etree.Element("ItemQueryRq", requestID=request_id, iterator="Start")
        _sub(rq, "MaxReturned", str(max_returned))
        _sub(rq, "ActiveStatus", "ActiveOnly")
        for element in ("ListID", "FullName", "ManufacturerPartNumber"):
            _sub(rq, "IncludeRetElement", element)
        return rq

    def with_items(self, resolved: dict[str, str]) -> QbxmlBuilder:
        """This builder, with item lines posting to the items a part-number look-up found (SKU casefolded ->
        full name)."""
        clone = copy.copy(self)
        clone.resolved = dict(resolved)
        return clone

    def item_inventory_query(
        self, request_id: str, *, iterator_id: str | None = None, max_returned: int = 100
    ) -> etree._Element:
        """One page of the stock flow: ``iterator="Start"`` first, then ``Continue`` with the iteratorID."""
        if iterator_id:
            rq = etree.Element(
                "ItemInventoryQueryRq", requestID=request_id, iterator="Continue", iteratorID=iterator_id
            )
        else:
            rq = etree.Element("ItemInventoryQueryRq", requestID=request_id, iterator="Start")
        _sub(rq, "MaxReturned", str(max_returned))
        _sub(rq, "ActiveStatus", "All")
        for element in ("ListID", "Name", "FullName", "QuantityOnHand"):
            _sub(rq, "IncludeRetElement", element)
        return rq

    # --- duplicate checks ------------------------------------------------------------------------------
    def txn_query(
        self, request_id: str, document: Document, *, include_lines: bool = False
    ) -> etree._Element:
        """Look the document up by RefNumber (its first 11 characters, 20 for bills) before adding it."""
        txn, limit = TXN_TYPES[document.kind]
        rq = etree.Element(f"{txn}QueryRq", requestID=request_id)
        _sub(rq, "RefNumber", limits.ref_number(document.doc_number, limit))
        if include_lines:
            _sub(rq, "IncludeLineItems", "true")
        else:
            for element in ("TxnID", "RefNumber", "Memo"):
                _sub(rq, "IncludeRetElement", element)
        return rq

    def purchase_order_lines_query(self, request_id: str, po_number: str) -> etree._Element:
        """The purchase order a bill settles, with its lines, so each bill line can link to its PO line."""
        rq = etree.Element("PurchaseOrderQueryRq", requestID=request_id)
        _sub(rq, "RefNumber", limits.ref_number(po_number, limits.REF_NUMBER))
        _sub(rq, "IncludeLineItems", "true")
        return rq

    def txn_by_id(self, request_id: str, kind: str, txn_id: str, *, linked: bool = False) -> etree._Element:
        """A transaction by TxnID (TxnQuery group: TxnID, then IncludeLinkedTxns): its EditSequence before a
        Mod, or an invoice's linked payments before it is voided."""
        txn = TXN_TYPES[kind][0]
        rq = etree.Element(f"{txn}QueryRq", requestID=request_id)
        _sub(rq, "TxnID", txn_id)
        if linked:
            _sub(rq, "IncludeLinkedTxns", "true")
        return rq

    def txn_void(self, request_id: str, kind: str, txn_id: str) -> etree._Element:
        """TxnVoidRq: TxnVoidType, TxnID (qbxml130.xsd group TxnVoid)."""
        rq = etree.Element("TxnVoidRq", requestID=request_id)
        _sub(rq, "TxnVoidType", TXN_TYPES[kind][0])
        _sub(rq, "TxnID", txn_id)
        return rq

    def txn_del(self, request_id: str, txn_type: str, txn_id: str) -> etree._Element:
        """TxnDelRq: TxnDelType, TxnID (group TxnDel). A received payment cannot be voided (ReceivePayment is not
        a TxnVoidType), only deleted."""
        rq = etree.Element("TxnDelRq", requestID=request_id)
        _sub(rq, "TxnDelType", txn_type)
        _sub(rq, "TxnID", txn_id)
        return rq

    def document_mod(self, request_id: str, document: Document, txn_id: str, edit_sequence: str) -> etree._Element:
        """``<Txn>ModRq``: the document's Add turned into a Mod (TxnID and EditSequence first, the same header
        fields in the same order, which the Mod aggregates share with the Adds for what Connex sends), every line
        sent as a new line (TxnLineID -1): QuickBooks then drops the lines the Mod leaves out, so the
        transaction ends up with exactly the new lines."""
        if document.kind not in ("sales_receipt", "invoice", "credit_memo", "refund_receipt"):
            raise DocumentError(f"QuickBooks Desktop: a {document.kind.replace('_', ' ')} is not updated in place",
                                where=_where(document, "kind"))
        add_rq = self.document_add(request_id, document)
        txn = TXN_TYPES[document.kind][0]
        rq = etree.Element(f"{txn}ModRq", requestID=request_id)
        mod = etree.SubElement(rq, f"{txn}Mod")
        _sub(mod, "TxnID", txn_id)
        _sub(mod, "EditSequence", edit_sequence)
        for child in list(add_rq.find(f"{txn}Add")):
            if child.tag == f"{txn}LineAdd":
                child.tag = f"{txn}LineMod"
                line_id = etree.Element("TxnLineID")
                line_id.text = "-1"
                child.insert(0, line_id)
            mod.append(child)
        return rq

    PAYOUT_TXN = {"credit_card": "ARRefundCreditCard", "check": "Check"}

    def payout_query(self, request_id: str, document: Document, method: str) -> etree._Element:
        """Whether the refund's cheque or card refund is in QuickBooks already (RefNumber, then its Memo)."""
        rq = etree.Element(f"{self.PAYOUT_TXN[method]}QueryRq", requestID=request_id)
        _sub(rq, "RefNumber", limits.ref_number(document.doc_number))
        for element in ("TxnID", "RefNumber", "Memo"):
            _sub(rq, "IncludeRetElement", element)
        return rq

    def payout_add(self, request_id: str, document: RefundDocument, method: str, account: str,
                   credit_txn_id: str) -> etree._Element:
        """The money of a refund going back, applied to its credit memo so no credit stays open:
        ARRefundCreditCardAdd (CustomerRef, RefundFromAccountRef, TxnDate, RefNumber, PaymentMethodRef, Memo,
        ExchangeRate, RefundAppliedToTxnAdd{TxnID, RefundAmount}) or CheckAdd (AccountRef, PayeeEntityRef,
        RefNumber, TxnDate, Memo, ExchangeRate, ApplyCheckToTxnAdd{TxnID, Amount}), in qbxml130.xsd order."""
        amount = limits.amount(abs(document.total))
        customer = self._party(document, document.customer, "customer")
        if method == "credit_card":
            rq = etree.Element("ARRefundCreditCardAddRq", requestID=request_id)
            add = etree.SubElement(rq, "ARRefundCreditCardAdd")
            _ref(add, "CustomerRef", customer)
            _ref(add, "RefundFromAccountRef", account)
            _sub(add, "TxnDate", _date(document.txn_date))
            _sub(add, "RefNumber", limits.ref_number(document.doc_number))
            _sub(add, "Memo", memo_with_number(document))
            _sub(add, "ExchangeRate", _rate(document.exchange_rate))
            applied = etree.SubElement(add, "RefundAppliedToTxnAdd")
            _sub(applied, "TxnID", credit_txn_id)
            _sub(applied, "RefundAmount", amount)
            return rq
        rq = etree.Element("CheckAddRq", requestID=request_id)
        add = etree.SubElement(rq, "CheckAdd")
        _ref(add, "AccountRef", account)
        _ref(add, "PayeeEntityRef", customer)
        _sub(add, "RefNumber", limits.ref_number(document.doc_number))
        _sub(add, "TxnDate", _date(document.txn_date))
        _sub(add, "Memo", memo_with_number(document))
        _sub(add, "ExchangeRate", _rate(document.exchange_rate))
        applied = etree.SubElement(add, "ApplyCheckToTxnAdd")
        _sub(applied, "TxnID", credit_txn_id)
        _sub(applied, "Amount", amount)
        return rq

    def invoice_query(self, request_id: str, invoice_number: str) -> etree._Element:
        """The invoice a payment applies to: its TxnID and open balance (InvoiceQueryRq, TxnQuery group)."""
        rq = etree.Element("InvoiceQueryRq", requestID=request_id)
        _sub(rq, "RefNumber", limits.ref_number(invoice_number, limits.REF_NUMBER))
        for element in ("TxnID", "CustomerRef", "RefNumber", "BalanceRemaining", "Memo"):
            _sub(rq, "IncludeRetElement", element)
        return rq

    # --- transactions ----------------------------------------------------------------------------------
    def document_add(
        self, request_id: str, document: Document, po_links: Sequence[PoLineLink] = (),
        invoice: InvoiceLink | None = None, income_accounts: dict[str, str] | None = None,
    ) -> etree._Element:
        if document.kind == "payment":
            return self.receive_payment_add(request_id, document, invoice)  # type: ignore[arg-type]
        if document.kind in ("sales_receipt", "invoice"):
            return self.sales_add(request_id, document)  # type: ignore[arg-type]
        if document.kind in ("credit_memo", "refund_receipt"):
            return self.credit_memo_add(request_id, document)  # type: ignore[arg-type]
        if document.kind == "purchase_order":
            return self.purchase_order_add(request_id, document)  # type: ignore[arg-type]
        if document.kind == "bill":
            return self.bill_add(request_id, document, po_links)  # type: ignore[arg-type]
        if document.kind == "journal_entry":
            from connex_quickbooks_desktop.journal import journal_add  # journal.py builds on this module

            return journal_add(self, request_id, document, income_accounts)  # type: ignore[arg-type]
        raise DocumentError(
            f"QuickBooks Desktop cannot post a {document.kind!r}", where=_where(document, "kind")
        )

    def sales_add(self, request_id: str, document: SalesDocument) -> etree._Element:
        txn = "SalesReceipt" if document.kind == "sales_receipt" else "Invoice"
        rq = etree.Element(f"{txn}AddRq", requestID=request_id)
        add = etree.SubElement(rq, f"{txn}Add")
        _ref(add, "CustomerRef", self._party(document, document.customer, "customer"))
        _ref(add, "ClassRef", document.class_name)
        _sub(add, "TxnDate", _date(document.txn_date))
        _sub(add, "RefNumber", limits.ref_number(document.doc_number))
        _address(add, "BillAddress", document.billing_address)
        _address(add, "ShipAddress", document.shipping_address)
        if txn == "SalesReceipt":
            _ref(add, "PaymentMethodRef", document.payment_method, 31)
            _sub(add, "ShipDate", _date(document.ship_date))
            _ref(add, "ShipMethodRef", document.ship_via, limits.SHIP_METHOD)
        else:
            # an invoice is paid later: InvoiceAdd has no PaymentMethodRef (qbxml130.xsd), but terms
            _sub(add, "PONumber", limits.clip(document.source_reference, 25))
            _ref(add, "TermsRef", document.terms, limits.TERMS)
            _sub(add, "ShipDate", _date(document.ship_date))
            _ref(add, "ShipMethodRef", document.ship_via, limits.SHIP_METHOD)
        # XSD order: ItemSalesTaxRef comes right before Memo in both SalesReceiptAdd and InvoiceAdd
        _ref(add, "ItemSalesTaxRef", self.tax.header_item(document, self.company_tax), 31)
        _sub(add, "Memo", memo_with_number(document))
        self._tax_header(add, document)
        if txn == "SalesReceipt":
            _ref(add, "DepositToAccountRef", document.deposit_account)
            _sub(add, "Other", limits.clip(document.source_reference, 29))
        else:
            _sub(add, "Other", limits.clip(document.source_reference, 29))
        _sub(add, "ExchangeRate", _rate(document.exchange_rate))
        self._sales_lines(add, f"{txn}LineAdd", document, document.tax_code)
        return rq

    def receive_payment_add(
        self, request_id: str, document: PaymentDocument, invoice: InvoiceLink | None
    ) -> etree._Element:
        """ReceivePaymentAdd in qbxml130.xsd order: CustomerRef, TxnDate, RefNumber(20), TotalAmount,
        ExchangeRate, PaymentMethodRef, Memo, DepositToAccountRef, then AppliedToTxnAdd (TxnID, PaymentAmount).
        The amount applied never exceeds what the invoice still owes (QuickBooks refuses that with 3210); any
        excess stays on the payment as the customer's credit. No DepositToAccountRef: Undeposited Funds."""
        if invoice is None:
            raise DocumentError("the invoice this payment applies to is not known yet",
                                where=_where(document, "invoice_number"))
        rq = etree.Element("ReceivePaymentAddRq", requestID=request_id)
        add = etree.SubElement(rq, "ReceivePaymentAdd")
        _ref(add, "CustomerRef", self._party(document, document.customer, "customer"))
        _sub(add, "TxnDate", _date(document.txn_date))
        _sub(add, "RefNumber", limits.ref_number(document.doc_number, limits.PAYMENT_REF_NUMBER))
        _sub(add, "TotalAmount", limits.amount(document.total))
        _sub(add, "ExchangeRate", _rate(document.exchange_rate))
        _ref(add, "PaymentMethodRef", document.payment_method, 31)
        _sub(add, "Memo", memo_with_number(document))
        _ref(add, "DepositToAccountRef", document.deposit_account)
        applied = etree.SubElement(add, "AppliedToTxnAdd")
        _sub(applied, "TxnID", invoice.txn_id)
        _sub(applied, "PaymentAmount", limits.amount(min(document.total, invoice.balance)))
        return rq

    def credit_memo_add(self, request_id: str, document: RefundDocument) -> etree._Element:
        rq = etree.Element("CreditMemoAddRq", requestID=request_id)
        add = etree.SubElement(rq, "CreditMemoAdd")
        _ref(add, "CustomerRef", self._party(document, document.customer, "customer"))
        _ref(add, "ClassRef", document.class_name)
        _sub(add, "TxnDate", _date(document.txn_date))
        _sub(add, "RefNumber", limits.ref_number(document.doc_number))
        _sub(add, "PONumber", limits.clip(document.original_doc_number, 25))
        _ref(add, "ItemSalesTaxRef", self.tax.header_item(document, self.company_tax), 31)
        _sub(add, "Memo", memo_with_number(document))
        self._tax_header(add, document)
        _sub(add, "ExchangeRate", _rate(document.exchange_rate))
        self._sales_lines(add, "CreditMemoLineAdd", document, None)
        return rq

    def _sales_lines(
        self,
        add: etree._Element,
        tag: str,
        document: Document,
        default_tax: str | None,
        *,
        inventory_site: bool = True,
    ) -> None:
        """Item lines in schema order; purchase order lines are the same but for the inventory site."""
        if not document.lines:
            raise DocumentError(f"{document.kind.replace('_', ' ')} has no lines", where=_where(document, "lines"))
        for index, (line, amount, tax) in enumerate(self._amounts(document)):
            node = etree.SubElement(add, tag)
            _ref(node, "ItemRef", self.line_item(document, index, line))
            _sub(node, "Desc", limits.clip(line.description, limits.DESC))
            if line.kind == "item":
                _sub(node, "Quantity", limits.quantity(line.quantity))
                _sub(node, "Rate", limits.price(line.unit_price if amount == line.amount
                                                else amount / (line.quantity or 1)))
            _ref(node, "ClassRef", line.class_name)
            _sub(node, "Amount", limits.amount(amount))
            if tax:
                _sub(node, "TaxAmount", limits.amount(tax))
            if inventory_site:
                _ref(node, "InventorySiteRef", line.inventory_site, 31)
            code = self.tax.line_code(document, index, line, default_tax or document.tax_code, self.company_tax)
            _ref(node, "SalesTaxCodeRef", code, limits.TAX_CODE)

    def _tax_header(self, add: etree._Element, document: Document) -> None:
        """IsTaxIncluded and the transaction's customer tax code, where the XSD puts them (after Memo and the
        print/email flags, before DepositToAccountRef / Other / ExchangeRate)."""
        if self.tax.tax_included(document):
            _sub(add, "IsTaxIncluded", "true")
        _ref(add, "CustomerSalesTaxCodeRef", self.tax.customer_code(document, self.company_tax), limits.TAX_CODE)

    def _amounts(self, document: Document) -> list[tuple[Line, Decimal, Decimal]]:
        """(line, Amount, TaxAmount) per line: gross amounts when the file takes them tax-included; a refund's
        lines are gross already and leave the tax to QuickBooks' own computation."""
        included = self.tax.tax_included(document)
        out = []
        if self.tax.model == "us" and isinstance(document, PurchaseDocument):
            # a US file's tax codes are sales tax: the tax a supplier charged is part of what the goods cost (as
            # on QuickBooks Online, tax.md §1 "US model"); tax on the order as a whole joins the largest line
            out = [(ln, ln.amount + (ln.tax_amount if ln.kind != "discount" else 0), Decimal(0))
                   for ln in document.lines]
            left = document.total_tax - sum((ln.tax_amount for ln in document.lines if ln.kind != "discount"),
                                            Decimal(0))
            if left and out:
                i = max(range(len(out)), key=lambda n: abs(out[n][1]))
                out[i] = (out[i][0], out[i][1] + left, Decimal(0))
            return out
        for line, tax in zip(document.lines, self.tax.line_taxes(document)):
            if line.tax_included and line.tax_rate and self.tax.model == "us":
                # a US file adds tax to the taxable lines: the net goes, and QuickBooks computes the tax
                net = (line.amount * 100 / (100 + Decimal(line.tax_rate))).quantize(Decimal("0.01"),
                                                                                   rounding=ROUND_HALF_UP)
                out.append((line, net, Decimal(0)))
            elif line.tax_included:
                out.append((line, line.amount, Decimal(0)))
            elif included:
                out.append((line, line.amount + tax, tax))
            else:
                out.append((line, line.amount, tax))
        if self.tax.model == "us" and self.company_tax is not None:
            return self._us_total_kept(document, out)
        return out

    def _us_total_kept(self, document: Document, out: list) -> list:
        """A US file computes its own tax, once, on the taxable subtotal; where Linnworks rounded each line's
        tax on its own the two can be a cent apart. The difference goes into a line's amount (an untaxed one
        when there is one), so the transaction's total is still Linnworks'; the tax is QuickBooks'."""
        rate = self.company_tax.rate(self.tax.header_item(document, self.company_tax))
        taxable_code = self.tax.us_code(self.company_tax, taxed=True)
        if rate is None or self.tax.customer_code(document, self.company_tax) != taxable_code:
            return out
        taxable = [i for i, (line, _, _) in enumerate(out) if self.tax.taxed(line)]
        untaxed = [i for i in range(len(out)) if i not in taxable]

        def quickbooks_tax(rows) -> Decimal:
            base = sum((rows[i][1] for i in taxable), Decimal(0))
            return (base * rate / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)

        if not document.total:
            return out
        # the tax that makes QuickBooks' total the source's (a refund's lines went net: what they left out)
        target = document.total - sum((amount for _, amount, _ in out), Decimal(0))
        gap = target - quickbooks_tax(out)
        if not gap or abs(gap) > Decimal("0.01") * len(out):
            return out
        total = document.total
        i = max(untaxed or taxable, key=lambda n: abs(out[n][1]))
        # the smallest change of that line's amount that makes amounts plus QuickBooks' tax the source's total
        # (a cent into a taxed line moves its tax by a fraction of a cent, now and then by one)
        for cents in sorted(range(-3 * len(out), 3 * len(out) + 1), key=lambda n: (abs(n - gap * 100), n)):
            moved = list(out)
            moved[i] = (out[i][0], out[i][1] + Decimal(cents) / 100, out[i][2])
            if sum((amount for _, amount, _ in moved), Decimal(0)) + quickbooks_tax(moved) == total:
                return moved
        if self.rounding_item is None:
            return out
        # every line taxed and no cent in them lands the total: an untaxed rounding line carries the difference
        # (the connector queues the rounding item for every taxed US document, so it is there)
        rounding = Line(kind="rounding", item_name=self.rounding_item, description="Rounding",
                        quantity=Decimal(1), unit_price=gap, amount=gap)
        return [*out, (rounding, gap, Decimal(0))]

    def purchase_order_add(self, request_id: str, document: PurchaseDocument) -> etree._Element:
        rq = etree.Element("PurchaseOrderAddRq", requestID=request_id)
        add = etree.SubElement(rq, "PurchaseOrderAdd")
        _ref(add, "VendorRef", self._party(document, document.vendor, "vendor"))
        _ref(add, "ClassRef", document.class_name)
        _sub(add, "TxnDate", _date(document.txn_date))
        _sub(add, "RefNumber", limits.ref_number(document.doc_number))
        _sub(add, "ExpectedDate", _date(document.due_date))
        _sub(add, "Memo", memo_with_number(document))
        if self.tax.tax_included(document):
            _sub(add, "IsTaxIncluded", "true")
        _sub(add, "ExchangeRate", _rate(document.exchange_rate))
        self._sales_lines(add, "PurchaseOrderLineAdd", document, None, inventory_site=False)
        return rq

    def bill_add(
        self, request_id: str, document: PurchaseDocument, po_links: Sequence[PoLineLink]
    ) -> etree._Element:
        """A bill; each item line links (LinkToTxn) to the first unused line of the same item on the purchase
        order it settles, so QuickBooks marks the PO received instead of leaving it open beside the bill."""
        rq = etree.Element("BillAddRq", requestID=request_id)
        add = etree.SubElement(rq, "BillAdd")
        _ref(add, "VendorRef", self._party(document, document.vendor, "vendor"))
        _sub(add, "TxnDate", _date(document.txn_date))
        _sub(add, "DueDate", _date(document.due_date))
        _sub(add, "RefNumber", limits.ref_number(document.doc_number, limits.BILL_REF_NUMBER))
        _sub(add, "Memo", memo_with_number(document))
        if self.tax.tax_included(document):
            _sub(add, "IsTaxIncluded", "true")
        _sub(add, "ExchangeRate", _rate(document.exchange_rate))
        if not document.lines:
            raise DocumentError("bill has no lines", where=_where(document, "lines"))
        unused = list(po_links)
        for index, (line, amount, tax) in enumerate(self._amounts(document)):
            item = self.line_item(document, index, line)
            node = etree.SubElement(add, "ItemLineAdd")
            _ref(node, "ItemRef", item)
            _ref(node, "InventorySiteRef", line.inventory_site, 31)
            _sub(node, "Desc", limits.clip(line.description, limits.DESC))
            if line.kind == "item":
                _sub(node, "Quantity", limits.quantity(line.quantity))
                _sub(node, "Cost", limits.price(line.unit_price if amount == line.amount
                                                else amount / (line.quantity or 1)))
            _sub(node, "Amount", limits.amount(amount))
            if tax:
                _sub(node, "TaxAmount", limits.amount(tax))
            # BillAdd has no header ClassRef (qbxml130.xsd): the document's class goes on its lines
            _ref(node, "ClassRef", line.class_name or document.class_name)
            code = self.tax.line_code(document, index, line, document.tax_code, self.company_tax)
            _ref(node, "SalesTaxCodeRef", code, limits.TAX_CODE)
            link = next((p for p in unused if p.item_name.lower() == item.lower()), None)
            if link is not None:
                unused.remove(link)
                node_link = etree.SubElement(node, "LinkToTxn")
                _sub(node_link, "TxnID", link.txn_id)
                _sub(node_link, "TxnLineID", link.txn_line_id)
        return rq

    @staticmethod
    def _party(document: Document, party: Party | None, role: str) -> str:
        if party is None:
            raise DocumentError(f"document has no {role}", where=_where(document, role))
        try:
            return party_name(party)
        except DocumentError as exc:
            raise DocumentError(exc.message, where=_where(document, role)) from exc


def _rate(value: Decimal | None) -> str | None:
    if value is None:
        return None
    return format(Decimal(value).normalize(), "f")


def _where(document: Document, field: str) -> DocumentRef:
    return DocumentRef(document.kind, document.source_id, field, document.doc_number)


def message_set(requests: Iterable[etree._Element], *, on_error: str = "continueOnError") -> str:
    """A complete qbXML request document: XML declaration, ``<?qbxml version?>`` and one QBXMLMsgsRq.
    ``continueOnError`` so one failing document does not stop the others in the same round trip."""
    root = etree.Element("QBXML")
    msgs = etree.SubElement(root, "QBXMLMsgsRq", onError=on_error)
    for request in requests:
        msgs.append(request)
    body = etree.tostring(root, encoding="unicode")
    return f'<?xml version="1.0" encoding="utf-8"?>\n<?qbxml version="{QBXML_VERSION}"?>\n{body}'
