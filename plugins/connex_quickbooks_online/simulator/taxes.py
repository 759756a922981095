"""How QuickBooks Online taxes a transaction, for the company's profile: the checks it makes and the tax it
computes from the codes on the lines, so a wrong code gives a wrong (or refused) total.

Every rule cites ../shared/reference/quickbooks-tax.md ("tax.md" below) by section. Where the reference is silent
or [UNVERIFIED] the stricter behaviour is chosen and said so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
GLOBAL_TAX_CALCULATION = ("TaxInclusive", "TaxExcluded", "NotApplicable")  # tax.md §1 (not "TaxIncluded")
US_LINE_CODES = ("TAX", "NON")
TAX_ENGINE_FAILURE = (
    "We're sorry, QuickBooks encountered an error while calculating tax. Try reselecting the tax rate or "
    "reentering the product/service item and saving the form again."
)
TAXED_DETAILS = (
    "SalesItemLineDetail",
    "DiscountLineDetail",
    "ItemBasedExpenseLineDetail",
    "AccountBasedExpenseLineDetail",
)


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def number(value, element: str, fault) -> Decimal:
    if isinstance(value, bool) or value is None:
        raise fault("2010", f"Property Name:{element} expects a number", element)
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise fault("2010", f"Property Name:{element} expects a number, got {value!r}", element) from None


@dataclass
class RateTotal:
    rate: dict
    net: Decimal = Decimal(0)
    tax: Decimal = Decimal(0)
    lines: int = 0
    codes: set = field(default_factory=set)


class TaxEngine:
    """``apply(entity, body, lines)`` checks the tax parts of a create and returns the transaction's total tax,
    after writing QuickBooks' own ``TxnTaxDetail`` (and ``TaxInclusiveAmt``) into ``body``."""

    def __init__(self, company, resolve, fault):
        self.company = company
        self.resolve = resolve  # Rules._resolve: 2500 for an unknown Id, 610 for an inactive one
        self.fault = fault  # SimFault

    @property
    def profile(self):
        return self.company.profile

    def apply(self, entity: str, body: dict, purchase: bool) -> Decimal:
        if self.profile.us:
            return self._us(entity, body, purchase)
        return self._global(entity, body, purchase)

    # --- US model -------------------------------------------------------------------------------------------
    def _us(self, entity: str, body: dict, purchase: bool) -> Decimal:
        if purchase:
            # a US company's tax codes are sales tax only (tax.md §2: no PurchaseTaxRateList on its codes) and its
            # TxnTaxDetail names the customer's tax code and the sales tax (Finance.xsd TxnTaxDetail): a purchase
            # records no tax, TotalAmt is its lines ("TotalAmt is always computed by QBO", tax.md §3)
            body.pop("TxnTaxDetail", None)
            return Decimal(0)
        detail = body.get("TxnTaxDetail") or {}
        sent = detail.get("TotalTax")
        taxable = Decimal(0)
        for index, line in enumerate(body.get("Line") or []):
            kind = line.get("DetailType")
            data = line.get(kind) if isinstance(line.get(kind), dict) else None
            if kind not in ("SalesItemLineDetail", "DiscountLineDetail") or data is None:
                continue
            code = (data.get("TaxCodeRef") or {}).get("value")
            if code is None:
                # tax.md §3 "US": "A line without a code has counted as TAX since April 2018"
                code = "TAX"
            elif code not in US_LINE_CODES:
                # tax.md §4: 6100 "Invalid Line TaxCode in the request" (stackoverflow q 30780062)
                raise self.fault(
                    "6100",
                    f"Valid line TaxCodes for US should be TAX or NON. Supplied value: {code}",
                    f"Line.{kind}.TaxCodeRef",
                    message="Invalid Line TaxCode in the request",
                )
            if code == "TAX":
                amount = cents(number(line.get("Amount", 0), f"Line[{index}].Amount", self.fault))
                taxable += -abs(amount) if kind == "DiscountLineDetail" else amount
        code_ref = detail.get("TxnTaxCodeRef")
        rates: list[dict] = []
        if code_ref is not None:
            code = self.resolve("TaxCode", code_ref, f"{entity}.TxnTaxDetail.TxnTaxCodeRef")
            rates = self._rates(code, "SalesTaxRateList")
        elif self.profile.automated_sales_tax and not purchase:
            # AST computes from the ship-to state (tax.md §3 "US"); the simulator's state table is its codes
            state = (body.get("ShipAddr") or {}).get("CountrySubDivisionCode") or ""
            code = self._us_code_for_state(state)
            rates = self._rates(code, "SalesTaxRateList") if code else []
        computed = sum((cents(taxable * Decimal(str(r["RateValue"])) / 100) for r in rates), Decimal(0))
        if sent is not None and (self.profile.automated_sales_tax or code_ref is not None):
            # AST honours an explicit tax amount (tax.md §3 "US", Intuit blog 2017-12-11); a manual-tax company
            # takes a TotalTax override with its TxnTaxCodeRef (§3 "US": "optionally a TotalTax override")
            total = cents(number(sent, f"{entity}.TxnTaxDetail.TotalTax", self.fault))
        else:
            total = computed
        body["TxnTaxDetail"] = {**detail, "TotalTax": float(total)}
        return total

    def _us_code_for_state(self, state: str) -> dict | None:
        names = {"CA": "California", "NY": "New York City"}
        name = names.get(state.upper())
        return self.company.by_name("TaxCode", "Name", name) if name else None

    # --- global model (UK, CA, AU...) -----------------------------------------------------------------------
    def _rates(self, code: dict, side: str) -> list[dict]:
        details = (code.get(side) or {}).get("TaxRateDetail") or []
        return [self.company.get("TaxRate", (d.get("TaxRateRef") or {}).get("value")) for d in details]

    def _global(self, entity: str, body: dict, purchase: bool) -> Decimal:
        mode = body.get("GlobalTaxCalculation")
        if mode is None:
            # tax.md §1: "required for non-US companies"; the exact fault is not documented, 2020 is the generic
            # required-field fault (stricter choice)
            raise self.fault(
                "2020",
                "Required param missing, need to supply the required value for the API: GlobalTaxCalculation",
                f"{entity}.GlobalTaxCalculation",
            )
        if mode not in GLOBAL_TAX_CALCULATION:
            raise self.fault("2170", f"Invalid Enumeration : {mode}", f"{entity}.GlobalTaxCalculation")
        detail = body.get("TxnTaxDetail")
        if mode == "NotApplicable" and detail:
            # tax.md §4: 6170, Intuit error table
            raise self.fault(
                "6170",
                "The TxnTaxDetail attribute isn't allowed when GlobalTaxCalculation is set to NotApplicable.",
                f"{entity}.TxnTaxDetail",
            )
        detail = detail or {}
        side = "PurchaseTaxRateList" if purchase else "SalesTaxRateList"
        totals: dict[str, RateTotal] = {}
        codes_used: dict[str, dict] = {}
        for index, line in enumerate(body.get("Line") or []):
            kind = line.get("DetailType")
            data = line.get(kind)
            if kind not in TAXED_DETAILS or not isinstance(data, dict):
                continue
            element = f"Line[{index}].{kind}.TaxCodeRef"
            if not data.get("TaxCodeRef"):
                if detail.get("TxnTaxCodeRef") and self.profile.country == "CA":
                    # tax.md §4: a TxnTaxCodeRef alone was refused in CA (quickbooks-ruby#322)
                    raise self.fault(
                        "6000",
                        "Business Validation Error: One or more transaction lines do not have a tax code "
                        "associated with it. Please assign a tax code for those lines",
                        element,
                    )
                # tax.md §3 "Line codes" and §4: every line needs a code, zero-rated included (mcp-server#94 UK,
                # quickbooks-ruby#351 CA; the AU wording is [UNVERIFIED]). Discount lines carry one too (XSD);
                # requiring it there is the stricter reading.
                raise self.fault("6000", f"Business Validation Error: {self.profile.missing_code_text}", element)
            code = self.resolve("TaxCode", data["TaxCodeRef"], element)
            rates = self._rates(code, side)
            if not rates:
                # tax.md §3 "Sales vs purchase codes": sales lines need a SalesTaxRateList, purchase lines a
                # PurchaseTaxRateList; the fault is 6470 (§4 "Disallowed tax")
                raise self.fault(
                    "6470",
                    "You either selected a tax on a transaction that's not allowed, or haven't specified a tax "
                    f"rate. ({code['Name']} has no {'purchase' if purchase else 'sales'} rate)",
                    element,
                )
            codes_used[str(code["Id"])] = code
            net = cents(number(line.get("Amount", 0), f"Line[{index}].Amount", self.fault))
            if kind == "DiscountLineDetail":
                net = -abs(net)
            line_tax = Decimal(0)
            for rate in rates:
                # tax.md §7: tax per line, TaxOnAmount; §3 "Rounding": per line
                tax = cents(net * Decimal(str(rate["RateValue"])) / 100)
                total = totals.setdefault(str(rate["Id"]), RateTotal(rate))
                total.net += net
                total.tax += tax
                total.lines += 1
                total.codes.add(str(code["Id"]))
                line_tax += tax
            if mode == "TaxInclusive" and kind != "DiscountLineDetail" and "TaxInclusiveAmt" not in data:
                # tax.md §3: Amount is the net, TaxInclusiveAmt the gross
                data["TaxInclusiveAmt"] = float(net + line_tax)
        overrides = self._overrides(entity, detail, totals, codes_used, side)
        tax_lines = []
        grand = Decimal(0)
        for rate_id, total in totals.items():
            amount = overrides.get(rate_id, total.tax)
            grand += amount
            tax_lines.append(
                {
                    "Amount": float(amount),
                    "DetailType": "TaxLineDetail",
                    "TaxLineDetail": {
                        "TaxRateRef": {"value": rate_id, "name": total.rate["Name"]},
                        "PercentBased": True,
                        "TaxPercent": total.rate["RateValue"],
                        "NetAmountTaxable": float(total.net),
                    },
                }
            )
        if mode == "NotApplicable":
            body.pop("TxnTaxDetail", None)
            return Decimal(0)
        # tax.md §3 "Recompute vs override": TotalTax alone is recalculated; the total is QuickBooks' own
        body["TxnTaxDetail"] = {"TotalTax": float(grand), "TaxLine": tax_lines}
        return grand

    def _overrides(self, entity: str, detail: dict, totals, codes_used, side) -> dict[str, Decimal]:
        """Per-rate TaxLine amounts the request gives (tax.md §3 "Recompute vs override")."""
        found: dict[str, Decimal] = {}
        for index, tax_line in enumerate(detail.get("TaxLine") or []):
            element = f"{entity}.TxnTaxDetail.TaxLine[{index}]"
            if not isinstance(tax_line, dict) or not tax_line.get("DetailType"):
                # tax.md §4 (quickbooks-ruby#529); the code is [UNVERIFIED]: 2020, the required-field fault
                raise self.fault("2020", "TxnTaxDetail.TaxLine.DetailTypeEnum is missing in the request", element)
            rate_ref = (tax_line.get("TaxLineDetail") or {}).get("TaxRateRef") or {}
            rate = self.company.get("TaxRate", rate_ref.get("value"))
            if rate is None:
                # tax.md §4: 2500 "Invalid Reference Id : TaxRate" (quickbooks-ruby#268)
                raise self.fault(
                    "2500", f"Invalid Reference Id : TaxRate {rate_ref.get('value')}", f"{element}.TaxRateRef"
                )
            rate_id = str(rate["Id"])
            if rate_id not in totals or rate_id in found:
                # XSD TaxLineDetail.TaxRateRef (tax.md §3): the rate "must be referenced by a TaxCode used on a
                # transaction line. Any given rate may only be listed once". The fault is not documented; the tax
                # engine failure (6000) is the stricter choice.
                raise self.fault("6000", f"Business Validation Error: {TAX_ENGINE_FAILURE}", f"{element}.TaxRateRef")
            amount = cents(number(tax_line.get("Amount", 0), f"{element}.Amount", self.fault))
            total = totals[rate_id]
            # The reference shows overrides a cent from QuickBooks' own figure kept (quickbooks-ruby#547) and says
            # nothing of larger ones; the simulator refuses an override further from its own per-line computation
            # than a cent per line (stricter choice), so a wrong code cannot hide behind an override.
            if abs(amount - total.tax) > CENT * (total.lines + 1):
                raise self.fault(
                    "6000",
                    f"Business Validation Error: {TAX_ENGINE_FAILURE} (TaxLine for {rate['Name']}: {amount}, "
                    f"computed {total.tax})",
                    f"{element}.Amount",
                )
            found[rate_id] = amount
        if found:
            # "You must send all TaxRateRefs of a TaxCode even if you are modifying just one of them" (tax.md §3)
            for code in codes_used.values():
                details = (code.get(side) or {}).get("TaxRateDetail") or []
                ids = [str((d.get("TaxRateRef") or {}).get("value")) for d in details]
                if any(i in found for i in ids) and not all(i in found for i in ids):
                    raise self.fault(
                        "6000",
                        f"Business Validation Error: all tax rates of tax code {code['Name']} must be given when "
                        "overriding its tax",
                        f"{entity}.TxnTaxDetail.TaxLine",
                    )
        return found
