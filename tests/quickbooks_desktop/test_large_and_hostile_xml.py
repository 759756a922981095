"""Issue 12 item 9 (parser part): the endpoint accepts what its own 32 MB cap allows (libxml2 alone refuses a
text node over 10 MB, and a qbXML response travels as one text node of the SOAP envelope), while the DOCTYPE
and entity refusals hold in every encoding libxml2 could be made to read."""

from __future__ import annotations

import pytest
import requests
from connex_quickbooks_desktop import soap
from connex_quickbooks_desktop.safexml import MAX_BYTES, parse_bytes, parse_text
from lxml import etree

from .conftest import order, run

FIFTEEN_MB = 15 * 1024 * 1024

BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10 if i > 1 else "&lol;" * 10}">' for i in range(1, 10))
    + ']><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
    '<authenticate xmlns="http://developer.intuit.com/"><strUserName a="&lol9;">&lol9;</strUserName>'
    "</authenticate></soap:Body></soap:Envelope>"
)
EXTERNAL_ENTITY = (
    '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
    '<authenticate xmlns="http://developer.intuit.com/"><strUserName>&xxe;</strUserName></authenticate>'
    "</soap:Body></soap:Envelope>"
)


def _encodings(document: str) -> dict[str, bytes]:
    """The same document as bytes libxml2 could decode in different ways."""
    body = document.split("?>", 1)[1]
    return {
        "utf-8": document.encode(),
        "utf-16-bom": document.replace('"1.0"?>', '"1.0" encoding="UTF-16"?>').encode("utf-16"),
        "utf-16le-no-bom": document.encode("utf-16-le"),
        "utf-32-bom": document.encode("utf-32"),
        "utf-7-declared": b'<?xml version="1.0" encoding="UTF-7"?>' + body.encode("utf-7"),
        "latin-1-declared": document.replace('"1.0"?>', '"1.0" encoding="ISO-8859-1"?>').encode("latin-1"),
        "ebcdic": document.encode("cp500"),
        "spaced-declaration": document.replace("<!DOCTYPE", "<!  DOCTYPE").encode(),
    }


# ----------------------------------------------------------------------------------------------------------
# large


def test_a_fifteen_megabyte_text_node_parses():
    padding = " " * FIFTEEN_MB
    root = parse_text(f"<QBXML><QBXMLMsgsRs>{padding}<ItemQueryRs requestID='1'/></QBXMLMsgsRs></QBXML>")
    assert root.find("QBXMLMsgsRs/ItemQueryRs").get("requestID") == "1"
    assert len(root.find("QBXMLMsgsRs").text) == FIFTEEN_MB


def test_a_session_whose_response_is_fifteen_megabytes_posts_its_documents(target, endpoint, qbwc, company):
    """QuickBooks answering with a 15 MB response (a large query page): one 15 MB text node in the SOAP
    envelope and one in the qbXML. Both parse; the documents are posted."""
    answer = company.process

    def large_answer(request: str) -> str:
        response = answer(request)
        return response.replace("<QBXMLMsgsRs>", "<QBXMLMsgsRs>" + " " * FIFTEEN_MB, 1)

    company.process = large_answer
    target.post_documents([order("LW-BIG-1"), order("LW-BIG-2")])
    log = run(qbwc, endpoint)
    assert not log.errors, log.errors
    assert log.percents[-1] == 100
    assert {r.status for r in target.collect_results()} == {"posted"}
    assert len(company.find_transactions("SalesReceipt")) == 2


def test_a_document_over_the_cap_is_refused():
    with pytest.raises(ValueError, match="exceeds"):
        parse_bytes(b"<a>" + b" " * MAX_BYTES + b"</a>")


def test_a_deep_document_is_refused_cleanly():
    depth = 100_000
    with pytest.raises(ValueError, match="malformed XML"):
        parse_bytes(b"<a>" * depth + b"</a>" * depth)


# ----------------------------------------------------------------------------------------------------------
# hostile, with huge_tree on


@pytest.mark.parametrize("encoding", list(_encodings(BILLION_LAUGHS)))
def test_entity_expansion_is_refused_in_every_encoding(encoding):
    data = _encodings(BILLION_LAUGHS)[encoding]
    with pytest.raises(ValueError):
        parse_bytes(data)


@pytest.mark.parametrize("encoding", list(_encodings(EXTERNAL_ENTITY)))
def test_external_entities_are_refused_in_every_encoding(encoding):
    with pytest.raises(ValueError):
        parse_bytes(_encodings(EXTERNAL_ENTITY)[encoding])


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16-bom", "utf-16le-no-bom", "utf-7-declared"])
def test_the_endpoint_answers_entity_attacks_with_a_client_fault(endpoint, encoding):
    response = requests.post(
        endpoint.url, data=_encodings(BILLION_LAUGHS)[encoding], headers={"Content-Type": "text/xml"}, timeout=10
    )
    assert response.status_code == 500
    fault = etree.fromstring(response.content).find(f"{{{soap.SOAP_ENV}}}Body/{{{soap.SOAP_ENV}}}Fault")
    assert fault.findtext("faultcode") == "soap:Client"
    assert "lollol" not in response.text


def test_a_legitimate_document_in_another_encoding_still_parses():
    text = '<?xml version="1.0" encoding="ISO-8859-1"?><a>Café</a>'
    assert parse_bytes(text.encode("latin-1")).getroot().text == "Café"
    assert parse_bytes("<a>Café</a>".encode("utf-16")).getroot().text == "Café"
    assert parse_bytes("\ufeff<a>Café</a>".encode()).getroot().text == "Café"
