"""Canonical documents -> QuickBooks Online JSON, written field by field.

No SDK object model sits in between, because the ones that exist inject defaults into every payload
(``ExchangeRate = 1``, ``TaxInclusiveAmt = 0``, ``GlobalTaxCalculation``) and a foreign order then posts at
the wrong rate without anyone noticing. Every key written here is one Intuit's XSD defines (see ``schema``).
Ids are resolved by ``refs`` (the look-up caches) so this module only shapes data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal
from typing import Protocol

from connex.documents import (
    Address,
    Document,
    JournalDocument,
    Line,
    Party,
    PaymentDocument,
    PurchaseDocument,
    RefundDocument,
    SalesDocument,
)
from connex.errors import DocumentError, DocumentRef
from connex_quickbooks_online.tax import PURCHASE, SALES, Choice, TaxModel

DOC_NUMBER_MAX = 21

#: Text lengths QuickBooks Online accepts, from the "Product: QBO" notes of Intuit's XSDs (shipped in xsd/) and
#: the reference (quickbooks-online-api.md §8). Longer text is cut, as the Desktop target cuts for qbXML; the
#: DocNumber is never cut: it is the document's identity, and a longer one fails the document instead.
LIMITS = {
    # the reference's 500 is marked [UNVERIFIED]: the stricter 100 (the limit of an Item Name) is kept
    "DisplayName": 100,
    "CompanyName": 50,  # reference §8 (ruckus/quickbooks-ruby PR #436)
    "GivenName": 25,  # IntuitNamesTypes.xsd GivenName
    "FamilyName": 15,  # IntuitNamesTypes.xsd FamilyName (QBO; QBW allows 25)
    "EmailAddress": 100,  # IntuitBaseTypes.xsd EmailAddress.Address (QBO); Finance.xsd BillEmail
    "FreeFormNumber": 21,  # IntuitBaseTypes.xsd TelephoneNumber.FreeFormNumber
    "Line": 500,  # IntuitBaseTypes.xsd PhysicalAddress.Line1..Line5 (QBO)
    "City": 255,  # IntuitBaseTypes.xsd PhysicalAddress.City (QBO)
    "CountrySubDivisionCode": 255,  # (QBO)
    "PostalCode": 30,  # (QBO)
    "Country": 255,  # (QBO)
    "CountryCode": 3,  # ISO 3166 alpha-2 or alpha-3
    "PrivateNote": 4000,  # Finance.xsd Transaction.PrivateNote
    "Description": 4000,  # Finance.xsd Line.Description
    "CustomerMemo": 1000,  # Finance.xsd SalesTransaction.CustomerMemo ("Invoice Msg")
    "ShipMethod": 31,  # no limit in the reference: the 31 of QuickBooks' other short names (Term.Name) [stricter]
}


def fit(text: str | None, field: str) -> str | None:
    """``text`` cut to ``field``'s limit, without the spaces a cut can leave at its end."""
    if text is None:
        return None
    limit = LIMITS[field]
    return text if len(text) <= limit else text[:limit].rstrip()
CENT = Decimal("0.01")
UNIT_PRICE_PLACES = Decimal("0.0000001")  # QBO keeps unit prices to 7 places

ENTITY_BY_KIND = {
    "sales_receipt": "SalesReceipt",
    "invoice": "Invoice",
    "purchase_order": "PurchaseOrder",
    "bill": "Bill",
    "refund_receipt": "RefundReceipt",
    "credit_memo": "CreditMemo",
    "payment": "Payment",
    "journal_entry": "JournalEntry",
}


class Refs(Protocol):
    """What payloads need resolved to QBO Ids; implemented by ``lookups.Lookups``."""

    def customer(self, party: Party, currency: str, where: DocumentRef) -> dict: ...

    def vendor(self, party: Party, currency: str, where: DocumentRef) -> dict: ...

    def item_for_sku(self, sku: str, where: DocumentRef) -> dict: ...

    def item_named(self, name: str, where: DocumentRef) -> dict: ...

    def account_named(self, name: str, where: DocumentRef) -> dict: ...

    def named(self, kind: str, name: str, where: DocumentRef) -> dict: ...

    def exchange_rate(self, currency: str, on, where: DocumentRef) -> Decimal: ...

    def payment_method_named(self, name: str, where: DocumentRef) -> dict: ...


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
    return fit("; ".join(p for p in parts if p), "PrivateNote")


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
        "Line1": fit(addr.line1, "Line"),
        "Line2": fit(addr.line2, "Line"),
        "Line3": fit(addr.line3, "Line"),
        "City": fit(addr.city, "City"),
        "CountrySubDivisionCode": fit(addr.region, "CountrySubDivisionCode"),
        "PostalCode": fit(addr.postal_code, "PostalCode"),
        "Country": fit(addr.country, "Country"),
        "CountryCode": fit(addr.country_code, "CountryCode"),
    }
    out = {k: v for k, v in out.items() if v}
    return out or None


