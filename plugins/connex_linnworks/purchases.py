"""Reading purchase orders with their items, supplier and location name.

``PurchaseOrder/Search_PurchaseOrders`` (sorted by purchase date) gives the headers of a date window; each PO
is then read whole with ``Get_PurchaseOrder`` (header incl. ``taxPaid``, items, additional costs, deliveries).
Suppliers and locations are small lists read once per run and joined here, so a mapping can say
``Supplier.SupplierName`` or ``LocationName`` without another call per PO.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from connex.connectors import Page, WindowQuery
from connex_linnworks.client import LinnworksClient
from connex_linnworks.keyset import Cursor, SearchPage, keyset_pages
from connex_linnworks.normalise import normalise_dates, normalise_purchase_order
from connex_linnworks.wire import EMPTY_GUID, format_datetime, is_empty_guid, parse_datetime

EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
DEFAULT_LOCATION_NAME = "Default"


def read_suppliers(client: LinnworksClient) -> list[dict]:
    return [normalise_dates(s) for s in client.call("Inventory/GetSuppliers", method="GET") or []]


def read_stock_locations(client: LinnworksClient) -> list[dict]:
    return [normalise_dates(loc) for loc in client.call("Inventory/GetStockLocations", method="GET") or []]


def location_name(location_id: str | None, locations: list[dict]) -> str | None:
    """The name of a PO's location: the empty GUID is the default location, whatever it is called in the
    account (it is named "Default" if the account does not list it); an id no location has is None."""
    wanted = (location_id or "").lower()
    for loc in locations:
        if str(loc.get("StockLocationId", "")).lower() == (wanted or EMPTY_GUID):
            return loc.get("LocationName")
    if is_empty_guid(location_id):
        return DEFAULT_LOCATION_NAME
    return None


def location_country(location_id: str | None, locations: list[dict]) -> str | None:
    """The country of a PO's delivery location (``StockLocation.Country``), None when not listed or blank."""
    wanted = (location_id or "").lower() or EMPTY_GUID
    for loc in locations:
        if str(loc.get("StockLocationId", "")).lower() == wanted:
            return loc.get("Country") or None
    return None


class PurchaseOrderReader:
    def __init__(self, client: LinnworksClient, page_size: int):
        self.client = client
        self.page_size = page_size

    def read(self, query: WindowQuery) -> Iterator[Page]:
        suppliers = {str(s.get("pkSupplierID")).lower(): s for s in read_suppliers(self.client)}
        locations = read_stock_locations(self.client)
        to_date = query.to_date or dt.datetime.now(dt.UTC)

        def fetch(since: dt.datetime | None, page_number: int) -> SearchPage:
            body = (
                self.client.call(
                    "PurchaseOrder/Search_PurchaseOrders",
                    form={
                        "searchParameter": {
                            "DateFrom": format_datetime(since or EPOCH),
                            "DateTo": format_datetime(to_date),
                            "EntriesPerPage": self.page_size,
                            "PageNumber": page_number,
                        }
                    },
                )
                or {}
            )
            return SearchPage(
                body.get("Result") or [],
                int(body.get("CurrentPageNumber") or page_number),
                int(body.get("TotalPages") or 0),
            )

        def key(row: dict):
            return parse_datetime(row.get("DateOfPurchase")), str(row["pkPurchaseID"]).lower()

        for rows, cursor in keyset_pages(fetch, key, Cursor.load(query.cursor, query.from_date)):
            yield Page([self._whole(row, suppliers, locations) for row in rows], cursor.dump())

    def _whole(self, row: dict, suppliers: dict, locations: list[dict]) -> dict:
        """A search row read whole with ``Get_PurchaseOrder``, its supplier and location name joined."""
        po = self.client.call("PurchaseOrder/Get_PurchaseOrder", form={"pkPurchaseId": str(row["pkPurchaseID"])})
        po = normalise_purchase_order(po)
        header = po.get("PurchaseOrderHeader") or {}
        po["Supplier"] = suppliers.get(str(header.get("fkSupplierId") or "").lower())
        po["LocationName"] = location_name(header.get("fkLocationId"), locations)
        po["LocationCountry"] = location_country(header.get("fkLocationId"), locations)
        return po

    def find(self, number: str) -> dict | None:
        """The PO whose reference (``ExternalInvoiceNumber``, e.g. PO-000002) or id is ``number``: the search's
        ``ReferenceLike`` narrows by reference, then only an exact (case-insensitive) match counts."""
        wanted = number.strip().lower()
        page_number, total_pages = 1, 1
        while page_number <= total_pages:
            body = self.client.call(
                "PurchaseOrder/Search_PurchaseOrders",
                form={"searchParameter": {
                    "DateFrom": format_datetime(EPOCH), "DateTo": format_datetime(dt.datetime.now(dt.UTC)),
                    "ReferenceLike": number.strip(), "EntriesPerPage": self.page_size, "PageNumber": page_number,
                }},
            ) or {}
            for row in body.get("Result") or []:
                names = (str(row.get("ExternalInvoiceNumber") or "").lower(), str(row.get("pkPurchaseID")).lower())
                if wanted in names:
                    suppliers = {str(s.get("pkSupplierID")).lower(): s for s in read_suppliers(self.client)}
                    return self._whole(row, suppliers, read_stock_locations(self.client))
            total_pages = int(body.get("TotalPages") or 0)
            page_number += 1
        return None
