"""Journal-entry summaries end to end: Linnworks simulator -> the real engine -> QuickBooks Online simulator (UK
and US tax profiles), and weekly and monthly receipt summaries across a month of orders with late arrivals.

Each journal entry debits the orders' total to the clearing account and credits the income, shipping and tax, in
balance to the cent (the simulator refuses anything else); every order is in exactly one summary."""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from decimal import Decimal

import pytest
from connex_linnworks.simulator import LinnworksSimulator
from connex_quickbooks_online.simulator import QuickBooksOnlineSimulator

from connex.documents import JournalDocument, Line, Party
from connex.sync.summarise import SummarySettings
from connex.sync.summary_journal import as_journal
from tests.conftest import in_ci
from tests.sync.test_summary_postings import at, check_totals, links, run, seed
from tests.tax.tax_support import cents


def write_config(folder, lw, qbo, rules=(), **summary):
    config = {
        "source": {"plugin": "linnworks", **lw.connector_config()},
        "target": {"plugin": "quickbooks_online", "missing_items": "create_non_inventory", **qbo.connector_config()},
        "sync": {"from_date": "2020-01-01", "customer_matching": "store_name_currency", "posting": "summary",
                 "summary": summary},
        "state": "connex.db",
    }
    if rules:
        path = folder / "summary_rules.yaml"
        path.write_text(json.dumps({"kind": "rules", "rules": list(rules)}), encoding="utf-8")
        config["rules"] = [str(path)]
    (folder / "connex.yaml").write_text(json.dumps(config), encoding="utf-8")


def orders_by_number(lw) -> dict[str, dict]:
    return {str(o["NumOrderId"]): o for _, _, oid in lw.account.processed_index if (o := lw.account.order(oid))}


def journal_sides(entry: dict) -> tuple[Decimal, Decimal]:
    sides = {"Debit": Decimal(0), "Credit": Decimal(0)}
    for line in entry["Line"]:
        detail = line["JournalEntryLineDetail"]
        sides[detail["PostingType"]] += Decimal(str(line["Amount"])) + Decimal(str(detail.get("TaxAmount", 0)))
    return sides["Debit"], sides["Credit"]


def check_journals(qbo, lw, held: dict[str, str], debit_account: str = "Undeposited Funds") -> list[dict]:
    """Every journal entry debits its orders' total to the clearing account, balances, and carries their tax."""
    orders = orders_by_number(lw)
    members = defaultdict(list)
    for number, summary in held.items():
        members[summary].append(orders[number])
    accounts = {a["Id"]: a["Name"] for a in qbo.entities("Account")}
    entries = qbo.entities("JournalEntry")
    assert entries
    for entry in entries:
        held_orders = members[entry["DocNumber"]]
        gross = sum((cents(o["TotalsInfo"]["TotalCharge"]) for o in held_orders), Decimal(0))
        tax = sum((cents(o["TotalsInfo"]["Tax"]) for o in held_orders), Decimal(0))
        debit, credit = journal_sides(entry)
        assert debit == credit == Decimal(str(entry["TotalAmt"]))
        clearing = entry["Line"][0]
        assert accounts[clearing["JournalEntryLineDetail"]["AccountRef"]["value"]] == debit_account
        assert Decimal(str(clearing["Amount"])) == gross, entry["DocNumber"]
        assert f"Summary of {len(held_orders)} orders" in entry["PrivateNote"]
        carried = sum((Decimal(str(ln["JournalEntryLineDetail"].get("TaxAmount", 0))) for ln in entry["Line"]),
                      Decimal(0))
        tax_lines = [ln for ln in entry["Line"][1:] if accounts[ln["JournalEntryLineDetail"]["AccountRef"]["value"]]
                     == "Sales Tax Payable"]
        if tax_lines:  # a US company: the tax is one credit to the tax account
            assert sum(Decimal(str(ln["Amount"])) for ln in tax_lines) == tax
        else:  # global: each line's tax with its code; the discount's comes off
            assert Decimal(str(entry["TxnTaxDetail"]["TotalTax"])) == tax, entry["DocNumber"]
            assert carried >= tax
    return entries