def party_body(party: Party, currency: str | None) -> dict:
    """Customer or Vendor create body (the two share the NameBase fields used here)."""
    body: dict = {"DisplayName": clean_display_name(party.display_name)}
    if party.company:
        body["CompanyName"] = fit(party.company, "CompanyName")
    if party.first_name:
        body["GivenName"] = fit(party.first_name, "GivenName")
    if party.last_name:
        body["FamilyName"] = fit(party.last_name, "FamilyName")
    if party.email:
        body["PrimaryEmailAddr"] = {"Address": fit(party.email, "EmailAddress")}
    if party.phone:
        body["PrimaryPhone"] = {"FreeFormNumber": fit(party.phone, "FreeFormNumber")}
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
    return fit(" ".join(name.replace(":", "-").split()), "DisplayName")


class PayloadBuilder:
    def __init__(self, refs: Refs, options: Options, tax: TaxModel | None = None):
        self.refs = refs
        self.options = options
        #: None: post no tax codes (a company whose tax model was not read, as before tax support)
        self.tax = tax
        #: Document.key -> (line description, code name, tax, why) of the last build, for summaries and explain
        self.tax_choices: dict[str, list[tuple[str, str, Decimal, str]]] = {}

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
        if doc.department:
            # Transaction.DepartmentRef: "Location" in QuickBooks Online's screens
            body["DepartmentRef"] = ref(self.refs.named("department", doc.department, where(doc, "DepartmentRef")))
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

    def _class(self, doc: Document, line: Line, index: int, detail: dict, detail_type: str) -> None:
        """The line's class: its own, else (a bill, whose header has no ClassRef in Finance.xsd) the document's."""
        name = line.class_name or (doc.class_name if doc.kind == "bill" else None)
        if name:
            at = where(doc, f"Line[{index}].{detail_type}.ClassRef")
            detail["ClassRef"] = ref(self.refs.named("class", name, at))

    @staticmethod
    def _line(line: Line, amount: Decimal, detail_type: str, detail: dict) -> dict:
        out = {"Amount": money(amount), "DetailType": detail_type, detail_type: detail}
        if line.description:
            out["Description"] = fit(line.description, "Description")
        return out

    def _item_for_line(self, doc: Document, line: Line, index: int) -> dict:
        field = f"Line[{index}].ItemRef"
        if line.kind == "item":
            if not line.sku:
                raise DocumentError("item line without SKU", where=where(doc, field))
            return self.refs.item_for_sku(line.sku, where(doc, field))
        default = {"shipping": self.options.shipping_item, "rounding": self.options.rounding_item}[line.kind]
        return self.refs.item_named(line.item_name or default, where(doc, field))

    def _item_line(self, doc: Document, line: Line, index: int, detail_type: str, sign: int = 1,
                   choice: Choice | None = None, **extra):
        amount = line.amount * sign
        item = self._item_for_line(doc, line, index)
        qty, price = self._quantity_and_price(line.quantity, line.unit_price * sign, amount)
        detail: dict = {"ItemRef": ref(item), "Qty": qty, "UnitPrice": price, **extra}
        self._class(doc, line, index, detail, detail_type)
        if choice is not None:
            detail["TaxCodeRef"] = {"value": choice.value}
            if doc.prices_include_tax and not self.tax.us:
                # tax.md §3 "GlobalTaxCalculation": with TaxInclusive, Amount is the net and TaxInclusiveAmt
                # the gross the buyer paid
                detail["TaxInclusiveAmt"] = money((line.amount + line.tax_amount) * sign)
        elif line.tax_code and self.tax is None:
            detail["TaxCodeRef"] = {"value": line.tax_code}
        return self._line(line, amount, detail_type, detail)

    def _discount_account(self, doc: Document, line: Line, index: int, field: str) -> dict:
        # A discount line's item_name names a Desktop discount item; QuickBooks Online books discounts to an
        # account, the configured one.
        return ref(self.refs.account_named(self.options.discount_account, where(doc, f"Line[{index}].{field}")))

    def _sales_line(self, doc: Document, line: Line, index: int, sign: int = 1, choice: Choice | None = None):
        if line.kind == "discount":
            account = self._discount_account(doc, line, index, "DiscountAccountRef")
            detail = {"PercentBased": False, "DiscountAccountRef": account}
            self._class(doc, line, index, detail, "DiscountLineDetail")
            if choice is not None and not self.tax.us:
                # XSD: discount lines carry a TaxCodeRef in the global model (tax.md §3 "Line codes")
                detail["TaxCodeRef"] = {"value": choice.value}
            return self._line(line, abs(line.amount), "DiscountLineDetail", detail)
        return self._item_line(doc, line, index, "SalesItemLineDetail", sign, choice)

    def _expense_line(self, doc: Document, line: Line, index: int, sign: int = 1, choice: Choice | None = None):
        if line.kind == "discount":
            # A supplier discount reduces the cost; expense lines cannot be negative items, so it is booked
            # against the discount account as a negative account line.
            detail = {"AccountRef": self._discount_account(doc, line, index, "AccountRef")}
            self._class(doc, line, index, detail, "AccountBasedExpenseLineDetail")
            if choice is not None:
                detail["TaxCodeRef"] = {"value": choice.value}
            return self._line(line, -abs(line.amount), "AccountBasedExpenseLineDetail", detail)
        return self._item_line(
            doc, line, index, "ItemBasedExpenseLineDetail", 1, choice, BillableStatus="NotBillable"
        )

    def _balanced(self, doc: Document, sign: int = 1) -> list[Line]:
        """The document's lines plus, when the source total and QuickBooks' sum differ by at most the
        tolerance, a rounding line for the difference (as the product we match does); a larger gap is a mapping
        error worth failing the document for."""
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
        return lines

    def _split_included(self, doc: Document) -> Document:
        """Lines whose amount includes tax the source never split out (Linnworks refunds give only what went
        back to the buyer): net and tax at the line's rate, so QuickBooks records the tax refunded too."""
        if self.tax is None or not any(ln.tax_included and ln.tax_rate for ln in doc.lines):
            return doc
        lines, added = [], Decimal(0)
        for line in doc.lines:
            if line.tax_included and line.tax_rate and line.kind != "discount":
                net = (line.amount * 100 / (100 + Decimal(line.tax_rate))).quantize(CENT, rounding=ROUND_HALF_UP)
                tax = line.amount - net
                added += tax
                line = replace(line, amount=net, unit_price=net / (line.quantity or 1), tax_amount=tax,
                               tax_included=False)
            lines.append(line)
        return replace(doc, lines=lines, total_tax=doc.total_tax + added, prices_include_tax=True)

    def _tax_in_cost(self, doc: Document) -> Document:
        """A US company's purchase: its tax codes are sales tax only (no purchase rates, tax.md §2) and a
        TxnTaxDetail carries only "the tax code for the customer" and the transaction's sales tax (Finance.xsd
        TxnTaxDetail), so the tax a supplier charged is part of what the goods cost: each line's tax joins its
        amount, and tax charged on the order as a whole (Linnworks' additional costs) joins the largest line."""
        lines = [replace(ln, amount=ln.amount + ln.tax_amount, tax_amount=Decimal(0),
                         unit_price=(ln.amount + ln.tax_amount) / (ln.quantity or 1))
                 if ln.kind != "discount" and ln.tax_amount else ln for ln in doc.lines]
        left = doc.total_tax - sum((ln.tax_amount for ln in doc.lines if ln.kind != "discount"), Decimal(0))
        priced = [i for i, ln in enumerate(lines) if ln.kind != "discount"]
        if left and priced:
            i = max(priced, key=lambda n: abs(lines[n].amount))
            amount = lines[i].amount + left
            lines[i] = replace(lines[i], amount=amount, unit_price=amount / (lines[i].quantity or 1))
        return replace(doc, lines=lines, total_tax=Decimal(0))

    def _balanced_lines(self, doc: Document, make: Callable[..., dict], side: str, body: dict, sign: int = 1):
        if self.tax is not None and self.tax.us and side == PURCHASE:
            doc = self._tax_in_cost(doc)
        doc = self._split_included(doc)
        lines = self._balanced(doc, sign)
        choices = [self._choose(doc, line, i, side) for i, line in enumerate(lines)]
        lines, wrapped = self._wrap_untaxed(doc, lines, choices, side)
        body["Line"] = [make(doc, line, i, sign, choice) for i, (line, choice) in enumerate(zip(lines, choices))]
        self._tax_detail(doc, lines, choices, side, body, sign, wrapped)

    def _wrap_untaxed(self, doc: Document, lines: list[Line], choices: list, side: str):
        """A line the bookkeeper coded untaxed (a rule or the tax_codes table: foreign VAT a marketplace
        collected, "No VAT") while the source charged tax on it: the tax is not the company's, so it stays in the
        line's amount, as A2X "wraps the taxes back in the income accounts" (tax.md §6). Lines whose code came
        from the rate itself never get here: their code carries the rate."""
        if self.tax is None or self.tax.us:
            return lines, Decimal(0)
        out, wrapped = [], Decimal(0)
        for line, choice in zip(lines, choices):
            untaxed = choice is not None and choice.explicit and choice.code.percent(side) == 0
            if untaxed and line.tax_amount and line.kind != "discount":
                wrapped += line.tax_amount
                line = replace(line, amount=line.amount + line.tax_amount, tax_amount=Decimal(0),
                               unit_price=(line.amount + line.tax_amount) / (line.quantity or 1))
            elif untaxed and line.kind == "discount" and line.tax_rate:
                # the discount lowered the source's tax at its rate: that tax comes off the wrapped lines too
                share = (abs(line.amount) * Decimal(line.tax_rate) / 100).quantize(CENT, rounding=ROUND_HALF_UP)
                wrapped -= share
                gross = abs(line.amount) + share
                line = replace(line, amount=gross.copy_sign(line.amount) if line.amount else gross,
                               unit_price=gross / (line.quantity or 1))
            out.append(line)
        taxed = [c for c in choices if c is not None and c.code.percent(side) != 0]
        outside = any(c is not None and c.explicit and c.code.percent(side) == 0 for c in choices)
        left = doc.total_tax - wrapped - sum((ln.tax_amount for ln in out if ln.kind != "discount"), Decimal(0))
        # (also when no line's own tax was wrapped: every line's tax rounded to nothing, the order's is a penny)
        if outside and not taxed and left and abs(left) <= CENT * len(out):
            # the order's tax is rounded apart from its lines' tax: the penny joins the largest wrapped line
            index = max(range(len(out)), key=lambda i: abs(out[i].amount) if choices[i].explicit else -1)
            line = out[index]
            amount = line.amount + left
            out[index] = replace(line, amount=amount, unit_price=amount / (line.quantity or 1))
            wrapped += left
        return out, wrapped

    # --- tax -----------------------------------------------------------------------------------------------
    def _choose(self, doc: Document, line: Line, index: int, side: str) -> Choice | None:
        """The tax code of one line and why (tax.md §3): a line rule, the rounding line's zero rate, a document
        rule, then the rate the source charged."""
        if self.tax is None:
            return None
        if self.tax.us and side == PURCHASE:
            return None  # US purchase lines carry no sales tax code (tax.md §1 "US model")
        at = where(doc, f"Line[{index}].TaxCodeRef")
        if line.tax_code:
            return self.tax.named(line.tax_code, side, at, "set by a map_line_tax_code rule")
        if line.kind == "rounding":
            if self.tax.us:
                return Choice(None, "NON", "rounding line: no tax")
            return self.tax.for_rate(Decimal(0), side, at)
        if doc.tax_code and not self.tax.us:
            return self.tax.named(doc.tax_code, side, at, "set by a map_tax_code rule")
        rate = Decimal(line.tax_rate) if index == self._penny_line(doc, line) else self._line_rate(line)
        if self.tax.us:
            # the source's tax decides; an order taxed only in its header taxes its priced lines
            header_only = doc.total_tax != 0 and not any(ln.tax_amount for ln in doc.lines)
            if line.tax_amount != 0 or (header_only and line.kind in ("item", "shipping")):
                return Choice(None, "TAX", f"taxed at {rate:f}%" if rate else "taxed by the source")
            return Choice(None, "NON", "no tax charged on the line")
        abroad = self.tax.abroad(doc.tax_country)
        choice = self.tax.for_rate(rate, side, at, abroad)
        return replace(choice, reason=f"{choice.reason}, the line's rate")

    @staticmethod
    def _penny_line(doc: Document, line: Line) -> int | None:
        """The line that keeps the rate the source listed though its own tax rounded to nothing, when no line
        carries tax and the order's tax is a few cents (two lines of 0.4p are a penny): the largest line with a
        rate, as on Desktop (``DesktopTax.line_taxes``), so the penny has a taxed code to go on. Only asked for a
        line it could be (cheap for the rest)."""
        if line.kind in ("discount", "rounding") or line.tax_amount != 0 or not line.tax_rate or not doc.total_tax:
            return None
        charged = [ln for ln in doc.lines if ln.kind != "discount"]
        if any(ln.tax_amount for ln in charged) or abs(doc.total_tax) > CENT * len(charged):
            return None
        rated = [i for i, ln in enumerate(doc.lines) if ln.kind not in ("discount", "rounding") and ln.tax_rate]
        return max(rated, key=lambda i: abs(doc.lines[i].amount), default=None)

    @staticmethod
    def _line_rate(line: Line) -> Decimal:
        """The source's rate for the line; a line with no tax is zero-rated whatever rate the channel lists,
        and a line without a rate gets the one its amounts imply (to 0.01%)."""
        if line.kind == "discount":
            return Decimal(line.tax_rate or 0)  # a discount carries no tax of its own: it lowers its rate's base
        if line.tax_amount == 0:
            return Decimal(0)
        if line.tax_rate is not None:
            return Decimal(line.tax_rate)
        if line.amount == 0:
            return Decimal(0)
        return (line.tax_amount / line.amount * 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)

    def _tax_detail(self, doc: Document, lines: list[Line], choices: list, side: str, body: dict, sign: int,
                    wrapped: Decimal = Decimal(0)):
        if self.tax is None:
            body["TxnTaxDetail"] = self._tax(doc, sign)
            return
        if self.tax.us and side == PURCHASE:
            self.tax_choices[doc.key] = [
                (ln.description or ln.sku or ln.kind, "none", Decimal(0),
                 "US purchase: the supplier's tax is part of the cost") for ln in lines]
            return
        self.tax_choices[doc.key] = [
            (ln.description or ln.sku or ln.kind, self._code_name(c), ln.tax_amount * sign, c.reason)
            for ln, c in zip(lines, choices)
        ]
        if self.tax.us:
            self._us_tax(doc, lines, choices, body, sign)
            return
        if not self.tax.using_sales_tax:
            raise DocumentError(
                "the QuickBooks company has sales tax switched off (Preferences.TaxPrefs.UsingSalesTax is false), "
                "so it would drop the tax; switch VAT/GST on in QuickBooks",
                where=where(doc, "TxnTaxDetail"),
                code="tax_off",
            )
        body["GlobalTaxCalculation"] = "TaxInclusive" if doc.prices_include_tax else "TaxExcluded"
        by_code: dict[str, list] = {}  # code id -> [code, net, tax]
        for line, choice in zip(lines, choices):
            net = -abs(line.amount) if line.kind == "discount" else line.amount * sign
            entry = by_code.setdefault(choice.code.id, [choice.code, Decimal(0), Decimal(0)])
            entry[1] += net
            if line.kind == "discount":
                # a discount carries no tax of its own but lowers its rate's base, as QuickBooks computes it
                entry[2] += (net * choice.code.percent(side) / 100).quantize(CENT, rounding=ROUND_HALF_UP)
            else:
                entry[2] += line.tax_amount * sign
        target = (doc.total_tax - wrapped) * sign
        gap = target - sum(e[2] for e in by_code.values())
        if gap:
            taxed = [e for e in by_code.values() if e[0].percent(side) != 0]
            if not taxed:
                raise DocumentError(
                    f"the source charged {target} tax but every line's tax code is untaxed "
                    f"({', '.join(sorted(e[0].name for e in by_code.values()))})",
                    where=where(doc, "TxnTaxDetail"),
                    code="tax_code_missing",
                )
            max(taxed, key=lambda e: abs(e[2]))[2] += gap
        untaxed = [e[0].name for e in by_code.values() if e[0].percent(side) == 0 and e[2] != 0]
        if untaxed:
            raise DocumentError(
                f"lines coded {', '.join(sorted(untaxed))} (0%) carry tax from the source: give those lines a code "
                f"at the rate charged; the company's {side} codes are: {self.tax.names(side)}",
                where=where(doc, "TaxCodeRef"),
                code="tax_code_mismatch",
            )
        per_rate: dict[str, list] = {}  # rate id -> [rate, net, tax]
        for code, net, tax in by_code.values():
            rates = code.rates(side)
            percent = code.percent(side)
            left = tax
            for n, rate in enumerate(rates):
                # a multi-rate code (GST/QST QC) splits its tax pro rata; every rate is sent (tax.md §3)
                share = left if n == len(rates) - 1 else (tax * rate.value / percent).quantize(CENT)
                left -= share
                entry = per_rate.setdefault(rate.id, [rate, Decimal(0), Decimal(0)])
                entry[1] += net
                entry[2] += share
        body["TxnTaxDetail"] = {
            "TotalTax": money(target),
            "TaxLine": [
                {
                    "Amount": money(tax),
                    "DetailType": "TaxLineDetail",
                    "TaxLineDetail": {
                        "TaxRateRef": {"value": rate.id},
                        "PercentBased": True,
                        "TaxPercent": float(rate.value),
                        "NetAmountTaxable": money(net),
                    },
                }
                for rate, net, tax in per_rate.values()
            ],
        }

    def _us_tax(self, doc: Document, lines: list[Line], choices: list, body: dict, sign: int) -> None:
        """US: lines TAX/NON; automated sales tax takes the source's tax as given (tax.md §3 "US"), a manual
        sales-tax company also needs the transaction's tax code (by rule, else the code at the line rate)."""
        detail: dict = {"TotalTax": money(doc.total_tax * sign)}
        taxed = [ln for ln, c in zip(lines, choices) if c.value == "TAX"]
        if taxed and not self.tax.automated:
            at = where(doc, "TxnTaxDetail.TxnTaxCodeRef")
            if doc.tax_code:
                code = self.tax.by_name_or_none(doc.tax_code)
                why = f"{doc.tax_code!r} (set by a map_tax_code rule)"
            else:
                # an order taxed only in its header (its lines' tax rounded to nothing) has the rates it listed
                rate = max(self._line_rate(ln) or Decimal(ln.tax_rate or 0) for ln in taxed)
                code = self.tax.us_transaction_code(rate)
                why = f"at {rate:f}%"
            if code is None:
                raise DocumentError(
                    f"no QuickBooks sales tax code {why}; the company's codes are: {self.tax.names(SALES)}",
                    where=at,
                    code="tax_code_missing",
                )
            detail["TxnTaxCodeRef"] = {"value": code.id}
        body["TxnTaxDetail"] = detail

    def explain_tax(self, doc: Document) -> list[str]:
        """Per line, the company's code its tax code resolves to (name and Id) and why: ``connex explain``."""
        side = PURCHASE if isinstance(doc, PurchaseDocument) else SALES
        if self.tax is None:
            return []
        if self.tax.us and side == PURCHASE:
            return [f"{ln.description or ln.sku or ln.kind}: no code: a US company's purchases carry no tax code, "
                    "the supplier's tax is part of the cost" for ln in doc.lines]
        doc = self._split_included(doc)
        out = []
        for index, line in enumerate(doc.lines):
            label = line.description or line.sku or line.kind
            try:
                choice = self._choose(doc, line, index, side)
            except DocumentError as exc:
                out.append(f"{label}: no code: {exc.message}")
                continue
            ident = f" (TaxCode Id {choice.code.id})" if choice.code is not None else ""
            out.append(f"{label}: {self._code_name(choice)}{ident}: {choice.reason}")
        return out

    @staticmethod
    def _code_name(choice: Choice) -> str:
        return choice.code.name if choice.code is not None else choice.value

    def _header_class(self, doc: Document, body: dict) -> None:
        if doc.class_name:
            body["ClassRef"] = ref(self.refs.named("class", doc.class_name, where(doc, "ClassRef")))

    # --- documents -----------------------------------------------------------------------------------------
    def build(self, doc: Document) -> tuple[str, dict]:
        entity = ENTITY_BY_KIND.get(doc.kind)
        if isinstance(doc, SalesDocument) and entity in ("SalesReceipt", "Invoice"):
            return entity, self.sales(doc, entity)
        if isinstance(doc, PurchaseDocument) and entity in ("PurchaseOrder", "Bill"):
            return entity, self.purchase(doc, entity)
        if isinstance(doc, RefundDocument) and entity in ("RefundReceipt", "CreditMemo"):
            return entity, self.refund(doc, entity)
        if isinstance(doc, JournalDocument) and entity == "JournalEntry":
            from connex_quickbooks_online.journal import journal_entry  # journal.py builds on this module

            return entity, journal_entry(self, doc)
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
            body["BillEmail"] = {"Address": fit(doc.customer.email, "EmailAddress")}
        self._header_class(doc, body)
        if doc.payment_method:
            body["PaymentMethodRef"] = ref(
                self.refs.named("payment_method", doc.payment_method, where(doc, "PaymentMethodRef")))
        if doc.terms:
            body["SalesTermRef"] = ref(self.refs.named("term", doc.terms, where(doc, "SalesTermRef")))
        if doc.ship_via:
            # QuickBooks Online keeps no list of shipping methods: "Ship via" is text the reference carries
            # (Intuit's SalesReceipt reference: "There is no shipping method list. Reference resolves to a
            # string"; not in /work/shared/reference, where Finance.xsd only types it a ReferenceType)
            text = fit(doc.ship_via, "ShipMethod")
            body["ShipMethodRef"] = {"value": text, "name": text}
        deposit = doc.deposit_account or self.options.deposit_account
        if entity == "SalesReceipt" and deposit:
            body["DepositToAccountRef"] = ref(
                self.refs.account_named(deposit, where(doc, "DepositToAccountRef"))
            )
        self._balanced_lines(doc, self._sales_line, SALES, body)
        return body

    def refund(self, doc: RefundDocument, entity: str) -> dict:
        body = self._header(doc)
        if doc.customer is None:
            raise DocumentError("no customer", where=where(doc, "CustomerRef"))
        body["CustomerRef"] = ref(self.refs.customer(doc.customer, doc.currency, where(doc, "CustomerRef")))
        original = doc.original_doc_number
        body["PrivateNote"] = private_note(doc, original and f"refund of {original}")
        if original:
            body["CustomerMemo"] = {"value": fit(f"Refund for order {original}", "CustomerMemo")}
        self._header_class(doc, body)
        if doc.payment_method:
            body["PaymentMethodRef"] = ref(
                self.refs.named("payment_method", doc.payment_method, where(doc, "PaymentMethodRef")))
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
        self._balanced_lines(doc, self._sales_line, SALES, body, sign)
        return body

    def payment(self, doc: PaymentDocument, invoice: dict) -> dict:
        """A Payment applied to ``invoice`` (its row as QuickBooks holds it): the customer and rate are the
        invoice's, so the two always agree; the amount applied is what the order paid, never more than the invoice
        still owes (QuickBooks refuses that), and any excess stays on the payment as the customer's credit."""
        balance = Decimal(str(invoice.get("Balance", 0)))
        if balance <= 0:
            raise DocumentError(
                f"invoice {doc.invoice_number} has no open balance in QuickBooks (paid there already); no second "
                "payment is recorded",
                where=where(doc, "LinkedTxn"),
                code="already_paid",
            )
        body: dict = {
            "CustomerRef": dict(invoice["CustomerRef"]),
            "CurrencyRef": {"value": doc.currency},
            "TotalAmt": money(doc.total),
            "PaymentRefNum": doc.doc_number[:DOC_NUMBER_MAX],
            "PrivateNote": private_note(doc, f"invoice {doc.invoice_number}",
                                        doc.store_name and f"store {doc.store_name}"),
            "Line": [{
                "Amount": money(min(doc.total, balance)),
                "LinkedTxn": [{"TxnId": str(invoice["Id"]), "TxnType": "Invoice"}],
            }],
        }
        if doc.txn_date:
            body["TxnDate"] = doc.txn_date.isoformat()
        if doc.currency != self.options.home_currency and invoice.get("ExchangeRate") is not None:
            body["ExchangeRate"] = float(Decimal(str(invoice["ExchangeRate"])))
        deposit = doc.deposit_account or self.options.deposit_account
        if deposit:  # omitted: QuickBooks deposits to Undeposited Funds (Finance.xsd Payment.DepositToAccountRef)
            body["DepositToAccountRef"] = ref(self.refs.account_named(deposit, where(doc, "DepositToAccountRef")))
        if doc.payment_method:
            body["PaymentMethodRef"] = ref(
                self.refs.named("payment_method", doc.payment_method, where(doc, "PaymentMethodRef"))
            )
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
            self._header_class(doc, body)  # a Bill has no header ClassRef: its lines carry the class
        self._balanced_lines(doc, self._expense_line, PURCHASE, body)
        return body
