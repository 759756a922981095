"""Which fields of the document contract a target posts, and the mapping and rule lines that set one it ignores.

Every target declares, field by field, where a contract field goes (``TargetConnector.field_support``). A rule
or mapping may set a field the configured target has no place for (a location on QuickBooks Desktop, an
inventory site on QuickBooks Online); nothing would fail, the value would just not be in the books, so
``connex validate`` names each such setting with its ``file:line:col``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from connex import documents as docs
from connex.connectors import Ignored, Used
from connex.errors import Location
from connex.paths import default_rules_dir
from connex.yamlfile import load_yaml

#: the documents each flow maps to (stock levels are not posted as documents)
FLOW_CLASSES = {"orders": docs.SalesDocument, "refunds": docs.RefundDocument, "purchases": docs.PurchaseDocument}
DOCUMENT_CLASSES = (docs.SalesDocument, docs.PurchaseDocument, docs.RefundDocument)
NESTED = {"customer": docs.Party, "vendor": docs.Party, "billing_address": docs.Address,
          "shipping_address": docs.Address, "lines": docs.Line}

#: fields Connex itself consumes before a target sees the document, the same for every target
CONNEX_FIELDS: dict[str, Used] = {
    **{f"{cls.__name__}.kind": Used("chooses the QuickBooks document type") for cls in DOCUMENT_CLASSES},
    **{f"{cls.__name__}.source_id": Used("the ledger's key: each source record is posted once")
       for cls in DOCUMENT_CLASSES},
    **{f"{cls.__name__}.total": Used("checked against the lines and tax; a small difference is a rounding line")
       for cls in DOCUMENT_CLASSES},
    "SalesDocument.store_name": Used("customer matching (sync.customer_matching) names the customer by it"),
    "RefundDocument.store_name": Used("customer matching (sync.customer_matching) names the customer by it"),
    "Line.kind": Used("item, shipping, discount or rounding: chooses the line's item or account"),
    "Line.source_line_id": Used("kept in Connex's ledger with the document (connex explain)"),
}


def contract_fields() -> list[str]:
    """Every settable field of the contract as ``Class.field``: the three posted document classes, and the
    line, party and address classes inside them."""
    keys = []
    for cls in (*DOCUMENT_CLASSES, docs.Line, docs.Party, docs.Address):
        keys.extend(f"{cls.__name__}.{f.name}" for f in dataclasses.fields(cls))
    return keys


def support(target_cls, key: str) -> str | Used | Ignored | None:
    return CONNEX_FIELDS.get(key) or getattr(target_cls, "field_support", {}).get(key)


@dataclass(frozen=True)
class Setting:
    """One place a mapping or rule sets a contract field."""

    key: str  # Class.field
    where: Location


def _object_settings(cls: type, fields, yf, path: tuple) -> Iterator[Setting]:
    if not isinstance(fields, dict):
        return
    for name, spec in fields.items():
        inner = NESTED.get(name)
        if inner is docs.Line:
            continue  # a mapping's lines are its own section
        if inner is not None and isinstance(spec, dict) and "fields" in spec:
            yield from _object_settings(inner, spec["fields"], yf, (*path, name, "fields"))
        else:
            yield Setting(f"{cls.__name__}.{name}", yf.locate((*path, name), key=True))


def mapping_settings(mapping) -> Iterator[Setting]:
    from connex.rules.mapping import DOCUMENT_TYPES

    cls = DOCUMENT_TYPES.get(mapping.document)
    if cls not in DOCUMENT_CLASSES:
        return
    try:
        yf = load_yaml(mapping.source_file)
    except Exception:  # noqa: BLE001 - it loaded a moment ago; a file changed since is validate's next run's
        return
    data = yf.data if isinstance(yf.data, dict) else {}
    yield from _object_settings(cls, data.get("fields"), yf, ("fields",))
    for index, group in enumerate(data.get("lines") or []):
        if isinstance(group, dict):
            yield from _object_settings(docs.Line, group.get("fields"), yf, ("lines", index, "fields"))


def _path_key(cls: type, path: str) -> str:
    """``customer.billing_address.city`` on a sales document -> ``Address.city``."""
    parts = path.split(".")
    for part in parts[:-1]:
        cls = NESTED.get(part, cls)
    return f"{cls.__name__}.{parts[-1]}"


def rule_settings(rule) -> Iterator[Setting]:
    paths = list(rule.sets) if rule.action.uses_set else [rule.action.writes] if rule.action.writes else []
    for flow in rule.flows:
        cls = FLOW_CLASSES.get(flow)
        if cls is None:
            continue
        for path in paths:
            owner = docs.Line if rule.level == "line" else cls
            yield Setting(_path_key(owner, path), rule.where)


def ignored_settings(rules, target_name: str, target_cls) -> list[str]:
    """One line per mapping or rule setting a field ``target_cls`` ignores: ``file:line:col: field: why``."""
    # The shipped mappings serve every target and set what any of them uses (tax_country, say, steers only
    # QuickBooks Online): a warning about them would name a file the user did not write and need not change.
    shipped = default_rules_dir().resolve()
    own = [m for m in rules.mappings.values() if not Path(m.source_file).resolve().is_relative_to(shipped)]
    settings = [s for m in own for s in mapping_settings(m)]
    settings += [s for rule in rules.ruleset.rules for s in rule_settings(rule)]
    out = []
    for setting in settings:
        found = support(target_cls, setting.key)
        if isinstance(found, Ignored):
            out.append(f"{setting.where}: {setting.key}: {target_name} ignores it ({found.reason})")
    return list(dict.fromkeys(out))
