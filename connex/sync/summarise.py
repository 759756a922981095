"""Summary postings, the arithmetic: which period an order belongs to, and the one document that sums many.

Pure functions of documents and settings (no state, no target): ``summary_flow`` decides *which* orders go into a
summary, this module says what that summary then looks like. The summary is an ordinary ``SalesDocument`` (or
``RefundDocument``) of the members' kind, so both QuickBooks targets post it as they post one order, with their
own tax codes, items and rounding rules.

What a summary adds up, so that its total equals the sum of its orders' totals to the cent:

* item lines summed per item (SKU), or per income item (``lines: income_account``: QuickBooks sales lines name
  items, and an item names its income account), kept apart by tax code/rate, class and site so each line keeps
  one tax code;
* shipping and discount lines summed the same way (per item name and tax rate);
* the total tax, the sum of the orders' tax (the targets split it per code from the lines, as for one order);
* one rounding line: every order's own difference between its total and its lines plus tax (what the target
  would have posted as that order's rounding line), so nothing is lost in the sum.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from connex.documents import Document, Line, Party, RefundDocument, SalesDocument

PERIODS = ("daily", "weekly", "monthly")
LINE_GROUPING = ("item", "income_account")
CENT = Decimal("0.01")
OTHER_LINES = {"shipping": "Shipping", "discount": "Discounts"}


@dataclass(frozen=True)
class SummarySettings:
    """``sync.summary`` (schemas/config.schema.json holds the allowed values and defaults)."""

    period: str = "daily"
    time_zone: str = "UTC"
    lines: str = "item"
    income_item: str = "Sales"
    #: hours after a period ends before its summary is closed and posted: orders processed in the last minutes
    #: of a day still reach Linnworks' processed-order search (and this pass) before the day's summary is made
    close_after_hours: float = 2.0
    number_prefix: str = "SUM-"
    refund_number_prefix: str = "SUMR-"
    refunds: bool = True
    #: "document" (default): a summary of the members' own kind; "journal_entry": every summary a journal entry
    #: (a ``map_summary_document`` rule chooses per order). See ``connex.sync.summary_journal``
    document: str = "document"
    #: the account a journal-entry summary debits (credits, for refunds) when its orders share no deposit account
    journal_account: str = "Undeposited Funds"
    #: the liability account a journal-entry summary credits the tax to where the target's journal lines cannot
    #: carry tax (QuickBooks Online US and CA, QuickBooks Desktop); unset: such a summary with tax fails, naming it
    tax_account: str | None = None

    @classmethod
    def from_sync(cls, sync) -> SummarySettings:
        block = getattr(sync, "summary", None) or {}
        names = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in block.items() if k in names})

    @property
    def zone(self) -> ZoneInfo:
        return zone(self.time_zone)


def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name``; ``ValueError`` with a readable message when there is no such zone."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValueError(f"unknown time zone {name!r}; use an IANA name such as Europe/London or "
                         f"America/New_York") from None


# --- periods ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True, order=True)
class Period:
    """A day, an ISO week (Monday to Sunday) or a calendar month, in the configured time zone."""

    kind: str
    start: dt.date

    @property
    def label(self) -> str:
        """The stored identity: ``daily:2026-01-03``, ``weekly:2026-01-05`` (its Monday), ``monthly:2026-01-01``."""
        return f"{self.kind}:{self.start.isoformat()}"

    @classmethod
    def parse(cls, label: str) -> Period:
        kind, start = label.split(":", 1)
        return cls(kind, dt.date.fromisoformat(start))

    def following(self) -> Period:
        if self.kind == "daily":
            return Period(self.kind, self.start + dt.timedelta(days=1))
        if self.kind == "weekly":
            return Period(self.kind, self.start + dt.timedelta(days=7))
        year, month = (self.start.year + 1, 1) if self.start.month == 12 else (self.start.year, self.start.month + 1)
        return Period(self.kind, dt.date(year, month, 1))

    @property
    def last_day(self) -> dt.date:
        return self.following().start - dt.timedelta(days=1)

    def end(self, tz: ZoneInfo) -> dt.datetime:
        """The first instant after the period, in UTC (local midnight of the next period's first day)."""
        nxt = self.following().start
        return dt.datetime(nxt.year, nxt.month, nxt.day, tzinfo=tz).astimezone(dt.UTC)

    def describe(self) -> str:
        if self.kind == "daily":
            return self.start.strftime("%d %b %Y").lstrip("0")
        if self.kind == "weekly":
            first, last = self.start.strftime("%d %b").lstrip("0"), self.last_day.strftime("%d %b %Y").lstrip("0")
            return f"week {first} to {last}"
        return f"{calendar.month_name[self.start.month]} {self.start.year}"


def period_of(moment: dt.datetime | dt.date, kind: str, tz: ZoneInfo) -> Period:
    """The period holding ``moment`` (an aware instant, read in ``tz``; a naive one is UTC; a date is local)."""
    if isinstance(moment, dt.datetime):
        day = (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).astimezone(tz).date()
    else:
        day = moment
    if kind == "daily":
        return Period(kind, day)
    if kind == "weekly":
        return Period(kind, day - dt.timedelta(days=day.weekday()))
    if kind == "monthly":
        return Period(kind, day.replace(day=1))
    raise ValueError(f"unknown summary period {kind!r}; one of {', '.join(PERIODS)}")


# --- the summary document ------------------------------------------------------------------------------------
def line_rate(line: Line) -> Decimal:
    """The rate that picks a line's tax code, as the targets read it (payloads ``_line_rate``): a discount's own
    rate, zero for a line that carried no tax, else its rate or the one its amounts imply."""
    if line.kind == "discount" or line.tax_included:
        return Decimal(line.tax_rate or 0)
    if line.tax_amount == 0:
        return Decimal(0)
    if line.tax_rate is not None:
        return Decimal(line.tax_rate)
    if line.amount == 0:
        return Decimal(0)
    return (line.tax_amount / line.amount * 100).quantize(CENT, rounding=ROUND_HALF_UP)


def own_rounding(doc: Document) -> Decimal:
    """What the target would post as this document's rounding line: its total less its lines and tax (a zero
    total means "not given", so nothing)."""
    if doc.total == 0:
        return Decimal(0)
    lines = sum((-abs(ln.amount) if ln.kind == "discount" else ln.amount for ln in doc.lines), Decimal(0))
    return (doc.total - lines - doc.total_tax).quantize(CENT)


def document_total(doc: Document) -> Decimal:
    """The member's total as the target posts it: its own, or its lines and tax when it gives none."""
    if doc.total != 0:
        return doc.total
    return sum((-abs(ln.amount) if ln.kind == "discount" else ln.amount for ln in doc.lines), Decimal(0)) + \
        doc.total_tax


def _shared(values: Sequence):
    """The one value every member has, else None."""
    first = values[0] if values else None
    return first if all(v == first for v in values) else None


def _number_key(number: str | None):
    text = number or ""
    return (0, int(text), "") if text.isdigit() else (1, 0, text)


def number_range(numbers: Sequence[str | None]) -> str:
    ordered = sorted((n for n in numbers if n), key=_number_key)
    if not ordered:
        return ""
    return ordered[0] if len(ordered) == 1 else f"{ordered[0]} to {ordered[-1]}"


def _line_key(line: Line, settings: SummarySettings, tax_code: str | None) -> tuple:
    if line.kind == "item":
        name = (line.item_name or settings.income_item) if settings.lines == "income_account" else line.sku
    else:
        name = line.item_name
    return (line.kind, name, tax_code, line_rate(line), line.tax_included, line.class_name, line.inventory_site)


def summed_lines(members: Sequence[Document], settings: SummarySettings, *, push_tax_codes: bool) -> list[Line]:
    """The members' lines summed per key, in the order keys first appear, then one rounding line.

    A summed line's tax is what its orders were charged, and QuickBooks computes a line's tax from its net: over
    many orders the per-order roundings add up, and a line whose tax strays more than a cent from its net's is
    refused (a month of 20% lines can be 7p apart). So a line that would stray is continued on a second line of
    the same item: the tax stays exactly what was charged, and every line's tax is its net's to the cent."""
    groups: dict[tuple, Line] = {}
    ordered: list[Line] = []
    rounding = Decimal(0)
    for doc in members:
        rounding += own_rounding(doc)
        for line in doc.lines:
            code = line.tax_code or (doc.tax_code if push_tax_codes else None)
            key = _line_key(line, settings, code)
            group = groups.get(key)
            if group is not None and _strays(group, line, key[3]):
                group = None
            if group is None:
                kind, name = key[0], key[1]
                if kind == "item" and settings.lines == "income_account":
                    sku, item_name, description = name, None, f"{name} ({key[3]:f}% tax)" if key[3] else name
                elif kind == "item":
                    sku, item_name, description = name, line.item_name, line.description
                else:  # one line for many orders' charges: named for what it is, not for the first order's
                    sku, item_name, description = line.sku, name, OTHER_LINES.get(kind, line.description)
                groups[key] = group = Line(
                    kind=kind, sku=sku, item_name=item_name, description=description, quantity=Decimal(0),
                    amount=Decimal(0), tax_amount=Decimal(0), tax_code=code, tax_rate=key[3],
                    tax_included=line.tax_included, class_name=line.class_name, inventory_site=line.inventory_site,
                    manufacturer=line.manufacturer)
                ordered.append(group)
            group.quantity += line.quantity if kind_counts_quantity(line, settings) else 0
            group.amount += line.amount
            group.tax_amount += line.tax_amount
    lines = []
    for group in ordered:
        if group.kind == "rounding":
            rounding += group.amount  # the members' own rounding lines join the one summary line
            continue
        if not kind_counts_quantity(group, settings) or group.quantity == 0:
            group.quantity = Decimal(1)
        group.unit_price = group.amount / group.quantity
        lines.append(group)
    if rounding:
        lines.append(Line(kind="rounding", description="Rounding (the orders' own rounding, summed)",
                          quantity=Decimal(1), unit_price=rounding, amount=rounding))
    return lines


def _strays(group: Line, line: Line, rate: Decimal) -> bool:
    """Whether adding ``line`` would leave ``group``'s tax more than a cent from the tax of its net at ``rate``
    (lines with gross amounts are left alone: QuickBooks derives their net from the gross)."""
    if not rate or line.tax_included or group.kind == "rounding":
        return False
    amount, tax = group.amount + line.amount, group.tax_amount + line.tax_amount
    computed = (amount * rate / 100).quantize(CENT, rounding=ROUND_HALF_UP)
    return abs(tax - computed) > CENT


def kind_counts_quantity(line: Line, settings: SummarySettings) -> bool:
    """Per-item lines carry the units sold; a line standing for many items or charges is one unit of its sum."""
    return line.kind == "item" and settings.lines == "item"


def customer_for(members: Sequence[Document], store: str, currency: str, fallback_name: str) -> Party:
    """The members' customer when they share one (the default store-and-currency matching gives every order of a
    store and currency the same one), else a customer named for the store and currency."""
    names = [getattr(doc, "customer", None) and doc.customer.display_name for doc in members]
    shared = _shared(names)
    name = shared or f"{store or fallback_name} {currency}".strip()
    return Party(display_name=name, currency=currency)


def build_summary(members: Sequence[Document], *, source_id: str, doc_number: str, period: Period, store: str,
                  settings: SummarySettings, late: int = 0, fallback_customer: str = "Web Store") -> Document:
    """One document holding ``members`` (all of one kind, store and currency); ``late`` of them belong to an
    earlier period whose summary was closed before they were read."""
    if not members:
        raise ValueError("a summary needs at least one member")
    first = members[0]
    currency = first.currency
    doc_codes = [doc.tax_code for doc in members]
    shared_code = _shared(doc_codes)
    push = shared_code is None and any(doc_codes)
    lines = summed_lines(members, settings, push_tax_codes=push)
    what = "refunds" if isinstance(first, RefundDocument) else "orders"
    where = f"{store}, " if store else ""
    numbers = number_range([doc.doc_number for doc in members])
    memo = f"Summary of {len(members)} {what} {numbers} ({where}{currency}, {period.describe()})"
    if late:
        memo += f"; {late} of them from earlier periods, read after those were closed"
    common = dict(
        kind=first.kind, source_id=source_id, doc_number=doc_number, txn_date=period.last_day, currency=currency,
        lines=lines,
        exchange_rate=_shared([doc.exchange_rate for doc in members]),
        total_tax=sum((doc.total_tax for doc in members), Decimal(0)),
        total=sum((document_total(doc) for doc in members), Decimal(0)),
        memo=memo,
        class_name=_shared([doc.class_name for doc in members]),
        tax_code=shared_code,
        prices_include_tax=all(doc.prices_include_tax for doc in members),
    )
    customer = customer_for(members, store, currency, fallback_customer)
    if isinstance(first, RefundDocument):
        return RefundDocument(**common, customer=customer, store_name=store or None,
                              deposit_account=_shared([doc.deposit_account for doc in members]))
    if isinstance(first, SalesDocument):
        return SalesDocument(**common, customer=customer, store_name=store or None,
                             deposit_account=_shared([doc.deposit_account for doc in members]),
                             payment_method=_shared([doc.payment_method for doc in members]))
    raise ValueError(f"cannot summarise {type(first).__name__} documents")

