"""What the console shows and searches about a document after its post: a small summary kept beside the ledger.

The ledger keeps the mapped document only while its post is in flight, so once posted nothing says which customer,
lines, tax codes and totals went to QuickBooks. When the store records an intent (the document in hand) this
writes a summary row: the customer's display name, the channel's reference, the PO number, date, currency, totals
and the lines (SKU, description, quantity, amounts, tax code), plus one row per SKU so a search by SKU is an
index look-up. No address, e-mail or phone is kept: the console shows them to nobody.

Tables and indexes are created ``IF NOT EXISTS`` (like the exchange-rate cache): a derived cache any version can
add or ignore, rebuilt as documents are posted again. ``ledger_number``, ``ledger_source_id``, ``ledger_day`` and
``ledger_failed`` are indexes on the ledger itself for the console's look-ups by number, its per-day chart
and its failures page.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS document_index (key TEXT PRIMARY KEY, kind TEXT, customer TEXT COLLATE NOCASE, "
    "reference TEXT COLLATE NOCASE, po_number TEXT COLLATE NOCASE, txn_date TEXT, currency TEXT, total TEXT, "
    "summary TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS document_skus (sku TEXT NOT NULL COLLATE NOCASE, key TEXT NOT NULL, "
    "PRIMARY KEY (sku, key)) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS document_index_customer ON document_index (customer)",
    "CREATE INDEX IF NOT EXISTS document_index_reference ON document_index (reference)",
    "CREATE INDEX IF NOT EXISTS document_index_po ON document_index (po_number)",
    "CREATE INDEX IF NOT EXISTS document_skus_key ON document_skus (key)",
    "CREATE INDEX IF NOT EXISTS ledger_number ON ledger (number)",
    "CREATE INDEX IF NOT EXISTS ledger_source_id ON ledger (source_id)",
    # the chart counts each day's documents by status from this index alone, in its order (no sorting)
    "CREATE INDEX IF NOT EXISTS ledger_day ON ledger (substr(updated_at, 1, 10), status)",
    # the failed rows alone, with every column the failures page groups by: read from this small index, never
    # from the table, whose failed rows carry their source records
    "CREATE INDEX IF NOT EXISTS ledger_failed ON ledger (updated_at, key, flow, kind, source_id, number, error, "
    "attempts, status) WHERE status = 'failed'",
)

UPSERT = (
    "INSERT INTO document_index (key, kind, customer, reference, po_number, txn_date, currency, total, summary) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET kind = excluded.kind, "
    "customer = excluded.customer, reference = excluded.reference, po_number = excluded.po_number, "
    "txn_date = excluded.txn_date, currency = excluded.currency, total = excluded.total, summary = excluded.summary"
)
CLEAR_SKUS = "DELETE FROM document_skus WHERE key = ?"
ADD_SKU = "INSERT OR IGNORE INTO document_skus (sku, key) VALUES (?, ?)"

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


def summary(key: str, document: Any) -> tuple[tuple, list[tuple]] | None:
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
    row = (key, kind, name, data.get("source_reference"), po_number, _plain(data.get("txn_date")),
           data.get("currency"), _plain(data.get("total")), json.dumps(body, ensure_ascii=False))
    skus = sorted({str(line["sku"]) for line in lines if line.get("sku")})
    return row, [(sku, key) for sku in skus]


def rows(entries: Iterable[Any]) -> tuple[list[tuple], list[tuple], list[tuple]]:
    """(index rows, keys whose SKUs are replaced, SKU rows) for the ledger entries that carry a document."""
    index, keys, skus = [], [], []
    for entry in entries:
        found = summary(entry.key, entry.document) if entry.document is not None else None
        if found is None:
            continue
        index.append(found[0])
        keys.append((entry.key,))
        skus.extend(found[1])
    return index, keys, skus
