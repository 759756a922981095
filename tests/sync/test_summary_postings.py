"""Summary postings end to end: Linnworks simulator -> the real engine -> QuickBooks Online simulator (UK and US
tax profiles). One sales receipt per store + currency + day, its total the sum of its orders' to the cent, its tax
the sum of their tax; every order linked to exactly one summary; a late order goes into a later summary; a day's
summary waits for the day (and the grace) to end."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter, defaultdict
from decimal import Decimal

import pytest
from connex_linnworks.simulator import LinnworksSimulator
from connex_quickbooks_online.simulator import QuickBooksOnlineSimulator

from connex.config import load_config
from connex.plugin_manager import get_plugins
from connex.state import open_state
from connex.state.summaries import SummaryStore
from connex.sync.engine import SyncEngine
from connex.sync.report import RunOptions
from connex.sync.summarise import SummarySettings
from connex.sync.summary_flow import SummaryFlow, numbering
from connex.transport import RetryPolicy
from tests.conftest import run_connex
from tests.tax.tax_support import RATES, cents, price_order

HOME = {"uk": "GBP", "us": "USD"}
FOREIGN = {"uk": "USD", "us": "GBP"}


def at(day: int, hour: int = 12, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 1, day, hour, minute, tzinfo=dt.UTC)


def write_config(folder, lw, qbo, **summary):
    config = {
        "source": {"plugin": "linnworks", **lw.connector_config()},
        "target": {"plugin": "quickbooks_online", "missing_items": "create_non_inventory", **qbo.connector_config()},
        "sync": {"from_date": "2020-01-01", "refunds": True, "customer_matching": "store_name_currency",
                 "posting": "summary", "summary": summary},
        "state": "connex.db",
    }
    (folder / "connex.yaml").write_text(json.dumps(config), encoding="utf-8")


def run(folder, now: dt.datetime, flows=("orders",), monkeypatch=None, **options):
    monkeypatch.setattr(SummaryFlow, "clock", staticmethod(lambda: now))
    plugins = get_plugins()
    engine = SyncEngine(load_config(folder / "connex.yaml", plugins), plugins, open_state(folder / "connex.db"))
    engine.source.client.http.retry = RetryPolicy(base_delay=0.001, max_delay=0.01, time_budget=5)
    try:
        return {r.flow: r for r in engine.run(list(flows), RunOptions(**options))}
    finally:
        engine.close()
        engine.state.close()


def seed(lw, profile: str, day: int, n: int) -> list[dict]:
    standard, reduced, zero = RATES[profile]
    shapes = [
        dict(lines=[("MUG-BLU-01", 2, "12.00", standard)], postage_gross="3.99", postage_rate=standard),
        dict(lines=[("TEA-EARL-250", 1, "27.99", standard)]),
        dict(lines=[("CANDLE-SOY-L", 1, "24.50", standard), ("SOCKS-3PK", 3, "14.95", reduced),
                    ("BOOK-CHAI", 2, "9.99", zero)], postage_gross="4.80", postage_rate=standard),
        dict(lines=[("TSHIRT-M-RED", 3, "16.66", standard), ("MUG-BLU-01", 1, "10.00", standard)],
             inclusive=False, discount="5.00", discount_rate=standard, postage_gross="2.99", postage_rate=standard),
        dict(lines=[("GIFT-SET-TEA", 1, "39.90", standard), ("BOOK-CHAI", 1, "9.99", zero)],
             currency=FOREIGN[profile], postage_gross="7.50", postage_rate=standard),
    ]
    orders = []
    for k in range(n):
        shape = dict(shapes[k % len(shapes)])
        order = lw.account.add_processed_order(processed_at=at(day, 8 + k % 12, k % 60))
        orders.append(price_order(order, currency=shape.pop("currency", HOME[profile]), **shape))
    return orders


def links(folder) -> dict[str, str]:
    """Order number -> the number of the summary holding it (from the state file)."""
    state = open_state(folder / "connex.db")
    try:
        store = SummaryStore(state, numbering(SummarySettings()))
        out = {}
        for summary in store.summaries():
            for member in store.members(summary.id):
                assert member.number not in out, f"order {member.number} is in two summaries"
                out[member.number] = summary.doc_number
        return out
    finally:
        state.close()


def check_totals(qbo, lw, held: dict[str, str], entity="SalesReceipt"):
    """Every posted summary's total (and tax) is the sum of its orders' to the cent."""
    orders = {str(o["NumOrderId"]): o for _, _, oid in lw.account.processed_index if (o := lw.account.order(oid))}
    by_summary = defaultdict(list)
    for number, summary in held.items():
        by_summary[summary].append(orders[number])
    posted = {r["DocNumber"]: r for r in qbo.entities(entity)}
    for number, members in by_summary.items():
        if number not in posted:
            continue
        receipt = posted[number]
        assert Decimal(str(receipt["TotalAmt"])) == sum(cents(o["TotalsInfo"]["TotalCharge"]) for o in members)
        assert Decimal(str(receipt["TxnTaxDetail"]["TotalTax"])) == sum(cents(o["TotalsInfo"]["Tax"])
                                                                        for o in members), number
        assert f"Summary of {len(members)} orders" in receipt["PrivateNote"]
    return posted


@pytest.mark.parametrize("profile", ["uk", "us"])
def test_daily_summaries_per_store_and_currency_total_to_the_cent(tmp_path, monkeypatch, profile):
    with LinnworksSimulator(processed_orders=0, open_orders=0, purchase_orders=0, refunds=False) as lw, \
            QuickBooksOnlineSimulator(company=profile, enforce_limits=False) as qbo:
        for day in (5, 6, 7):
            seed(lw, profile, day, 7)
        write_config(tmp_path, lw, qbo, time_zone="Europe/London")
        # the 7th is not over (nor its grace): its orders wait in an open summary
        reports = run(tmp_path, at(8, 1), monkeypatch=monkeypatch)
        assert not reports["orders"].failures, reports["orders"].failures
        held = links(tmp_path)
        assert len(held) == 21
        posted = check_totals(qbo, lw, held)
        # one receipt per store (its customer, "Amazon GBP") and currency per day, none yet for the 7th
        days = Counter((r["TxnDate"], r["CustomerRef"]["name"], r["CurrencyRef"]["value"]) for r in posted.values())
        assert set(days.values()) == {1} and {d for d, _, _ in days} == {"2026-01-05", "2026-01-06"}
        assert {c for _, _, c in days} == {HOME[profile], FOREIGN[profile]}
        assert len(posted) < 14 and len(qbo.entities("SalesReceipt")) == len(posted)

        # a late order of the 5th, read by a re-read of that day, goes into a later summary, never a closed one
        late = seed(lw, profile, 5, 1)[0]
        reports = run(tmp_path, at(8, 1, 30), monkeypatch=monkeypatch, window=(at(5, 0), at(6, 0)))
        assert reports["orders"].counts["summarised"] == 1
        # the pass after the 7th's grace closes it, with the late order in it
        reports = run(tmp_path, at(8, 2, 1), monkeypatch=monkeypatch)
        assert not reports["orders"].failures, reports["orders"].failures
        held = links(tmp_path)
        assert len(held) == 22
        posted = check_totals(qbo, lw, held)
        assert set(held.values()) == set(posted)  # every summary posted, each once
        late_summary = posted[held[str(late["NumOrderId"])]]
        assert late_summary["TxnDate"] == "2026-01-07" and "1 of them from earlier periods" in \
            late_summary["PrivateNote"]
        receipts = len(qbo.entities("SalesReceipt"))

        # nothing is posted twice on another pass; explain names the summary holding an order
        reports = run(tmp_path, at(9, 12), monkeypatch=monkeypatch)
        assert len(qbo.entities("SalesReceipt")) == receipts and reports["orders"].counts["unchanged"] == 0
        state = open_state(tmp_path / "connex.db")
        assert state.rows(status="in_flight") == []
        state.close()
        result = run_connex("explain", str(late["NumOrderId"]), cwd=tmp_path)
        assert f"in summary {held[str(late['NumOrderId'])]}" in result.stdout, result.stdout + result.stderr
        assert "posted as QuickBooks id" in result.stdout


def desktop_seed(lw, day: int, n: int, standard: str) -> list[dict]:
    shapes = [
        dict(lines=[("MUG-BLU-01", 2, "12.00", standard)], postage_gross="3.99", postage_rate=standard),
        dict(lines=[("TEA-EARL-250", 3, "27.99", standard), ("BOOK-CHAI", 2, "9.99", "0")]),
        dict(lines=[("TSHIRT-M-RED", 3, "16.66", standard)], inclusive=False, discount="5.00",
             discount_rate=standard, postage_gross="2.99", postage_rate=standard),
    ]
    orders = []
    for k in range(n):
        order = lw.account.add_processed_order(processed_at=at(day, 9 + k % 10, k))
        orders.append(price_order(order, currency="GBP", **shapes[k % len(shapes)]))
    return orders


@pytest.mark.parametrize("edition", ["default", "us"])
def test_desktop_summaries_are_xsd_valid_and_total_to_the_cent(tmp_path, monkeypatch, edition):
    """QuickBooks Desktop (qbXML through the Web Connector), every request validated against Intuit's XSDs: the
    UK-style file takes codes by rate (S 20%, Z 0%), the US file Tax/Non with its sales tax item."""
    from connex_quickbooks_desktop.service import serve
    from connex_quickbooks_desktop.simulator import SimulatedCompany, WebConnectorSimulator
    from connex_quickbooks_desktop.validation import QbxmlValidator

    from tests.conftest import reference

    xsd = reference("qbxml-xsd/qbxmlops130.xsd").parent
    company = SimulatedCompany.seeded(edition=edition, validator=QbxmlValidator(xsd))
    wc = WebConnectorSimulator(company)
    tax = ({"tax_model": "us", "item_sales_tax": "State Sales Tax"} if edition == "us"
           else {"tax_model": "global", "tax_codes": {20: "S", 0: "Z"}})
    standard = "7.25" if edition == "us" else "20"
    with LinnworksSimulator(processed_orders=0, open_orders=0, purchase_orders=0, refunds=False) as lw:
        orders = desktop_seed(lw, 5, 6, standard) + desktop_seed(lw, 6, 5, standard)
        target = {"plugin": "quickbooks_desktop", **wc.connector_config(), "missing_items": "create_non_inventory",
                  "shipping_item": "Shipping", "rounding_item": "Rounding", **tax}
        config = {"source": {"plugin": "linnworks", **lw.connector_config()}, "target": target,
                  "sync": {"from_date": "2020-01-01", "posting": "summary",
                           "customer_matching": "store_name_currency"}, "state": "connex.db"}
        (tmp_path / "connex.yaml").write_text(json.dumps(config), encoding="utf-8")
        first = run(tmp_path, at(7, 6), monkeypatch=monkeypatch)
        assert first["orders"].counts["queued"] >= 2, first["orders"].counts
        endpoint = serve({k: v for k, v in target.items() if k != "plugin"} | {"queue_db": str(tmp_path / "connex.db")})
        try:
            wc.run_session(endpoint.url, target["username"], target["password"])
        finally:
            endpoint.stop()
            wc.stop()
        second = run(tmp_path, at(7, 7), monkeypatch=monkeypatch)
        assert not second["orders"].failures, second["orders"].failures
        held = links(tmp_path)
        assert len(held) == len(orders)
        receipts = {t.ref_number: t for t in company.transactions if t.txn_type == "SalesReceipt"}
        assert set(receipts) == set(held.values())  # every summary once, no order on its own
        by_summary = defaultdict(list)
        for order in orders:
            by_summary[held[str(order["NumOrderId"])]].append(order)
        for number, members in by_summary.items():
            net = sum(cents(o["TotalsInfo"]["TotalCharge"]) - cents(o["TotalsInfo"]["Tax"]) for o in members)
            gross = sum(cents(o["TotalsInfo"]["TotalCharge"]) for o in members)
            # a file without tax items takes each line's TaxAmount as sent; a US file computes its own tax on the
            # taxable subtotal (a cent it rounds differently goes into a rounding line): either way the receipt
            # is the orders' gross
            assert receipts[number].total == gross, (number, net)
            assert f"Summary of {len(members)} orders" in receipts[number].memo
        state = open_state(tmp_path / "connex.db")
        assert state.rows(status="in_flight") == [] and state.rows(status="queued") == []
        state.close()


def test_refunds_are_summarised_the_same_way(tmp_path, monkeypatch):
    with LinnworksSimulator(processed_orders=0, open_orders=0, purchase_orders=0, refunds=False) as lw, \
            QuickBooksOnlineSimulator(company="uk", enforce_limits=False) as qbo:
        orders = seed(lw, "uk", 3, 8)
        refunded = []
        for n, order in enumerate(orders[:6]):
            header = lw.account.book_refund(order["OrderId"], lines=[(order["Items"][0]["SKU"], 1)],
                                            shipping=n % 2 == 0, booked_at=at(4, 9))
            lw.account.action_refund(header["RefundHeaderId"], at=at(4 + n % 2, 10, n))
            refunded.append(header)
        write_config(tmp_path, lw, qbo)
        reports = run(tmp_path, at(7, 6), flows=("orders", "refunds"), monkeypatch=monkeypatch)
        assert not reports["refunds"].failures, reports["refunds"].failures
        assert reports["refunds"].counts["summarised"] == 6
        receipts = qbo.entities("RefundReceipt")
        assert {r["DocNumber"][:5] for r in receipts} == {"SUMR-"}
        assert {r["TxnDate"] for r in receipts} == {"2026-01-04", "2026-01-05"}
        # each refund as Linnworks totals it, in cents (what a refund receipt of its own would carry)
        amounts = sum((cents(sum(Decimal(str(line["Amount"])) for line in h["RefundLines"])) for h in refunded),
                      Decimal(0))
        assert sum(Decimal(str(r["TotalAmt"])) for r in receipts) == amounts
        assert all("refunds" in r["PrivateNote"] for r in receipts)


def test_dry_run_plans_summaries_and_writes_nothing(tmp_path, monkeypatch):
    with LinnworksSimulator(processed_orders=0, open_orders=0, purchase_orders=0, refunds=False) as lw, \
            QuickBooksOnlineSimulator(company="uk", enforce_limits=False) as qbo:
        seed(lw, "uk", 5, 3)
        write_config(tmp_path, lw, qbo)
        reports = run(tmp_path, at(6, 6), monkeypatch=monkeypatch, dry_run=True)
        assert reports["orders"].counts["would_summarise"] == 3
        assert all("into the summary of" in line and "5 Jan 2026" in line for line in reports["orders"].planned)
        assert qbo.entities("SalesReceipt") == [] and links(tmp_path) == {}


def test_a_bad_time_zone_is_named_with_its_place_in_the_file(tmp_path):
    (tmp_path / "connex.yaml").write_text(
        "source: {plugin: linnworks, application_id: a, application_secret: b, token: c}\n"
        "target: {plugin: jsonl_missing}\n"
        "sync:\n  posting: summary\n  summary:\n    period: fortnightly\n    time_zone: Europe/Londn\n",
        encoding="utf-8")
    result = run_connex("validate", cwd=tmp_path)
    assert result.returncode != 0
    assert "connex.yaml:7:" in result.stdout + result.stderr and "Europe/Londn" in result.stdout + result.stderr
    assert "connex.yaml:6:" in result.stdout + result.stderr and "fortnightly" in result.stdout + result.stderr
    assert "Traceback" not in result.stderr
