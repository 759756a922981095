"""Fuzz (issue 12): generated HTTP requests and SOAP envelopes against a running Web Connector endpoint.

The endpoint runs in its own process under an address-space limit (a leak or an unbounded read ends it, and
the test sees that). For every request: an answer that is an HTTP status line (or a closed connection), never
a traceback, and a 500 only as a SOAP Fault. Throughout: the server's thread count stays at its pool's bound,
and afterwards it still serves a real request and has written no traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from connex_quickbooks_desktop import soap
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from tests.conftest import examples

from .conftest import PASSWORD, USERNAME
from .test_endpoint_attacks import read_all

ADDRESS_SPACE = 1536 * 1024 * 1024
REPO = Path(__file__).resolve().parents[2]

LAUNCHER = """
import resource, sys, logging
resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))
logging.basicConfig(level=logging.WARNING)
from connex_quickbooks_desktop.service import serve
serve({config!r}, block=True)
"""

METHODS = ["serverVersion", "clientVersion", "authenticate", "sendRequestXML", "receiveResponseXML",
           "connectionError", "getLastError", "closeConnection", "noSuchMethod"]
PARAMS = ["ticket", "strUserName", "strPassword", "strVersion", "strHCPResponse", "strCompanyFileName",
          "qbXMLCountry", "qbXMLMajorVers", "qbXMLMinorVers", "response", "hresult", "message"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fuzz")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = {"listen": f"127.0.0.1:{port}", "username": USERNAME, "password": PASSWORD,
              "queue_db": str(tmp / "queue.db")}
    stderr = open(tmp / "stderr.txt", "w+")  # noqa: SIM115 - read at teardown
    process = subprocess.Popen(
        [sys.executable, "-c", LAUNCHER.format(limit=ADDRESS_SPACE, config=config)],
        stdout=subprocess.DEVNULL, stderr=stderr, cwd=tmp,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "plugins")])},
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert process.poll() is None, Path(stderr.name).read_text()
            assert time.monotonic() < deadline, "the endpoint did not start"
            time.sleep(0.1)
    yield process, port, Path(stderr.name)
    process.terminate()
    process.wait(timeout=10)
    stderr.close()


def threads_of(process) -> int:
    for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    raise AssertionError("no thread count")


# --- strategies --------------------------------------------------------------------------------------------

text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60)


@st.composite
def envelopes(draw) -> bytes:
    method = draw(st.sampled_from(METHODS))
    params = draw(st.dictionaries(st.sampled_from(PARAMS), text, max_size=6))
    body = soap.call(method, {k: "".join(c for c in v if c.isprintable()) for k, v in params.items()})
    shape = draw(st.sampled_from(["whole", "truncated", "huge-attribute", "deep", "bytes", "namespace"]))
    if shape == "truncated":
        body = body[: draw(st.integers(0, len(body)))]
    elif shape == "huge-attribute":
        size = draw(st.sampled_from([1_000, 100_000, 1_000_000]))
        body = body.replace(b"<soap:Body>", b'<soap:Body x="' + b"a" * size + b'">', 1)
    elif shape == "deep":
        depth = draw(st.integers(1, 5000))
        body = body.replace(b"<soap:Body>", b"<soap:Body>" + b"<d>" * depth, 1).replace(
            b"</soap:Body>", b"</d>" * depth + b"</soap:Body>", 1)
    elif shape == "bytes":
        body = draw(st.binary(max_size=2000))
    elif shape == "namespace":
        body = body.replace(soap.QBWC_NS.encode(), draw(text).encode("utf-8", "replace"))
    return body


@st.composite
def requests_(draw) -> bytes:
    method = draw(st.sampled_from([b"POST", b"POST", b"POST", b"GET", b"HEAD", b"PUT", b"DELETE", b"OPTIONS",
                                   b"BREW", b""]))
    path = draw(st.sampled_from([b"/qbwc", b"/", b"/qbwc/support", b"*", b"/%00", b"/" + b"a" * 70000]))
    version = draw(st.sampled_from([b"HTTP/1.1", b"HTTP/1.0", b"HTTP/2.0", b"HTTP/x", b""]))
    body = draw(envelopes())
    length = draw(st.one_of(
        st.just(str(len(body)).encode()),
        st.just(None),
        st.integers(-10**12, 10**12).map(lambda n: str(n).encode()),
        st.sampled_from([b"", b"abc", b"1e3", b" 5", b"0x10", b"9" * 100, str(32 * 1024 * 1024 + 1).encode()]),
    ))
    headers = [b"Host: localhost", b"Content-Type: text/xml; charset=utf-8"]
    if length is not None:
        headers.append(b"Content-Length: " + length)
    if draw(st.booleans()):
        headers.append(b"Transfer-Encoding: " + draw(st.sampled_from([b"chunked", b"gzip", b"identity"])))
    extra = draw(st.lists(st.tuples(st.text("abcXYZ-_", min_size=1, max_size=20), text), max_size=5))
    headers += [k.encode() + b": " + v.encode("utf-8", "replace").replace(b"\r", b"").replace(b"\n", b"")
                for k, v in extra]
    if draw(st.booleans()):
        headers.append(b"X-Big: " + b"b" * draw(st.sampled_from([100, 10_000, 70_000])))
    head = b" ".join(part for part in (method, path, version) if part) + b"\r\n" + b"\r\n".join(headers)
    return head + b"\r\n\r\n" + body


def exchange(port: int, raw: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        try:
            sock.sendall(raw)
            sock.shutdown(socket.SHUT_WR)  # the server sees the end: no example waits on a read timeout
        except OSError:  # the server answered and closed before taking it all (a refused length)
            pass
        return read_all(sock)


@given(raw=requests_())
@settings(max_examples=int(os.environ.get("CONNEX_FUZZ_EXAMPLES", examples(150))), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
def test_generated_requests_never_break_the_endpoint(server, raw):
    process, port, _ = server
    answer = exchange(port, raw)
    assert process.poll() is None, "the endpoint died"
    assert b"Traceback" not in answer
    if answer:
        assert answer.startswith(b"HTTP/1."), answer[:200]
        status = int(answer.split(b" ", 2)[1])
        if status == 500:
            body = answer.split(b"\r\n\r\n", 1)[1]
            fault = etree.fromstring(body).find(f"{{{soap.SOAP_ENV}}}Body/{{{soap.SOAP_ENV}}}Fault")
            assert fault is not None and fault.findtext("faultcode") in ("soap:Client", "soap:Server")
    assert threads_of(process) <= 1 + 1 + 8 + 2  # main, gate, the pool, slack for the interpreter


def test_after_the_fuzz_the_endpoint_serves_and_wrote_no_traceback(server):
    process, port, stderr = server
    response = requests.post(
        f"http://127.0.0.1:{port}/qbwc", data=soap.call("serverVersion", {}),
        headers={"Content-Type": "text/xml; charset=utf-8"}, timeout=10,
    )
    assert response.status_code == 200
    assert soap.parse_answer(response.content, "serverVersion").startswith("Connex ")
    assert process.poll() is None
    assert "Traceback" not in stderr.read_text()
