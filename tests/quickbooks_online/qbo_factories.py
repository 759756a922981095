"""Realistic mapped documents for the QuickBooks Online tests and the benchmark."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from connex.documents import Address, Line, Party, PurchaseDocument, RefundDocument, SalesDocument

SKUS = {  # seeded in the simulator (the Linnworks demo shop's catalogue), with realistic prices
    "MUG-BLU-01": Decimal("12.00"),
    "TEA-EARL-250": Decimal("18.00"),
    "TSHIRT-M-RED": Decimal("19.99"),
    "CANDLE-SOY-L": Decimal("24.50"),
    "SOCKS-3PK": Decimal("14.95"),
    "BOOK-CHAI": Decimal("9.99"),
    "GIFT-SET-TEA": Decimal("39.90"),
}
RATES = {"USD": None, "GBP": Decimal("1.2650"), "EUR": Decimal("1.0840")}
CENT = Decimal("0.01")


def party(name: str, currency: str) -> Party:
    return Party(
        display_name=name,
        currency=currency,
        company=name.rsplit(" ", 1)[0],
        email="orders@example.com",
        billing_address=Address(line1="1 Market St", city="Springfield", postal_code="62701", country="USA"),
    )


def line(sku: str, qty: int, price: Decimal | None = None, tax: Decimal = Decimal(0)) -> Line:
    price = SKUS[sku] if price is None else price
    return Line(
        kind="item",
        sku=sku,
        description=f"{sku} description",
        quantity=Decimal(qty),
        unit_price=price,
        amount=(price * qty).quantize(CENT),
        tax_amount=tax,
    )


def sale(
    number: str,
    *,
    currency: str = "USD",
    lines: list[Line] | None = None,
    shipping: str = "0",
    discount: str = "0",
    tax: str = "0",
    total: Decimal | None = None,
    kind: str = "sales_receipt",
    customer: str | None = None,
    source_id: str | None = None,
) -> SalesDocument:
    lines = list(lines or [line("MUG-BLU-01", 2)])
    if Decimal(shipping):
        lines.append(
            Line(
                kind="shipping",
                description="Shipping",
                unit_price=Decimal(shipping),
                amount=Decimal(shipping),
            )
        )
    if Decimal(discount):
        lines.append(Line(kind="discount", description="Voucher", amount=-Decimal(discount)))
    computed = sum(ln.amount for ln in lines) + Decimal(tax)
    return SalesDocument(
        kind=kind,
        source_id=source_id or f"lw-{number}",
        doc_number=number,
        txn_date=dt.date(2026, 3, 2),
        currency=currency,
        lines=lines,
        exchange_rate=RATES.get(currency),
        total_tax=Decimal(tax),
        total=computed if total is None else total,
        customer=party(customer or f"Amazon {currency}", currency),
        store_name="Amazon",
        source_reference=f"114-{number}",
    )


def purchase(
    number: str,
    *,
    kind: str = "purchase_order",
    status: str = "Open",
    currency: str = "USD",
    lines: list[Line] | None = None,
    linked: str | None = None,
    vendor: str = "Acme Ceramics Ltd",
    source_id: str | None = None,
) -> PurchaseDocument:
    lines = list(
        lines or [line("MUG-BLU-01", 24, Decimal("5.00")), line("TEA-EARL-250", 10, Decimal("2.40"))]
    )
    return PurchaseDocument(
        kind=kind,
        source_id=source_id or f"po-{number}",
        doc_number=number if kind != "bill" else f"B-{number}",
        txn_date=dt.date(2026, 3, 1),
        currency=currency,
        lines=lines,
        exchange_rate=RATES.get(currency),
        total=sum(ln.amount for ln in lines),
        vendor=party(vendor, currency),
        status=status,
        linked_po_number=linked,
        due_date=dt.date(2026, 3, 31),
    )


def refund(
    number: str,
    original: str,
    *,
    currency: str = "USD",
    lines: list[Line] | None = None,
    customer: str | None = None,
) -> RefundDocument:
    lines = list(lines or [line("MUG-BLU-01", 1)])
    return RefundDocument(
        kind="refund_receipt",
        source_id=f"rf-{number}",
        doc_number=number,
        txn_date=dt.date(2026, 3, 5),
        currency=currency,
        lines=lines,
        exchange_rate=RATES.get(currency),
        total=sum(ln.amount for ln in lines),
        customer=party(customer or f"Amazon {currency}", currency),
        original_doc_number=original,
    )


def random_sales(count: int, seed: int = 7, prefix: str = "A") -> list[SalesDocument]:
    """``count`` orders with 1-4 lines, about a quarter in GBP/EUR, a few with shipping, discount and tax."""
    rng = random.Random(seed)
    docs = []
    for n in range(count):
        currency = rng.choices(["USD", "GBP", "EUR"], weights=[6, 1, 1])[0]
        store = rng.choice(["Amazon", "eBay", "Shopify"])
        lines = [line(sku, rng.randint(1, 3)) for sku in rng.sample(sorted(SKUS), rng.randint(1, 4))]
        tax = (sum(ln.amount for ln in lines) * Decimal("0.07")).quantize(CENT) if rng.random() < 0.3 else 0
        docs.append(
            sale(
                f"{prefix}{n:06d}",
                currency=currency,
                lines=lines,
                customer=f"{store} {currency}",
                shipping=rng.choice(["0", "3.99", "4.99"]),
                discount=rng.choice(["0", "0", "0", "2.00"]),
                tax=str(tax),
                kind=rng.choice(["sales_receipt", "sales_receipt", "invoice"]),
            )
        )
    return docs
