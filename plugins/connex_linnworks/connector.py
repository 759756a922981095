"""``LinnworksSource``: the Connex source connector for Linnworks (entry point name ``linnworks``)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, ClassVar

from connex.connectors import KeyValueStore, OrderQuery, Page, SourceConnector, WindowQuery
from connex.documents import PostResult, StockLevel
from connex.transport import RateLimiter, RetryPolicy
from connex_linnworks import record_schema
from connex_linnworks.client import LinnworksClient
from connex_linnworks.orders import OrderReader
from connex_linnworks.purchases import PurchaseOrderReader, read_stock_locations, read_suppliers
from connex_linnworks.refunds import RefundReader
from connex_linnworks.stock import StockWriter, read_stock_levels

DEFAULTS = {
    "auth_url": "https://api.linnworks.net",
    "page_size": 200,
    "timeout": 60,
    "max_retry_seconds": 300,
}


class LinnworksSource(SourceConnector):
    name: ClassVar[str] = "linnworks"
    secret_keys: ClassVar[tuple[str, ...]] = ("application_id", "application_secret", "token")
    config_schema: ClassVar[dict] = {
        "type": "object",
        "additionalProperties": False,
        "required": ["application_id", "application_secret", "token"],
        "properties": {
            "application_id": {"type": "string", "minLength": 1, "description": "Linnworks application id"},
            "application_secret": {
                "type": "string",
                "minLength": 1,
                "description": "Linnworks application secret",
            },
            "token": {
                "type": "string",
                "minLength": 1,
                "description": "installation token of the application",
            },
            "auth_url": {"type": "string", "pattern": "^https?://", "default": DEFAULTS["auth_url"]},
            # 200 is the documented maximum of the paged searches; SearchProcessedOrders wants at least 20
            "page_size": {"type": "integer", "minimum": 20, "maximum": 200, "default": DEFAULTS["page_size"]},
            "timeout": {"type": "number", "exclusiveMinimum": 0, "default": DEFAULTS["timeout"]},
            "max_retry_seconds": {"type": "number", "minimum": 0, "default": DEFAULTS["max_retry_seconds"]},
        },
    }

    def __init__(
        self,
        config: Mapping[str, Any],
        *,
        state: KeyValueStore | None = None,
        retry: RetryPolicy | None = None,
        limiter: RateLimiter | None = None,
    ):
        """``retry`` and ``limiter`` let an embedding (a test, a benchmark on a scaled simulator clock) tune
        backoff and throttling; by default they follow ``max_retry_seconds`` and the documented limits."""
        super().__init__(config, state=state)
        settings = {**DEFAULTS, **self.config}
        self.page_size = int(settings["page_size"])
        self.client = LinnworksClient(
            application_id=str(settings["application_id"]),
            application_secret=str(settings["application_secret"]),
            token=str(settings["token"]),
            auth_url=str(settings["auth_url"]),
            timeout=float(settings["timeout"]),
            retry=retry or RetryPolicy(time_budget=float(settings["max_retry_seconds"])),
            limiter=limiter,
            state=state,
        )
        self._locations: list[dict] | None = None

    # --- reads ---------------------------------------------------------------------------------------------
    @classmethod
    def record_schema(cls, flow: str) -> Mapping[str, Any] | None:
        """From Linnworks' published definitions (record_schema.py says which, and how the file is kept true)."""
        return record_schema.for_flow(flow)

    def read_orders(self, query: OrderQuery) -> Iterator[Page]:
        return OrderReader(self.client, self.page_size).read(query)

    def read_purchase_orders(self, query: WindowQuery) -> Iterator[Page]:
        return PurchaseOrderReader(self.client, self.page_size).read(query)

    def read_suppliers(self) -> list[dict]:
        return read_suppliers(self.client)

    def read_refunds(self, query: WindowQuery) -> Iterator[Page]:
        return RefundReader(self.client, self.page_size).read(query)

    def read_stock_locations(self) -> list[dict]:
        return read_stock_locations(self.client)

    def find_purchase_order(self, number: str) -> dict | None:
        return PurchaseOrderReader(self.client, self.page_size).find(number)

    def find_refunds(self, number: str) -> list[dict]:
        return RefundReader(self.client).find(number)
    def read_stock_levels(self) -> dict[tuple[str, str], int]:
        return read_stock_levels(self.client)

    # --- writes --------------------------------------------------------------------------------------------
    def write_stock_levels(self, levels: Iterable[StockLevel]) -> list[PostResult]:
        if self._locations is None:  # once per run (a connector lives for one run)
            self._locations = read_stock_locations(self.client)
        return StockWriter(self.client, self._locations).write(levels)

    @property
    def calls(self) -> dict[str, int]:
        """Linnworks calls made so far, per endpoint (retries included)."""
        return self.client.calls

    def close(self) -> None:
        self.client.close()
