"""A target connector that writes mapped documents to JSON-lines files: handy to review what a sync would post."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Iterator
from decimal import Decimal
from pathlib import Path

from connex.connectors import InventoryLevel, TargetConnector
from connex.documents import Document, Party, PostResult


def _plain(value):
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


class JsonlTarget(TargetConnector):
    name = "jsonl"
    config_schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["folder"],
        "properties": {"folder": {"type": "string", "minLength": 1}},
    }

    def __init__(self, config, *, state=None):
        super().__init__(config, state=state)
        self.folder = Path(self.config["folder"])
        self.folder.mkdir(parents=True, exist_ok=True)

    def _keys(self, filename: str, field: str) -> dict[str, str]:
        path = self.folder / filename
        if not path.exists():
            return {}
        rows = (json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
        return {row[field]: row["id"] for row in rows}

    def _append(self, filename: str, row: dict) -> None:
        with (self.folder / filename).open("a", encoding="utf-8") as out:
            out.write(json.dumps(row, default=_plain, ensure_ascii=False) + "\n")

    def _party(self, filename: str, party: Party) -> str:
        key = f"{party.display_name}|{party.currency or ''}"
        known = self._keys(filename, "key")
        if key in known:
            return known[key]
        new_id = str(len(known) + 1)
        self._append(filename, {"key": key, "id": new_id, **dataclasses.asdict(party)})
        return new_id

    def find_or_create_customer(self, customer: Party) -> str:
        return self._party("customers.jsonl", customer)

    def find_or_create_vendor(self, vendor: Party) -> str:
        return self._party("vendors.jsonl", vendor)

    def find_or_create_item(self, sku: str, description: str | None = None) -> str:
        return sku

    def post_documents(self, documents: list[Document]) -> list[PostResult]:
        known = self._keys("documents.jsonl", "key")
        results = []
        for doc in documents:
            if doc.key in known:
                results.append(PostResult(doc.key, "exists", target_id=known[doc.key]))
                continue
            new_id = f"{doc.kind}-{len(known) + 1}"
            known[doc.key] = new_id
            self._append("documents.jsonl", {"key": doc.key, "id": new_id, **dataclasses.asdict(doc)})
            results.append(PostResult(doc.key, "posted", target_id=new_id))
        return results

    def find_posted(self, document: Document) -> PostResult | None:
        known = self._keys("documents.jsonl", "key")
        return PostResult(document.key, "exists", target_id=known[document.key]) if document.key in known else None

    def read_inventory(self, skus: Iterable[str] | None = None) -> Iterator[InventoryLevel]:
        path = self.folder / "inventory.jsonl"
        wanted = set(skus) if skus is not None else None
        if not path.exists():
            return
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                if wanted is None or row["sku"] in wanted:
                    yield InventoryLevel(row["sku"], int(row["quantity_on_hand"]), row.get("name"))
