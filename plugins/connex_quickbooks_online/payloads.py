"""Canonical documents -> QuickBooks Online JSON, written field by field.

No SDK object model sits in between, because the ones that exist inject defaults into every payload
(``ExchangeRate = 1``, ``TaxInclusiveAmt = 0``, ``GlobalTaxCalculation``) and a foreign order then posts at
the wrong rate without anyone noticing. Every key written here is one Intuit's XSD defines (see ``schema``).
Ids are resolved by ``refs`` (the look-up caches) so this module only shapes data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Protocol

from connex.documents import Address, Document, Line, Party, PurchaseDocument, RefundDocument, SalesDocument
from connex.errors import DocumentError, DocumentRef

DOC_NUMBER_MAX = 21
CENT = Decimal("0.01")
UNIT_PRICE_PLACES = Decimal("0.0000001")  # QBO keeps unit prices to 7 places

ENTITY_BY_KIND = {
    "sales_receipt": "SalesReceipt",
    "invoice": "Invoice",
    "purchase_order": "PurchaseOrder",
    "bill": "Bill",
    "refund_receipt": "RefundReceipt",
    "credit_memo": "CreditMemo",
}


class Refs(Protocol):
    """What payloads need resolved to QBO Ids; implemented by ``lookups.Lookups``."""

    def customer(self, party: Party, currency: str, where: DocumentRef) -> dict: ...

    def vendor(self, party: Party, currency: str, where: DocumentRef) -> dict: ...

    def item_for_sku(self, sku: str, where: DocumentRef) -> dict: ...

    def item_named(self, name: str, where: DocumentRef) -> dict: ...

    def account_named(self, name: str, where: DocumentRef) -> dict: ...

    def exchange_rate(self, currency: str, on, where: DocumentRef) -> Decimal: ...


@dataclass(frozen=True)
class Options:
    """Payload choices from the connector config (its schema holds the defaults) and the home currency."""

    home_currency: str
    shipping_item: str
    rounding_item: str
    discount_account: str
    rounding_tolerance: Decimal
    deposit_account: str | None = None
    #: A refund receipt must name the account the money leaves from; without a configured deposit_account,
    #: use the one QuickBooks itself books receipts to when none is given.
    refund_deposit_account: str = "Undeposited Funds"


def money(value: Decimal) -> float:
    """JSON number for an amount already rounded to the cent (2-place decimals survive float repr exactly)."""
    return float(Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP))


def ref(entity: dict) -> dict:
    out = {"value": str(entity["Id"])}
    name = entity.get("DisplayName") or entity.get("Name")
    if name:
        out["name"] = name
    return out


def marker(doc: Document) -> str:
    return f"Connex {doc.key}"


def private_note(doc: Document, *extra: str | None) -> str:
    """The marker ``find_posted`` and duplicate checks look for, then the human context."""
    parts = [marker(doc), *(e for e in extra if e), doc.memo]
    return "; ".join(p for p in parts if p)[:4000]


def carries_marker(note: str | None, doc: Document) -> bool:
    """Whole-marker match, so "sales_receipt:1" never claims the note of "sales_receipt:10"."""
    note = note or ""
    return note == marker(doc) or note.startswith(marker(doc) + "; ")


def where(doc: Document, field: str | None = None) -> DocumentRef:
    return DocumentRef(kind=doc.kind, source_id=doc.source_id, field=field, number=doc.doc_number)


def address(addr: Address | None) -> dict | None:
    if addr is None:
        return None
    out = {
        "Line1": addr.line1,
        "Line2": addr.line2,
        "Line3": addr.line3,
        "City": addr.city,
        "CountrySubDivisionCode": addr.region,
        "PostalCode": addr.postal_code,
        "Country": addr.country,
        "CountryCode": addr.country_code,
    }
    out = {k: v for k, v in out.items() if v}
    return out or None


def party_body(party: Party, currency: str | None) -> dict:
    """Customer or Vendor create body (the two share the NameBase fields used here)."""
    body: dict = {"DisplayName": clean_display_name(party.display_name)}
    if party.company:
        body["CompanyName"] = party.company[:50]
    if party.first_name:
        body["GivenName"] = party.first_name[:100]
    if party.last_name:
        body["FamilyName"] = party.last_name[:100]
    if party.email:
        body["PrimaryEmailAddr"] = {"Address": party.email}
    if party.phone:
        body["PrimaryPhone"] = {"FreeFormNumber": party.phone[:30]}
    if bill := address(party.billing_address):
        body["BillAddr"] = bill
    if ship := address(party.shipping_address):
        body["ShipAddr"] = ship
    if currency:
        body["CurrencyRef"] = {"value": currency}
    return body


def clean_display_name(name: str) -> str:
    """QBO refuses ':' in names (it separates sub-customers); a channel user name like 'shop:uk' should still
    sync, so the colon becomes '-' consistently for look-up and creation alike."""
    return " ".join(name.replace(":", "-").split())[:500]


class PayloadBuilder:
    def __init__(self, refs: Refs, options: Options):
        self.refs = refs
        self.options = options

    # --- shared header -------------------------------------------------------------------------------------
    def _header(self, doc: Document) -> dict:
        if not doc.doc_number:
            raise DocumentError("document number is empty", where=where(doc, "DocNumber"))
        if len(doc.doc_number) > DOC_NUMBER_MAX:
            raise DocumentError(
                f"DocNumber {doc.doc_number!r} is {len(doc.doc_number)} characters; QuickBooks Online allows "
                f"at most {DOC_NUMBER_MAX}",
                where=where(doc, "DocNumber"),
            )
        if not doc.lines:
            raise DocumentError("document has no lines", where=where(doc, "Line"))
        body: dict = {"DocNumber": doc.doc_number, "CurrencyRef": {"value": doc.currency}}
        if doc.txn_date:
            body["TxnDate"] = doc.txn_date.isoformat()
        if doc.currency != self.options.home_currency:
            # QBO silently books a foreign document at 1.0 when ExchangeRate is omitted: the document's own rate,
            # else QuickBooks' rate for its date; never nothing
            rate = doc.exchange_rate
            if rate is not None and rate <= 0:
                raise DocumentError(
                    f"{doc.currency} document has exchange rate {rate}; QuickBooks would book it at 1.0",
                    where=where(doc, "ExchangeRate"),
                )
            if rate is None:
                rate = self.refs.exchange_rate(doc.currency, doc.txn_date, where(doc, "ExchangeRate"))
            body["ExchangeRate"] = float(rate)
        return body

    @staticmethod
    def _tax(doc: Document, sign: int = 1) -> dict:
        return {"TotalTax": money(doc.total_tax * sign)}

    # --- lines ---------------------------------------------------------------------------------------------
    @staticmethod
    def _quantity_and_price(quantity: Decimal, price: Decimal, amount: Decimal) -> tuple[float, float]:
        qty = quantity or Decimal(1)
        # QBO checks Amount == Qty x UnitPrice; a unit price rounded by the channel can break that, so the
        # exact quotient is sent instead (QBO keeps 7 places).
        if (qty * price).quantize(CENT, rounding=ROUND_HALF_UP) != amount:
            price = (amount / qty).quantize(UNIT_PRICE_PLACES, rounding=ROUND_HALF_UP)
        return float(qty), float(price)

    @staticmethod
    def _line(line: Line, amount: Decimal, detail_type: str, detail: dict) -> dict:
        out = {"Amount": money(amount), "DetailType": detail_type, detail_type: detail}
        if line.description:
            out["Description"] = line.description[:4000]
        return out

    def _item_for_line(self, doc: Document, line: Line, index: int) -> dict:
        field = f"Line[{index}].ItemRef"
        if line.kind == "item":
            if not line.sku:
                raise DocumentError("item line without SKU", where=where(doc, field))
            return self.refs.item_for_sku(line.sku, where(doc, field))
        default = {"shipping": self.options.shipping_item, "rounding": self.options.rounding_item}[line.kind]
        return self.refs.item_named(line.item_name or default, where(doc, field))

    def _item_line(self, doc: Document, line: Line, index: int, detail_type: str, sign: int = 1, **extra):
        amount = line.amount * sign
        item = self._item_for_line(doc, line, index)
        qty, price = self._quantity_and_price(line.quantity, line.unit_price * sign, amount)
        detail: dict = {"ItemRef": ref(item), "Qty": qty, "UnitPrice": price, **extra}
        if line.tax_code:
            detail["TaxCodeRef"] = {"value": line.tax_code}
        return self._line(line, amount, detail_type, detail)

    def _discount_account(self, doc: Document, line: Line, index: int, field: str) -> dict:
        # A discount line's item_name names a Desktop discount item; QuickBooks Online books discounts to an
        # account, the configured one.
        return ref(self.refs.account_named(self.options.discount_account, where(doc, f"Line[{index}].{field}")))

    def _sales_line(self, doc: Document, line: Line, index: int, sign: int = 1) -> dict:
        if line.kind == "discount":
            account = self._discount_account(doc, line, index, "DiscountAccountRef")
            detail = {"PercentBased": False, "DiscountAccountRef": account}
            return self._line(line, abs(line.amount), "DiscountLineDetail", detail)
        return self._item_line(doc, line, index, "SalesItemLineDetail", sign)

    def _expense_line(self, doc: Document, line: Line, index: int) -> dict:
        if line.kind == "discount":
            # A supplier discount reduces the cost; expense lines cannot be negative items, so it is booked
            # against the discount account as a negative account line.
            detail = {"AccountRef": self._discount_account(doc, line, index, "AccountRef")}
            return self._line(line, -abs(line.amount), "AccountBasedExpenseLineDetail", detail)
        return self._item_line(doc, line, index, "ItemBasedExpenseLineDetail", BillableStatus="NotBillable")

    def _balanced_lines(self, doc: Document, make: Callable[[Document, Line, int], dict], sign: int = 1):
        """Lines plus, when the source total and QuickBooks' sum differ by at most the tolerance, a rounding
        line for the difference; a larger gap is a mapping error worth failing the document for."""
        lines = list(doc.lines)
        computed = (
            sum((-abs(ln.amount) if ln.kind == "discount" else ln.amount * sign) for ln in lines)
            + doc.total_tax * sign
        )
        target = doc.total * sign
        difference = (target - computed).quantize(CENT)
        # A zero source total means "not given" (a Document's default); QuickBooks' own sum stands.
        if doc.total != 0 and difference != 0:
            if abs(difference) > self.options.rounding_tolerance:
                raise DocumentError(
                    f"lines and tax add up to {computed} but the source total is {target}: a difference of "
                    f"{difference} exceeds the rounding tolerance {self.options.rounding_tolerance}",
                    where=where(doc, "Total"),
                )
            lines.append(
                Line(
                    kind="rounding",
                    description="Rounding",
                    quantity=Decimal(1),
                    unit_price=difference * sign,
                    amount=difference * sign,
                )
            )
        return [make(doc, line, i) for i, line in enumerate(lines)]

    # --- documents -----------------------------------------------------------------------------------------
    def build(self, doc: Document) -> tuple[str, dict]:
        entity = ENTITY_BY_KIND.get(doc.kind)
        if isinstance(doc, SalesDocument) and entity in ("SalesReceipt", "Invoice"):
            return entity, self.sales(doc, entity)
        if isinstance(doc, PurchaseDocument) and entity in ("PurchaseOrder", "Bill"):
            return entity, self.purchase(doc, entity)
        if isinstance(doc, RefundDocument) and entity in ("RefundReceipt", "CreditMemo"):
            return entity, self.refund(doc, entity)
        raise DocumentError(f"cannot post a {type(doc).__name__} as {doc.kind}", where=where(doc))

    def sales(self, doc: SalesDocument, entity: str) -> dict:
        body = self._header(doc)
        if doc.customer is None:
            raise DocumentError("no customer", where=where(doc, "CustomerRef"))
        body["CustomerRef"] = ref(self.refs.customer(doc.customer, doc.currency, where(doc, "CustomerRef")))
        body["PrivateNote"] = private_note(
            doc,
            doc.source_reference and f"channel ref {doc.source_reference}",
            doc.store_name and f"store {doc.store_name}",
        )
        if doc.ship_date:
            body["ShipDate"] = doc.ship_date.isoformat()
        if bill := address(doc.billing_address):
            body["BillAddr"] = bill
        if ship := address(doc.shipping_address):
            body["ShipAddr"] = ship
        if doc.customer.email:
            body["BillEmail"] = {"Address": doc.customer.email}
        deposit = doc.deposit_account or self.options.deposit_account
        if entity == "SalesReceipt" and deposit:
            body["DepositToAccountRef"] = ref(
                self.refs.account_named(deposit, where(doc, "DepositToAccountRef"))
            )
        body["Line"] = self._balanced_lines(doc, self._sales_line)
        body["TxnTaxDetail"] = self._tax(doc)
        return body

    def refund(self, doc: RefundDocument, entity: str) -> dict:
        body = self._header(doc)
        if doc.customer is None:
            raise DocumentError("no customer", where=where(doc, "CustomerRef"))
        body["CustomerRef"] = ref(self.refs.customer(doc.customer, doc.currency, where(doc, "CustomerRef")))
        original = doc.original_doc_number
        body["PrivateNote"] = private_note(doc, original and f"refund of {original}")
        if original:
            body["CustomerMemo"] = {"value": f"Refund for order {original}"}
        if entity == "RefundReceipt":
            # RefundReceipt needs the account the money leaves from (Bank or Other Current Asset).
            deposit = (
                doc.deposit_account or self.options.deposit_account or self.options.refund_deposit_account
            )
            body["DepositToAccountRef"] = ref(
                self.refs.account_named(deposit, where(doc, "DepositToAccountRef"))
            )
        # Refunds arrive signed either way; QuickBooks wants positive amounts on a refund receipt.
        sign = -1 if doc.total < 0 or (doc.total == 0 and sum(ln.amount for ln in doc.lines) < 0) else 1
        body["Line"] = self._balanced_lines(doc, lambda d, ln, i: self._sales_line(d, ln, i, sign), sign)
        body["TxnTaxDetail"] = self._tax(doc, sign)
        return body

    def purchase(self, doc: PurchaseDocument, entity: str) -> dict:
        body = self._header(doc)
        if doc.vendor is None:
            raise DocumentError("no supplier", where=where(doc, "VendorRef"))
        body["VendorRef"] = ref(self.refs.vendor(doc.vendor, doc.currency, where(doc, "VendorRef")))
        body["PrivateNote"] = private_note(
            doc, doc.store_name and f"location {doc.store_name}", doc.status and f"status {doc.status}"
        )
        if doc.due_date:
            body["DueDate"] = doc.due_date.isoformat()
        if entity == "PurchaseOrder":
            body["POStatus"] = "Open"
        body["Line"] = self._balanced_lines(doc, self._expense_line)
        body["TxnTaxDetail"] = self._tax(doc)
        return body
