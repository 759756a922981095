"""Property: whatever the mix of rates, quantities, prices (with or without tax), shipping and discount, a
document posted to a global-model company (UK, CA, AU) lands with the source's total and the source's tax to the
cent, QuickBooks' own per-line rounding notwithstanding (the TaxLine override of tax.md §3)."""

from __future__ import annotations

import datetime as dt
import itertools
import time
from decimal import ROUND_HALF_UP, Decimal

import pytest
from connex_quickbooks_online.connector import QuickBooksOnlineTarget
from connex_quickbooks_online.simulator import QuickBooksOnlineSimulator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connex.documents import Line, Party, SalesDocument
from connex.transport import RetryPolicy

from .tax_support import RATES

CENT = Decimal("0.01")
MILL = Decimal("0.001")
SKUS = ["MUG-BLU-01", "TEA-EARL-250", "CANDLE-SOY-L", "BOOK-CHAI"]
numbers = itertools.count(1)


@pytest.fixture(scope="module", params=["uk", "ca", "au"])
def company(request):
    sim = QuickBooksOnlineSimulator(company=request.param, enforce_limits=False)
    sim.start()
    target = QuickBooksOnlineTarget({**sim.connector_config(), "missing_items": "fail"},
                                    retry=RetryPolicy(max_attempts=3, base_delay=0.001, max_delay=0.01),
                                    sleep=time.sleep)
    yield request.param, sim, target
    target.close()
    sim.stop()


def c(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


lines_strategy = st.lists(
    st.tuples(st.sampled_from(SKUS), st.integers(1, 9), st.integers(1, 30_000), st.integers(0, 2)),
    min_size=1, max_size=5,
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=lines_strategy, inclusive=st.booleans(), shipping=st.sampled_from([0, 299, 480, 1250]),
       discount=st.sampled_from([0, 0, 100, 555]), kind=st.sampled_from(["sales_receipt", "invoice"]),
       abroad=st.sampled_from([False, False, True]))
def test_total_and_tax_are_the_sources_to_the_cent(company, lines, inclusive, shipping, discount, kind, abroad):
    """... and an order shipped abroad (its tax another country's) keeps the source's total with no tax of the
    company's own."""
    profile, sim, target = company
    rates = [Decimal(r) for r in RATES[profile]]
    doc_lines, exact_tax = [], Decimal(0)
    specs = [(sku, qty, Decimal(price) * CENT, rates[which]) for sku, qty, price, which in lines]
    if shipping:
        specs.append((None, 1, Decimal(shipping) * CENT, rates[0]))
    for sku, qty, price, rate in specs:
        if inclusive:  # price is gross: the net and the tax keep three places at the source
            gross = price * qty
            net = (gross / (1 + rate / 100)).quantize(MILL, rounding=ROUND_HALF_UP)
            tax = gross - net
        else:
            net = price * qty
            tax = (net * rate / 100).quantize(MILL, rounding=ROUND_HALF_UP)
        exact_tax += tax
        doc_lines.append(Line(kind="item" if sku else "shipping", sku=sku, item_name=None if sku else "Shipping",
                              quantity=Decimal(qty), unit_price=c(net) / qty, amount=c(net), tax_amount=c(tax),
                              tax_rate=rate, description=sku or "Shipping"))
    if discount:
        off = Decimal(discount) * CENT
        exact_tax -= (off * rates[0] / 100).quantize(MILL, rounding=ROUND_HALF_UP)
        doc_lines.append(Line(kind="discount", amount=-off, tax_rate=rates[0], description="Voucher"))
    total_tax = c(exact_tax)
    total = c(sum((ln.amount for ln in doc_lines), Decimal(0)) + total_tax)
    if total <= 0:
        return
    number = f"P{next(numbers)}"
    home = sim.company.home_currency
    doc = SalesDocument(kind=kind, source_id=number, doc_number=number, txn_date=dt.date(2026, 2, 1), currency=home,
                        lines=doc_lines, total_tax=total_tax, total=total, prices_include_tax=inclusive,
                        customer=Party(display_name=f"Shop {home}", currency=home),
                        tax_country="NZ" if abroad else None)
    [result] = target.post_documents([doc])
    assert result.status == "posted", result.error
    stored = sim.entity("SalesReceipt" if kind == "sales_receipt" else "Invoice", DocNumber=number)
    assert Decimal(str(stored["TotalAmt"])) == total
    assert Decimal(str(stored["TxnTaxDetail"]["TotalTax"])) == (0 if abroad and total_tax else total_tax)
    assert stored["GlobalTaxCalculation"] == ("TaxInclusive" if inclusive else "TaxExcluded")
