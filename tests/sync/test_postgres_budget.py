"""Issue 18 item 4: call budgets that hold across processes, kept in the PostgreSQL state database.

* The window logic against a model: the simulators' own sliding window (``SimulatorServer.rate_window``), driven
  by hypothesis with the database's clock replaced by explicit times.
* Several real processes sharing one Linnworks account and one QuickBooks company on the multi-tenant
  simulators, at a low limit and a short minute: together they never draw a 429, and finish in about the time
  the limit allows.
* A SIGKILLed process's places of calls at once are free at once.
"""

from __future__ import annotations

import collections
import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connex.budgets import LocalBudget, default_budget, process_budget, set_process_budget
from connex.runtime import share_budget
from connex.simulation.server import SimClock
from connex.state import open_state
from connex.state.budget import PostgresBudget
from tests.conftest import REPO


@pytest.fixture(scope="module")
def budget_db(postgres):
    url = postgres.new_database()
    store = open_state(url)  # migrates: call_windows exists
    budget = PostgresBudget(store.database.engine, margin=0.0, label=store.label)
    yield url, budget
    budget.close()
    store.close()


# --- the window logic ------------------------------------------------------------------------------------------
class Model:
    """The simulators' window (connex/simulation/server.py ``rate_window``), in microseconds."""

    def __init__(self, limit: int, period_us: int):
        self.limit, self.period = limit, period_us
        self.calls: collections.deque[int] = collections.deque()

    def call(self, now: int) -> tuple[bool, int]:
        while self.calls and self.calls[0] <= now - self.period:
            self.calls.popleft()
        if len(self.calls) >= self.limit:
            return False, self.calls[0] + self.period - now
        self.calls.append(now)
        return True, 0


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(limit=st.integers(1, 6), period_s=st.integers(1, 4),
       steps=st.lists(st.integers(0, 2_500_000), min_size=1, max_size=40))
def test_the_window_grants_exactly_what_the_vendors_window_admits(budget_db, limit, period_s, steps):
    _, budget = budget_db
    key = f"model|{uuid.uuid4().hex}"
    budget.set_limit(key, limit, float(period_s))
    model = Model(limit, period_s * 1_000_000)
    now = 1_000_000_000_000
    for gap in steps:
        now += gap
        granted, wait = budget.claim(key, now_us=now)
        expected, expected_wait = model.call(now)
        assert granted == expected
        if not granted:  # and it says exactly when the oldest call leaves the window
            assert round(wait * 1_000_000) == expected_wait


def test_a_claim_is_one_round_trip(budget_db):
    _, budget = budget_db
    budget.set_limit("trips|k", 500, 60.0)
    budget.acquire("trips|k")  # the first sets the key's places up
    before = budget.round_trips
    for _ in range(20):
        budget.acquire("trips|k")
    assert budget.round_trips - before == 20
    place = budget.slot("trips|slot", 3)
    with place:
        pass
    before = budget.round_trips
    with place:
        pass
    assert budget.round_trips - before == 2  # take, give back


