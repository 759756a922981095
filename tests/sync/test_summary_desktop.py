"""Summary postings on QuickBooks Desktop (qbXML through the Web Connector, every request validated against Intuit's
XSDs), the UK-style and the US company files: journal-entry summaries (debits equal credits, the clearing line
the orders' total, the tax credited to the tax account) and refund summaries (credit memos), totals to the cent,
every order in exactly one summary."""

from __future__ import annotations

import json
from collections import defaultdict
from decimal import Decimal

import pytest
from connex_linnworks.simulator import LinnworksSimulator

from connex.state import open_state
from tests.conftest import reference
from tests.sync.test_summary_postings import at, desktop_seed, links, run
from tests.tax.tax_support import cents

TAX = {"us": {"tax_model": "us", "item_sales_tax": "State Sales Tax"},
       "default": {"tax_model": "global", "tax_codes": {20: "S", 0: "Z"}}}
STANDARD = {"us": "7.25", "default": "20"}


def desktop_rig(tmp_path, lw, edition: str, **sync):
    from connex_quickbooks_desktop.simulator import SimulatedCompany, WebConnectorSimulator
    from connex_quickbooks_desktop.validation import QbxmlValidator

    xsd = reference("qbxml-xsd/qbxmlops130.xsd").parent
    company = SimulatedCompany.seeded(edition=edition, validator=QbxmlValidator(xsd))
    company.accounts |= {"Sales Tax Payable", "Amazon Clearing"}
    wc = WebConnectorSimulator(company)
    target = {"plugin": "quickbooks_desktop", **wc.connector_config(), "missing_items": "create_non_inventory",
              "income_account": "Merchandise Sales", "shipping_item": "Shipping", "rounding_item": "Rounding",
              **TAX[edition]}
    config = {"source": {"plugin": "linnworks", **lw.connector_config()}, "target": target,
              "sync": {"from_date": "2020-01-01", "posting": "summary", "refunds": True,
                       "customer_matching": "store_name_currency", **sync}, "state": "connex.db"}
    (tmp_path / "connex.yaml").write_text(json.dumps(config), encoding="utf-8")
    return company, wc, target


def session(tmp_path, wc, target) -> None:
    from connex_quickbooks_desktop.service import serve

    endpoint = serve({k: v for k, v in target.items() if k != "plugin"} | {"queue_db": str(tmp_path / "connex.db")})
    try:
        wc.run_session(endpoint.url, target["username"], target["password"])
    finally:
        endpoint.stop()


def sync_around_a_session(tmp_path, wc, target, monkeypatch, *, flow: str = "orders", flows=None):
    """A pass that queues the summaries, a Web Connector session that posts them and a pass that records them, the
    Web Connector client stopped after; both passes' reports, with no failure in ``flow``."""
    options = {"monkeypatch": monkeypatch} | ({"flows": flows} if flows else {})
    try:
        first = run(tmp_path, at(7, 6), **options)
        assert not first[flow].failures, first[flow].failures
        session(tmp_path, wc, target)
        second = run(tmp_path, at(7, 7), **options)
        assert not second[flow].failures, second[flow].failures
    finally:
        wc.stop()
    return first, second


def by_summary(orders, held) -> dict[str, list[dict]]:
    out = defaultdict(list)
    for order in orders:
        out[held[str(order["NumOrderId"])]].append(order)
    return out


@pytest.mark.parametrize("edition", ["default", "us"])
def test_desktop_journal_entry_summaries_balance_to_the_cent(tmp_path, monkeypatch, edition):
    with LinnworksSimulator(processed_orders=0, open_orders=0, purchase_orders=0, refunds=False) as lw:
        orders = desktop_seed(lw, 5, 5, STANDARD[edition]) + desktop_seed(lw, 6, 4, STANDARD[edition])
        company, wc, target = desktop_rig(tmp_path, lw, edition, summary={
            "document": "journal_entry", "tax_account": "Sales Tax Payable", "journal_account": "Amazon Clearing"})
        sync_around_a_session(tmp_path, wc, target, monkeypatch)
        held = links(tmp_path)
        assert len(held) == len(orders)
        entries = {t.ref_number: t for t in company.transactions if t.txn_type == "JournalEntry"}
        assert set(entries) == set(held.values())
        assert not [t for t in company.transactions if t.txn_type == "SalesReceipt"]
        for number, members in by_summary(orders, held).items():
            entry = entries[number]
            gross = sum((cents(o["TotalsInfo"]["TotalCharge"]) for o in members), Decimal(0))
            tax = sum((cents(o["TotalsInfo"]["Tax"]) for o in members), Decimal(0))
            assert sum(ln.amount for ln in entry.lines) == 0  # debits (+) equal credits (-)
            assert entry.total >= gross  # the debits: the clearing line, and any rounding debited
            clearing = [ln for ln in entry.lines if ln.item == "Amazon Clearing"]
            assert [ln.amount for ln in clearing] == [gross]
            assert -sum(ln.amount for ln in entry.lines if ln.item == "Sales Tax Payable") == tax
            income = {ln.item for ln in entry.lines} - {"Amazon Clearing", "Sales Tax Payable"}
            assert income <= {"Merchandise Sales", "Shipping Income", "Sales"} and "Merchandise Sales" in income
            assert f"Summary of {len(members)} orders" in entry.memo
        state = open_state(tmp_path / "connex.db")
        assert state.rows(status="in_flight") == [] and state.rows(status="queued") == []
        state.close()


