"""ISO-8859-1 transliteration, maxLength cuts and qbXML number formats."""

from __future__ import annotations

import re
from decimal import Decimal

from connex_quickbooks_desktop import limits
from hypothesis import given
from hypothesis import strategies as st

AMTTYPE = re.compile(r"[+\-]?[0-9]{1,13}(\.[0-9]{2})?")
PRICETYPE = re.compile(r"[+\-]?[0-9]{1,13}(\.[0-9]{1,5})?")


def test_latin1_characters_are_kept_and_the_rest_transliterated():
    assert limits.to_latin1("Café Müller £5") == "Café Müller £5"
    assert limits.to_latin1("Łódź") == "Lódz"
    assert limits.to_latin1("Иван Петров") == "Ivan Petrov"
    assert limits.to_latin1("Ζωή") == "Zoi"
    assert limits.to_latin1("“Quoted” – 10€") == '"Quoted" - 10EUR'
    assert "?" not in limits.to_latin1("北京 shop")


def test_clip_respects_limits_after_transliteration():
    assert limits.clip("  Jane   Smith  ", 41) == "Jane Smith"
    assert len(limits.clip("Щ" * 40, 41)) <= 41  # "Shch" x 40 would be 160 characters
    assert limits.clip("   ", 41) is None
    assert limits.clip(None, 41) is None


def test_ref_number_keeps_eleven_characters():
    assert limits.ref_number("202405010001-AMAZON") == "202405010001"[:11]
    assert limits.is_truncated("202405010001-AMAZON")
    assert not limits.is_truncated("LW500123")


def test_amounts_have_exactly_two_decimals():
    assert limits.amount(Decimal("25.5")) == "25.50"
    assert limits.amount(Decimal("25.005")) == "25.01"
    assert limits.amount(3) == "3.00"
    assert limits.price(Decimal("12.5")) == "12.50"
    assert limits.price(Decimal("0.33333")) == "0.33333"
    assert limits.quantity(Decimal("2.000")) == "2"
    assert limits.quantity(Decimal("1.5")) == "1.5"


@given(st.text(max_size=200), st.integers(min_value=1, max_value=60))
def test_clipped_text_is_always_latin1_and_short_enough(text, limit):
    clipped = limits.clip(text, limit)
    if clipped is not None:
        assert len(clipped) <= limit
        clipped.encode("iso-8859-1")
        assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f]", clipped)


@given(st.decimals(min_value=-(10**9), max_value=10**9, allow_nan=False, allow_infinity=False, places=6))
def test_amount_and_price_always_match_the_xsd_patterns(value):
    assert AMTTYPE.fullmatch(limits.amount(value))
    assert PRICETYPE.fullmatch(limits.price(value))
