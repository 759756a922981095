"""Reading orders: processed (the default), open, or an explicit list of ids.

* Processed: ``ProcessedOrders/SearchProcessedOrders`` by processed date, ascending, is the feed; it is header
  only, so each page's ids are hydrated with ``Orders/GetOrdersById`` (at most 100 ids a call) into full
  ``OrderDetails`` with lines.
* Open: ``Orders/GetOpenOrders`` by received date, then ``OpenOrders/GetOpenOrdersDetails`` for the lines
  (the reference's safer path: ``OpenOrders/GetOpenOrders`` has failed with null references on some tenants).
* A status filter is applied to the search rows *before* hydrating, so filtered-out orders cost no
  detail call.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator

from connex.connectors import OrderQuery, Page
from connex.errors import ConfigError, DocumentError, DocumentRef
from connex_linnworks.client import LinnworksClient
from connex_linnworks.keyset import Cursor, SearchPage, keyset_pages
from connex_linnworks.normalise import ORDER_STATUSES, normalise_order, order_status_name
from connex_linnworks.wire import format_datetime, is_empty_guid, parse_datetime

log = logging.getLogger(__name__)

DETAIL_BATCH = 100  # Airbyte's batch for GetOrdersById; Linnworks documents no maximum, so stay conservative
# With no window and no cursor, read everything: Linnworks has no orders before it existed.
EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


class OrderReader:
    def __init__(self, client: LinnworksClient, page_size: int):
        self.client = client
        self.page_size = page_size

    def read(self, query: OrderQuery) -> Iterator[Page]:
        wanted = {s.upper() for s in query.statuses}
        unknown = wanted - set(ORDER_STATUSES)
        if unknown:
            raise ConfigError(
                f"Linnworks: unknown order status filter {', '.join(sorted(unknown))}; "
                f"expected {', '.join(ORDER_STATUSES)}"
            )
        if query.order_ids:
            yield self._by_ids(query.order_ids)
            return
        if query.mode == "open":
            yield from self._open(query, wanted)
        elif query.mode == "processed":
            yield from self._processed(query, wanted)
        else:
            raise ConfigError(f"Linnworks: unknown order mode {query.mode!r}; expected 'processed' or 'open'")

    # --- processed -----------------------------------------------------------------------------------------
    def _processed(self, query: OrderQuery, wanted: set[str]) -> Iterator[Page]:
        to_date = query.to_date or dt.datetime.now(dt.UTC)

        def fetch(since: dt.datetime | None, page_number: int) -> SearchPage:
            request = {
                "DateField": "processed",
                "FromDate": format_datetime(since or EPOCH),
                "ToDate": format_datetime(to_date),
                "PageNumber": page_number,
                "ResultsPerPage": self.page_size,
                "SearchSorting": {"SortField": "dProcessedOn", "SortDirection": "ASC"},
            }
            body = self.client.call("ProcessedOrders/SearchProcessedOrders", form={"request": request})
            result = (body or {}).get("ProcessedOrders") or {}
            return SearchPage(
                result.get("Data") or [],
                int(result.get("PageNumber") or page_number),
                int(result.get("TotalPages") or 0),
            )

        def key(row: dict):
            return parse_datetime(row.get("dProcessedOn")), str(row["pkOrderID"]).lower()

        start = Cursor.load(query.cursor, query.from_date)
        for rows, after in keyset_pages(fetch, key, start):
            ids = [str(r["pkOrderID"]) for r in rows if not wanted or order_status_name(r) in wanted]
            orders = self._details("Orders/GetOrdersById", ids)
            yield Page(orders, {"mode": "processed", **after.dump()})

    # --- open ----------------------------------------------------------------------------------------------
    def _open(self, query: OrderQuery, wanted: set[str]) -> Iterator[Page]:
        def fetch(since: dt.datetime | None, page_number: int) -> SearchPage:
            date_filter = {
                "Type": "Range",
                "FieldCode": "GENERAL_INFO_DATE",
                "DateFrom": format_datetime(since or EPOCH),
            }
            if query.to_date:
                date_filter["DateTo"] = format_datetime(query.to_date)
            body = (
                self.client.call(
                    "Orders/GetOpenOrders",
                    form={
                        "entriesPerPage": self.page_size,
                        "pageNumber": page_number,
                        "filters": {"DateFields": [date_filter]},
                        "sorting": [{"FieldCode": "GENERAL_INFO_DATE", "Direction": "Ascending", "Order": 0}],
                    },
                )
                or {}
            )
            return SearchPage(
                body.get("Data") or [],
                int(body.get("PageNumber") or page_number),
                int(body.get("TotalPages") or 0),
            )

        def key(row: dict):
            return parse_datetime((row.get("GeneralInfo") or {}).get("ReceivedDate")), str(
                row["OrderId"]
            ).lower()

        start = Cursor.load(query.cursor, query.from_date)
        for rows, after in keyset_pages(fetch, key, start):
            ids = [str(r["OrderId"]) for r in rows if not wanted or order_status_name(r) in wanted]
            orders = self._details("OpenOrders/GetOpenOrdersDetails", ids)
            yield Page(orders, {"mode": "open", **after.dump()})

    # --- details -------------------------------------------------------------------------------------------
    def _details(self, endpoint: str, ids: list[str]) -> list[dict]:
        """Full OrderDetails for ``ids``, in the order given (the feed's order), normalised."""
        found: dict[str, dict] = {}
        for start in range(0, len(ids), DETAIL_BATCH):
            batch = ids[start : start + DETAIL_BATCH]
            if endpoint == "Orders/GetOrdersById":
                body = self.client.call(endpoint, form={"pkOrderIds": batch}) or []
            else:
                body = (
                    self.client.call(endpoint, form={"request": {"OrderIds": batch, "DetailLevel": []}}) or {}
                ).get("Orders") or []
            for order in body:
                found[str(order.get("OrderId")).lower()] = order
        orders = []
        for ident in ids:
            order = found.get(ident.lower())
            if order is None:
                # Deleted or processed between the search and the detail call: the next run's search sees it
                # again in its new state, so dropping it here loses nothing.
                log.warning(
                    "Linnworks %s: order %s disappeared between search and detail; skipped", endpoint, ident
                )
                continue
            orders.append(normalise_order(order))
        return orders

    def _by_ids(self, order_ids: tuple[str, ...]) -> Page:
        """Exactly the orders asked for. A number (``NumOrderId``, what users see) is looked up one by one;
        GUIDs go through ``GetOrdersById`` in batches. Any id Linnworks does not know is an
        error naming it."""
        guids = [i for i in order_ids if not str(i).strip().isdigit()]
        orders = {str(o["OrderId"]).lower(): o for o in self._details("Orders/GetOrdersById", guids)}
        result, missing = [], []
        for ident in order_ids:
            ident = str(ident).strip()
            if ident.isdigit():
                body = self.client.call(
                    "Orders/GetOrderDetailsByNumOrderId", method="GET", query={"OrderId": ident}
                )
                # "If not found empty class is returned"
                order = (
                    normalise_order(body)
                    if isinstance(body, dict) and not is_empty_guid(body.get("OrderId"))
                    else None
                )
            else:
                order = orders.get(ident.lower())
            if order is None:
                missing.append(ident)
            else:
                result.append(order)
        if missing:
            raise DocumentError(
                f"Linnworks has no order {', '.join(missing)} (looked up with Orders/GetOrdersById and "
                "Orders/GetOrderDetailsByNumOrderId)",
                where=DocumentRef("order", missing[0], number=missing[0]),
                code="not_found",
            )
        return Page(result, None)
