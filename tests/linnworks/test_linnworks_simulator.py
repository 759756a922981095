"""The simulator's protocol behaviour, over real sockets, as any HTTP client would see it."""

from __future__ import annotations

import json
import subprocess
import sys
from urllib.parse import quote

import pytest
import requests
from connex_linnworks.simulator import LinnworksSimulator

from connex.simulation.server import SimClock


def _creds(sim) -> dict:
    return {
        "ApplicationId": sim.application_id,
        "ApplicationSecret": sim.application_secret,
        "Token": sim.install_token,
    }


@pytest.mark.parametrize("encoding", ["sdk-form", "flat-form", "flat-form-lowercase", "json", "json-wrapped"])
def test_auth_accepts_every_documented_encoding(sim, encoding):
    creds = _creds(sim)
    url = f"{sim.url}/api/Auth/AuthorizeByApplication"
    kwargs = {
        "sdk-form": {"data": {"request": json.dumps(creds)}},
        "flat-form": {"data": creds},
        "flat-form-lowercase": {
            "data": {
                "applicationId": creds["ApplicationId"],
                "applicationSecret": creds["ApplicationSecret"],
                "token": creds["Token"],
            }
        },
        "json": {"json": creds},
        "json-wrapped": {"json": {"request": creds}},
    }[encoding]
    body = requests.post(url, timeout=5, **kwargs).json()
    assert body["Server"] == sim.url and len(body["Token"]) == 36 and body["TTL"] == 1200


def test_calls_need_the_raw_session_token(sim):
    token = requests.post(f"{sim.url}/api/Auth/AuthorizeByApplication", json=_creds(sim), timeout=5).json()[
        "Token"
    ]
    url = f"{sim.url}/api/Inventory/GetStockLocations"
    assert requests.get(url, timeout=5).status_code == 401
    assert requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=5).status_code == 401
    assert requests.get(url, headers={"Authorization": sim.install_token}, timeout=5).status_code == 401
    assert requests.get(url, headers={"Authorization": token}, timeout=5).status_code == 200
    wrong = requests.post(
        f"{sim.url}/api/Auth/AuthorizeByApplication", json={**_creds(sim), "Token": "x"}, timeout=5
    )
    assert wrong.status_code == 401 and "Message" in wrong.json()


def test_sessions_expire_after_20_idle_minutes_on_the_simulator_clock():
    with LinnworksSimulator(processed_orders=0, open_orders=0, clock=SimClock()) as sim:
        token = requests.post(
            f"{sim.url}/api/Auth/AuthorizeByApplication", json=_creds(sim), timeout=5
        ).json()["Token"]
        url, headers = f"{sim.url}/api/Inventory/GetSuppliers", {"Authorization": token}
        sim.clock.advance(19 * 60)
        assert requests.get(url, headers=headers, timeout=5).status_code == 200  # use resets the idle timer
        sim.clock.advance(19 * 60)
        assert requests.get(url, headers=headers, timeout=5).status_code == 200
        requests.post(f"{sim.url}/_sim/clock", json={"advance": 20 * 60 + 1}, timeout=5)
        assert requests.get(url, headers=headers, timeout=5).status_code == 401


def test_expire_fault_over_http(sim):
    token = requests.post(f"{sim.url}/api/Auth/AuthorizeByApplication", json=_creds(sim), timeout=5).json()[
        "Token"
    ]
    requests.post(
        f"{sim.url}/_sim/faults", json={"endpoint": "Inventory/GetSuppliers", "fault": "expire"}, timeout=5
    )
    url, headers = f"{sim.url}/api/Inventory/GetSuppliers", {"Authorization": token}
    assert requests.get(url, headers=headers, timeout=5).status_code == 401
    assert requests.get(url, headers=headers, timeout=5).status_code == 401  # the session is gone for good


def test_json_wrapped_json_unwrapped_and_form_bodies_agree(sim):
    token = requests.post(f"{sim.url}/api/Auth/AuthorizeByApplication", json=_creds(sim), timeout=5).json()[
        "Token"
    ]
    h = {"Authorization": token}
    ids = list(sim.account.open_orders)[:3]
    url = f"{sim.url}/api/OpenOrders/GetOpenOrdersDetails"
    as_json = requests.post(
        url, json={"OrderIds": ids}, headers=h, timeout=5
    ).json()  # unwrapped, per the spec
    as_form = requests.post(url, data={"request": json.dumps({"OrderIds": ids})}, headers=h, timeout=5).json()
    assert as_json == as_form and len(as_json["Orders"]) == 3
    url = f"{sim.url}/api/Orders/GetOrdersById"
    wrapped = requests.post(
        url, json={"pkOrderIds": ids}, headers=h, timeout=5
    ).json()  # wrapper, per the spec
    form = requests.post(
        url,
        data=f"pkOrderIds={quote(json.dumps(ids))}",
        timeout=5,
        headers={**h, "Content-Type": "application/x-www-form-urlencoded"},
    ).json()
    assert wrapped == form and [o["OrderId"] for o in wrapped] == ids
    # the request object sent wrapped where the spec says unwrapped is a misspelt name, not silently ignored
    bad = requests.post(
        f"{sim.url}/api/OpenOrders/GetOpenOrdersDetails",
        json={"request": {"OrderIds": ids}},
        headers=h,
        timeout=5,
    )
    assert bad.status_code == 400 and "request" in bad.json()["Message"]


