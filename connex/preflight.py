"""``connex check``: every name the config, the rules and recent orders need, asked of the live target at once.

Names come from three places, each kept with the ``file:line`` that names it: the target's config keys (accounts
and Connex's own items, with their defaults), rule and mapping values written literally (a ``map_class`` rule's
"Retail"), and what recent source orders map to (their SKUs, and any name a template computes). The target
answers through ``TargetConnector.preflight`` without changing anything; this module only gathers and reports.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from connex.connectors import NAME_KINDS, Finding, OrderQuery, Preflight, TargetConnector, Wanted
from connex.errors import ConnexError
from connex.fieldsupport import mapping_settings
from connex.rules.templates import CompiledTemplate
from connex.yamlfile import load_yaml

log = logging.getLogger("connex.check")

#: document (or line) field -> the kind of name it holds
FIELD_KINDS = {
    "class_name": "class",
    "payment_method": "payment_method",
    "ship_via": "ship_method",
    "department": "department",
    "terms": "term",
    "tax_code": "tax_code",
    "deposit_account": "account",
    "item_name": "own_item",
    "sku": "item",
}
KIND_TITLES = {
    "account": "accounts",
    "item": "items for source SKUs",
    "own_item": "items named by the config and rules",
    "class": "classes",
    "payment_method": "payment methods",
    "ship_method": "ship methods",
    "tax_code": "tax codes",
    "department": "locations (departments)",
    "term": "terms",
}


@dataclass
class Gathered:
    """Every wanted name and the places that name it, in first-seen order."""

    places: dict[Wanted, list[str]] = field(default_factory=dict)
    orders_read: int = 0
    order_problems: list[str] = field(default_factory=list)

    def add(self, kind: str, name, where: str) -> None:
        if name is None or str(name).strip() == "":
            return
        places = self.places.setdefault(Wanted(kind, str(name).strip()), [])
        if where not in places:
            places.append(where)


def _config_names(config, target_cls, gathered: Gathered) -> None:
    try:
        yf = load_yaml(config.path)
    except Exception:  # noqa: BLE001 - it loaded a moment ago; positions are a nicety
        yf = None
    schema = (target_cls.config_schema or {}).get("properties", {})
    for key, kind in target_cls.config_names.items():
        value = config.target.get(key)
        if value is not None and yf is not None:
            gathered.add(kind, value, f"{yf.locate(('target', key))}: target.{key}")
        elif value is not None:
            gathered.add(kind, value, f"{config.path}: target.{key}")
        elif "default" in schema.get(key, {}):
            gathered.add(kind, schema[key]["default"], f"{config.path}: target.{key} (default)")


def _rule_names(rules, gathered: Gathered) -> None:
    for rule in rules.ruleset.rules:
        values = dict(rule.sets) if rule.action.uses_set else {rule.action.writes: rule.value}
        for path, value in values.items():
            kind = FIELD_KINDS.get(str(path).split(".")[-1])
            if kind and value is not None and not isinstance(value, CompiledTemplate):
                gathered.add(kind, value, f"{rule.where}: rule {rule.id}")


def _mapping_names(rules, gathered: Gathered) -> dict[str, dict[str, str]]:
    """Literal values of name fields in the mappings; returns, per flow, where each field is mapped."""
    where: dict[str, dict[str, str]] = {}
    for flow, mapping in rules.mappings.items():
        places = where.setdefault(flow, {})
        for setting in mapping_settings(mapping):
            name = setting.key.split(".")[-1]
            places.setdefault(setting.key, f"{setting.where}: {mapping.name} {name}")
            places.setdefault(name, places[setting.key])
        try:
            data = load_yaml(mapping.source_file).data
        except Exception:  # noqa: BLE001
            continue
        groups = [("fields", data.get("fields") or {})] + [
            (f"lines[{i}].fields", (g or {}).get("fields") or {}) for i, g in enumerate(data.get("lines") or [])]
        for _, fields in groups:
            for name, spec in fields.items():
                kind = FIELD_KINDS.get(name)
                literal = spec.get("value") if isinstance(spec, dict) else spec
                if kind and isinstance(literal, str) and "{" not in literal and "%" not in literal:
                    gathered.add(kind, literal, places.get(name, mapping.source_file))
    return where


def _order_names(engine, source, since: dt.datetime, limit: int, mapped_at: dict[str, str], gathered: Gathered,
                 mode: str = "processed") -> None:
    """Map the source's recent orders as a sync would, and want what they need."""
    query = OrderQuery(mode=mode, from_date=since)
    for page in source.read_orders(query):
        for record in page.records:
            if gathered.orders_read >= limit:
                return
            gathered.orders_read += 1
            result = engine.map("orders", record)
            if result.error is not None:
                gathered.order_problems.append(f"order {result.number or result.source_id}: {result.error}")
                continue
            by_rule = {w.field: f"{t.where}: rule {t.rule_id}" for t in result.traces if t.fired for w in t.writes}
            for doc in result.documents:
                for name, kind in FIELD_KINDS.items():
                    value = getattr(doc, name, None)
                    if isinstance(value, str) and name not in ("sku", "item_name"):
                        gathered.add(kind, value, by_rule.get(name) or mapped_at.get(name, "the orders mapping"))
                for line in doc.lines:
                    if line.kind == "item" and line.sku:
                        gathered.add("item", line.sku, by_rule.get("sku") or mapped_at.get("Line.sku", "mapping"))
                    for name in ("class_name", "tax_code"):
                        value = getattr(line, name)
                        if value:
                            gathered.add(FIELD_KINDS[name], value,
                                         by_rule.get(name) or mapped_at.get(f"Line.{name}", "the orders mapping"))
                    if line.item_name and line.kind != "item":
                        gathered.add("own_item", line.item_name,
                                     by_rule.get("item_name") or mapped_at.get("Line.item_name", "mapping"))


