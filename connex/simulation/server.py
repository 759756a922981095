"""A small threaded HTTP server for simulators of remote APIs, with fault injection and rate windows.

A simulator subclasses ``SimulatorServer``, registers routes with ``add_route`` and keeps its account in memory.
The base class gives every simulator the same control surface, both in-process and over HTTP so that a test can
steer a simulator used by another process (the daemon, the CLI):

* ``inject(endpoint, fault, times)`` / ``POST /_sim/faults`` with ``{"endpoint", "fault", "times", "after"}``:
  the next ``times`` calls to ``endpoint`` (``"*"`` for any) fail with ``fault``: ``"429"``, ``"500"``,
  ``"503"``, ``"drop"`` (connection closed with no response), ``"expire"`` (the simulator's session expiry,
  see ``on_expire``) or ``"slow"`` (responds after ``slow_seconds``).
* ``GET /_sim/stats``: calls per endpoint, faults served, rate-limit rejections.
* ``SimClock``: the simulator's notion of time, which a benchmark can scale (``scale=60`` makes a minute last
  one second) so rate windows and token lifetimes can be exercised quickly.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

log = logging.getLogger(__name__)

FAULTS = ("429", "500", "503", "drop", "expire", "slow")


class SimClock:
    """Monotonic simulated time: ``scale`` simulated seconds pass per real second."""

    def __init__(self, scale: float = 1.0):
        self.scale = scale
        self._start = time.monotonic()
        self._offset = 0.0

    def now(self) -> float:
        return (time.monotonic() - self._start) * self.scale + self._offset

    def advance(self, seconds: float) -> None:
        """Jump simulated time forward (session expiry, token lifetimes) without waiting."""
        self._offset += seconds


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    params: dict[str, str] = field(default_factory=dict)  # named groups captured from the route pattern

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def json(self):
        return json.loads(self.body.decode("utf-8")) if self.body else None

    def form(self) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(self.body.decode("utf-8"), keep_blank_values=True).items()}

    def arg(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else None


@dataclass
class Response:
    status: int = 200
    body: object = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json; charset=utf-8"

    def encode(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode("utf-8")
        return json.dumps(self.body, ensure_ascii=False, default=str).encode("utf-8")


class _Drop(Exception):
    """Raised by a handler (or a fault) to close the connection without answering."""


@dataclass
class _Fault:
    endpoint: str
    fault: str
    remaining: int
    after: int = 0


class SimulatorServer:
    """Base simulator: routing, fault injection, per-key rate windows, stats, and a background server thread."""

    name = "simulator"
    slow_seconds = 2.0

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, clock: SimClock | None = None):
        self.host = host
        self.port = port
        self.clock = clock or SimClock()
        self._routes: list[tuple[str, re.Pattern, str, Callable[[Request], Response]]] = []
        self._faults: list[_Fault] = []
        self._windows: dict[str, deque[float]] = {}
        self.lock = threading.RLock()
        self.stats: Counter[str] = Counter()
        self.requests_log: deque[tuple[str, str]] = deque(maxlen=10_000)
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        # set when this simulator is one tenant of a ``TenantServer``: that server's address is this one's
        self.front: SimulatorServer | None = None

    # --- routing -------------------------------------------------------------------------------------------
    def add_route(self, method: str, pattern: str, handler: Callable[[Request], Response], endpoint: str) -> None:
        """``pattern`` is a regular expression matched against the whole path; named groups become
        ``request.params``. ``endpoint`` names the route for faults, stats and rate limits."""
        self._routes.append((method.upper(), re.compile(pattern + r"\Z"), endpoint, handler))

    def _match(self, method: str, path: str):
        allowed = False
        for route_method, regex, endpoint, handler in self._routes:
            m = regex.match(path)
            if m:
                if route_method == method:
                    return endpoint, handler, m.groupdict()
                allowed = True
        return ("<method-not-allowed>" if allowed else None), None, {}

    # --- faults and limits ---------------------------------------------------------------------------------
    def inject(self, endpoint: str, fault: str, times: int = 1, after: int = 0) -> None:
        """Make the next ``times`` calls to ``endpoint`` fail with ``fault`` after letting ``after`` calls pass."""
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; expected one of {', '.join(FAULTS)}")
        with self.lock:
            self._faults.append(_Fault(endpoint, fault, times, after))

    def _take_fault(self, endpoint: str) -> str | None:
        with self.lock:
            for f in self._faults:
                if f.endpoint in ("*", endpoint) and f.remaining > 0:
                    if f.after > 0:
                        f.after -= 1
                        continue
                    f.remaining -= 1
                    self.stats[f"fault:{f.fault}"] += 1
                    return f.fault
            self._faults = [f for f in self._faults if f.remaining > 0]
        return None

    def rate_window(self, key: str, limit: int, period: float = 60.0) -> float | None:
        """Count one call under ``key``; return seconds until a slot frees when over ``limit``, else None."""
        with self.lock:
            now = self.clock.now()
            calls = self._windows.setdefault(key, deque())
            while calls and calls[0] <= now - period:
                calls.popleft()
            if len(calls) >= limit:
                self.stats["rate_limited"] += 1
                return (calls[0] + period - now) / self.clock.scale
            calls.append(now)
            return None

    def fault_response(self, fault: str, endpoint: str, request: Request) -> Response:
        """How this API says 429/5xx; subclasses override to use the real error bodies."""
        if fault == "429":
            return Response(429, {"Message": "rate limited"}, {"Retry-After": "1"})
        return Response(int(fault), {"Message": "simulated server error"})

    def on_expire(self, request: Request) -> None:
        """Expire the caller's session or token (subclasses implement their notion of a session)."""

    def before_request(self, endpoint: str, request: Request) -> Response | None:
        """Hook for auth and rate limits; return a Response to short-circuit the handler."""
        return None

    # --- dispatch ------------------------------------------------------------------------------------------
    def dispatch(self, request: Request) -> Response:
        if request.path.startswith("/_sim/"):
            return self._admin(request)
        endpoint, handler, params = self._match(request.method, request.path)
        if endpoint is None:
            return Response(404, {"Message": f"No HTTP resource was found that matches {request.path}"})
        if handler is None:
            return Response(405, {"Message": f"The requested resource does not support {request.method}"})
        request.params = params
        with self.lock:
            self.stats[endpoint] += 1
            self.requests_log.append((request.method, endpoint))
        fault = self._take_fault(endpoint)
        if fault == "drop":
            raise _Drop()
        if fault == "slow":
            time.sleep(self.slow_seconds)
        elif fault == "expire":
            self.on_expire(request)
        elif fault is not None:
            return self.fault_response(fault, endpoint, request)
        early = self.before_request(endpoint, request)
        if early is not None:
            return early
        return handler(request)

    def _admin(self, request: Request) -> Response:
        if request.path == "/_sim/stats":
            with self.lock:
                return Response(200, dict(self.stats))
        if request.path == "/_sim/faults" and request.method == "POST":
            spec = request.json() or {}
            try:
                self.inject(spec["endpoint"], str(spec["fault"]), int(spec.get("times", 1)), int(spec.get("after", 0)))
            except (KeyError, ValueError) as exc:
                return Response(400, {"Message": str(exc)})
            return Response(204)
        if request.path == "/_sim/clock" and request.method == "POST":
            self.clock.advance(float((request.json() or {}).get("advance", 0)))
            return Response(204)
        return Response(404, {"Message": "unknown simulator control"})

    # --- serving -------------------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        if self.front is not None:
            return self.front.url
        if self._httpd is None:
            raise RuntimeError(f"{self.name} simulator is not started")
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> SimulatorServer:
        self._httpd = _QuietServer((self.host, self.port), _make_handler(self))
        self._httpd.daemon_threads = True
        # a short poll keeps stop() quick; the default 0.5 s adds up over a test suite
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"{self.name}-sim", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> SimulatorServer:
        return self.start() if self._httpd is None else self

    def __exit__(self, *exc) -> None:
        self.stop()


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # a client that hung up (killed, timed out) is part of what simulators are for, not a server error
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


def _make_handler(sim: SimulatorServer):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # headers and body are separate sends: without TCP_NODELAY each answer waits ~40 ms for a delayed ACK
        disable_nagle_algorithm = True

        def _handle(self):
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            request = Request(
                method=self.command,
                path=parts.path,
                query=parse_qs(parts.query, keep_blank_values=True),
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
            )
            try:
                response = sim.dispatch(request)
            except _Drop:
                self.close_connection = True
                self.connection.close()
                return
            except Exception:  # a simulator bug must show up as a 500, not a hung socket
                log.exception("%s simulator crashed on %s %s", sim.name, self.command, self.path)
                response = Response(500, {"Message": "simulator internal error"})
            payload = response.encode()
            self.send_response(response.status)
            if payload:
                self.send_header("Content-Type", response.content_type)
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if payload:
                self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = _handle

        def log_message(self, format, *args):  # noqa: A002 - signature fixed by BaseHTTPRequestHandler
            log.debug("%s: " + format, sim.name, *args)

    return Handler
