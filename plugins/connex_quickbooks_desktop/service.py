"""The Web Connector endpoint: the eight SOAP methods, sessions in the state store, and a WSGI app to serve them.

``serve_many([(connection, target block, state store), ...])`` starts one endpoint for every Desktop connection
given, on the first one's ``listen`` (a background thread, or blocking with ``block=True``); ``serve(config)`` is
the same for one. ``connex qbwc`` and the daemon call it. The Web Connector's user name says which connection a
session is for; its ticket, progress and last error are rows of the state store (``sessions``), never memory of
one process, so any number of endpoint processes behind a load balancer serve the calls of one session in turn.

The app is plain WSGI so it can also run behind any WSGI server that terminates HTTPS, which the Web Connector
requires for anything but localhost.

Sessions: one Web Connector at a time writes to a company file. A successful ``authenticate`` starts a new
session and supersedes any earlier one (a Web Connector whose run died comes back with a new authenticate);
the workflow then forgets the dead session's unanswered requests and re-checks before adding (see
``workflow``).
"""

from __future__ import annotations

import hmac
import html
import logging
import os
import re
import ssl
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from connex import __version__
from connex.errors import ConfigError, Location
from connex.http_server import BoundedHandlerMixIn, BoundedServerMixIn, ByteBudget
from connex_quickbooks_desktop import soap
from connex_quickbooks_desktop.config import Settings
from connex_quickbooks_desktop.lockout import AuthThrottle
from connex_quickbooks_desktop.qbxml import QbxmlBuilder
from connex_quickbooks_desktop.queue import RequestQueue, open_queue
from connex_quickbooks_desktop.safexml import MAX_BYTES, parse_text
from connex_quickbooks_desktop.sessions import Session, SessionStore
from connex_quickbooks_desktop.validation import optional_validator
from connex_quickbooks_desktop.workflow import Workflow

log = logging.getLogger(__name__)

MIN_QBXML = (13, 0)
MIN_QBWC = (2, 0)
INVALID_TICKET = "The ticket parameter is invalid"
# What the Web Connector says about a failure is kept and logged; anyone can call connectionError, so it is
# kept short (a ticket is a UUID; QuickBooks' messages are a sentence or two).
TICKET_LIMIT, MESSAGE_LIMIT = 64, 2000
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def loggable(value: str, limit: int = 64) -> str:
    """A client-chosen string fit for a log line: control characters (which forge lines or escape
    sequences) dropped and its length capped."""
    cleaned = _CONTROL.sub("", value)
    if len(cleaned) > limit:
        return f"{cleaned[:limit]}... ({len(value)} characters)"
    return cleaned


@dataclass
class Company:
    """One Desktop connection the endpoint serves: its settings, queue and workflow."""

    name: str
    settings: Settings
    queue: RequestQueue
    workflow: Workflow
    #: one call of this connection at a time in this process (its builder is shared by its calls); calls of
    #: different connections run side by side, and other processes are kept apart by the database
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)


def company_for(name: str, config: dict, state: Any = None, *, validator=None) -> Company:
    settings = Settings.from_config(config, state)
    queue = open_queue(config, settings.queue_db, state)
    builder = QbxmlBuilder(
        shipping_item=settings.shipping_item,
        rounding_item=settings.rounding_item,
        discount_item=settings.discount_item,
        discount_account=settings.discount_account,
        sku_map=settings.sku_map,
        income_account=settings.income_account,
        expense_account=settings.expense_account,
        tax=settings.tax,
    )
    workflow = Workflow(
        queue,
        builder,
        batch_size=settings.batch_size,
        missing_items=settings.missing_items,
        create_own_items=settings.create_own_items,
        validator=validator,
    )
    return Company(name, settings, queue, workflow)


