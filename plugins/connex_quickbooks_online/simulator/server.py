"""``QuickBooksOnlineSimulator``: QuickBooks Online's token endpoint and REST v3 API over real HTTP.

Faithful where integrations get hurt: strict refresh-token rotation, short-lived access tokens on the
simulator's clock, the two Fault envelopes, the XML throttle body, per-company limits (500 requests a minute,
10 at once, 40 batches a minute), requestid replay, batch items that cannot see each other, and a whitelist
of fields taken from Intuit's own XSDs (2010).
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from decimal import Decimal

from connex.simulation.server import Request, Response, SimClock, SimulatorServer
from connex_quickbooks_online.simulator import query as qbo_query
from connex_quickbooks_online.simulator import settlement
from connex_quickbooks_online.simulator.company import ENTITIES, LIST_ENTITIES, Company
from connex_quickbooks_online.simulator.envelopes import (
    auth_failure,
    fault_response,
    now_text,
    plain,
    server_error,
    throttled,
)
from connex_quickbooks_online.simulator.rules import Rules, SimFault
from connex_quickbooks_online.simulator.tokens import TokenAuthority

REQUESTS_PER_MINUTE = 500
BATCHES_PER_MINUTE = 40
CONCURRENT = 10
BATCH_MAX = 30
ENTITY_BY_PATH = {name.lower(): name for name in ENTITIES}


class QuickBooksOnlineSimulator(SimulatorServer):
    name = "quickbooks_online"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        clock: SimClock | None = None,
        company: str = "us",
        home_currency: str | None = None,
        realm_id: str = "9130350000000001",
        client_id: str = "sim-client",
        client_secret: str = "sim-secret",
        access_token_seconds: float = 3600.0,
        refresh_token: str | None = None,
        enforce_limits: bool = True,
        redirect_uris: tuple[str, ...] = ("http://localhost:8765/callback",),
        service_items: bool = True,
    ):
        super().__init__(host, port, clock=clock)
        self.company = Company(profile=company, home_currency=home_currency, realm_id=realm_id,
                               service_items=service_items)
        self.rules = Rules(self.company)
        self.tokens = TokenAuthority(
            self.clock,
            client_id=client_id,
            client_secret=client_secret,
            refresh_token=refresh_token,
            access_token_seconds=access_token_seconds,
            realm_id=realm_id,
            redirect_uris=redirect_uris,
        )
        self._replays: dict[tuple[str, str], Response] = {}
        self.enforce_limits = enforce_limits
        self._inflight = 0
        self._inflight_lock = threading.Lock()
        self.received: list[tuple[str, object]] = []  # (endpoint, JSON body) of every write, for conformance
        base = r"/v3/company/(?P<realm>[^/]+)"
        self.add_route("POST", r"/oauth2/v1/tokens/bearer", self._token, "oauth:token")
        self.add_route("GET", r"/connect/oauth2", self._authorize, "oauth:authorize")
        self.add_route("POST", base + r"/batch", self._batch, "batch")
        self.add_route("GET", base + r"/query", self._query, "query")
        self.add_route("POST", base + r"/query", self._query, "query")
        self.add_route("GET", base + r"/exchangerate", self._exchange_rate, "exchangerate")
        self.add_route("GET", base + r"/(?P<entity>[a-z]+)/(?P<id>[^/]+)", self._read, "read")
        self.add_route("POST", base + r"/(?P<entity>[a-z]+)", self._create, "create")

    # --- wiring for connex demo and tests ------------------------------------------------------------------
    def connector_config(self) -> dict:
        return {
            "client_id": self.tokens.client_id,
            "client_secret": self.tokens.client_secret,
            "refresh_token": self.tokens.refresh_token,
            "realm_id": self.company.realm_id,
            "api_url": self.url,
            "token_url": f"{self.url}/oauth2/v1/tokens/bearer",
            "authorize_url": f"{self.url}/connect/oauth2",
        }

    def tax_summary(self) -> list[tuple[str, str, Decimal]]:
        """(side, tax code, amount) of the tax QuickBooks recorded on every transaction: each rate's tax goes to
        the codes on the lines using it, in proportion to their net (US: the TAX lines' transaction total)."""
        totals: dict[tuple[str, str], Decimal] = {}
        with self.company.lock:
            for entity in ("SalesReceipt", "Invoice", "RefundReceipt", "CreditMemo", "Bill"):
                side = "purchases" if entity == "Bill" else "sales"
                sign = -1 if entity in ("RefundReceipt", "CreditMemo") else 1
                for txn in self.company.all(entity):
                    for code, amount in self._tax_by_code(txn, side):
                        key = (side, code)
                        totals[key] = totals.get(key, Decimal(0)) + sign * amount
        return [(side, code, amount) for (side, code), amount in sorted(totals.items())]

    def _tax_by_code(self, txn: dict, side: str):
        detail = txn.get("TxnTaxDetail") or {}
        if self.company.profile.us:
            if side == "sales":  # a US purchase records no tax: the supplier's is in the cost
                yield "TAX", Decimal(str(detail.get("TotalTax", 0)))
            return
        rate_list = "PurchaseTaxRateList" if side == "purchases" else "SalesTaxRateList"
        nets: dict[str, dict[str, Decimal]] = {}  # rate id -> code name -> net
        for line in txn.get("Line") or []:
            data = line.get(line.get("DetailType")) or {}
            code = self.company.get("TaxCode", (data.get("TaxCodeRef") or {}).get("value"))
            if code is None:
                continue
            for rate in (code.get(rate_list) or {}).get("TaxRateDetail") or []:
                share = nets.setdefault(str(rate["TaxRateRef"]["value"]), {})
                share[code["Name"]] = share.get(code["Name"], Decimal(0)) + Decimal(str(line.get("Amount", 0)))
        for tax_line in detail.get("TaxLine") or []:
            rate_id = str(tax_line["TaxLineDetail"]["TaxRateRef"]["value"])
            amount = Decimal(str(tax_line.get("Amount", 0)))
            codes = nets.get(rate_id) or {}
            whole = sum(codes.values(), Decimal(0))
            for name, net in codes.items():
                yield name, (amount * net / whole if whole else amount / len(codes)).quantize(Decimal("0.01"))

    def entities(self, entity: str) -> list[dict]:
        """A snapshot of every stored ``entity`` (e.g. ``"SalesReceipt"``), oldest first."""
        with self.company.lock:
            if entity == "Customer":
                settlement.refresh_balances(self.company)
            return json.loads(json.dumps(plain(self.company.all(entity))))

    def entity(self, entity: str, **where) -> dict | None:
        return next((e for e in self.entities(entity) if all(e.get(k) == v for k, v in where.items())), None)

    # --- base-class hooks ----------------------------------------------------------------------------------
    def dispatch(self, request: Request) -> Response:
        if request.path.startswith("/_sim/"):
            return super().dispatch(request)
        with self._inflight_lock:
            self._inflight += 1
            crowded = self._inflight > CONCURRENT
        try:
            if crowded and self.enforce_limits:
                self.stats["rate_limited:concurrent"] += 1
                return throttled(1.0 / self.clock.scale)
            return super().dispatch(request)
        finally:
            with self._inflight_lock:
                self._inflight -= 1

    def fault_response(self, fault: str, endpoint: str, request: Request) -> Response:
        return throttled(60.0 / self.clock.scale) if fault == "429" else server_error(int(fault))

    def on_expire(self, request: Request) -> None:
        self.tokens.expire_all()

    def before_request(self, endpoint: str, request: Request) -> Response | None:
        if endpoint in ("oauth:token", "oauth:authorize"):
            return None
        refusal = self.tokens.refusal(request.header("Authorization"))
        if refusal is not None:
            self.stats["unauthorized"] += 1
            return auth_failure(refusal)
        if request.params.get("realm") != self.company.realm_id:
            mismatch = SimFault(
                "120", "Authorization Failure: realm mismatch", status=403, fault_type="AuthorizationFault"
            )
            return fault_response(mismatch)
        if self.enforce_limits:
            wait = self.rate_window("requests", REQUESTS_PER_MINUTE, 60.0)
            if wait is None and endpoint == "batch":
                wait = self.rate_window("batch", BATCHES_PER_MINUTE, 60.0)
            if wait is not None:
                return throttled(wait)
        return None

    def _token(self, request: Request) -> Response:
        response, refused = self.tokens.grant(request.header("Authorization"), request.form())
        if refused:
            self.stats["invalid_grant"] += 1
        return response

    def _authorize(self, request: Request) -> Response:
        return self.tokens.authorize({name: values[-1] for name, values in request.query.items()})

    # --- API -----------------------------------------------------------------------------------------------
    def _replayed(self, key: tuple[str, str] | None) -> Response | None:
        if key is None:
            return None
        with self.lock:
            stored = self._replays.get(key)
        if stored is not None:
            self.stats["requestid_replays"] += 1
        return stored

    def _remember(self, key: tuple[str, str] | None, response: Response) -> Response:
        if key is not None and response.status < 500:
            with self.lock:
                self._replays[key] = response
        return response

    def _body(self, request: Request):
        try:
            return json.loads(request.body.decode("utf-8") or "null", parse_float=Decimal)
        except (UnicodeDecodeError, ValueError) as exc:
            raise SimFault(
                "2010", f"Request has invalid or unsupported property: malformed JSON ({exc})"
            ) from exc

    def _create(self, request: Request) -> Response:
        entity = ENTITY_BY_PATH.get(request.params["entity"])
        if entity is None or entity in ("Preferences", "CompanyInfo", "TaxCode", "TaxRate", "TaxAgency"):
            # TaxCode and TaxRate are read-only (quickbooks-tax.md §2: created through TaxService only)
            return fault_response(SimFault("2010", f"Unsupported entity {request.params['entity']}"))
        requestid = request.arg("requestid")
        operation = request.arg("operation") or "create"
        key = (f"{operation}:{entity}", requestid) if requestid else None
        replay = self._replayed(key)
        if replay is not None:
            return replay
        try:
            body = self._body(request)
            if not isinstance(body, dict):
                raise SimFault("2010", "Request body must be the entity object")
            # reference §2: with Id + SyncToken the POST updates; ?operation=void voids an Invoice, and
            # ?operation=update&include=void a SalesReceipt or Payment; ?operation=delete deletes
            if operation == "void" or (operation == "update" and request.arg("include") == "void"):
                operation = "void"
            elif operation == "create" and body.get("Id") and body.get("SyncToken") is not None:
                operation = "update"
            self.received.append((f"{operation}:{entity}", plain(body)))
            if operation == "void":
                created = self.rules.void(entity, body)
            elif operation == "update":
                created = self.rules.update(entity, body)
            elif operation == "delete":
                created = self.rules.delete(entity, body)
            elif operation == "create":
                created = self.rules.create(entity, body)
            else:
                raise SimFault("2010", f"Unsupported operation {operation}")
        except SimFault as fault:
            return self._remember(key, fault_response(fault))
        return self._remember(key, Response(200, {entity: plain(created), "time": now_text()}))

    def _batch(self, request: Request) -> Response:
        requestid = request.arg("requestid")
        key = ("batch", requestid) if requestid else None
        replay = self._replayed(key)
        if replay is not None:
            return replay
        try:
            body = self._body(request)
        except SimFault as fault:
            return fault_response(fault)
        self.received.append(("batch", plain(body)))
        items = (body or {}).get("BatchItemRequest") if isinstance(body, dict) else None
        if not isinstance(items, list) or not items:
            return fault_response(SimFault("2020", "BatchItemRequest is required"))
        if len(items) > BATCH_MAX:
            too_many = f"Batch request contains {len(items)} items; the maximum is {BATCH_MAX}"
            return fault_response(SimFault("6000", too_many))
        visible = self.company.last_id  # items cannot see what earlier items of this batch create
        answers = []
        for item in items:
            answers.append(self._batch_item(item, visible))
        return self._remember(key, Response(200, {"BatchItemResponse": answers, "time": now_text()}))

    def _batch_item(self, item: dict, visible: int) -> dict:
        bid = item.get("bId") if isinstance(item, dict) else None
        try:
            if not isinstance(item, dict):
                raise SimFault("2010", "BatchItemRequest entries must be objects")
            unknown = [
                k for k in item if k not in ("bId", "operation", "optionsData", "Query") and k not in ENTITIES
            ]
            if unknown:
                raise SimFault(
                    "2010", f'Property Name:Unrecognized field "{unknown[0]}" in BatchItemRequest', unknown[0]
                )
            if "Query" in item:
                return {"bId": bid, "QueryResponse": self._run_query(str(item["Query"]))}
            operation = item.get("operation")
            entities = [k for k in item if k in ENTITIES]
            if operation != "create" or len(entities) != 1:
                raise SimFault(
                    "2010", f"Unsupported batch operation {operation!r} (this simulator creates only)"
                )
            entity = entities[0]
            created = self.rules.create(entity, item[entity], visible_upto=visible)
            return {"bId": bid, entity: plain(created)}
        except SimFault as fault:
            return {"bId": bid, "Fault": fault.fault()}

    def _run_query(self, statement: str) -> dict:
        try:
            parsed = qbo_query.parse(statement)
        except qbo_query.QueryError as exc:
            raise SimFault("4000", str(exc)) from None
        if parsed.entity.lower() == "exchangerate":
            return self._query_exchange_rates(parsed)
        entity = ENTITY_BY_PATH.get(parsed.entity.lower())
        if entity is None:
            raise SimFault("4000", f"QueryValidationError: Invalid context declaration : {parsed.entity}")
        parsed.entity = entity
        with self.company.lock:
            if entity == "Customer":
                settlement.refresh_balances(self.company)
            result = qbo_query.run(parsed, self.company.all(entity), has_active=entity in LIST_ENTITIES)
            return json.loads(json.dumps(plain(result), default=str))

    def _query_exchange_rates(self, parsed) -> dict:
        """``SELECT * FROM ExchangeRate WHERE SourceCurrencyCode = 'EUR' AND AsOfDate >= '…' AND AsOfDate <= '…'``.
        The reference (quickbooks-online-api.md §2) names only ``GET /exchangerate``; ExchangeRate is an
        ``IntuitObject`` in the service definition (IntuitRestServiceDef.xsd) and so, like every entity, falls
        under the query grammar of §3 [UNVERIFIED for this entity]. Stricter choice: a statement must bound
        AsOfDate on both sides, so one query never asks for every rate ever recorded."""
        low = high = None
        for condition in parsed.where:
            if condition.field.lower() != "asofdate":
                continue
            try:
                day = dt.date.fromisoformat(str(condition.value))
            except ValueError:
                raise SimFault("4000", f"QueryValidationError: AsOfDate {condition.value!r} is not a date") from None
            if condition.op in ("=", ">=", ">"):
                low = day + dt.timedelta(days=1 if condition.op == ">" else 0)
            if condition.op in ("=", "<=", "<"):
                high = day - dt.timedelta(days=1 if condition.op == "<" else 0)
        if low is None or high is None:
            raise SimFault("4000", "QueryValidationError: ExchangeRate queries need AsOfDate bounded on both sides")
        with self.company.lock:
            rows = self.company.exchange_rate_rows(low, high)
        parsed.entity = "ExchangeRate"
        result = qbo_query.run(parsed, rows, has_active=False)
        return json.loads(json.dumps(plain(result), default=str))

    def _query(self, request: Request) -> Response:
        statement = request.arg("query")
        if request.method == "POST":
            statement = request.body.decode("utf-8")
        self.stats["reads"] += 1
        try:
            if not statement:
                raise SimFault("4000", "QueryParserError: empty query")
            return Response(200, {"QueryResponse": self._run_query(statement), "time": now_text()})
        except SimFault as fault:
            return fault_response(fault)

    def _exchange_rate(self, request: Request) -> Response:
        """``GET /exchangerate?sourcecurrencycode=GBP&asofdate=YYYY-MM-DD``: QuickBooks' own rate to the home
        currency (the simulator's table does not vary by date)."""
        self.stats["reads"] += 1
        code = (request.arg("sourcecurrencycode") or "").upper()
        rate = self.company.rate_on(code, request.arg("asofdate"))
        if rate is None:
            fault = SimFault("610", f"Object Not Found : no exchange rate for currency {code or '(none)'}")
            return fault_response(fault)
        body = {"SourceCurrencyCode": code, "TargetCurrencyCode": self.company.home_currency, "Rate": rate,
                "AsOfDate": request.arg("asofdate") or now_text()[:10]}
        return Response(200, {"ExchangeRate": plain(body), "time": now_text()})

    def _read(self, request: Request) -> Response:
        self.stats["reads"] += 1
        entity = ENTITY_BY_PATH.get(request.params["entity"])
        if entity == "CompanyInfo" and request.params["id"] == self.company.realm_id:
            # GET /companyinfo/{realmId} (quickbooks-tax.md §1 "Detection"): the one row, whatever its Id
            row = next(iter(self.company.all("CompanyInfo")), None)
        else:
            if entity == "Customer":
                settlement.refresh_balances(self.company)
            row = self.company.get(entity, request.params["id"]) if entity else None
        if row is None:
            fault = SimFault(
                "610",
                f"Object Not Found : Something you're trying to use has been made inactive "
                f"or deleted: {request.params['entity']} {request.params['id']}",
            )
            return fault_response(fault)
        return Response(200, {entity: plain(row), "time": now_text()})
