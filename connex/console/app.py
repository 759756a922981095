"""The console's pages and actions: a Starlette application rendering Jinja2 templates on the server.

Starlette because it is small, maintained and typed, routes by declaration, brings signed sessions (itsdangerous)
and a test client, and runs on uvicorn, which serves TLS from a certificate and key: the console needs no more.
htmx (vendored in static/) expands a failure group and fetches a live explanation in place; every page and action
also works without JavaScript (plain links and forms).

Safety, in the order a request meets it: security headers on every answer; every page but the sign-in form and
the static files needs a signed-in user (the ledger holds customers' names); every POST needs the session's CSRF
token (a form field or the X-CSRF-Token header htmx sends); actions need the operator role; sign-in failures are
limited per address and per name; every value rendered goes through the configuration's secret scrubber.
"""

from __future__ import annotations

import datetime as dt
import hmac
import logging
import secrets
from pathlib import Path
from urllib.parse import quote, urlencode

import jinja2
from markupsafe import escape
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from connex.console import actions, chart
from connex.console.failures import grouped
from connex.console.passwords import verify_password
from connex.console.queries import SHOWN_STATUSES, Ledger
from connex.console.ratelimit import LoginLimiter
from connex.console.settings import ConsoleSettings, User
from connex.daemon.pause import paused
from connex.redaction import Secrets
from connex.state import open_state

log = logging.getLogger(__name__)
HERE = Path(__file__).parent
SESSION_KEY = "console:session_key"
SECURITY_HEADERS = {
    # htmx is served from here; its indicator styles are turned off (meta htmx-config) so no inline style is needed
    "content-security-policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "cache-control": "no-store",
}
SEARCH_LIMIT = 50
GROUP_SHOWN = 50
#: a group or every failure retried at once: orders are read again by id, 100 a request
RETRY_MOST = 10_000


class ConnectionConsole:
    """One connection as the pages see it: its configuration, state (for actions), ledger (for reads), runner and
    where its pages live (``base``: "" for the only connection of a deployment, ``/c/NAME`` otherwise)."""

    def __init__(self, config, plugins, runner, base: str):
        self.config = config
        self.runner = runner
        self.base = base
        self.state = open_state(config.state_path, connection=config.name)  # creates the schema if need be
        self.ledger = Ledger(self.state)
        self._rules = None
        target = plugins.targets().get(config.target_plugin)
        self._document_url = getattr(target, "document_url", None)

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def connection(self) -> str:
        """The name its schedule is paused under and its history is kept under (``ConnectionWorker.pause_key``)."""
        return self.config.sync.connection or self.config.name

    def document_url(self, kind: str, target_id: str | None) -> str | None:
        if self._document_url is None or not target_id:
            return None
        try:
            return self._document_url(self.config.target, kind, target_id)
        except Exception:  # a plugin's link is a convenience: a page must not fail for it
            log.exception("the target's document_url failed")
            return None

    def rules(self):
        if self._rules is None:
            from connex.commands._setup import engine_for

            self._rules = engine_for(self.config)
        return self._rules

    def close(self) -> None:
        self.ledger.close()
        self.state.close()


class Console:
    """What every page needs: the deployment's connections (one ``ConnectionConsole`` each), the console's
    settings, the sign-in limiter and the secrets no page may show."""

    def __init__(self, configs, plugins, runners: dict, settings: ConsoleSettings):
        self.settings = settings
        self.many = len(configs) > 1
        self.connections: dict[str, ConnectionConsole] = {}
        try:
            for config in configs:
                base = f"/c/{quote(config.name, safe='')}" if self.many else ""
                self.connections[config.name] = ConnectionConsole(config, plugins, runners[config.name], base)
        except BaseException:
            self.close()
            raise
        self.limiter = LoginLimiter()
        self.secrets = Secrets(values=set().union(*(c.secrets for c in configs)))
        for user in settings.users.values():
            self.secrets.add(user.password_hash)

    @property
    def first(self) -> ConnectionConsole:
        return next(iter(self.connections.values()))

    def scoped(self, request: Request) -> ConnectionConsole:
        """The connection a request is about: named in the URL (``/c/NAME/...``), or the only one there is."""
        name = request.path_params.get("connection")
        if name is None:
            if self.many:  # an unscoped page of a deployment of many: which connection is not known
                raise _Elsewhere(RedirectResponse("/", status_code=303))
            return self.first
        found = self.connections.get(name)
        if found is None:
            raise _Elsewhere(_refuse(request, 404, "no such connection"))
        return found

    def session_key(self) -> str:
        if self.settings.secret_key:
            return self.settings.secret_key
        state = self.first.state  # the first connection by name keeps it (one key for the whole console)
        key = state.get(SESSION_KEY)
        if not key:
            key = secrets.token_urlsafe(48)
            state.put(SESSION_KEY, key)
        return key

    def close(self) -> None:
        for connection in self.connections.values():
            connection.close()