class WebConnectorService:
    """The Web Connector methods, named and parameterised as the QBWC Programmer's Guide defines them, for every
    Desktop connection given: ``authenticate`` finds the connection by its user name (unique across the
    deployment), and the ticket it hands out names the connection in the state store, so any endpoint process
    serves any later call of the session."""

    def __init__(self, companies: list[Company]):
        if not companies:
            raise ValueError("a Web Connector endpoint serves at least one connection")
        self.companies = {c.name: c for c in companies}
        self._by_user: dict[str, Company] = {}
        for company in companies:
            other = self._by_user.get(company.settings.username)
            if other is not None:
                raise ConfigError(f"connections {other.name!r} and {company.name!r} have the same Web Connector "
                                  f"username; each Desktop connection needs its own",
                                  where=Location("target", field="username"))
            self._by_user[company.settings.username] = company
        self.settings = companies[0].settings  # the endpoint's own (listen, TLS, app name): the first's
        # sessions of every connection served: one state database per deployment (a queue on its own file has its
        # own: then each of those is asked)
        self._session_stores = {id(c.queue.database): SessionStore(c.queue.database) for c in companies}
        self._errors: OrderedDict[str, str] = OrderedDict()  # errors of tickets without a session (unknown)
        self._lock = threading.RLock()
        self.throttle = AuthThrottle()

    # the single-connection view (tests, and the status of a deployment of one)
    def _only(self) -> Company:
        return next(iter(self.companies.values()))

    @property
    def queue(self) -> RequestQueue:
        return self._only().queue

    @property
    def workflow(self) -> Workflow:
        return self._only().workflow

    def close(self) -> None:
        for company in self.companies.values():
            company.queue.close()

    # --- sessions ----------------------------------------------------------------------------------------
    def _session(self, ticket: str) -> tuple[Session | None, Company | None]:
        """The open session of ``ticket`` and its connection, when this endpoint serves that connection."""
        for store in self._session_stores.values():
            session = store.get(ticket)
            if session is not None:
                company = self.companies.get(session.connection)
                if session.open and company is not None:
                    return session, company
                return session, None
        return None, None

    def _store_of(self, company: Company) -> SessionStore:
        return self._session_stores[id(company.queue.database)]

    # --- dispatch ---------------------------------------------------------------------------------------
    def dispatch(self, call: soap.SoapCall, client: str = "") -> str | int | list[str]:
        """``client``: the remote address, which ``authenticate`` locks out after repeated failures."""
        handlers = {
            "serverVersion": lambda p: self.serverVersion(),
            "clientVersion": lambda p: self.clientVersion(p.get("strVersion", "")),
            "authenticate": lambda p: self.authenticate(
                p.get("strUserName", ""), p.get("strPassword", ""), client=client
            ),
            "sendRequestXML": lambda p: self.sendRequestXML(
                p.get("ticket", ""),
                p.get("strHCPResponse", ""),
                p.get("strCompanyFileName", ""),
                p.get("qbXMLCountry", ""),
                p.get("qbXMLMajorVers", ""),
                p.get("qbXMLMinorVers", ""),
            ),
            "receiveResponseXML": lambda p: self.receiveResponseXML(
                p.get("ticket", ""), p.get("response", ""), p.get("hresult", ""), p.get("message", "")
            ),
            "connectionError": lambda p: self.connectionError(
                p.get("ticket", ""), p.get("hresult", ""), p.get("message", "")
            ),
            "getLastError": lambda p: self.getLastError(p.get("ticket", "")),
            "closeConnection": lambda p: self.closeConnection(p.get("ticket", "")),
        }
        handler = handlers.get(call.method)
        if handler is None:
            raise soap.SoapFault(f"unknown Web Connector method {call.method!r}")
        log.debug("QBWC call %s", call.method)  # parameters are never logged: one of them is the password
        if call.method == "authenticate":
            company = self._by_user.get(call.params.get("strUserName", ""))
        elif "ticket" in call.params:
            company = self._session(call.params["ticket"])[1]
        else:
            company = None
        with company.lock if company is not None else self._lock:
            return handler(call.params)

    # --- the Web Connector methods -------------------------------------------------------------------------
    def serverVersion(self) -> str:  # noqa: N802 - the Web Connector's method names
        return f"Connex {__version__}"

    def clientVersion(self, strVersion: str) -> str:  # noqa: N802, N803
        """Answer "" to proceed, or "O:<version>" to ask for an upgrade of a Web Connector older than 2.0."""
        numbers = tuple(int(x) for x in re.findall(r"\d+", strVersion or "")[:2])
        if numbers and numbers < MIN_QBWC:
            return "O:" + ".".join(str(x) for x in MIN_QBWC)
        return ""

    def authenticate(self, strUserName: str, strPassword: str, *, client: str = "") -> list[str]:  # noqa: N802, N803
        """[ticket, status]: "nvu" for a wrong user name or password (or while the address or user name is
        locked out after repeated failures, see ``lockout``), "none" when there is nothing to do, else the
        company file to open ("" = the one open in QuickBooks). The user name says which connection."""
        ticket = str(uuid.uuid4())
        # the user-name key is cut: a megabyte of user name must not become a megabyte of memory per guess
        keys = (("address", client), ("user", strUserName[:256]))
        if self.throttle.locked(*keys):
            log.debug("QuickBooks Web Connector: authenticate refused during a lockout")
            return [ticket, "nvu"]
        # The password is compared in constant time whether or not the user name is known (against a random one
        # then), so the time taken reveals neither which was wrong nor which user names exist.
        company = self._by_user.get(strUserName)
        expected = company.settings.password if company is not None else uuid.uuid4().hex
        password_ok = hmac.compare_digest(strPassword.encode("utf-8"), expected.encode("utf-8"))
        if company is None or not password_ok:
            if self.throttle.failed(*keys):
                log.warning(
                    "QuickBooks Web Connector: repeated authentication failures from %s for user %r; "
                    "refusing that address and user name for a while",
                    loggable(client) or "?",
                    loggable(strUserName),
                )
            else:
                log.warning(
                    "QuickBooks Web Connector: authentication failed from %s for user %r",
                    loggable(client) or "?",
                    loggable(strUserName),
                )
            return [ticket, "nvu"]
        self.throttle.succeeded(*keys)
        if not company.queue.has_pending():
            return [ticket, "none"]
        lost = company.workflow.resume()
        pending = company.workflow.remaining()
        self._store_of(company).start(company.name, ticket, company.settings.company_file, pending, lost)
        log.info("QuickBooks Web Connector session %s of %s started (%d jobs pending)", ticket, company.name,
                 pending)
        return [ticket, company.settings.company_file]

    def sendRequestXML(  # noqa: N802
        self,
        ticket: str,
        strHCPResponse: str,
        strCompanyFileName: str,  # noqa: N803
        qbXMLCountry: str,
        qbXMLMajorVers: Any,
        qbXMLMinorVers: Any,  # noqa: N803
    ) -> str:
        session, company = self._session(ticket)
        if company is None:
            self._remember_error(ticket, INVALID_TICKET)
            return ""
        store = self._store_of(company)
        if strHCPResponse:
            problem = self._learn_company(company, strHCPResponse)
            if problem:
                store.set_error(ticket, problem)
                return ""
        try:
            version = (int(qbXMLMajorVers or 0), int(qbXMLMinorVers or 0))
        except ValueError:
            version = MIN_QBXML
        if version < MIN_QBXML and version != (0, 0):
            store.set_error(ticket, f"This QuickBooks supports qbXML {version[0]}.{version[1]}; Connex needs "
                                    f"{MIN_QBXML[0]}.{MIN_QBXML[1]} (QuickBooks 2014 or later)")
            return ""
        xml, count = company.workflow.next_request(ticket)
        if not count:
            store.set_error(ticket, "Connex: nothing more to send", only_if_empty=True)
            return ""
        store.count(ticket, round_trips=1, requests=count)
        return xml

    @staticmethod
    def _learn_company(company: Company, hcp: str) -> str:
        """The first sendRequestXML carries HostQuery/CompanyQuery/PreferencesQuery answers: remember whether
        multicurrency is on (CurrencyRef is refused otherwise) and refuse a QuickBooks too old for qbXML
        13."""
        try:
            root = parse_text(hcp)
        except ValueError:
            return ""
        multicurrency = root.findtext(".//MultiCurrencyPreferences/IsMultiCurrencyOn")
        if multicurrency:
            company.queue.set_meta(
                "multicurrency", "true" if multicurrency.strip().lower() == "true" else "false"
            )
        versions = []
        for node in root.iterfind(".//SupportedQBXMLVersion"):
            match = re.match(r"(\d+)\.(\d+)", node.text or "")
            if match:
                versions.append((int(match.group(1)), int(match.group(2))))
        if versions and max(versions) < MIN_QBXML:
            top = max(versions)
            return f"This QuickBooks supports qbXML up to {top[0]}.{top[1]}; Connex needs 13.0"
        return ""

    def receiveResponseXML(self, ticket: str, response: str, hresult: str, message: str) -> int:  # noqa: N802
        """Percent done (0..99 more to come, 100 finished), or -1 for an unknown ticket."""
        session, company = self._session(ticket)
        if company is None:
            self._remember_error(ticket, INVALID_TICKET)
            return -1
        store, workflow = self._store_of(company), company.workflow
        hresult, message = hresult[:TICKET_LIMIT], message[:MESSAGE_LIMIT]
        if hresult or not response:
            error = f"QuickBooks could not process the request ({hresult or 'no response'}): {message}"
            store.set_error(ticket, error)
            log.warning("QuickBooks Web Connector: %s", loggable(error, 500))
            workflow.handle_failed_message_set(ticket, hresult or "empty", message)
        else:
            try:
                store.count(ticket, answered=workflow.handle_response(ticket, response))
            except ValueError as exc:
                store.set_error(ticket, f"unreadable qbXML response: {exc}")
                workflow.handle_failed_message_set(ticket, "unreadable", str(exc))
        workflow.settle()
        remaining = workflow.remaining()
        if remaining == 0:
            return 100
        total = max(session.pending_at_start, remaining, 1)
        return max(0, min(99, int(100 * (total - remaining) / total)))

    def connectionError(self, ticket: str, hresult: str, message: str) -> str:  # noqa: N802
        """QuickBooks could not be reached or the company file opened: nothing was sent, so stop ("done") and
        let the next scheduled run try again rather than retrying in a loop."""
        text = f"QuickBooks connection error {hresult[:TICKET_LIMIT]}: {message[:MESSAGE_LIMIT]}"
        log.warning("QuickBooks Web Connector: %s", loggable(text, 500))
        _session, company = self._session(ticket)
        if company is not None:
            self._store_of(company).set_error(ticket, text)
        else:
            self._remember_error(ticket, text)
        return "done"

    def _remember_error(self, ticket: str, message: str) -> None:
        """Errors for tickets without a session (unknown ones); bounded, because anyone can send tickets (and
        long ones: the key is cut). Kept in this process only: nothing a stranger sends reaches the database."""
        with self._lock:
            self._errors[ticket[:TICKET_LIMIT]] = message
            while len(self._errors) > 100:
                self._errors.popitem(last=False)

    def getLastError(self, ticket: str) -> str:  # noqa: N802
        session, company = self._session(ticket)
        if company is None:
            with self._lock:
                return self._errors.pop(ticket[:TICKET_LIMIT], INVALID_TICKET)
        return session.last_error or "Connex: no error"

    def closeConnection(self, ticket: str) -> str:  # noqa: N802
        with self._lock:
            self._errors.pop(ticket[:TICKET_LIMIT], None)
        _session, company = self._session(ticket)
        if company is None:
            return "OK"
        session = self._store_of(company).close(ticket)
        if session is None:
            return "OK"
        counts = company.queue.counts()
        failed = counts.get("document:failed", 0)
        pending = sum(n for k, n in counts.items() if k.endswith(":pending"))
        summary = (
            f"OK: {session.round_trips} round trip(s), {session.requests} request(s); {pending} job(s) "
            f"pending, {failed} failed document(s)"
        )
        log.info("QuickBooks Web Connector session %s of %s closed: %s", ticket, company.name, summary)
        return summary

    # --- a results page for the .qwc's AppSupport URL ------------------------------------------------------
    def status_page(self) -> str:
        """Counts only, over every connection served. The Web Connector fetches AppSupport without credentials,
        so anyone who can reach the endpoint can read this page: failure messages (customer names, addresses)
        and connection names stay in ``connex``'s own reports, never here."""
        counts: dict[str, int] = {}
        for company in self.companies.values():
            for key, n in company.queue.counts().items():
                counts[key] = counts.get(key, 0) + n
        rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{n}</td></tr>" for k, n in sorted(counts.items()))
        started = [s for store in self._session_stores.values()
                   if (s := store.last_started(list(self.companies)))]
        when = max(started)[:19].replace("T", " ") + " UTC" if started else "never"
        name = html.escape(self.settings.app_name)
        return (
            f"<!doctype html><title>{name}</title>"
            f"<h1>{name}</h1><p>Last Web Connector session: {when}</p>"
            f"<table><tr><th>jobs</th><th>count</th></tr>{rows}</table>"
        )


