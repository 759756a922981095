"""Summary postings under SIGKILL: `connex sync` with ``sync.posting: summary`` is killed at many points (random
moments, and right before or after the n-th request a simulator sees) while a month of orders arrives day by day,
with late orders (processed on a day whose summary is already closed, read by a ``--from/--to`` re-read). After
the campaign every order is in exactly one summary, every summary is in QuickBooks exactly once, and each one's
total is the sum of its orders' totals to the cent.

The full campaign (a month, 40 kill points) runs with CI=true; the user suite runs a short one (12 days)."""

from __future__ import annotations

import datetime as dt
import json
import random
from collections import Counter, defaultdict
from decimal import Decimal

import pytest
from connex_linnworks.simulator import LinnworksSimulator
from connex_quickbooks_online.simulator import QuickBooksOnlineSimulator

from connex.simulation import SimClock
from connex.state import open_state
from connex.state.summaries import SummaryStore
from connex.sync.summarise import SummarySettings
from connex.sync.summary_flow import numbering
from tests.conftest import in_ci
from tests.sync.test_crash_safety import MOMENT, Killer, kill_loop, run_seconds, start_sync
from tests.tax.tax_support import cents

DAYS = 40 if in_ci() else 12
TODAY = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
KINDS = ("quickbooks:before", "quickbooks:after", "moment", "quickbooks:after", "linnworks", "quickbooks:before")
FIRST_DAY = TODAY - dt.timedelta(days=DAYS + 5)  # every day of the campaign is over (and its grace) by now


@pytest.fixture
def rig(tmp_path):
    lw = LinnworksSimulator(processed_orders=0, open_orders=0, purchase_orders=0, refunds=False,
                            clock=SimClock(scale=30)).start()
    qbo = QuickBooksOnlineSimulator(company="us", enforce_limits=False).start()
    killer = Killer()
    lw.dispatch = killer.hook("linnworks", lw.dispatch)
    qbo.dispatch = killer.hook("quickbooks_online", qbo.dispatch)
    config = {
        "source": {"plugin": "linnworks", **lw.connector_config()},
        "target": {"plugin": "quickbooks_online", "missing_items": "create_non_inventory", **qbo.connector_config()},
        "sync": {"from_date": FIRST_DAY.date().isoformat(), "posting": "summary",
                 "customer_matching": "store_name_currency",
                 "summary": {"period": "daily", "time_zone": "Europe/London", "close_after_hours": 1}},
        "state": "connex.db",
    }
    (tmp_path / "connex.yaml").write_text(json.dumps(config))
    yield tmp_path, lw, qbo, killer
    qbo.stop()
    lw.stop()


def day(n: int) -> dt.datetime:
    return FIRST_DAY + dt.timedelta(days=n)


def add_day(lw, n: int, rng: random.Random) -> None:
    for k in range(rng.randint(2, 4)):
        # some late in the evening (UTC), which is the next day in London in summer: the zone decides the day
        lw.account.add_processed_order(processed_at=day(n) + dt.timedelta(hours=rng.choice([9, 13, 18, 23]),
                                                                          minutes=k), template=k)


def window(n: int) -> list[str]:
    when = day(n).date().isoformat()
    return ["--from", when, "--to", when]


