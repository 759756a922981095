"""The Web Connector endpoint: the eight SOAP methods, per-ticket session state, and a WSGI app to serve them.

``serve(config, queue_db=None)`` starts it on ``listen`` (a background thread, or blocking with
``block=True``); ``connex qbwc`` and the daemon call it. The app is plain WSGI so it can also run behind any
WSGI server that terminates HTTPS, which the Web Connector requires for anything but localhost.

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
import time
import uuid
from collections import OrderedDict, deque
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
from connex_quickbooks_desktop.queue import RequestQueue
from connex_quickbooks_desktop.safexml import MAX_BYTES, parse_text
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
class Session:
    ticket: str
    company_file: str
    pending_at_start: int
    started: float = field(default_factory=time.time)
    round_trips: int = 0
    requests: int = 0
    answered: int = 0
    lost_on_resume: int = 0
    last_error: str = ""


class WebConnectorService:
    """The Web Connector methods, named and parameterised as the QBWC Programmer's Guide defines them."""

    def __init__(self, settings: Settings, queue: RequestQueue | None = None, *, validator=None):
        self.settings = settings
        self.queue = queue or RequestQueue(settings.queue_db)
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
        self.workflow = Workflow(
            self.queue,
            builder,
            batch_size=settings.batch_size,
            missing_items=settings.missing_items,
            create_own_items=settings.create_own_items,
            validator=validator if validator is not None else optional_validator(),
        )
        self._sessions: dict[str, Session] = {}
        self._errors: OrderedDict[str, str] = OrderedDict()  # last errors of tickets no longer open
        self._lock = threading.RLock()
        self.history: deque[Session] = deque(maxlen=50)
        self.throttle = AuthThrottle()

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
        with self._lock:
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
        company file to open ("" = the one open in QuickBooks)."""
        ticket = str(uuid.uuid4())
        # the user-name key is cut: a megabyte of user name must not become a megabyte of memory per guess
        keys = (("address", client), ("user", strUserName[:256]))
        if self.throttle.locked(*keys):
            log.debug("QuickBooks Web Connector: authenticate refused during a lockout")
            return [ticket, "nvu"]
        # Both compared, always, in constant time: a mismatch reveals neither which one nor where.
        user_ok = hmac.compare_digest(strUserName.encode("utf-8"), self.settings.username.encode("utf-8"))
        password_ok = hmac.compare_digest(strPassword.encode("utf-8"), self.settings.password.encode("utf-8"))
        if not (user_ok and password_ok):
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
        if not self.queue.has_pending():
            return [ticket, "none"]
        lost = self.workflow.resume()
        for old in self._sessions.values():
            self.history.append(old)
        self._sessions = {
            ticket: Session(
                ticket, self.settings.company_file, self.workflow.remaining(), lost_on_resume=lost
            )
        }
        log.info(
            "QuickBooks Web Connector session %s started (%d jobs pending)",
            ticket,
            self._sessions[ticket].pending_at_start,
        )
        return [ticket, self.settings.company_file]

    def sendRequestXML(  # noqa: N802
        self,
        ticket: str,
        strHCPResponse: str,
        strCompanyFileName: str,  # noqa: N803
        qbXMLCountry: str,
        qbXMLMajorVers: Any,
        qbXMLMinorVers: Any,  # noqa: N803
    ) -> str:
        session = self._sessions.get(ticket)
        if session is None:
            self._remember_error(ticket, INVALID_TICKET)
            return ""
        if strHCPResponse:
            problem = self._learn_company(strHCPResponse)
            if problem:
                session.last_error = problem
                return ""
        try:
            version = (int(qbXMLMajorVers or 0), int(qbXMLMinorVers or 0))
        except ValueError:
            version = MIN_QBXML
        if version < MIN_QBXML and version != (0, 0):
            session.last_error = (
                f"This QuickBooks supports qbXML {version[0]}.{version[1]}; Connex needs "
                f"{MIN_QBXML[0]}.{MIN_QBXML[1]} (QuickBooks 2014 or later)"
            )
            return ""
        xml, count = self.workflow.next_request(ticket)
        if not count:
            session.last_error = session.last_error or "Connex: nothing more to send"
            return ""
        session.round_trips += 1
        session.requests += count
        return xml

    def _learn_company(self, hcp: str) -> str:
        """The first sendRequestXML carries HostQuery/CompanyQuery/PreferencesQuery answers: remember whether
        multicurrency is on (CurrencyRef is refused otherwise) and refuse a QuickBooks too old for qbXML
        13."""
        try:
            root = parse_text(hcp)
        except ValueError:
            return ""
        multicurrency = root.findtext(".//MultiCurrencyPreferences/IsMultiCurrencyOn")
        if multicurrency:
            self.queue.set_meta(
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
        session = self._sessions.get(ticket)
        if session is None:
            self._remember_error(ticket, INVALID_TICKET)
            return -1
        hresult, message = hresult[:TICKET_LIMIT], message[:MESSAGE_LIMIT]
        if hresult or not response:
            session.last_error = (
                f"QuickBooks could not process the request ({hresult or 'no response'}): {message}"
            )
            log.warning("QuickBooks Web Connector: %s", loggable(session.last_error, 500))
            self.workflow.handle_failed_message_set(ticket, hresult or "empty", message)
        else:
            try:
                session.answered += self.workflow.handle_response(ticket, response)
            except ValueError as exc:
                session.last_error = f"unreadable qbXML response: {exc}"
                self.workflow.handle_failed_message_set(ticket, "unreadable", str(exc))
        self.workflow.settle()
        remaining = self.workflow.remaining()
        if remaining == 0:
            return 100
        total = max(session.pending_at_start, remaining, 1)
        return max(0, min(99, int(100 * (total - remaining) / total)))

    def connectionError(self, ticket: str, hresult: str, message: str) -> str:  # noqa: N802
        """QuickBooks could not be reached or the company file opened: nothing was sent, so stop ("done") and
        let the next scheduled run try again rather than retrying in a loop."""
        text = f"QuickBooks connection error {hresult[:TICKET_LIMIT]}: {message[:MESSAGE_LIMIT]}"
        log.warning("QuickBooks Web Connector: %s", loggable(text, 500))
        session = self._sessions.get(ticket)
        if session is not None:
            session.last_error = text
        self._remember_error(ticket, text)
        return "done"

    def _remember_error(self, ticket: str, message: str) -> None:
        """Errors for tickets without a session (unknown, or after connectionError); bounded, because anyone
        can send tickets (and long ones: the key is cut)."""
        self._errors[ticket[:TICKET_LIMIT]] = message
        while len(self._errors) > 100:
            self._errors.popitem(last=False)

    def getLastError(self, ticket: str) -> str:  # noqa: N802
        session = self._sessions.get(ticket)
        if session is None:
            return self._errors.pop(ticket[:TICKET_LIMIT], INVALID_TICKET)
        return session.last_error or "Connex: no error"

    def closeConnection(self, ticket: str) -> str:  # noqa: N802
        session = self._sessions.pop(ticket, None)
        self._errors.pop(ticket[:TICKET_LIMIT], None)
        if session is None:
            return "OK"
        self.history.append(session)
        counts = self.queue.counts()
        failed = counts.get("document:failed", 0)
        pending = sum(n for k, n in counts.items() if k.endswith(":pending"))
        summary = (
            f"OK: {session.round_trips} round trip(s), {session.requests} request(s); {pending} job(s) "
            f"pending, {failed} failed document(s)"
        )
        log.info("QuickBooks Web Connector session %s closed: %s", ticket, summary)
        return summary

    # --- a results page for the .qwc's AppSupport URL ------------------------------------------------------
    def status_page(self) -> str:
        """Counts only. The Web Connector fetches AppSupport without credentials, so anyone who can reach the
        endpoint can read this page: failure messages (customer names, addresses) stay in ``connex``'s own
        reports, never here."""
        counts = self.queue.counts()
        rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{n}</td></tr>" for k, n in sorted(counts.items()))
        last = self.history[-1] if self.history else None
        when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(last.started)) if last else "never"
        return (
            f"<!doctype html><title>{html.escape(self.settings.app_name)}</title>"
            f"<h1>{html.escape(self.settings.app_name)}</h1><p>Last Web Connector session: {when}</p>"
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
        self.service.queue.close()

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
    """Serve the Web Connector endpoint for a ``target:`` config block on its ``listen`` address.

    Without ``block`` the server runs in a daemon thread and is returned at once (call ``.stop()``); a given
    ``stop_event`` also stops it when set. With ``block=True`` this call serves until ``stop_event`` is set
    (or KeyboardInterrupt) and returns the stopped server."""
    settings = Settings.from_config({**config, **({"queue_db": queue_db} if queue_db else {})}, state)
    for field_name in ("tls_cert", "tls_key"):
        path = getattr(settings, field_name)
        if path and not os.path.isfile(path):
            raise ConfigError(f"cannot read {path}: no such file", where=Location("target", field=field_name))
    try:
        server = WebConnectorServer(WebConnectorService(settings), settings.host, settings.port)
    except ssl.SSLError as exc:
        raise ConfigError(f"tls_cert/tls_key: {exc.reason or exc}", where=Location("target", field="tls_cert")) from exc
    except (OSError, OverflowError) as exc:
        raise ConfigError(
            f"cannot listen on {settings.host}:{settings.port}: {getattr(exc, 'strerror', None) or exc}",
            where=Location("target", field="listen"),
        ) from exc
    log.info("QuickBooks Web Connector endpoint on %s", server.url)
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
