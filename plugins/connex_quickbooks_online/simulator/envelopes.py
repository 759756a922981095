"""The shapes QuickBooks Online answers in: the API's ``Fault``, the gateway's lower-case 401 envelope, the
XML throttle body, and plain JSON numbers for the Decimals the simulator computes with."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from connex.simulation.server import Response
from connex_quickbooks_online.simulator.rules import SimFault


def now_text() -> str:
    return dt.datetime.now(dt.UTC).astimezone().isoformat(timespec="milliseconds")


def fault_response(fault: SimFault) -> Response:
    return Response(fault.status, {"Fault": fault.fault(), "time": now_text()})


def server_error(status: int) -> Response:
    body = {
        "Error": [
            {
                "Message": "An application error has occurred",
                "Detail": f"simulated HTTP {status}",
                "code": "10000",
                "element": "",
            }
        ],
        "type": "SystemFault",
    }
    return Response(status, {"Fault": body, "time": now_text()})


def auth_failure(detail: str) -> Response:
    """The gateway's own lower-case envelope, not the API's ``Fault``."""
    error = {
        "message": "message=AuthenticationFailed; errorCode=003200; statusCode=401",
        "detail": detail,
        "code": "3200",
        "element": None,
    }
    body = {
        "warnings": None,
        "intuitObject": None,
        "fault": {"error": [error], "type": "AUTHENTICATION"},
        "report": None,
        "queryResponse": None,
        "batchItemResponse": [],
        "attachableResponse": [],
        "syncErrorResponse": None,
        "requestId": None,
        "time": int(dt.datetime.now().timestamp() * 1000),
        "status": None,
        "cdcresponse": [],
    }
    return Response(401, body, {"WWW-Authenticate": 'Bearer realm="Intuit"'})


def throttled(retry_after: float) -> Response:
    """HTTP 429 with code 3001, in the XML QuickBooks still sends for it even to JSON clients."""
    body = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><IntuitResponse '
        f'xmlns="http://schema.intuit.com/finance/v3" time="{now_text()}"><Fault type="SERVICE">'
        '<Error code="3001"><Message>message=ThrottleExceeded; errorCode=003001; statusCode=429</Message>'
        "<Detail>The request limit was reached.  Try again later</Detail></Error></Fault></IntuitResponse>"
    )
    headers = {"Retry-After": f"{max(retry_after, 0.01):.3f}"}
    return Response(429, body, headers, content_type="application/xml")


def plain(value):
    """Decimals back to JSON numbers (QBO answers numbers, not strings)."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() and "." not in str(value) else float(value)
    return value
