"""The shape of the records the Linnworks source yields, per flow, for ``connex validate``'s field-path check.

``record_schema.json`` (shipped) holds the field names of Linnworks' published API definitions the records are
made of (``OrderDetails`` and what it refers to; ``PurchaseOrderResponse``; ``Supplier``) plus the connector's
own joins and refund record. Linnworks' spec files cannot ship with Connex, but field names are facts:
``derive(spec_folder)`` rebuilds the file from them, and tests/linnworks/test_record_schema.py checks the shipped
file against the reference so the two cannot drift. Regenerate with::

    python -m connex_linnworks.record_schema ../shared/reference/linnworks-specs
"""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path
from typing import Any

SCHEMA_FILE = Path(__file__).with_name("record_schema.json")

# (spec file, definition): the published definitions each flow's record is made of
ORDER = ("orders.json", "OrderDetails")
PURCHASE_ORDER = ("purchaseorder.json", "PurchaseOrderResponse")  # what Get_PurchaseOrder returns
SUPPLIER = ("inventory.json", "Supplier")

# What the connector adds to or builds from those definitions (purchases.py joins the supplier, the location name
# and its country; refunds.refund_record builds one record per refund header from the header, its actioned lines
# and the order).
PURCHASE_ORDER_RECORD = "PurchaseOrderRecord"
PURCHASE_ORDER_JOINS = {"Supplier": "Supplier", "LocationName": "string", "LocationCountry": "string"}
REFUND_RECORD = {
    "RefundHeaderId": "integer", "OrderId": "string", "NumOrderId": "integer", "ExternalReference": "string",
    "OrderSource": "string", "OrderSubSource": "string", "Amount": "number", "Currency": "string",
    "ActionDate": "date-time", "CreatedDate": "date-time", "Reason": "string", "Lines": ["RefundRecordLine"],
    "Order": "OrderDetails",
}
REFUND_RECORD_LINE = {
    "RefundRowId": "string", "SKU": "string", "Title": "string", "Quantity": "integer", "Amount": "number",
    "IsShipping": "boolean", "RefundedUnit": "string", "OrderItemRowId": "string", "Reason": "string",
    "ActionedDate": "date-time",
}
ROOTS = {"orders": "OrderDetails", "purchases": PURCHASE_ORDER_RECORD, "refunds": "RefundRecord"}


def derive(spec_folder: Path) -> dict[str, Any]:
    """The record schema from Linnworks' spec files (``linnworks-specs/``), in ``connex.rules.recordschema``'s
    form: every definition the records reach, field by field, and the connector's own additions."""
    types: dict[str, dict[str, Any]] = {}
    specs: dict[str, dict] = {}

    def definitions(spec: str) -> dict:
        if spec not in specs:
            specs[spec] = json.loads((Path(spec_folder) / spec).read_text(encoding="utf-8")).get("definitions", {})
        return specs[spec]

    def add(spec: str, name: str) -> str:
        if name not in types:
            types[name] = {}  # placed first: definitions refer to themselves (OrderItem.CompositeSubItems)
            properties = definitions(spec)[name].get("properties") or {}
            types[name] = {key: kind(spec, value) for key, value in properties.items()}
        return name

    def kind(spec: str, prop: dict) -> Any:
        if "$ref" in prop:
            return add(spec, prop["$ref"].rsplit("/", 1)[-1])
        if prop.get("type") == "array":
            return [kind(spec, prop.get("items") or {})]
        if prop.get("type") == "object" or "additionalProperties" in prop:
            extra = prop.get("additionalProperties")
            return {"*": kind(spec, extra)} if isinstance(extra, dict) else "any"
        if prop.get("type") == "string" and prop.get("format") in ("date-time", "date"):
            return "date-time"
        return prop.get("type") if prop.get("type") in ("string", "number", "integer", "boolean") else "any"

    add(*ORDER)
    purchase = add(*PURCHASE_ORDER)
    add(*SUPPLIER)
    types[PURCHASE_ORDER_RECORD] = {**types[purchase], **PURCHASE_ORDER_JOINS}
    del types[purchase]
    types["RefundRecord"] = dict(REFUND_RECORD)
    types["RefundRecordLine"] = dict(REFUND_RECORD_LINE)
    return {"roots": dict(ROOTS), "types": dict(sorted(types.items()))}


def dumps(schema: dict[str, Any]) -> str:
    """One type a line: compact, and a change to the reference shows as a readable diff."""
    lines = ['{"roots": ' + json.dumps(schema["roots"]) + ',', ' "types": {']
    items = list(schema["types"].items())
    for i, (name, fields) in enumerate(items):
        lines.append(f"  {json.dumps(name)}: {json.dumps(fields)}" + ("," if i < len(items) - 1 else ""))
    lines.append("}}")
    return "\n".join(lines) + "\n"


@functools.cache
def shipped() -> dict[str, Any]:
    return json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))


def for_flow(flow: str) -> dict[str, Any] | None:
    schema = shipped()
    root = schema["roots"].get(flow)
    return None if root is None else {"root": root, "types": schema["types"]}


if __name__ == "__main__":
    SCHEMA_FILE.write_text(dumps(derive(Path(sys.argv[1]))), encoding="utf-8")
    print(f"wrote {SCHEMA_FILE}")
