"""Deterministic order generation: the same (seed, kind, index) always gives the same OrderDetails.

A 20,000-order account is never held as 20,000 expanded dicts: the simulator keeps a small index (time,
number, id) and builds an order's full details when a call asks for it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import uuid
from decimal import ROUND_HALF_UP, Decimal

from connex_linnworks.simulator.catalogue import (
    CUSTOMERS,
    PAYMENT_METHODS,
    POSTAL,
    PRODUCT_BY_SKU,
    PRODUCTS,
    STORE_COUNTRIES,
    STORES,
)
from connex_linnworks.wire import EMPTY_GUID

SENTINEL = "0001-01-01T00:00:00Z"
PROCESSED_BASE = dt.datetime(2025, 1, 6, 8, 0, tzinfo=dt.UTC)
OPEN_BASE = dt.datetime(2025, 6, 2, 7, 30, tzinfo=dt.UTC)
MILL = Decimal("0.001")


def stable_uuid(*parts: object) -> str:
    return str(uuid.UUID(bytes=hashlib.md5(":".join(map(str, parts)).encode()).digest(), version=4))


def iso(value: dt.datetime | None) -> str | None:
    """Linnworks style: UTC with a Z and two fractional digits when there is a fraction."""
    if value is None:
        return None
    value = value.astimezone(dt.UTC)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond // 10000:02d}"
    return text + "Z"


def money(value: Decimal) -> float:
    """Doubles as Linnworks sends them: three places, so 27.99/1.2 arrives as 23.325, not rounded to cents."""
    return float(value.quantize(MILL, rounding=ROUND_HALF_UP))


def processed_time(index: int) -> dt.datetime:
    """Orders come in threes sharing one processed timestamp, so ties straddle page boundaries."""
    return PROCESSED_BASE + dt.timedelta(minutes=7 * (index // 3), milliseconds=190)


def open_time(index: int) -> dt.datetime:
    return OPEN_BASE + dt.timedelta(minutes=13 * index, seconds=index % 60)


def processed_status(index: int) -> int:
    if index % 23 == 0:
        return 0  # UNPAID
    if index % 31 == 1:
        return 4  # RESEND
    if index % 41 == 2:
        return 2  # RETURN
    return 1  # PAID


def open_status(index: int) -> int:
    return (1, 1, 0, 3, 1)[index % 5]


def _address(customer: tuple) -> dict:
    name, company, email, town, region, postcode, country, phone = customer
    return {
        "EmailAddress": email,
        "Address1": f"{(len(name) * 7) % 200 + 1} {town} Road",
        "Address2": "",
        "Address3": "",
        "Town": town,
        "Region": region,
        "PostCode": postcode,
        "Country": country,
        "Continent": "Europe",
        "FullName": name,
        "Company": company,
        "PhoneNumber": phone,
        "CountryId": stable_uuid("country", country),
    }


def _item(
    order_id: str, row_seed: str, sku: str, quantity: int, rate: Decimal, *, priced: bool = True
) -> dict:
    _, title, gross, _, unit_cost = PRODUCT_BY_SKU[sku]
    gross_line = gross * quantity if priced else Decimal(0)
    net_line = gross_line / (1 + rate / 100)
    tax = gross_line - net_line.quantize(MILL, rounding=ROUND_HALF_UP)
    stock_id = stable_uuid("stock", sku)
    return {
        "ItemId": stock_id,
        "ItemNumber": str(int(hashlib.md5(sku.encode()).hexdigest()[:7], 16)),
        "SKU": sku,
        "ItemSource": "",
        "Title": title,
        "Quantity": quantity,
        "CategoryName": "Default",
        "PricePerUnit": money(gross if priced else Decimal(0)),
        "UnitCost": money(unit_cost),
        "DespatchStockUnitCost": money(unit_cost),
        "Discount": 0.0,
        "DiscountValue": 0.0,
        "Tax": money(tax),
        "TaxRate": float(rate),
        "Cost": money(net_line),
        "CostIncTax": money(gross_line),
        "SalesTax": 0.0,
        "TaxCostInclusive": True,
        "IsService": False,
        "CompositeSubItems": [],
        "ChannelSKU": sku,
        "ChannelTitle": title,
        "BarcodeNumber": "50" + hashlib.md5(sku.encode()).hexdigest()[:11],
        "AdditionalInfo": [],
        "PartShipped": False,
        "PartShippedQty": 0,
        "Weight": 0.35,
        "BinRack": "A1-3",
        "IsUnlinked": False,
        "StockItemIntId": 1000 + PRODUCTS.index(PRODUCT_BY_SKU[sku]),
        "RowId": stable_uuid("row", row_seed),
        "OrderId": order_id,
        "StockItemId": stock_id,
    }


def build_order(
    seed: int,
    kind: str,
    index: int,
    *,
    status: int,
    received: dt.datetime,
    processed: dt.datetime | None,
    num_order_id: int,
) -> dict:
    """One full ``OrderDetails``. Money per the reference's consistent assumption: prices gross, ``Cost`` and
    ``Subtotal`` ex tax, ``Tax`` includes postage tax, ``TotalCharge = Subtotal + PostageCostExTax + Tax``."""
    rng = random.Random(f"{seed}:{kind}:{index}")
    order_id = stable_uuid(seed, kind, index)
    source, sub_source, currency, rate = STORES[rng.randrange(len(STORES))]
    customer = CUSTOMERS[rng.randrange(len(CUSTOMERS))]
    countries = STORE_COUNTRIES.get(sub_source)
    if countries and customer[6] not in countries:
        # a buyer where the store's tax applies, drawn apart so the rest of the order is as it always was
        local = [c for c in CUSTOMERS if c[6] in countries]
        customer = local[random.Random(f"{seed}:{kind}:{index}:buyer").randrange(len(local))]
    items = []
    skus = rng.sample([p[0] for p in PRODUCTS], rng.randint(1, 3))
    for n, sku in enumerate(skus):
        quantity = rng.randint(1, 3)
        line = _item(order_id, f"{order_id}:{n}", sku, quantity, rate)
        children = PRODUCT_BY_SKU[sku][3]
        if children:
            # the bundle's money is on the parent; children carry resolved quantities and zero money
            line["CompositeSubItems"] = [
                _item(order_id, f"{order_id}:{n}:{c}", child, per * quantity, rate, priced=False)
                for c, (child, per) in enumerate(children)
            ]
        items.append(line)
    postage_gross = Decimal(rng.choice(["0.00", "2.99", "4.80", "7.50"]))
    postage_net = postage_gross / (1 + rate / 100)
    subtotal = sum(Decimal(str(i["Cost"])) for i in items)
    items_gross = sum(Decimal(str(i["CostIncTax"])) for i in items)
    total = items_gross + postage_gross
    tax = total - subtotal - postage_net.quantize(MILL, rounding=ROUND_HALF_UP)
    vendor, service, service_id = POSTAL[rng.randrange(len(POSTAL))]
    cancelled = kind == "processed" and index % 97 == 5
    paid = None if status == 0 else received + dt.timedelta(seconds=rng.randint(1, 300))
    address = _address(customer)
    return {
        "OrderId": order_id,
        "NumOrderId": num_order_id,
        "Processed": processed is not None,
        "ProcessedDateTime": iso(processed),
        "FulfilmentLocationId": EMPTY_GUID,
        "GeneralInfo": {
            "Status": status,
            "LabelPrinted": processed is not None,
            "LabelError": "",
            "InvoicePrinted": False,
            "InvoicePrintError": None,
            "PickListPrinted": False,
            "PickListPrintError": None,
            "IsRuleRun": True,
            "Notes": 0,
            "PartShipped": False,
            "Marker": 0,
            "IsParked": False,
            "Identifiers": [],
            "ReferenceNum": f"{sub_source[:3].upper()}-{num_order_id}-{rng.randint(10, 99)}",
            "SecondaryReference": str(rng.randint(10**9, 10**10 - 1)),
            "ExternalReferenceNum": str(num_order_id),
            "ReceivedDate": iso(received),
            "Source": source,
            "SubSource": sub_source,
            "SiteCode": "",
            "HoldOrCancel": cancelled,
            "DespatchByDate": SENTINEL if index % 4 == 0 else iso(received + dt.timedelta(days=2)),
            "ScheduledDelivery": None,
            "HasScheduledDelivery": False,
            "Location": EMPTY_GUID,
            "NumItems": len(items),
            "PickwaveIds": [],
            "StockAllocationType": "Full",
        },
        "ShippingInfo": {
            "Vendor": vendor,
            "PostalServiceId": service_id,
            "PostalServiceName": service,
            "TotalWeight": 0.85,
            "ItemWeight": 0.8,
            "PackageCategoryId": EMPTY_GUID,
            "PackageCategory": "Default",
            "PackageTypeId": None,
            "PackageType": "",
            "PostageCost": money(postage_gross),
            "PostageCostExTax": money(postage_net),
            "TrackingNumber": f"JH{num_order_id:09d}GB" if processed else "",
            "ManualAdjust": False,
        },
        "CustomerInfo": {
            "ChannelBuyerName": address["EmailAddress"].split("@")[0],
            "Address": address,
            "BillingAddress": dict(address),
        },
        "TotalsInfo": {
            "Subtotal": money(subtotal),
            "PostageCost": money(postage_gross),
            "PostageCostExTax": money(postage_net),
            "Tax": money(tax),
            "TotalCharge": money(total),
            "PaymentMethod": PAYMENT_METHODS[rng.randrange(len(PAYMENT_METHODS))],
            "PaymentMethodId": stable_uuid("payment", index % 4),
            "ProfitMargin": 0.0,
            "TotalDiscount": 0.0,
            "Currency": currency,
            "CountryTaxRate": float(rate),
            "ConversionRate": 1.0,
        },
        "ExtendedProperties": [],
        "FolderName": [],
        "Items": items,
        "Notes": [],
        "PaidDateTime": iso(paid) if paid else SENTINEL,
        "TaxId": "",
        # simulator bookkeeping, stripped before sending
        "_cancelled": iso(processed) if cancelled else None,
    }


def processed_row(order: dict) -> dict:
    """The flat ``ProcessedOrderWeb`` search row of an order (header only, no lines)."""
    g, t, s, c = order["GeneralInfo"], order["TotalsInfo"], order["ShippingInfo"], order["CustomerInfo"]
    a, b = c["Address"], c["BillingAddress"]
    return {
        "pkOrderID": order["OrderId"],
        "nOrderId": order["NumOrderId"],
        "nStatus": g["Status"],
        "dReceivedDate": g["ReceivedDate"],
        "dProcessedOn": order["ProcessedDateTime"],
        "dPaidOn": order["PaidDateTime"],
        "dCancelledOn": order.get("_cancelled") or SENTINEL,
        "timeDiff": 0.26,
        "Source": g["Source"],
        "SubSource": g["SubSource"],
        "AccountName": "Default",
        "ReferenceNum": g["ReferenceNum"],
        "SecondaryReference": g["SecondaryReference"],
        "ExternalReference": g["ExternalReferenceNum"],
        "cCurrency": t["Currency"],
        "Subtotal": t["Subtotal"],
        "fPostageCost": t["PostageCost"],
        "PostageCostExTax": t["PostageCostExTax"],
        "fTax": t["Tax"],
        "fTotalCharge": t["TotalCharge"],
        "TotalDiscount": t["TotalDiscount"],
        "ProfitMargin": t["ProfitMargin"],
        "CountryTaxRate": t["CountryTaxRate"],
        "cFullName": a["FullName"],
        "cEmailAddress": a["EmailAddress"],
        "ChannelBuyerName": c["ChannelBuyerName"],
        "Company": a["Company"],
        "Address1": a["Address1"],
        "Address2": a["Address2"],
        "Address3": a["Address3"],
        "Town": a["Town"],
        "Region": a["Region"],
        "cPostCode": a["PostCode"],
        "cCountry": a["Country"],
        "BuyerPhoneNumber": a["PhoneNumber"],
        "cShippingAddress": "\r\n".join(x for x in (a["FullName"], a["Address1"], a["Town"]) if x),
        "BillingName": b["FullName"],
        "BillingCompany": b["Company"],
        "BillingAddress1": b["Address1"],
        "BillingAddress2": b["Address2"],
        "BillingAddress3": b["Address3"],
        "BillingTown": b["Town"],
        "BillingRegion": b["Region"],
        "BillingPostCode": b["PostCode"],
        "BillingCountryName": b["Country"],
        "BillingPhoneNumber": b["PhoneNumber"],
        "BillingEmailAddress": b["EmailAddress"],
        "cBillingAddress": "\r\n".join(x for x in (b["FullName"], b["Address1"], b["Town"]) if x),
        "PostalServiceName": s["PostalServiceName"],
        "PostalServiceCode": "",
        "Vendor": s["Vendor"],
        "PostalTrackingNumber": s["TrackingNumber"],
        "PackageCategory": "Default",
        "PackageTitle": "Default",
        "ItemWeight": s["ItemWeight"],
        "TotalWeight": s["TotalWeight"],
        "FolderCollection": "",
        "HoldOrCancel": g["HoldOrCancel"],
        "IsResend": g["Status"] == 4,
        "IsExchange": False,
        "TaxId": "",
        "FulfilmentLocationName": "Default",
    }


def open_row(order: dict) -> dict:
    """The ``OpenOrder`` list item of an order."""
    return {
        "OrderId": order["OrderId"],
        "NumOrderId": order["NumOrderId"],
        "GeneralInfo": order["GeneralInfo"],
        "ShippingInfo": order["ShippingInfo"],
        "CustomerInfo": order["CustomerInfo"],
        "TotalsInfo": order["TotalsInfo"],
        "TaxInfo": {"TaxNumber": order["TaxId"]},
        "FolderName": [],
        "IsPostFilteredOut": False,
        "CanFulfil": True,
        "Fulfillment": {"FulfillmentState": "Sufficient_Stock", "PurchaseOrderState": "Sufficient_PO"},
        "Items": order["Items"],
        "HasItems": bool(order["Items"]),
        "TotalItemsSum": sum(i["Quantity"] for i in order["Items"]),
    }


def public(order: dict) -> dict:
    """The order as sent: without the simulator's bookkeeping keys."""
    return {k: v for k, v in order.items() if not k.startswith("_")}
