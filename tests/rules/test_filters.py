from decimal import Decimal

import pytest

from connex.rules import filters
from connex.rules.money import round_money


@pytest.mark.parametrize(("raw", "first", "last"), [
    ("ATTN: Jane Smith", "Jane", "Smith"), ("attn Mary Ann Jones", "Mary Ann", "Jones"),
    ("Attention - Bob", "Bob", ""), ("Attila Kovacs", "Attila", "Kovacs"), ("  ", "", ""), (None, "", ""),
    ("ATTN:李 小龍", "李", "小龍"),
])
def test_contact_names(raw, first, last):
    assert (filters.first_name(raw), filters.last_name(raw)) == (first, last)


@pytest.mark.parametrize(("name", "code"), [
    ("United Kingdom", "GB"), ("united states", "US"), ("Germany", "DE"), ("GB", "GB"), ("France", "FR"),
    ("Narnia", ""), ("", ""), (None, ""),
])
def test_country_codes(name, code):
    assert filters.country_code(name) == code


def test_money_rounds_half_up_to_the_currency_places():
    assert round_money(Decimal("23.325"), "GBP") == Decimal("23.33")
    assert round_money(23.325, "GBP") == Decimal("23.33")  # a float goes through its shortest repr
    assert round_money("1234.5", "JPY") == Decimal("1235")
    assert round_money("1.2345", "KWD") == Decimal("1.235")
    assert round_money("-0.005", "USD") == Decimal("-0.01")


def test_fit_truncates_without_splitting_characters():
    assert filters.fit("Café ünïcödé", 4) == "Café"
    assert filters.fit("e\u0301e\u0301", 3) == "e\u0301"
    assert filters.fit(None, 5) == ""


def test_dates_and_the_linnworks_sentinel():
    assert filters.to_date("0001-01-01T00:00:00Z") is None
    assert str(filters.to_date("2025-03-01T14:25:47.19Z")) == "2025-03-01"
    assert filters.clean_name("Kitchen:  Supplies ") == "Kitchen- Supplies"
    assert filters.channel_name("EBAY") == "eBay" and filters.channel_name("My Shop") == "My Shop"