def test_paging_reports_totals(sim):
    token = requests.post(f"{sim.url}/api/Auth/AuthorizeByApplication", json=_creds(sim), timeout=5).json()[
        "Token"
    ]
    url = f"{sim.url}/api/ProcessedOrders/SearchProcessedOrders"
    seen = []
    for page in (1, 2, 3, 4, 5, 6, 7):
        body = requests.post(
            url,
            headers={"Authorization": token},
            timeout=5,
            json={"request": {"DateField": "processed", "PageNumber": page, "ResultsPerPage": 20}},
        ).json()["ProcessedOrders"]
        assert (body["TotalEntries"], body["TotalPages"], body["EntriesPerPage"]) == (120, 6, 20)
        seen += [r["nOrderId"] for r in body["Data"]]
    assert seen == list(range(100_000, 100_120))  # page 7 is past the end: empty
    small = requests.post(
        url,
        headers={"Authorization": token},
        timeout=5,
        json={"request": {"DateField": "processed", "PageNumber": 1, "ResultsPerPage": 5}},
    ).json()["ProcessedOrders"]
    assert small["EntriesPerPage"] == 20  # the observed minimum page size
    missing = requests.post(
        url, headers={"Authorization": token}, timeout=5, json={"request": {"PageNumber": 1}}
    )
    assert missing.status_code == 400 and "DateField" in missing.json()["Message"]


def test_seeded_account_is_deterministic_and_large_accounts_are_compact():
    import tracemalloc

    a = LinnworksSimulator(processed_orders=50, seed=3).account
    b = LinnworksSimulator(processed_orders=50, seed=3).account
    oid = a.processed_index[10][2]
    assert a.order(oid) == b.order(oid)
    assert a.order(oid) != LinnworksSimulator(processed_orders=50, seed=4).account.order(oid)
    tracemalloc.start()
    LinnworksSimulator(processed_orders=20_000, open_orders=0)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 20_000_000  # bytes: an index, not 20,000 expanded orders


def test_standalone_entry_point_serves_an_account():
    proc = subprocess.Popen(
        [sys.executable, "-m", "connex_linnworks.simulator", "--port", "0", "--orders", "25"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        info = json.loads(proc.stdout.readline())
        assert info["source"]["plugin"] == "linnworks" and info["source"]["auth_url"] == info["url"]
        config = {k: v for k, v in info["source"].items() if k != "plugin"}
        from connex_linnworks.connector import LinnworksSource

        from connex.connectors import OrderQuery

        with LinnworksSource(config) as source:
            assert sum(len(p.records) for p in source.read_orders(OrderQuery())) == 25
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_seeded_money_is_unrounded_but_adds_up(sim, make_source):
    """Totals keep Linnworks' extra places, yet the parts add up exactly, per the reference's arithmetic."""
    from connex.connectors import OrderQuery, WindowQuery

    source = make_source(sim)
    orders = [o for page in source.read_orders(OrderQuery()) for o in page.records]
    for order in orders:
        t = order["TotalsInfo"]
        assert t["Subtotal"] + t["PostageCostExTax"] + t["Tax"] == t["TotalCharge"]
        assert sum(i["CostIncTax"] for i in order["Items"]) + t["PostageCost"] == t["TotalCharge"]
        for item in order["Items"]:
            assert all(c["PricePerUnit"] == 0 and c["Cost"] == 0 for c in item["CompositeSubItems"])
    for po in (r for page in source.read_purchase_orders(WindowQuery()) for r in page.records):
        h = po["PurchaseOrderHeader"]
        assert h["taxPaid"] == sum(i["Tax"] for i in po["PurchaseOrderItem"])
        extra = sum(c["TotalLineCost"] for c in po["AdditionalCosts"])
        assert h["TotalCost"] == sum(i["Cost"] for i in po["PurchaseOrderItem"]) + h["taxPaid"] + extra
        if h["Status"] != "DELIVERED":
            assert h["DateOfDelivery"] == h["DateOfPurchase"]
