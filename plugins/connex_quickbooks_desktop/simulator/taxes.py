"""Sales tax in a simulated company file: its sales tax codes, sales tax items and groups, and the tax QuickBooks
Desktop computes on a transaction from them (../shared/reference/quickbooks-tax.md §5).

* ``us``: codes ``Tax`` (taxable) and ``Non`` (§5 "US": "default codes NON/TAX, shown as Non/Tax"). A line's code
  only says whether it is taxable; the rate comes from the header ``ItemSalesTaxRef`` (a sales tax item or group:
  "drives the actual tax calculation", §5 "US"), else the company's default item, and applies to the taxable
  subtotal. A customer code that is not taxable (header ``CustomerSalesTaxCodeRef``) takes no tax.
* ``ca``: codes ``G``, ``H``, ``P``, ``S``, ``E``, ``Z``, each linking a sales tax item and a purchase tax item
  (§5 "CA", gtimmons HST page); tax is per line, from the line code's item. An item sales tax in the header is
  refused ("If you use QB Canada, you cannot add an item sales tax", 3140). ``IsTaxIncluded`` amounts are gross
  (§5 "Elements": header IsTaxIncluded on sales/purchase Adds). A line's ``TaxAmount`` is the tax it carries
  (§5 "Elements": line TaxAmount); the reference does not say QuickBooks checks it, so it is taken as given.
* ``default``: the mixed set the older tests use (S, Z, E, Tax, Non), codes without tax items: no tax computed.

Rounding is half up to the cent per line (CA) or on the taxable subtotal (US); the reference does not say which
way QuickBooks rounds halves [UNVERIFIED], as for QuickBooks Online (quickbooks-tax.md §3 "Rounding").
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


@dataclass(frozen=True)
class SalesTaxCode:
    name: str
    taxable: bool
    desc: str
    sales_item: str | None = None  # ItemSalesTaxRef (non-US files)
    purchase_item: str | None = None  # ItemPurchaseTaxRef (non-US files)


@dataclass(frozen=True)
class TaxItem:
    name: str
    rate: Decimal  # percent, as ItemSalesTaxRet.TaxRate
    vendor: str
    members: tuple[str, ...] = ()  # a sales tax group's items

    @property
    def group(self) -> bool:
        return bool(self.members)


@dataclass(frozen=True)
class TaxSetup:
    codes: tuple[SalesTaxCode, ...]
    items: tuple[TaxItem, ...]
    default_item: str | None = None  # SalesTaxPreferences.DefaultItemSalesTaxRef (US)
    per_line: bool = False  # CA: each line taxed by its own code's item

    def code(self, name: str | None) -> SalesTaxCode | None:
        return next((c for c in self.codes if name is not None and c.name == name), None)

    def item(self, name: str | None) -> TaxItem | None:
        return next((i for i in self.items if name is not None and i.name.lower() == name.lower()), None)

    def rate(self, item_name: str | None) -> Decimal:
        """An item's rate, a group's the sum of its items' (a group "charges all the taxes in it")."""
        item = self.item(item_name)
        if item is None:
            return Decimal(0)
        if item.group:
            return sum((self.rate(m) for m in item.members), Decimal(0))
        return item.rate


US = TaxSetup(
    codes=(SalesTaxCode("Tax", True, "Taxable Sales"), SalesTaxCode("Non", False, "Non-Taxable Sales")),
    items=(
        TaxItem("State Sales Tax", Decimal("7.25"), "State Board of Equalization"),
        TaxItem("NY State", Decimal("4"), "NYS Dept of Taxation"),
        TaxItem("NYC", Decimal("4.875"), "NYS Dept of Taxation"),
        TaxItem("New York City", Decimal(0), "", members=("NY State", "NYC")),
    ),
    default_item="State Sales Tax",
)

CA = TaxSetup(
    codes=(
        SalesTaxCode("G", True, "GST", "GST", "GST"),
        SalesTaxCode("H", True, "HST ON", "HST ON", "HST ON"),
        SalesTaxCode("P", True, "PST BC", "PST BC", None),
        SalesTaxCode("S", True, "GST and PST BC", "GST/PST BC", "GST"),
        SalesTaxCode("Z", True, "Zero-rated", "Zero-rated", "Zero-rated"),
        SalesTaxCode("E", False, "Exempt", None, None),
    ),
    items=(
        TaxItem("GST", Decimal(5), "Receiver General"),
        TaxItem("HST ON", Decimal(13), "Receiver General"),
        TaxItem("PST BC", Decimal(7), "Minister of Finance"),
        TaxItem("Zero-rated", Decimal(0), "Receiver General"),
        TaxItem("GST/PST BC", Decimal(0), "", members=("GST", "PST BC")),
    ),
    per_line=True,
)

DEFAULT = TaxSetup(
    codes=tuple(SalesTaxCode(n, n in ("S", "Tax"), n) for n in ("S", "Z", "E", "Tax", "Non")),
    items=(),
)

SETUPS = {"us": US, "ca": CA}


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass
class TaxedLine:
    amount: Decimal  # as sent: gross when the transaction's amounts include tax
    code: str | None
    tax_amount: Decimal | None  # the line's TaxAmount, when sent


def compute(setup: TaxSetup, lines: list[TaxedLine], *, purchase: bool, header_item: str | None,
            customer_code: str | None, tax_included: bool) -> tuple[Decimal, Decimal, Decimal | None]:
    """(net subtotal, tax, header percentage or None) of a transaction's lines."""
    if setup.per_line:
        subtotal = tax = Decimal(0)
        for line in lines:
            code = setup.code(line.code)
            item = None if code is None else (code.purchase_item if purchase else code.sales_item)
            rate = setup.rate(item)
            if item is None:
                line_tax = Decimal(0)  # exempt (no tax item): nothing to charge, whatever TaxAmount says
            elif line.tax_amount is not None:
                line_tax = line.tax_amount
            elif tax_included:
                line_tax = line.amount - cents(line.amount * 100 / (100 + rate))
            else:
                line_tax = cents(line.amount * rate / 100)
            subtotal += line.amount - line_tax if tax_included else line.amount
            tax += line_tax
        return subtotal, tax, None
    subtotal = sum((line.amount for line in lines), Decimal(0))
    if not setup.items:
        # the default (UK-style) file has no tax items: a line's TaxAmount is taken as given and is part of the
        # total (quickbooks-desktop-qbwc.md §7 SalesReceiptLineAdd)
        given = sum((ln.tax_amount or Decimal(0) for ln in lines), Decimal(0))
        return (subtotal - given if tax_included else subtotal), given, None  # gross amounts hold their tax
    if purchase:
        return subtotal, Decimal(0), None  # US purchases carry no sales tax
    customer = setup.code(customer_code)
    if customer is not None and not customer.taxable:
        return subtotal, Decimal(0), Decimal(0)
    rate = setup.rate(header_item or setup.default_item)
    taxable = sum((ln.amount for ln in lines if (setup.code(ln.code) or _NON).taxable), Decimal(0))
    return subtotal, cents(taxable * rate / 100), rate


_NON = SalesTaxCode("", False, "")
