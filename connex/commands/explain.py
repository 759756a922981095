"""`connex explain NUMBER`: how one order, purchase order or refund maps, for each rule whether it fired and the
values it compared, which mapping file was used, how the customer name came about, and what the ledger says.

The record is read from the configured source by its natural number (order number or id; PO number such as
PO-000002; refund number 100013-R7, or an order number for all its refunds); ``--input FILE`` explains a record
from a JSON file instead (for example one saved from the Linnworks API), which needs no credentials.
"""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from pathlib import Path

from ruamel.yaml import YAML

from connex.commands import _provenance
from connex.commands._setup import config_or_none, engine_for
from connex.connectors import OrderQuery, TargetConnector
from connex.errors import ConfigError, ConnexError, TransientError
from connex.plugin_manager import get_plugins
from connex.rules.engine import MapResult, document_to_plain
from connex.runtime import build_source, build_target
from connex.state import open_state


def add_arguments(parser):
    parser.add_argument("order_id", metavar="NUMBER", nargs="?",
                        help="order number or id; with --flow purchases a PO number (PO-000002); with --flow refunds "
                             "a refund number (100013-R7) or an order number (all its refunds)")
    parser.add_argument("--input", metavar="FILE", help="explain the record in this JSON file instead")
    parser.add_argument("--flow", default="orders", choices=["orders", "refunds", "purchases", "inventory"])
    parser.add_argument("--json", action="store_true", help="print the explanation as JSON")


def _fetch(config, flow: str, number: str) -> list[dict]:
    """The records ``number`` names in ``flow``, read from the source."""
    if config is None:
        raise ConfigError("explaining a record from the source needs a configuration (or use --input FILE)")
    if flow == "inventory":
        raise ConfigError("explain --flow inventory needs --input FILE (a stock record)")
    mode = config.sync.order_mode if config.sync.order_mode != "off" else "processed"
    try:
        with build_source(config, get_plugins()) as source:
            if flow == "purchases":
                found = source.find_purchase_order(number)
                records = [found] if found is not None else []
            elif flow == "refunds":
                records = source.find_refunds(number)
            else:
                records = [record for page in source.read_orders(OrderQuery(mode=mode, order_ids=(number,)))
                           for record in page.records][:1]
    except TransientError as exc:
        raise TransientError(f"the source ({config.source_plugin}): {exc}") from None
    except NotImplementedError as exc:
        raise ConfigError(str(exc)) from None
    if not records:
        what = {"purchases": "purchase order", "refunds": "actioned refund (by refund or order number)"}
        raise ConfigError(f"{what.get(flow, 'order')} {number} was not found in {config.source_plugin}")
    return records


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
    tax_codes table, else the company's code at that rate, or its out-of-scope code for another country's tax;
    see docs/tax.md)."""
    reasons = []
    abroad = document.get("tax_country")
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
            if abroad:
                why += (f"; if {abroad} is not the company's country, its out-of-scope code (that country's tax "
                        "stays in the amount)")
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
    if data.get("mapping_file"):
        print(f"mapping: {data['mapping_file']}", file=out)
    origin = data.get("customer")
    if origin:
        print(f"{origin['party']}: {origin['name']!r}: {origin['how']}", file=out)
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
    for n, document in enumerate(data["documents"]):
        print(f"tax codes ({document.get('kind')}):", file=out)
        for number, reason in enumerate(tax_reasons(document)):
            print(f"  line {number}: {reason}", file=out)
        resolved = (data.get("tax_resolved") or [])
        if n < len(resolved) and resolved[n]:
            print(f"tax codes in the company ({document.get('kind')}):", file=out)
            for number, reason in enumerate(resolved[n]):
                print(f"  line {number}: {reason}", file=out)
        elif data.get("tax_unresolved"):
            print(f"  (the company's codes were not read: {data['tax_unresolved']})", file=out)
        print(f"document ({document.get('kind')}):", file=out)
        yaml = YAML(typ="safe")
        yaml.default_flow_style = False
        yaml.dump(_without_nulls(document), out)
    if "ledger" in data:
        for line in _provenance.ledger_lines(data["ledger"], data.get("synced", True)):
            print(line, file=out)


def _target(config, state):
    """The configured target connector when it can say which company code a line resolves to (``explain_tax``),
    else the reason it is not asked (explain works without one). It shares the state file: QuickBooks Online
    rotates its refresh token on use, and the new one must be kept where the next sync looks for it."""
    plugins = get_plugins()
    factory = plugins.targets().get(config.target_plugin)
    if factory is None or not hasattr(factory, "explain_tax"):
        return f"the {config.target_plugin} target does not report its codes"
    if state is None:
        return "no state file yet: run connex sync once (the target's credentials are kept there)"
    try:
        return build_target(config, plugins, state)
    except ConnexError as exc:
        return str(exc)


def _resolve_tax(target, result: MapResult, data: dict) -> None:
    """Which of the company's tax codes each line resolves to, from the target itself (QuickBooks Online reads
    the company's tax set-up: four reads); targets without ``explain_tax`` and an unreachable target leave the
    rule-level reasons alone and say why."""
    if isinstance(target, str):
        data["tax_unresolved"] = target
        return
    explain = getattr(target, "explain_tax", None)
    if explain is None or not result.documents:
        return
    try:
        data["tax_resolved"] = [explain(document) for document in result.documents]
    except (ConnexError, OSError) as exc:
        data["tax_unresolved"] = f"QuickBooks not reached: {exc}"


def run(args):
    config = config_or_none(args)
    if args.input:
        record = json.loads(Path(args.input).read_text(encoding="utf-8"), parse_float=Decimal)
        if isinstance(record, dict) and isinstance(record.get("Orders"), list):  # a GetOpenOrdersDetails answer
            record = record["Orders"][0]
        records = [record]
    elif args.order_id:
        records = _fetch(config, args.flow, args.order_id)
    else:
        raise ConfigError("give a NUMBER or --input FILE")
    engine = engine_for(config)
    mapping = engine.rules.mappings.get(args.flow)
    state = None
    if config is not None and config.state_path.exists():
        state = open_state(config.state_path, connection=config.name)
    explained, failed = [], False
    target = None
    try:
        for record in records:
            result = engine.map(args.flow, record)
            failed = failed or result.error is not None
            data = explanation(result)
            data["mapping_file"] = getattr(mapping, "source_file", None)
            data["customer"] = _provenance.customer_origin(result, engine.settings.customer_matching,
                                                           engine.settings.single_customer_name)
            if config is not None:
                data["ledger"] = _provenance.ledger_state(state, result)
                data["synced"] = state is not None
                target = target or _target(config, state)
                _resolve_tax(target, result, data)
            explained.append(data)
    finally:
        if state is not None:
            state.close()
        if isinstance(target, TargetConnector):
            target.close()
    if args.json:
        print(json.dumps(explained[0] if len(explained) == 1 else explained, indent=2, default=str,
                         ensure_ascii=False))
    else:
        for n, data in enumerate(explained):
            if n:
                print(file=sys.stdout)
            print_text(data)
    return 1 if failed else 0
