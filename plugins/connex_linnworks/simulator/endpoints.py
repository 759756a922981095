"""The Linnworks methods the simulator serves, and the parameter names each one takes.

A mixin over ``LinnworksSimulator``: handlers receive the call's arguments already decoded (form or JSON, see
``params``) and return the body to send. ``SIGNATURES`` is the single table of served methods and parameter
names; the conformance tests check it against the official specs.
"""

from __future__ import annotations

import datetime as dt
import math

from connex_linnworks.simulator.account import Account
from connex_linnworks.simulator.orders_gen import open_row, processed_row, public
from connex_linnworks.simulator.params import BadRequest, Signature, int_arg
from connex_linnworks.simulator.stock_levels import stock_item_level
from connex_linnworks.wire import parse_datetime

REFUND_HEADERS_PER_PAGE = 20
SEARCH_RESULTS_MIN = 20  # observed: SearchProcessedOrders returns at least 20 per page

_SEARCH_PROCESSED = {
    "SearchTerm",
    "SearchFilters",
    "DateField",
    "FromDate",
    "ToDate",
    "PageNumber",
    "ResultsPerPage",
    "SearchSorting",
}
_PO_SEARCH = {
    "DateFrom",
    "DateTo",
    "Status",
    "ReferenceLike",
    "EntriesPerPage",
    "PageNumber",
    "Location",
    "Supplier",
}

#: every method the simulator serves: (HTTP method, endpoint, signature). Conformance tests check these names
#: against the official specs.
SIGNATURES: dict[str, tuple[str, Signature]] = {
    "Orders/GetOpenOrders": (
        "POST",
        Signature(
            ("entriesPerPage", "pageNumber", "filters", "sorting", "fulfilmentCenter", "additionalFilter"),
            fields={
                "filters": {
                    "TextFields",
                    "BooleanFields",
                    "NumericFields",
                    "DateFields",
                    "ListFields",
                    "FieldVisibility",
                },
                "sorting": {"FieldCode", "Direction", "Order"},
            },
        ),
    ),
    "Orders/GetOrdersById": ("POST", Signature(("pkOrderIds",))),
    "Orders/GetOrderDetailsByNumOrderId": ("GET", Signature(("OrderId",))),
    "OpenOrders/GetOpenOrdersDetails": (
        "POST",
        Signature(("request",), unwrapped=True, fields={"request": {"OrderIds", "DetailLevel"}}),
    ),
    "ProcessedOrders/SearchProcessedOrders": (
        "POST",
        Signature(("request",), fields={"request": _SEARCH_PROCESSED}),
    ),
    "PurchaseOrder/Search_PurchaseOrders": (
        "POST",
        Signature(("searchParameter",), fields={"searchParameter": _PO_SEARCH}),
    ),
    "PurchaseOrder/Get_PurchaseOrder": ("POST", Signature(("pkPurchaseId",))),
    "Inventory/GetSuppliers": ("GET", Signature(())),
    "Inventory/GetStockLocations": ("GET", Signature(())),
    "Stock/UpdateStockLevelsBySKU": (
        "POST",
        Signature(("stockLevels", "changeSource"), fields={"stockLevels": {"SKU", "LocationId", "Level"}}),
    ),
    "Stock/SetStockLevel": (
        "POST",
        Signature(("stockLevels", "changeSource"), fields={"stockLevels": {"SKU", "LocationId", "Level"}}),
    ),
    "Stock/GetStockItemsFull": (
        "POST",
        Signature(("keyword", "loadCompositeParents", "loadVariationParents", "entriesPerPage", "pageNumber",
                   "dataRequirements", "searchTypes")),
    ),
    "ReturnsRefunds/GetProcessedOrAckedErrorRefundHeaders": (
        "POST",
        Signature(("request",), fields={"request": {"Page", "Filters"}}),
    ),
    "ReturnsRefunds/SearchReturnsRefundsPaged": (
        "GET",
        Signature(("from", "to", "dateType", "searchField", "exactMatch", "searchTerm", "pageNum",
                   "numEntriesPerPage", "historyType")),
    ),
    "ReturnsRefunds/GetRefundHeadersByOrderId": (
        "POST",
        Signature(("request",), fields={"request": {"OrderId"}}),
    ),
}

