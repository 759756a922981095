"""Issue 12 item 2: the Web Connector endpoint faces the internet. Each attack reproduced over a real socket
against a running endpoint, and the safe outcome asserted."""

from __future__ import annotations

import logging
import socket
import threading
import time

import pytest
import requests
from connex_quickbooks_desktop import soap
from connex_quickbooks_desktop.safexml import MAX_BYTES

from .conftest import PASSWORD, USERNAME

# ----------------------------------------------------------------------------------------------------------
# helpers: raw HTTP, because the attacks are malformed HTTP no well-behaved client library would send


def address(endpoint) -> tuple[str, int]:
    host, port = endpoint._httpd.server_address[:2]
    return host, port


def raw_request(endpoint, head: bytes, body: bytes = b"", *, timeout: float = 5.0) -> bytes:
    """Send ``head`` (request line and headers, without the blank line) and ``body``; return all the server
    answers until it closes the connection."""
    with socket.create_connection(address(endpoint), timeout=timeout) as sock:
        sock.sendall(head + b"\r\n\r\n" + body)
        return read_all(sock)


def read_all(sock: socket.socket) -> bytes:
    chunks = []
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def status_of(answer: bytes) -> int:
    assert answer.startswith(b"HTTP/1."), answer[:200]
    return int(answer.split(b" ", 2)[1])


def post_head(length: bytes | None, extra: bytes = b"") -> bytes:
    head = b"POST /qbwc HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/xml; charset=utf-8"
    if length is not None:
        head += b"\r\nContent-Length: " + length
    return head + extra


def serve_version(endpoint) -> requests.Response:
    return requests.post(
        endpoint.url,
        data=soap.call("serverVersion", {}),
        headers={"Content-Type": "text/xml; charset=utf-8"},
        timeout=10,
    )


