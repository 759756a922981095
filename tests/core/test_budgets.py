"""Call budgets per QuickBooks company and Linnworks account, shared by every connection in the process."""

from __future__ import annotations

import threading

import pytest
from connex_linnworks.connector import LinnworksSource
from connex_linnworks.limits import client_limit
from connex_quickbooks_online.client import REALM_KEY, make_limiter

from connex.budgets import LocalBudget, ScopedBudget, process_budget, scope_key, set_process_budget


class FakeTime:
    def __init__(self):
        self.now = 0.0
        self.slept = 0.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.slept += seconds


@pytest.fixture
def fake_budget():
    """A process budget on a fake clock, put back afterwards."""
    time = FakeTime()
    before = process_budget()
    set_process_budget(LocalBudget(clock=time.clock, sleep=time.sleep))
    yield time
    set_process_budget(before)


LW = {"application_id": "00000000-0000-0000-0000-000000000001", "application_secret": "x",
      "token": "00000000-0000-0000-0000-0000000000aa", "auth_url": "http://127.0.0.1:9"}


def test_two_connections_to_one_linnworks_account_share_its_minute(fake_budget):
    first, second = LinnworksSource(LW), LinnworksSource(LW)
    other = LinnworksSource({**LW, "token": "00000000-0000-0000-0000-0000000000bb"})
    endpoint = "ProcessedOrders/SearchProcessedOrders"
    limit = client_limit(endpoint)
    for n in range(limit):
        (first if n % 2 else second).client._limiter.acquire(endpoint)
    assert fake_budget.slept == 0
    assert other.client._limiter.acquire(endpoint) == 0  # another account has its own budget
    waited = second.client._limiter.acquire(endpoint)  # the shared minute is spent: wait for it
    assert waited == pytest.approx(60.0)
    for source in (first, second, other):
        source.close()


def test_two_connections_to_one_company_share_its_requests_and_batches(fake_budget):
    api = "https://quickbooks.api.intuit.com"
    first, second = make_limiter(api_url=api, realm_id="123"), make_limiter(api_url=api, realm_id="123")
    elsewhere = make_limiter(api_url=api, realm_id="456")
    for n in range(40):
        (first if n % 2 else second).acquire("batch")
    assert fake_budget.slept == 0
    assert elsewhere.acquire("batch") == 0
    assert first.acquire("batch") > 0  # the company's 41st batch this minute waits, whoever sends it
    # every call counts against the company's 500 a minute too: 41 of them so far
    assert first.budget.budget._calls[f"{first.budget.scope}|{REALM_KEY}"].__len__() == 41


def test_calls_at_once_are_the_company_s():
    budget = LocalBudget()
    first, second = ScopedBudget(budget, "qbo:x:1"), ScopedBudget(budget, "qbo:x:1")
    assert first.slot("concurrent", 10) is second.slot("concurrent", 10)
    held = [first.slot("concurrent", 10) for _ in range(10)]
    for slot in held:
        slot.__enter__()
    blocked = threading.Event()

    def eleventh():
        with second.slot("concurrent", 10):
            blocked.set()

    thread = threading.Thread(target=eleventh)
    thread.start()
    assert not blocked.wait(0.2)  # the 11th call at once waits for a place
    held[0].__exit__(None, None, None)
    assert blocked.wait(2)
    thread.join()
    for slot in held[1:]:
        slot.__exit__(None, None, None)


def test_a_budget_key_never_carries_the_secret_it_is_derived_from():
    key = scope_key("linnworks", "https://api.linnworks.net/api", "app", "install-token-secret")
    assert key.startswith("linnworks:https://api.linnworks.net:") and "install-token-secret" not in key
    assert key == scope_key("linnworks", "https://api.linnworks.net/other", "app", "install-token-secret")
