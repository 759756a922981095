"""What a customer owes and is owed, and the Payments that settle it (simulator): invoices, credit memos, and the
cheques or expenses that pay a credit back to the customer, all linked through Payment lines.

Sources, and the stricter choice where they are silent:
* Finance.xsd ``Payment``: "a payment from a customer applied to one or more sales transactions";
  ``Payment.UnappliedAmt`` "the amount that has not been applied"; ``CreditMemo.RemainingCredit`` "the total
  credit amount still available to apply towards the payment" (both Non QB-writable: QuickBooks computes them).
* quickbooks-online-api.md §7: ``LinkedTxn: TxnId, TxnType, TxnLineId``; the reference lists no TxnType values.
  [UNVERIFIED] The values a Payment line may link are those of Intuit's Payment reference page (Line.LinkedTxn:
  Expense, Check, CreditCardCredit, JournalEntry, CreditMemo, Invoice), which is not in /work/shared/reference and
  which the docs search did not return: read from memory of that page, so every other value is refused (2170).
  CreditCardCredit and JournalEntry are not simulated: a link to one finds nothing (2500).
* [UNVERIFIED] Intuit's Payment page describes applying a credit memo to an invoice with no money changing hands
  as a Payment of TotalAmt 0 whose lines link both. Enforced here as: the lines linking charges (invoices,
  cheques, expenses) less the lines linking credits (credit memos) is what the payment applies; it is never
  negative and never above TotalAmt; a payment of 0 must link something and apply exactly 0.
* [UNVERIFIED codes] the reference names no code for a line above an open balance or a credit memo's remaining
  credit, a zero or negative line, or a link to another customer's transaction: 6000 (business validation), the
  code §10 gives business rules.
* Purchase (Finance.xsd ``Purchase``: ``PaymentType`` Cash | Check | CreditCard, ``AccountRef``, ``EntityRef``):
  a Purchase line on an Accounts Receivable account raises what the named customer owes [UNVERIFIED: QuickBooks'
  own screens require a customer as payee for such a line; required here, 6000 otherwise], and a Payment links
  it as ``Check`` (PaymentType Check) or ``Expense`` (PaymentType Cash).
"""

from __future__ import annotations

from decimal import Decimal

from connex_quickbooks_online.simulator.taxes import cents

#: Payment LinkedTxn TxnType -> (entity, PaymentType of a Purchase): what raises the customer's balance
CHARGES = {"Invoice": ("Invoice", None), "Check": ("Purchase", "Check"), "Expense": ("Purchase", "Cash")}
#: ... and what lowers it
CREDITS = {"CreditMemo": ("CreditMemo", None)}
NOT_SIMULATED = ("CreditCardCredit", "JournalEntry")
PAYMENT_TYPES = ("Cash", "Check", "CreditCard")
AR_TYPE = "Accounts Receivable"


def _amount(value, element: str, fault) -> Decimal:
    from connex_quickbooks_online.simulator.taxes import number

    return cents(number(value, element, fault))


def applied_to(company, row: dict) -> Decimal:
    """What the Payments linking ``row`` (an invoice, credit memo or purchase) apply to it, voided ones aside."""
    total = Decimal(0)
    for link in row.get("LinkedTxn") or []:
        if link.get("TxnType") != "Payment":
            continue
        payment = company.get("Payment", link.get("TxnId"))
        if payment is None or payment.get("TxnStatus") == "Voided":
            continue
        for line in payment.get("Line") or []:
            if any(str(lt.get("TxnId")) == str(row["Id"]) for lt in line.get("LinkedTxn") or []):
                total += cents(Decimal(str(line.get("Amount", 0))))
    return total


def receivable_part(company, purchase: dict) -> Decimal:
    """The part of a purchase booked to an Accounts Receivable account: what it adds to the customer's balance."""
    part = Decimal(0)
    for line in purchase.get("Line") or []:
        account = company.get("Account", ((line.get("AccountBasedExpenseLineDetail") or {}).get("AccountRef")
                                          or {}).get("value"))
        if account is not None and account.get("AccountType") == AR_TYPE:
            part += cents(Decimal(str(line.get("Amount", 0))))
    return part


def open_amount(company, entity: str, row: dict) -> Decimal:
    if entity == "Invoice":
        return Decimal(str(row.get("Balance", 0)))
    if entity == "CreditMemo":
        return Decimal(str(row.get("RemainingCredit", 0)))
    return receivable_part(company, row) - applied_to(company, row)


def customer_of(entity: str, row: dict) -> str | None:
    ref = row.get("EntityRef") if entity == "Purchase" else row.get("CustomerRef")
    return str(ref.get("value")) if isinstance(ref, dict) and ref.get("value") is not None else None


