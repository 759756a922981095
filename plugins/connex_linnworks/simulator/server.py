"""``LinnworksSimulator``: a Linnworks API on 127.0.0.1 holding a seeded account.

It enforces what a client must cope with: application auth returning a session ``Token`` and ``Server`` (its
own url), the raw-token ``Authorization`` header, 20-minute idle session expiry on the simulator clock,
paging, per-endpoint per-minute limits answered with Linnworks' own 429 body, and injected faults.
"""

from __future__ import annotations

import math
import uuid

from connex.simulation.server import Request, Response, SimClock, SimulatorServer
from connex_linnworks.limits import DEFAULT_LIMIT, RATE_LIMITS
from connex_linnworks.simulator.account import Account
from connex_linnworks.simulator.endpoints import SIGNATURES, LinnworksEndpoints
from connex_linnworks.simulator.orders_gen import stable_uuid
from connex_linnworks.simulator.params import BadRequest, Signature, read_args, read_auth

IDLE_EXPIRY_SECONDS = 20 * 60  # "The session token expires after 20 minutes of inactivity"


class LinnworksSimulator(LinnworksEndpoints, SimulatorServer):
    name = "linnworks"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        seed: int = 7,
        processed_orders: int = 120,
        open_orders: int = 30,
        purchase_orders: int = 12,
        refunds: bool = True,
        clock: SimClock | None = None,
        rate_limits: dict[str, int] | None = None,
    ):
        super().__init__(host, port, clock=clock)
        self.account = Account(
            seed=seed,
            processed_orders=processed_orders,
            open_orders=open_orders,
            purchase_orders=purchase_orders,
            refunds=refunds,
        )
        self.application_id = stable_uuid(seed, "application-id")
        self.application_secret = stable_uuid(seed, "application-secret")
        self.install_token = stable_uuid(seed, "install-token")
        self.rate_limits = {**RATE_LIMITS, **(rate_limits or {})}
        self.sessions: dict[str, float] = {}  # session token -> last use on the simulator clock
        self.sessions_issued = 0
        self.add_route("POST", r"/api/Auth/AuthorizeByApplication", self._auth, "Auth/AuthorizeByApplication")
        for endpoint, (method, signature) in SIGNATURES.items():
            handler = getattr(self, "_" + endpoint.split("/")[1].replace("_", "").lower())
            self.add_route(method, f"/api/{endpoint}", self._wrap(endpoint, signature, handler), endpoint)
            if method == "GET":  # the v1 getters answer POST too
                self.add_route("POST", f"/api/{endpoint}", self._wrap(endpoint, signature, handler), endpoint)

    # --- what connex demo and tests use --------------------------------------------------------------------
    def connector_config(self) -> dict:
        return {
            "application_id": self.application_id,
            "application_secret": self.application_secret,
            "token": self.install_token,
            "auth_url": self.url,
        }

    # Test hooks: change the account the way a Linnworks user would, between or during a connector's reads.
    def add_processed_order(self, **kwargs) -> dict:
        return self.account.add_processed_order(**kwargs)

    def add_open_order(self, **kwargs) -> dict:
        return self.account.add_open_order(**kwargs)

    def process_order(self, order_id: str, **kwargs) -> dict:
        return self.account.process_order(order_id, **kwargs)

    def add_purchase_order(self, **kwargs) -> dict:
        return self.account.add_purchase_order(**kwargs)

    def book_refund(self, order_id: str, **kwargs) -> dict:
        return self.account.book_refund(order_id, **kwargs)

    def action_refund(self, header_id: int, **kwargs) -> dict:
        return self.account.action_refund(header_id, **kwargs)

    def order(self, order_id: str) -> dict | None:
        return self.account.order(order_id)

    def stock_level(self, sku: str, location_name: str) -> int | None:
        loc = next(x for x in self.account.locations if x["LocationName"] == location_name)
        return self.account.stock.get((sku, loc["StockLocationId"]))

    def expire_sessions(self) -> None:
        with self.lock:
            self.sessions.clear()

    # --- protocol ------------------------------------------------------------------------------------------
    def before_request(self, endpoint: str, request: Request) -> Response | None:
        if endpoint != "Auth/AuthorizeByApplication":
            token = (request.header("authorization") or "").strip()
            now = self.clock.now()
            with self.lock:
                last = self.sessions.get(token)
                if last is None or now - last > IDLE_EXPIRY_SECONDS:
                    self.sessions.pop(token, None)
                    return Response(401, {"Message": "Authorization has been denied for this request."})
                self.sessions[token] = now
        limit = self.rate_limits.get(endpoint, DEFAULT_LIMIT)
        wait = self.rate_window(endpoint, limit)
        if wait is not None:
            return self._throttled(limit, wait)
        return None

    @staticmethod
    def _throttled(limit: int, wait: float) -> Response:
        return Response(
            429,
            {"Message": f"API calls quota exceeded! Maximum admitted {limit} per Minute."},
            {"Retry-After": str(max(1, math.ceil(wait)))},
        )

    def fault_response(self, fault: str, endpoint: str, request: Request) -> Response:
        if fault == "429":
            return self._throttled(self.rate_limits.get(endpoint, DEFAULT_LIMIT), 1)
        return Response(int(fault), {"Message": "An error has occurred."})

    def on_expire(self, request: Request) -> None:
        with self.lock:
            self.sessions.pop((request.header("authorization") or "").strip(), None)

    def _wrap(self, endpoint: str, signature: Signature, handler):
        def run(request: Request) -> Response:
            try:
                return Response(200, handler(read_args(request, endpoint, signature)))
            except BadRequest as exc:
                return Response(400, {"Code": None, "Message": str(exc)})

        return run

    def _auth(self, request: Request) -> Response:
        try:
            creds = read_auth(request)
        except (BadRequest, ValueError) as exc:
            return Response(400, {"Code": None, "Message": str(exc)})
        expected = {
            "ApplicationId": self.application_id,
            "ApplicationSecret": self.application_secret,
            "Token": self.install_token,
        }
        if any(str(creds.get(k, "")).lower() != v for k, v in expected.items()):
            return Response(401, {"Message": "Invalid application credentials or installation token."})
        token = str(uuid.uuid4())
        with self.lock:
            self.sessions[token] = self.clock.now()
            self.sessions_issued += 1
        return Response(
            200,
            {
                "Id": stable_uuid("user", self.install_token),
                "EntityId": stable_uuid("entity", self.install_token),
                "DatabaseName": "sim",
                "DatabaseServer": "",
                "PrivateDatabaseServer": "",
                "DatabaseUser": "",
                "DatabasePassword": "",
                "AppName": "Connex",
                "sid_registration": stable_uuid("sid", self.install_token),
                "UserName": "connex@simulator",
                "Md5Hash": "",
                "Locality": "EU",
                "SuperAdmin": False,
                "TTL": IDLE_EXPIRY_SECONDS,
                "Token": token,
                "AccessToken": "",
                "GroupName": "",
                "Device": "",
                "DeviceType": "",
                "UserType": "",
                "Status": {"State": "AVAILABLE", "Reason": "", "Parameters": {}},
                "UserId": stable_uuid("user", self.install_token),
                "Properties": {},
                "Email": "connex@simulator",
                "Server": self.url,
                "PushServer": "",
            },
        )
