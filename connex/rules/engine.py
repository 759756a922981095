"""Source record in, canonical document(s) out: map, apply rules, match the customer, build, balance.

Nothing here talks to a remote system; the same call serves ``sync``, ``explain``, ``test`` and the benchmarks.
A record that cannot be mapped yields a ``DocumentError`` naming the document and every failing field; it never
raises, so one bad order cannot stop the others.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from connex.documents import Document, PurchaseDocument
from connex.errors import DocumentError, DocumentRef
from connex.rules.build import DEFAULT_ROUNDING_UNITS, BuildError, build, companion_bill, require
from connex.rules.customers import MatchingError, customer_display_name
from connex.rules.loader import LoadedRules
from connex.rules.mapping import SOURCE_ITEM
from connex.rules.ruleset import RuleTrace

FLOW_KIND = {"orders": "order", "refunds": "refund", "purchases": "purchase order", "inventory": "stock level"}


@dataclass
class MapResult:
    flow: str
    source_id: str
    number: str | None
    documents: list[Any] = field(default_factory=list)
    mapped: dict | None = None
    traces: list[RuleTrace] = field(default_factory=list)
    skipped: str | None = None
    error: DocumentError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.skipped is None


@dataclass
class EngineSettings:
    document: str = "sales_receipt"
    customer_matching: str = "store_name_currency"
    single_customer_name: str = "Web Store"
    connection: str | None = None
    exchange_rates: str = "quickbooks"
    rounding_units: int = DEFAULT_ROUNDING_UNITS

    @classmethod
    def from_sync(cls, sync) -> EngineSettings:
        return cls(document=sync.document, customer_matching=sync.customer_matching,
                   single_customer_name=sync.single_customer_name, connection=sync.connection,
                   exchange_rates=sync.exchange_rates)


class RulesEngine:
    def __init__(self, rules: LoadedRules, settings: EngineSettings | None = None):
        self.rules = rules
        self.settings = settings or EngineSettings()
        self._sync_view = dataclasses.asdict(self.settings)

    def map(self, flow: str, record: dict) -> MapResult:
        mapping = self.rules.mappings.get(flow)
        if mapping is None:
            raise KeyError(f"no mapping for flow '{flow}'")
        context = mapping.context_for(record, {"sync": self._sync_view})
        data, failures = mapping.evaluate(context)
        source_id = str(data.get("source_id") or _guess_id(record))
        number = data.get("doc_number")
        result = MapResult(flow, source_id, str(number) if number is not None else None, mapped=data)

        def fail(field_name: str | None, message: str) -> MapResult:
            ref = DocumentRef(FLOW_KIND[flow], source_id, field_name, result.number)
            result.error = DocumentError(message, where=ref)
            return result

        line_items = [line.pop(SOURCE_ITEM, None) for line in data.get("lines") or []]
        # rules run even when some fields failed: a rule that says "do not import" outranks a mapping problem
        traces, skip = self.rules.ruleset.apply(flow, data, context, line_items, mapping.line_alias,
                                                self.settings.connection)
        result.traces = traces
        if skip:
            result.skipped = skip
            return result
        if failures:
            first, rest = failures[0], failures[1:]
            detail = first.message + "".join(f"; also field {f.field}: {f.message}" for f in rest)
            return fail(first.field, detail)
        broken = next((t for t in traces if t.error), None)
        if broken is not None:
            return fail(None, f"rule {broken.rule_id} ({broken.where}): {broken.error}")
        try:
            require(mapping.document, data)
        except BuildError as exc:
            return fail(exc.field, exc.message)
        if mapping.document in ("sales", "refund"):
            try:
                name = customer_display_name(self.settings.customer_matching, data, self.settings.single_customer_name)
            except MatchingError as exc:
                return fail("customer", str(exc))
            customer = data.setdefault("customer", {})
            customer["display_name"] = name
            customer["currency"] = data.get("currency")
        if mapping.document == "purchase" and isinstance(data.get("vendor"), dict):
            data["vendor"].setdefault("currency", data.get("currency"))
        try:
            document = build(mapping.document, data, rounding_units=self.settings.rounding_units)
        except BuildError as exc:
            return fail(exc.field, exc.message)
        result.documents.append(document)
        if isinstance(document, PurchaseDocument) and data.get("_bill"):
            result.documents.append(companion_bill(document))
        return result


def _guess_id(record: dict) -> str:
    for key in ("OrderId", "pkOrderID", "pkPurchaseID", "RefundHeaderId", "sku"):
        if isinstance(record, dict) and record.get(key):
            return str(record[key])
    return "?"


def document_to_plain(document: Any) -> Any:
    """Documents as plain data (Decimals as strings, dates ISO) for display, fixtures and JSON."""
    if dataclasses.is_dataclass(document):
        return {f.name: document_to_plain(getattr(document, f.name)) for f in dataclasses.fields(document)}
    if isinstance(document, dict):
        return {k: document_to_plain(v) for k, v in document.items() if not str(k).startswith("_")}
    if isinstance(document, (list, tuple)):
        return [document_to_plain(v) for v in document]
    if isinstance(document, Decimal):
        return str(document)
    if hasattr(document, "isoformat"):
        return document.isoformat()
    return document


__all__ = ["Document", "EngineSettings", "MapResult", "RulesEngine", "document_to_plain"]
