"""Normalisation and the keyset cursor, over generated inputs."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from connex_linnworks.keyset import Cursor, SearchPage, keyset_pages
from connex_linnworks.normalise import (
    ORDER_STATUSES,
    PO_STATUSES,
    enum_name,
    normalise_items,
    normalise_order,
)
from connex_linnworks.wire import format_datetime, loads, parse_datetime
from hypothesis import given, settings
from hypothesis import strategies as st


@given(st.decimals(min_value=-(10**6), max_value=10**6, places=4, allow_nan=False, allow_infinity=False))
def test_money_doubles_arrive_exact(value):
    text = json.dumps({"Subtotal": float(value)})
    assert loads(text)["Subtotal"] == Decimal(repr(float(value)))


def test_unrounded_sample_from_the_reference():
    body = loads('{"Subtotal": 23.325, "fTax": 4.665, "fTotalCharge": 27.99}')
    assert body == {"Subtotal": Decimal("23.325"), "fTax": Decimal("4.665"), "fTotalCharge": Decimal("27.99")}
    assert body["Subtotal"] + body["fTax"] == body["fTotalCharge"]


@given(st.sampled_from(range(len(ORDER_STATUSES))), st.sampled_from(["int", "digits", "name", "lower"]))
def test_order_status_as_int_or_string(index, style):
    wire = {
        "int": index,
        "digits": str(index),
        "name": ORDER_STATUSES[index],
        "lower": ORDER_STATUSES[index].lower(),
    }[style]
    order = normalise_order({"GeneralInfo": {"Status": wire}, "Items": []})
    assert order["GeneralInfo"]["Status"] == ORDER_STATUSES[index]
    assert enum_name(Decimal(index), ORDER_STATUSES, "Status") == ORDER_STATUSES[index]


@pytest.mark.parametrize("value", [5, "BOGUS", True, Decimal("1.5")])
def test_unknown_enum_values_are_named_errors(value):
    with pytest.raises(ValueError, match="Status"):
        enum_name(value, PO_STATUSES, "PurchaseOrderHeader.Status")


@given(
    st.datetimes(
        min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2090, 1, 1), timezones=st.just(dt.UTC)
    )
)
def test_dates_round_trip_to_the_millisecond(when):
    back = parse_datetime(format_datetime(when))
    assert back.tzinfo is not None and abs(back - when) < dt.timedelta(milliseconds=1) and back <= when


@pytest.mark.parametrize(
    "text,expected",
    [
        ("0001-01-01T00:00:00Z", None),
        ("0001-01-01T00:00:00", None),
        (None, None),
        ("", None),
        ("2025-03-01T14:25:47.19Z", dt.datetime(2025, 3, 1, 14, 25, 47, 190000, tzinfo=dt.UTC)),
        ("2025-03-01T14:25:47", dt.datetime(2025, 3, 1, 14, 25, 47, tzinfo=dt.UTC)),
        ("2025-03-01T16:25:47+02:00", dt.datetime(2025, 3, 1, 14, 25, 47, tzinfo=dt.UTC)),
        ("2025-03-01T14:25:47.1234567Z", dt.datetime(2025, 3, 1, 14, 25, 47, 123456, tzinfo=dt.UTC)),
    ],
)
def test_date_forms(text, expected):
    assert parse_datetime(text) == expected


def test_date_fields_by_name_only_and_non_latin_text_untouched():
    order = normalise_order(
        {
            "ProcessedDateTime": "0001-01-01T00:00:00Z",
            "PaidDateTime": "2025-01-02T03:04:05Z",
            "GeneralInfo": {
                "Status": 1,
                "ReferenceNum": "2025-01-02T03:04:05Z",
                "ReceivedDate": None,
                "ScheduledDelivery": {"From": "2025-01-03T00:00:00Z", "To": None},
            },
            "CustomerInfo": {"Address": {"FullName": "山田 太郎", "Town": "Москва"}},
            "Items": [],
        }
    )
    assert order["ProcessedDateTime"] is None and order["PaidDateTime"].year == 2025
    assert order["GeneralInfo"]["ReferenceNum"] == "2025-01-02T03:04:05Z"  # free text stays text
    assert order["GeneralInfo"]["ScheduledDelivery"]["From"].day == 3
    assert order["CustomerInfo"]["Address"] == {"FullName": "山田 太郎", "Town": "Москва"}


def test_composite_children_appearing_as_separate_lines_are_dropped():
    child = {"RowId": "C1", "SKU": "MUG", "PricePerUnit": Decimal(0), "CompositeSubItems": []}
    parent = {
        "RowId": "P1",
        "SKU": "SET",
        "PricePerUnit": Decimal("39.9"),
        "CompositeSubItems": [dict(child)],
    }
    other = {"RowId": "X1", "SKU": "TEA"}
    items = normalise_items([parent, child, other])
    assert [i["SKU"] for i in items] == ["SET", "TEA"] and items[0]["CompositeSubItems"][0]["SKU"] == "MUG"
    assert items[1]["CompositeSubItems"] == []


# --- the keyset cursor, against an in-memory feed ---------------------------------------------------------
def _feed(rows, page_size):
    """A Linnworks-like search: rows with time >= since, sorted by (time, id), paged."""
    calls = []

    def fetch(since, page_number):
        calls.append((since, page_number))
        chosen = sorted(
            (r for r in rows if since is None or r["t"] >= since), key=lambda r: (r["t"], r["id"])
        )
        total_pages = -(-len(chosen) // page_size)
        return SearchPage(
            chosen[(page_number - 1) * page_size : page_number * page_size], page_number, total_pages
        )

    return fetch, calls


def _key(row):
    return row["t"], row["id"]


base = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.integers(min_value=0, max_value=12), min_size=0, max_size=60),
    st.integers(min_value=1, max_value=9),
    st.data(),
)
def test_keyset_reads_each_row_once_and_resumes_from_any_checkpoint(minutes, page_size, data):
    """Many rows per timestamp (ties larger than a page included): a full read yields every row once, and a
    read resumed from any checkpoint yields exactly the rows after it."""
    rows = [{"t": base + dt.timedelta(minutes=m), "id": f"{i:03d}"} for i, m in enumerate(minutes)]
    fetch, _ = _feed(rows, page_size)
    pages = list(keyset_pages(fetch, _key, Cursor()))
    read = [r["id"] for fresh, _ in pages for r in fresh]
    assert sorted(read) == sorted(r["id"] for r in rows) and len(read) == len(set(read))
    if pages:
        n = data.draw(st.integers(min_value=0, max_value=len(pages) - 1))
        saved = json.loads(json.dumps(pages[n][1].dump()))  # through JSON, as the engine stores it
        resumed = [r["id"] for fresh, _ in keyset_pages(fetch, _key, Cursor.load(saved, None)) for r in fresh]
        before = [r["id"] for fresh, _ in pages[: n + 1] for r in fresh]
        assert sorted(before + resumed) == sorted(read) and not set(before) & set(resumed)


def test_cursor_load_prefers_the_later_of_checkpoint_and_window():
    saved = Cursor(base, {"a"}).dump()
    assert Cursor.load(saved, None).seen == {"a"}
    later = base + dt.timedelta(days=1)
    assert Cursor.load(saved, later.replace(tzinfo=None)) == Cursor(later, set())
