"""The Web Connector endpoint over a real socket: envelopes, every method's answers, safety."""

from __future__ import annotations

import logging

import pytest
import requests
from connex_quickbooks_desktop import soap
from lxml import etree

from .conftest import PASSWORD, USERNAME, order

NS = {"s": soap.SOAP_ENV, "q": soap.QBWC_NS}


def post(endpoint, method: str, body: bytes | None = None, **params) -> requests.Response:
    return requests.post(
        endpoint.url,
        data=body if body is not None else soap.call(method, params),
        headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{soap.QBWC_NS}{method}"'},
        timeout=10,
    )


def result(response: requests.Response, method: str):
    assert response.status_code == 200, response.text
    return soap.parse_answer(response.content, method)


def test_authenticate_answers_an_array_of_strings_in_the_intuit_namespace(endpoint, target):
    target.post_documents([order("LW-1")])
    response = post(endpoint, "authenticate", strUserName=USERNAME, strPassword=PASSWORD)
    root = etree.fromstring(response.content)
    strings = root.findall("s:Body/q:authenticateResponse/q:authenticateResult/q:string", NS)
    assert len(strings) == 2
    assert len(strings[0].text) >= 32
    assert strings[1].text is None  # "" = use the company file open in QuickBooks, still emitted


def test_authenticate_says_nvu_for_bad_credentials_and_none_without_work(endpoint):
    assert (
        result(post(endpoint, "authenticate", strUserName=USERNAME, strPassword="wrong"), "authenticate")[1]
        == "nvu"
    )
    assert (
        result(post(endpoint, "authenticate", strUserName="nobody", strPassword=PASSWORD), "authenticate")[1]
        == "nvu"
    )
    assert (
        result(post(endpoint, "authenticate", strUserName=USERNAME, strPassword=PASSWORD), "authenticate")[1]
        == "none"
    )


def test_authenticate_names_the_configured_company_file(config, target):
    from connex_quickbooks_desktop.service import serve

    target.post_documents([order("LW-2")])
    server = serve({**config, "company_file": r"C:\Books\Shop.QBW"})
    try:
        answer = result(
            post(server, "authenticate", strUserName=USERNAME, strPassword=PASSWORD), "authenticate"
        )
        assert answer[1] == r"C:\Books\Shop.QBW"
    finally:
        server.stop()


def test_versions_and_simple_methods(endpoint):
    assert result(post(endpoint, "serverVersion"), "serverVersion").startswith("Connex ")
    empty_body = (
        b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
        b'<serverVersion xmlns="http://developer.intuit.com/"/></soap:Body></soap:Envelope>'
    )
    assert result(post(endpoint, "serverVersion", empty_body), "serverVersion").startswith("Connex ")
    assert result(post(endpoint, "clientVersion", strVersion="2.3.0.215"), "clientVersion") == ""
    assert result(post(endpoint, "clientVersion", strVersion="1.5.0.1"), "clientVersion") == "O:2.0"
    assert (
        result(
            post(
                endpoint,
                "connectionError",
                ticket="t",
                hresult="0x80040408",
                message="Could not start QuickBooks.",
            ),
            "connectionError",
        )
        == "done"
    )
    assert result(post(endpoint, "closeConnection", ticket="t"), "closeConnection") == "OK"


def test_unknown_ticket(endpoint):
    assert (
        result(
            post(
                endpoint,
                "sendRequestXML",
                ticket="bogus",
                strHCPResponse="",
                strCompanyFileName="",
                qbXMLCountry="US",
                qbXMLMajorVers=13,
                qbXMLMinorVers=0,
            ),
            "sendRequestXML",
        )
        == ""
    )
    assert (
        result(post(endpoint, "getLastError", ticket="bogus"), "getLastError")
        == "The ticket parameter is invalid"
    )
    assert (
        result(
            post(endpoint, "receiveResponseXML", ticket="bogus", response="<QBXML/>", hresult="", message=""),
            "receiveResponseXML",
        )
        == "-1"
    )


def test_old_quickbooks_is_told_why(endpoint, target):
    target.post_documents([order("LW-3")])
    ticket = result(
        post(endpoint, "authenticate", strUserName=USERNAME, strPassword=PASSWORD), "authenticate"
    )[0]
    answer = result(
        post(
            endpoint,
            "sendRequestXML",
            ticket=ticket,
            strHCPResponse="",
            strCompanyFileName="",
            qbXMLCountry="US",
            qbXMLMajorVers=8,
            qbXMLMinorVers=0,
        ),
        "sendRequestXML",
    )
    assert answer == ""
    assert "needs 13.0" in result(post(endpoint, "getLastError", ticket=ticket), "getLastError")


@pytest.mark.parametrize(
    "body",
    [
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
        b'<authenticate xmlns="http://developer.intuit.com/"><strUserName>&xxe;</strUserName></authenticate>'
        b"</soap:Body></soap:Envelope>",
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">'
        b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;">]><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">'
        b'<soap:Body><serverVersion xmlns="http://developer.intuit.com/">&lol3;</serverVersion></soap:Body>'
        b"</soap:Envelope>",
        b"not xml at all",
        b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
        b'<authenticate xmlns="http://example.com/"/></soap:Body></soap:Envelope>',
    ],
    ids=["external-entity", "entity-expansion", "malformed", "wrong-namespace"],
)
def test_unsafe_or_foreign_envelopes_get_a_soap_fault(endpoint, body):
    response = post(endpoint, "authenticate", body)
    assert response.status_code == 500
    fault = etree.fromstring(response.content).find("s:Body/s:Fault", NS)
    assert fault.findtext("faultcode") == "soap:Client"
    assert "root:" not in response.text


def test_password_is_never_logged(endpoint, caplog):
    caplog.set_level(logging.DEBUG)
    post(endpoint, "authenticate", strUserName=USERNAME, strPassword="wrong-" + PASSWORD)
    post(endpoint, "authenticate", strUserName=USERNAME, strPassword=PASSWORD)
    assert PASSWORD not in caplog.text


def test_support_page_answers_200(endpoint, target):
    bad = order("LW-4")
    bad.lines = []
    target.post_documents([bad, order("LW-5")])
    response = requests.get(endpoint.url.replace("/qbwc", "/qbwc/support"), timeout=10)
    assert response.status_code == 200
    assert "document:pending" in response.text


def test_support_page_shows_no_personal_data(endpoint, target):
    target.post_documents([order("LW-6")])
    page = requests.get(endpoint.url + "/support", timeout=10).text
    assert "Jane" not in page and "LW-6" not in page


def test_a_busy_listen_address_is_a_config_error(endpoint, config):
    from connex_quickbooks_desktop.service import serve

    from connex.errors import ConfigError

    port = endpoint.url.rsplit(":", 1)[1].split("/")[0]
    with pytest.raises(ConfigError, match="cannot listen"):
        serve({**config, "listen": f"127.0.0.1:{port}"})
