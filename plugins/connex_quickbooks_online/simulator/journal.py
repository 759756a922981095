"""What QuickBooks Online checks when a JournalEntry is created, and what it derives (TotalAmt, TxnTaxDetail).

Sources, all in ../shared/reference (cited per rule below):

* ``qbo-xsd/Finance.xsd`` ``JournalEntry``: "each of which is either a debit or a credit. The total of the
  debits must equal the total of the credits"; ``JournalEntryLineDetail``: ``PostingType`` (Debit|Credit),
  ``Entity``, ``AccountRef``, ``TaxCodeRef`` ("For Non US/CA Companies"), ``TaxRateRef`` ("For CA Companies"),
  ``TaxApplicableOn`` (Sales|Purchase, ``TaxApplicableOnEnum``), ``TaxAmount``.
* ``quickbooks-tax.md`` §4: "JE line code without amount | 2280 / 2270 | A tax amount is required with TaxCodeRef
  applied. / TaxApplicableOn required"; 6470 "You either selected a tax on a transaction that's not allowed".
* Lines posting to accounts receivable or payable name their customer or vendor: the reference is silent for
  QuickBooks Online (the Desktop rule is Intuit's JournalEntryAdd page, quoted by Conductor's reference); the
  stricter behaviour applies here too [UNVERIFIED for Online], with 6000.

Where the reference is silent the stricter choice is made and said so: an amount below zero is refused (Intuit's
Desktop page: "DO NOT supply negative sign for the monetary amounts"), and a line's tax is part of its side of the
balance (the UI books it to the tax liability account on the same side) [UNVERIFIED: how QuickBooks Online
balances journal tax is not in the reference].
"""

from __future__ import annotations

from decimal import Decimal

from connex_quickbooks_online.simulator.taxes import CENT, cents

LINE_DETAIL = "JournalEntryLineDetail"
POSTING_TYPES = ("Debit", "Credit")  # Finance.xsd PostingTypeEnum
TAX_APPLICABLE_ON = ("Sales", "Purchase")  # Finance.xsd TaxApplicableOnEnum
ENTITY_FOR_ACCOUNT = {"Accounts Receivable": "Customer", "Accounts Payable": "Vendor"}


