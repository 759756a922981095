"""Purchase orders as ``Get_PurchaseOrder`` returns them, built from a few facts.

Costs are tax exclusive at 20% (``UnitAmountTaxIncludedType`` 0): item ``Cost`` = quantity x unit cost,
``Tax`` = Cost x rate, ``taxPaid`` = sum of item tax (postage excluded, per the spec), ``TotalCost`` = items +
tax + additional costs. Unit costs carry more places than money has, so totals arrive unrounded.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from connex_linnworks.simulator.catalogue import PRODUCT_BY_SKU, PRODUCTS
from connex_linnworks.simulator.orders_gen import MILL, iso, money, stable_uuid

PO_STATUSES = ("PENDING", "OPEN", "PARTIAL", "DELIVERED")
TO_GBP = {"GBP": Decimal(1), "EUR": Decimal("0.81"), "USD": Decimal("0.78")}  # system currency GBP


def build_purchase_order(
    po_id: str,
    *,
    index: int,
    record_base: int,
    status: str,
    supplier_id: str,
    location_id: str,
    purchased_at: dt.datetime,
    currency: str,
    lines: list[tuple[str, int]],
    shipping: Decimal | None,
) -> dict:
    """A whole PO in ``status``; a PARTIAL one has its first line half delivered, a DELIVERED one all."""
    rate = Decimal(20)
    items, records = [], []
    delivered_at = purchased_at + dt.timedelta(days=9)
    for n, (sku, quantity) in enumerate(lines):
        unit_cost = PRODUCT_BY_SKU[sku][4]
        cost = unit_cost * quantity
        delivered = {
            "PENDING": 0,
            "OPEN": 0,
            "PARTIAL": quantity // 2 if n == 0 else 0,
            "DELIVERED": quantity,
        }[status]
        item_id = stable_uuid(po_id, "item", n)
        items.append(
            {
                "pkPurchaseItemId": item_id,
                "fkStockItemId": stable_uuid("stock", sku),
                "StockItemIntId": 1000 + PRODUCTS.index(PRODUCT_BY_SKU[sku]),
                "SKU": sku,
                "ItemTitle": PRODUCT_BY_SKU[sku][1],
                "Quantity": quantity,
                "Delivered": delivered,
                "Cost": money(cost),
                "TaxRate": float(rate),
                "Tax": money(cost * rate / 100),
                "PackQuantity": max(1, quantity // 6),
                "PackSize": 6,
                "InventoryTrackingType": 0,
                "IsDeleted": False,
                "SortOrder": n,
                "DimHeight": 0.0,
                "DimWidth": 0.0,
                "DimDepth": 0.0,
                "BarcodeNumber": "",
                "BoundToOpenOrdersItems": 0,
                "QuantityBoundToOpenOrdersItems": 0,
                "BinRack": "",
                "SupplierCode": f"SUP-{sku}",
                "SupplierBarcode": "",
                "SkuGroupIds": [],
            }
        )
        if delivered:
            records.append(
                {
                    "pkDeliveryRecordId": 5000 + record_base * 10 + n,
                    "fkDeliveryId": None,
                    "fkPurchaseItemId": item_id,
                    "fkStockLocationId": location_id,
                    "UnitCost": money(unit_cost),
                    "DeliveredQuantity": delivered,
                    "CreatedDateTime": iso(delivered_at),
                    "ModifiedDateTime": None,
                    "fkBatchInventoryId": None,
                }
            )
    tax_paid = sum((Decimal(str(i["Tax"])) for i in items), Decimal(0))
    net = sum((Decimal(str(i["Cost"])) for i in items), Decimal(0))
    extra = []
    ship_net = ship_tax = Decimal(0)
    if shipping:
        ship_net, ship_tax = shipping, (shipping * rate / 100).quantize(MILL)
        extra.append(
            {
                "PurchaseAdditionalCostItemId": 700 + index,
                "AdditionalCostTypeId": 1,
                "Reference": "Freight",
                "SubTotalLineCost": money(ship_net),
                "TaxRate": float(rate),
                "Tax": money(ship_tax),
                "Currency": currency,
                "ConversionRate": 1.0,
                "TotalLineCost": money(ship_net + ship_tax),
                "CostAllocation": [],
                "AllocationLocked": False,
                "AdditionalCostTypeName": "Shipping",
                "AdditionalCostTypeIsShippingType": True,
                "AdditionalCostTypeIsPartialAllocation": False,
                "Print": True,
                "AllocationMethod": "ByValue",
            }
        )
    total = net + tax_paid + ship_net + ship_tax
    rate_to_gbp = TO_GBP.get(currency, Decimal(1))
    header = {
        "pkPurchaseID": po_id,
        "fkSupplierId": supplier_id,
        "fkLocationId": location_id,
        "ExternalInvoiceNumber": f"PO-{index + 1:06d}",
        "Status": status,
        "Currency": currency,
        "SupplierReferenceNumber": f"INV-{77000 + index}",
        "Locked": status != "PENDING",
        "LineCount": len(items),
        "DeliveredLinesCount": sum(1 for i in items if i["Delivered"] >= i["Quantity"]),
        "UnitAmountTaxIncludedType": 0,
        "DateOfPurchase": iso(purchased_at),
        # "will be set to DateOfPurchase until the PO is fully delivered"
        "DateOfDelivery": iso(delivered_at if status == "DELIVERED" else purchased_at),
        "QuotedDeliveryDate": iso(purchased_at + dt.timedelta(days=14)),
        "PostagePaid": 0.0,
        "TotalCost": money(total),
        "taxPaid": money(tax_paid),
        "ShippingTaxRate": 0.0,
        "ConversionRate": float(rate_to_gbp),
        "ConvertedShippingCost": money(ship_net * rate_to_gbp),
        "ConvertedShippingTax": money(ship_tax * rate_to_gbp),
        "ConvertedOtherCost": 0.0,
        "ConvertedOtherTax": 0.0,
        "ConvertedGrandTotal": money(total * rate_to_gbp),
    }
    po = {
        "NoteCount": 0,
        "PurchaseOrderHeader": header,
        "PurchaseOrderItem": items,
        "AdditionalCosts": extra,
        "PaymentStatements": [],
        "DeliveredRecords": records,
    }
    return po
