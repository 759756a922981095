"""`connex explain ORDER_ID`: how one order maps, and for each rule whether it fired and the values it compared.

The order is read from the configured source; ``--input FILE`` explains a record from a JSON file instead (for
example one saved from the Linnworks API), which needs no credentials.
"""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from pathlib import Path

from ruamel.yaml import YAML

from connex.commands._setup import config_or_none, engine_for
from connex.connectors import OrderQuery
from connex.errors import ConfigError, TransientError
from connex.plugin_manager import get_plugins
from connex.rules.engine import MapResult, document_to_plain
from connex.runtime import build_source


def add_arguments(parser):
    parser.add_argument("order_id", metavar="ORDER_ID", nargs="?", help="the Linnworks order id (or number)")
    parser.add_argument("--input", metavar="FILE", help="explain the record in this JSON file instead")
    parser.add_argument("--flow", default="orders", choices=["orders", "refunds", "purchases", "inventory"])
    parser.add_argument("--json", action="store_true", help="print the explanation as JSON")


def _fetch(config, order_id: str) -> dict:
    if config is None:
        raise ConfigError("explaining an order from the source needs a configuration (or use --input FILE)")
    mode = config.sync.order_mode if config.sync.order_mode != "off" else "processed"
    try:
        with build_source(config, get_plugins()) as source:
            for page in source.read_orders(OrderQuery(mode=mode, order_ids=(order_id,))):
                for record in page.records:
                    return record
    except TransientError as exc:
        raise TransientError(f"the source ({config.source_plugin}): {exc}") from None
    raise ConfigError(f"order {order_id} was not found in {config.source_plugin}")


def _value(value):
    if isinstance(value, Decimal):
        return str(value)
    return value


def explanation(result: MapResult) -> dict:
    return {
        "flow": result.flow,
        "source_id": result.source_id,
        "number": result.number,
        "status": "failed" if result.error else "skipped" if result.skipped else "mapped",
        "error": str(result.error) if result.error else None,
        "skipped": result.skipped,
        "rules": [
            {
                "rule": t.rule_id, "action": t.action, "where": str(t.where), "fired": t.fired,
                "line": t.line, "not_run": t.skipped, "error": t.error,
                "conditions": [{"field": c.field, "value": _value(c.value), "found": c.found,
                                "comparison": c.comparison, "expected": _value(c.expected), "result": c.result}
                               for c in t.conditions],
                "writes": [{"field": w.field, "value": _value(w.value), "overrides": w.overrides} for w in t.writes],
            }
            for t in result.traces
        ],
        "documents": [document_to_plain(d) for d in result.documents],
    }


def tax_reasons(document: dict) -> list[str]:
    """How the target will choose each line's tax code: a rule's name, else the line's rate (the target's
    tax_codes table, else the company's code at that rate; see docs/tax.md)."""
    reasons = []
    for line in document.get("lines") or []:
        label = line.get("description") or line.get("sku") or line.get("kind")
        rate = line.get("tax_rate")
        tax = line.get("tax_amount") or "0"
        if line.get("tax_code"):
            why = f"{line['tax_code']!r}, named by a map_line_tax_code rule"
        elif line.get("kind") == "rounding":
            why = "the company's zero-rated code (US: NON): rounding carries no tax"
        elif document.get("tax_code"):
            why = f"{document['tax_code']!r}, named by a map_tax_code rule"
        elif line.get("kind") != "discount" and Decimal(str(tax)) == 0:
            why = "the company's 0% code (US: NON): no tax was charged on the line"
        elif rate is not None:
            why = f"the code for {rate}% (the line's rate): the target's tax_codes entry, else the company's code at it"
        else:
            why = "the code for the rate the line's amounts imply"
        reasons.append(f"{label}: {why}; tax {tax}")
    return reasons


def _without_nulls(value):
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def print_text(data: dict, out=sys.stdout) -> None:
    title = f"{data['flow']}: {data['number'] or '?'} ({data['source_id']}): {data['status']}"
    print(title, file=out)
    if data["error"]:
        print(f"  error: {data['error']}", file=out)
    if data["skipped"]:
        print(f"  skipped: {data['skipped']}", file=out)
    print("rules, top-down:", file=out)
    if not data["rules"]:
        print("  (no rules apply to this flow)", file=out)
    for rule in data["rules"]:
        mark = "fired" if rule["fired"] else "not run" if rule["not_run"] else "did not fire"
        line = f" on line {rule['line']}" if rule["line"] is not None else ""
        print(f"  {rule['rule']} [{rule['action']}] {rule['where']}{line}: {mark}", file=out)
        if rule["not_run"]:
            print(f"    {rule['not_run']}", file=out)
        for c in rule["conditions"]:
            value = repr(c["value"]) if c["found"] else "(missing)"
            expected = "" if c["comparison"] == "map_all" else f" {c['expected']!r}"
            print(f"    {c['field']} = {value} {c['comparison']}{expected} -> {str(c['result']).lower()}", file=out)
        for w in rule["writes"]:
            over = f" (overrides rule {w['overrides']})" if w["overrides"] else ""
            print(f"    sets {w['field']} = {w['value']!r}{over}", file=out)
        if rule["error"]:
            print(f"    error: {rule['error']}", file=out)
    for document in data["documents"]:
        print(f"tax codes ({document.get('kind')}):", file=out)
        for number, reason in enumerate(tax_reasons(document)):
            print(f"  line {number}: {reason}", file=out)
        print(f"document ({document.get('kind')}):", file=out)
        yaml = YAML(typ="safe")
        yaml.default_flow_style = False
        yaml.dump(_without_nulls(document), out)


def run(args):
    config = config_or_none(args)
    if args.input:
        record = json.loads(Path(args.input).read_text(encoding="utf-8"), parse_float=Decimal)
        if isinstance(record, dict) and isinstance(record.get("Orders"), list):  # a GetOpenOrdersDetails answer
            record = record["Orders"][0]
    elif args.order_id:
        record = _fetch(config, args.order_id)
    else:
        raise ConfigError("give an ORDER_ID or --input FILE")
    result = engine_for(config).map(args.flow, record)
    data = explanation(result)
    if args.json:
        print(json.dumps(data, indent=2, default=str, ensure_ascii=False))
    else:
        print_text(data)
    return 1 if result.error else 0
