"""Helpers shared by the QuickBooks Online tests (and fixtures in conftest.py)."""

from __future__ import annotations

import threading
from pathlib import Path

import connex_quickbooks_online
from connex_quickbooks_online.schema import batch_violations, entity_violations
from connex_quickbooks_online.simulator import QuickBooksOnlineSimulator

from connex.transport import RetryPolicy

#: Intuit's QuickBooks Online XSDs as the plugin ships them (Apache-2.0): no reference folder needed
SHIPPED_XSD = Path(connex_quickbooks_online.__file__).resolve().parent / "xsd"
FAST_RETRY = RetryPolicy(max_attempts=8, base_delay=0.005, max_delay=0.05, time_budget=10.0)


class DictStore:
    """The smallest KeyValueStore: what the engine's state store offers a connector."""

    def __init__(self):
        self.data: dict[str, str] = {}
        self.writes: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def get(self, key: str) -> str | None:
        with self._lock:
            return self.data.get(key)

    def put(self, key: str, value: str) -> None:
        with self._lock:
            self.data[key] = value
            self.writes.append((key, value))


def body_violations(sim: QuickBooksOnlineSimulator) -> list[str]:
    """Every field the connector sent that Intuit's XSDs do not define (batch items included)."""
    found = []
    for endpoint, body in sim.received:
        if endpoint == "batch":
            found += batch_violations(body)
        else:
            found += entity_violations(endpoint.split(":", 1)[1], body)
    return found