@pytest.mark.parametrize("profile", ["uk", "us"])
def test_journal_entry_summaries_balance_to_the_cent(tmp_path, monkeypatch, profile):
    with LinnworksSimulator(processed_orders=0, open_orders=0, purchase_orders=0, refunds=False) as lw, \
            QuickBooksOnlineSimulator(company=profile, enforce_limits=False) as qbo:
        qbo.company.store("Account", {"Name": "Sales Tax Payable", "AccountType": "Other Current Liability",
                                      "AccountSubType": "SalesTaxPayable", "Active": True,
                                      "CurrencyRef": {"value": qbo.company.home_currency}})
        for day in (5, 6):
            seed(lw, profile, day, 6)
        summary = {"document": "journal_entry"}
        if profile == "us":
            summary["tax_account"] = "Sales Tax Payable"
        write_config(tmp_path, lw, qbo, **summary)
        reports = run(tmp_path, at(7, 6), monkeypatch=monkeypatch)
        assert not reports["orders"].failures, reports["orders"].failures
        held = links(tmp_path)
        assert len(held) == 12
        entries = check_journals(qbo, lw, held)
        assert {e["DocNumber"] for e in entries} == set(held.values())  # every summary once, as a journal entry
        assert qbo.entities("SalesReceipt") == []
        if profile == "uk":
            coded = [ln for e in entries for ln in e["Line"] if ln["JournalEntryLineDetail"].get("TaxCodeRef")]
            assert coded and all(ln["JournalEntryLineDetail"]["TaxApplicableOn"] == "Sales" for ln in coded)
        # another pass posts nothing twice
        run(tmp_path, at(8, 6), monkeypatch=monkeypatch)
        assert len(qbo.entities("JournalEntry")) == len(entries)


def test_a_us_journal_summary_with_tax_and_no_tax_account_fails_naming_the_setting(tmp_path, monkeypatch):
    with LinnworksSimulator(processed_orders=0, open_orders=0, purchase_orders=0, refunds=False) as lw, \
            QuickBooksOnlineSimulator(company="us", enforce_limits=False) as qbo:
        seed(lw, "us", 5, 3)
        write_config(tmp_path, lw, qbo, document="journal_entry")
        reports = run(tmp_path, at(7, 6), monkeypatch=monkeypatch)
        failures = reports["orders"].failures
        assert failures and all("sync.summary.tax_account" in reason for _, reason in failures), failures
        assert qbo.entities("JournalEntry") == []
        assert len(links(tmp_path)) == 3  # the orders stay in their summary, for --retry-failed


def test_a_rule_puts_one_channel_into_journal_entries_debited_to_its_own_account(tmp_path, monkeypatch):
    with LinnworksSimulator(processed_orders=0, open_orders=0, purchase_orders=0, refunds=False) as lw, \
            QuickBooksOnlineSimulator(company="uk", enforce_limits=False) as qbo:
        qbo.company.store("Account", {"Name": "Amazon Clearing", "AccountType": "Other Current Asset",
                                      "AccountSubType": "OtherCurrentAssets", "Active": True,
                                      "CurrencyRef": {"value": "GBP"}})
        seed(lw, "uk", 5, 5)
        rules = [
            {"id": "gbp-journal", "type": "map_summary_document",
             "when": {"field": "currency", "comparison": "equals", "value": "GBP"},
             "value": "journal_entry"},
            {"id": "gbp-clearing", "type": "map_deposit_account",
             "when": {"field": "currency", "comparison": "equals", "value": "GBP"},
             "value": "Amazon Clearing"},
        ]
        write_config(tmp_path, lw, qbo, rules=rules)
        reports = run(tmp_path, at(7, 6), monkeypatch=monkeypatch)
        assert not reports["orders"].failures, reports["orders"].failures
        held = links(tmp_path)
        orders = orders_by_number(lw)
        journals = {e["DocNumber"] for e in qbo.entities("JournalEntry")}
        receipts = {r["DocNumber"] for r in qbo.entities("SalesReceipt")}
        for number, summary in held.items():
            currency = orders[number]["TotalsInfo"]["Currency"]
            assert summary in (journals if currency == "GBP" else receipts), (number, currency)
        check_journals(qbo, lw, {n: s for n, s in held.items() if s in journals}, debit_account="Amazon Clearing")
        check_totals(qbo, lw, {n: s for n, s in held.items() if s in receipts})