def gather(config, rules, engine, target_cls, source=None, *, since: dt.datetime, limit: int = 200) -> Gathered:
    gathered = Gathered()
    _config_names(config, target_cls, gathered)
    _rule_names(rules, gathered)
    mapped = _mapping_names(rules, gathered)
    if source is not None and "orders" in rules.mappings:
        mode = getattr(getattr(config, "sync", None), "order_mode", "processed")
        _order_names(engine, source, since, limit, mapped.get("orders", {}), gathered,
                     mode if mode in ("processed", "open") else "processed")
    return gathered


@dataclass
class CheckReport:
    preflight: Preflight
    gathered: Gathered
    since: dt.datetime

    @property
    def missing(self) -> list[tuple[Wanted, Finding]]:
        return [(w, f) for w, f in self.preflight.findings.items() if f.state == "missing"]

    @property
    def created(self) -> list[tuple[Wanted, Finding]]:
        return [(w, f) for w, f in self.preflight.findings.items() if f.state == "create"]

    def lines(self) -> list[str]:
        out = ["company"]
        out += [f"  {label}: {value}" for label, value in self.preflight.company]
        for kind in NAME_KINDS:
            wanted = [w for w in self.gathered.places if w.kind == kind]
            if not wanted:
                continue
            title = KIND_TITLES[kind]
            if kind == "item":
                title += f" (from {self.gathered.orders_read} orders since {self.since:%Y-%m-%d})"
            out.append(title)
            for w in sorted(wanted, key=lambda w: (self._rank(w), w.name.casefold())):
                finding = self.preflight.findings.get(w, Finding("unchecked", "the target did not say"))
                detail = f" ({finding.detail})" if finding.detail else ""
                out.append(f"  {finding.state.upper():9} {w.name}{detail}")
                out += [f"            named at {place}" for place in self.gathered.places[w]]
        if self.gathered.order_problems:
            out.append(f"orders that do not map ({len(self.gathered.order_problems)}; connex explain shows why)")
            out += [f"  {p}" for p in self.gathered.order_problems[:10]]
        if self.created:
            out.append("a sync would create")
            out += [f"  {KIND_TITLES[w.kind]}: {w.name}{f' ({f.detail})' if f.detail else ''}"
                    for w, f in self.created]
        out += [f"note: {n}" for n in self.preflight.notes]
        missing = self.missing
        if missing:
            out.append(f"result: {len(missing)} missing; a sync would fail the documents that need them")
        else:
            out.append("result: a sync would post everything checked")
        return out

    def _rank(self, wanted: Wanted) -> int:
        state = self.preflight.findings.get(wanted, Finding("unchecked")).state
        return {"missing": 0, "create": 1, "unchecked": 2}.get(state, 3)


def run_check(config, rules, engine, target: TargetConnector, source=None, *, since: dt.datetime | None = None,
              limit: int = 200) -> CheckReport:
    """``since``: read the source's orders from then (default: the last 7 days)."""
    since = since or dt.datetime.now(dt.UTC) - dt.timedelta(days=7)
    gathered = gather(config, rules, engine, type(target), source, since=since, limit=limit)
    preflight = target.preflight(list(gathered.places))
    return CheckReport(preflight, gathered, since)


def log_check(config, rules, engine, target, source, plugins=None) -> None:
    """The daemon's start: the same check, its findings logged; whatever happens, the daemon goes on."""
    try:
        report = run_check(config, rules, engine, target, source)
    except NotImplementedError as exc:
        log.info("check: %s", exc)
        return
    except ConnexError as exc:
        log.warning("check could not run: %s", exc)
        return
    except Exception:  # noqa: BLE001 - a preflight must never stop the daemon
        log.exception("check failed (a bug); the daemon goes on")
        return
    for line in report.lines():
        (log.warning if line.lstrip().startswith("MISSING") or line.startswith("result: ") and report.missing
         else log.info)("check: %s", line)
