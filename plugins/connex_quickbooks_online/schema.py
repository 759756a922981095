"""The allowed field tree of QuickBooks Online JSON bodies, derived from Intuit's own v3 XSDs.

QBO's JSON renders the same model as its XML schemas: an element becomes a key, an attribute becomes a key too
(``sparse``, ``domain``, a reference's ``name``), and a simple-content type carries its text as ``value``.
Both the simulator (error 2010) and the conformance test walk bodies against this one tree, so neither can
drift from the other or from Intuit. The XSDs are parsed once with lxml as plain XML (XMLSchema objects do not
expose their structure) and the result is cached per process.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

XS = "{http://www.w3.org/2001/XMLSchema}"
ENTRY_FILE = "IntuitRestServiceDef.xsd"


def default_xsd_dir() -> Path:
    """``CONNEX_QBO_XSD_DIR`` wins; then the copy shipped in this package (Apache-2.0, see xsd/README.md);
    then the shared reference folder next to a development checkout."""
    env = os.environ.get("CONNEX_QBO_XSD_DIR")
    if env:
        return Path(env)
    here = Path(__file__).resolve()
    shipped = here.parent / "xsd"
    if (shipped / ENTRY_FILE).is_file():
        return shipped
    for parent in here.parents:
        candidate = parent / ".." / "shared" / "reference" / "qbo-xsd"
        if (candidate / ENTRY_FILE).is_file():
            return candidate.resolve()
    raise FileNotFoundError("QuickBooks Online XSDs not found; set CONNEX_QBO_XSD_DIR to the qbo-xsd folder")


@dataclass
class TypeInfo:
    """One complex type, flattened over its extension chain."""

    name: str
    fields: dict[str, str | None] = field(default_factory=dict)  # key -> complex type name, None for a leaf
    repeated: set[str] = field(default_factory=set)  # keys that are arrays in JSON (maxOccurs > 1)
    open_content: bool = False  # xs:any: anything goes below this type


class FieldTree:
    """Answers "may this key appear here, and what is below it?" for every complex type in the schemas."""

    def __init__(self, xsd_dir: Path):
        self._complex: dict[str, etree._Element] = {}
        self._groups: dict[str, etree._Element] = {}
        self._elements: dict[str, etree._Element] = {}
        self._substitutes: dict[str, list[str]] = {}
        self._load(Path(xsd_dir) / ENTRY_FILE, set())
        self._cache: dict[str, TypeInfo] = {}

    # --- loading -------------------------------------------------------------------------------------------
    def _load(self, path: Path, seen: set[Path]) -> None:
        path = path.resolve()
        if path in seen:
            return
        seen.add(path)
        root = etree.parse(str(path)).getroot()
        for node in root:
            if node.tag == XS + "include":
                self._load(path.parent / node.get("schemaLocation"), seen)
            elif node.tag == XS + "complexType":
                self._complex[node.get("name")] = node
            elif node.tag == XS + "group":
                self._groups[node.get("name")] = node
            elif node.tag == XS + "element":
                name = node.get("name")
                self._elements[name] = node
                group = node.get("substitutionGroup")
                if group:
                    self._substitutes.setdefault(_local(group), []).append(name)

    # --- queries -------------------------------------------------------------------------------------------
    def element_type(self, element: str) -> str | None:
        """The complex type of a global element (``SalesReceipt`` -> ``SalesReceipt``), None if
        unknown/simple."""
        node = self._elements.get(element)
        if node is None:
            return None
        type_name = _local(node.get("type") or "")
        return type_name if type_name in self._complex else None

    def info(self, type_name: str) -> TypeInfo:
        cached = self._cache.get(type_name)
        if cached is None:
            cached = TypeInfo(type_name)
            self._collect(self._complex[type_name], cached)
            self._cache[type_name] = cached
        return cached

    def _collect(self, node: etree._Element, info: TypeInfo, repeated: bool = False) -> None:
        for child in node:
            tag = child.tag
            if tag in (XS + "sequence", XS + "choice"):
                self._collect(child, info, repeated or _many(child))
            elif tag == XS + "group":
                self._collect(self._groups[_local(child.get("ref"))], info, repeated or _many(child))
            elif tag in (XS + "complexContent", XS + "simpleContent"):
                if tag == XS + "simpleContent":
                    info.fields["value"] = None
                self._collect(child, info, repeated)
            elif tag in (XS + "extension", XS + "restriction"):
                base = _local(child.get("base") or "")
                if base in self._complex:
                    inherited = self.info(base)
                    info.fields.update(inherited.fields)
                    info.repeated |= inherited.repeated
                    info.open_content |= inherited.open_content
                self._collect(child, info, repeated)
            elif tag == XS + "attribute":
                info.fields[child.get("name") or _local(child.get("ref"))] = None
            elif tag == XS + "any":
                info.open_content = True
            elif tag == XS + "element":
                many = repeated or _many(child)
                if child.get("ref"):
                    ref = _local(child.get("ref"))
                    for name in [ref, *self._substitutes.get(ref, [])]:
                        info.fields[name] = self.element_type(name)
                        if many:
                            info.repeated.add(name)
                    continue
                name = child.get("name")
                type_name = _local(child.get("type") or "")
                if type_name not in self._complex:
                    inline = child.find(XS + "complexType")
                    if inline is not None:
                        type_name = f"{info.name}.{name}"
                        self._complex[type_name] = inline
                    else:
                        type_name = None
                info.fields[name] = type_name
                if many:
                    info.repeated.add(name)

    # --- walking -------------------------------------------------------------------------------------------
    def violations(self, body, type_name: str, path: str = "") -> list[str]:
        """Every key path in ``body`` that the schema does not define below ``type_name``."""
        found: list[str] = []
        self._walk(body, type_name, path, found)
        return found

    def _walk(self, body, type_name: str, path: str, found: list[str]) -> None:
        if isinstance(body, list):
            for index, item in enumerate(body):
                self._walk(item, type_name, f"{path}[{index}]", found)
            return
        if not isinstance(body, dict):
            found.append(f"{path or type_name}: expected an object, got {type(body).__name__}")
            return
        info = self.info(type_name)
        if info.open_content:
            return
        for key, value in body.items():
            where = f"{path}.{key}" if path else key
            if key not in info.fields:
                found.append(where)
                continue
            child = info.fields[key]
            if isinstance(value, list) and key not in info.repeated:
                found.append(f"{where}: not a repeated element")
                continue
            if child is None:
                if isinstance(value, dict | list):
                    found.append(f"{where}: nesting under a simple field")
                continue
            self._walk(value, child, where, found)


def _local(qname: str) -> str:
    return qname.split(":", 1)[-1]


def _many(node: etree._Element) -> bool:
    return node.get("maxOccurs") not in (None, "0", "1")


@functools.cache
def field_tree(xsd_dir: str | None = None) -> FieldTree:
    """The process-wide tree (parsing the XSDs takes a moment; every caller shares it)."""
    return FieldTree(Path(xsd_dir) if xsd_dir else default_xsd_dir())


def entity_violations(entity: str, body) -> list[str]:
    """Unknown fields of one entity body (``entity`` as the JSON wrapper key, e.g. ``SalesReceipt``)."""
    tree = field_tree()
    type_name = tree.element_type(entity)
    if type_name is None:
        return [f"{entity}: not a QuickBooks Online entity"]
    return tree.violations(body, type_name, entity)


def batch_violations(body) -> list[str]:
    """Unknown fields of a whole ``/batch`` request body."""
    return field_tree().violations(body, "IntuitBatchRequest", "")
