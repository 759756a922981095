"""QuickBooks Online Fault bodies: reading them and turning them into Connex errors.

QBO answers errors in three shapes: the ``Fault`` envelope (validation, business rules), the gateway's
lower-case ``fault`` envelope on 401, and an XML ``IntuitResponse`` for throttling. Codes decide the error
class, so the engine knows whether to fix config (auth), retry (throttle, stale object) or fail just one
document.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from lxml import etree

from connex.errors import ConfigError, ConnexError, DocumentError, TransientError

#: The messages QuickBooks uses for the codes Connex meets; the simulator answers with these too.
FAULT_MESSAGES = {
    "100": "General Authentication Error",
    "120": "Authorization Failure",
    "610": "Object Not Found",
    "2010": "Request has invalid or unsupported property",
    "2020": "Required Param Missing",
    "2050": "String length is either shorter or longer than supported",
    "2170": "Invalid Enumeration",
    "2500": "Invalid Reference Id",
    "3001": "message=ThrottleExceeded; errorCode=003001; statusCode=429",
    "3200": "message=AuthenticationFailed; errorCode=003200; statusCode=401",
    "4000": "Error parsing query",
    "5010": "Stale Object Error",
    "6000": "A business validation error has occurred while processing your request",
    "6070": "Amount is not equal to UnitPrice * Qty",
    "6140": "Duplicate Document Number Error",
    "6190": "Invalid Company Status",
    "6240": "Duplicate Name Exists Error",
}

#: What each code means for the user, prefixed to QBO's own words.
FAULT_MEANINGS = {
    "6240": "duplicate name",
    "6140": "duplicate document number",
    "2500": "invalid reference",
    "610": "referenced object not found or inactive",
    "5010": "stale object (changed in QuickBooks meanwhile)",
    "3200": "authentication failed",
    "2010": "invalid or unsupported field",
    "2020": "required field missing",
    "2050": "field too long",
    "6000": "validation error",
    "6070": "line amount does not equal quantity times unit price",
}

AUTH_CODES = {"100", "120", "3200", "6190"}


@dataclass(frozen=True)
class Fault:
    code: str
    message: str
    detail: str = ""
    element: str = ""
    type: str = ""

    def describe(self) -> str:
        meaning = FAULT_MEANINGS.get(self.code)
        text = (
            f"{self.message}: {self.detail}" if self.detail and self.detail != self.message else self.message
        )
        if self.element:
            text += f" (element {self.element})"
        return f"{meaning} ({self.code}): {text}" if meaning else f"QuickBooks fault {self.code}: {text}"


def parse_fault(body: object) -> Fault | None:
    """The first Error of a parsed JSON body's Fault (either envelope), or None."""
    if not isinstance(body, dict):
        return None
    envelope = body.get("Fault") or body.get("fault")
    if not isinstance(envelope, dict):
        return None
    errors = envelope.get("Error") or envelope.get("error") or [{}]
    first = errors[0] if isinstance(errors, list) and errors else {}

    def pick(*names: str) -> str:
        for name in names:
            value = first.get(name)
            if value:
                return str(value)
        return ""

    return Fault(
        code=pick("code"),
        message=pick("Message", "message"),
        detail=pick("Detail", "detail"),
        element=pick("element"),
        type=str(envelope.get("type") or ""),
    )


def parse_response_fault(text: str) -> Fault | None:
    """A Fault from a raw response body: JSON, or the XML that throttling still answers with."""
    try:
        return parse_fault(json.loads(text))
    except ValueError:
        pass
    try:
        root = etree.fromstring(text.encode("utf-8"), parser=etree.XMLParser(resolve_entities=False))
    except etree.XMLSyntaxError:
        return None
    error = next((e for e in root.iter() if etree.QName(e).localname == "Error"), None)
    if error is None:
        return None
    texts = {etree.QName(c).localname: (c.text or "") for c in error}
    return Fault(code=error.get("code", ""), message=texts.get("Message", ""), detail=texts.get("Detail", ""))


def fault_error(fault: Fault, *, endpoint: str, where=None) -> ConnexError:
    """The Connex error for a fault: auth is the user's to fix, throttling is transient, the rest fails one
    document (or one look-up) with QBO's words and the endpoint or document it concerns."""
    text = f"{endpoint}: {fault.describe()}"
    if fault.code in AUTH_CODES:
        return ConfigError(f"{text}; reconnect the QuickBooks Online app", where=where, code=fault.code)
    if fault.code == "3001":
        return TransientError(text, where=where, code=fault.code, retry_after=60.0)
    return DocumentError(text, where=where, code=fault.code)
