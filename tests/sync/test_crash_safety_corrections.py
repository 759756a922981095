"""Corrections under SIGKILL (issue 17): orders change and are cancelled in Linnworks after they were posted, and
`connex sync --order ...` correcting them is killed at many points (random moments, and right before or after the
n-th request a simulator sees: between QuickBooks voiding the old version and posting the new one, between
QuickBooks taking an update and the ledger hearing of it). Per-order documents and summaries, ``update`` and
``void_and_repost``. After the campaign every interrupted correction was redone from its ``correcting`` intent,
and nothing is lost or duplicated:

* every live QuickBooks document says what its order(s) say now, to the cent (no change lost);
* each order (summary) has exactly one live document, numbered ``N`` or ``N-k``, where ``k`` is the number of
  reposts its history records: no two reposts, no repost without a correction behind it;
* each voided document was voided by exactly one request (no double void), and a cancelled order counts nowhere.

The full campaign (four cases, 8 kill points each, 32 in all) runs with CI=true; the user suite runs the two
``void_and_repost`` cases with 5 kill points each.
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter, defaultdict
from decimal import Decimal

import pytest
from connex_linnworks.simulator import LinnworksSimulator
from connex_quickbooks_online.simulator import QuickBooksOnlineSimulator

from connex.simulation import SimClock
from connex.state import history, open_state
from connex.state.summaries import SummaryStore
from connex.sync.summarise import SummarySettings
from connex.sync.summary_flow import numbering
from tests.conftest import in_ci
from tests.sync.test_crash_safety import MOMENT, Killer, kill_loop, start_sync
from tests.sync.test_summary_corrections import one_store, raise_first_line
from tests.sync.test_summary_postings import seed
from tests.tax.tax_support import cents

#: every case under CI=true, 8 kill points each (32 in all); the user suite runs the two void_and_repost cases (the
#: riskier: a void and a post per correction) with 5 each, about a minute on two cores
CASES = ([("per_order", "update"), ("per_order", "void_and_repost"), ("summary", "update"),
          ("summary", "void_and_repost")] if in_ci() else [("per_order", "void_and_repost"),
                                                            ("summary", "void_and_repost")])
CYCLES = 8 if in_ci() else 5
ORDERS = 8
#: the kinds of kill point take turns, so even a short campaign hits the windows that matter
TURNS = ("quickbooks:after", "quickbooks:before", "moment", "quickbooks:after", "linnworks", "quickbooks:before")


class VoidLog:
    """Every void (or delete) request QuickBooks Online applied, by entity Id: a double void shows as two."""

    def __init__(self, qbo):
        self.voids: Counter = Counter()
        original = qbo.dispatch

        def dispatch(request):
            response = original(request)
            if request.method == "POST" and (request.arg("include") == "void"
                                             or request.arg("operation") in ("void", "delete")):
                body = request.json() or {}
                if response.status < 300 and body.get("Id"):
                    self.voids[str(body["Id"])] += 1
            return response

        qbo.dispatch = dispatch


@pytest.fixture
def rig(tmp_path, request):
    posting, mode = request.param
    lw = LinnworksSimulator(processed_orders=0, open_orders=0, purchase_orders=0, refunds=False,
                            clock=SimClock(scale=30)).start()
    qbo = QuickBooksOnlineSimulator(company="uk", enforce_limits=False).start()
    voids = VoidLog(qbo)  # inside the killer's hook: it sees what QuickBooks applied, kill or not
    killer = Killer()
    lw.dispatch = killer.hook("linnworks", lw.dispatch)
    qbo.dispatch = killer.hook("quickbooks_online", qbo.dispatch)
    # two days of one store's orders, priced as a UK company taxes them (two summaries per currency)
    orders = one_store(seed(lw, "uk", 5, ORDERS // 2) + seed(lw, "uk", 6, ORDERS // 2))
    for order in orders:
        order["GeneralInfo"]["HoldOrCancel"] = False
    sync = {"from_date": "2020-01-01", "on_change": mode,
            "customer_matching": "store_name_currency"}
    if posting == "summary":
        sync.update(posting="summary", summary={"period": "daily", "close_after_hours": 1})
    config = {"source": {"plugin": "linnworks", **lw.connector_config()},
              "target": {"plugin": "quickbooks_online", "missing_items": "create_non_inventory",
                         **qbo.connector_config()},
              "sync": sync, "state": "connex.db"}
    (tmp_path / "connex.yaml").write_text(json.dumps(config))
    yield tmp_path, lw, qbo, killer, voids, orders, posting, mode
    qbo.stop()
    lw.stop()


def complete(folder, *extra) -> None:
    process = start_sync(folder, "orders", *extra)
    out, err = process.communicate(timeout=180)
    assert process.returncode in (0, 1), out + err


@pytest.mark.parametrize("rig", CASES, indirect=True, ids=["-".join(case) for case in CASES])
def test_corrections_exactly_once_over_kill_points(rig):
    folder, lw, qbo, killer, voids, orders, posting, mode = rig
    rng = random.Random(f"{posting}-{mode}")
    started = time.perf_counter()
    complete(folder)  # everything posted (summaries: both days are over, so closed and posted)
    duration = time.perf_counter() - started  # random kill moments are drawn within a run's length
    assert len(qbo.entities("SalesReceipt")) == (len(summaries(folder)) if posting == "summary" else ORDERS)
    named = [arg for order in orders for arg in ("--order", order["OrderId"])]
    live = list(orders)

    def launch(cycle):
        # a change to two orders every cycle, and a cancellation every third: each run has corrections to do
        for order in rng.sample(live, 2):
            raise_first_line(order, Decimal(rng.randint(1, 9)))
        if cycle % 3 == 2 and len(live) > 3:
            cancelled = live.pop(rng.randrange(len(live)))
            cancelled["GeneralInfo"]["HoldOrCancel"] = True
        return start_sync(folder, "orders", *named)

    def plan(cycle, rng):
        how = TURNS[cycle % len(TURNS)]
        if how == "moment":
            return MOMENT
        if how == "linnworks":
            return ("linnworks", rng.choice(["before", "after"]), rng.randint(1, ORDERS))
        # a correction is a read and a write (update), or a read, a void, a look-up and a post (repost)
        return ("quickbooks_online", how.split(":")[1], rng.randint(1, 8))

    kinds = kill_loop(killer, rng, CYCLES, launch=launch, duration=duration, plan=plan, timeout=180)
    assert sum(kinds.values()) >= CYCLES * 0.6, kinds  # most runs were really killed mid-correction
    complete(folder, *named)  # the interrupted corrections are redone
    if in_ci():
        complete(folder, *named)  # and one more run changes nothing (checked below: one live version each)

    state = open_state(folder / "connex.db")
    try:
        assert state.rows(status="correcting") == [] and state.rows(status="in_flight") == []
        assert state.rows(status="failed") == []
        if posting == "summary":
            expected = summary_expectations(state, orders)
        else:
            expected = {order["OrderId"]: (str(order["NumOrderId"]), cents(order["TotalsInfo"]["TotalCharge"]),
                                           not order["GeneralInfo"]["HoldOrCancel"]) for order in orders}
        receipts = qbo.entities("SalesReceipt")
        by_number = Counter(r["DocNumber"] for r in receipts)
        assert [n for n, count in by_number.items() if count > 1] == []  # no number posted twice
        for key_id, (number, total, alive) in expected.items():
            key = f"sales_receipt:{key_id}"
            row = state.lookup([key])[key]
            events = [e for e in history.events(state, key) if e["event"] == "corrected"]
            reposts = sum(1 for e in events if e["mode"] == "void_and_repost")
            if mode == "update":
                assert reposts == 0
            versions = [r for r in receipts if r["DocNumber"] == number
                        or r["DocNumber"].startswith(f"{number}-")]
            # every repost the history records is in QuickBooks once, numbered in turn; no repost without one
            assert sorted(r["DocNumber"] for r in versions) == sorted(
                [number] + [f"{number}-{k}" for k in range(1, reposts + 1)]), (key, events)
            still = [r for r in versions if r.get("TxnStatus") != "Voided"]
            for voided in (r for r in versions if r.get("TxnStatus") == "Voided"):
                assert voids.voids[str(voided["Id"])] == 1, (key, voided["DocNumber"])  # never voided twice
            if not alive:
                assert still == [] and row.status == "voided", (key, row.status)
                continue
            (current,) = still
            assert Decimal(str(current["TotalAmt"])) == total, (key, current["DocNumber"])  # no change lost
            assert row.status == "posted" and row.target_id == current["Id"] and row.number == current["DocNumber"]
    finally:
        state.close()


def summary_expectations(state, orders) -> dict[str, tuple[str, Decimal, bool]]:
    """Summary id -> (its first number, the sum of its live orders' totals, whether any order is left in it); and
    every order still imported is in exactly one summary, a cancelled one in none."""
    store = SummaryStore(state, numbering(SummarySettings()))
    by_number = {str(o["NumOrderId"]): o for o in orders}
    held: dict[str, str] = {}
    expected = {}
    members_of = defaultdict(list)
    for summary in store.summaries():
        for member in store.members(summary.id):
            assert member.number not in held, f"order {member.number} is in two summaries"
            held[member.number] = summary.doc_number
            members_of[summary.doc_key].append(by_number[member.number])
        members = members_of[summary.doc_key]
        expected[summary.doc_key.split(":", 1)[1]] = (
            summary.doc_number, sum((cents(o["TotalsInfo"]["TotalCharge"]) for o in members), Decimal(0)),
            bool(members))
    assert set(held) == {n for n, o in by_number.items() if not o["GeneralInfo"]["HoldOrCancel"]}
    return expected


def summaries(folder) -> list:
    state = open_state(folder / "connex.db")
    try:
        return SummaryStore(state, numbering(SummarySettings())).summaries()
    finally:
        state.close()