class WebConnectorApp:
    """WSGI: POST = a SOAP call; GET = the status page (the Web Connector fetches
    AppSupport and wants 200)."""

    def __init__(self, service: WebConnectorService):
        self.service = service
        # every worker may take a body up to the cap, but two caps' worth at a time is plenty for one Web
        # Connector, and keeps the memory a crowd of large uploads can take to a few hundred MB
        self.budget = ByteBudget(2 * MAX_BYTES)

    def __call__(self, environ, start_response):
        method = environ.get("REQUEST_METHOD", "GET")
        if method in ("GET", "HEAD"):
            try:
                body = self.service.status_page().encode("utf-8")
            except Exception:  # e.g. the queue database busy: logged here, never a traceback to the client
                log.exception("QuickBooks Web Connector support page failed")
                return _plain(start_response, "503 Service Unavailable", "status not available right now")
            start_response(
                "200 OK", [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(body)))]
            )
            return [body] if method == "GET" else [b""]
        if method != "POST":
            start_response("405 Method Not Allowed", [("Allow", "GET, POST"), ("Content-Length", "0")])
            return [b""]
        length, refusal = _declared_length(environ)
        if refusal is not None:
            return _plain(start_response, *refusal)
        if not self.budget.acquire(length):
            return _plain(start_response, "503 Service Unavailable", "busy with other large requests")
        try:
            return self._call(environ, start_response, length)
        finally:
            self.budget.release(length)

    def _call(self, environ, start_response, length: int):
        try:
            body = _read_exactly(environ["wsgi.input"], length)
        except OSError:  # the client stopped sending (too slow, or gone): nothing to parse
            return _plain(start_response, "408 Request Timeout", "request body not received in time")
        if len(body) < length:
            return _plain(start_response, "400 Bad Request", "request body shorter than its Content-Length")
        try:
            call = soap.parse_call(body)
            result = self.service.dispatch(call, client=environ.get("REMOTE_ADDR", ""))
            payload = soap.answer(call.method, result)
        except soap.SoapFault as exc:
            return self._fault(start_response, exc)
        except Exception:
            log.exception("QuickBooks Web Connector endpoint failed")
            return self._fault(start_response, soap.SoapFault("internal error in Connex", "soap:Server"))
        start_response(
            "200 OK", [("Content-Type", "text/xml; charset=utf-8"), ("Content-Length", str(len(payload)))]
        )
        return [payload]

    @staticmethod
    def _fault(start_response, error: soap.SoapFault):
        payload = soap.fault(error)
        start_response(
            "500 Internal Server Error",
            [("Content-Type", "text/xml; charset=utf-8"), ("Content-Length", str(len(payload)))],
        )
        return [payload]