class _Elsewhere(Exception):  # noqa: N818 - not an error: the answer is another page
    """Raised by ``Console.scoped`` when the request has to be answered with another page."""

    def __init__(self, response: Response):
        self.response = response


# --- templates -------------------------------------------------------------------------------------------------
def _environment(console: Console) -> jinja2.Environment:
    def finalize(value):
        return console.secrets.scrub(value) if isinstance(value, str) else value

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True,
                             finalize=finalize, trim_blocks=True,
                             lstrip_blocks=True)
    env.filters["urlpart"] = lambda value: quote(str(value), safe="")
    env.filters["title_status"] = lambda value: str(value).replace("_", " ")
    env.filters["when"] = _when
    return env


def _when(value) -> str:
    """A stored UTC timestamp (2026-12-03T13:27:17+00:00) as people read it: 2026-12-03 13:27:17 UTC."""
    text = str(value or "")
    if len(text) >= 19 and text[10] == "T":
        return f"{text[:10]} {text[11:19]}" + (" UTC" if text.endswith(("+00:00", "Z")) else "")
    return text


def _base(request: Request) -> str | None:
    """Where the pages of the request's connection live; None on the overview of a deployment of many."""
    console: Console = request.app.state.console
    name = request.path_params.get("connection")
    if name is not None and name in console.connections:
        return console.connections[name].base
    return None if console.many else ""


def _page(request: Request, name: str, status_code: int = 200, **context) -> HTMLResponse:
    user = current_user(request)
    session = request.scope.get("session", {})
    flash = session.pop("flash", None) if user else None
    context.setdefault("base", _base(request))
    context.setdefault("scope_name", request.path_params.get("connection"))
    body = request.app.state.templates.get_template(name).render(
        user=user, csrf=csrf_token(request), flash=flash, request_path=request.url.path, **context)
    return HTMLResponse(body, status_code=status_code)


# --- sessions, roles, CSRF ---------------------------------------------------------------------------------------
def current_user(request: Request) -> User | None:
    name = request.scope.get("session", {}).get("user")
    return request.app.state.console.settings.users.get(name) if name else None


def csrf_token(request: Request) -> str:
    session = request.scope["session"]
    if not session.get("csrf"):
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


async def _csrf_ok(request: Request) -> bool:
    expected = request.scope["session"].get("csrf")
    given = request.headers.get("x-csrf-token")
    if given is None:
        form = await request.form()
        given = form.get("csrf")
    return bool(expected) and isinstance(given, str) and hmac.compare_digest(given, expected)


def _refuse(request: Request, status: int, message: str) -> HTMLResponse:
    return _page(request, "error.html", status_code=status, message=message)


def _signed_in(handler):
    async def guarded(request: Request):
        if current_user(request) is None:
            target = "/login?" + urlencode({"next": request.url.path + (f"?{request.url.query}"
                                                                           if request.url.query else "")})
            if request.headers.get("hx-request"):
                return Response(status_code=401, headers={"HX-Redirect": target})
            return RedirectResponse(target, status_code=303)
        try:
            return await handler(request)
        except _Elsewhere as elsewhere:
            return elsewhere.response

    return guarded


def _action(handler):
    """A POST that changes something: signed in, the CSRF token, and the operator role."""

    async def guarded(request: Request):
        user = current_user(request)
        if user is None:
            return _refuse(request, 401, "sign in first")
        if not await _csrf_ok(request):
            return _refuse(request, 403, "the form's CSRF token is missing or wrong: reload the page and try again")
        if not user.can_act:
            return _refuse(request, 403, f"{user.name} is a viewer: only an operator can do this")
        try:
            message = await handler(request, user)
        except _Elsewhere as elsewhere:
            return elsewhere.response
        request.scope["session"]["flash"] = message
        return RedirectResponse(_local(await _field(request, "next")) or "/", status_code=303)

    return guarded