def test_journal_refund_summaries_reverse_every_side(tmp_path, monkeypatch):
    with LinnworksSimulator(processed_orders=0, open_orders=0, purchase_orders=0, refunds=False) as lw, \
            QuickBooksOnlineSimulator(company="uk", enforce_limits=False) as qbo:
        orders = seed(lw, "uk", 3, 6)
        refunded = []
        for n, order in enumerate(orders[:4]):
            header = lw.account.book_refund(order["OrderId"], lines=[(order["Items"][0]["SKU"], 1)],
                                            shipping=n % 2 == 0, booked_at=at(4, 9))
            lw.account.action_refund(header["RefundHeaderId"], at=at(4, 10, n))
            refunded.append(header)
        write_config(tmp_path, lw, qbo, document="journal_entry")
        reports = run(tmp_path, at(7, 6), flows=("orders", "refunds"), monkeypatch=monkeypatch)
        assert not reports["refunds"].failures, reports["refunds"].failures
        entries = [e for e in qbo.entities("JournalEntry") if e["DocNumber"].startswith("SUMR-")]
        assert entries
        amounts = sum((cents(sum(Decimal(str(line["Amount"])) for line in h["RefundLines"])) for h in refunded),
                      Decimal(0))
        credited = Decimal(0)
        for entry in entries:
            debit, credit = journal_sides(entry)
            assert debit == credit
            clearing = entry["Line"][0]["JournalEntryLineDetail"]
            assert clearing["PostingType"] == "Credit"  # the money leaves the clearing account
            credited += Decimal(str(entry["Line"][0]["Amount"]))
        assert credited == amounts


def test_as_journal_refuses_a_summary_that_does_not_add_up():
    summary_lines = [Line(kind="item", sku="A", quantity=Decimal(1), unit_price=Decimal(10), amount=Decimal(10),
                          tax_amount=Decimal(2))]
    from connex.documents import SalesDocument

    good = SalesDocument(kind="sales_receipt", source_id="summary-1", doc_number="SUM-1", txn_date=dt.date(2026, 1, 5),
                         currency="GBP", lines=summary_lines, total_tax=Decimal(2), total=Decimal(12),
                         customer=Party("Amazon GBP"), deposit_account=None)
    journal = as_journal(good, SummarySettings(tax_account="VAT"))
    assert isinstance(journal, JournalDocument) and journal.kind == "journal_entry"
    assert journal.debit_account == "Undeposited Funds" and journal.tax_account == "VAT" and not journal.refund
    bad = SalesDocument(**{**good.__dict__, "total": Decimal("12.01")})
    with pytest.raises(ValueError, match="differ from its total by 0.01"):
        as_journal(bad, SummarySettings())


PERIOD_DAYS = 31 if in_ci() else 12