def refresh_balances(company) -> None:
    """Customer.Balance ("the open balance amount or the amount unpaid by the customer", IntuitNamesTypes.xsd):
    open invoices and refund cheques less remaining credits and unapplied payments. Computed when customers are
    read, so every write keeps it right without tracking each one."""
    with company.lock:
        balances: dict[str, Decimal] = {}

        def add(customer: str | None, amount: Decimal) -> None:
            if customer is not None and amount:
                balances[customer] = balances.get(customer, Decimal(0)) + amount

        for row in company.all("Invoice"):
            if row.get("TxnStatus") != "Voided":
                add(customer_of("Invoice", row), Decimal(str(row.get("Balance", 0))))
        for row in company.all("CreditMemo"):
            add(customer_of("CreditMemo", row), -Decimal(str(row.get("RemainingCredit", 0))))
        for row in company.all("Payment"):
            if row.get("TxnStatus") != "Voided":
                add(customer_of("Payment", row), -Decimal(str(row.get("UnappliedAmt", 0))))
        for row in company.all("Purchase"):
            ref = row.get("EntityRef") or {}
            if company.get("Customer", ref.get("value")) is not None:
                add(customer_of("Purchase", row), open_amount(company, "Purchase", row))
        for customer in company.all("Customer"):
            customer["Balance"] = float(cents(balances.get(str(customer["Id"]), Decimal(0))))


def plan_payment(rules, body: dict, customer: dict, total: Decimal, fault) -> list[tuple[str, dict, Decimal]]:
    """The Payment's lines checked against what they link: [(entity, row, amount)], charges and credits."""
    plan: list[tuple[str, dict, Decimal]] = []
    charges = credits = Decimal(0)
    for line in body.get("Line") or []:
        amount = _amount(line.get("Amount", 0), "Payment.Line.Amount", fault)
        links = line.get("LinkedTxn") or []
        if len(links) != 1 or not links[0].get("TxnId") or not links[0].get("TxnType"):
            raise fault("2020", "A payment line needs one LinkedTxn with TxnId and TxnType", "Payment.Line.LinkedTxn")
        kind = links[0]["TxnType"]
        if kind not in CHARGES and kind not in CREDITS and kind not in NOT_SIMULATED:
            raise fault("2170", f"Invalid Enumeration : LinkedTxn.TxnType {kind} on a Payment",
                        "Payment.Line.LinkedTxn.TxnType")
        if amount <= 0:
            raise fault("6000", f"Business Validation Error: a payment line must apply an amount above zero "
                                f"({amount})", "Payment.Line.Amount")
        entity, payment_type = CHARGES.get(kind) or CREDITS.get(kind) or (kind, None)
        row = rules._resolve(entity, {"value": links[0]["TxnId"]}, "Payment.Line.LinkedTxn.TxnId")
        if payment_type is not None and row.get("PaymentType") != payment_type:
            raise fault("2500", f"Invalid Reference Id : {kind} {row['Id']} is a {row.get('PaymentType')} purchase",
                        "Payment.Line.LinkedTxn.TxnId")
        if customer_of(entity, row) != str(customer["Id"]):
            raise fault("6000", f"Business Validation Error: {kind} {row['Id']} belongs to another customer",
                        "Payment.Line.LinkedTxn")
        if row.get("TxnStatus") == "Voided":
            raise fault("6000", f"Business Validation Error: {kind} {row['Id']} is void", "Payment.Line.LinkedTxn")
        owed = open_amount(rules.company, entity, row) - sum((a for _, r, a in plan if r is row), Decimal(0))
        if amount > owed:
            what = "remaining credit" if kind in CREDITS else "open balance"
            raise fault("6000", f"Business Validation Error: the payment applies {amount} to {kind} {row['Id']}, "
                                f"whose {what} is {owed}", "Payment.Line.Amount")
        if kind in CREDITS:
            credits += amount
        else:
            charges += amount
        plan.append((entity, row, amount))
    applied = charges - credits
    if applied < 0:
        raise fault("6000", f"Business Validation Error: the credits linked ({credits}) are more than the charges "
                            f"they pay ({charges})", "Payment.Line")
    if applied > total:
        raise fault("6000", f"Business Validation Error: the lines apply {applied}, more than the payment's "
                            f"TotalAmt {total}", "Payment.TotalAmt")
    if total == 0 and not plan:
        raise fault("6000", "Business Validation Error: a payment of 0 must link the transactions it settles",
                    "Payment.Line")
    return plan


def apply_plan(company, payment: dict, plan) -> None:
    """The linked transactions after the payment: lower balances and credits, a LinkedTxn back to the payment."""
    for entity, row, amount in plan:
        if entity == "Invoice":
            row["Balance"] = float(cents(Decimal(str(row["Balance"])) - amount))
        elif entity == "CreditMemo":
            row["RemainingCredit"] = float(cents(Decimal(str(row["RemainingCredit"])) - amount))
        links = row.setdefault("LinkedTxn", [])
        if not any(lt.get("TxnId") == payment["Id"] for lt in links):
            links.append({"TxnId": payment["Id"], "TxnType": "Payment"})
        company.touch(row)


def release_payment(company, payment: dict) -> None:
    """A voided payment gives back what it applied (invoice balances, credit memo credits)."""
    for line in payment.get("Line") or []:
        amount = cents(Decimal(str(line.get("Amount", 0))))
        for link in line.get("LinkedTxn") or []:
            if link.get("TxnType") == "Invoice" and (invoice := company.get("Invoice", link.get("TxnId"))):
                invoice["Balance"] = float(cents(Decimal(str(invoice["Balance"])) + amount))
                company.touch(invoice)
            elif link.get("TxnType") == "CreditMemo" and (memo := company.get("CreditMemo", link.get("TxnId"))):
                memo["RemainingCredit"] = float(cents(Decimal(str(memo["RemainingCredit"])) + amount))
                company.touch(memo)


