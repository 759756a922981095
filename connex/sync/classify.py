"""Deciding, per mapped document, what the ledger says to do with it."""

from __future__ import annotations

import hashlib

from connex.documents import hash_record
from connex.state import codec
from connex.state.store import LedgerRow

POST, UNCHANGED, CHANGED, FAILED_BEFORE, WAITING = "post", "unchanged", "changed", "failed_before", "waiting"


def content_hash(document) -> str:
    return hashlib.sha256(codec.dumps(hash_record(document)).encode("utf-8")).hexdigest()[:20]


def decide(row: LedgerRow | None, digest: str, *, retry_failed: bool, forced: bool) -> str:
    """``forced``: the user named this document (``--order``)."""
    if row is None or row.status == "in_flight":
        return POST
    # summarised: in a summary (connex.sync.summary_flow), which is posted or will be; never posted on its own
    if row.status in ("posted", "exists", "changed", "summarised"):
        return UNCHANGED if row.content_hash == digest else CHANGED
    if row.status == "queued":
        return WAITING
    if row.status == "failed":
        # a failed document is retried when asked to, or on its own when its source changed (the user fixed it)
        return POST if (retry_failed or forced or row.content_hash != digest) else FAILED_BEFORE
    return POST  # skipped earlier by a rule that no longer applies
