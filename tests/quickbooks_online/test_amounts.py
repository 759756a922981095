"""Amounts land in QuickBooks exact to the cent, whatever the mix of lines, discounts, tax and rounding."""

from __future__ import annotations

import itertools
from decimal import Decimal

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from connex.documents import Line
from tests.conftest import examples

from .qbo_factories import SKUS, refund, sale

CENT = Decimal("0.01")
numbers = itertools.count(1)

money = st.integers(min_value=1, max_value=20_000).map(lambda cents: Decimal(cents) * CENT)
item_lines = st.lists(
    st.tuples(st.sampled_from(sorted(SKUS)), st.integers(1, 7), money, st.integers(-1, 1)),
    min_size=1,
    max_size=4,
)


def as_line(sku, qty, price, drift):
    # ``drift`` models a channel that rounded the unit price: qty x price is a cent off the line amount.
    amount = (price * qty + drift * CENT).quantize(CENT)
    return Line(kind="item", sku=sku, quantity=Decimal(qty), unit_price=price, amount=max(amount, CENT))


@settings(max_examples=examples(40), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    lines=item_lines,
    shipping=st.sampled_from(["0", "2.99", "4.99", "12.50"]),
    discount_share=st.integers(0, 50),
    tax=st.integers(0, 3000).map(lambda c: Decimal(c) * CENT),
    rounding=st.integers(-5, 5).map(lambda c: Decimal(c) * CENT),
    currency=st.sampled_from(["USD", "GBP", "EUR"]),
    kind=st.sampled_from(["sales_receipt", "invoice"]),
)
def test_sales_totals_are_exact(sim, target, lines, shipping, discount_share, tax, rounding, currency, kind):
    item_lines = [as_line(*spec) for spec in lines]
    subtotal = sum(ln.amount for ln in item_lines)
    discount = (subtotal * discount_share / 100).quantize(CENT)
    doc = sale(
        f"H{next(numbers)}",
        currency=currency,
        lines=item_lines,
        shipping=shipping,
        discount=str(discount),
        tax=str(tax),
        kind=kind,
    )
    doc.total += rounding  # the source total the channel reported, a few cents off the lines
    assume(doc.total > 0)  # QuickBooks refuses negative receipts; a zero total means "not given"
    [result] = target.post_documents([doc])
    assert result.status == "posted", result.error
    entity = "SalesReceipt" if kind == "sales_receipt" else "Invoice"
    stored = sim.entity(entity, DocNumber=doc.doc_number)
    assert Decimal(str(stored["TotalAmt"])) == doc.total
    has_rounding = (
        stored["Line"][-1].get("SalesItemLineDetail", {}).get("ItemRef", {}).get("name") == "Rounding"
    )
    assert has_rounding == (rounding != 0)


@settings(max_examples=examples(15), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    lines=item_lines, sign=st.sampled_from([1, -1]), kind=st.sampled_from(["refund_receipt", "credit_memo"])
)
def test_refund_totals_are_exact_whatever_the_sign(sim, target, lines, sign, kind):
    item_lines = [as_line(*spec) for spec in lines]
    for ln in item_lines:
        ln.amount, ln.unit_price = ln.amount * sign, ln.unit_price * sign
    doc = refund(f"HR{next(numbers)}", "S-1", lines=item_lines)
    doc.kind = kind
    [result] = target.post_documents([doc])
    assert result.status == "posted", result.error
    entity = "RefundReceipt" if kind == "refund_receipt" else "CreditMemo"
    stored = sim.entity(entity, DocNumber=doc.doc_number)
    assert Decimal(str(stored["TotalAmt"])) == abs(doc.total)
