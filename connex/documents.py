"""The canonical documents: what mappings produce and what target connectors post.

A source connector yields raw-but-normalised records in the source system's own shape (Linnworks field names,
``Decimal`` money, ``None`` for sentinel dates). Mappings and rules turn each record into one of these documents,
which are target-neutral: the QuickBooks Online connector turns them into JSON, the Desktop connector into qbXML.
Money is always ``Decimal`` already rounded to the currency's places; dates are ``datetime.date``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

SalesKind = Literal["sales_receipt", "invoice"]
DocumentKind = Literal["sales_receipt", "invoice", "purchase_order", "bill", "refund_receipt", "credit_memo",
                       "payment", "credit_application", "journal_entry"]
LineKind = Literal["item", "shipping", "discount", "rounding"]


@dataclass
class Address:
    line1: str | None = None
    line2: str | None = None
    line3: str | None = None
    city: str | None = None
    region: str | None = None
    postal_code: str | None = None
    country: str | None = None
    country_code: str | None = None  # ISO 3166-1 alpha-2, derived from ``country``


@dataclass
class Party:
    """A customer (sales side) or a vendor (purchase side). ``display_name`` is the matching key."""

    display_name: str
    currency: str | None = None
    company: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    billing_address: Address | None = None
    shipping_address: Address | None = None


@dataclass
class Line:
    """A document line. ``amount`` is the line total before tax; ``unit_price`` times ``quantity``
    equals ``amount`` up to rounding of the unit price. ``tax_amount`` is the tax the source charged on the line
    and ``tax_rate`` its percentage (20 for 20%), from which a target derives the line's tax code unless
    ``tax_code`` names one (by the name the bookkeeper sees in the target, never an Id)."""

    kind: LineKind = "item"
    sku: str | None = None
    description: str | None = None
    quantity: Decimal = Decimal(1)
    unit_price: Decimal = Decimal(0)
    amount: Decimal = Decimal(0)
    tax_amount: Decimal = Decimal(0)
    tax_code: str | None = None
    tax_rate: Decimal | None = None
    #: ``amount`` includes ``tax_rate``% tax the source did not split out (a Linnworks refund gives only what went
    #: back to the buyer); a target that records tax splits it into net and tax, others post it as it is
    tax_included: bool = False
    class_name: str | None = None
    item_name: str | None = None  # the target item to use for shipping/discount/rounding lines
    manufacturer: str | None = None
    inventory_site: str | None = None
    source_line_id: str | None = None


@dataclass
class Document:
    """Fields every posted document shares."""

    kind: DocumentKind
    source_id: str
    doc_number: str
    txn_date: dt.date | None
    currency: str
    lines: list[Line] = field(default_factory=list)
    exchange_rate: Decimal | None = None
    total_tax: Decimal = Decimal(0)
    total: Decimal = Decimal(0)
    memo: str | None = None
    class_name: str | None = None
    #: the document-wide tax code name (a ``map_tax_code`` rule): every line without a code of its own takes it
    tax_code: str | None = None
    #: the source's prices include tax (gross); lines still carry net ``amount`` and ``tax_amount`` either way
    prices_include_tax: bool = False
    #: ISO 3166-1 alpha-2 country whose tax the source charged (an order's destination): a target whose own tax
    #: has no code at a line's rate books another country's tax outside the scope of its own
    tax_country: str | None = None
    #: the QuickBooks Online location (the API's Department) by name; QuickBooks Desktop has no such list
    department: str | None = None

    @property
    def key(self) -> str:
        """Stable identity of this document across runs: the basis of idempotency keys."""
        return f"{self.kind}:{self.source_id}"


@dataclass
class SalesDocument(Document):
    """A sales receipt or an invoice for one Linnworks order."""

    customer: Party | None = None
    store_name: str | None = None
    ship_date: dt.date | None = None
    billing_address: Address | None = None
    shipping_address: Address | None = None
    deposit_account: str | None = None
    payment_method: str | None = None
    ship_via: str | None = None
    #: the payment terms by name (e.g. "Net 30"): invoices
    terms: str | None = None
    source_reference: str | None = None  # the channel's own order number
    #: the day the buyer paid (Linnworks' paid date of a PAID order); None while unpaid. An invoice of a paid order
    #: gets a payment applied to it (``PaymentDocument``); never hashed, so an order marked paid after its invoice
    #: was posted is not "changed"
    paid_date: dt.date | None = None
    #: with ``sync.posting: summary``: "journal_entry" puts the order into a journal-entry summary (a
    #: ``map_summary_document`` rule); None or "document": a summary of its own kind
    summary_as: str | None = None


@dataclass
class PurchaseDocument(Document):
    """A purchase order, or a bill received against one (``kind == "bill"``)."""

    vendor: Party | None = None
    status: str | None = None
    store_name: str | None = None  # Linnworks location name; None when no location is identified
    due_date: dt.date | None = None
    linked_po_number: str | None = None  # for bills: the purchase order they settle


@dataclass
class RefundDocument(Document):
    """A refund receipt (QuickBooks Online) or credit memo (Desktop) for an actioned refund."""

    customer: Party | None = None
    store_name: str | None = None
    original_doc_number: str | None = None
    deposit_account: str | None = None
    payment_method: str | None = None  # how the money went back (a map_payment_method rule on refunds)
    #: QuickBooks Desktop: how the money goes back once the credit memo is in: "credit_card"
    #: (ARRefundCreditCardAdd) or "check" (CheckAdd), each applied to the credit memo so no credit stays open;
    #: "none" or None: the credit memo only (the connector's ``refund_payout`` decides)
    payout: str | None = None
    summary_as: str | None = None  # as SalesDocument.summary_as


@dataclass
class PaymentDocument(Document):
    """A customer payment applied to the invoice of a paid order (QuickBooks Online ``Payment`` with a
    ``LinkedTxn``, Desktop ``ReceivePaymentAdd`` with ``AppliedToTxnAdd``). ``doc_number`` is the invoice's number,
    ``total`` the amount paid; it has no lines."""

    customer: Party | None = None
    store_name: str | None = None
    invoice_number: str | None = None
    deposit_account: str | None = None
    payment_method: str | None = None


@dataclass
class CreditApplicationDocument(Document):
    """A credit memo settled so no credit stays open: applied to what its order's invoice still owes, and the
    rest (the money went back to the buyer) paid out as ``payout`` says, from ``deposit_account`` or the target's
    refund account. ``doc_number`` is the credit memo's, ``total`` its amount; it has no lines. What is applied and
    what is paid out is decided by the target from the invoice's open balance when it is posted."""

    customer: Party | None = None
    store_name: str | None = None
    credit_number: str | None = None
    invoice_number: str | None = None
    payout: str | None = None
    deposit_account: str | None = None
    payment_method: str | None = None


