"""Refund headers and lines as the ReturnsRefunds endpoints return them (``OrderRefundHeader``,
``VerifiedRefund``, ``PostSaleStatus``).

Booked refunds are ``PENDING`` and not actioned (Actionable Refunds); actioning moves the header and its
lines to ``PROCESSED`` with an action date (the History tab).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from connex_linnworks.simulator.orders_gen import iso, money, stable_uuid


def post_sale_status(header: str) -> dict:
    actionable = header in ("PENDING", "OPEN", "ERROR")
    return {
        "StatusHeader": header,
        "StatusDetail": {
            "StatusTag": header.title(),
            "StatusDescription": header.replace("_", " ").lower(),
            "Actionable": actionable,
            "ActionDescription": "Action refund" if actionable else "",
            "EditableFields": [],
        },
    }


def refund_line(
    header_id: int,
    n: int,
    unit: str,
    amount: Decimal,
    quantity: int,
    reason: str,
    item: dict | None = None,
) -> dict:
    return {
        "RefundRowId": stable_uuid("refund", header_id, n),
        "RefundHeaderId": header_id,
        "Status": post_sale_status("PENDING"),
        "RefundedUnit": unit,
        "IsShippingRefund": unit == "Shipping",
        "IsAdditionalRefund": False,
        "IsCancellation": False,
        "RefundedItem": None
        if item is None
        else {
            "OrderItemRowId": item["RowId"],
            "ReturnRowId": None,
            "ItemSKU": item["SKU"],
            "ChannelSKU": item["ChannelSKU"],
            "ItemTitle": item["Title"],
            "Cost": item["CostIncTax"],
            "CancelledQuantity": 0,
        },
        "ValidationError": None,
        "Error": None,
        "Errors": [],
        "Actioned": False,
        "ActionedDate": None,
        "ChannelInitiated": False,
        "Internal": False,
        "Deleted": False,
        "ExternalReference": "",
        "IsFreeText": item is None,
        "FreeTextOrNote": "Postage refund" if item is None else "",
        "Amount": money(amount),
        "Quantity": quantity,
        "ReasonTag": reason,
        "SubReasonTag": None,
        "InsufficientRefundTag": None,
        "InsufficientRefundNote": None,
        "ReasonCategory": "Refund",
    }


def refund_header(
    header_id: int,
    order: dict,
    *,
    lines: list[tuple[str, int]] | None,
    shipping: bool,
    reason: str,
    booked_at: dt.datetime,
) -> dict:
    """A booked refund of ``lines`` (SKU, quantity) at the order's gross unit price, plus its postage."""
    refund_lines = []
    by_sku = {i["SKU"]: i for i in order["Items"]}
    for sku, quantity in lines or []:
        item = by_sku[sku]
        unit = Decimal(str(item["CostIncTax"])) / item["Quantity"]
        refund_lines.append(
            refund_line(header_id, len(refund_lines), "Item", unit * quantity, quantity, reason, item=item)
        )
    if shipping:
        refund_lines.append(
            refund_line(
                header_id,
                len(refund_lines),
                "Shipping",
                Decimal(str(order["TotalsInfo"]["PostageCost"])),
                0,
                reason,
            )
        )
    amount = sum((Decimal(str(line["Amount"])) for line in refund_lines), Decimal(0))
    g = order["GeneralInfo"]
    header = {
        "RefundHeaderId": header_id,
        "Currency": order["TotalsInfo"]["Currency"],
        "Amount": money(amount),
        "RefundLines": refund_lines,
        "RefundLink": "",
        "OrderId": order["OrderId"],
        "NumOrderId": order["NumOrderId"],
        "Status": post_sale_status("PENDING"),
        "OrderSource": g["Source"],
        "OrderSubSource": g["SubSource"],
        "ExternalReference": f"RF-{header_id:05d}",
        "ChannelInitiated": False,
        "CreatedDate": iso(booked_at),
        "Actioned": False,
        "LastActionDate": None,
    }
    return header


def mark_actioned(header: dict, at: dt.datetime) -> None:
    header["Actioned"] = True
    header["LastActionDate"] = iso(at)
    header["Status"] = post_sale_status("PROCESSED")
    for line in header["RefundLines"]:
        line["Actioned"], line["ActionedDate"], line["Status"] = True, iso(at), post_sale_status("PROCESSED")
