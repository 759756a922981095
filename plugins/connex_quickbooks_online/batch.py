"""Batched creates with deterministic idempotency keys.

A batch's ``requestid`` is a hash of the realm and of every item in it (its bId and its exact body), so a
retry of the same batch after a timeout is answered by QuickBooks from its requestid memory instead of
creating anything twice, while a batch that differs in any way (a fixed document, a different chunk) is
genuinely new work. Each item's ``bId`` is a hash of its document key, so answers map back to documents
whatever the chunking.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass

from connex_quickbooks_online.client import BATCH_MAX_ITEMS, QboClient
from connex_quickbooks_online.faults import Fault, parse_fault

BID_LENGTH = 14  # requestid (36) + bId must stay within QBO's 50 characters
REQUEST_ID_LENGTH = 36


@dataclass
class Create:
    key: str  # stable identity: Document.key, "customer:<name>|<currency>", "item:<sku>"
    entity: str
    body: dict

    @property
    def bid(self) -> str:
        return hashlib.sha1(self.key.encode("utf-8")).hexdigest()[:BID_LENGTH]


@dataclass
class Outcome:
    key: str
    entity: str
    created: dict | None = None
    fault: Fault | None = None


def request_id(realm: str, creates: list[Create]) -> str:
    digest = hashlib.sha256(realm.encode("utf-8"))
    for create in creates:
        digest.update(create.bid.encode("ascii"))
        digest.update(json.dumps(create.body, sort_keys=True, separators=(",", ":")).encode("utf-8"))
    return digest.hexdigest()[:REQUEST_ID_LENGTH]


def chunks(items: list, size: int = BATCH_MAX_ITEMS) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def send_creates(client: QboClient, realm: str, creates: list[Create]) -> Iterator[list[Outcome]]:
    """Send ``creates`` 30 at a time; yields each chunk's outcomes in order. A ``ConnexError`` from a whole
    batch (throttled out, auth) propagates: the caller decides what the unsent rest becomes."""
    for chunk in chunks(creates):
        items = [{"bId": c.bid, "operation": "create", c.entity: c.body} for c in chunk]
        answers = client.batch(items, requestid=request_id(realm, chunk))
        outcomes = []
        for create in chunk:
            answer = answers[create.bid]
            fault = parse_fault(answer)
            if fault is not None:
                outcomes.append(Outcome(create.key, create.entity, fault=fault))
            else:
                outcomes.append(Outcome(create.key, create.entity, created=answer.get(create.entity)))
        yield outcomes
