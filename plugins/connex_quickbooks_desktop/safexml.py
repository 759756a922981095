"""Safe XML parsing for everything that arrives from the network (SOAP envelopes, qbXML responses).

SOAP 1.1 forbids a Document Type Declaration, and qbXML has no use for one, so any DOCTYPE or ENTITY
declaration is refused before parsing: that rules out external entities (file or network reads) and entity
expansion bombs at once. The check runs on the text libxml2 will actually read: a document in another
encoding (UTF-16, a declared legacy code page) is decoded here first and handed to libxml2 as UTF-8, and bytes
libxml2 would sniff as UTF-16 or EBCDIC without telling us (no byte-order mark, a NUL, a first byte other than
``<``) are refused. The lxml parser is additionally told not to resolve entities, not to load a DTD and not to
touch the network, and a parsed tree that somehow carries a DTD is refused.

``huge_tree``: libxml2 refuses a text node over 10 MB unless told otherwise, and a qbXML response travels as
one text node of the SOAP envelope, so without it the endpoint would refuse responses far below its own
``MAX_BYTES`` cap. The option also lifts libxml2's entity-amplification guard, which is why the declaration
refusal above must be watertight: ``MAX_BYTES`` is then the bound on what one document can cost.
"""

from __future__ import annotations

import codecs
import re

from lxml import etree

_DECLARATION = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_DECLARATION_TEXT = re.compile(r"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_XML_DECL = re.compile(rb"^\s*<\?xml[^>]*\?>")
_DECLARED_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:-]{1,40})["']""")
_UTF8_NAMES = {"utf8", "utf_8", "u8", "utf", "cp65001", "ascii", "us_ascii", "646"}
_BOMS = (  # longest first: the UTF-32 LE mark begins with the UTF-16 LE one
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
MAX_BYTES = 32 * 1024 * 1024  # a qbXML response of an iterator page is far smaller; refuse anything absurd


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=True,  # see the module docstring: only safe with the declaration refusal
        remove_blank_text=False,
    )


def _as_utf8(data: bytes) -> bytes:
    """The document as UTF-8 bytes without an encoding libxml2 could read differently from us."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return _recode(data[len(bom):], encoding)
    declared = _DECLARED_ENCODING.match(data)
    if declared:
        try:
            name = codecs.lookup(declared.group(1).decode("ascii")).name.replace("-", "_")
        except LookupError:
            raise ValueError(f"XML in an unknown encoding {declared.group(1).decode('ascii')!r}") from None
        if name not in _UTF8_NAMES:
            return _recode(data, name)
    if b"\0" in data:
        raise ValueError("XML with a NUL byte is refused (UTF-16 or UTF-32 needs a byte-order mark)")
    if not data.lstrip(b" \t\r\n").startswith(b"<"):
        raise ValueError("malformed XML: it does not begin with '<'")
    return data


def _recode(data: bytes, encoding: str) -> bytes:
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise ValueError(f"XML not valid in its encoding {encoding}: {exc.reason}") from None
    text = re.sub(r"^\s*<\?xml[^>]*\?>", "", text, count=1)  # its encoding is no longer true
    if _DECLARATION_TEXT.search(text):
        raise ValueError("XML with a DOCTYPE or ENTITY declaration is refused")
    return text.encode("utf-8")


def parse_bytes(data: bytes) -> etree._ElementTree:
    """Parse untrusted XML; raise ValueError (with the parser's reason) for anything unsafe or malformed."""
    if len(data) > MAX_BYTES:
        raise ValueError(f"XML document of {len(data)} bytes exceeds the {MAX_BYTES} byte limit")
    if _DECLARATION.search(data):
        raise ValueError("XML with a DOCTYPE or ENTITY declaration is refused")
    data = _as_utf8(data)
    try:
        tree = etree.ElementTree(etree.fromstring(data, _parser()))
    except etree.XMLSyntaxError as exc:
        raise ValueError(f"malformed XML: {exc}") from exc
    if tree.docinfo.internalDTD is not None or tree.docinfo.externalDTD is not None:
        raise ValueError("XML with a DOCTYPE or ENTITY declaration is refused")
    return tree


def parse_text(text: str) -> etree._Element:
    """Parse an XML string that arrived inside a SOAP field (e.g. a qbXML response)."""
    data = text.encode("utf-8")
    # A declared encoding other than UTF-8 would be a lie once the text is re-encoded; drop the declaration.
    data = _XML_DECL.sub(b"", data, count=1)
    return parse_bytes(data).getroot()
