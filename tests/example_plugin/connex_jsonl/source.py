"""A source connector over JSON-lines files: one record per line, read page by page."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from decimal import Decimal
from itertools import islice
from pathlib import Path

from connex.connectors import OrderQuery, Page, SourceConnector, WindowQuery
from connex.documents import PostResult, StockLevel
from connex.errors import DocumentError, DocumentRef


class JsonlSource(SourceConnector):
    name = "jsonl"
    config_schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["folder"],
        "properties": {
            "folder": {"type": "string", "minLength": 1},
            "page_size": {"type": "integer", "minimum": 1, "maximum": 10000},
        },
    }

    @property
    def folder(self) -> Path:
        return Path(self.config["folder"])

    def _pages(self, filename: str, cursor) -> Iterator[Page]:
        """Pages of records; the checkpoint is the number of lines consumed, so a resumed read starts after it."""
        path = self.folder / filename
        if not path.exists():
            return
        start = int((cursor or {}).get("line", 0))
        size = int(self.config.get("page_size", 500))
        with path.open(encoding="utf-8") as handle:
            lines = islice(handle, start, None)
            position = start
            while True:
                chunk = list(islice(lines, size))
                if not chunk:
                    return
                records = []
                for offset, line in enumerate(chunk, start=position + 1):
                    if line.strip():
                        try:
                            records.append(json.loads(line, parse_float=Decimal))
                        except json.JSONDecodeError as exc:
                            raise DocumentError(f"{path}:{offset}: not JSON: {exc.msg}",
                                                where=DocumentRef(filename, str(offset))) from None
                position += len(chunk)
                yield Page(records, {"line": position})

    def read_orders(self, query: OrderQuery):
        for page in self._pages("orders.jsonl", query.cursor):
            wanted = [r for r in page.records if not query.order_ids or str(r.get("OrderId")) in query.order_ids]
            yield Page(wanted, page.checkpoint)

    def read_purchase_orders(self, query: WindowQuery):
        yield from self._pages("purchase_orders.jsonl", query.cursor)

    def read_refunds(self, query: WindowQuery):
        yield from self._pages("refunds.jsonl", query.cursor)

    def read_suppliers(self):
        return [r for page in self._pages("suppliers.jsonl", None) for r in page.records]

    def read_stock_locations(self):
        return [r for page in self._pages("locations.jsonl", None) for r in page.records]

    def write_stock_levels(self, levels: Iterable[StockLevel]):
        known = {str(loc.get("LocationName", "")).lower() for loc in self.read_stock_locations()}
        results = []
        with (self.folder / "stock_levels.jsonl").open("a", encoding="utf-8") as out:
            for level in levels:
                key = f"stock:{level.sku}@{level.location_name}"
                if known and level.location_name.lower() not in known:
                    results.append(PostResult(key, "failed", error=f"unknown location '{level.location_name}'"))
                    continue
                out.write(json.dumps({"SKU": level.sku, "Level": level.level, "Location": level.location_name}) + "\n")
                results.append(PostResult(key, "posted"))
        return results
