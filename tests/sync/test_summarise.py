"""The summary arithmetic (connex.sync.summarise) over generated orders: the summary's total is the sum of its
orders' totals to the cent, its lines and tax add up to that total (so a target adds no rounding of its own), the
tax per rate is the orders' tax per rate, and every instant falls in exactly one period of the configured zone."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from connex.documents import Line, Party, RefundDocument, SalesDocument
from connex.sync.summarise import Period, SummarySettings, build_summary, line_rate, number_range, period_of, zone

CENTS = st.integers(min_value=-500_00, max_value=500_00).map(lambda c: Decimal(c) / 100)
POSITIVE = st.integers(min_value=0, max_value=500_00).map(lambda c: Decimal(c) / 100)
RATES = st.sampled_from([Decimal(20), Decimal(5), Decimal(0), Decimal("7.25"), None])


@st.composite
def lines(draw):
    kind = draw(st.sampled_from(["item", "item", "item", "shipping", "discount"]))
    amount = draw(POSITIVE)
    rate = draw(RATES)
    tax = (amount * (rate or 0) / 100).quantize(Decimal("0.01")) if kind != "discount" else Decimal(0)
    if kind == "discount":
        amount = -amount
    quantity = Decimal(draw(st.integers(min_value=1, max_value=5)))
    return Line(kind=kind, sku=draw(st.sampled_from(["A", "B", "C"])) if kind == "item" else None,
                item_name={"shipping": "Shipping", "discount": "Discount"}.get(kind), quantity=quantity,
                unit_price=amount / quantity, amount=amount, tax_amount=tax, tax_rate=rate,
                class_name=draw(st.sampled_from([None, "Retail"])))


@st.composite
def orders(draw, number):
    body = draw(st.lists(lines(), min_size=1, max_size=6))
    tax = sum((ln.tax_amount for ln in body), Decimal(0)) + draw(st.sampled_from([Decimal(0), Decimal("0.01")]))
    lines_sum = sum((-abs(ln.amount) if ln.kind == "discount" else ln.amount for ln in body), Decimal(0))
    drift = draw(st.sampled_from([Decimal(0), Decimal("0.01"), Decimal("-0.02")]))  # the channel's own rounding
    total = lines_sum + tax + drift
    return SalesDocument(kind="sales_receipt", source_id=f"o{number}", doc_number=str(number),
                         txn_date=dt.date(2026, 1, 5), currency="GBP", lines=body, total_tax=tax, total=total,
                         customer=Party(display_name="Amazon GBP", currency="GBP"), store_name="Amazon",
                         tax_code=draw(st.sampled_from([None, None, "20.0% S"])))


@st.composite
def order_sets(draw):
    count = draw(st.integers(min_value=1, max_value=25))
    return [draw(orders(1000 + n)) for n in range(count)]


def posted_total(doc) -> Decimal:
    """What QuickBooks adds up: lines (a discount always subtracts) plus the tax."""
    return sum((-abs(ln.amount) if ln.kind == "discount" else ln.amount for ln in doc.lines), Decimal(0)) + \
        doc.total_tax


def member_total(doc) -> Decimal:
    return doc.total if doc.total != 0 else posted_total(doc)


@settings(max_examples=150, deadline=None)
@given(order_sets(), st.sampled_from(["item", "income_account"]))
def test_a_summary_totals_its_orders_to_the_cent(members, grouping):
    config = SummarySettings(lines=grouping)
    summary = build_summary(members, source_id="summary-1", doc_number="SUM-1", period=Period("daily",
                            dt.date(2026, 1, 5)), store="Amazon", settings=config)
    assert summary.total == sum(member_total(m) for m in members)
    assert summary.total_tax == sum(m.total_tax for m in members)
    assert posted_total(summary) == summary.total  # lines + tax + the one rounding line: nothing left to round
    assert sum(1 for ln in summary.lines if ln.kind == "rounding") <= 1
    # the tax per rate (what picks the tax code) is the orders' tax per rate
    per_rate, expected = defaultdict(Decimal), defaultdict(Decimal)
    for line in summary.lines:
        per_rate[line_rate(line)] += line.tax_amount
    for member in members:
        for line in member.lines:
            expected[line_rate(line)] += line.tax_amount
    assert {k: v for k, v in per_rate.items() if v} == {k: v for k, v in expected.items() if v}
    # one line per item, tax code and rate, continued on another only where a taxed line's tax would stray from
    # its net's (test below)
    keys = [(ln.kind, ln.sku, ln.item_name, ln.tax_code, line_rate(ln), ln.class_name) for ln in summary.lines]
    repeated = Counter(keys)
    assert all(line_rate(ln) and not ln.tax_included for ln, key in zip(summary.lines, keys) if repeated[key] > 1)
    if grouping == "item":
        units = sum(ln.quantity for m in members for ln in m.lines if ln.kind == "item")
        assert sum(ln.quantity for ln in summary.lines if ln.kind == "item") == units
    numbers = sorted(int(m.doc_number) for m in members)
    assert f"Summary of {len(members)} orders {number_range([str(n) for n in numbers])}" in summary.memo
    assert summary.txn_date == dt.date(2026, 1, 5) and summary.customer.display_name == "Amazon GBP"


def test_refunds_summarise_into_a_refund_document():
    refunds = [RefundDocument(kind="refund_receipt", source_id=f"r{n}", doc_number=f"100{n}-R{n}",
                              txn_date=dt.date(2026, 1, 5), currency="GBP", total=Decimal("12.00"),
                              lines=[Line(sku="A", amount=Decimal("12.00"), tax_rate=Decimal(20), tax_included=True)],
                              customer=Party(display_name="eBay GBP", currency="GBP"), store_name="eBay")
               for n in range(3)]
    summary = build_summary(refunds, source_id="summary-2", doc_number="SUMR-2", period=Period("daily",
                            dt.date(2026, 1, 5)), store="eBay", settings=SummarySettings())
    assert isinstance(summary, RefundDocument) and summary.kind == "refund_receipt"
    assert summary.total == Decimal("36.00") and len(summary.lines) == 1 and summary.lines[0].tax_included
    assert summary.memo.startswith("Summary of 3 refunds")


INSTANTS = st.datetimes(min_value=dt.datetime(2024, 1, 1), max_value=dt.datetime(2027, 12, 31),
                        timezones=st.just(dt.UTC))


@settings(max_examples=300, deadline=None)
@given(INSTANTS, st.sampled_from(["daily", "weekly", "monthly"]),
       st.sampled_from(["UTC", "Europe/London", "America/New_York", "Australia/Sydney", "Pacific/Kiritimati"]))
def test_every_instant_is_in_exactly_one_period_of_the_zone(moment, kind, name):
    tz = zone(name)
    period = period_of(moment, kind, tz)
    start = dt.datetime.combine(period.start, dt.time(), tzinfo=tz).astimezone(dt.UTC)
    assert start <= moment < period.end(tz)
    assert period.following().start > period.start and period.following().start == period.last_day + \
        dt.timedelta(days=1)
    assert Period.parse(period.label) == period
    if kind == "weekly":
        assert period.start.weekday() == 0
    local = moment.astimezone(tz).date()
    assert period.start <= local <= period.last_day


def test_period_boundaries_follow_the_configured_zone():
    london, new_york = zone("Europe/London"), zone("America/New_York")
    late_evening = dt.datetime(2026, 7, 5, 23, 30, tzinfo=dt.UTC)  # 00:30 on the 6th in London (BST)
    assert period_of(late_evening, "daily", london).start == dt.date(2026, 7, 6)
    assert period_of(late_evening, "daily", new_york).start == dt.date(2026, 7, 5)
    assert Period("daily", dt.date(2026, 7, 5)).end(london) == dt.datetime(2026, 7, 5, 23, tzinfo=dt.UTC)
    assert Period("monthly", dt.date(2026, 12, 1)).following() == Period("monthly", dt.date(2027, 1, 1))


def test_a_line_whose_summed_tax_would_stray_from_its_net_continues_on_a_second_line():
    """A month of 0.13 lines at 20% (0.026 tax, charged 0.03 each): summed on one line, 300 of them carry 9.00 of
    tax on 39.00 of net, which QuickBooks computes as 7.80 and refuses. The tax stays what was charged, split over
    lines whose tax is each its net's to the cent."""
    members = []
    for number in range(300):
        line = Line(kind="item", sku="PIN", quantity=Decimal(1), unit_price=Decimal("0.13"), amount=Decimal("0.13"),
                    tax_amount=Decimal("0.03"), tax_rate=Decimal(20))
        members.append(SalesDocument(kind="sales_receipt", source_id=f"o{number}", doc_number=str(1000 + number),
                                     txn_date=dt.date(2026, 1, 5), currency="GBP", lines=[line],
                                     total_tax=Decimal("0.03"), total=Decimal("0.16"),
                                     customer=Party(display_name="Amazon GBP", currency="GBP"), store_name="Amazon"))
    summary = build_summary(members, source_id="summary-1", doc_number="SUM-1", period=Period("monthly",
                            dt.date(2026, 1, 1)), store="Amazon", settings=SummarySettings())
    items = [ln for ln in summary.lines if ln.kind == "item"]
    assert len(items) > 1 and all(ln.sku == "PIN" for ln in items)
    assert sum(ln.tax_amount for ln in items) == Decimal("9.00")
    assert sum(ln.amount for ln in items) == Decimal("39.00") and summary.total == Decimal("48.00")
    for ln in items:
        assert abs(ln.tax_amount - (ln.amount * 20 / 100).quantize(Decimal("0.01"))) <= Decimal("0.01"), ln
