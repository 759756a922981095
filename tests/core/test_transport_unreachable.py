"""A URL where nothing listens is said once, plainly, instead of being retried with a connection dump per try;
a service that answered and then went away (a restart) is still retried."""

import socket
import threading
import time

import pytest

from connex.errors import TransientError
from connex.transport import HttpClient, RetryPolicy

from .test_transport import Echo


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_nothing_listening_fails_at_once_naming_the_address(caplog):
    port = closed_port()
    client = HttpClient(retry=RetryPolicy(max_attempts=6, base_delay=0.5, time_budget=300))
    started = time.monotonic()
    with pytest.raises(TransientError) as raised:
        client.request("GET", f"http://127.0.0.1:{port}/api/ping", endpoint="Auth/Ping")
    assert str(raised.value) == f"http://127.0.0.1:{port} is unreachable: connection refused (Auth/Ping)"
    assert client.calls == {"Auth/Ping": 1} and client.retries == 0
    assert time.monotonic() - started < 2 and "attempt" not in caplog.text


def test_a_service_that_answered_and_restarts_is_retried_until_it_is_back():
    sim = Echo().start()
    port = int(sim.url.rsplit(":", 1)[1])
    client = HttpClient(retry=RetryPolicy(max_attempts=30, base_delay=0.05, max_delay=0.1, time_budget=10))
    assert client.request("GET", f"{sim.url}/ping", endpoint="ping").status_code == 200
    sim.stop()
    client.session.close()  # no kept-alive socket: the next request opens a new connection, and is refused
    again = Echo()
    again.port = port
    threading.Timer(0.3, again.start).start()
    try:
        assert client.request("GET", f"http://127.0.0.1:{port}/ping", endpoint="ping").status_code == 200
        assert client.retries >= 1
    finally:
        time.sleep(0.35)
        again.stop()
