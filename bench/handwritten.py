"""The default sales-order mapping written by hand, as an integrator would without a rules engine.

It must produce exactly the documents ``rules/mappings/sales_order.yaml`` + ``rules/default.yaml`` produce with
customer matching ``store_name_currency`` (tests/bench/test_handwritten.py proves it on thousands of orders); the
benchmark compares the two speeds. It reuses the same small helpers (country codes, name splitting, rounding,
balancing) a hand-written integration would also call: what is measured is the cost of the declarative layer.
"""

from __future__ import annotations

from decimal import Decimal

from connex.documents import Address, Line, Party, SalesDocument
from connex.rules.build import balance, plain_decimal
from connex.rules.filters import channel_name, clean_name, country_code, first_name, fit, last_name, to_date
from connex.rules.money import round_money, round_places, to_decimal


def _rate(value):
    return None if value in (None, "") else to_decimal(value)


def _opt(value):
    return None if value in (None, "") else value


def _address(raw: dict | None) -> Address:
    raw = raw or {}
    return Address(
        line1=_opt(raw.get("Address1")), line2=_opt(raw.get("Address2")), line3=_opt(raw.get("Address3")),
        city=_opt(raw.get("Town")), region=_opt(raw.get("Region")), postal_code=_opt(raw.get("PostCode")),
        country=_opt(raw.get("Country")), country_code=_opt(country_code(raw.get("Country"))),
    )


def map_order(order: dict, document_kind: str = "sales_receipt") -> SalesDocument | None:
    general = order.get("GeneralInfo") or {}
    if general.get("HoldOrCancel") is True:
        return None  # the shipped default rule: cancelled orders are not imported
    totals = order["TotalsInfo"]
    currency = str(totals["Currency"]).upper()
    customer_info = order.get("CustomerInfo") or {}
    billing = customer_info.get("BillingAddress") or {}
    shipping = customer_info.get("Address") or {}
    full_name = billing.get("FullName") or shipping.get("FullName")
    source = channel_name(general.get("Source")) if general.get("Source") is not None else None
    shipping_info = order.get("ShippingInfo") or {}

    lines = []
    for item in order.get("Items") or []:
        cost = round_money(item["Cost"], currency)
        quantity = Decimal(item["Quantity"]) if not isinstance(item["Quantity"], Decimal) else item["Quantity"]
        tax = item.get("Tax")
        lines.append(Line(
            kind="item", sku=str(item["SKU"]),
            description=_opt(fit(item.get("Title") or item.get("ChannelTitle"), 4000)),
            quantity=quantity, amount=cost, tax_amount=round_money(tax if tax is not None else 0, currency),
            tax_rate=_rate(item.get("TaxRate")), source_line_id=_opt(item.get("RowId")),
            unit_price=plain_decimal(round_places(cost / quantity, 6)),
        ))
    postage_ex = totals.get("PostageCostExTax")
    if postage_ex is not None and postage_ex > 0:
        amount = round_money(postage_ex, currency)
        postage = totals.get("PostageCost")
        service = shipping_info.get("PostalServiceName")
        lines.append(Line(
            kind="shipping",  # no item_name: the target's shipping_item, as the shipped mapping
            description=f"Shipping: {service}" if service is not None else "Shipping",
            quantity=Decimal(1), amount=amount,
            tax_amount=round_money(postage - postage_ex if postage is not None else 0, currency),
            tax_rate=_rate(totals.get("CountryTaxRate")), unit_price=plain_decimal(round_places(amount, 6)),
        ))
    discount = totals.get("TotalDiscount")
    if discount is not None and discount > 0:
        amount = round_money(0 - discount, currency)
        lines.append(Line(kind="discount", description="Order discount", quantity=Decimal(1),
                          amount=amount, unit_price=plain_decimal(round_places(amount, 6)),
                          tax_rate=_rate(totals.get("CountryTaxRate"))))

    reference = general.get("ReferenceNum")
    memo = f"{source} order {reference}" if source is not None and reference is not None else None
    document = SalesDocument(
        kind=document_kind,
        source_id=str(order["OrderId"]),
        doc_number=fit(str(order["NumOrderId"]), 21),
        txn_date=to_date(order.get("ProcessedDateTime") or general.get("ReceivedDate")),
        currency=currency,
        exchange_rate=None,  # the default sync.exchange_rates: quickbooks lets the target use its own rate
        total_tax=round_money(totals["Tax"], currency),
        total=round_money(totals["TotalCharge"], currency),
        prices_include_tax=bool(order["Items"][0].get("TaxCostInclusive")) if order.get("Items") else False,
        tax_country=_opt(country_code(shipping.get("Country"))),
        memo=_opt(fit(memo, 4000)) if memo else None,
        store_name=_opt(source),
        source_reference=_opt(str(reference)) if reference is not None else None,
        ship_date=to_date(order.get("ProcessedDateTime")),
        paid_date=to_date(order.get("PaidDateTime")) if general.get("Status") not in ("UNPAID", "PENDING") else None,
        customer=Party(
            display_name=clean_name(f"{clean_name(source)} {currency}"), currency=currency,
            company=_opt(billing.get("Company")), first_name=_opt(first_name(full_name)),
            last_name=_opt(last_name(full_name)),
            email=_opt(billing.get("EmailAddress") or shipping.get("EmailAddress")),
            phone=_opt(billing.get("PhoneNumber") or shipping.get("PhoneNumber")),
        ),
        billing_address=_address(billing),
        shipping_address=_address(shipping),
        lines=lines,
    )
    balance(document)
    return document
