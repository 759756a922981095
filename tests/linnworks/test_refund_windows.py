"""Refunds read by action-date windows: the simulator enforces the History search's documented limits, and a
pass costs what is new, whatever the history's size, with every guarantee of the earlier reader."""

from __future__ import annotations

import datetime as dt
import time

import pytest
import requests
from connex_linnworks.refunds import add_months
from connex_linnworks.simulator import LinnworksSimulator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connex.connectors import WindowQuery
from tests.conftest import in_ci

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


def session(sim):
    body = requests.post(f"{sim.url}/api/Auth/AuthorizeByApplication", json={
        "ApplicationId": sim.application_id, "ApplicationSecret": sim.application_secret,
        "Token": sim.install_token}, timeout=5).json()
    return body["Server"], body["Token"]


def search(sim, **query):
    server, token = session(sim)
    return requests.get(f"{server}/api/ReturnsRefunds/SearchReturnsRefundsPaged", params=query,
                        headers={"Authorization": token}, timeout=5)


@pytest.fixture(scope="module")
def small():
    with LinnworksSimulator(processed_orders=40, open_orders=0, purchase_orders=0) as sim:
        yield sim


@pytest.mark.parametrize(("query", "field"), [
    ({"from": "2025-01-01 00:00:00", "to": "2025-04-01 00:00:01"}, "3 months"),
    ({"from": "2025-05-01 00:00:00", "to": "2025-04-01 00:00:00"}, "3 months"),
    ({"from": "2025-01-01 00:00:00"}, "from and to"),
    ({"from": "2025-01-01 00:00:00", "to": "2025-02-01 00:00:00", "numEntriesPerPage": 201}, "numEntriesPerPage"),
    ({"from": "2025-01-01 00:00:00", "to": "2025-02-01 00:00:00", "historyType": "ORDERS"}, "historyType"),
])
def test_the_history_search_enforces_the_specs_limits(small, query, field):
    answer = search(small, **{"dateType": "ACTIONED", "historyType": "REFUNDS", "pageNum": 1,
                              "numEntriesPerPage": 200, **query})
    assert answer.status_code == 400 and field in answer.json()["Message"]


def test_a_three_month_window_is_accepted_to_the_day(small):
    answer = search(small, dateType="ACTIONED", historyType="REFUNDS", pageNum=1, numEntriesPerPage=200,
                    **{"from": "2025-11-30 00:00:00", "to": "2026-02-28 00:00:00"})
    assert answer.status_code == 200
    assert add_months(dt.datetime(2025, 11, 30), 3) == dt.datetime(2026, 2, 28)


def test_the_history_lists_actioned_refunds_and_acknowledged_errors_never_bookings(small):
    rows = search(small, dateType="ALLDATES", historyType="REFUNDS", pageNum=1, numEntriesPerPage=200).json()["Data"]
    statuses = {h["RefundHeaderId"]: h["Status"]["StatusHeader"] for h in small.account.refund_headers.values()}
    assert {r["RefundStatus"] for r in rows} == {"PROCESSED", "ERROR_ACKED"}
    assert "PENDING" in statuses.values()  # bookings exist, and are not listed
    assert all(r["ActionDate"] for r in rows)


def test_stock_items_past_the_last_page_are_a_400(small):
    server, token = session(small)
    answer = requests.post(f"{server}/api/Stock/GetStockItemsFull", json={
        "keyword": "", "entriesPerPage": 200, "pageNumber": 2, "dataRequirements": ["StockLevels"]},
        headers={"Authorization": token}, timeout=5)
    assert answer.status_code == 400 and answer.json()["Message"] == "No items found with given filter."


def calls_of_an_incremental_pass(make_source, history: int) -> dict[str, int]:
    with LinnworksSimulator(processed_orders=max(history, 20), open_orders=0, purchase_orders=0,
                            refunds=False) as sim:
        start = NOW - dt.timedelta(days=400)
        sim.account.add_refund_history(history, first_action=start, every=dt.timedelta(days=360) / history)
        # where the last pass left off: the newest action date of the history (a first load of a long history
        # is rate-limited to 150 header reads a minute, too slow for a unit test; bench/ measures it)
        last = start + (history - 1) * (dt.timedelta(days=360) / history)
        checkpoint = {"since": (last + dt.timedelta(seconds=1)).isoformat(), "seen": []}
        for n in range(5):  # five refunds actioned since the last pass
            order_id = sim.account.processed_index[n][2]
            header = sim.book_refund(order_id, lines=None, shipping=True)
            sim.action_refund(header["RefundHeaderId"], at=NOW - dt.timedelta(minutes=30 - n))
        source = make_source(sim)
        records = [r for p in source.read_refunds(WindowQuery(cursor=checkpoint)) for r in p.records]
        assert len(records) == 5
        return source.calls


