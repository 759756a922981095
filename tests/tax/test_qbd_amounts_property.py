"""Property: whatever the mix of rates, quantities, prices (with or without tax), shipping and discount, an order
posted to a Canadian QuickBooks Desktop file lands with the source's total and the source's tax to the cent (each
line carries its tax), and one posted to a US file with the source's total and QuickBooks' own tax on the taxable
subtotal, within a cent of the source's (the cent moved into a line's amount). The codes and items come from the
file itself (its SalesTaxCodeQuery, ItemSalesTaxQuery and ItemSalesTaxGroupQuery answers, as a session reads
them)."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import ROUND_HALF_UP, Decimal

import pytest
from connex_quickbooks_desktop import qbxml
from connex_quickbooks_desktop.simulator import SimulatedCompany
from connex_quickbooks_desktop.tax import CompanyTax, DesktopTax
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from connex.documents import Line, Party, SalesDocument
from connex.rules.build import balance

CENT = Decimal("0.01")
MILL = Decimal("0.001")
SKUS = ["MUG-BLU-01", "TEA-EARL-250", "CANDLE-SOY-L", "BOOK-CHAI"]
RATES = {"ca": (Decimal(13), Decimal(5), Decimal(12), Decimal(0)), "us": (Decimal("7.25"), Decimal(0))}
numbers = itertools.count(1)


def c(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


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


lines_strategy = st.lists(
    st.tuples(st.sampled_from(SKUS), st.integers(1, 9), st.integers(1, 30_000), st.integers(0, 3)),
    min_size=1, max_size=5,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=lines_strategy, inclusive=st.booleans(), shipping=st.sampled_from([0, 299, 480, 1250]),
       discount=st.sampled_from([0, 0, 100, 555]), kind=st.sampled_from(["sales_receipt", "invoice"]))
def test_total_and_tax_are_the_sources(file, lines, inclusive, shipping, discount, kind):
    edition, company, builder = file
    rates = RATES[edition]
    doc_lines, exact_tax = [], Decimal(0)
    specs = [(sku, qty, Decimal(price) * CENT, rates[which % len(rates)]) for sku, qty, price, which in lines]
    if edition == "us":  # one rate per order: the file's header item carries it
        specs = [(sku, qty, price, rate if rate == 0 else rates[0]) for sku, qty, price, rate in specs]
    if shipping:
        specs.append((None, 1, Decimal(shipping) * CENT, rates[0]))
    for sku, qty, price, rate in specs:
        if inclusive:
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
        doc_lines.append(Line(kind="discount", item_name="Discount", amount=-off, unit_price=-off,
                              quantity=Decimal(1), tax_rate=rates[0], description="Voucher"))
    total_tax = c(exact_tax)
    total = c(sum((ln.amount for ln in doc_lines), Decimal(0)) + total_tax)
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
