"""Writing absolute stock levels with ``Stock/SetStockLevel``.

QuickBooks quantity on hand is an absolute figure, so this is ``SetStockLevel`` (sets) and never
``UpdateStockLevelsBySKU`` (adds a delta; easy to confuse). Locations are named in Connex and resolved to ids
here, case-insensitively, from one ``GetStockLocations`` per run.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from connex.documents import UNKNOWN_SKU, PostResult, StockLevel
from connex.errors import ConfigError
from connex_linnworks.client import LinnworksClient

log = logging.getLogger(__name__)

BATCH = 100
CHANGE_SOURCE = "Connex"  # shows in the Linnworks stock audit trail as the cause of the change


def stock_key(level: StockLevel) -> str:
    return f"stock:{level.sku}@{level.location_name}"


STOCK_PAGE = 200  # GetStockItemsFull entriesPerPage: "Maximum 200" (stock.json)
NO_MORE_ITEMS = "No items found with given filter."  # the 400 past the last page (reference §10)


def read_stock_levels(client: LinnworksClient) -> dict[tuple[str, str], int]:
    """Every stock item's level per location, 200 items a call: ``(sku, location name)``, both lower case."""
    levels: dict[tuple[str, str], int] = {}
    page = 1
    while True:
        try:
            rows = client.call("Stock/GetStockItemsFull", form={
                "keyword": "", "loadCompositeParents": False, "loadVariationParents": False,
                "entriesPerPage": STOCK_PAGE, "pageNumber": page, "dataRequirements": ["StockLevels"],
                "searchTypes": ["SKU"]}) or []
        except ConfigError as exc:
            if exc.code == "linnworks.400" and NO_MORE_ITEMS.lower() in str(exc).lower():
                return levels
            raise
        for item in rows:
            sku = str(item.get("ItemNumber") or "").lower()
            for row in item.get("StockLevels") or []:
                location = str((row.get("Location") or {}).get("LocationName") or "").strip().lower()
                if sku and location and row.get("StockLevel") is not None:
                    levels[(sku, location)] = int(row["StockLevel"])
        if len(rows) < STOCK_PAGE:
            return levels
        page += 1


class StockWriter:
    def __init__(self, client: LinnworksClient, locations: list[dict]):
        self.client = client
        self.location_ids = {
            str(loc.get("LocationName", "")).strip().lower(): str(loc["StockLocationId"]) for loc in locations
        }

    def write(self, levels: Iterable[StockLevel]) -> list[PostResult]:
        results: dict[int, PostResult] = {}
        pending: list[tuple[int, StockLevel, str]] = []
        for index, level in enumerate(levels):
            location_id = self.location_ids.get((level.location_name or "").strip().lower())
            if location_id is None:
                known = ", ".join(sorted(self.location_ids)) or "none"
                results[index] = PostResult(
                    stock_key(level),
                    "failed",
                    error=f"Linnworks has no stock location named {level.location_name!r} (known: {known})",
                    code="linnworks.unknown_location",
                )
            else:
                pending.append((index, level, location_id))
        for start in range(0, len(pending), BATCH):
            for index, result in self._send(pending[start : start + BATCH]):
                results[index] = result
        return [results[i] for i in sorted(results)]

    def _send(self, batch: list[tuple[int, StockLevel, str]]) -> list[tuple[int, PostResult]]:
        payload = [
            {"SKU": level.sku, "LocationId": loc, "Level": int(level.level)} for _, level, loc in batch
        ]
        try:
            answer = self.client.call(
                "Stock/SetStockLevel", form={"stockLevels": payload, "changeSource": CHANGE_SOURCE}
            )
        except ConfigError as exc:
            if exc.code != "linnworks.400":
                raise
            if len(batch) > 1:
                # one bad row fails the whole call: retry one by one so the others still go through
                log.info(
                    "Stock/SetStockLevel rejected a batch of %d (%s); retrying one by one", len(batch), exc
                )
                return [r for item in batch for r in self._send([item])]
            index, level, _ = batch[0]
            return [(index, PostResult(stock_key(level), "failed", error=str(exc), code="linnworks.400"))]
        done = {
            (
                str(row.get("SKU", "")).lower(),
                str((row.get("Location") or {}).get("StockLocationId", "")).lower(),
            )
            for row in answer or []
        }
        done_skus = {sku for sku, _ in done}
        out = []
        for index, level, loc in batch:
            hit = (level.sku.lower(), loc.lower()) in done or (
                level.sku.lower() in done_skus and not any(loc_id for _, loc_id in done)
            )
            if hit:
                out.append((index, PostResult(stock_key(level), "posted", target_id=loc)))
            else:
                out.append(
                    (
                        index,
                        PostResult(
                            stock_key(level),
                            "failed",
                            error=f"Linnworks Stock/SetStockLevel did not set SKU {level.sku!r} "
                            f"at {level.location_name!r}: "
                            "no stock item with that SKU",
                            code=UNKNOWN_SKU,
                        ),
                    )
                )
        return out