HISTORY_MAX_PER_PAGE = 200  # returnsrefunds.json SearchReturnsRefundsPaged numEntriesPerPage: "Maximum 200"
HISTORY_MAX_MONTHS = 3  # returnsrefunds.json SearchReturnsRefundsPaged from/to: "Maximum range is 3 months"


class LinnworksEndpoints:
    account: Account

    # --- orders --------------------------------------------------------------------------------------------
    def _getordersbyid(self, args: dict):
        ids = args.get("pkOrderIds")
        if not isinstance(ids, list):
            raise BadRequest("Orders/GetOrdersById: pkOrderIds must be a list of order ids")
        orders = [self.account.order(str(i)) for i in ids]
        return [public(o) for o in orders if o is not None]

    def _getorderdetailsbynumorderid(self, args: dict):
        number = int_arg(args.get("OrderId"), "OrderId", "Orders/GetOrderDetailsByNumOrderId")
        order = self.account.order_by_number(number)
        # "If not found empty class is returned"
        return (
            public(order) if order else {"OrderId": "00000000-0000-0000-0000-000000000000", "NumOrderId": 0}
        )

    def _getopenordersdetails(self, args: dict):
        request = args.get("request") or {}
        ids = request.get("OrderIds")
        if not isinstance(ids, list):
            raise BadRequest("OpenOrders/GetOpenOrdersDetails: OrderIds must be a list")
        with self.account.lock:
            found = [self.account.open_orders.get(str(i).lower()) for i in ids]
        return {"Orders": [public(o) for o in found if o is not None]}

    def _getopenorders(self, args: dict):
        endpoint = "Orders/GetOpenOrders"
        per_page = int_arg(args.get("entriesPerPage"), "entriesPerPage", endpoint)
        page = int_arg(args.get("pageNumber"), "pageNumber", endpoint)
        if per_page < 1 or page < 1:
            raise BadRequest(f"{endpoint}: entriesPerPage and pageNumber must be positive")
        with self.account.lock:
            orders = list(self.account.open_orders.values())
        for flt in (args.get("filters") or {}).get("DateFields") or []:
            if flt.get("FieldCode") != "GENERAL_INFO_DATE" or flt.get("Type", "Range") != "Range":
                raise BadRequest(f"{endpoint}: the simulator filters dates on GENERAL_INFO_DATE ranges only")
            lo, hi = parse_datetime(flt.get("DateFrom")), parse_datetime(flt.get("DateTo"))
            orders = [
                o for o in orders if (lo is None or _received(o) >= lo) and (hi is None or _received(o) <= hi)
            ]
        descending = False
        for sort in args.get("sorting") or []:
            if sort.get("FieldCode") == "GENERAL_INFO_DATE":
                descending = sort.get("Direction") == "Descending"
        orders.sort(key=lambda o: (_received(o), o["NumOrderId"]), reverse=descending)
        return _paged(
            [open_row(o) for o in orders[(page - 1) * per_page : page * per_page]],
            page,
            per_page,
            len(orders),
        )

    def _searchprocessedorders(self, args: dict):
        endpoint = "ProcessedOrders/SearchProcessedOrders"
        request = args.get("request")
        if not isinstance(request, dict):
            raise BadRequest(f"{endpoint}: request is required")
        date_field = request.get("DateField")
        if date_field not in ("processed", "payment", "cancelled", "received"):
            raise BadRequest(f"{endpoint}: DateField must be one of processed, payment, cancelled, received")
        page = int_arg(request.get("PageNumber"), "PageNumber", endpoint, 1)
        per_page = max(
            SEARCH_RESULTS_MIN, int_arg(request.get("ResultsPerPage"), "ResultsPerPage", endpoint, 20)
        )
        lo, hi = parse_datetime(request.get("FromDate")), parse_datetime(request.get("ToDate"))
        sorting = request.get("SearchSorting") or {}
        descending = str(sorting.get("SortDirection", "ASC")).upper() == "DESC"
        if (
            date_field == "processed"
            and not request.get("SearchFilters")
            and not request.get("SearchTerm")
            and sorting.get("SortField", "dProcessedOn") == "dProcessedOn"
        ):
            # the fast path: the index is sorted by processed time, so only the page's orders are generated
            with self.account.lock:
                index = self.account.processed_index
                start = 0 if lo is None else _bisect_time(index, lo)
                end = len(index) if hi is None else _bisect_time(index, hi, right=True)
                chosen = index[start:end]
            if descending:
                chosen = chosen[::-1]
            rows = [
                processed_row(self.account.order(oid))
                for _, _, oid in chosen[(page - 1) * per_page : page * per_page]
            ]
            return {"ProcessedOrders": _paged(rows, page, per_page, len(chosen))}
        rows = self._scan_processed(request, date_field, lo, hi)
        key = sorting.get("SortField") or "dProcessedOn"
        rows.sort(key=lambda r: (str(r.get(key)), r["nOrderId"]), reverse=descending)
        return {
            "ProcessedOrders": _paged(
                rows[(page - 1) * per_page : page * per_page], page, per_page, len(rows)
            )
        }

    def _scan_processed(self, request: dict, date_field: str, lo, hi) -> list[dict]:
        field = {
            "processed": "dProcessedOn",
            "payment": "dPaidOn",
            "cancelled": "dCancelledOn",
            "received": "dReceivedDate",
        }[date_field]
        term = str(request.get("SearchTerm") or "").lower()
        filters = request.get("SearchFilters") or []
        rows = []
        for _, _, oid in list(self.account.processed_index):
            row = processed_row(self.account.order(oid))
            when = parse_datetime(row[field])
            if when is None or (lo and when < lo) or (hi and when > hi):
                continue
            if term and term not in f"{row['nOrderId']} {row['ReferenceNum']} {row['cFullName']}".lower():
                continue
            if any(
                str(row.get(f.get("SearchField"), "")).lower() != str(f.get("SearchTerm", "")).lower()
                for f in filters
                if f.get("SearchField") in ("Source", "SubSource")
            ):
                continue
            rows.append(row)
        return rows

    # --- purchase orders, suppliers, locations, stock ------------------------------------------------------
    def _searchpurchaseorders(self, args: dict):
        endpoint = "PurchaseOrder/Search_PurchaseOrders"
        p = args.get("searchParameter")
        if not isinstance(p, dict):
            raise BadRequest(f"{endpoint}: searchParameter is required")
        per_page = int_arg(p.get("EntriesPerPage"), "EntriesPerPage", endpoint)
        page = int_arg(p.get("PageNumber"), "PageNumber", endpoint)
        lo, hi = parse_datetime(p.get("DateFrom")), parse_datetime(p.get("DateTo"))
        with self.account.lock:
            headers = [po["PurchaseOrderHeader"] for po in self.account.purchase_orders.values()]
        locations = {str(x).lower() for x in p.get("Location") or []}
        suppliers = {str(x).lower() for x in p.get("Supplier") or []}
        chosen = [
            h
            for h in headers
            if (lo is None or parse_datetime(h["DateOfPurchase"]) >= lo)
            and (hi is None or parse_datetime(h["DateOfPurchase"]) <= hi)
            and (not p.get("Status") or h["Status"] == p["Status"])
            and (
                not p.get("ReferenceLike")
                or str(p["ReferenceLike"]).lower() in h["ExternalInvoiceNumber"].lower()
            )
            and (not locations or h["fkLocationId"].lower() in locations)
            and (not suppliers or h["fkSupplierId"].lower() in suppliers)
        ]
        chosen.sort(key=lambda h: (parse_datetime(h["DateOfPurchase"]), h["ExternalInvoiceNumber"]))
        total_pages = math.ceil(len(chosen) / per_page) if per_page > 0 else 0
        return {
            "Result": [dict(h) for h in chosen[(page - 1) * per_page : page * per_page]],
            "TotalPages": total_pages,
            "CurrentPageNumber": page,
            "EntriesPerPage": per_page,
            "TotalNumberOfRecords": len(chosen),
        }

    def _getpurchaseorder(self, args: dict):
        po_id = str(args.get("pkPurchaseId") or "").lower()
        with self.account.lock:
            po = self.account.purchase_orders.get(po_id)
        if po is None:
            raise BadRequest(f"PurchaseOrder/Get_PurchaseOrder: purchase order {po_id!r} not found")
        return po

    def _getsuppliers(self, args: dict):
        return self.account.suppliers

    def _getstocklocations(self, args: dict):
        return self.account.locations

    def _setstocklevel(self, args: dict, *, endpoint: str = "Stock/SetStockLevel", delta: bool = False):
        levels = args.get("stockLevels")
        if not isinstance(levels, list):
            raise BadRequest(f"{endpoint}: stockLevels must be a list")
        for row in levels:
            if self.account.location(row.get("LocationId") or "") is None:
                raise BadRequest(f"{endpoint}: location {row.get('LocationId')!r} does not exist")
            if not isinstance(row.get("Level"), int):
                raise BadRequest(f"{endpoint}: Level must be an integer for SKU {row.get('SKU')!r}")
        # unknown SKUs are left out of the answer: the caller finds out by what is missing
        results = []
        for r in levels:
            sku = str(r.get("SKU") or "")
            level = r["Level"]
            if delta:
                current = self.account.stock_of(sku, r["LocationId"])
                level = None if current is None else current + level
            results.append(None if level is None else self.account.set_stock(sku, r["LocationId"], level))
        return [r for r in results if r is not None]

    def _getstockitemsfull(self, args: dict):
        """``StockItemFull`` rows, ``entriesPerPage`` at most 200 (stock.json); ``StockLevels`` only when
        ``dataRequirements`` asks for them; composite parents only with ``loadCompositeParents``. Past the last
        page: HTTP 400 "No items found with given filter." (reference §10)."""
        endpoint = "Stock/GetStockItemsFull"
        per_page = int_arg(args.get("entriesPerPage"), "entriesPerPage", endpoint)
        page = int_arg(args.get("pageNumber"), "pageNumber", endpoint)
        if page < 1 or not 1 <= per_page <= 200:
            raise BadRequest(f"{endpoint}: pageNumber must be positive and entriesPerPage 1 to 200")
        wanted = set(args.get("dataRequirements") or [])
        keyword = str(args.get("keyword") or "").lower()
        with self.account.lock:
            products = [p for p in self.account.all_products()
                        if (p[3] is None or args.get("loadCompositeParents") in (True, "true", "True"))
                        and (not keyword or keyword in p[0].lower() or keyword in p[1].lower())]
            chunk = products[(page - 1) * per_page : page * per_page]
            if not chunk:
                raise BadRequest("No items found with given filter.")
            rows = []
            for product in chunk:
                stock = self.account.stock
                levels = [stock_item_level(product, loc, stock.get((product[0], loc["StockLocationId"]), 0))
                          for loc in self.account.locations]
                rows.append({
                    "ItemNumber": product[0], "ItemTitle": product[1], "BarcodeNumber": "", "MetaData": "",
                    "IsVariationParent": False, "isBatchedStockType": False,
                    "PurchasePrice": float(product[4]), "RetailPrice": float(product[2]), "TaxRate": -1,
                    "StockItemId": levels[0]["StockItemId"], "StockItemIntId": levels[0]["StockItemIntId"],
                    "StockLevels": levels if "StockLevels" in wanted else [],
                })
        return rows

    def _updatestocklevelsbysku(self, args: dict):
        """The *delta* sibling of SetStockLevel ("change the stock level by the provided value"), served so a
        client that confuses the two is caught by the numbers."""
        return self._setstocklevel(args, endpoint="Stock/UpdateStockLevelsBySKU", delta=True)

    # --- refunds -------------------------------------------------------------------------------------------
    def _getprocessedorackederrorrefundheaders(self, args: dict):
        request = args.get("request") or {}
        page = int_arg(request.get("Page"), "Page", "ReturnsRefunds/GetProcessedOrAckedErrorRefundHeaders", 1)
        with self.account.lock:
            headers = [
                h
                for h in self.account.refund_headers.values()
                if h["Status"]["StatusHeader"] in ("PROCESSED", "ERROR_ACKED")
            ]
            headers.sort(key=lambda h: -h["RefundHeaderId"])  # newest first: clients must not rely on order
            chunk = headers[(page - 1) * REFUND_HEADERS_PER_PAGE : page * REFUND_HEADERS_PER_PAGE]
            return {
                "Page": page,
                "TotalHeaders": len(headers),
                "HeadersPerPage": REFUND_HEADERS_PER_PAGE,
                "RefundHeaders": [dict(h) for h in chunk],
            }

    def _searchreturnsrefundspaged(self, args: dict):
        """The History tab's search (returnsrefunds.json ``SearchReturnsRefundsPaged``). Rules from the spec:
        ``from``/``to`` span at most 3 months, ``numEntriesPerPage`` at most 200, ``historyType`` one of
        RETURNS/REFUNDS/CANCELLATIONS, ``dateType`` one of ALLDATES/RECEIVED/PROCESSED/BOOKED/ACTIONED. The spec
        lets from/to be null only "if searching for 'all dates'"; refused otherwise (stricter, as the error text
        is not documented [UNVERIFIED wording]). Rows come newest first; clients must not rely on the order."""
        endpoint = "ReturnsRefunds/SearchReturnsRefundsPaged"
        history = str(args.get("historyType") or "").upper()
        date_type = str(args.get("dateType") or "").upper()
        if history not in ("RETURNS", "REFUNDS", "CANCELLATIONS"):
            raise BadRequest(f"{endpoint}: historyType must be RETURNS, REFUNDS or CANCELLATIONS")
        if date_type not in ("ALLDATES", "RECEIVED", "PROCESSED", "BOOKED", "ACTIONED"):
            raise BadRequest(f"{endpoint}: dateType must be ALLDATES, RECEIVED, PROCESSED, BOOKED or ACTIONED")
        page = int_arg(args.get("pageNum"), "pageNum", endpoint, 1)
        per_page = int_arg(args.get("numEntriesPerPage"), "numEntriesPerPage", endpoint, 20)
        if page < 1 or not 1 <= per_page <= HISTORY_MAX_PER_PAGE:
            raise BadRequest(f"{endpoint}: pageNum must be positive and numEntriesPerPage 1 to {HISTORY_MAX_PER_PAGE}")
        lo, hi = parse_datetime(args.get("from")), parse_datetime(args.get("to"))
        if date_type != "ALLDATES":
            if lo is None or hi is None:
                raise BadRequest(f"{endpoint}: from and to are required unless dateType is ALLDATES")
            if hi < lo or hi > _add_months(lo, HISTORY_MAX_MONTHS):
                raise BadRequest(f"{endpoint}: the date range must run forwards and span at most 3 months")
        rows: list[dict] = []
        if history == "REFUNDS":
            field = {"ACTIONED": "LastActionDate", "BOOKED": "CreatedDate"}.get(date_type)
            with self.account.lock:
                headers = [h for h in self.account.refund_headers.values() if h["LastActionDate"]]
            for header in headers:  # the History tab: actioned refunds and acknowledged errors, not bookings
                when = parse_datetime(header[field]) if field else None
                if field and (when is None or when < lo or when > hi):
                    continue
                rows.extend(history_rows(header, None))
        term = str(args.get("searchTerm") or "").lower()
        if term:
            exact = str(args.get("exactMatch")).lower() == "true"
            column = str(args.get("searchField") or "nOrderId")
            rows = [r for r in rows if (str(r.get(column, "")).lower() == term if exact
                                        else term in str(r.get(column, "")).lower())]
        rows.sort(key=lambda r: (str(r["ActionDate"]), str(r["pkRefundRowId"])), reverse=True)
        chunk = rows[(page - 1) * per_page : page * per_page]
        return _paged([{"Row": (page - 1) * per_page + n + 1, **r} for n, r in enumerate(chunk)], page, per_page,
                      len(rows))

    def _getrefundheadersbyorderid(self, args: dict):
        """Every refund header of one order, booked or actioned (returnsrefunds.json
        ``GetRefundHeadersByOrderId`` -> ``GetRefundHeadersByOrderIdResponse {RefundHeaders}``)."""
        order_id = str((args.get("request") or {}).get("OrderId") or "").lower()
        if not order_id:
            raise BadRequest("ReturnsRefunds/GetRefundHeadersByOrderId: request.OrderId is required")
        with self.account.lock:
            ids = list(self.account.refunds_by_order.get(order_id, ()))
            return {"RefundHeaders": [dict(self.account.refund_headers[i]) for i in ids]}