def test_places_of_one_process_are_never_handed_out_twice(budget_db):
    """A session's advisory locks are re-entrant: the budget must not let two threads share one place."""
    _, budget = budget_db
    place = budget.slot(f"threads|{uuid.uuid4().hex}", 3)
    inside, most = [0], [0]
    lock = threading.Lock()

    def call():
        for _ in range(10):
            with place:
                with lock:
                    inside[0] += 1
                    most[0] = max(most[0], inside[0])
                time.sleep(0.002)
                with lock:
                    inside[0] -= 1

    threads = [threading.Thread(target=call) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most[0] == 3
    assert budget._held  # every place went back
    assert all(not held for held in budget._held.values())


# --- where it is installed -------------------------------------------------------------------------------------
def test_the_path_that_builds_connectors_installs_it_for_postgresql_only(postgres, tmp_path):
    before = process_budget()
    url = postgres.new_database()
    store, sqlite = open_state(url), open_state(tmp_path / "connex.db")
    try:
        set_process_budget(default_budget())
        share_budget(sqlite)
        assert process_budget() is default_budget()  # SQLite: one machine, the in-process budget
        share_budget(store)
        installed = process_budget()
        assert isinstance(installed, PostgresBudget)
        other = open_state(url, connection="other")
        share_budget(other)
        other.close()
        assert process_budget() is installed  # one per database, whichever connection builds next
        installed.close()
        scaled = LocalBudget(clock=time.monotonic)
        set_process_budget(scaled)
        share_budget(store)
        assert process_budget() is scaled  # one installed on purpose is kept
    finally:
        set_process_budget(before)
        store.close()
        sqlite.close()


# --- real processes --------------------------------------------------------------------------------------------
SCALE = 20.0  # a simulated minute lasts three seconds
MARGIN = 0.4
LIMIT = 10  # per (simulated) minute, on both vendors
ENDPOINT = "Inventory/GetStockLocations"


def start_caller(options: dict) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)}
    return subprocess.Popen([sys.executable, "-m", "tests.sync.budget_caller", json.dumps(options)], cwd=REPO,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def authorize(company) -> str:
    """A refresh token of an authorization of its own (the user connects the app again, for another
    connection): the real code flow of the simulator's OAuth server."""
    import requests

    config = company.connector_config()
    redirect = company.tokens.redirect_uris[0]
    consent = requests.get(config["authorize_url"], params={
        "client_id": config["client_id"], "response_type": "code", "redirect_uri": redirect,
        "scope": "com.intuit.quickbooks.accounting", "state": "x", "realmId": config["realm_id"]},
        allow_redirects=False, timeout=10)
    from urllib.parse import parse_qs, urlsplit

    code = parse_qs(urlsplit(consent.headers["Location"]).query)["code"][0]
    answer = requests.post(config["token_url"], data={"grant_type": "authorization_code", "code": code,
                                                      "redirect_uri": redirect},
                           auth=(config["client_id"], config["client_secret"]), timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()["refresh_token"]


def test_processes_sharing_an_account_and_a_company_never_draw_a_429(postgres, monkeypatch):
    from connex_linnworks.simulator.accounts import LinnworksAccounts
    from connex_quickbooks_online.simulator import server as qbo_server
    from connex_quickbooks_online.simulator.realms import QuickBooksOnlineRealms

    monkeypatch.setattr(qbo_server, "REQUESTS_PER_MINUTE", LIMIT)
    processes, calls = 3, 8
    url = postgres.new_database()
    open_state(url).close()
    clock = SimClock(SCALE)
    with LinnworksAccounts(clock=clock) as linnworks, QuickBooksOnlineRealms(clock=clock) as quickbooks:
        account = linnworks.add_account("shop", seed=3, processed_orders=0, open_orders=0, purchase_orders=0,
                                        refunds=False, rate_limits={ENDPOINT: LIMIT, "Auth/AuthorizeByApplication":
                                                                    LIMIT})
        company = quickbooks.add_company("9130350000000077")
        lw, qbo = account.connector_config(), company.connector_config()
        tokens = [qbo["refresh_token"]] + [authorize(company) for _ in range(processes - 1)]
        # the client keeps 90% of a Linnworks limit: told the limit is LIMIT/0.9, it keeps LIMIT
        client_limit = math.ceil(LIMIT / 0.9)
        started = time.monotonic()
        children = [start_caller({
            "mode": "calls", "state": url, "connection": f"p{n}", "scale": SCALE, "margin": MARGIN,
            "linnworks": {"application_id": lw["application_id"], "application_secret": lw["application_secret"],
                          "token": lw["token"], "auth_url": lw["auth_url"], "endpoint": ENDPOINT, "calls": calls,
                          "limits": {ENDPOINT: client_limit, "Auth/AuthorizeByApplication": client_limit}},
            "quickbooks": {**qbo, "refresh_token": tokens[n], "requests_per_minute": LIMIT, "calls": calls},
        }) for n in range(processes)]
        reports = []
        for child in children:
            out, err = child.communicate(timeout=120)
            assert child.returncode == 0, err
            reports.append(json.loads(out.strip().splitlines()[-1]))
        elapsed = time.monotonic() - started
        assert all(report["errors"] == [] for report in reports), reports
        assert linnworks.rate_limited() == {"shop": 0}
        assert quickbooks.rate_limited() == {"9130350000000077": 0}
        assert account.stats[ENDPOINT] == company.stats["read"] == processes * calls
        # the limit binds: 24 calls at 10 a minute take at least two whole minutes (the windows are
        # MARGIN longer), and the processes together take little more than that
        minute = 60 / SCALE + MARGIN
        bound = (math.ceil(processes * calls / LIMIT) - 1) * minute
        slowest = max(report["seconds"] for report in reports)
        assert slowest >= bound - 0.5
        assert elapsed <= bound + minute + 15, (elapsed, bound)  # + start-up of three interpreters
        assert all(report["round_trips"] <= 4 * calls * 2 + 20 for report in reports), reports


def test_a_killed_process_gives_its_places_back_at_once(budget_db):
    url, budget = budget_db
    key = f"kill|{uuid.uuid4().hex}"
    child = start_caller({"mode": "hold", "state": url, "key": key, "places": 3})
    try:
        assert child.stdout.readline().strip() == "held", child.stderr.read() if child.poll() is not None else ""
        assert budget.take_place(key, 3, wait=0.3) is None  # all three are the child's
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
        started = time.monotonic()
        taken = [budget.take_place(key, 3, wait=5.0) for _ in range(3)]
        assert all(t is not None for t in taken)
        assert time.monotonic() - started < 5.0
        for place, generation in taken:
            budget.free_place(key, place, generation)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