@dataclass
class JournalDocument(SalesDocument):
    """A summary posted as a journal entry (``connex.sync.summary_journal``): the summed sales lines of its orders
    (or refunds, ``refund``: every side reversed), which a target turns into debits and credits. The gross total
    is debited to ``debit_account`` (the members' shared ``deposit_account``, else ``sync.summary.journal_account``);
    each line is credited to its item's income account (shipping to the shipping item's, rounding to the rounding
    item's), discounts are debited to the discount account, and tax goes where the target's tax model puts it on a
    journal line, or to ``tax_account`` (``sync.summary.tax_account``) where journal lines cannot carry tax."""

    debit_account: str | None = None
    tax_account: str | None = None
    refund: bool = False


@dataclass
class StockLevel:
    """An absolute stock quantity for a SKU at a named source location."""

    sku: str
    level: int
    location_name: str = "Default"


# PostResult.code of a stock level for a SKU the source does not stock: skipped by the inventory flow, not failed
UNKNOWN_SKU = "unknown_sku"


@dataclass
class PostResult:
    """What a target did with one document."""

    key: str
    status: Literal["posted", "exists", "queued", "failed"]
    target_id: str | None = None
    error: str | None = None
    code: str | None = None


_CLASSES = {cls.__name__: cls for cls in (Document, SalesDocument, PurchaseDocument, RefundDocument, PaymentDocument,
                                          CreditApplicationDocument, JournalDocument, StockLevel)}
_NESTED = {"customer": Party, "vendor": Party, "billing_address": Address, "shipping_address": Address}


def to_record(document) -> dict:
    """A document as plain data plus its class name, for storage (see connex.state.codec for the types)."""
    return {"type": type(document).__name__, "data": as_data(document)}


#: Fields added to the contract after ledgers were first written (tax support): left out of the content hash, so
#: an upgrade does not report every posted document as changed. They are derived from the same source fields as
#: the money that the hash does cover (a line's rate with its tax, the inclusive flag with the nets and taxes).
_UNHASHED_LINE_FIELDS = ("tax_rate", "tax_included")
_UNHASHED_FIELDS = ("prices_include_tax", "tax_country", "paid_date")
#: Fields added later still; hashed only when set, so documents that never use them keep their old hashes
_ADDED_WHEN_SET = ("department", "terms", "summary_as")


def hash_record(document) -> dict:
    """``to_record`` minus the fields the content hash has never covered (see ``_UNHASHED_FIELDS``)."""
    record = to_record(document)
    data = record["data"]
    for name in _UNHASHED_FIELDS:
        data.pop(name, None)
    if not isinstance(document, SalesDocument) and data.get("tax_code") is None:
        data.pop("tax_code", None)  # only sales documents had a tax code before
    for name in _ADDED_WHEN_SET + (("payment_method", "payout") if isinstance(document, RefundDocument) else ()):
        if data.get(name) is None:
            data.pop(name, None)  # added later: a document that does not use them keeps its old hash
    for line in data.get("lines") or []:
        for name in _UNHASHED_LINE_FIELDS:
            line.pop(name, None)
    return record


def as_data(value):
    """What ``dataclasses.asdict`` gives, without its deep copy of every leaf: a document's leaves are immutable
    (text, Decimal, dates, numbers), and the copy was most of a sync's own CPU. The content hashes stored in
    ledgers are taken from this form, so it must stay equal to asdict's (tests/sync/test_state.py holds it)."""
    names = _FIELD_NAMES.get(type(value))
    if names is None:
        names = _FIELD_NAMES[type(value)] = _field_names(value)
    if names:
        return {name: field if type(field := getattr(value, name)) in _LEAVES else as_data(field) for name in names}
    if type(value) is list or type(value) is tuple:
        return type(value)(as_data(item) for item in value)
    if isinstance(value, dict):
        return {as_data(key): as_data(item) for key, item in value.items()}
    return value


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}
_LEAVES = frozenset({str, int, float, bool, type(None), Decimal, dt.date, dt.datetime})  # immutable: shared as is


def _field_names(value) -> tuple[str, ...]:
    import dataclasses

    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return tuple(f.name for f in dataclasses.fields(value))
    return ()


def from_record(record: dict):
    """The inverse of ``to_record``."""
    cls = _CLASSES[record["type"]]
    return _build(cls, record["data"])


def _build(cls, data: dict):
    import dataclasses

    values = {}
    names = {f.name for f in dataclasses.fields(cls)}
    for key, value in data.items():
        if key not in names:
            continue
        if key in _NESTED and isinstance(value, dict):
            value = _build(_NESTED[key], value)
        elif key == "lines" and isinstance(value, list):
            value = [_build(Line, line) for line in value]
        values[key] = value
    return cls(**values)