def _add_months(when: dt.datetime, months: int) -> dt.datetime:
    month = when.month - 1 + months
    year, month = when.year + month // 12, month % 12 + 1
    days = [31, 29 if year % 4 == 0 and (year % 100 or year % 400 == 0) else 28, 31, 30, 31, 30, 31, 31, 30, 31,
            30, 31][month - 1]
    return when.replace(year=year, month=month, day=min(when.day, days))


def history_rows(header: dict, order: dict | None) -> list[dict]:
    """``ReturnsRefundsWeb`` rows (returnsrefunds.json) of one refund header in the History tab: one per line.
    The row names the order and the refund row, not the header (a client needs ``GetRefundHeadersByOrderId``)."""
    order = order or {}
    totals, general = order.get("TotalsInfo") or {}, order.get("GeneralInfo") or {}
    rows = []
    for line in header["RefundLines"]:
        item = line.get("RefundedItem") or {}
        rows.append({
            "pkOrderID": header["OrderId"], "nOrderId": header["NumOrderId"],
            "ReferenceNum": general.get("ReferenceNum"), "cCurrency": header["Currency"],
            "Source": header["OrderSource"], "SubSource": header["OrderSubSource"],
            "fTotalCharge": totals.get("TotalCharge"), "RefundReference": header["ExternalReference"],
            "pkRefundRowId": line["RefundRowId"], "Amount": line["Amount"], "CreateDate": header["CreatedDate"],
            "ActionDate": line.get("ActionedDate") or header["LastActionDate"],
            "RefundStatus": header["Status"]["StatusHeader"], "ItemNumber": item.get("ItemSKU") or "",
            "ItemTitle": item.get("ItemTitle") or line.get("FreeTextOrNote") or "", "Reason": line["ReasonTag"],
            "ChannelReason": "", "PendingRefundAmount": 0.0, "RowType": "REFUND",
        })
    return rows


def _received(order: dict) -> dt.datetime:
    return parse_datetime(order["GeneralInfo"]["ReceivedDate"])


def _bisect_time(index: list, when: dt.datetime, right: bool = False) -> int:
    lo, hi = 0, len(index)
    while lo < hi:
        mid = (lo + hi) // 2
        if index[mid][0] < when or (right and index[mid][0] == when):
            lo = mid + 1
        else:
            hi = mid
    return lo


def _paged(rows: list, page: int, per_page: int, total: int) -> dict:
    return {
        "PageNumber": page,
        "EntriesPerPage": per_page,
        "TotalEntries": total,
        "TotalPages": math.ceil(total / per_page) if per_page else 0,
        "Data": rows,
    }
