"""HTTP plumbing shared by connectors: client-side throttling, retries with jittered backoff, time budgets.

Connectors own their protocol (auth, payloads, error bodies); this module owns the generic "be polite and
survive hiccups" part so every connector behaves the same under 429s, 5xx and dropped connections.
"""

from __future__ import annotations

import email.utils
import errno
import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests

from connex.errors import TransientError

log = logging.getLogger(__name__)

RETRYABLE_EXCEPTIONS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
)


class RateLimiter:
    """At most ``limit`` calls per ``period`` seconds for each key, as a sliding window.

    Remote limits are per endpoint per minute (Linnworks) or per company (QuickBooks); callers pick keys to match.
    ``acquire`` blocks until a call is allowed, so the remote side never has to say 429 in the first place.
    """

    def __init__(self, *, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep):
        self._clock = clock
        self._sleep = sleep
        self._limits: dict[str, tuple[int, float]] = {}
        self._calls: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def set_limit(self, key: str, limit: int, period: float = 60.0) -> None:
        with self._lock:
            self._limits[key] = (limit, period)

    def acquire(self, key: str) -> float:
        """Wait until a call under ``key`` is allowed, record it, and return the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                limit, period = self._limits.get(key, (0, 0.0))
                if limit <= 0:
                    return waited
                now = self._clock()
                calls = self._calls.setdefault(key, deque())
                while calls and calls[0] <= now - period:
                    calls.popleft()
                if len(calls) < limit:
                    calls.append(now)
                    return waited
                delay = calls[0] + period - now
            self._sleep(delay)
            waited += delay


@dataclass
class RetryPolicy:
    """Exponential backoff with full jitter, bounded by attempts and by total time spent waiting."""

    max_attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 30.0
    time_budget: float = 300.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before attempt ``attempt + 1`` (``attempt`` counts from 1)."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_delay)
        ceiling = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        return random.uniform(ceiling / 2, ceiling)


def origin(url: str) -> str:
    """``scheme://host:port`` of a URL: what "unreachable" is said of."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def connection_refused(exc: BaseException) -> bool:
    """Whether ``exc`` (a requests error) comes from a refused TCP connection: nothing listens at that address."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, ConnectionRefusedError) or getattr(current, "errno", None) == errno.ECONNREFUSED:
            return True
        pending += [current.__cause__, current.__context__, getattr(current, "reason", None),
                    *(a for a in getattr(current, "args", ()) if isinstance(a, BaseException))]
    return False


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After is either delta-seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


class HttpClient:
    """A ``requests.Session`` wrapper: throttles per endpoint key, retries transient failures, and returns every
    other response (2xx and 4xx) to the caller, which knows how to read the remote system's error bodies."""

    def __init__(
        self,
        *,
        session: requests.Session | None = None,
        timeout: float = 60.0,
        retry: RetryPolicy | None = None,
        limiter: RateLimiter | None = None,
        sleep: Callable[[float], None] = time.sleep,
        user_agent: str = "connex",
    ):
        self.session = session or requests.Session()
        self.session.headers.setdefault("User-Agent", user_agent)
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.limiter = limiter or RateLimiter()
        self._sleep = sleep
        self.calls: dict[str, int] = {}
        self.retries = 0
        self._answered: set[str] = set()  # origins that have answered this client at least once

    def request(self, method: str, url: str, *, endpoint: str, **kwargs) -> requests.Response:
        """Send one logical request, retrying 429, 5xx and connection failures. Raises ``TransientError`` when
        the attempts or the time budget run out."""
        spent = 0.0
        attempt = 0
        while True:
            attempt += 1
            self.limiter.acquire(endpoint)
            self.calls[endpoint] = self.calls.get(endpoint, 0) + 1
            retry_after = None
            try:
                response = self.session.request(method, url, timeout=self.timeout, **kwargs)
            except RETRYABLE_EXCEPTIONS as exc:
                where = origin(url)
                if connection_refused(exc):
                    problem = f"{where} is unreachable: connection refused ({endpoint})"
                    if where not in self._answered:
                        # Nothing has ever listened there for this client: a stopped service or a wrong URL, which
                        # waiting will not fix within this command (a scheduled pass tries again). A service that
                        # answered before and now refuses is restarting, and is retried like any other failure.
                        raise TransientError(problem) from None
                else:
                    problem = f"{type(exc).__name__}: {exc}"
            else:
                self._answered.add(origin(url))
                if response.status_code == 429:
                    retry_after = parse_retry_after(response.headers.get("Retry-After"))
                    problem = f"HTTP 429 rate limited: {response.text[:200]}"
                elif response.status_code >= 500:
                    problem = f"HTTP {response.status_code}: {response.text[:200]}"
                else:
                    return response
            delay = self.retry.delay(attempt, retry_after)
            if attempt >= self.retry.max_attempts or spent + delay > self.retry.time_budget:
                raise TransientError(
                    f"{endpoint}: gave up after {attempt} attempts: {problem}", retry_after=retry_after
                )
            log.warning("%s: attempt %d failed (%s); retrying in %.2fs", endpoint, attempt, problem, delay)
            self.retries += 1
            self._sleep(delay)
            spent += delay

    def close(self) -> None:
        self.session.close()
