"""The QuickBooks Online REST v3 client: auth header, minorversion, quotas, faults, query paging and batch.

Everything else in the plugin talks to QuickBooks through this class, so the limits Intuit enforces per
company (500 requests a minute, 10 at once, 40 batches a minute) are kept in exactly one place.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

from connex.budgets import LocalBudget, ScopedBudget, process_budget
from connex.errors import TransientError
from connex.transport import HttpClient, origin
from connex_quickbooks_online.faults import Fault, fault_error, parse_response_fault
from connex_quickbooks_online.oauth import TokenManager

MINOR_VERSION = "75"
REQUESTS_PER_MINUTE = 500
BATCHES_PER_MINUTE = 40
CONCURRENT_REQUESTS = 10
WINDOW_SECONDS = 61.0
BATCH_MAX_ITEMS = 30
QUERY_PAGE_SIZE = 1000
IN_CHUNK = 100  # values per IN (...) list: keeps statements readable and well inside QBO's query size

REALM_KEY = "qbo:realm"


class RealmLimiter:
    """Every API call counts against the company-wide per-minute quota as well as its own endpoint's (batch),
    and holds one of the company's places for calls at once. The counts live in ``budget``, under ``scope``:
    the process-wide budget scoped by realm, so every connection to one company shares them."""

    def __init__(self, budget, scope: str = "qbo"):
        self.budget = ScopedBudget(budget, scope)

    def set_limit(self, key: str, limit: int, period: float = 60.0) -> None:
        self.budget.set_limit(key, limit, period)

    def acquire(self, key: str) -> float:
        waited = 0.0
        if key != REALM_KEY and not key.startswith("oauth:"):
            waited += self.budget.acquire(REALM_KEY)
        return waited + self.budget.acquire(key)

    def slot(self):
        return self.budget.slot("concurrent", CONCURRENT_REQUESTS)


def make_limiter(*, clock: Callable[[], float] | None = None, sleep: Callable[[float], None] | None = None,
                 api_url: str | None = None, realm_id: str | None = None) -> RealmLimiter:
    """The company's limiter: on the process-wide budget (shared by every connection to the realm), or, with
    a ``clock`` or ``sleep`` of a test's own, on a private one running on that clock."""
    if clock is not None or sleep is not None or not realm_id:
        limiter = RealmLimiter(LocalBudget(clock=clock, sleep=sleep))
    else:
        limiter = RealmLimiter(process_budget(), f"qbo:{origin(api_url or '')}:{realm_id}")
    # QuickBooks counts a call when it arrives, a moment after we count it; a window a second longer than
    # Intuit's minute keeps our oldest call inside their window too, so the limiter never earns a 429.
    limiter.set_limit(REALM_KEY, REQUESTS_PER_MINUTE, WINDOW_SECONDS)
    limiter.set_limit("batch", BATCHES_PER_MINUTE, WINDOW_SECONDS)
    return limiter


class QboClient:
    def __init__(self, *, api_url: str, realm_id: str, tokens: TokenManager, http: HttpClient):
        self.base = f"{api_url.rstrip('/')}/v3/company/{realm_id}"
        self.tokens = tokens
        self.http = http
        # Intuit's 10 calls at once are the company's: with the shared limiter, every connection to it counts
        limiter = getattr(http, "limiter", None)
        self._slots = limiter.slot() if isinstance(limiter, RealmLimiter) else _Slots(CONCURRENT_REQUESTS)

    def call(self, method: str, path: str, *, endpoint: str, params: dict | None = None, **kwargs) -> dict:
        """One API call; refreshes the access token once on 401, raises the mapped error on a Fault."""
        params = {"minorversion": MINOR_VERSION, **(params or {})}
        headers = {"Accept": "application/json", **kwargs.pop("headers", {})}
        with self._slots:
            for attempt in (1, 2):
                token = self.tokens.access_token()
                headers["Authorization"] = f"Bearer {token}"
                response = self.http.request(
                    method, f"{self.base}/{path}", endpoint=endpoint, params=params, headers=headers, **kwargs
                )
                if response.status_code == 401 and attempt == 1:
                    self.tokens.invalidate(token)
                    continue
                break
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code < 400 and isinstance(body, dict) and "Fault" not in body:
            return body
        fault = parse_response_fault(response.text) or Fault(
            code=str(response.status_code), message=f"HTTP {response.status_code}", detail=response.text[:200]
        )
        raise fault_error(fault, endpoint=f"{method} {path}")

    # --- reads (metered by Intuit: keep them few) ----------------------------------------------------------
    def query(self, statement: str) -> Iterator[dict]:
        """Every row of ``statement`` (no STARTPOSITION/MAXRESULTS of its own), a page of 1000 at a time."""
        start = 1
        while True:
            paged = f"{statement} STARTPOSITION {start} MAXRESULTS {QUERY_PAGE_SIZE}"
            body = self.call(
                "POST",
                "query",
                endpoint="query",
                data=paged.encode("utf-8"),
                headers={"Content-Type": "application/text"},
            )
            result = body.get("QueryResponse") or {}
            rows = next((v for v in result.values() if isinstance(v, list)), [])
            yield from rows
            if len(rows) < QUERY_PAGE_SIZE:
                return
            start += QUERY_PAGE_SIZE

    def query_in(self, entity: str, field: str, values: list[str]) -> Iterator[dict]:
        """Rows of ``entity`` whose ``field`` is one of ``values``: many names per read, since reads are
        metered."""
        values = sorted(set(values))
        for start in range(0, len(values), IN_CHUNK):
            listed = ", ".join(quote(v) for v in values[start : start + IN_CHUNK])
            yield from self.query(f"SELECT * FROM {entity} WHERE {field} IN ({listed})")

    # --- writes --------------------------------------------------------------------------------------------
    def batch(self, items: list[dict], *, requestid: str) -> dict[str, dict]:
        """Send up to 30 batch items; returns each BatchItemResponse by its bId."""
        if not items or len(items) > BATCH_MAX_ITEMS:
            raise ValueError(f"a batch holds 1 to {BATCH_MAX_ITEMS} items, got {len(items)}")
        body = self.call(
            "POST",
            "batch",
            endpoint="batch",
            params={"requestid": requestid},
            json={"BatchItemRequest": items},
        )
        answers = {item.get("bId"): item for item in body.get("BatchItemResponse", [])}
        missing = [item["bId"] for item in items if item["bId"] not in answers]
        if missing:
            raise TransientError(f"POST batch: no answer for batch items {', '.join(missing)}")
        return answers


class _Slots:
    """Calls at once for a client without a realm limiter (a test's own ``HttpClient``)."""

    def __init__(self, limit: int):
        self._semaphore = threading.BoundedSemaphore(limit)

    def __enter__(self):
        self._semaphore.acquire()

    def __exit__(self, *exc):
        self._semaphore.release()


def quote(value: str) -> str:
    """A QBO query string literal: single quotes, backslash-escaped."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
