"""ISO 4217 codes -> the names QuickBooks Desktop's built-in currency list uses in ``CurrencyRef/FullName``.

QuickBooks names its currencies in English (a few differ from ISO's own names: "British Pound Sterling",
"Chinese Yuan Renminbi"); a code missing from this table falls back to the ISO name from pycountry, which is
what QuickBooks uses for most of the others.
"""

from __future__ import annotations

import pycountry

QUICKBOOKS_NAMES = {
    "AED": "UAE Dirham",
    "AUD": "Australian Dollar",
    "BRL": "Brazilian Real",
    "CAD": "Canadian Dollar",
    "CHF": "Swiss Franc",
    "CNY": "Chinese Yuan Renminbi",
    "CZK": "Czech Koruna",
    "DKK": "Danish Krone",
    "EUR": "Euro",
    "GBP": "British Pound Sterling",
    "HKD": "Hong Kong Dollar",
    "HUF": "Hungarian Forint",
    "INR": "Indian Rupee",
    "JPY": "Japanese Yen",
    "MXN": "Mexican Peso",
    "NOK": "Norwegian Krone",
    "NZD": "New Zealand Dollar",
    "PLN": "Polish Zloty",
    "SEK": "Swedish Krona",
    "SGD": "Singapore Dollar",
    "USD": "US Dollar",
    "ZAR": "South African Rand",
}


def currency_name(code: str | None) -> str | None:
    """The QuickBooks currency name for an ISO code (case-insensitive); None for None or an unknown code."""
    if not code:
        return None
    code = code.strip().upper()
    if code in QUICKBOOKS_NAMES:
        return QUICKBOOKS_NAMES[code]
    found = pycountry.currencies.get(alpha_3=code)
    return found.name if found else None
