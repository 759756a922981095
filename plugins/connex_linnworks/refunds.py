"""Reading actioned refunds, one record per refund header.

Endpoint choice (reference §9): ``ReturnsRefunds/GetProcessedOrAckedErrorRefundHeaders`` is the one feed
that holds only the *actioned* side (booked refunds live in ``GetActionableRefundHeaders``) and returns whole
headers with their lines. One paged call thus covers what ``SearchReturnsRefundsPaged`` (flat rows, no header
id) would need an extra ``GetRefundHeadersByOrderId`` per order for. Because the feed also lists
acknowledged *errors*, each header is still checked (``Status.StatusHeader == PROCESSED`` and ``Actioned``)
and only actioned lines are kept: a booked-only refund never produces a record. The original orders come
from ``Orders/GetOrdersById``, one batched call per page, since a refund's customer mapping needs them.

The feed has no date filter and no documented order, so the window is applied on ``LastActionDate`` here
and the cursor (latest action date plus the header ids at it) only advances on the last page; a run stopped
half way re-reads from the previous cursor and the targets' idempotency keys absorb the repeats.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
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


class RefundReader:
    def __init__(self, client: LinnworksClient):
        self.client = client

    def read(self, query: WindowQuery) -> Iterator[Page]:
        cursor = Cursor.load(query.cursor, query.from_date)
        to_date = query.to_date
        if to_date is not None and to_date.tzinfo is None:
            to_date = to_date.replace(tzinfo=dt.UTC)
        newest, at_newest = cursor.since, set(cursor.seen)
        # a refund actioned mid-read shifts the (undocumented) order by one, so a header can show up on two
        # pages; the ids of one run's refunds are few enough to remember
        emitted: set[str] = set()
        page_number = 1
        while True:
            body = (
                self.client.call(
                    "ReturnsRefunds/GetProcessedOrAckedErrorRefundHeaders",
                    form={"request": {"Page": page_number}},
                )
                or {}
            )
            headers = [normalise_dates(h) for h in body.get("RefundHeaders") or []]
            chosen = []
            for header in headers:
                when = header.get("LastActionDate")
                ident = str(header.get("RefundHeaderId"))
                if when is None or (to_date is not None and when > to_date):
                    continue
                if cursor.since is not None and (
                    when < cursor.since or (when == cursor.since and ident in cursor.seen)
                ):
                    continue
                if ident in emitted:
                    continue
                if refund_record(header, None) is not None:  # only actioned headers cost an order lookup
                    chosen.append(header)
                    emitted.add(ident)
            records = self._records(chosen)
            for header in chosen:
                when, ident = header["LastActionDate"], str(header.get("RefundHeaderId"))
                if newest is None or when > newest:
                    newest, at_newest = when, {ident}
                elif when == newest:
                    at_newest.add(ident)
            per_page = int(body.get("HeadersPerPage") or 0)
            total = int(body.get("TotalHeaders") or 0)
            last = not headers or per_page <= 0 or page_number * per_page >= total
            checkpoint = Cursor(newest, at_newest).dump() if last and newest is not None else None
            if records or last:
                yield Page(records, checkpoint)
            if last:
                return
            page_number += 1

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
