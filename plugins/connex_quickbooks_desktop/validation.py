"""Validate qbXML request message sets against Intuit's qbXML 13.0 XML Schemas.

QuickBooks is order-sensitive and fails a whole message set with HRESULT 0x80040400 on one misplaced element,
so Connex checks what it is about to send with the same schemas Intuit's SDK validator uses. The XSDs are
Intuit's (not redistributable under our licence), so they are loaded from a folder: the caller's,
``CONNEX_QBXML_XSD_DIR``, or the shared reference folder of a development checkout. Without them the service
sends what its builders make unchecked (they are written to the same element order and limits) and says so once
in the log; docs/reference-data.md explains where to get the schemas.
"""

from __future__ import annotations

import functools
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from connex_quickbooks_desktop.safexml import parse_bytes

ENTRY_POINT = "qbxmlops130.xsd"

log = logging.getLogger(__name__)


def default_xsd_dir() -> Path | None:
    """Where the qbXML schemas are, or None when this installation has none."""
    env = os.environ.get("CONNEX_QBXML_XSD_DIR")
    candidates = [Path(env)] if env else []
    # plugins/connex_quickbooks_desktop/validation.py -> <checkout>/../shared/reference/qbxml-xsd
    here = Path(__file__).resolve()
    candidates.append(here.parents[2] / ".." / "shared" / "reference" / "qbxml-xsd")
    for folder in candidates:
        if (folder / ENTRY_POINT).is_file():
            return folder.resolve()
    return None


@functools.lru_cache(maxsize=4)
def _load(folder: str) -> etree.XMLSchema:
    # The schema files come from a trusted folder; includes resolve relative to the entry point.
    return etree.XMLSchema(etree.parse(str(Path(folder) / ENTRY_POINT)))


@dataclass(frozen=True)
class SchemaProblem:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


class QbxmlValidator:
    """``validate(xml) -> [SchemaProblem]``; an empty list means the message set is valid qbXML 13.0."""

    def __init__(self, xsd_dir: str | os.PathLike | None = None):
        folder = Path(xsd_dir) if xsd_dir else default_xsd_dir()
        if folder is None or not (Path(folder) / ENTRY_POINT).is_file():
            raise FileNotFoundError(
                f"qbXML schemas not found ({ENTRY_POINT} in {folder or 'CONNEX_QBXML_XSD_DIR'})"
            )
        self.xsd_dir = Path(folder).resolve()
        self.schema = _load(str(self.xsd_dir))

    def validate(self, xml: str | bytes) -> list[SchemaProblem]:
        data = xml.encode("utf-8") if isinstance(xml, str) else xml
        try:
            tree = parse_bytes(data)
        except ValueError as exc:
            return [SchemaProblem(0, str(exc))]
        if self.schema.validate(tree):
            return []
        return [SchemaProblem(e.line, e.message) for e in self.schema.error_log]

    def is_valid(self, xml: str | bytes) -> bool:
        return not self.validate(xml)


def optional_validator(xsd_dir: str | os.PathLike | None = None) -> QbxmlValidator | None:
    """A validator when the schemas are available, else None (the service then trusts its builders)."""
    try:
        return QbxmlValidator(xsd_dir)
    except FileNotFoundError as exc:
        _say_unchecked(str(exc))
        return None


@functools.lru_cache(maxsize=1)
def _say_unchecked(why: str) -> None:
    log.info("%s: qbXML requests are sent without a schema check; set CONNEX_QBXML_XSD_DIR to the folder of "
             "Intuit's qbXML 13.0 schemas (the QuickBooks SDK's validator folder) to check them", why)
