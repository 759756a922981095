"""Property: whatever the mix of rates, quantities, prices (with or without tax), shipping and discount, an order
posted to a Canadian QuickBooks Desktop file lands with the source's total and the source's tax to the cent (each
line carries its tax), and one posted to a US file with the source's total and QuickBooks' own tax on the taxable
subtotal, within a cent of the source's (the cent moved into a line's amount). The codes and items come from the
file itself (its SalesTaxCodeQuery, ItemSalesTaxQuery and ItemSalesTaxGroupQuery answers, as a session reads
them)."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import pytest
from connex_quickbooks_desktop import qbxml
from connex_quickbooks_desktop.simulator import SimulatedCompany
from connex_quickbooks_desktop.tax import CompanyTax, DesktopTax
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from connex.documents import Party, SalesDocument
from connex.rules.build import balance
from tests.conftest import examples

from .tax_support import SKUS, discount_cents, shipping_cents, source_amounts, source_lines

CENT = Decimal("0.01")
RATES = {"ca": (Decimal(13), Decimal(5), Decimal(12), Decimal(0)), "us": (Decimal("7.25"), Decimal(0))}
numbers = itertools.count(1)


@pytest.fixture(scope="module", params=["ca", "us"])
def file(request):
    company = SimulatedCompany.seeded(edition=request.param)
    for sku in SKUS:
        company.add_list_record(sku, "ItemInventory", quantity=Decimal(10_000))
    company.add_list_record("Shop", "Customer")
    reads = [qbxml.QbxmlBuilder.tax_lists_query(part, part) for part in ("codes", "items", "groups")]
    answer = etree.fromstring(company.process(qbxml.message_set(reads)).encode())
    rets = {rs.get("requestID"): [r for r in rs if r.tag.endswith("Ret")]
            for rs in answer.iter() if rs.tag.endswith("Rs")}
    builder = qbxml.QbxmlBuilder(shipping_item="Shipping", rounding_item="Rounding", discount_item="Discount",
                                 tax=DesktopTax(model="global" if request.param == "ca" else "us"))
    builder.company_tax = CompanyTax.from_rets(rets["codes"], rets["items"], rets["groups"])
    return request.param, company, builder


@settings(max_examples=examples(40), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=source_lines, inclusive=st.booleans(), shipping=shipping_cents, discount=discount_cents,
       kind=st.sampled_from(["sales_receipt", "invoice"]))
def test_total_and_tax_are_the_sources(file, lines, inclusive, shipping, discount, kind):
    edition, company, builder = file
    rates = RATES[edition]
    specs = [(sku, qty, Decimal(price) * CENT, rates[which % len(rates)]) for sku, qty, price, which in lines]
    if edition == "us":  # one rate per order: the file's header item carries it
        specs = [(sku, qty, price, rate if rate == 0 else rates[0]) for sku, qty, price, rate in specs]
    if shipping:
        specs.append((None, 1, Decimal(shipping) * CENT, rates[0]))
    doc_lines, total_tax, total = source_amounts(specs, inclusive=inclusive, discount=Decimal(discount) * CENT,
                                                 discount_rate=rates[0])
    if total <= 0:
        return
    number = f"P{next(numbers)}"
    doc = SalesDocument(kind=kind, source_id=number, doc_number=number, txn_date=dt.date(2026, 2, 1), currency="USD",
                        lines=doc_lines, total_tax=total_tax, total=total, prices_include_tax=inclusive,
                        customer=Party(display_name="Shop"), deposit_account="Undeposited Funds")
    balance(doc)
    answer = company.process(qbxml.message_set([builder.document_add(number, doc)]))
    assert 'statusCode="0"' in answer, answer
    [txn] = [t for t in company.transactions if t.ref_number == number]
    if edition == "ca":
        assert (txn.total, txn.tax) == (total, total_tax)
    else:
        assert abs(txn.tax - total_tax) <= CENT and txn.total == total
