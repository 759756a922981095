"""Per-endpoint, per-minute call limits, as stated in each operation's description in the official specs.

The client throttles itself a little below each limit: the window's scope (session, app or account) is not
documented, so leaving headroom keeps another tool on the same account from tipping us into 429s.
"""

from __future__ import annotations

import math

RATE_LIMITS: dict[str, int] = {
    "Auth/AuthorizeByApplication": 150,
    "Orders/GetOpenOrders": 250,
    "Orders/GetOrdersById": 250,
    "Orders/GetOrderDetailsByNumOrderId": 250,
    "OpenOrders/GetOpenOrdersDetails": 150,
    "ProcessedOrders/SearchProcessedOrders": 150,
    "PurchaseOrder/Search_PurchaseOrders": 250,
    "PurchaseOrder/Get_PurchaseOrder": 250,
    "Inventory/GetSuppliers": 150,
    "Inventory/GetStockLocations": 150,
    "Stock/SetStockLevel": 250,
    "Stock/GetStockItemsFull": 150,
    "ReturnsRefunds/GetProcessedOrAckedErrorRefundHeaders": 150,
    "ReturnsRefunds/GetActionableRefundHeaders": 150,
    "ReturnsRefunds/SearchReturnsRefundsPaged": 150,
    "ReturnsRefunds/GetRefundHeadersByOrderId": 150,
}
DEFAULT_LIMIT = 150  # most v1 methods (546 of ~630) are 150/min

CLIENT_HEADROOM = 0.9


def client_limit(endpoint: str) -> int:
    return max(1, math.floor(RATE_LIMITS.get(endpoint, DEFAULT_LIMIT) * CLIENT_HEADROOM))
