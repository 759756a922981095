"""The simulator's answers and the connector's requests, checked against the official Linnworks specs."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import requests
from connex_linnworks.simulator.endpoints import SIGNATURES

from connex.connectors import OrderQuery, WindowQuery
from connex.documents import StockLevel


def _session(sim) -> tuple[str, str]:
    body = requests.post(
        f"{sim.url}/api/Auth/AuthorizeByApplication",
        data={
            "request": json.dumps(
                {
                    "ApplicationId": sim.application_id,
                    "ApplicationSecret": sim.application_secret,
                    "Token": sim.install_token,
                }
            )
        },
        timeout=5,
    ).json()
    return body["Server"], body["Token"]


def _post(server, token, endpoint, **form):
    data = {k: v if isinstance(v, str) else json.dumps(v) for k, v in form.items()}
    response = requests.post(
        f"{server}/api/{endpoint}", data=data, headers={"Authorization": token}, timeout=5
    )
    assert response.status_code == 200, response.text
    return response.json()


def _get(server, token, endpoint, **query):
    response = requests.get(
        f"{server}/api/{endpoint}", params=query, headers={"Authorization": token}, timeout=5
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_every_simulated_method_and_parameter_exists_in_the_specs(spec):
    """The simulator's own parameter table cannot drift from the official names."""
    for endpoint, (method, signature) in SIGNATURES.items():
        assert endpoint in spec.operations, endpoint
        http_method, op, _ = spec.operations[endpoint]
        assert method == http_method, endpoint
        params = op.get("parameters") or []
        body = [p for p in params if p["in"] == "body"]
        if method == "GET":
            names = {p["name"] for p in params if p["in"] == "query"}
        elif body and body[0]["name"] == "request":
            names = {"request"}
        else:
            names = set(spec.definitions[body[0]["schema"]["$ref"].split("/")[-1]]["properties"])
        assert set(signature.names) <= names, (endpoint, set(signature.names) - names)


def test_simulator_responses_match_the_official_schemas(sim, spec):
    server, token = _session(sim)
    auth = requests.post(
        f"{sim.url}/api/Auth/AuthorizeByApplication",
        json={
            "ApplicationId": sim.application_id,
            "ApplicationSecret": sim.application_secret,
            "Token": sim.install_token,
        },
        timeout=5,
    ).json()
    checks = {"Auth/AuthorizeByApplication": auth}
    search = _post(
        server,
        token,
        "ProcessedOrders/SearchProcessedOrders",
        request={
            "DateField": "processed",
            "FromDate": "2025-01-01T00:00:00Z",
            "PageNumber": 1,
            "ResultsPerPage": 50,
            "SearchSorting": {"SortField": "dProcessedOn", "SortDirection": "ASC"},
        },
    )
    checks["ProcessedOrders/SearchProcessedOrders"] = search
    ids = [row["pkOrderID"] for row in search["ProcessedOrders"]["Data"]]
    checks["Orders/GetOrdersById"] = _post(server, token, "Orders/GetOrdersById", pkOrderIds=ids)
    opened = _post(server, token, "Orders/GetOpenOrders", entriesPerPage=20, pageNumber=1)
    checks["Orders/GetOpenOrders"] = opened
    checks["OpenOrders/GetOpenOrdersDetails"] = _post(
        server,
        token,
        "OpenOrders/GetOpenOrdersDetails",
        request={"OrderIds": [o["OrderId"] for o in opened["Data"]], "DetailLevel": []},
    )
    checks["Orders/GetOrderDetailsByNumOrderId"] = _get(
        server, token, "Orders/GetOrderDetailsByNumOrderId", OrderId="100004"
    )
    pos = _post(
        server,
        token,
        "PurchaseOrder/Search_PurchaseOrders",
        searchParameter={"EntriesPerPage": 50, "PageNumber": 1},
    )
    checks["PurchaseOrder/Search_PurchaseOrders"] = pos
    checks["PurchaseOrder/Get_PurchaseOrder"] = [
        _post(server, token, "PurchaseOrder/Get_PurchaseOrder", pkPurchaseId=h["pkPurchaseID"])
        for h in pos["Result"]
    ]
    checks["Inventory/GetSuppliers"] = _get(server, token, "Inventory/GetSuppliers")
    checks["Inventory/GetStockLocations"] = _get(server, token, "Inventory/GetStockLocations")
    checks["Stock/SetStockLevel"] = _post(
        server,
        token,
        "Stock/SetStockLevel",
        changeSource="test",
        stockLevels=[
            {"SKU": "MUG-BLU-01", "LocationId": sim.account.locations[1]["StockLocationId"], "Level": 4}
        ],
    )
    enchantress = sim.account.locations[1]["StockLocationId"]
    checks["Stock/UpdateStockLevelsBySKU"] = _post(
        server,
        token,
        "Stock/UpdateStockLevelsBySKU",
        changeSource="t",
        stockLevels=[{"SKU": "MUG-BLU-01", "LocationId": enchantress, "Level": 2}],
    )
    assert checks["Stock/UpdateStockLevelsBySKU"][0]["StockLevel"] == 6  # 4 set above, plus 2
    checks["ReturnsRefunds/GetProcessedOrAckedErrorRefundHeaders"] = _post(
        server, token, "ReturnsRefunds/GetProcessedOrAckedErrorRefundHeaders", request={"Page": 1}
    )
    history = _get(server, token, "ReturnsRefunds/SearchReturnsRefundsPaged", historyType="REFUNDS",
                   dateType="ALLDATES", pageNum=1, numEntriesPerPage=200)
    checks["ReturnsRefunds/SearchReturnsRefundsPaged"] = history
    assert history["Data"], "the seeded account has refund history"
    checks["ReturnsRefunds/GetRefundHeadersByOrderId"] = _post(
        server, token, "ReturnsRefunds/GetRefundHeadersByOrderId", request={"OrderId": history["Data"][0]["pkOrderID"]}
    )
    assert checks["ReturnsRefunds/GetRefundHeadersByOrderId"]["RefundHeaders"]
    checks["Stock/GetStockItemsFull"] = _post(
        server, token, "Stock/GetStockItemsFull", keyword="", loadCompositeParents=False, loadVariationParents=False,
        entriesPerPage=200, pageNumber=1, dataRequirements=["StockLevels"], searchTypes=["SKU"],
    )
    assert checks["Stock/GetStockItemsFull"][0]["StockLevels"]
    assert set(checks) == set(SIGNATURES) | {"Auth/AuthorizeByApplication"}, (
        "every simulated method is checked"
    )
    for endpoint, body in checks.items():
        for one in body if endpoint == "PurchaseOrder/Get_PurchaseOrder" else [body]:
            assert spec.response_errors(endpoint, one) == [], endpoint
    assert len(search["ProcessedOrders"]["Data"]) == 50 and checks["Orders/GetOrdersById"]
    assert "taxPaid" in checks["PurchaseOrder/Get_PurchaseOrder"][0]["PurchaseOrderHeader"]


