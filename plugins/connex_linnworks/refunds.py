"""Reading actioned refunds, one record per refund header, at a cost that follows what is new.

Endpoint choice (reference §9): ``ReturnsRefunds/SearchReturnsRefundsPaged`` with ``historyType=REFUNDS`` and
``dateType=ACTIONED`` is the History tab searched by action date, so a pass asks only for refunds actioned since
the cursor, in windows of at most 3 months (the spec's limit), 200 rows a page. Its rows are flat refund rows
that name the order, not the header, so the headers are then read for just the orders it names
(``GetRefundHeadersByOrderId``) and the original orders in batches (``Orders/GetOrdersById``), since a refund's
customer mapping needs them. Each header is still checked (``Status.StatusHeader == PROCESSED`` and
``Actioned``; only actioned lines are kept): a booked-only refund or an acknowledged error (``ERROR_ACKED``, also
listed in the history) never produces a record, and a header whose action date falls outside the window is
left to the window that holds it.

Cursor: the newest action date emitted, the header ids emitted at it and their orders (so their rows cost no
second header read). It is committed at the end of each window, after everything the window holds; a window
that ended an hour or more before the read started is complete, so the cursor moves to its end even when it
held nothing and quiet months are not searched again. A run stopped half way re-reads its window, and the
ledger turns the repeats into no-ops; a header met twice in one run (rows shift while a refund is actioned
mid-read) is emitted once.

First load (no cursor): the History search costs one header read per refunded order, so a long history would
take thousands of calls; the whole-history feed ``GetProcessedOrAckedErrorRefundHeaders`` hands over the headers
themselves, 20 a page, so a first load costs its pages plus one order batch per 100 refunds. Its headers get the
same checks (processed and actioned, inside ``sync.from_date``/``to_date``, each header once a run); its cursor is
only written after the last page (a stopped first load starts again, and the ledger turns repeats into no-ops)
and holds the newest action date read (or the load's start when it read none), so the next pass searches
by window from there.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from connex.connectors import Page, WindowQuery
from connex_linnworks.client import LinnworksClient
from connex_linnworks.keyset import Cursor
from connex_linnworks.normalise import normalise_dates, normalise_order

DETAIL_BATCH = 100


def refund_record(header: dict, order: dict | None) -> dict | None:
    """The header-level record, or None when nothing in it was actioned."""
    status = ((header.get("Status") or {}).get("StatusHeader") or "").upper()
    if status != "PROCESSED" or not header.get("Actioned"):
        return None
    lines = []
    for line in header.get("RefundLines") or []:
        if not line.get("Actioned") or line.get("Deleted"):
            continue
        item = line.get("RefundedItem") or {}
        unit = str(line.get("RefundedUnit") or "Item")
        lines.append(
            {
                "RefundRowId": line.get("RefundRowId"),
                "SKU": item.get("ItemSKU") or None,
                "Title": item.get("ItemTitle") or line.get("FreeTextOrNote") or None,
                "Quantity": line.get("Quantity") or 0,
                "Amount": line.get("Amount") if line.get("Amount") is not None else Decimal(0),
                "IsShipping": bool(line.get("IsShippingRefund")) or unit == "Shipping",
                "RefundedUnit": unit,
                "OrderItemRowId": item.get("OrderItemRowId"),
                "Reason": line.get("ReasonTag") or line.get("ReasonCategory"),
                "ActionedDate": line.get("ActionedDate"),
            }
        )
    if not lines:
        return None
    reasons = [line["Reason"] for line in lines if line["Reason"]]
    return {
        "RefundHeaderId": header.get("RefundHeaderId"),
        "OrderId": header.get("OrderId"),
        "NumOrderId": header.get("NumOrderId"),
        "ExternalReference": header.get("ExternalReference"),
        "OrderSource": header.get("OrderSource"),
        "OrderSubSource": header.get("OrderSubSource"),
        # the header's Amount covers every line; the actioned lines are what money actually moved for
        "Amount": sum((line["Amount"] for line in lines), Decimal(0)),
        "Currency": header.get("Currency") or (order or {}).get("TotalsInfo", {}).get("Currency"),
        "ActionDate": header.get("LastActionDate"),
        "CreatedDate": header.get("CreatedDate"),
        "Reason": reasons[0] if reasons else None,
        "Lines": lines,
        "Order": order,
    }


HISTORY_PAGE = 200  # SearchReturnsRefundsPaged numEntriesPerPage: "Maximum 200" (returnsrefunds.json)
WINDOW_MONTHS = 3  # SearchReturnsRefundsPaged from/to: "Maximum range is 3 months" (returnsrefunds.json)
SETTLED = dt.timedelta(hours=1)  # a window that ended this long before the read began holds all it ever will
SEARCH = "ReturnsRefunds/SearchReturnsRefundsPaged"
FEED = "ReturnsRefunds/GetProcessedOrAckedErrorRefundHeaders"  # whole history, 20 headers a page, order undocumented


def add_months(when: dt.datetime, months: int) -> dt.datetime:
    month = when.month - 1 + months
    year, month = when.year + month // 12, month % 12 + 1
    last_day = (dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)).day
    return when.replace(year=year, month=month, day=min(when.day, last_day))


def query_time(when: dt.datetime) -> str:
    """Query-string dates as the SDK sends them: ``yyyy-MM-dd HH:mm:ss`` (reference §2), in UTC."""
    return when.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


@dataclass
class RefundCursor:
    since: dt.datetime | None
    seen: set[str] = field(default_factory=set)  # header ids emitted at ``since``
    orders: set[str] = field(default_factory=set)  # their orders (lower case)

    @classmethod
    def load(cls, data, floor: dt.datetime | None) -> RefundCursor:
        base = Cursor.load(data, floor)
        orders = set(data.get("orders") or []) if data and base.seen else set()
        return cls(base.since, set(base.seen), orders)

    def dump(self) -> dict:
        return {**Cursor(self.since, self.seen).dump(), "orders": sorted(self.orders)}


class RefundReader:
    def __init__(self, client: LinnworksClient, page_size: int = HISTORY_PAGE, now=None):
        self.client = client
        self.page_size = min(page_size, HISTORY_PAGE)
        self.now = now or (lambda: dt.datetime.now(dt.UTC))

    def read(self, query: WindowQuery) -> Iterator[Page]:
        cursor = RefundCursor.load(query.cursor, query.from_date)
        started = self.now()
        end = query.to_date or started
        if end.tzinfo is None:
            end = end.replace(tzinfo=dt.UTC)
        emitted: set[str] = set()
        if query.cursor is None:  # a first load: the whole-history feed is far cheaper than a header per order
            yield from self._first_load(cursor.since, end, min(started, end))
            return
        low = cursor.since
        while True:
            high = min(add_months(low, WINDOW_MONTHS), end)
            settled = high <= started - SETTLED
            cursor = yield from self._window(low, high, cursor, emitted, settled=settled)
            if high >= end:
                return
            low = high

    def _window(self, low, high, cursor: RefundCursor, emitted: set[str], *, settled: bool):
        """Pages of one search window; the last carries the cursor after it. Returns that cursor."""
        newest, at_newest, orders_at_newest = cursor.since, set(cursor.seen), set(cursor.orders)
        page_number, fetched = 1, set()
        while True:
            params = {"dateType": "ACTIONED" if low is not None else "ALLDATES", "historyType": "REFUNDS",
                      "pageNum": page_number, "numEntriesPerPage": self.page_size}
            if low is not None:
                params.update({"from": query_time(low), "to": query_time(high)})
            body = self.client.call(SEARCH, method="GET", query=params) or {}
            rows = [normalise_dates(r) for r in body.get("Data") or []]
            wanted = []
            for row in rows:
                order_id = str(row.get("pkOrderID") or "").lower()
                status = str(row.get("RefundStatus") or "PROCESSED").upper()
                when = row.get("ActionDate")
                if not order_id or order_id in fetched or status != "PROCESSED":
                    continue  # acknowledged errors and rows of orders already read cost no header read
                if cursor.since is not None and when == cursor.since and order_id in cursor.orders:
                    continue  # emitted by an earlier pass at the cursor's own timestamp
                fetched.add(order_id)
                wanted.append(order_id)
            chosen = []
            for order_id in wanted:
                for header in self._headers(order_id):
                    when, ident = header.get("LastActionDate"), str(header.get("RefundHeaderId"))
                    if when is None or ident in emitted or (high is not None and when > high):
                        continue
                    if low is not None and when < low:
                        continue
                    if cursor.since is not None and (when < cursor.since or
                                                     (when == cursor.since and ident in cursor.seen)):
                        continue
                    if refund_record(header, None) is not None:
                        chosen.append(header)
                        emitted.add(ident)
            records = self._records(chosen)
            for header in chosen:
                when, ident = header["LastActionDate"], str(header.get("RefundHeaderId"))
                order_id = str(header.get("OrderId") or "").lower()
                if newest is None or when > newest:
                    newest, at_newest, orders_at_newest = when, {ident}, {order_id}
                elif when == newest:
                    at_newest.add(ident)
                    orders_at_newest.add(order_id)
            total_pages = int(body.get("TotalPages") or 0)
            last = not rows or page_number >= total_pages
            if not last:
                if records:
                    yield Page(records, None)
                page_number += 1
                continue
            after = RefundCursor(newest, at_newest, orders_at_newest)
            if settled and high is not None and (newest is None or newest < high):
                after = RefundCursor(high)  # a complete window: its quiet end need not be searched again
            yield Page(records, after.dump() if after.since is not None else None)
            return after

    def _first_load(self, floor, end: dt.datetime, resume_at: dt.datetime) -> Iterator[Page]:
        """The whole-history feed, paged; order details are read once per DETAIL_BATCH headers kept, across pages."""
        emitted: set[str] = set()
        chosen: list[dict] = []
        newest, at_newest, orders_at_newest = None, set(), set()
        page_number = 1
        while True:
            body = self.client.call(FEED, form={"request": {"Page": page_number}}) or {}
            headers = [normalise_dates(h) for h in body.get("RefundHeaders") or []]
            for header in headers:
                when, ident = header.get("LastActionDate"), str(header.get("RefundHeaderId"))
                if when is None or when > end or (floor is not None and when < floor) or ident in emitted:
                    continue  # outside the run's dates, or met on an earlier page (rows shift mid-read)
                if refund_record(header, None) is not None:  # booked-only and acknowledged errors are never kept
                    chosen.append(header)
                    emitted.add(ident)
            per_page, total = int(body.get("HeadersPerPage") or 0), int(body.get("TotalHeaders") or 0)
            last = not headers or per_page <= 0 or page_number * per_page >= total
            for header in headers:
                ident = str(header.get("RefundHeaderId"))
                when = header.get("LastActionDate")
                if ident in emitted and (newest is None or when > newest):
                    newest, at_newest, orders_at_newest = when, set(), set()
                if ident in emitted and when == newest:
                    at_newest.add(ident)
                    orders_at_newest.add(str(header.get("OrderId") or "").lower())
            if last:
                # the newest action date read (never later than the load's start): a refund actioned after it,
                # even while the load ran, is in the next pass's window
                after = RefundCursor(newest, at_newest, orders_at_newest) if newest else RefundCursor(resume_at)
                yield Page(self._records(chosen), after.dump())
                return
            batch = min(self.page_size, DETAIL_BATCH)
            if len(chosen) >= batch:
                yield Page(self._records(chosen[:batch]), None)
                chosen = chosen[batch:]
            page_number += 1

    def _headers(self, order_id: str) -> list[dict]:
        body = self.client.call("ReturnsRefunds/GetRefundHeadersByOrderId", form={"request": {"OrderId": order_id}})
        return [normalise_dates(h) for h in (body or {}).get("RefundHeaders") or []]

    def find(self, number: str) -> list[dict]:
        """The actioned refunds ``number`` names: a refund's document number (``100013-R7``), its header id
        (``7``) or the order number (``100013``: every refund of that order). The feed has no filter, so it is
        read through and only the matching headers cost an order lookup."""
        text = number.strip().upper()
        order_number, _, header_id = text.partition("-R")
        wanted: set[tuple[str, str]] = set()
        if header_id:
            wanted.add(("RefundHeaderId", header_id))
        else:
            wanted |= {("RefundHeaderId", text), ("NumOrderId", text)}
        chosen, page_number = [], 1
        while True:
            body = (
                self.client.call(
                    "ReturnsRefunds/GetProcessedOrAckedErrorRefundHeaders", form={"request": {"Page": page_number}}
                )
                or {}
            )
            headers = [normalise_dates(h) for h in body.get("RefundHeaders") or []]
            for header in headers:
                if header_id and str(header.get("NumOrderId")) != order_number:
                    continue
                if any(str(header.get(name)) == value for name, value in wanted):
                    chosen.append(header)
            per_page, total = int(body.get("HeadersPerPage") or 0), int(body.get("TotalHeaders") or 0)
            if not headers or per_page <= 0 or page_number * per_page >= total:
                break
            page_number += 1
        chosen.sort(key=lambda h: int(h.get("RefundHeaderId") or 0))
        return self._records(chosen)

    def _records(self, headers: list[dict]) -> list[dict]:
        ids = sorted({str(h.get("OrderId")) for h in headers if h.get("OrderId")})
        orders: dict[str, dict] = {}
        for start in range(0, len(ids), DETAIL_BATCH):
            for order in (
                self.client.call(
                    "Orders/GetOrdersById", form={"pkOrderIds": ids[start : start + DETAIL_BATCH]}
                )
                or []
            ):
                orders[str(order.get("OrderId")).lower()] = normalise_order(order)
        records = []
        for header in headers:
            record = refund_record(header, orders.get(str(header.get("OrderId")).lower()))
            if record is not None:
                records.append(record)
        return records
