"""QuickBooks faults become errors of the right class that say what happened, whatever their envelope."""

from __future__ import annotations

import pytest
from connex_quickbooks_online.faults import fault_error, parse_fault, parse_response_fault
from connex_quickbooks_online.simulator.envelopes import auth_failure, throttled
from connex_quickbooks_online.simulator.rules import SimFault

from connex.errors import ConfigError, DocumentError, TransientError


@pytest.mark.parametrize(
    "code, error_class, words",
    [
        ("6240", DocumentError, "duplicate name"),
        ("6140", DocumentError, "duplicate document number"),
        ("2500", DocumentError, "invalid reference"),
        ("610", DocumentError, "not found or inactive"),
        ("5010", DocumentError, "stale object"),
        ("2010", DocumentError, "invalid or unsupported field"),
        ("6000", DocumentError, "validation error"),
        ("3200", ConfigError, "authentication failed"),
        ("3001", TransientError, "ThrottleExceeded"),
    ],
)
def test_codes_map_to_error_classes_with_the_remote_words(code, error_class, words):
    body = {"Fault": SimFault(code, "the remote detail", "SalesReceipt.Line").fault(), "time": "t"}
    fault = parse_fault(body)
    error = fault_error(fault, endpoint="POST batch")
    assert type(error) is error_class and error.code == code
    assert words in error.message and "POST batch" in error.message
    if code != "3001":
        assert "the remote detail" in error.message and "SalesReceipt.Line" in error.message


def test_the_gateway_and_xml_envelopes_are_read_too():
    gateway = parse_response_fault(auth_failure("Token expired: abc").encode().decode("utf-8"))
    assert gateway.code == "3200" and "Token expired" in gateway.detail
    xml = parse_response_fault(throttled(1.0).encode().decode("utf-8"))
    assert xml.code == "3001" and "Try again later" in xml.detail
    assert parse_response_fault("<html>bad gateway</html>") is None
    assert parse_response_fault('{"QueryResponse": {}}') is None