def _declared_length(environ) -> tuple[int, tuple[str, str] | None]:
    """The body length, or the refusal: checked before a byte of the body is read, so no length (missing,
    chunked, negative, not a number, over the cap) makes the endpoint buffer more than ``MAX_BYTES``."""
    if environ.get("HTTP_TRANSFER_ENCODING"):
        return 0, ("411 Length Required", "send the body with a Content-Length, not a transfer encoding")
    declared = (environ.get("CONTENT_LENGTH") or "").strip()
    if not declared:
        return 0, ("411 Length Required", "a SOAP request needs a Content-Length")
    if not declared.isdecimal() or not declared.isascii():
        return 0, ("400 Bad Request", "Content-Length must be a non-negative whole number")
    # a thousand-digit length must not cost a big-integer conversion: anything longer than the cap's digits
    # is over the cap
    if len(declared.lstrip("0")) > len(str(MAX_BYTES)) or int(declared) > MAX_BYTES:
        return 0, ("413 Content Too Large", f"request body over {MAX_BYTES} bytes")
    return int(declared), None


def _read_exactly(stream, length: int) -> bytes:
    """Up to ``length`` bytes, fewer only when the client closes early; never more."""
    chunks, remaining = [], length
    while remaining > 0:
        chunk = stream.read(min(remaining, 1024 * 1024))
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def _plain(start_response, status: str, text: str):
    payload = (text + "\n").encode("utf-8")
    start_response(
        status,
        [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(payload)))],
    )
    return [payload]