async def _field(request: Request, name: str) -> str:
    form = await request.form()
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _local(target: str) -> str | None:
    """Only a path on this site: never an absolute or scheme-relative URL (an open redirect)."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


# --- sign in and out ---------------------------------------------------------------------------------------------
async def login_form(request: Request):
    return _page(request, "login.html", next=_local(request.query_params.get("next", "")) or "/", error=None)


async def login(request: Request):
    console: Console = request.app.state.console
    form = await request.form()
    name, password = str(form.get("username") or ""), str(form.get("password") or "")
    target = _local(str(form.get("next") or "")) or "/"
    if not await _csrf_ok(request):
        return _refuse(request, 403, "the form's CSRF token is missing or wrong: reload the page and try again")
    address = request.client.host if request.client else "?"
    wait = console.limiter.wait(address, name)
    if wait > 0:
        response = _page(request, "login.html", status_code=429, next=target,
                         error=f"too many failed sign-ins: try again in {int(wait) + 1} seconds")
        response.headers["retry-after"] = str(int(wait) + 1)
        return response
    user = console.settings.users.get(name)
    if not verify_password(password, user.password_hash if user else None) or user is None:
        console.limiter.failed(address, name)
        log.warning("console: failed sign-in for %r from %s", name[:64], address)
        return _page(request, "login.html", status_code=401, next=target, error="wrong name or password")
    console.limiter.succeeded(name)
    session = request.scope["session"]
    session.clear()  # a new session on sign-in: a token planted before it is worth nothing after
    session["user"] = user.name
    session["csrf"] = secrets.token_urlsafe(32)
    log.info("console: %s signed in from %s", user.name, address)
    return RedirectResponse(target, status_code=303)


async def logout(request: Request):
    if not await _csrf_ok(request):
        return _refuse(request, 403, "the form's CSRF token is missing or wrong: reload the page and try again")
    request.scope["session"].clear()
    return RedirectResponse("/login", status_code=303)


# --- pages -------------------------------------------------------------------------------------------------------
def connection_view(console: ConnectionConsole) -> dict:
    """One connection as the overview shows it (a list of them once Connex syncs several)."""
    ledger, runner = console.ledger, console.runner
    counts, runs = ledger.counts(), ledger.last_runs()
    pause = paused(console.state, console.connection)
    next_run = None if pause else runner.next_run()
    flows = []
    for flow in dict.fromkeys([*runner.flows, *counts]):
        flow_counts = counts.get(flow, {})
        shown = {s: flow_counts.get(s, 0) for s in SHOWN_STATUSES}
        shown["posted"] += flow_counts.get("exists", 0)
        flows.append({"name": flow, "counts": shown, "last": runs.get(flow),
                      "next": next_run.isoformat(sep=" ", timespec="seconds") if next_run else None,
                      "enabled": flow in runner.flows})
    healthy, health = runner.health()
    return {"name": console.connection, "base": console.base, "source": console.config.source_plugin,
            "target": console.config.target_plugin, "healthy": healthy, "health": health, "paused": pause,
            "running": runner.running(), "flows": flows, "chart": chart.bars(ledger.per_day(30)),
            "schedule": console.config.sync.schedule.text if console.config.sync.schedule else None}


def connection_line(console: ConnectionConsole) -> dict:
    """One connection as the overview of many lists it: health, last pass, failures, paused, running."""
    counts, runs = console.ledger.counts(), console.ledger.last_runs()
    healthy, health = console.runner.health()
    last = max(runs.values(), key=lambda r: r.get("started_at") or "", default=None)
    return {"name": console.name, "base": console.base, "source": console.config.source_plugin,
            "target": console.config.target_plugin, "healthy": healthy, "health": health,
            "paused": paused(console.state, console.connection), "running": console.runner.running(),
            "last": last, "failed": sum(c.get("failed", 0) for c in counts.values()),
            "posted": sum(c.get("posted", 0) + c.get("exists", 0) for c in counts.values()),
            "flows": list(console.runner.flows)}


@_signed_in
async def overview(request: Request):
    """Every connection (a deployment of many, at /), or one connection's page (its only one, or /c/NAME/)."""
    console: Console = request.app.state.console
    if console.many and "connection" not in request.path_params:
        lines = [connection_line(c) for c in console.connections.values()]
        return _page(request, "overview.html", many=True, lines=lines,
                     failing=sum(1 for line in lines if line["healthy"] is False))
    return _page(request, "overview.html", many=False, connections=[connection_view(console.scoped(request))])


