"""What the console shows and searches about a document after its post: a small summary kept beside the ledger.

The ledger keeps the mapped document only while its post is in flight, so once posted nothing says which customer,
lines, tax codes and totals went to QuickBooks. When the store records an intent (the document in hand) this
writes a summary row: the customer's display name, the channel's reference, the PO number, date, currency, totals
and the lines (SKU, description, quantity, amounts, tax code), plus one row per SKU so a search by SKU is an
index look-up. No address, e-mail or phone is kept: the console shows them to nobody.

The tables (``document_index``, ``document_skus``) and the console's indexes on the ledger are in
``connex/state/tables.py`` (Alembic revision 0004), keyed by connection; the store writes these rows in the
transaction that records the intent (``SqlStateStore.record``).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

_LINE_FIELDS = ("kind", "sku", "description", "quantity", "unit_price", "amount", "tax_amount", "tax_code",
                "tax_rate", "item_name", "class_name")
_DOCUMENT_FIELDS = ("doc_number", "txn_date", "currency", "total", "total_tax", "exchange_rate", "memo", "tax_code",
                    "prices_include_tax", "store_name", "payment_method", "deposit_account", "ship_via",
                    "source_reference", "linked_po_number", "original_doc_number", "due_date", "status")


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def summary(key: str, document: Any) -> tuple[dict, list[dict]] | None:
    """The index row and SKU rows of a stored document (``documents.to_record`` form), or None when it is not
    one."""
    if not isinstance(document, dict) or not isinstance(document.get("data"), dict):
        return None
    data = document["data"]
    party = data.get("customer") or data.get("vendor") or {}
    name = party.get("display_name") if isinstance(party, dict) else None
    kind = data.get("kind")
    lines = [{f: _plain(line.get(f)) for f in _LINE_FIELDS if line.get(f) is not None}
             for line in data.get("lines") or [] if isinstance(line, dict)]
    body = {f: _plain(data.get(f)) for f in _DOCUMENT_FIELDS if data.get(f) not in (None, "")}
    body.update(kind=kind, party=name, party_role="vendor" if data.get("vendor") else "customer", lines=lines)
    po_number = data.get("linked_po_number") or (data.get("doc_number") if kind == "purchase_order" else None)
    reference = data.get("source_reference")
    row = {"key": key, "kind": kind, "customer": name, "reference": reference, "po_number": po_number,
           "txn_date": _plain(data.get("txn_date")), "currency": data.get("currency"),
           "total": _plain(data.get("total")), "summary": json.dumps(body, ensure_ascii=False),
           "customer_folded": _folded(name), "reference_folded": _folded(reference),
           "po_number_folded": _folded(po_number)}
    skus = sorted({str(line["sku"]).lower() for line in lines if line.get("sku")})
    return row, [{"sku": sku, "key": key} for sku in skus]


def _folded(value: Any) -> str | None:
    """A searchable value in lower case (the console's look-ups are case-insensitive on both databases)."""
    return str(value).lower() if value not in (None, "") else None


def rows(entries: Iterable[Any]) -> tuple[list[dict], list[str], list[dict]]:
    """(index rows, keys whose SKUs are replaced, SKU rows) for the ledger entries that carry a document."""
    index, keys, skus = [], [], []
    for entry in entries:
        found = summary(entry.key, entry.document) if entry.document is not None else None
        if found is None:
            continue
        index.append(found[0])
        keys.append(entry.key)
        skus.extend(found[1])
    return index, keys, skus
