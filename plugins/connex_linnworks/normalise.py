"""Normalisation at the edge: Linnworks records in Linnworks' own field names, with values Connex can trust.

Mappings are Jinja templates over these records, so the shape stays Linnworks' (``GeneralInfo.Status``,
``TotalsInfo.Subtotal``...) and only the *values* change: exact Decimals (done by the JSON parser, see
``wire``), aware datetimes or None for dates, enum names for enums that arrive as ints or strings, and
composite children kept under their parent only.
"""

from __future__ import annotations

import functools
import re
from decimal import Decimal
from typing import Any

from connex_linnworks.wire import looks_like_datetime, parse_datetime

ORDER_STATUSES = ("UNPAID", "PAID", "RETURN", "PENDING", "RESEND")
PO_STATUSES = ("PENDING", "OPEN", "PARTIAL", "DELIVERED")

# Date fields are recognised by name, not by sniffing every string, so a free-text field (a reference number,
# a note) that happens to look like a date is never turned into one.
_DATE_KEY = re.compile(r"(Date|DateTime|On|Date[A-Z]\w*)$|^Date|^d[A-Z]")
_DATE_CONTAINERS = {"ScheduledDelivery"}  # {From, To}


@functools.lru_cache(maxsize=4096)
def _is_date_key(key: str) -> bool:
    """Cached: every order repeats the same few hundred field names, and a regex search per key was most of the
    time spent normalising an order."""
    return _DATE_KEY.search(key) is not None


def enum_name(value: Any, names: tuple[str, ...], field: str) -> str | None:
    """Map an enum that arrives as an int (legacy samples), a digit string or a name (the SDK) to its name."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(f"{field}: {value!r} is not an enum value")
    if isinstance(value, int) or (isinstance(value, str) and value.strip().lstrip("-").isdigit()):
        index = int(value)
        if 0 <= index < len(names):
            return names[index]
        raise ValueError(f"{field}: unknown code {value!r} (expected 0..{len(names) - 1})")
    if isinstance(value, Decimal | float):  # 1.0 from a lenient serialiser; 1.5 is no enum code
        if value != int(value):
            raise ValueError(f"{field}: {value!r} is not an enum code")
        return enum_name(int(value), names, field)
    name = str(value).strip().upper()
    if name in names:
        return name
    raise ValueError(f"{field}: unknown value {value!r} (expected one of {', '.join(names)})")


def normalise_dates(node: Any, key: str | None = None, in_container: bool = False) -> Any:
    """Recursively turn date fields into aware datetimes (sentinel and null to None), in place."""
    if isinstance(node, dict):
        for k, v in node.items():
            if isinstance(v, dict | list):
                normalise_dates(v, k, k in _DATE_CONTAINERS)
            elif (in_container or _is_date_key(k)) and (v is None or looks_like_datetime(v)):
                node[k] = parse_datetime(v)
    elif isinstance(node, list):
        for item in node:
            normalise_dates(item, key)
    return node


def normalise_items(items: list[dict] | None) -> list[dict]:
    """Keep composite parents and drop any child line that also appears at the top level.

    Linnworks puts a bundle's money on the parent line and lists the children (zero priced, already-resolved
    quantities) under ``CompositeSubItems``. Posting both would double count the stock lines, so a child that
    some API variant also returns as a separate item is removed from ``Items``; it stays under its parent.
    """
    items = list(items or [])
    child_keys: set[str] = set()
    for item in items:
        for child in item.get("CompositeSubItems") or []:
            for k in ("RowId", "pkOrderItemId"):
                if child.get(k):
                    child_keys.add(str(child[k]).lower())
    kept = []
    for item in items:
        row = str(item.get("RowId") or "").lower()
        if row and row in child_keys and not item.get("CompositeSubItems"):
            continue
        item.setdefault("CompositeSubItems", [])
        kept.append(item)
    return kept


def normalise_order(order: dict) -> dict:
    """One ``OrderDetails`` (open or processed) ready for mappings."""
    normalise_dates(order)
    general = order.get("GeneralInfo") or {}
    if "Status" in general:
        general["Status"] = enum_name(general["Status"], ORDER_STATUSES, "GeneralInfo.Status")
    order["Items"] = normalise_items(order.get("Items"))
    return order


def order_status_name(row: dict) -> str | None:
    """Status name of a search row (``ProcessedOrderWeb.nStatus``) or an ``OpenOrder``/``OrderDetails``."""
    if "nStatus" in row:
        return enum_name(row["nStatus"], ORDER_STATUSES, "nStatus")
    return enum_name((row.get("GeneralInfo") or {}).get("Status"), ORDER_STATUSES, "GeneralInfo.Status")


def normalise_purchase_order(po: dict) -> dict:
    """A ``Get_PurchaseOrder`` response: dates, and ``Status`` as its name whatever the wire sent."""
    normalise_dates(po)
    header = po.get("PurchaseOrderHeader") or {}
    if "Status" in header:
        header["Status"] = enum_name(header["Status"], PO_STATUSES, "PurchaseOrderHeader.Status")
    for key in ("PurchaseOrderItem", "AdditionalCosts", "DeliveredRecords", "PaymentStatements"):
        po[key] = list(po.get(key) or [])
    return po
