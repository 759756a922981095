"""The company's tax model and its codes, read from QuickBooks once per run, and the choice of a code per line.

QuickBooks Online has two tax models (../shared/reference/quickbooks-tax.md §1): US companies mark each line
``TAX`` or ``NON`` and take the rate from a transaction tax code or automated sales tax; every other country
(UK, CA, AU, IE, IN...) puts a ``TaxCodeRef`` on every line and a ``GlobalTaxCalculation`` on the document.
Codes are chosen by name (as the bookkeeper sees them: "20.0% S", "GST", "HST ON"), never by Id; by default from
the rate the source charged on the line: the company's code whose sales (or purchase) rates add up to it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from connex.errors import ConfigError, DocumentError, DocumentRef
from connex.rules.filters import country_code

US_LINE_CODES = {"tax": "TAX", "non": "NON", "taxable": "TAX", "non-taxable": "NON"}
SALES, PURCHASE = "sales", "purchase"
#: CompanyInfo.Country spellings that pycountry does not read as the ISO code ("GB" for the UK is [UNVERIFIED],
#: §1 "Detection"; addresses read back ISO-3 from late 2025, quickbooks-online-api.md §6)
_COUNTRY_ALIASES = {"UK": "GB", "USA": "US"}


def iso_country(value: str) -> str:
    text = str(value or "").strip()
    if text.upper() in _COUNTRY_ALIASES:
        return _COUNTRY_ALIASES[text.upper()]
    return country_code(text) or text.upper()


def is_out_of_scope(code: Code, side: str) -> bool:
    """A code for supplies outside the company's own tax: UK "No VAT" (outside the scope, not on the return),
    CA "Out of scope", AU "0% Out of Scope" (§2 code lists; the names Connex's own non-taxable mapping accepts,
    §6). Zero-rated and exempt supplies are inside the scope and do not count."""
    name = code.name.casefold()
    return (bool(code.rates(side)) and code.percent(side) == 0 and not code.zero_rated(side)
            and (name == "no vat" or "out of scope" in name))


@dataclass(frozen=True)
class Rate:
    id: str
    name: str
    value: Decimal
    special: str  # SpecialTaxType: NONE, ZERO_RATE, REVERSE_CHARGE...


@dataclass(frozen=True)
class Code:
    id: str
    name: str
    sales: tuple[Rate, ...]
    purchase: tuple[Rate, ...]

    def rates(self, side: str) -> tuple[Rate, ...]:
        return self.sales if side == SALES else self.purchase

    def percent(self, side: str) -> Decimal:
        return sum((r.value for r in self.rates(side)), Decimal(0))

    def zero_rated(self, side: str) -> bool:
        rates = self.rates(side)
        return bool(rates) and all(r.special == "ZERO_RATE" for r in rates)


@dataclass(frozen=True)
class Choice:
    """A line's code and why it was chosen (for ``explain`` and error messages)."""

    code: Code | None  # None: a US pseudo code
    value: str  # what goes in TaxCodeRef.value
    reason: str
    explicit: bool = False  # named by a rule or the tax_codes table, not derived from the rate


def parse_rate_table(table: Mapping | None, option: str) -> dict[Decimal, str]:
    """``{20: "20.0% S", 0: "0.0% Z"}`` from the connector config, keys as rates (YAML gives ints or strings)."""
    out: dict[Decimal, str] = {}
    for key, name in (table or {}).items():
        try:
            rate = Decimal(str(key).strip().rstrip("%"))
        except InvalidOperation:
            raise ConfigError(f"target.{option}: {key!r} is not a tax rate (write 20 for 20%)") from None
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(f"target.{option}.{key}: give the tax code's name as QuickBooks shows it")
        out[rate.normalize()] = name.strip()
    return out


