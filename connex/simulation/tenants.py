"""Many tenants of one vendor (Linnworks accounts, QuickBooks companies) served from one HTTP server.

Each tenant is a whole simulator (its own data, sessions, rate windows, faults and stats) that is never started
itself: the ``TenantServer`` receives every request, finds whose it is (``tenant_for``: by credentials, session
or the id in the URL, as the vendor does) and hands it to that tenant's ``dispatch``. Limits therefore hold per
tenant, exactly as they do in a simulator of one, and 50 connections cost one port and one thread pool.

``GET /_sim/stats`` answers ``{"tenants": {key: stats}, "total": summed stats}``.
"""

from __future__ import annotations

from collections import Counter

from connex.simulation.server import Request, Response, SimClock, SimulatorServer


class TenantServer(SimulatorServer):
    name = "tenants"

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, clock: SimClock | None = None):
        super().__init__(host, port, clock=clock)
        self.tenants: dict[str, SimulatorServer] = {}

    def add(self, key: str, tenant: SimulatorServer) -> SimulatorServer:
        if key in self.tenants:
            raise ValueError(f"tenant {key!r} is already served")
        tenant.front = self
        tenant.tenant_key = key
        self.tenants[key] = tenant
        return tenant

    def tenant_for(self, request: Request) -> SimulatorServer | None:
        """The tenant a request belongs to, or None (answered by ``unknown_tenant``)."""
        raise NotImplementedError

    def unknown_tenant(self, request: Request) -> Response:
        return Response(401, {"Message": "unknown tenant"})

    def after(self, tenant_key: str, request: Request, response: Response) -> None:
        """Hook: learn from an answer (a session token issued) which tenant later requests belong to."""

    def dispatch(self, request: Request) -> Response:
        if request.path.startswith("/_sim/"):
            if request.path == "/_sim/stats":
                return Response(200, self.all_stats())
            return super().dispatch(request)
        tenant = self.tenant_for(request)
        if tenant is None:
            with self.lock:
                self.stats["unknown_tenant"] += 1
            return self.unknown_tenant(request)
        response = tenant.dispatch(request)
        self.after(tenant.tenant_key, request, response)
        return response

    def all_stats(self) -> dict:
        per_tenant = {key: dict(t.stats) for key, t in self.tenants.items()}
        total: Counter[str] = Counter()
        for stats in per_tenant.values():
            total.update(stats)
        total.update(self.stats)
        return {"tenants": per_tenant, "total": dict(total)}

    def rate_limited(self) -> dict[str, int]:
        """Requests over a limit each tenant refused (429), by tenant: 0 everywhere when the clients kept within
        every tenant's budget."""
        return {key: sum(n for name, n in t.stats.items() if name.startswith("rate_limited"))
                for key, t in self.tenants.items()}