def journal_entry(rules, body: dict, number_check) -> dict:
    """Validate ``body`` (a JournalEntry create) against the company of ``rules`` and store it."""
    fault, resolve, company = rules.fault_class, rules.resolve, rules.company
    number_check("JournalEntry", body)
    currency = (body.get("CurrencyRef") or {}).get("value")
    if not currency:
        # multicurrency is on in every simulated company (as for the sales transactions, rules._transaction)
        raise fault("2020", "Required param missing, need to supply the required value for the API: CurrencyRef "
                            "(multicurrency is on)", "JournalEntry.CurrencyRef")
    lines = body.get("Line")
    if not isinstance(lines, list) or len(lines) < 2:
        # Finance.xsd: "consists of journal lines, each of which is either a debit or a credit", which balance:
        # one line cannot balance anything
        raise fault("2020", "Required param missing, need to supply the required value for the API: Line "
                            "(a debit and a credit)", "JournalEntry.Line")
    global_tax = not company.profile.us and company.profile.country != "CA"
    sides = {"Debit": Decimal(0), "Credit": Decimal(0)}
    tax_by_rate: dict[str, list] = {}
    signed_tax = Decimal(0)
    for index, line in enumerate(lines):
        where = f"Line[{index}]"
        if line.get("DetailType") != LINE_DETAIL or not isinstance(line.get(LINE_DETAIL), dict):
            raise fault("2020", f"Required param missing: {where}.DetailType must be {LINE_DETAIL} with its detail",
                        f"JournalEntry.{where}.DetailType")
        detail = line[LINE_DETAIL]
        posting = detail.get("PostingType")
        if posting not in POSTING_TYPES:
            raise fault("2020", f"Required param missing, need to supply the required value for the API: "
                                f"PostingType (Debit or Credit), got {posting!r}",
                        f"JournalEntry.{where}.PostingType")
        amount = rules.decimal(line.get("Amount"), f"JournalEntry.{where}.Amount")
        if amount < 0 or amount != amount.quantize(CENT):
            raise fault("6000", f"Business Validation Error: journal amounts are positive, to the cent "
                                f"(the posting type gives the sign): {where}.Amount {amount}",
                        f"JournalEntry.{where}.Amount")
        if not detail.get("AccountRef"):
            raise fault("2020", "Required param missing, need to supply the required value for the API: AccountRef",
                        f"JournalEntry.{where}.AccountRef")
        account = resolve("Account", detail["AccountRef"], f"JournalEntry.{where}.AccountRef")
        needed = ENTITY_FOR_ACCOUNT.get(account.get("AccountType"))
        entity = detail.get("Entity") or {}
        if needed and (entity.get("Type") != needed or not entity.get("EntityRef")):
            raise fault("6000", f"Business Validation Error: a journal line on {account['Name']} "
                                f"({account['AccountType']}) must name a {needed.lower()} (Entity)",
                        f"JournalEntry.{where}.Entity")
        if entity.get("EntityRef"):
            kind = entity.get("Type")
            if kind not in ("Customer", "Vendor", "Employee"):
                raise fault("2170", f"Invalid Enumeration : Entity.Type {kind!r}", f"JournalEntry.{where}.Entity")
            party = resolve(kind, entity["EntityRef"], f"JournalEntry.{where}.Entity.EntityRef")
            party_currency = (party.get("CurrencyRef") or {}).get("value")
            if needed and party_currency and party_currency != currency:
                raise fault("6000", f"Business Validation Error: The currency of {party['DisplayName']} "
                                    f"({party_currency}) doesn't match the transaction currency ({currency})",
                            f"JournalEntry.{where}.Entity")
        for field, listed in (("ClassRef", "Class"), ("DepartmentRef", "Department")):
            if detail.get(field):
                resolve(listed, detail[field], f"JournalEntry.{where}.{field}")
        line_tax = Decimal(0)
        if detail.get("TaxCodeRef") or detail.get("TaxRateRef"):
            if not global_tax:
                # Finance.xsd: TaxCodeRef "For Non US/CA Companies", TaxRateRef "For CA Companies"; tax.md §4 6470.
                # The simulator has no CA journal tax model: CA journal tax is refused too [stricter]
                raise fault("6470", "You either selected a tax on a transaction that's not allowed, or haven't "
                                    "specified a tax rate.", f"JournalEntry.{where}.TaxCodeRef")
            if detail.get("TaxRateRef"):
                raise fault("6470", "TaxRateRef is for CA companies; use TaxCodeRef",
                            f"JournalEntry.{where}.TaxRateRef")
            if detail.get("TaxApplicableOn") not in TAX_APPLICABLE_ON:
                raise fault("2270", "TaxApplicableOn is required with TaxCodeRef applied (Sales or Purchase)",
                            f"JournalEntry.{where}.TaxApplicableOn")
            if detail.get("TaxAmount") is None:
                raise fault("2280", "A tax amount is required with TaxCodeRef applied.",
                            f"JournalEntry.{where}.TaxAmount")
            code = resolve("TaxCode", detail["TaxCodeRef"], f"JournalEntry.{where}.TaxCodeRef")
            side = "SalesTaxRateList" if detail["TaxApplicableOn"] == "Sales" else "PurchaseTaxRateList"
            rates = (code.get(side) or {}).get("TaxRateDetail") or []
            if not rates:
                # tax.md §3 "Sales vs purchase codes": a code without rates on that side cannot be used there
                raise fault("6000", f"We're sorry, QuickBooks encountered an error while calculating tax: "
                                    f"{code['Name']} has no {detail['TaxApplicableOn'].lower()} rate",
                            f"JournalEntry.{where}.TaxCodeRef")
            line_tax = rules.decimal(detail["TaxAmount"], f"JournalEntry.{where}.TaxAmount")
            if line_tax < 0 or line_tax != line_tax.quantize(CENT):
                raise fault("6000", f"Business Validation Error: {where}.TaxAmount {line_tax} must be positive, "
                                    "to the cent", f"JournalEntry.{where}.TaxAmount")
            percent = sum((Decimal(str(company.get("TaxRate", r["TaxRateRef"]["value"])["RateValue"]))
                           for r in rates), Decimal(0))
            if percent == 0 and line_tax != 0:
                raise fault("6000", f"Business Validation Error: {code['Name']} is 0%: {where} cannot carry "
                                    f"{line_tax} of tax", f"JournalEntry.{where}.TaxAmount")
            signed = line_tax if posting == "Credit" else -line_tax
            signed_tax += signed
            _split(tax_by_rate, rates, company, amount if posting == "Credit" else -amount, signed, percent)
        elif detail.get("TaxAmount") not in (None, 0):
            raise fault("6000", f"Business Validation Error: {where}.TaxAmount without a TaxCodeRef",
                        f"JournalEntry.{where}.TaxAmount")
        sides[posting] += amount + line_tax
    if sides["Debit"] != sides["Credit"]:
        raise fault("6000", f"Business Validation Error: Journal entries must balance: debits {sides['Debit']} "
                            f"and credits {sides['Credit']} (with their tax) differ by "
                            f"{sides['Debit'] - sides['Credit']}", "JournalEntry.Line")
    if currency == company.home_currency:
        body["ExchangeRate"] = 1
    else:
        rate = rules.decimal(body.get("ExchangeRate", 1), "JournalEntry.ExchangeRate")
        if rate <= 0:
            raise fault("6000", "ExchangeRate must be positive", "JournalEntry.ExchangeRate")
        body["ExchangeRate"] = rate
    sent = (body.get("TxnTaxDetail") or {}).get("TotalTax")
    if sent is not None and cents(abs(rules.decimal(sent, "JournalEntry.TxnTaxDetail.TotalTax"))) != abs(signed_tax):
        # [UNVERIFIED] stricter: the lines' TaxAmount are the journal's tax; a header total that disagrees is refused
        raise fault("6000", f"Business Validation Error: TxnTaxDetail.TotalTax {sent} is not the lines' tax "
                            f"{abs(signed_tax)}", "JournalEntry.TxnTaxDetail.TotalTax")
    if tax_by_rate:
        body["TxnTaxDetail"] = {"TotalTax": float(abs(signed_tax)), "TaxLine": [
            {"DetailType": "TaxLineDetail", "Amount": float(abs(tax)),
             "TaxLineDetail": {"TaxRateRef": {"value": rate_id}, "PercentBased": True, "TaxPercent": float(pct),
                               "NetAmountTaxable": float(abs(net))}}
            for rate_id, (pct, net, tax) in tax_by_rate.items()]}
    else:
        body.pop("TxnTaxDetail", None)
    body["TotalAmt"] = float(sides["Debit"])
    if currency != company.home_currency:
        body["HomeTotalAmt"] = float(cents(sides["Debit"] * Decimal(str(body["ExchangeRate"]))))
    return company.store("JournalEntry", body)


def _split(tax_by_rate: dict, rates: list, company, net: Decimal, signed: Decimal, percent: Decimal) -> None:
    """One TaxLine per rate (Finance.xsd TaxLineDetail.TaxRateRef: "Any given rate may only be listed once"),
    a multi-rate code's tax shared by its rates' percentages, the last taking the remainder."""
    left = signed
    for position, detail in enumerate(rates):
        rate_id = str(detail["TaxRateRef"]["value"])
        pct = Decimal(str(company.get("TaxRate", rate_id)["RateValue"]))
        share = left if position == len(rates) - 1 else cents(signed * pct / percent) if percent else Decimal(0)
        left -= share
        entry = tax_by_rate.setdefault(rate_id, [pct, Decimal(0), Decimal(0)])
        entry[1] += net  # signed as the tax is: a credit (a sale) adds, a debit (a discount, a refund) takes away
        entry[2] += share
