"""SOAP 1.1 envelopes as the QuickBooks Web Connector speaks them: document/literal, namespace
``http://developer.intuit.com/``, string parameters, ``<method>Response/<method>Result`` answers.

The Web Connector's whole surface is eight methods whose parameters are strings and ints, so a full SOAP stack
(spyne, with its own WSDL-driven object model and an uncertain maintenance record on current Pythons) would
add far more than it removes; parsing is lxml with the hardening in ``safexml``, building is a dozen lines
here.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from connex_quickbooks_desktop.safexml import parse_bytes

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
QBWC_NS = "http://developer.intuit.com/"


class SoapFault(Exception):
    """A request we cannot serve; answered as a SOAP Fault (HTTP 500) with ``faultcode`` Client or Server."""

    def __init__(self, message: str, code: str = "soap:Client"):
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass
class SoapCall:
    method: str
    params: dict[str, str]


def parse_call(body: bytes) -> SoapCall:
    """The method (the Body's first child, which must be in the Web Connector namespace) and its parameters as
    strings; absent or empty parameters are ""."""
    try:
        root = parse_bytes(body).getroot()
    except ValueError as exc:
        raise SoapFault(str(exc)) from exc
    if root.tag != f"{{{SOAP_ENV}}}Envelope":
        raise SoapFault("not a SOAP 1.1 envelope")
    soap_body = root.find(f"{{{SOAP_ENV}}}Body")
    if soap_body is None:
        raise SoapFault("SOAP envelope without a Body")
    children = [c for c in soap_body if isinstance(c.tag, str)]
    if not children:
        raise SoapFault("SOAP Body without a method element")
    call = etree.QName(children[0])
    if call.namespace != QBWC_NS:
        raise SoapFault(f"method {call.localname!r} is not in the namespace {QBWC_NS}")
    params = {}
    for child in children[0]:
        if isinstance(child.tag, str):
            params[etree.QName(child).localname] = child.text or ""
    return SoapCall(call.localname, params)


def _envelope() -> tuple[etree._Element, etree._Element]:
    env = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"soap": SOAP_ENV})
    return env, etree.SubElement(env, f"{{{SOAP_ENV}}}Body")


def answer(method: str, result: str | int | list[str]) -> bytes:
    """``<methodResponse xmlns="http://developer.intuit.com/"><methodResult>…`` where a list becomes an
    ArrayOfString (every element emitted, empty ones too: the Web Connector needs them)."""
    env, body = _envelope()
    response = etree.SubElement(body, f"{{{QBWC_NS}}}{method}Response", nsmap={None: QBWC_NS})
    result_node = etree.SubElement(response, f"{{{QBWC_NS}}}{method}Result")
    if isinstance(result, list):
        for value in result:
            etree.SubElement(result_node, f"{{{QBWC_NS}}}string").text = value
    else:
        result_node.text = str(result)
    return etree.tostring(env, xml_declaration=True, encoding="utf-8")


def fault(error: SoapFault) -> bytes:
    env, body = _envelope()
    node = etree.SubElement(body, f"{{{SOAP_ENV}}}Fault")
    etree.SubElement(node, "faultcode").text = error.code
    etree.SubElement(node, "faultstring").text = error.message
    return etree.tostring(env, xml_declaration=True, encoding="utf-8")


def call(method: str, params: dict[str, str | int]) -> bytes:
    """A request envelope (what the Web Connector sends); used by the client simulator."""
    env, body = _envelope()
    node = etree.SubElement(body, f"{{{QBWC_NS}}}{method}", nsmap={None: QBWC_NS})
    for name, value in params.items():
        etree.SubElement(node, f"{{{QBWC_NS}}}{name}").text = "" if value is None else str(value)
    return etree.tostring(env, xml_declaration=True, encoding="utf-8")


def parse_answer(body: bytes, method: str) -> str | list[str]:
    """The ``<method>Result`` of a response envelope (client side); raises SoapFault for a Fault."""
    root = parse_bytes(body).getroot()
    soap_body = root.find(f"{{{SOAP_ENV}}}Body")
    if soap_body is None:
        raise SoapFault("response without a SOAP Body", "soap:Server")
    found_fault = soap_body.find(f"{{{SOAP_ENV}}}Fault")
    if found_fault is not None:
        raise SoapFault(
            found_fault.findtext("faultstring") or "SOAP fault", found_fault.findtext("faultcode") or ""
        )
    result = soap_body.find(f"{{{QBWC_NS}}}{method}Response/{{{QBWC_NS}}}{method}Result")
    if result is None:
        raise SoapFault(f"response has no {method}Result", "soap:Server")
    strings = result.findall(f"{{{QBWC_NS}}}string")
    if strings:
        return [s.text or "" for s in strings]
    return result.text or ""
