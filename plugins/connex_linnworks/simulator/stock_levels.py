"""``StockItemLevel`` records, as ``Stock/SetStockLevel`` answers them."""

from __future__ import annotations

import datetime as dt

from connex_linnworks.simulator.catalogue import PRODUCTS
from connex_linnworks.simulator.orders_gen import iso, money, stable_uuid


def stock_item_level(product: tuple, location: dict, level: int) -> dict:
    sku, location_id = product[0], location["StockLocationId"]
    unit_cost = product[4]
    return {
        "Location": {
            "StockLocationId": location["StockLocationId"],
            "StockLocationIntId": location["StockLocationIntId"],
            "LocationName": location["LocationName"],
            "LocationTag": location["LocationTag"],
            "IsFulfillmentCenter": False,
            "IsWarehouseManaged": False,
            "BinRack": "",
        },
        "StockLevel": level,
        "StockValue": money(unit_cost * level),
        "MinimumLevel": 0,
        "InOrderBook": 0,
        "Due": 0,
        "JIT": False,
        "InOrders": 0,
        "Available": level,
        "UnitCost": money(unit_cost),
        "SKU": product[0],
        "AutoAdjust": False,
        "LastUpdateDate": iso(dt.datetime.now(dt.UTC)),
        "LastUpdateOperation": "DIRECT ADJUSTMENT BY connex",
        "rowid": stable_uuid("level", sku, location_id),
        "PendingUpdate": False,
        "StockItemPurchasePrice": money(unit_cost),
        "StockItemId": stable_uuid("stock", product[0]),
        "StockItemIntId": 1000 + (
            PRODUCTS.index(product) if product in PRODUCTS else int(stable_uuid("int", sku)[:6], 16)
        ),
    }