class _BoundedWSGIServer(BoundedServerMixIn, WSGIServer):
    """Bounded workers and read deadlines (``connex.http_server``): the endpoint faces the internet."""

    allow_reuse_address = True
    workers = 8  # the Web Connector sends one request at a time; dispatch is serialised anyway


class _QuietHandler(BoundedHandlerMixIn, WSGIRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - signature fixed by BaseHTTPRequestHandler
        log.debug("qbwc http: " + format, *args)


class WebConnectorServer:
    """A running endpoint: ``url``, ``service`` (for inspection), ``stop()``."""

    def __init__(self, service: WebConnectorService, host: str, port: int):
        self.service = service
        self._httpd = make_server(
            host,
            port,
            WebConnectorApp(service),
            server_class=_BoundedWSGIServer,
            handler_class=_QuietHandler,
        )
        self.scheme = "http"
        settings = service.settings
        if settings.tls_cert:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.minimum_version = ssl.TLSVersion.TLSv1_2
            context.load_cert_chain(settings.tls_cert, settings.tls_key)
            # the handshake on first read, in the request's own thread: a silent client cannot stall accept()
            self._httpd.socket = context.wrap_socket(self._httpd.socket, server_side=True,
                                                     do_handshake_on_connect=False)
            self.scheme = "https"
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        host = "localhost" if host in ("127.0.0.1", "0.0.0.0", "::1", "::") else host
        return f"{self.scheme}://{host}:{port}/qbwc"

    def start(self) -> WebConnectorServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1}, name="qbwc-endpoint", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._httpd.serve_forever()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.service.close()

    def __enter__(self) -> WebConnectorServer:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def serve(
    config: dict,
    queue_db: str | None = None,
    stop_event: threading.Event | None = None,
    *,
    block: bool = False,
    state: Any = None,
) -> WebConnectorServer:
    """Serve the Web Connector endpoint for one ``target:`` config block on its ``listen`` address (see
    ``serve_many``); ``state`` is the connection's state store."""
    config = {**config, **({"queue_db": queue_db} if queue_db else {})}
    name = getattr(state, "connection", None) or "default"
    return serve_many([(name, config, state)], stop_event, block=block)