def test_a_private_field_in_a_response_fails_conformance(spec):
    row = {"pkSupplierID": "c399cffd-6c14-48f2-99d6-63d91b27fc54", "SupplierName": "X", "TaxPaid": 1.0}
    assert any("TaxPaid" in e for e in spec.response_errors("Inventory/GetSuppliers", [row]))


@pytest.fixture
def recorded(sim, make_source):
    """Every request the connector sends during a full read of every kind, as it went on the wire."""
    source = make_source(sim, page_size=20)
    sent = []
    source.client.http.session.hooks["response"].append(
        lambda r, *a, **k: sent.append(
            (r.request.method, r.request.url, dict(r.request.headers), r.request.body)
        )
    )
    order_ids = []
    for mode in ("processed", "open"):
        for page in source.read_orders(OrderQuery(mode=mode, statuses=("PAID",) if mode == "open" else ())):
            order_ids += [o["OrderId"] for o in page.records]
    list(source.read_orders(OrderQuery(order_ids=(order_ids[0], "100009"))))
    list(source.read_purchase_orders(WindowQuery()))
    first_load = list(source.read_refunds(WindowQuery()))  # a first load: the whole-history feed
    newest = dt.datetime.fromisoformat(first_load[-1].checkpoint["since"].replace("Z", "+00:00"))
    since = (newest - dt.timedelta(days=30)).isoformat()
    list(source.read_refunds(WindowQuery(cursor={"since": since, "seen": []})))  # later passes: by window
    source.read_suppliers()
    source.read_stock_levels()
    source.write_stock_levels([StockLevel("MUG-BLU-01", 3, "Enchantress"), StockLevel("NO-SUCH-SKU", 1)])
    return sent


def test_the_connectors_requests_match_the_official_specs(recorded, spec):
    endpoints = set()
    for method, url, headers, body in recorded:
        assert spec.request_errors(method, url, headers, body) == [], (url, body)
        endpoints.add(url.split("/api/", 1)[1].split("?")[0])
    # everything the simulator serves except the delta stock call, which the connector must never use
    assert endpoints == {"Auth/AuthorizeByApplication", *SIGNATURES} - {"Stock/UpdateStockLevelsBySKU"}


@pytest.mark.parametrize(
    "mutate",
    [
        lambda body: body.replace("pkOrderIds=", "pkOrderIDs="),  # wrong parameter name
        lambda body: body.replace("pkOrderIds=%5B%22", "pkOrderIds=%5B%22not-a-guid-"),  # wrong type
    ],
)
def test_a_request_with_a_wrong_parameter_fails_conformance_and_the_simulator(recorded, spec, sim, mutate):
    method, url, headers, body = next(r for r in recorded if r[1].endswith("/Orders/GetOrdersById"))
    assert spec.request_errors(method, url, headers, body) == []
    broken = mutate(body)
    assert spec.request_errors(method, url, headers, broken) != []
    if "pkOrderIDs" in broken:
        answer = requests.post(url, data=broken, headers=headers, timeout=5)
        assert answer.status_code == 400 and "pkOrderIDs" in answer.json()["Message"]


def test_misspelt_field_inside_a_request_object_fails_both(recorded, spec, sim):
    method, url, headers, body = next(r for r in recorded if "SearchProcessedOrders" in r[1])
    broken = body.replace("ResultsPerPage", "ResultPerPage")
    assert any("ResultPerPage" in e for e in spec.request_errors(method, url, headers, broken))
    answer = requests.post(url, data=broken, headers=headers, timeout=5)
    assert answer.status_code == 400 and "ResultPerPage" in answer.json()["Message"]
