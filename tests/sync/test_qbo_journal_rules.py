"""The QuickBooks Online simulator's journal-entry rules (simulator/journal.py), each with the fault the reference
gives: unbalanced entries, accounts-receivable lines without a customer, tax codes without TaxApplicableOn or
TaxAmount (2270/2280), tax codes on a US company's journal lines (6470)."""

from __future__ import annotations

import pytest
from connex_quickbooks_online.simulator.company import Company
from connex_quickbooks_online.simulator.rules import Rules, SimFault


def rules_for(profile: str) -> tuple[Rules, dict]:
    company = Company(profile=profile)
    rules = Rules(company)
    accounts = {a["Name"]: a["Id"] for a in company.all("Account")}
    return rules, accounts


def line(posting: str, amount, account: str, accounts: dict, **detail) -> dict:
    return {"Amount": amount, "DetailType": "JournalEntryLineDetail",
            "JournalEntryLineDetail": {"PostingType": posting, "AccountRef": {"value": accounts[account]}, **detail}}


def code_id(rules: Rules, name: str) -> str:
    return next(c["Id"] for c in rules.company.all("TaxCode") if c["Name"] == name)


def test_a_balanced_entry_is_stored_with_its_total():
    rules, accounts = rules_for("uk")
    body = {"DocNumber": "J1", "CurrencyRef": {"value": "GBP"}, "Line": [
        line("Debit", 12.0, "Undeposited Funds", accounts),
        line("Credit", 10.0, "Sales of Product Income", accounts, TaxCodeRef={"value": code_id(rules, "20.0% S")},
             TaxApplicableOn="Sales", TaxAmount=2.0)]}
    stored = rules.create("JournalEntry", body)
    assert stored["TotalAmt"] == 12.0 and stored["TxnTaxDetail"]["TotalTax"] == 2.0
    with pytest.raises(SimFault) as dup:
        rules.create("JournalEntry", body)
    assert dup.value.code == "6140"


@pytest.mark.parametrize("change, code, element", [
    (lambda b, a, r: b["Line"][0].update(Amount=12.01), "6000", "JournalEntry.Line"),
    (lambda b, a, r: b["Line"][1]["JournalEntryLineDetail"].pop("TaxApplicableOn"), "2270", "TaxApplicableOn"),
    (lambda b, a, r: b["Line"][1]["JournalEntryLineDetail"].pop("TaxAmount"), "2280", "TaxAmount"),
    (lambda b, a, r: b["Line"][0]["JournalEntryLineDetail"].update(
        AccountRef={"value": a["Accounts Receivable (A/R)"]}),
     "6000", "Entity"),
    (lambda b, a, r: b["Line"][0].update(Amount=-12.0), "6000", "Amount"),
    (lambda b, a, r: b["Line"][1]["JournalEntryLineDetail"].update(PostingType="Both"), "2020", "PostingType"),
    (lambda b, a, r: b.update(Line=b["Line"][:1]), "2020", "JournalEntry.Line"),
])
def test_what_the_reference_refuses(change, code, element):
    rules, accounts = rules_for("uk")
    body = {"DocNumber": "J2", "CurrencyRef": {"value": "GBP"}, "Line": [
        line("Debit", 12.0, "Undeposited Funds", accounts),
        line("Credit", 10.0, "Sales of Product Income", accounts, TaxCodeRef={"value": code_id(rules, "20.0% S")},
             TaxApplicableOn="Sales", TaxAmount=2.0)]}
    change(body, accounts, rules)
    with pytest.raises(SimFault) as refused:
        rules.create("JournalEntry", body)
    assert refused.value.code == code and element in refused.value.element


def test_an_accounts_receivable_line_takes_its_customer():
    rules, accounts = rules_for("uk")
    customer = rules.company.all("Customer")[0]
    body = {"DocNumber": "J3", "CurrencyRef": {"value": "GBP"}, "Line": [
        line("Debit", 5.0, "Accounts Receivable (A/R)", accounts,
             Entity={"Type": "Customer", "EntityRef": {"value": customer["Id"]}}),
        line("Credit", 5.0, "Sales of Product Income", accounts, TaxCodeRef={"value": code_id(rules, "0.0% Z")},
             TaxApplicableOn="Sales", TaxAmount=0)]}
    assert rules.create("JournalEntry", body)["TotalAmt"] == 5.0


def test_a_us_company_refuses_tax_codes_on_journal_lines():
    rules, accounts = rules_for("us")
    body = {"DocNumber": "J4", "CurrencyRef": {"value": "USD"}, "Line": [
        line("Debit", 10.0, "Undeposited Funds", accounts),
        line("Credit", 10.0, "Sales of Product Income", accounts, TaxCodeRef={"value": "TAX"},
             TaxApplicableOn="Sales", TaxAmount=0.0)]}
    with pytest.raises(SimFault) as refused:
        rules.create("JournalEntry", body)
    assert refused.value.code == "6470"