def authenticate(endpoint, username: str, password: str) -> str:
    response = requests.post(
        endpoint.url,
        data=soap.call("authenticate", {"strUserName": username, "strPassword": password}),
        headers={"Content-Type": "text/xml; charset=utf-8"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return soap.parse_answer(response.content, "authenticate")[1]


def worker_threads() -> int:
    return sum(1 for t in threading.enumerate() if t.name.startswith("http-worker"))


# ----------------------------------------------------------------------------------------------------------
# Content-Length


def test_a_negative_length_with_a_large_stream_is_refused_before_the_body_is_read(endpoint):
    """``Content-Length: -1`` once meant "read until the client stops", so a client could stream gigabytes
    into memory. The 400 must come before the client has sent (or closed) anything, and the server must stop
    taking the stream: the bytes it accepts are at most what the kernel buffers hold."""
    with socket.create_connection(address(endpoint), timeout=5) as sock:
        sock.sendall(post_head(b"-1") + b"\r\n\r\n")
        first = sock.recv(65536)  # the stream is still open: an answer now proves nothing was awaited
        assert status_of(first) == 400
        assert b"Traceback" not in first
        sent, chunk = 0, b"x" * (1024 * 1024)
        with pytest.raises(OSError):  # reset or broken pipe once the server has closed
            while sent < 256 * 1024 * 1024:
                sock.sendall(chunk)
                sent += len(chunk)
        assert sent < 64 * 1024 * 1024  # kernel buffers only; 256 MB would have gone through before
    assert serve_version(endpoint).status_code == 200


def test_minus_five_is_a_plain_400_not_a_traceback(endpoint):
    answer = raw_request(endpoint, post_head(b"-5"), b"abc")
    assert status_of(answer) == 400
    assert b"Traceback" not in answer and b"<html" not in answer.lower()
    assert b"Content-Length must be a non-negative whole number" in answer


@pytest.mark.parametrize("value", [b"abc", b"1e3", b"0x10", b"\xd9\xa3", b"+5", b"5 5", b"9" * 4000])
def test_lengths_that_are_not_a_number_are_refused(endpoint, value):
    answer = raw_request(endpoint, post_head(value), b"abc")
    assert status_of(answer) in (400, 413)
    assert b"Traceback" not in answer


def test_a_missing_length_is_411(endpoint):
    answer = raw_request(endpoint, post_head(None), soap.call("serverVersion", {}))
    assert status_of(answer) == 411


def test_a_chunked_body_is_411(endpoint):
    body = soap.call("serverVersion", {})
    chunked = f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"
    answer = raw_request(endpoint, post_head(None, b"\r\nTransfer-Encoding: chunked"), chunked)
    assert status_of(answer) == 411


def test_an_oversized_length_is_413_before_any_body_is_sent(endpoint):
    with socket.create_connection(address(endpoint), timeout=5) as sock:
        sock.sendall(post_head(str(MAX_BYTES + 1).encode()) + b"\r\n\r\n")
        answer = read_all(sock)
    assert status_of(answer) == 413


def test_a_body_shorter_than_its_length_is_400(endpoint):
    with socket.create_connection(address(endpoint), timeout=5) as sock:
        sock.sendall(post_head(b"1000") + b"\r\n\r\n<soap:Envelope")
        sock.shutdown(socket.SHUT_WR)
        answer = read_all(sock)
    assert status_of(answer) == 400


def test_a_body_that_stops_arriving_is_dropped_after_the_deadline(endpoint):
    endpoint._httpd.idle_timeout = 0.5
    started = time.monotonic()
    with socket.create_connection(address(endpoint), timeout=10) as sock:
        sock.sendall(post_head(b"1000") + b"\r\n\r\n<soap:Envelope")
        answer = read_all(sock)  # the client sends nothing more and never closes
    assert time.monotonic() - started < 5
    assert answer == b"" or status_of(answer) == 408


# ----------------------------------------------------------------------------------------------------------
# slow and half-open clients


def test_two_hundred_half_open_connections_use_no_threads_and_a_real_client_is_served(endpoint):
    before = threading.active_count()
    sockets = [socket.create_connection(address(endpoint), timeout=5) for _ in range(200)]
    try:
        time.sleep(0.5)
        assert threading.active_count() - before <= endpoint._httpd.workers
        started = time.monotonic()
        assert serve_version(endpoint).status_code == 200
        assert time.monotonic() - started < 3
        assert threading.active_count() - before <= endpoint._httpd.workers
    finally:
        for sock in sockets:
            sock.close()


def test_connections_that_trickle_their_headers_hold_at_most_the_pool_and_only_until_the_deadline(endpoint):
    """Slowloris: each connection sends a request line and then nothing. They may take every worker, but
    only for ``request_timeout``; threads stay at the pool size and a real client is served afterwards."""
    httpd = endpoint._httpd
    httpd.request_timeout = 1.0
    sockets = []
    try:
        for _ in range(60):
            sock = socket.create_connection(address(endpoint), timeout=5)
            sock.sendall(b"POST /qbwc HTTP/1.1\r\nHost: x\r\n")
            sockets.append(sock)
        time.sleep(0.3)
        assert worker_threads() <= httpd.workers
        deadline = time.monotonic() + 15
        while True:  # busy (503) at first, served once the trickling clients have been dropped
            response = serve_version(endpoint)
            if response.status_code == 200:
                break
            assert response.status_code == 503
            assert time.monotonic() < deadline, "a real client was never served"
            time.sleep(0.2)
        assert worker_threads() <= httpd.workers
    finally:
        for sock in sockets:
            sock.close()


def test_an_idle_connection_is_closed_after_the_first_byte_timeout(endpoint):
    endpoint._httpd.first_byte_timeout = 0.5
    with socket.create_connection(address(endpoint), timeout=5) as sock:
        started = time.monotonic()
        assert read_all(sock) == b""
        assert time.monotonic() - started < 4


def test_past_max_waiting_the_longest_silent_connection_makes_room(endpoint):
    """A flood of idle connections beyond the waiting room closes the oldest of them, never a client that
    sends its request at once."""
    endpoint._httpd.max_waiting = 10
    sockets = [socket.create_connection(address(endpoint), timeout=5) for _ in range(30)]
    try:
        time.sleep(0.5)
        assert read_all(sockets[0]) == b""  # the oldest was closed to make room
        assert serve_version(endpoint).status_code == 200
    finally:
        for sock in sockets:
            sock.close()


# ----------------------------------------------------------------------------------------------------------
# authenticate: guessing


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_fifty_wrong_passwords_lock_the_client_out_and_the_window_ends(endpoint):
    clock = FakeClock()
    throttle = endpoint.service.throttle
    throttle.clock = clock
    answers = [authenticate(endpoint, USERNAME, f"guess-{i}") for i in range(50)]
    assert answers == ["nvu"] * 50
    # during the lockout the right password is refused too, with the same "nvu": nothing to tell apart
    assert authenticate(endpoint, USERNAME, PASSWORD) == "nvu"
    clock.now += throttle.base_seconds - 1
    assert authenticate(endpoint, USERNAME, PASSWORD) == "nvu"
    clock.now += 2
    assert authenticate(endpoint, USERNAME, PASSWORD) == "none"  # in, with nothing queued


def test_failures_before_the_limit_do_not_lock(endpoint):
    endpoint.service.throttle.clock = FakeClock()
    for i in range(endpoint.service.throttle.free_failures):
        assert authenticate(endpoint, USERNAME, f"typo-{i}") == "nvu"
    assert authenticate(endpoint, USERNAME, PASSWORD) == "none"
    # a success clears the count: the same number of typos again still does not lock
    for i in range(endpoint.service.throttle.free_failures):
        assert authenticate(endpoint, USERNAME, f"typo-{i}") == "nvu"
    assert authenticate(endpoint, USERNAME, PASSWORD) == "none"


def test_lockouts_grow_exponentially_and_are_capped(endpoint):
    clock = FakeClock()
    throttle = endpoint.service.throttle
    throttle.clock = clock
    windows = []
    for _ in range(throttle.free_failures):
        authenticate(endpoint, USERNAME, "wrong")
    for _ in range(8):
        authenticate(endpoint, USERNAME, "wrong")  # counted: the previous window has ended
        start = clock.now
        while throttle.locked(("user", USERNAME)):
            clock.now += 1
        windows.append(clock.now - start)
    assert windows[1] >= 2 * windows[0] - 1 and windows[2] >= 2 * windows[1] - 1
    assert max(windows) <= throttle.max_seconds + 1


def test_a_user_name_is_locked_whichever_address_guesses(endpoint):
    """A guesser spread over many addresses: the user-name key catches it. Another address guessing
    another user name is not affected."""
    service = endpoint.service
    service.throttle.clock = FakeClock()
    for i in range(20):
        assert service.authenticate(USERNAME, f"guess-{i}", client=f"203.0.113.{i}")[1] == "nvu"
    assert service.authenticate(USERNAME, PASSWORD, client="198.51.100.7")[1] == "nvu"


def test_an_address_is_locked_whichever_user_names_it_tries(endpoint):
    service = endpoint.service
    service.throttle.clock = FakeClock()
    for i in range(20):
        assert service.authenticate(f"user-{i}", "guess", client="203.0.113.9")[1] == "nvu"
    assert service.authenticate(USERNAME, PASSWORD, client="203.0.113.9")[1] == "nvu"
    assert service.authenticate(USERNAME, PASSWORD, client="198.51.100.7")[1] == "none"


def test_the_lockout_table_is_bounded(endpoint):
    throttle = endpoint.service.throttle
    throttle.max_keys = 100
    for i in range(1000):
        throttle.failed(("address", f"10.0.{i // 256}.{i % 256}"), ("user", f"u{i}"))
    assert len(throttle._records) <= 100


def test_a_ten_kilobyte_user_name_makes_a_short_clean_log_line(endpoint, caplog):
    """CR/LF (as character references: XML allows them) would forge log lines, C1 controls such as CSI
    (U+009B) drive terminals; ten kilobytes would flood the log at every guess."""
    caplog.set_level(logging.DEBUG, logger="connex_quickbooks_desktop")
    username = "root&#13;&#10;2026-01-01 INFO forged line \u009b31m" + "A" * 10_000
    body = (
        '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
        f'<authenticate xmlns="http://developer.intuit.com/"><strUserName>{username}</strUserName>'
        "<strPassword>guess</strPassword></authenticate></soap:Body></soap:Envelope>"
    ).encode()
    response = requests.post(endpoint.url, data=body, headers={"Content-Type": "text/xml"}, timeout=10)
    assert soap.parse_answer(response.content, "authenticate")[1] == "nvu"
    lines = [r.getMessage() for r in caplog.records if "authentication failed" in r.getMessage()]
    assert lines, caplog.text
    for line in lines:
        assert len(line) < 300
        assert not any(c in line for c in "\r\n\u009b")
        assert "forged line" in line and "characters)" in line


# ----------------------------------------------------------------------------------------------------------
# what an unauthenticated caller can make the endpoint keep


def test_connection_errors_from_strangers_keep_little_memory(endpoint, caplog):
    """connectionError needs no valid ticket, and its ticket and message used to be kept whole (a hundred of
    them): a hundred 30 MB calls held 3 GB."""
    caplog.set_level(logging.WARNING, logger="connex_quickbooks_desktop")
    for i in range(3):
        response = requests.post(
            endpoint.url,
            data=soap.call("connectionError", {"ticket": f"{i}" + "t" * 1_000_000, "hresult": "0x1",
                                               "message": "m" * 2_000_000}),
            headers={"Content-Type": "text/xml"},
            timeout=30,
        )
        assert soap.parse_answer(response.content, "connectionError") == "done"
    service = endpoint.service
    for i in range(500):
        service.connectionError(f"{i}-" + "t" * 10_000, "0x" + "1" * 10_000, "m" * 100_000)
    kept = sum(len(k) + len(v) for k, v in service._errors.items())
    assert len(service._errors) <= 100 and kept < 100 * 3_000
    assert all(len(r.getMessage()) < 700 for r in caplog.records)
    # the cut ticket still finds its message
    service.connectionError("abc", "0x2", "the company file is open in single-user mode")
    assert "single-user" in service.getLastError("abc")


@pytest.mark.parametrize("listen", ["127.0.0.1:99999", "127.0.0.1:-1", "127.0.0.1:", "abc"])
def test_a_bad_listen_address_is_a_config_error(config, listen):
    from connex_quickbooks_desktop.service import serve

    from connex.errors import ConfigError

    with pytest.raises(ConfigError, match="listen"):
        serve({**config, "listen": listen})


def test_a_port_alone_listens_on_loopback(config):
    from connex_quickbooks_desktop.service import serve

    server = serve({**config, "listen": ":0"})
    try:
        assert server._httpd.server_address[0] == "127.0.0.1"
    finally:
        server.stop()


def test_large_bodies_at_once_are_bounded_by_a_byte_budget(endpoint):
    """Each worker may hold a body up to the cap, but not all at once: a request that does not fit next to
    the bodies being received waits, then is told 503; once they are gone it is served."""
    budget = endpoint._httpd.get_app().budget
    budget.limit, budget.wait = 1000, 0.5
    with socket.create_connection(address(endpoint), timeout=5) as slow:
        slow.sendall(post_head(b"900") + b"\r\n\r\n<soap:Envelope")  # and the rest never comes
        time.sleep(0.3)
        assert budget.held == 900
        assert serve_version(endpoint).status_code == 503
    deadline = time.monotonic() + 5
    while budget.held and time.monotonic() < deadline:
        time.sleep(0.05)
    assert budget.held == 0
    assert serve_version(endpoint).status_code == 200


def test_two_different_lengths_are_refused(endpoint):
    body = soap.call("serverVersion", {})
    head = post_head(str(len(body)).encode(), b"\r\nContent-Length: 5")
    answer = raw_request(endpoint, head, body)
    assert status_of(answer) == 400
    assert b"Traceback" not in answer
