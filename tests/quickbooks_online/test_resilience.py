"""Token expiry midway, injected 429s/500s/timeouts and reruns all end in the same QuickBooks state."""

from __future__ import annotations

import time

import pytest
from connex_quickbooks_online.connector import QuickBooksOnlineTarget
from connex_quickbooks_online.simulator import QuickBooksOnlineSimulator

from connex.simulation.server import SimClock

from .qbo_factories import purchase, random_sales, refund, sale
from .qbo_support import FAST_RETRY, DictStore, body_violations


def workload():
    docs = random_sales(75, seed=11)
    docs += [
        purchase("PO-50", status="Delivered"),
        purchase("PO-51", status="Pending", source_id="po-51"),
        purchase("PO-50", kind="bill", status="Delivered", linked="PO-50"),
        refund("RF-1", docs[0].doc_number, currency=docs[0].currency, customer=docs[0].customer.display_name),
    ]
    return docs


def snapshot(sim):
    """What matters of a company's state, independent of Ids and timestamps."""
    state = {}
    for entity in ("SalesReceipt", "Invoice", "PurchaseOrder", "Bill", "RefundReceipt"):
        rows = sim.entities(entity)
        numbers = [r["DocNumber"] for r in rows]
        assert len(numbers) == len(set(numbers)), f"duplicate {entity}"
        state[entity] = sorted(
            (r["DocNumber"], r["TotalAmt"], r["CurrencyRef"]["value"], len(r["Line"])) for r in rows
        )
    state["Customer"] = sorted(
        (c["DisplayName"], c["CurrencyRef"]["value"]) for c in sim.entities("Customer")
    )
    state["stock"] = sorted((i["Sku"], i.get("QtyOnHand")) for i in sim.entities("Item") if i.get("Sku"))
    state["po_status"] = sorted((p["DocNumber"], p["POStatus"]) for p in sim.entities("PurchaseOrder"))
    return state


def run_into(sim, docs, store=None, **kwargs):
    target = QuickBooksOnlineTarget(
        sim.connector_config(), state=store or DictStore(), retry=FAST_RETRY, **kwargs
    )
    try:
        return target.post_documents(docs)
    finally:
        target.close()


@pytest.fixture(scope="module")
def clean_state():
    with QuickBooksOnlineSimulator() as sim:
        results = run_into(sim, workload())
        assert all(r.status == "posted" for r in results)
        assert body_violations(sim) == []
        return snapshot(sim)


def test_access_token_expiring_midway(sim, clean_state):
    sim.inject("batch", "expire", times=1, after=2)
    results = run_into(sim, workload())
    assert all(r.status == "posted" for r in results)
    assert sim.stats["unauthorized"] == 1 and sim.stats["oauth:token"] == 2
    assert snapshot(sim) == clean_state


def test_injected_429s_and_500s(sim, clean_state):
    sim.inject("batch", "429", times=2)
    sim.inject("batch", "500", times=2, after=1)
    sim.inject("query", "503", times=1)
    sim.inject("batch", "drop", times=1, after=3)
    results = run_into(sim, workload())
    assert all(r.status == "posted" for r in results)
    assert sim.stats["fault:429"] == 2 and sim.stats["fault:500"] == 2 and sim.stats["fault:drop"] == 1
    assert snapshot(sim) == clean_state


def test_timeout_after_the_server_acted_creates_nothing_twice(sim, clean_state):
    # The first batch is answered too late: the client gives up and retries while QuickBooks still works on
    # it. The deterministic requestid turns the retry into a replay of the first answer.
    sim.slow_seconds = 0.6
    sim.inject("batch", "slow", times=1, after=1)
    target = QuickBooksOnlineTarget(
        {**sim.connector_config(), "timeout": 0.25}, state=DictStore(), retry=FAST_RETRY
    )
    try:
        results = target.post_documents(workload())
    finally:
        target.close()
    assert all(r.status == "posted" for r in results)
    # The abandoned first attempt is still asleep in the server; only once it has finished is the state final.
    deadline = time.monotonic() + 5
    while sim.stats["requestid_replays"] < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sim.stats["requestid_replays"] == 1
    assert snapshot(sim) == clean_state


def test_rerun_of_the_same_data_changes_nothing(sim, clean_state):
    docs = workload()
    first = run_into(sim, docs)
    again = run_into(sim, docs)  # a new process: empty caches, same requestids
    assert [r.target_id for r in again] == [r.target_id for r in first]
    assert all(r.status in ("posted", "exists") for r in again)
    # differently chunked (every other document, another order): DocNumber holders are recognised as ours
    reshuffled = list(reversed(docs[::2]))
    third = run_into(sim, reshuffled)
    assert [r.status for r in third] == ["exists"] * len(reshuffled)
    ids = {r.key: r.target_id for r in first}
    assert all(r.target_id == ids[r.key] for r in third)
    assert snapshot(sim) == clean_state


def test_same_connector_reports_exists_without_requests(sim, target):
    docs = [sale("E-1"), sale("E-2")]
    target.post_documents(docs)
    calls = sum(v for k, v in sim.stats.items() if k in ("batch", "query"))
    assert [r.status for r in target.post_documents(docs)] == ["exists", "exists"]
    assert sum(v for k, v in sim.stats.items() if k in ("batch", "query")) == calls


def test_the_same_document_twice_in_one_call_is_posted_once(sim, target):
    doc = sale("T-1")
    first, again = target.post_documents([doc, doc])
    assert (first.status, again.status) == ("posted", "exists") and first.target_id == again.target_id
    assert len(sim.entities("SalesReceipt")) == 1


def test_number_taken_by_another_order_fails_with_6140(sim, target):
    target.post_documents([sale("N-1", source_id="lw-original")])
    [clash] = target.post_documents([sale("N-1", source_id="lw-other")])
    assert clash.status == "failed" and clash.code == "6140"
    assert "duplicate document number" in clash.error and "N-1" in clash.error


def test_quickbooks_down_fails_the_documents_not_the_run():
    with QuickBooksOnlineSimulator(clock=SimClock()) as sim:
        sim.inject("batch", "503", times=FAST_RETRY.max_attempts)  # exactly one exhausted retry budget
        results = run_into(sim, [sale("Z-1"), sale("Z-2")])
        assert [r.status for r in results] == ["failed", "failed"]
        assert "gave up" in results[0].error
        assert body_violations(sim) == []
        assert [r.status for r in run_into(sim, [sale("Z-1"), sale("Z-2")])] == ["posted", "posted"]