def _failure_filters(request: Request) -> dict:
    params = request.query_params
    return {"flow": params.get("flow") or "", "since": _day(params.get("since")), "until": _day(params.get("until")),
            "reason": params.get("reason") or ""}


def _day(text: str | None) -> str:
    try:
        return dt.date.fromisoformat(text).isoformat() if text else ""
    except ValueError:
        return ""


def _until(filters: dict) -> str | None:
    """The day after the filter's last day: updated_at is a timestamp, the filter a day."""
    return (dt.date.fromisoformat(filters["until"]) + dt.timedelta(days=1)).isoformat() if filters["until"] else None


def _groups(console: ConnectionConsole, filters: dict):
    groups = grouped(console.ledger.failure_reasons(filters["flow"] or None, filters["since"] or None,
                                                    _until(filters)))
    if filters["reason"]:
        return [g for g in groups if g.id == filters["reason"]], groups
    return groups, groups


def _documents_of(console: ConnectionConsole, groups, filters: dict, limit: int):
    reasons = sorted({r for g in groups for r in g.reasons})
    return console.ledger.failures_for(reasons, filters["flow"] or None, filters["since"] or None, _until(filters),
                                       limit)


@_signed_in
async def failures(request: Request):
    console = request.app.state.console.scoped(request)
    filters = _failure_filters(request)
    groups, every = _groups(console, filters)
    return _page(request, "failures.html", groups=groups, filters=filters, flows=console.ledger.flows(),
                 reasons=[(g.id, g.kind) for g in every], total=sum(g.count for g in groups),
                 query=urlencode({k: v for k, v in filters.items() if v and k != "reason"}))


@_signed_in
async def failure_group(request: Request):
    console = request.app.state.console.scoped(request)
    filters = _failure_filters(request)
    filters["reason"] = request.query_params.get("group", "")
    groups, _ = _groups(console, filters)
    if not groups:
        return HTMLResponse("<p class=note>this group has no failed documents now</p>")
    documents = _documents_of(console, groups, filters, GROUP_SHOWN)
    body = request.app.state.templates.get_template("_group_documents.html").render(
        group=groups[0], documents=documents, more=max(groups[0].count - len(documents), 0),
        user=current_user(request), csrf=csrf_token(request), request_path=console.base + "/failures",
        base=console.base)
    return HTMLResponse(body)


@_signed_in
async def document_page(request: Request):
    console = request.app.state.console.scoped(request)
    key = request.path_params["key"]
    document = console.ledger.document(key)
    events = console.ledger.history(key)
    if document is None and not events:
        return _refuse(request, 404, "no such document in the ledger")
    explained = None
    if document is not None and document.record is not None:  # the ledger keeps a failed document's record
        explained = _explain(console, document.flow, [document.record])
    return _page(request, "document.html", key=key, document=document, events=events,
                 run=console.ledger.run(document.run_id) if document else None, explained=explained,
                 link=console.document_url(document.kind, document.target_id) if document else None,
                 repost=actions.repost_available())


def _explain(console: ConnectionConsole, flow: str, records: list[dict]) -> list[dict]:
    from connex.commands.explain import explanation, tax_reasons

    out = []
    for record in records:
        data = explanation(console.rules().map(flow, record))
        data["tax"] = [tax_reasons(d) for d in data["documents"]]
        out.append(data)
    return out


@_signed_in
async def document_explain(request: Request):
    """The rules that fired, from the record read live from the source now (asked for with a button)."""
    from starlette.concurrency import run_in_threadpool

    from connex.commands.explain import _fetch
    from connex.errors import ConnexError

    console = request.app.state.console.scoped(request)
    document = console.ledger.document(request.path_params["key"])
    if document is None:
        return HTMLResponse("<p class=note>not in the ledger</p>", status_code=404)
    number = document.source_id if document.flow == "orders" else (document.number or document.source_id)
    try:
        records = await run_in_threadpool(_fetch, console.config, document.flow, number)
        explained = _explain(console, document.flow, records)
    except ConnexError as exc:
        return HTMLResponse(f"<p class=error>{escape(request.app.state.console.secrets.scrub(str(exc)))}</p>")
    body = request.app.state.templates.get_template("_explain.html").render(explained=explained, live=True)
    return HTMLResponse(body)


