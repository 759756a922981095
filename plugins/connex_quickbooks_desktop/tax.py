"""Sales tax codes on QuickBooks Desktop documents (../shared/reference/quickbooks-tax.md §5).

``tax_model: us`` (US files) marks each line with the company's taxable code ("Tax") when the source charged tax
on it and its non-taxable code ("Non") otherwise, names the customer's code for the transaction
(``CustomerSalesTaxCodeRef``) and the sales tax item or group that "drives the actual tax calculation"
(``ItemSalesTaxRef``): the one whose rate is the rate the source charged, or ``item_sales_tax``. ``tax_model:
global`` (Canadian files) takes each line's code from the ``tax_codes`` table by the rate the source charged,
else the company's code whose sales (purchase, on purchase orders and bills) tax item has that rate; a Canadian
file refuses an item sales tax. Prices that include tax go as gross amounts with ``IsTaxIncluded``.

The codes and items are the company file's own, read at the start of every Web Connector session
(SalesTaxCodeQuery, ItemSalesTaxQuery, ItemSalesTaxGroupQuery) and named as the bookkeeper sees them. A rule's
code always wins; ``rules_only`` (the default) sends rule codes alone and reads nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from lxml import etree

from connex.documents import Document, Line, PurchaseDocument
from connex.errors import ConfigError, DocumentError, DocumentRef, Location

TAX_MODELS = ("rules_only", "us", "global")
CENT = Decimal("0.01")


@dataclass(frozen=True)
class DesktopCode:
    name: str
    taxable: bool
    sales_item: str | None
    purchase_item: str | None


@dataclass(frozen=True)
class CompanyTax:
    """A company file's sales tax codes and its tax items' rates (groups: the sum of their items')."""

    codes: tuple[DesktopCode, ...]
    rates: dict[str, Decimal]  # item or group name (as QuickBooks spells it) -> percent

    @classmethod
    def from_rets(cls, codes: list[etree._Element], items: list[etree._Element],
                  groups: list[etree._Element]) -> CompanyTax:
        rates: dict[str, Decimal] = {}
        for ret in items:
            try:
                rates[ret.findtext("Name") or ""] = Decimal(ret.findtext("TaxRate") or "0")
            except InvalidOperation:
                rates[ret.findtext("Name") or ""] = Decimal(0)
        by_lower = {name.lower(): rate for name, rate in rates.items()}
        for ret in groups:
            members = [n.text or "" for n in ret.iterfind("ItemSalesTaxRef/FullName")]
            rates[ret.findtext("Name") or ""] = sum((by_lower.get(m.lower(), Decimal(0)) for m in members),
                                                    Decimal(0))
        found = tuple(
            DesktopCode(ret.findtext("Name") or "", (ret.findtext("IsTaxable") or "").strip() == "true",
                        ret.findtext("ItemSalesTaxRef/FullName"), ret.findtext("ItemPurchaseTaxRef/FullName"))
            for ret in codes
            if (ret.findtext("IsActive") or "true").strip() != "false"
        )
        return cls(found, rates)

    def dumps(self) -> str:
        return json.dumps({"codes": [[c.name, c.taxable, c.sales_item, c.purchase_item] for c in self.codes],
                           "rates": {k: str(v) for k, v in self.rates.items()}})

    @classmethod
    def loads(cls, text: str) -> CompanyTax:
        data = json.loads(text)
        return cls(tuple(DesktopCode(*row) for row in data["codes"]),
                   {k: Decimal(v) for k, v in data["rates"].items()})

    def rate(self, item: str | None) -> Decimal | None:
        if item is None:
            return None
        return next((r for name, r in self.rates.items() if name.lower() == item.lower()), None)

    def code_rate(self, code: DesktopCode, purchase: bool) -> Decimal | None:
        """The rate a code charges on that side; None when it has no tax item there (exempt, non-taxable)."""
        return self.rate(code.purchase_item if purchase else code.sales_item)

    def describe(self, purchase: bool) -> str:
        parts = []
        for code in self.codes:
            rate = self.code_rate(code, purchase)
            parts.append(f"{code.name} ({rate.normalize():f}%)" if rate is not None
                         else f"{code.name} ({'taxable' if code.taxable else 'no tax'})")
        return ", ".join(parts) or "none"


@dataclass(frozen=True)
class DesktopTax:
    model: str = "rules_only"
    codes: dict[Decimal, str] = field(default_factory=dict)  # rate -> code name (<= 3 characters)
    item_sales_tax: str | None = None

    @classmethod
    def from_config(cls, config: dict) -> DesktopTax:
        model = config.get("tax_model", "rules_only")
        codes = {}
        for key, name in (config.get("tax_codes") or {}).items():
            try:
                rate = Decimal(str(key).strip().rstrip("%")).normalize()
            except InvalidOperation:
                raise ConfigError(f"{key!r} is not a tax rate (write 20 for 20%)",
                                  where=Location("target", field="tax_codes")) from None
            codes[rate] = str(name)
        return cls(model=model, codes=codes, item_sales_tax=config.get("item_sales_tax"))

    @property
    def reads_company(self) -> bool:
        """Whether a session reads the company file's codes and tax items before posting."""
        return self.model in ("us", "global")

    # --- per transaction ---------------------------------------------------------------------------------
    def header_item(self, document: Document, company: CompanyTax | None = None) -> str | None:
        """The header ItemSalesTaxRef (US files only: "If you use QB Canada, you cannot add an item sales tax"):
        ``item_sales_tax``, else the company's item or group at the rate the source charged."""
        if self.model != "us":
            return None
        if self.item_sales_tax:
            return self.item_sales_tax
        rates = {self._rate(line) for line in document.lines if self.taxed(line)}
        if not rates or company is None:
            return None
        rate = max(rates)
        matches = sorted(name for name, r in company.rates.items() if r == rate)
        if not matches:
            have = ", ".join(f"{n} ({r.normalize():f}%)" for n, r in sorted(company.rates.items())) or "none"
            raise DocumentError(
                f"no sales tax item or group at {rate.normalize():f}% in the QuickBooks company file; its items "
                f"are: {have} (set item_sales_tax, or add the item in QuickBooks)",
                where=_where(document, "ItemSalesTaxRef"),
                code="tax_code_missing",
            )
        return matches[0]

    def customer_code(self, document: Document, company: CompanyTax | None = None) -> str | None:
        """US: the transaction's customer tax code, taxable when any line is (a non-taxable customer code
        takes no tax whatever the lines say)."""
        if self.model != "us" or isinstance(document, PurchaseDocument):
            return None
        return self.us_code(company, any(self.taxed(line) for line in document.lines))

    def may_add_rounding(self, document: Document) -> bool:
        """Whether posting may add a rounding line: a US file's sales document with taxed lines (QuickBooks
        computes one tax on the taxable subtotal, which can differ from the source's by a cent)."""
        return (self.model == "us" and not isinstance(document, PurchaseDocument)
                and any(self.taxed(line) for line in document.lines))

    def tax_included(self, document: Document) -> bool:
        """Canadian (global) files take gross amounts with IsTaxIncluded when the source's prices include tax
        (a refund's lines always do: Linnworks gives what went back, tax included)."""
        if self.model != "global" or not document.lines:
            return False
        return document.prices_include_tax or all(line.tax_included for line in document.lines)

    def line_taxes(self, document: Document) -> list[Decimal]:
        """Each line's TaxAmount, the source's tax spread so that they add up to the document's tax to the
        cent: the penny Linnworks' three-place amounts leave over joins the line with the most tax."""
        taxes = [
            (-abs(line.amount) * self._rate(line) / 100).quantize(CENT, rounding=ROUND_HALF_UP)
            if line.kind == "discount" else line.tax_amount
            for line in document.lines
        ]
        gap = document.total_tax - sum(taxes, Decimal(0))
        # a taxed line takes it, even when every line's own tax rounded to nothing (two lines of 0.4p are a penny)
        taxed = [i for i, line in enumerate(document.lines) if self._rate(line)]
        if self.model == "global" and gap and taxed and abs(gap) <= CENT * len(taxes):
            biggest = max(taxed, key=lambda i: (abs(taxes[i]), abs(document.lines[i].amount)))
            taxes[biggest] += gap
        return taxes

    # --- per line ----------------------------------------------------------------------------------------
    def line_code(self, document: Document, index: int, line: Line, default: str | None,
                  company: CompanyTax | None = None) -> str | None:
        if line.tax_code or default:
            return line.tax_code or default
        if self.model == "us":
            return self.us_code(company, self.taxed(line))
        if self.model != "global":
            return None
        purchase = isinstance(document, PurchaseDocument)
        rate = self._rate(line) if self.taxed(line) or line.kind == "discount" else Decimal(0)
        if rate in self.codes:
            return self.codes[rate]
        if company is None:
            return None  # not read yet (a document checked before its session): the session decides
        matches = [c for c in company.codes if company.code_rate(c, purchase) == rate]
        if rate == 0:
            matches.sort(key=lambda c: not c.taxable)  # zero-rated (a 0% tax item) before exempt
        if matches:
            return matches[0].name
        side = "purchase" if purchase else "sales"
        table = ", ".join(f"{r:f}% {c}" for r, c in sorted(self.codes.items()))
        have = company.describe(purchase)
        raise DocumentError(
            f"no {side} tax code at {rate.normalize():f}% in the QuickBooks company file; its codes are: {have}"
            + (f"; the target's tax_codes table has {table}" if table else "")
            + " (add the rate to tax_codes or a map_line_tax_code rule)",
            where=_where(document, f"lines[{index}].SalesTaxCodeRef"),
            code="tax_code_missing",
        )

    @staticmethod
    def taxed(line: Line) -> bool:
        """Whether the source charged tax on the line (a discount: whether it lowers a taxed base)."""
        if line.kind == "rounding":
            return False
        if line.kind == "discount":
            return bool(line.tax_rate)  # it lowers the taxable base at its rate
        return bool(line.tax_amount) or bool(line.tax_included and line.tax_rate)

    @staticmethod
    def _rate(line: Line) -> Decimal:
        if line.tax_rate is not None:
            return Decimal(line.tax_rate).normalize()
        if line.amount and line.tax_amount:
            return (line.tax_amount / line.amount * 100).quantize(CENT, rounding=ROUND_HALF_UP).normalize()
        return Decimal(0)

    @staticmethod
    def us_code(company: CompanyTax | None, taxed: bool) -> str:  # noqa: FBT001 - read as us_code(c, taxed=...)
        """The company's taxable (or non-taxable) code: "Tax"/"Non" in a US file (§5 "US"), else the first
        such code it lists."""
        preferred = "Tax" if taxed else "Non"
        if company is None or any(c.name == preferred for c in company.codes):
            return preferred
        return next((c.name for c in company.codes if c.taxable == taxed), preferred)


def _where(document: Document, field_name: str) -> DocumentRef:
    return DocumentRef(kind=document.kind, source_id=document.source_id, field=field_name,
                       number=document.doc_number)
