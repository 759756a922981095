"""``QuickBooksOnlineRealms``: many QuickBooks Online companies (realms) behind one simulated API.

A company is chosen the way Intuit chooses it: API calls by the realm id in the URL (``/v3/company/<realm>/``),
the token endpoint by the refresh token or authorization code in the form (each belongs to one company). Each
company is a whole ``QuickBooksOnlineSimulator`` (never started itself) with its own data, tokens and limits, so
the limits hold per realm as quickbooks-online-api.md §11 states them: 500 requests a minute per realm, 10 at
once per realm and app, 40 batches a minute per realm and app (one app here, so per realm), answered with the
XML ThrottleExceeded fault.
"""

from __future__ import annotations

import re

from connex.simulation.server import Request, Response, SimClock
from connex.simulation.tenants import TenantServer
from connex_quickbooks_online.simulator.envelopes import fault_response
from connex_quickbooks_online.simulator.rules import SimFault
from connex_quickbooks_online.simulator.server import QuickBooksOnlineSimulator

REALM_PATH = re.compile(r"^/v3/company/(?P<realm>[^/]+)/")


class QuickBooksOnlineRealms(TenantServer):
    name = "quickbooks-online-realms"

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, clock: SimClock | None = None):
        super().__init__(host, port, clock=clock)

    def add_company(self, realm_id: str, **options) -> QuickBooksOnlineSimulator:
        """A new company (``QuickBooksOnlineSimulator`` options: company, home_currency, ...) with this realm
        id, on this server's clock."""
        company = QuickBooksOnlineSimulator(clock=self.clock, realm_id=realm_id, **options)
        self.add(realm_id, company)
        return company

    def tenant_for(self, request: Request) -> QuickBooksOnlineSimulator | None:
        found = REALM_PATH.match(request.path)
        if found:
            return self.tenants.get(found.group("realm"))
        if request.path == "/oauth2/v1/tokens/bearer":
            form = request.form()
            for company in self.tenants.values():
                tokens = company.tokens
                if form.get("grant_type") == "refresh_token" and tokens.issued(form.get("refresh_token")):
                    return company
                if form.get("grant_type") == "authorization_code" and form.get("code") in tokens._codes:
                    return company
            # nobody's token: any company answers it the way Intuit does (invalid_grant)
            return next(iter(self.tenants.values()), None)
        if request.path == "/connect/oauth2":
            realm = (request.query.get("realmId") or [""])[-1]
            return self.tenants.get(realm) or next(iter(self.tenants.values()), None)
        return None

    def unknown_tenant(self, request: Request) -> Response:
        if REALM_PATH.match(request.path):
            return fault_response(SimFault("120", "Authorization Failure: unknown realm", status=403,
                                           fault_type="AuthorizationFault"))
        return Response(404, {"Message": f"No resource at {request.path}"})
