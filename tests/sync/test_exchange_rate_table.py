"""Exchange rates from the state database's rate table: read from QuickBooks in the fewest reads, stored per
currency and day, reused by later connectors (later passes and runs), never a silent 1.0."""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from decimal import Decimal

import pytest
from connex_quickbooks_online.connector import QuickBooksOnlineTarget
from connex_quickbooks_online.simulator import QuickBooksOnlineSimulator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connex.simulation.server import SimClock
from connex.state import open_state
from tests.conftest import examples
from tests.quickbooks_online.qbo_factories import sale
from tests.quickbooks_online.qbo_support import FAST_RETRY

START = dt.date(2026, 1, 1)


@pytest.fixture
def sim():
    with QuickBooksOnlineSimulator(clock=SimClock(scale=60.0)) as simulator:
        yield simulator


def connector(sim, state) -> QuickBooksOnlineTarget:
    return QuickBooksOnlineTarget(sim.connector_config(), state=state, retry=FAST_RETRY, clock=sim.clock.now,
                                  sleep=lambda s: time.sleep(s / sim.clock.scale))


def foreign(number: str, currency: str, day: dt.date):
    doc = sale(number, currency=currency)
    return dataclasses.replace(doc, exchange_rate=None, txn_date=day)


def rate_reads(sim) -> int:
    return sim.stats["exchangerate"] + sim.stats["rate_queries"]


@pytest.fixture
def count_rate_queries(sim, monkeypatch):
    original = sim._query_exchange_rates

    def counted(parsed):
        sim.stats["rate_queries"] += 1
        return original(parsed)

    monkeypatch.setattr(sim, "_query_exchange_rates", counted)


def test_a_year_of_documents_costs_one_read_per_currency_and_none_the_next_run(sim, tmp_path, count_rate_queries):
    state = open_state(tmp_path / "connex.db")
    sim.company.day_rates[("GBP", "2026-02-03")] = Decimal("1.3001")
    days = [START + dt.timedelta(days=n * 8) for n in range(40)]  # all before today
    docs = [foreign(f"FX-{c}-{n}", c, day) for c in ("GBP", "EUR", "CAD") for n, day in enumerate(days)]
    first = connector(sim, state)
    try:
        assert {r.status for r in first.post_documents(docs)} == {"posted"}
    finally:
        first.close()
    assert sim.stats["rate_queries"] == 3 and sim.stats["exchangerate"] == 0
    receipt = sim.entity("SalesReceipt", DocNumber="FX-GBP-3")  # 2026-01-25
    assert Decimal(str(receipt["ExchangeRate"])) == Decimal("1.2714")
    special = [foreign("FX-SPECIAL", "GBP", dt.date(2026, 2, 3))]
    before = rate_reads(sim)
    again = connector(sim, open_state(tmp_path / "connex.db"))  # a later run: a new process, the same file
    try:
        assert [r.status for r in again.post_documents(special)] == ["posted"]
    finally:
        again.close()
    assert rate_reads(sim) == before  # the day was stored by the first run's query
    assert Decimal(str(sim.entity("SalesReceipt", DocNumber="FX-SPECIAL")["ExchangeRate"])) == Decimal("1.3001")


def test_one_missing_day_is_one_get_and_is_stored(sim, tmp_path, count_rate_queries):
    state = open_state(tmp_path / "connex.db")
    target = connector(sim, state)
    try:
        assert [r.status for r in target.post_documents([foreign("ONE-1", "EUR", dt.date(2026, 3, 2))])] == ["posted"]
    finally:
        target.close()
    assert sim.stats["exchangerate"] == 1 and sim.stats["rate_queries"] == 0
    assert state.exchange_rates(sim.company.realm_id, "EUR", "2026-03-02", "2026-03-02") == {
        "2026-03-02": Decimal("1.0862")}


def test_a_company_refusing_the_query_gets_one_get_per_day(sim, tmp_path, monkeypatch):
    from connex_quickbooks_online.simulator.rules import SimFault

    def refuse(parsed):
        raise SimFault("4000", "QueryValidationError: Invalid context declaration : ExchangeRate")

    monkeypatch.setattr(sim, "_query_exchange_rates", refuse)
    target = connector(sim, open_state(tmp_path / "connex.db"))
    days = [START, START + dt.timedelta(days=1), START + dt.timedelta(days=2)]
    try:
        results = target.post_documents([foreign(f"R-{n}", "GBP", day) for n, day in enumerate(days)])
    finally:
        target.close()
    assert [r.status for r in results] == ["posted"] * 3
    assert sim.stats["exchangerate"] == 3


def test_no_rate_anywhere_fails_the_document_never_one(sim, tmp_path):
    target = connector(sim, open_state(tmp_path / "connex.db"))
    try:
        results = target.post_documents([foreign("JPY-1", "JPY", START), foreign("JPY-2", "JPY", START.replace(day=5)),
                                         foreign("OK-1", "GBP", START)])
    finally:
        target.close()
    assert [r.status for r in results] == ["failed", "failed", "posted"]
    assert all(r.code == "exchange_rate_missing" or "exchange rate" in (r.error or "") for r in results[:2])


@settings(max_examples=examples(15), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(days=st.lists(st.integers(0, 200), min_size=1, max_size=12),
       special=st.dictionaries(st.integers(0, 200), st.decimals("0.5", "2", places=4), max_size=4))
def test_every_document_gets_the_rate_quickbooks_holds_for_its_day(tmp_path_factory, days, special):
    with QuickBooksOnlineSimulator(clock=SimClock(scale=60.0)) as sim:
        original = sim._query_exchange_rates
        sim._query_exchange_rates = lambda parsed: (sim.stats.update(["rate_queries"]), original(parsed))[1]
        for offset, rate in special.items():
            sim.company.day_rates[("EUR", (START + dt.timedelta(days=offset)).isoformat())] = rate
        state = open_state(tmp_path_factory.mktemp("rates") / "connex.db")
        docs = [foreign(f"P-{n}", "EUR", START + dt.timedelta(days=d)) for n, d in enumerate(days)]
        for round_ in range(2):  # the second connector reads the stored table
            target = connector(sim, state)
            try:
                results = target.post_documents(docs)
            finally:
                target.close()
            assert {r.status for r in results} <= {"posted", "exists"}
            if round_ == 0:
                reads = rate_reads(sim)
        assert rate_reads(sim) == reads  # the second connector reads no rate
        for n, d in enumerate(days):
            day = START + dt.timedelta(days=d)
            want = special.get(d, Decimal("1.0862"))
            got = Decimal(str(sim.entity("SalesReceipt", DocNumber=f"P-{n}")["ExchangeRate"]))
            assert got == want, (day, got, want)