@pytest.mark.parametrize("period", ["weekly", "monthly"])
def test_weekly_and_monthly_summaries_over_a_month_with_late_orders(tmp_path, monkeypatch, period):
    """A month of orders (12 days in the user suite), passes every few days, late orders found by re-reads after
    their period closed: every order in exactly one summary, each summary its orders' total to the cent."""
    with LinnworksSimulator(processed_orders=0, open_orders=0, purchase_orders=0, refunds=False) as lw, \
            QuickBooksOnlineSimulator(company="uk", enforce_limits=False) as qbo:
        write_config(tmp_path, lw, qbo, period=period, time_zone="Europe/London")
        late_orders = []
        for day in range(1, PERIOD_DAYS + 1):
            seed(lw, "uk", day, 2 + day % 2)
            if day % 4 == 0:
                reports = run(tmp_path, at(day, 23, 30), monkeypatch=monkeypatch)
                assert not reports["orders"].failures, reports["orders"].failures
            if day in (9, PERIOD_DAYS):  # an order processed days ago, listed late: only a re-read finds it
                late = seed(lw, "uk", day - 6, 1)[0]
                late_orders.append(late)
                run(tmp_path, at(day, 23, 40), monkeypatch=monkeypatch, window=(at(day - 6, 0), at(day - 5, 0)))
        # after the month (and February's first week), every period has closed
        reports = run(tmp_path, dt.datetime(2026, 2, 9, 6, tzinfo=dt.UTC), monkeypatch=monkeypatch)
        assert not reports["orders"].failures, reports["orders"].failures
        held = links(tmp_path)
        assert set(held) == set(orders_by_number(lw))  # every order in exactly one summary (links() checks one)
        posted = check_totals(qbo, lw, held)
        assert set(posted) == set(held.values())
        dates = sorted({r["TxnDate"] for r in posted.values()})
        if period == "monthly":
            assert dates == ["2026-01-31"]
        else:  # weeks end on Sundays
            assert all(dt.date.fromisoformat(d).weekday() == 6 for d in dates)
        if period == "weekly":
            # the first late order's week (its day 3, read on day 9) was closed by the pass of day 8: it went
            # into a later week, whose memo says so
            holder = posted[held[str(late_orders[0]["NumOrderId"])]]
            assert holder["TxnDate"] > "2026-01-04" and "from earlier periods" in holder["PrivateNote"]


@pytest.mark.parametrize("profile", ["uk", "us"])
def test_summary_invoices_total_to_the_cent(tmp_path, monkeypatch, profile):
    """With sync.document: invoice the summaries are invoices: one per store, currency and day, each its orders'
    total and tax to the cent."""
    with LinnworksSimulator(processed_orders=0, open_orders=0, purchase_orders=0, refunds=False) as lw, \
            QuickBooksOnlineSimulator(company=profile, enforce_limits=False) as qbo:
        for day in (5, 6):
            seed(lw, profile, day, 6)
        write_config(tmp_path, lw, qbo)
        config = json.loads((tmp_path / "connex.yaml").read_text())
        config["sync"]["document"] = "invoice"
        (tmp_path / "connex.yaml").write_text(json.dumps(config))
        reports = run(tmp_path, at(7, 6), monkeypatch=monkeypatch)
        assert not reports["orders"].failures, reports["orders"].failures
        held = links(tmp_path)
        assert len(held) == 12
        posted = check_totals(qbo, lw, held, entity="Invoice")
        assert set(posted) == set(held.values()) and qbo.entities("SalesReceipt") == []
        # the orders were all paid: each summary invoice has one payment of its total and nothing stays open
        orders = orders_by_number(lw)
        assert all(o["GeneralInfo"].get("PaidDate") or o["TotalsInfo"].get("PaymentMethod") for o in orders.values())
        paid = {p["Line"][0]["LinkedTxn"][0]["TxnId"]: p for p in qbo.entities("Payment")}
        assert len(paid) == len(qbo.entities("Payment")) == len(posted)
        for invoice in posted.values():
            assert Decimal(str(invoice["Balance"])) == 0, invoice["DocNumber"]
            assert Decimal(str(paid[invoice["Id"]]["TotalAmt"])) == Decimal(str(invoice["TotalAmt"]))
        run(tmp_path, at(8, 6), monkeypatch=monkeypatch)  # nothing twice
        assert len(qbo.entities("Payment")) == len(posted)