@pytest.mark.parametrize("document", [
    "document",
    # journal-entry summaries go through the same flow: the full campaign again under CI=true only
    pytest.param("journal_entry", marks=pytest.mark.skipif(not in_ci(), reason="CI=true only (a second campaign)")),
])
def test_summaries_exactly_once_over_kill_points(rig, document):
    folder, lw, qbo, killer = rig
    config = json.loads((folder / "connex.yaml").read_text())
    config["sync"]["summary"]["document"] = document
    if document == "journal_entry":  # a US company's journal lines carry no tax code: the tax has its account
        config["sync"]["summary"]["tax_account"] = "Sales Tax Payable"
        qbo.company.store("Account", {"Name": "Sales Tax Payable", "AccountType": "Other Current Liability",
                                      "AccountSubType": "SalesTaxPayable", "Active": True,
                                      "CurrencyRef": {"value": qbo.company.home_currency}})
    (folder / "connex.yaml").write_text(json.dumps(config))
    entity = "JournalEntry" if document == "journal_entry" else "SalesReceipt"
    rng = random.Random(2026)
    late_days: list[int] = []
    rereads: set[int] = set()  # cycles that re-read a late day (a re-read closes nothing, so posts nothing)
    add_day(lw, 0, rng)
    duration = run_seconds(folder, "orders")

    def launch(cycle):
        extra: list[str] = []
        if cycle:
            add_day(lw, cycle, rng)
        if cycle >= 3 and cycle % 3 == 0:
            # a late order: processed on a day whose summary a pass already closed; only a re-read finds it
            late = cycle - rng.randint(2, 3)
            lw.account.add_processed_order(processed_at=day(late) + dt.timedelta(hours=11), template=1)
            late_days.append(late)
            extra = window(late)
            rereads.add(cycle)
        return start_sync(folder, "orders", *extra)

    def plan(cycle, rng):
        # the kinds of kill point take turns, so even the short campaign hits every dangerous window
        how = KINDS[cycle % len(KINDS)]
        if cycle in rereads and how.startswith("quickbooks"):
            how = "linnworks"  # a re-read only reads (it closes nothing), so it is killed in Linnworks
        if how == "moment":
            return MOMENT
        if how == "linnworks":
            # a pass reads Linnworks twice (the search, then the orders' details)
            return ("linnworks", rng.choice(["before", "after"]), rng.randint(1, 2))
        # a pass posts the summaries of the days it closes: a dozen QuickBooks requests to land in
        return ("quickbooks_online", how.split(":")[1], rng.randint(1, 6))

    def between(cycle):
        if cycle % 4 == 3:  # now and then a pass that is not killed, so days close while later ones arrive
            process = start_sync(folder, "orders")
            out, err = process.communicate(timeout=180)
            assert process.returncode in (0, 1), out + err

    kinds = kill_loop(killer, rng, DAYS, launch=launch, duration=duration, plan=plan, between=between,
                      timeout=180)

    # the end: re-read the late days (a killed re-read may have missed its order), then a pass that closes
    for late in sorted(set(late_days)):
        process = start_sync(folder, "orders", *window(late))
        out, err = process.communicate(timeout=180)
        assert process.returncode in (0, 1), out + err
    process = start_sync(folder, "orders")
    out, err = process.communicate(timeout=180)
    assert process.returncode == 0, out + err

    assert sum(kinds.values()) >= DAYS * 0.6, kinds  # most cycles were really killed mid-run
    assert kinds["quickbooks_online:after"] >= 2 and kinds["quickbooks_online:before"] >= 2, kinds

    state = open_state(folder / "connex.db")
    store = SummaryStore(state, numbering(SummarySettings()))
    holder: dict[str, str] = {}
    members_of = defaultdict(list)
    for summary in store.summaries():
        assert summary.status == "closed", summary
        for member in store.members(summary.id):
            assert member.number not in holder, f"order {member.number} is in two summaries"
            holder[member.number] = summary.doc_number
            members_of[summary.doc_number].append(member.number)
    assert state.rows(status="in_flight") == []
    state.close()

    orders = {str(o["NumOrderId"]): o for _, _, oid in lw.account.processed_index if (o := lw.account.order(oid))}
    assert set(holder) == set(orders)  # every order in exactly one summary: none lost
    receipts = qbo.entities(entity)
    numbers = Counter(r["DocNumber"] for r in receipts)
    assert [n for n, count in numbers.items() if count > 1] == []  # no summary twice
    assert set(numbers) == set(members_of)  # every summary posted, no order on its own
    for receipt in receipts:
        members = [orders[n] for n in members_of[receipt["DocNumber"]]]
        expected = sum((cents(o["TotalsInfo"]["TotalCharge"]) for o in members), Decimal(0))
        # a journal entry's first line debits the orders' total to the clearing account
        posted = receipt["Line"][0]["Amount"] if entity == "JournalEntry" else receipt["TotalAmt"]
        assert Decimal(str(posted)) == expected, receipt["DocNumber"]
    # late orders went into a later day's summary, whose memo says so
    assert any("from earlier periods" in r["PrivateNote"] for r in receipts)
