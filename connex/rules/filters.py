"""Jinja filters integrators need in mappings. They never raise on odd input (None, empty, unicode): a mapping of
an arbitrary order must not crash on a missing optional field."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from functools import lru_cache

from connex.rules.money import round_money, round_places, to_decimal

_ATTN = re.compile(r"^\s*(?:attn|attention)\b[\s.:,;-]*", re.IGNORECASE)
_SPACES = re.compile(r"\s+")


def strip_attn(value) -> str:
    """'ATTN: Jane Smith', 'attn Jane Smith' -> 'Jane Smith' (case-insensitive, only a leading ATTN)."""
    if value is None:
        return ""
    return _SPACES.sub(" ", _ATTN.sub("", str(value))).strip()


def _name_parts(value) -> list[str]:
    text = strip_attn(value)
    return text.split(" ") if text else []


def first_name(value) -> str:
    """Everything but the last word of a contact name ('Mary Ann Smith' -> 'Mary Ann'); a single word is a first
    name."""
    parts = _name_parts(value)
    return " ".join(parts[:-1]) if len(parts) > 1 else (parts[0] if parts else "")


def last_name(value) -> str:
    parts = _name_parts(value)
    return parts[-1] if len(parts) > 1 else ""


@lru_cache(maxsize=1024)
def _country_code(name: str) -> str:
    if not name:
        return ""
    import pycountry  # 15 ms to import: paid by the first country looked up, not by every start

    if len(name) == 2 and pycountry.countries.get(alpha_2=name.upper()):
        return name.upper()
    try:
        return pycountry.countries.lookup(name).alpha_2
    except LookupError:
        pass
    try:
        matches = pycountry.countries.search_fuzzy(name)
    except LookupError:
        return ""
    return matches[0].alpha_2 if len(matches) == 1 else ""


def country_code(value) -> str:
    """ISO 3166-1 alpha-2 code for a country name ('United Kingdom' -> 'GB'); '' when unknown or ambiguous."""
    return _country_code(str(value or "").strip())


def fit(value, limit: int) -> str:
    """Truncate text to a target field's limit, never splitting a combining character from its base."""
    text = "" if value is None else str(value)
    if len(text) <= limit:
        return text
    # back off while the first character left out is a combining mark, so no base loses its accent
    while limit > 0 and unicodedata.combining(text[limit]):
        limit -= 1
    return text[:limit].rstrip()


def money(value, currency: str | None = None):
    """Round half-up to the currency's places; None and '' stay None."""
    if value is None or value == "":
        return None
    return round_money(value, currency)


def decimal(value, places: int | None = None):
    if value is None or value == "":
        return None
    return to_decimal(value) if places is None else round_places(value, places)


def to_date(value):
    """A date from a date, a datetime or an ISO string; the Linnworks sentinel 0001-01-01 is no date."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        result = value.date()
    elif isinstance(value, dt.date):
        result = value
    else:
        text = str(value).strip().replace("Z", "+00:00")
        try:
            result = dt.datetime.fromisoformat(text).date()
        except ValueError:
            result = dt.date.fromisoformat(text[:10])
    return None if result.year <= 1 else result


def to_datetime(value):
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        result = value
    else:
        result = dt.datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    return None if result.year <= 1 else result


def format_date(value, fmt: str = "%Y-%m-%d") -> str:
    parsed = to_datetime(value) if not isinstance(value, dt.date) or isinstance(value, dt.datetime) else value
    return parsed.strftime(fmt) if parsed else ""


def clean_name(value) -> str:
    """A display name QuickBooks accepts: single spaces, no colon (QuickBooks reserves it for sub-customers)."""
    return _SPACES.sub(" ", str(value or "").replace(":", "-")).strip()


# Linnworks channel codes as the channels spell themselves, so "AMAZON" + "USD" becomes the customer "Amazon USD"
CHANNEL_NAMES = {
    "AMAZON": "Amazon", "EBAY": "eBay", "SHOPIFY": "Shopify", "ETSY": "Etsy", "WOOCOMMERCE": "WooCommerce",
    "BIGCOMMERCE": "BigCommerce", "MAGENTO": "Magento", "WALMART": "Walmart", "ONBUY": "OnBuy",
    "MANOMANO": "ManoMano", "TIKTOK": "TikTok", "NOTONTHEHIGHSTREET": "notonthehighstreet", "DIRECT": "Direct",
    "BACKMARKET": "Back Market", "CDISCOUNT": "Cdiscount", "FRUUGO": "Fruugo", "SQUARESPACE": "Squarespace",
    "WIX": "Wix", "ZALANDO": "Zalando", "TEMU": "Temu", "OTTO": "OTTO",
}


def channel_name(value) -> str:
    """A Linnworks channel code in the channel's own spelling ('EBAY' -> 'eBay'); unknown codes pass through."""
    text = str(value or "").strip()
    return CHANNEL_NAMES.get(text.upper().replace(" ", ""), text)


BUILTIN_FILTERS = {
    "channel_name": channel_name,
    "strip_attn": strip_attn,
    "first_name": first_name,
    "last_name": last_name,
    "country_code": country_code,
    "fit": fit,
    "money": money,
    "decimal": decimal,
    "date": to_date,
    "datetime": to_datetime,
    "format_date": format_date,
    "clean_name": clean_name,
}
