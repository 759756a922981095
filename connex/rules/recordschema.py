"""The shape of the records a source hands to mappings, as a source connector declares it.

A source declares one schema per flow (``SourceConnector.record_schema(flow)``) in a small JSON-like form, so a
plugin can ship it as a data file::

    {"root": "OrderDetails",
     "types": {"OrderDetails": {"NumOrderId": "integer", "Items": ["OrderItem"], "Extra": {"*": "string"}},
               "OrderItem": {"SKU": "string", "Children": ["OrderItem"]}}}

A type is a scalar name (``string``, ``number``, ``integer``, ``boolean``, ``date-time``), the name of one of
``types`` (an object with exactly those fields, any of which may be null or absent in a given record), ``[T]``
(a list of T), ``{"*": T}`` (a free-form map: any key, values of T) or ``any`` (nothing is checked below it).
``validate`` checks every field path a template or condition names against it (``connex.rules.pathcheck``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

SCALARS = ("string", "number", "integer", "boolean", "date-time")


class Shape:
    """What a value in a record can be."""

    describe = "a value"


class _Anything(Shape):
    describe = "anything"

    def __repr__(self) -> str:
        return "ANY"


ANY = _Anything()


@dataclass(eq=False)
class Scalar(Shape):
    type: str

    @property
    def describe(self) -> str:
        return {"date-time": "a date and time", "integer": "a whole number", "number": "a number",
                "boolean": "true or false"}.get(self.type, "text")


@dataclass(eq=False)
class Obj(Shape):
    name: str
    fields: dict[str, Shape] = field(default_factory=dict, repr=False)  # types refer to themselves

    @property
    def describe(self) -> str:
        return f"a {self.name}"


@dataclass(eq=False)
class ListOf(Shape):
    item: Shape

    @property
    def describe(self) -> str:
        return f"a list of {self.item.describe.removeprefix('a ').removeprefix('an ')}"


@dataclass(eq=False)
class MapOf(Shape):
    value: Shape
    describe = "a free-form map"


class SchemaError(ValueError):
    """A declared schema that does not follow the form above (a plugin's bug, reported with the plugin's name)."""


def parse_schema(declared: Mapping[str, Any]) -> Shape:
    """The root shape of a declared schema; raise ``SchemaError`` when it is malformed."""
    if not isinstance(declared, Mapping) or "root" not in declared:
        raise SchemaError("a record schema is a mapping with 'root' and 'types'")
    types = declared.get("types") or {}
    if not isinstance(types, Mapping):
        raise SchemaError("'types' must be a mapping of type name to fields")
    objects = {name: Obj(str(name)) for name in types}

    def resolve(spec: Any, where: str) -> Shape:
        if isinstance(spec, str):
            if spec in objects:
                return objects[spec]
            if spec in SCALARS:
                return Scalar(spec)
            if spec == "any":
                return ANY
            raise SchemaError(f"{where}: unknown type {spec!r}")
        if isinstance(spec, list) and len(spec) == 1:
            return ListOf(resolve(spec[0], where + "[]"))
        if isinstance(spec, Mapping) and list(spec) == ["*"]:
            return MapOf(resolve(spec["*"], where + ".*"))
        raise SchemaError(f"{where}: a type is a name, [TYPE] or {{'*': TYPE}}, not {spec!r}")

    for name, fields in types.items():
        if not isinstance(fields, Mapping):
            raise SchemaError(f"type {name!r}: its fields must be a mapping")
        objects[name].fields = {str(key): resolve(spec, f"{name}.{key}") for key, spec in fields.items()}
    return resolve(declared["root"], "root")


# the flows whose records a source yields; the inventory flow's records are made by Connex itself (below)
SOURCE_FLOWS = ("orders", "purchases", "refunds")


def inventory_schema() -> dict:
    """The inventory flow's record: a target's ``InventoryLevel`` as ``connex.sync.inventory_flow`` hands it to
    the mapping, field for field."""
    from connex.connectors import InventoryLevel  # the core's own type: no plugin is imported

    kinds = {"sku": "string", "quantity_on_hand": "number", "name": "string"}
    return {"root": "InventoryLevel",
            "types": {"InventoryLevel": {f.name: kinds.get(f.name, "any") for f in dataclasses.fields(InventoryLevel)}}}


def flow_schemas(source: type | None) -> tuple[dict[str, Shape], list[str]]:
    """({flow: root shape}, notes for the user) for a source connector class (None: no source known)."""
    schemas: dict[str, Shape] = {"inventory": parse_schema(inventory_schema())}
    notes: list[str] = []
    missing: list[str] = []
    name = getattr(source, "name", "the")
    for flow in SOURCE_FLOWS:
        declared = None
        if source is not None:
            try:
                declared = source.record_schema(flow)
            except Exception as exc:  # a plugin's bug must not stop validate: say so, check nothing for it
                notes.append(f"the {name} source's record schema for {flow} could not be read "
                             f"({type(exc).__name__}: {exc}); its field paths are not checked")
                continue
        if declared is None:
            missing.append(flow)
            continue
        try:
            schemas[flow] = parse_schema(declared)
        except SchemaError as exc:
            notes.append(f"the {name} source's record schema for {flow} is malformed ({exc}); its field paths "
                         "are not checked")
    if missing:
        notes.append(f"the {name} source declares no record schema for {', '.join(missing)}: field paths in "
                     "those flows' templates and rules are not checked")
    return schemas, notes
