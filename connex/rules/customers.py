"""Customer matching: which QuickBooks customer an order lands on, by the configured mode.

A QuickBooks customer has exactly one currency, so ``store_name_currency`` ("Amazon USD", "eBay GBP") is the mode
for multi-currency sellers. A ``map_customer_name`` rule overrides every mode.
"""

from __future__ import annotations

from connex.rules.filters import clean_name

MODES = ("store_name", "store_name_currency", "single_customer", "company_else_full_name", "last_first",
         "first_last", "billing_email", "order_number")


class MatchingError(ValueError):
    pass


def _full(first: str, last: str) -> str:
    return " ".join(p for p in (first, last) if p)


def customer_display_name(mode: str, document: dict, single_name: str = "Web Store") -> str:
    """The display name for ``document`` (the mapped dict, after rules) under ``mode``."""
    customer = document.get("customer") or {}
    if customer.get("display_name"):
        return clean_name(customer["display_name"])
    store = clean_name(document.get("store_name"))
    currency = clean_name(document.get("currency")).upper()
    first, last = clean_name(customer.get("first_name")), clean_name(customer.get("last_name"))
    candidates = {
        "store_name": (store, "the store name"),
        "store_name_currency": (f"{store} {currency}" if store and currency else "", "the store name or currency"),
        "single_customer": (clean_name(single_name), "sync.single_customer_name"),
        "company_else_full_name": (clean_name(customer.get("company")) or _full(first, last),
                                   "the billing company and the customer's name"),
        "last_first": (", ".join(p for p in (last, first) if p), "the customer's name"),
        "first_last": (_full(first, last), "the customer's name"),
        "billing_email": (clean_name(customer.get("email")), "the billing email"),
        "order_number": (clean_name(document.get("doc_number")), "the order number"),
    }
    if mode not in candidates:
        raise MatchingError(f"unknown customer matching mode '{mode}'")
    name, source = candidates[mode]
    if not name:
        raise MatchingError(f"customer matching '{mode}' found no name: {source} is empty")
    return name