@_signed_in
async def search(request: Request):
    console = request.app.state.console.scoped(request)
    text = request.query_params.get("q", "")[:200]
    results = console.ledger.search(text, SEARCH_LIMIT) if text.strip() else []
    return _page(request, "search.html", q=text, results=results, limit=SEARCH_LIMIT)


# --- actions -----------------------------------------------------------------------------------------------------
@_action
async def retry_action(request: Request, user: User) -> str:
    console = request.app.state.console.scoped(request)
    form = await request.form()
    keys = [str(k) for k in form.getlist("key")]
    group = str(form.get("group") or "")
    if group or form.get("all"):
        filters = {"flow": str(form.get("flow") or ""), "since": _day(str(form.get("since") or "")),
                   "until": _day(str(form.get("until") or "")), "reason": group}
        groups, _ = _groups(console, filters)
        documents = _documents_of(console, groups, filters, RETRY_MOST)
    else:
        documents = console.ledger.documents(keys)
    return actions.retry(console.state, console.runner, documents, user.name)


@_action
async def run_action(request: Request, user: User) -> str:
    console = request.app.state.console.scoped(request)
    form = await request.form()
    flows = [str(f) for f in form.getlist("flow")] or list(console.runner.flows)
    return actions.run_now(console.state, console.runner, console.connection, flows, user.name)


@_action
async def pause_action(request: Request, user: User) -> str:
    console = request.app.state.console.scoped(request)
    on = await _field(request, "paused") == "1"
    return actions.pause(console.state, console.connection, on, user.name)


@_action
async def forget_action(request: Request, user: User) -> str:
    console = request.app.state.console.scoped(request)
    document = console.ledger.document(await _field(request, "key"))
    if document is None:
        return "not forgotten: the document is not in the ledger"
    return actions.forget(console.state, document, user.name)


# --- the application ---------------------------------------------------------------------------------------------
class _SecurityHeaders:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def with_headers(message):
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items() if k.encode() not in present]
                if scope.get("scheme") == "https":
                    extra.append((b"strict-transport-security", b"max-age=31536000"))
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, with_headers)


def create_app(configs, plugins, runners, settings: ConsoleSettings | None = None) -> Starlette:
    """The console of ``configs`` (a deployment's connections, or one ``Config``), each passed its runner
    (``runners``: by connection name, or the one runner of a single config)."""
    if not isinstance(configs, (list, tuple)):
        configs, runners = [configs], {configs.name: runners}
    configs = sorted(configs, key=lambda c: c.name.lower())
    settings = settings or ConsoleSettings.from_config(configs[0])
    console = Console(configs, plugins, runners, settings)
    pages = [
        Route("/failures", failures),
        Route("/failures/group", failure_group),
        Route("/documents/{key:path}/explain", document_explain),
        Route("/documents/{key:path}", document_page),
        Route("/search", search),
        Route("/actions/retry", retry_action, methods=["POST"]),
        Route("/actions/run", run_action, methods=["POST"]),
        Route("/actions/pause", pause_action, methods=["POST"]),
        Route("/actions/forget", forget_action, methods=["POST"]),
    ]
    # every page of one connection also under /c/NAME: the only URLs of a deployment of many; a deployment of
    # one keeps its short URLs (both work)
    scoped = [Route("/c/{connection}" + r.path, r.endpoint, methods=r.methods) for r in pages]
    routes = [
        Route("/", overview),
        Route("/c/{connection}/", overview),
        Route("/c/{connection}", lambda request: RedirectResponse(request.url.path + "/", status_code=308)),
        Route("/login", login_form, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        *pages,
        *scoped,
        Mount("/static", app=StaticFiles(directory=HERE / "static"), name="static"),
    ]
    middleware = [
        Middleware(_SecurityHeaders),
        Middleware(SessionMiddleware, secret_key=console.session_key(), session_cookie="connex_console",
                   max_age=settings.session_seconds, same_site="strict", https_only=settings.scheme == "https"),
    ]
    app = Starlette(routes=routes, middleware=middleware)
    app.state.console = console
    app.state.templates = _environment(console)
    return app