def purchase(rules, body: dict, fault) -> dict:
    """A cheque, cash expense or card charge (Finance.xsd ``Purchase``): PaymentType and AccountRef (the account
    the money leaves) are required [UNVERIFIED: Intuit's Purchase page marks both required; the XSD marks nothing],
    a cheque's account must be a Bank account, a card charge's a Credit Card account, a cash expense's a Bank or
    Other Current Asset account [UNVERIFIED, the stricter reading]; lines are account-based; a line on Accounts
    Receivable needs a customer as EntityRef; DocNumber at most 21 and unique among purchases (reference §8)."""
    company = rules.company
    for field in ("PaymentType", "AccountRef"):
        if body.get(field) in (None, ""):
            raise fault("2020", f"Required param missing, need to supply the required value for the API: {field}",
                        f"Purchase.{field}")
    if body["PaymentType"] not in PAYMENT_TYPES:
        raise fault("2170", f"Invalid Enumeration : {body['PaymentType']}", "Purchase.PaymentType")
    account = rules._resolve("Account", body["AccountRef"], "Purchase.AccountRef")
    allowed = {"Check": ("Bank",), "CreditCard": ("Credit Card",), "Cash": ("Bank", "Other Current Asset")}
    if account.get("AccountType") not in allowed[body["PaymentType"]]:
        raise fault("6000", f"Business Validation Error: a {body['PaymentType']} purchase is paid from a "
                            f"{' or '.join(allowed[body['PaymentType']])} account, not {account.get('AccountType')}",
                    "Purchase.AccountRef")
    number = body.get("DocNumber")
    if number is not None:
        if len(str(number)) > 21:
            raise fault("2050", "String length is either shorter or longer than supported by specification. "
                                "DocNumber:Max:21", "Purchase.DocNumber")
        holder = company.by_name("Purchase", "DocNumber", str(number))
        if holder is not None:
            raise fault("6140", "Duplicate Document Number Error : You must specify a different number. This number "
                                f"has already been used. DocNumber={number} is assigned to TxnType=Check with "
                                f"TxnId={holder['Id']}")
    payee = None
    if body.get("EntityRef"):
        ref = body["EntityRef"]
        kind = ref.get("type") if isinstance(ref, dict) else None
        for entity in ((kind,) if kind in ("Customer", "Vendor", "Employee") else ("Customer", "Vendor", "Employee")):
            if company.get(entity, (ref or {}).get("value")) is not None:
                payee = (entity, rules._resolve(entity, ref, "Purchase.EntityRef"))
                break
        if payee is None:
            raise fault("2500", f"Invalid Reference Id : EntityRef {ref} does not exist", "Purchase.EntityRef")
    currency = (body.get("CurrencyRef") or {}).get("value")
    if not currency:
        raise fault("2020", "Required param missing, need to supply the required value for the API: CurrencyRef "
                            "(multicurrency is on)", "Purchase.CurrencyRef")
    if payee is not None and payee[1]["CurrencyRef"]["value"] != currency:
        raise fault("6000", f"Business Validation Error: The currency of {payee[1]['DisplayName']} doesn't match the "
                            f"transaction currency ({currency})", "Purchase.CurrencyRef")
    lines = body.get("Line")
    if not isinstance(lines, list) or not lines:
        raise fault("2020", "Required param missing, need to supply the required value for the API: Line",
                    "Purchase.Line")
    total = Decimal(0)
    for number_in_doc, line in enumerate(lines, start=1):
        if not isinstance(line, dict) or line.get("DetailType") != "AccountBasedExpenseLineDetail":
            raise fault("2170", "Invalid Enumeration : DetailType (this simulator takes account-based purchase "
                                "lines)", "Purchase.Line.DetailType")
        amount = _amount(line.get("Amount"), "Purchase.Line.Amount", fault) if "Amount" in line else None
        if amount is None or amount <= 0:
            raise fault("2020", "Required param missing, need to supply the required value for the API: Amount "
                                "(above zero)", "Purchase.Line.Amount")
        detail = line.get("AccountBasedExpenseLineDetail") or {}
        line_account = rules._resolve("Account", detail.get("AccountRef"),
                                      "Purchase.Line.AccountBasedExpenseLineDetail.AccountRef")
        if line_account.get("AccountType") == AR_TYPE and (payee is None or payee[0] != "Customer"):
            raise fault("6000", "Business Validation Error: a line on Accounts Receivable needs a customer as the "
                                "payee (EntityRef)", "Purchase.EntityRef")
        line["Id"], line["LineNum"] = str(number_in_doc), number_in_doc
        total += amount
    if currency == company.home_currency:
        body["ExchangeRate"] = 1
    body["TotalAmt"] = float(cents(total))
    return company.store("Purchase", body)
