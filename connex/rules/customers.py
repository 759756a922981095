"""Customer matching: which QuickBooks customer an order lands on, by the configured mode.

A QuickBooks customer has exactly one currency, so ``store_name_currency`` ("Amazon USD", "eBay GBP") is the mode
for multi-currency sellers. A ``map_customer_name`` rule overrides every mode.
"""

from __future__ import annotations

from connex.rules.filters import clean_name


class MatchingError(ValueError):
    pass


def _full(first: str, last: str) -> str:
    return " ".join(p for p in (first, last) if p)


def _names(document: dict) -> tuple[str, str]:
    customer = document.get("customer") or {}
    return clean_name(customer.get("first_name")), clean_name(customer.get("last_name"))


def _store_currency(document: dict) -> str:
    store = clean_name(document.get("store_name"))
    currency = clean_name(document.get("currency")).upper()
    return f"{store} {currency}" if store and currency else ""


def _company_else_full(document: dict) -> str:
    return clean_name((document.get("customer") or {}).get("company")) or _full(*_names(document))


def _last_first(document: dict) -> str:
    first, last = _names(document)
    return ", ".join(p for p in (last, first) if p)


# mode -> (the name from the mapped document, what an empty name means); each computes only its own name
_CANDIDATES = {
    "store_name": (lambda doc: clean_name(doc.get("store_name")), "the store name"),
    "store_name_currency": (_store_currency, "the store name or currency"),
    "single_customer": (None, "sync.single_customer_name"),
    "company_else_full_name": (_company_else_full, "the billing company and the customer's name"),
    "last_first": (_last_first, "the customer's name"),
    "first_last": (lambda doc: _full(*_names(doc)), "the customer's name"),
    "billing_email": (lambda doc: clean_name((doc.get("customer") or {}).get("email")), "the billing email"),
    "order_number": (lambda doc: clean_name(doc.get("doc_number")), "the order number"),
}
MODES = tuple(_CANDIDATES)


def customer_display_name(mode: str, document: dict, single_name: str = "Web Store") -> str:
    """The display name for ``document`` (the mapped dict, after rules) under ``mode``."""
    customer = document.get("customer") or {}
    if customer.get("display_name"):
        return clean_name(customer["display_name"])
    if mode not in _CANDIDATES:
        raise MatchingError(f"unknown customer matching mode '{mode}'")
    name_of, source = _CANDIDATES[mode]
    name = clean_name(single_name) if name_of is None else name_of(document)
    if not name:
        raise MatchingError(f"customer matching '{mode}' found no name: {source} is empty")
    return name
