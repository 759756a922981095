"""Corrections of posted documents (``sync.on_change: update | void_and_repost``, ``sync --order X --repost``).

``update`` rewrites the posted document in place; ``void_and_repost`` voids it and posts the new version under
the same ledger key with a suffixed number (``1001`` -> ``1001-1``, then ``1001-2``); an order cancelled in the
source after posting is voided. Each correction is exactly once like a post: its intent (status ``correcting``,
the new document, the mode) is committed before the target is touched, and a run that finds a row still
``correcting`` redoes it; both target operations are idempotent (an update to the same content, a void of a void
document, a repost the target already has).
"""

from __future__ import annotations

import dataclasses
import getpass
from decimal import Decimal

from connex.documents import Document

REPORT, UPDATE, VOID_AND_REPOST = "report", "update", "void_and_repost"
MODES = (REPORT, UPDATE, VOID_AND_REPOST)
CORRECTING = "correcting"
VOIDED = "voided"


def who(command: str) -> str:
    """Who made a correction: the operating-system user and the command, for the ledger's history."""
    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name in some containers
        user = "unknown"
    return f"{user} ({command})"


def suffixed(document: Document, count: int) -> Document:
    """The document reposted after ``count`` earlier reposts: its number gets ``-<count>``."""
    base = document.doc_number
    return dataclasses.replace(document, doc_number=f"{base}-{count}")


def reposts_so_far(events: list[dict]) -> int:
    return sum(1 for e in events if e.get("event") == "corrected" and e.get("mode") == VOID_AND_REPOST)


def _money(value) -> str:
    return f"{Decimal(value):f}" if value is not None else "-"


def _line_text(line) -> str:
    what = line.sku or line.item_name or line.description or line.kind
    return f"{what} x{line.quantity:f} = {_money(line.amount)} (tax {_money(line.tax_amount)})"


def differences(old: Document | None, new: Document) -> list[str]:
    """What a bookkeeper sees change between the posted version and the new one, one line per change."""
    if old is None:
        return ["the posted version was not kept (the ledger keeps it from the first post with sync.on_change "
                "update or void_and_repost); the new version: "
                f"total {_money(new.total)} {new.currency}, {len(new.lines)} lines"]
    out = []
    for name in ("doc_number", "txn_date", "currency", "total", "total_tax", "memo", "class_name", "tax_code",
                 "deposit_account", "payment_method", "store_name"):
        before, after = getattr(old, name, None), getattr(new, name, None)
        if before != after:
            out.append(f"{name}: {before if before is not None else '-'} -> {after if after is not None else '-'}")
    party_before = getattr(getattr(old, "customer", None) or getattr(old, "vendor", None), "display_name", None)
    party_after = getattr(getattr(new, "customer", None) or getattr(new, "vendor", None), "display_name", None)
    if party_before != party_after:
        out.append(f"customer: {party_before} -> {party_after}")
    for index in range(max(len(old.lines), len(new.lines))):
        before = _line_text(old.lines[index]) if index < len(old.lines) else None
        after = _line_text(new.lines[index]) if index < len(new.lines) else None
        if before != after:
            out.append(f"line {index + 1}: {before or '(none)'} -> {after or '(removed)'}")
    return out or ["no difference a bookkeeper would see (fields outside the document changed)"]
