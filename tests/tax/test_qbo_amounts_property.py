"""Property: whatever the mix of rates, quantities, prices (with or without tax), shipping and discount, a
document posted to a global-model company (UK, CA, AU) lands with the source's total and the source's tax to the
cent, QuickBooks' own per-line rounding notwithstanding (the TaxLine override of tax.md §3)."""

from __future__ import annotations

import datetime as dt
import itertools
import time
from decimal import Decimal

import pytest
from connex_quickbooks_online.connector import QuickBooksOnlineTarget
from connex_quickbooks_online.simulator import QuickBooksOnlineSimulator
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from connex.documents import Party, SalesDocument
from connex.transport import RetryPolicy
from tests.conftest import examples

from .tax_support import RATES, discount_cents, shipping_cents, source_amounts, source_lines

CENT = Decimal("0.01")
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


@settings(max_examples=examples(30), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=source_lines, inclusive=st.booleans(), shipping=shipping_cents, discount=discount_cents,
       kind=st.sampled_from(["sales_receipt", "invoice"]),
       abroad=st.sampled_from([False, False, True]))
# two lines whose tax rounds to nothing (0.004 at 20%, 0.0026 at 13%) under an order tax of 0.01: the penny goes
# on a line at its listed rate, at home and (wrapped into the amount) abroad
@example(lines=[("MUG-BLU-01", 1, 2, 0), ("TEA-EARL-250", 1, 2, 0)], inclusive=False, shipping=0, discount=0,
         kind="sales_receipt", abroad=False)
@example(lines=[("MUG-BLU-01", 1, 2, 0), ("TEA-EARL-250", 1, 2, 0)], inclusive=False, shipping=0, discount=0,
         kind="invoice", abroad=True)
def test_total_and_tax_are_the_sources_to_the_cent(company, lines, inclusive, shipping, discount, kind, abroad):
    """... and an order shipped abroad (its tax another country's) keeps the source's total with no tax of the
    company's own."""
    profile, sim, target = company
    rates = [Decimal(r) for r in RATES[profile]]
    specs = [(sku, qty, Decimal(price) * CENT, rates[which % len(rates)]) for sku, qty, price, which in lines]
    if shipping:
        specs.append((None, 1, Decimal(shipping) * CENT, rates[0]))
    doc_lines, total_tax, total = source_amounts(specs, inclusive=inclusive, discount=Decimal(discount) * CENT,
                                                 discount_rate=rates[0])
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


def test_a_manual_us_company_takes_a_penny_of_tax_over_lines_taxed_at_nothing():
    """A manual-sales-tax US company needs the transaction's code at the order's rate: two lines of 6 cents at
    7.25% carry no tax of their own (0.435 cents each) but the order's tax is a cent, so the code is the one at the
    rate the lines list, not at the 0% their own tax implies."""
    sim = QuickBooksOnlineSimulator(company="us-manual", enforce_limits=False)
    sim.start()
    target = QuickBooksOnlineTarget({**sim.connector_config(), "missing_items": "fail"},
                                    retry=RetryPolicy(max_attempts=3, base_delay=0.001, max_delay=0.01),
                                    sleep=time.sleep)
    try:
        rate = Decimal(RATES["us-manual"][0])
        specs = [(sku, 1, Decimal("0.06"), rate) for sku in ("MUG-BLU-01", "BOOK-CHAI")]
        lines, total_tax, total = source_amounts(specs, inclusive=False, discount=Decimal(0), discount_rate=rate)
        assert [ln.tax_amount for ln in lines] == [0, 0] and total_tax == CENT
        doc = SalesDocument(kind="sales_receipt", source_id="US1", doc_number="US1", txn_date=dt.date(2026, 2, 1),
                            currency="USD", lines=lines, total_tax=total_tax, total=total, prices_include_tax=False,
                            customer=Party(display_name="Shop USD", currency="USD"))
        [result] = target.post_documents([doc])
        assert result.status == "posted", result.error
        stored = sim.entity("SalesReceipt", DocNumber="US1")
        assert (Decimal(str(stored["TotalAmt"])), Decimal(str(stored["TxnTaxDetail"]["TotalTax"]))) == (total, CENT)
        code = sim.company.get("TaxCode", stored["TxnTaxDetail"]["TxnTaxCodeRef"]["value"])
        assert code["Name"] == "California"
    finally:
        target.close()
        sim.stop()