def serve_many(
    connections: list[tuple[str, dict, Any]],
    stop_event: threading.Event | None = None,
    *,
    block: bool = False,
) -> WebConnectorServer:
    """Serve one Web Connector endpoint for every ``(connection name, target: block, state store)`` given, on the
    first one's ``listen`` address and TLS files.

    Without ``block`` the server runs in a daemon thread and is returned at once (call ``.stop()``); a given
    ``stop_event`` also stops it when set. With ``block=True`` this call serves until ``stop_event`` is set
    (or KeyboardInterrupt) and returns the stopped server."""
    validator = optional_validator()
    companies = [company_for(name, config, state, validator=validator) for name, config, state in connections]
    service = WebConnectorService(companies)
    settings = service.settings
    for field_name in ("tls_cert", "tls_key"):
        path = getattr(settings, field_name)
        if path and not os.path.isfile(path):
            raise ConfigError(f"cannot read {path}: no such file", where=Location("target", field=field_name))
    try:
        server = WebConnectorServer(service, settings.host, settings.port)
    except ssl.SSLError as exc:
        raise ConfigError(f"tls_cert/tls_key: {exc.reason or exc}", where=Location("target", field="tls_cert")) from exc
    except (OSError, OverflowError) as exc:
        raise ConfigError(
            f"cannot listen on {settings.host}:{settings.port}: {getattr(exc, 'strerror', None) or exc}",
            where=Location("target", field="listen"),
        ) from exc
    log.info("QuickBooks Web Connector endpoint on %s for %s", server.url, ", ".join(service.companies))
    if not block:
        server.start()
        if stop_event is not None:
            threading.Thread(target=lambda: (stop_event.wait(), server.stop()), daemon=True).start()
        return server
    if stop_event is not None:
        threading.Thread(target=lambda: (stop_event.wait(), server._httpd.shutdown()), daemon=True).start()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server._httpd.server_close()
    return server
