"""``LinnworksAccounts``: many Linnworks accounts behind one simulated API, as an integrator's app sees them.

An account is chosen the way Linnworks chooses it: ``Auth/AuthorizeByApplication`` by the installation token
in the request (each account that installs the app has its own), every later call by the session token in its
``Authorization`` header. Each account is a whole ``LinnworksSimulator`` (never started itself): its orders,
sessions, idle expiry and per-endpoint minute windows are its own.

Rate limits: the reference (linnworks-api.md §11) states a limit per endpoint per minute and leaves whether the
window is per session, app or account [UNVERIFIED]; the stricter reading is kept: per account, whatever the
number of sessions or connections calling it, answered with Linnworks' own 429 body.
"""

from __future__ import annotations

from connex.simulation.server import Request, Response, SimClock
from connex.simulation.tenants import TenantServer
from connex_linnworks.simulator.params import BadRequest, read_auth
from connex_linnworks.simulator.server import LinnworksSimulator

AUTH_PATH = "/api/Auth/AuthorizeByApplication"


class LinnworksAccounts(TenantServer):
    name = "linnworks-accounts"

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, clock: SimClock | None = None):
        super().__init__(host, port, clock=clock)
        self._by_install: dict[str, LinnworksSimulator] = {}
        self._by_session: dict[str, LinnworksSimulator] = {}

    def add_account(self, key: str, **options) -> LinnworksSimulator:
        """A new account (``LinnworksSimulator`` options: seed, processed_orders, ...) on this server's clock."""
        account = LinnworksSimulator(clock=self.clock, **options)
        self.add(key, account)
        with self.lock:
            self._by_install[account.install_token.lower()] = account
        return account

    def tenant_for(self, request: Request) -> LinnworksSimulator | None:
        if request.path.rstrip("/") == AUTH_PATH:
            try:
                token = str(read_auth(request).get("Token", "")).lower()
            except (BadRequest, ValueError):
                return next(iter(self.tenants.values()), None)  # it answers the malformed request with a 400
            return self._by_install.get(token)
        with self.lock:
            return self._by_session.get((request.header("authorization") or "").strip())

    def unknown_tenant(self, request: Request) -> Response:
        if request.path.rstrip("/") == AUTH_PATH:
            return Response(401, {"Message": "Invalid application credentials or installation token."})
        return Response(401, {"Message": "Authorization has been denied for this request."})

    def after(self, tenant_key: str, request: Request, response: Response) -> None:
        if request.path.rstrip("/") == AUTH_PATH and response.status == 200 and isinstance(response.body, dict):
            with self.lock:
                self._by_session[str(response.body["Token"])] = self.tenants[tenant_key]
