"""A QuickBooks Web Connector client: drives a session against a Connex endpoint the way QBWC 2.x does.

Call order (quickbooks-desktop-qbwc.md §1, §16): serverVersion, clientVersion, authenticate; then
sendRequestXML / receiveResponseXML until the percentage reaches 100 (or goes negative: getLastError), and
closeConnection. "nvu", "none" and "busy" end the session after closeConnection; a sendRequestXML answer of ""
leads to getLastError, where "NoOp" means wait and ask again. The first sendRequestXML carries the
HostQuery/CompanyQuery/PreferencesQuery answers. A non-https AppURL is refused unless the host is localhost
(QBWC1010). The qbXML itself is answered by a ``SimulatedCompany``.

``run_session(..., cut_after_sends=N)`` simulates a session that dies after QuickBooks applied the N-th
message set but before its response reached the service: the hardest case for idempotency. With
``applied_before_cut=False`` the connection dies before QuickBooks sees the N-th message set.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import requests

from connex_quickbooks_desktop import soap
from connex_quickbooks_desktop.simulator.company import QuickBooksParseError, SimulatedCompany

CLIENT_VERSION = "2.3.0.215"
USER_AGENT = "MS Web Services Client Protocol 2.0.50727.9151"


class WebConnectorRefused(Exception):
    """What QBWC shows instead of starting a session (bad AppURL, SOAP fault, HTTP error)."""


@dataclass
class SessionLog:
    """What happened in one session: the calls made, the authenticate answer, round trips and results."""

    calls: list[str] = field(default_factory=list)
    ticket: str = ""
    auth_status: str = ""
    round_trips: int = 0
    percents: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    parse_failures: int = 0
    close_message: str | None = None
    interrupted: bool = False
    seconds: float = 0.0


class _RoundRobin:
    """A load balancer's choice of endpoint: the next one for every request."""

    def __init__(self, urls: list[str]):
        self.urls, self.calls = urls, 0

    def next(self) -> str:
        url = self.urls[self.calls % len(self.urls)]
        self.calls += 1
        return url