class TaxModel:
    """What one QuickBooks company does with tax, read in four queries and kept for the connector's life."""

    def __init__(self, *, country: str, using_sales_tax: bool, automated: bool, codes: list[Code],
                 sales_table: dict[Decimal, str] | None = None, purchase_table: dict[Decimal, str] | None = None):
        self.country = country
        self.country_code = iso_country(country)
        self.us = self.country_code == "US"
        self.using_sales_tax = using_sales_tax
        self.automated = automated
        self.codes = codes
        self.tables = {SALES: sales_table or {}, PURCHASE: purchase_table or sales_table or {}}
        self._by_name = {c.name.casefold(): c for c in codes}

    @classmethod
    def read(cls, client, preferences: dict, *, sales_table=None, purchase_table=None) -> TaxModel:
        tax_prefs = preferences.get("TaxPrefs") or {}
        info = next(iter(client.query("SELECT * FROM CompanyInfo")), {})
        # CompanyInfo.Country decides the model (§1 "Detection": US files say US; branching on Country != 'US'
        # is the community recipe); a company without CompanyInfo country is taken as US, as QuickBooks' own
        # default edition
        country = str(info.get("Country") or "US")
        rates = {
            str(row["Id"]): Rate(
                str(row["Id"]),
                str(row.get("Name", "")),
                Decimal(str(row.get("RateValue", 0))),
                str(row.get("SpecialTaxType") or "NONE"),
            )
            for row in client.query("SELECT * FROM TaxRate")
        }
        codes = []
        for row in client.query("SELECT * FROM TaxCode"):
            name = str(row.get("Name", ""))
            if row.get("Active") is False or name.endswith(" (deleted)"):
                continue  # inactive codes read back as "<name> (deleted)" (§2, fyle sync_tax_codes)

            def side(key, row=row):
                details = (row.get(key) or {}).get("TaxRateDetail") or []
                found = (rates.get(str((d.get("TaxRateRef") or {}).get("value"))) for d in details)
                return tuple(r for r in found if r is not None)

            codes.append(Code(str(row["Id"]), name, side("SalesTaxRateList"), side("PurchaseTaxRateList")))
        return cls(
            country=country,
            using_sales_tax=bool(tax_prefs.get("UsingSalesTax", True)),
            automated=bool(tax_prefs.get("PartnerTaxEnabled")),
            codes=codes,
            sales_table=sales_table,
            purchase_table=purchase_table,
        )

    # --- choosing ------------------------------------------------------------------------------------------
    def names(self, side: str) -> str:
        have = [f"{c.name} ({c.percent(side).normalize():f}%)" for c in self.codes if c.rates(side)]
        return ", ".join(have) or "none"

    def named(self, name: str, side: str, where: DocumentRef, why: str) -> Choice:
        if self.us:
            value = US_LINE_CODES.get(name.strip().casefold())
            if value is None:
                raise DocumentError(
                    f"tax code {name!r} ({why}) is not a US line code: a US QuickBooks company marks lines TAX or "
                    "NON (name the tax rate with map_tax_code instead)",
                    where=where,
                    code="tax_code_missing",
                )
            return Choice(None, value, why, True)
        code = self._by_name.get(name.strip().casefold())
        if code is None:
            raise DocumentError(
                f"tax code {name!r} ({why}) is not in QuickBooks; the company's {side} codes are: {self.names(side)}",
                where=where,
                code="tax_code_missing",
            )
        if not code.rates(side):
            raise DocumentError(
                f"tax code {name!r} ({why}) has no {side} rate in QuickBooks, so it cannot go on a {side} line; "
                f"the company's {side} codes are: {self.names(side)}",
                where=where,
                code="tax_code_missing",
            )
        return Choice(code, code.id, why, True)

    def abroad(self, country: str | None) -> str | None:
        """``country`` (an order's destination) when it is known and not the company's own."""
        code = iso_country(country) if country else ""
        return code if code and code != self.country_code else None

    def out_of_scope(self, side: str) -> Code | None:
        return next((c for c in self.codes if is_out_of_scope(c, side)), None)

    def for_rate(self, rate: Decimal, side: str, where: DocumentRef, abroad: str | None = None) -> Choice:
        """The code for a line the source taxed at ``rate`` percent: the config table first; then, for tax
        charged on an order going to another country (``abroad``: German VAT on Amazon DE, a US state's sales
        tax, OSS VAT on a French order), the company's out-of-scope code: that is the other country's tax, not
        the company's (§2 "UK codes": goods sold from stock abroad are "No VAT"; exports, untaxed, stay
        zero-rated); then the company's only (or first, in QuickBooks' order) code whose rates on that side add
        up to the rate, preferring a zero-rated code for 0%. A rate without a code fails the document, naming
        the rate and the company's codes."""
        rate = Decimal(rate).normalize()
        table = self.tables[side]
        if rate in table:
            return self.named(table[rate], side, where, f"tax_codes table entry for {rate:f}%")
        if abroad and rate != 0 and (outside := self.out_of_scope(side)) is not None:
            return Choice(outside, outside.id,
                          f"{rate:f}% charged on an order to {abroad} is that country's tax, outside the scope "
                          f"of the company's ({self.country_code}): its out-of-scope code", True)
        matches = [c for c in self.codes if c.rates(side) and c.percent(side) == rate]
        if rate == 0:
            matches.sort(key=lambda c: not c.zero_rated(side))  # stable: QuickBooks' order within each group
        if not matches:
            elsewhere = f" on an order to {abroad}, and no out-of-scope code" if abroad else ""
            raise DocumentError(
                f"no {side} tax code at {rate:f}% in QuickBooks{elsewhere}: the company's {side} codes are "
                f"{self.names(side)}; add {rate:f} to the target's tax_codes table or a map_line_tax_code rule",
                where=where,
                code="tax_code_missing",
            )
        chosen = matches[0]
        others = [c.name for c in matches[1:]]
        why = f"the {side} code at {rate:f}%" + (f" (first of {chosen.name}, {', '.join(others)})" if others else "")
        return Choice(chosen, chosen.id, why)

    def by_name_or_none(self, name: str) -> Code | None:
        return self._by_name.get(name.strip().casefold())

    def us_transaction_code(self, rate: Decimal) -> Code | None:
        matches = [c for c in self.codes if c.sales and c.percent(SALES) == Decimal(rate).normalize()]
        return matches[0] if matches else None