def test_an_incremental_pass_costs_the_same_at_any_history_size(make_source):
    # 5000 past orders under CI=true; 1000 in a user's run already dwarf the 30 and keep it a few seconds
    small = calls_of_an_incremental_pass(make_source, 30)
    large = calls_of_an_incremental_pass(make_source, 5000 if in_ci() else 1000)
    assert small == large
    assert sum(small.values()) <= 1 + 1 + 5 + 1  # auth, one search page, five orders' headers, one order batch


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    offsets=st.lists(st.integers(0, 500 * 24), min_size=1, max_size=40),
    booked=st.lists(st.integers(0, 39), max_size=5),
    stops=st.lists(st.integers(1, 6), min_size=1, max_size=4),
)
def test_stopped_and_resumed_reads_emit_every_actioned_refund_once_per_run(make_source, offsets, booked, stops):
    """Over 500 days (several 3-month windows), with reads stopped after a few pages and resumed from the last
    checkpoint: every actioned refund is read at least once, bookings never, and none twice within one run."""
    with LinnworksSimulator(processed_orders=40, open_orders=0, purchase_orders=0, refunds=False) as sim:
        start = NOW - dt.timedelta(days=501)
        actioned = set()
        for n, hours in enumerate(offsets):
            order_id = sim.account.processed_index[n % 40][2]
            header = sim.book_refund(order_id, lines=[(sim.order(order_id)["Items"][0]["SKU"], 1)])
            if n not in booked:
                sim.action_refund(header["RefundHeaderId"], at=start + dt.timedelta(hours=hours))
                actioned.add(header["RefundHeaderId"])
        source = make_source(sim, page_size=20)
        cursor, seen = None, set()
        for stop in [*stops, 10_000]:
            run_ids = []
            for n, page in enumerate(source.read_refunds(WindowQuery(from_date=start, cursor=cursor))):
                run_ids += [r["RefundHeaderId"] for r in page.records]
                cursor = page.checkpoint or cursor
                if n + 1 >= stop:
                    break
            assert len(run_ids) == len(set(run_ids))
            seen.update(run_ids)
        assert seen == actioned


def test_a_first_load_reads_the_whole_history_feed_then_the_next_pass_is_windowed(make_source):
    """A first load of N refunds costs the old feed's pages plus one order batch per 100 refunds (not a header
    read per order); booked-only refunds are never read; the next pass searches by window from the load's start."""
    history = 400
    with LinnworksSimulator(processed_orders=history, open_orders=0, purchase_orders=0, refunds=False) as sim:
        sim.account.add_refund_history(history, first_action=NOW - dt.timedelta(days=400),
                                       every=dt.timedelta(days=360) / history)
        booked = sim.book_refund(sim.account.processed_index[0][2], lines=None, shipping=True)
        source = make_source(sim)
        pages = list(source.read_refunds(WindowQuery()))
        ids = [r["RefundHeaderId"] for p in pages for r in p.records]
        assert len(ids) == len(set(ids)) == history
        assert booked["RefundHeaderId"] not in ids
        calls = dict(source.calls)
        feed_pages = -(-(history + 1) // 20)
        assert calls.get("ReturnsRefunds/GetRefundHeadersByOrderId", 0) == 0
        assert sum(calls.values()) <= feed_pages + -(-history // 100) + 2  # + auth, + a partial order batch
        checkpoint = pages[-1].checkpoint
        assert checkpoint and all(p.checkpoint is None for p in pages[:-1])
        for n in range(5):
            header = sim.book_refund(sim.account.processed_index[n + 1][2], lines=None, shipping=True)
            sim.action_refund(header["RefundHeaderId"], at=dt.datetime.now(dt.UTC))  # after the load began
        time.sleep(1.1)  # the search takes whole seconds: the next pass starts in a later second than the actions
        again = [r for p in source.read_refunds(WindowQuery(cursor=checkpoint)) for r in p.records]
        assert len(again) == 5
        second = {k: v - calls.get(k, 0) for k, v in source.calls.items() if v - calls.get(k, 0)}
        assert "ReturnsRefunds/GetProcessedOrAckedErrorRefundHeaders" not in second
        assert sum(second.values()) <= 1 + 5 + 1  # one search page, five orders' headers, one order batch