class WebConnectorSimulator:
    """The Web Connector on the bookkeeper's PC plus the QuickBooks company file it talks to."""

    def __init__(
        self,
        company: SimulatedCompany | None = None,
        *,
        country: str = "US",
        qbxml_version: tuple[int, int] = (13, 0),
        client_version: str = CLIENT_VERSION,
        on_request: Callable[[str], None] | None = None,
        timeout: float = 120.0,
        noop_wait: float = 0.05,
        max_round_trips: int = 10_000,
    ):
        self.company = company if company is not None else SimulatedCompany.seeded()
        self.country = country
        self.qbxml_version = qbxml_version
        self.client_version = client_version
        self.on_request = on_request
        self.timeout = timeout
        self.noop_wait = noop_wait
        self.max_round_trips = max_round_trips
        self.http = requests.Session()
        self.sessions: list[SessionLog] = []

    # The ``connex_simulators`` hook expects start()/stop(); this simulator is a client, so they are trivial.
    def start(self) -> WebConnectorSimulator:
        return self

    def connector_config(self) -> dict:
        """The ``target:`` block that works with this Web Connector and company file: the endpoint listens on a
        free local port, the credentials are the ones this Web Connector is set up with (``run_session`` takes
        them back), and new items post to the company's own accounts."""
        if not hasattr(self, "_credentials"):
            self._credentials = {"username": "connex-demo", "password": secrets.token_urlsafe(16)}
        return {"listen": "127.0.0.1:0", **self._credentials, "income_account": "Merchandise Sales",
                "expense_account": "Cost of Goods Sold"}

    def stop(self) -> None:
        self.http.close()

    def __enter__(self) -> WebConnectorSimulator:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- SOAP -------------------------------------------------------------------------------------------
    def _call(self, url: str | _RoundRobin, method: str, params: dict, log: SessionLog):
        log.calls.append(method)
        if isinstance(url, _RoundRobin):
            url = url.next()
        response = self.http.post(
            url,
            data=soap.call(method, params),
            headers={
                "Content-Type": "text/xml; charset=utf-8",
                "SOAPAction": f'"{soap.QBWC_NS}{method}"',
                "User-Agent": USER_AGENT,
            },
            timeout=self.timeout,
        )
        try:
            return soap.parse_answer(response.content, method)
        except (soap.SoapFault, ValueError) as exc:
            raise WebConnectorRefused(f"{method}: HTTP {response.status_code}: {exc}") from exc

    @staticmethod
    def check_app_url(url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme != "https" and (parts.hostname or "").lower() != "localhost":
            raise WebConnectorRefused(
                "QBWC1010: Currently QB web connector allows http and https for localhost only; "
                f"it does not allow http for {url}"
            )

    # --- a session ----------------------------------------------------------------------------------------
    def run_session(
        self,
        url: str | list[str],
        username: str,
        password: str,
        *,
        cut_after_sends: int | None = None,
        applied_before_cut: bool = True,
    ) -> SessionLog:
        """One scheduled Web Connector run against ``url``; returns its log (also kept in
        ``self.sessions``). A list of URLs stands for a load balancer in front of several endpoint processes:
        each SOAP call goes to the next one in turn, so consecutive calls of the session reach different ones."""
        urls = [url] if isinstance(url, str) else list(url)
        for each in urls:
            self.check_app_url(each)
        log = SessionLog()
        self.sessions.append(log)
        started = time.perf_counter()
        target = urls[0] if len(urls) == 1 else _RoundRobin(urls)
        try:
            self._session(target, username, password, log, cut_after_sends, applied_before_cut)
        finally:
            log.seconds = time.perf_counter() - started
        return log

    def _session(
        self, url: str | _RoundRobin, username: str, password: str, log: SessionLog, cut: int | None, applied: bool
    ) -> None:
        self._call(url, "serverVersion", {}, log)
        answer = self._call(url, "clientVersion", {"strVersion": self.client_version}, log)
        if isinstance(answer, str) and answer[:2] in ("E:", "O:"):
            log.errors.append(answer)
            return
        auth = self._call(url, "authenticate", {"strUserName": username, "strPassword": password}, log)
        if not isinstance(auth, list) or len(auth) < 2:
            raise WebConnectorRefused(f"authenticate returned {auth!r}, not an ArrayOfString of 2+ strings")
        log.ticket, log.auth_status = auth[0], auth[1]
        status = auth[1]
        if status.lower() in ("nvu", "none", "busy"):
            log.close_message = self._call(url, "closeConnection", {"ticket": log.ticket}, log)
            return
        if status and status != self.company.path:
            # QuickBooks cannot open a company file other than the simulated one
            retry = self._call(
                url,
                "connectionError",
                {"ticket": log.ticket, "hresult": "0x80040408", "message": "Could not start QuickBooks."},
                log,
            )
            log.errors.append(f"connectionError -> {retry}")
            log.close_message = self._call(url, "closeConnection", {"ticket": log.ticket}, log)
            return
        first = True
        noops = 0
        while True:
            if log.round_trips >= self.max_round_trips:
                raise WebConnectorRefused(f"more than {self.max_round_trips} round trips in one session")
            request = self._call(
                url,
                "sendRequestXML",
                {
                    "ticket": log.ticket,
                    "strHCPResponse": self.company.host_company_preferences() if first else "",
                    "strCompanyFileName": self.company.path,
                    "qbXMLCountry": self.country,
                    "qbXMLMajorVers": self.qbxml_version[0],
                    "qbXMLMinorVers": self.qbxml_version[1],
                },
                log,
            )
            first = False
            if not request:
                message = self._call(url, "getLastError", {"ticket": log.ticket}, log)
                if message == "NoOp" and noops < 20:
                    noops += 1
                    time.sleep(self.noop_wait)
                    continue
                if message:
                    log.errors.append(message)
                break
            log.round_trips += 1
            if self.on_request is not None:
                self.on_request(request)
            if cut is not None and log.round_trips >= cut and not applied:
                log.interrupted = True  # the connection died before QuickBooks saw the request
                return
            try:
                response, hresult, message = self.company.process(request), "", ""
            except QuickBooksParseError as exc:
                response, hresult, message = "", exc.hresult, exc.message
                log.parse_failures += 1
                log.errors.append(f"{exc.hresult}: {exc.detail}")
            if cut is not None and log.round_trips >= cut:
                log.interrupted = True  # QuickBooks applied it; the answer never reaches the service
                return
            percent = int(
                self._call(
                    url,
                    "receiveResponseXML",
                    {"ticket": log.ticket, "response": response, "hresult": hresult, "message": message},
                    log,
                )
            )
            log.percents.append(percent)
            if percent < 0:
                log.errors.append(self._call(url, "getLastError", {"ticket": log.ticket}, log))
                break
            if percent >= 100:
                break
        log.close_message = self._call(url, "closeConnection", {"ticket": log.ticket}, log)
