"""Safe XML parsing for everything that arrives from the network (SOAP envelopes, qbXML responses).

SOAP 1.1 forbids a Document Type Declaration, and qbXML has no use for one, so any DOCTYPE or ENTITY
declaration is refused before parsing: that rules out external entities (file or network reads) and entity
expansion bombs at once. The lxml parser is additionally told not to resolve entities, not to touch the
network and to keep libxml2's size limits.
"""

from __future__ import annotations

import re

from lxml import etree

_DECLARATION = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
MAX_BYTES = 32 * 1024 * 1024  # a qbXML response of an iterator page is far smaller; refuse anything absurd


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_blank_text=False,
    )


def parse_bytes(data: bytes) -> etree._ElementTree:
    """Parse untrusted XML; raise ValueError (with the parser's reason) for anything unsafe or malformed."""
    if len(data) > MAX_BYTES:
        raise ValueError(f"XML document of {len(data)} bytes exceeds the {MAX_BYTES} byte limit")
    if _DECLARATION.search(data):
        raise ValueError("XML with a DOCTYPE or ENTITY declaration is refused")
    try:
        return etree.ElementTree(etree.fromstring(data, _parser()))
    except etree.XMLSyntaxError as exc:
        raise ValueError(f"malformed XML: {exc}") from exc


def parse_text(text: str) -> etree._Element:
    """Parse an XML string that arrived inside a SOAP field (e.g. a qbXML response)."""
    data = text.encode("utf-8")
    # A declared encoding other than UTF-8 would be a lie once the text is re-encoded; drop the declaration.
    data = re.sub(rb"^\s*<\?xml[^>]*\?>", b"", data, count=1)
    return parse_bytes(data).getroot()
