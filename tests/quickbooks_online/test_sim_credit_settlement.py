"""The QuickBooks Online simulator settles credit memos as QuickBooks does and refuses what it refuses
(simulator/settlement.py names the sources): a Payment links invoices, credit memos and refund cheques of its
customer; no line above an open balance or a remaining credit; credits never above the charges they pay; a payment
of 0 links something and applies exactly 0; only the LinkedTxn types a Payment takes."""

from __future__ import annotations

import pytest
from connex_quickbooks_online.simulator.rules import SimFault


@pytest.fixture
def books(sim):
    rules = sim.rules
    customer = rules.create("Customer", {"DisplayName": "Credit Tester", "CurrencyRef": {"value": "USD"}})
    other = rules.create("Customer", {"DisplayName": "Someone Else", "CurrencyRef": {"value": "USD"}})
    item = sim.entity("Item", Name="Blue Mug")

    def sale(entity, number, amount, who=customer):
        return rules.create(entity, {
            "DocNumber": number, "CustomerRef": {"value": who["Id"]}, "CurrencyRef": {"value": "USD"},
            "Line": [{"Amount": amount, "DetailType": "SalesItemLineDetail",
                      "SalesItemLineDetail": {"ItemRef": {"value": item["Id"]}, "Qty": 1, "UnitPrice": amount,
                                              "TaxCodeRef": {"value": "NON"}}}]})

    return rules, customer, other, sale


def pay(customer, total, *links):
    return {"CustomerRef": {"value": customer["Id"]}, "CurrencyRef": {"value": "USD"}, "TotalAmt": total,
            "Line": [{"Amount": amount, "LinkedTxn": [{"TxnId": row["Id"], "TxnType": kind}]}
                     for kind, row, amount in links]}


def cheque(rules, customer, amount, number="CHQ-1", account="Checking", payment_type="Check"):
    bank = rules.company.by_name("Account", "Name", account)
    receivable = rules.company.by_name("Account", "Name", "Accounts Receivable (A/R)")
    return rules.create("Purchase", {
        "PaymentType": payment_type, "AccountRef": {"value": bank["Id"]}, "DocNumber": number,
        "EntityRef": {"value": customer["Id"], "type": "Customer"}, "CurrencyRef": {"value": "USD"},
        "Line": [{"Amount": amount, "DetailType": "AccountBasedExpenseLineDetail",
                  "AccountBasedExpenseLineDetail": {"AccountRef": {"value": receivable["Id"]}}}]})


def fault(call) -> SimFault:
    with pytest.raises(SimFault) as caught:
        call()
    return caught.value


def test_a_credit_memo_applied_to_an_invoice_by_a_payment_of_zero(books):
    rules, customer, _, sale = books
    invoice, memo = sale("Invoice", "INV-1", 30.0), sale("CreditMemo", "CM-1", 12.0)
    assert memo["RemainingCredit"] == 12.0
    settled = rules.create("Payment", pay(customer, 0, ("Invoice", invoice, 12), ("CreditMemo", memo, 12)))
    assert settled["UnappliedAmt"] == 0 and invoice["Balance"] == 18.0 and memo["RemainingCredit"] == 0
    assert memo["LinkedTxn"] == [{"TxnId": settled["Id"], "TxnType": "Payment"}]
    # voided, the payment gives both back
    rules.void("Payment", {"Id": settled["Id"], "SyncToken": settled["SyncToken"], "sparse": True})
    assert invoice["Balance"] == 30.0 and memo["RemainingCredit"] == 12.0


def test_what_a_settlement_may_not_do(books):
    rules, customer, other, sale = books
    invoice, memo = sale("Invoice", "INV-1", 10.0), sale("CreditMemo", "CM-1", 12.0)
    # more than the invoice owes, more than the memo holds
    assert fault(lambda: rules.create("Payment", pay(customer, 0, ("Invoice", invoice, 11),
                                                    ("CreditMemo", memo, 11)))).code == "6000"
    assert fault(lambda: rules.create("Payment", pay(customer, 13, ("Invoice", invoice, 10),
                                                    ("CreditMemo", memo, 13)))).code == "6000"
    # credits above the charges: the payment would be negative
    assert fault(lambda: rules.create("Payment", pay(customer, 0, ("Invoice", invoice, 5),
                                                    ("CreditMemo", memo, 6)))).code == "6000"
    # a payment of 0 that applies nothing, or links nothing
    assert fault(lambda: rules.create("Payment", pay(customer, 0))).code == "6000"
    assert fault(lambda: rules.create("Payment", pay(customer, 0, ("Invoice", invoice, 0)))).code == "6000"
    # a type a Payment does not link, and another customer's credit
    receipt = sale("SalesReceipt", "SR-1", 5.0)
    assert fault(lambda: rules.create("Payment", pay(customer, 5, ("SalesReceipt", receipt, 5)))).code == "2170"
    theirs = sale("CreditMemo", "CM-2", 4.0, who=other)
    assert fault(lambda: rules.create("Payment", pay(customer, 0, ("Invoice", invoice, 4),
                                                    ("CreditMemo", theirs, 4)))).code == "6000"
    # a memo applied cannot be deleted, nor its total fall below what is applied
    rules.create("Payment", pay(customer, 0, ("Invoice", invoice, 10), ("CreditMemo", memo, 10)))
    assert fault(lambda: rules.delete("CreditMemo", {"Id": memo["Id"], "SyncToken": memo["SyncToken"]})).code == "6000"
    assert invoice["Balance"] == 0 and memo["RemainingCredit"] == 2.0


def test_a_cheque_pays_a_credit_back_and_the_customer_owes_nothing(sim, books):
    rules, customer, _, sale = books
    invoice = sale("Invoice", "INV-1", 20.0)
    rules.create("Payment", pay(customer, 20, ("Invoice", invoice, 20)))
    memo = sale("CreditMemo", "CM-1", 8.0)
    sim.entities("Customer")  # balances are computed when customers are read
    assert rules.company.get("Customer", customer["Id"])["Balance"] == -8.0
    # a cheque must come from a bank account, and a line on A/R needs a customer
    assert fault(lambda: cheque(rules, customer, 8, account="Undeposited Funds")).code == "6000"
    paid_back = cheque(rules, customer, 8)
    assert fault(lambda: cheque(rules, customer, 1)).code == "6140"  # its number is taken
    # a cheque is linked as Check (an expense would be Expense), never above what it put on the customer
    assert fault(lambda: rules.create("Payment", pay(customer, 0, ("Expense", paid_back, 8),
                                                    ("CreditMemo", memo, 8)))).code == "2500"
    assert fault(lambda: rules.create("Payment", pay(customer, 0, ("Check", paid_back, 9),
                                                    ("CreditMemo", memo, 9)))).code == "6000"
    rules.create("Payment", pay(customer, 0, ("Check", paid_back, 8), ("CreditMemo", memo, 8)))
    assert {c["DisplayName"]: c["Balance"] for c in sim.entities("Customer")}["Credit Tester"] == 0
    assert memo["RemainingCredit"] == 0
