"""The shared HTTP client against a real simulator socket: throttling, retries, Retry-After, budgets."""

import pytest
import requests

from connex.errors import TransientError
from connex.simulation import Response, SimulatorServer
from connex.transport import HttpClient, RateLimiter, RetryPolicy, parse_retry_after


class Echo(SimulatorServer):
    name = "echo"

    def __init__(self):
        super().__init__()
        self.add_route("GET", r"/ping", lambda req: Response(200, {"ok": True}), "ping")
        self.add_route("POST", r"/items/(?P<id>\d+)", lambda req: Response(201, {"id": req.params["id"]}), "items")


@pytest.fixture
def sim():
    with Echo() as server:
        yield server


def fast_client(**kwargs):
    return HttpClient(retry=RetryPolicy(max_attempts=4, base_delay=0.001, max_delay=0.01, time_budget=1), **kwargs)


@pytest.mark.parametrize("fault", ["429", "500", "503", "drop"])
def test_transient_faults_are_retried_until_success(sim, fault):
    sim.inject("ping", fault, times=2)
    client = fast_client()
    response = client.request("GET", sim.url + "/ping", endpoint="ping")
    assert response.status_code == 200 and response.json() == {"ok": True}
    assert client.calls["ping"] == 3 and client.retries == 2
    assert sim.stats["ping"] == 3


def test_gives_up_with_transient_error_naming_the_endpoint(sim):
    sim.inject("ping", "500", times=10)
    with pytest.raises(TransientError, match=r"ping: gave up after 4 attempts: HTTP 500"):
        fast_client().request("GET", sim.url + "/ping", endpoint="ping")


def test_client_errors_are_returned_not_retried(sim):
    client = fast_client()
    assert client.request("GET", sim.url + "/nowhere", endpoint="x").status_code == 404
    assert client.request("POST", sim.url + "/ping", endpoint="x").status_code == 405
    assert client.retries == 0


def test_retry_after_is_honoured():
    waits = []
    policy = RetryPolicy(max_delay=30)
    assert policy.delay(1, retry_after=7) == 7
    assert parse_retry_after("12") == 12.0 and parse_retry_after(None) is None and parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # a date in the past: go now
    # a 429 that says "Retry-After: 1" makes the client wait that long, not its own backoff
    with Echo() as sim:
        sim.inject("ping", "429", times=1)
        client = HttpClient(retry=RetryPolicy(base_delay=0.001), sleep=waits.append)
        assert client.request("GET", sim.url + "/ping", endpoint="ping").status_code == 200
    assert waits == [1.0]


def test_rate_limiter_spaces_calls_within_the_window():
    now = [0.0]
    slept = []

    def sleep(seconds):
        slept.append(seconds)
        now[0] += seconds

    limiter = RateLimiter(clock=lambda: now[0], sleep=sleep)
    limiter.set_limit("ep", 3, period=60)
    for _ in range(3):
        assert limiter.acquire("ep") == 0
    assert limiter.acquire("ep") == pytest.approx(60)
    assert limiter.acquire("other") == 0  # no limit set for it


def test_simulator_controls_over_http(sim):
    assert requests.post(sim.url + "/_sim/faults", json={"endpoint": "items", "fault": "503"}).status_code == 204
    assert requests.post(sim.url + "/items/7").status_code == 503
    assert requests.post(sim.url + "/items/7").json() == {"id": "7"}
    stats = requests.get(sim.url + "/_sim/stats").json()
    assert stats["items"] == 2 and stats["fault:503"] == 1
    bad = requests.post(sim.url + "/_sim/faults", json={"endpoint": "items", "fault": "teapot"})
    assert bad.status_code == 400 and "unknown fault" in bad.json()["Message"]


def test_rate_window_uses_the_scaled_clock(sim):
    for _ in range(5):
        assert sim.rate_window("k", 5) is None
    wait = sim.rate_window("k", 5)
    assert wait is not None and 0 < wait <= 60
    sim.clock.advance(61)
    assert sim.rate_window("k", 5) is None