def test_a_desktop_journal_summary_with_tax_and_no_tax_account_fails_naming_the_setting(tmp_path, monkeypatch):
    with LinnworksSimulator(processed_orders=0, open_orders=0, purchase_orders=0, refunds=False) as lw:
        desktop_seed(lw, 5, 3, "20")
        company, wc, _ = desktop_rig(tmp_path, lw, "default", summary={"document": "journal_entry"})
        wc.stop()
        reports = run(tmp_path, at(7, 6), monkeypatch=monkeypatch)
        failures = reports["orders"].failures
        assert failures and all("sync.summary.tax_account" in reason for _, reason in failures), failures
        assert len(links(tmp_path)) == 3


@pytest.mark.parametrize("edition", ["default", "us"])
def test_desktop_refund_summaries_are_credit_memos_totalling_the_refunds(tmp_path, monkeypatch, edition):
    with LinnworksSimulator(processed_orders=0, open_orders=0, purchase_orders=0, refunds=False) as lw:
        orders = desktop_seed(lw, 3, 6, STANDARD[edition])
        refunded = []
        for n, order in enumerate(orders[:5]):
            header = lw.account.book_refund(order["OrderId"], lines=[(order["Items"][0]["SKU"], 1)],
                                            shipping=n % 2 == 0, booked_at=at(4, 9))
            lw.account.action_refund(header["RefundHeaderId"], at=at(4 + n % 2, 10, n))
            refunded.append(header)
        company, wc, target = desktop_rig(tmp_path, lw, edition)
        first, _ = sync_around_a_session(tmp_path, wc, target, monkeypatch, flow="refunds",
                                         flows=("orders", "refunds"))
        assert first["refunds"].counts["summarised"] == 5
        memos = [t for t in company.transactions if t.txn_type == "CreditMemo"]
        assert memos and {t.ref_number[:5] for t in memos} == {"SUMR-"}
        assert {t.txn_date for t in memos} == {"2026-01-04", "2026-01-05"}
        amounts = sum((cents(sum(Decimal(str(line["Amount"])) for line in h["RefundLines"])) for h in refunded),
                      Decimal(0))
        assert sum(t.total for t in memos) == amounts
        assert all("Summary of" in t.memo and "refunds" in t.memo for t in memos)
        held = links(tmp_path)  # orders and refunds, each in one summary
        assert len(held) == len(orders) + len(refunded)


def test_desktop_summary_invoices_are_paid_in_one_payment_each(tmp_path, monkeypatch):
    with LinnworksSimulator(processed_orders=0, open_orders=0, purchase_orders=0, refunds=False) as lw:
        orders = desktop_seed(lw, 5, 4, "20") + desktop_seed(lw, 6, 3, "20")
        company, wc, target = desktop_rig(tmp_path, lw, "default", document="invoice")
        sync_around_a_session(tmp_path, wc, target, monkeypatch)
        held = links(tmp_path)
        invoices = {t.ref_number: t for t in company.transactions if t.txn_type == "Invoice"}
        assert set(invoices) == set(held.values())
        for number, members in by_summary(orders, held).items():
            assert invoices[number].total == sum((cents(o["TotalsInfo"]["TotalCharge"]) for o in members), Decimal(0))
            assert invoices[number].balance == 0, number  # paid by the summary's one payment
        assert len([t for t in company.transactions if t.txn_type == "ReceivePayment"]) == len(invoices)
