"""The simulator on its own, over raw HTTP: Fault shapes, limits, replay and the query language."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

import pytest
import requests
from connex_quickbooks_online.client import quote
from connex_quickbooks_online.connector import QuickBooksOnlineTarget
from connex_quickbooks_online.simulator import QuickBooksOnlineSimulator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connex.simulation.server import SimClock
from tests.conftest import examples


class Raw:
    """A bare HTTP caller holding a valid access token."""

    def __init__(self, sim):
        self.sim = sim
        config = sim.connector_config()
        answer = requests.post(
            config["token_url"],
            auth=(config["client_id"], config["client_secret"]),
            data={"grant_type": "refresh_token", "refresh_token": config["refresh_token"]},
        )
        self.token = answer.json()["access_token"]
        self.base = f"{sim.url}/v3/company/{sim.company.realm_id}"

    def post(self, path, body, **params):
        return requests.post(
            f"{self.base}/{path}",
            json=body,
            params={"minorversion": "75", **params},
            headers={"Authorization": f"Bearer {self.token}", "Accept": "application/json"},
        )

    def query(self, statement):
        return requests.post(
            f"{self.base}/query",
            data=statement.encode(),
            params={"minorversion": "75"},
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/text"},
        )


@pytest.fixture
def raw(sim):
    return Raw(sim)


def mug_line(sim, amount=25.0, qty=2, price=12.5):
    item = sim.entity("Item", Sku="MUG-BLU-01")
    return {
        "Amount": amount,
        "DetailType": "SalesItemLineDetail",
        "SalesItemLineDetail": {"ItemRef": {"value": item["Id"]}, "Qty": qty, "UnitPrice": price},
    }


def walk_in(sim):
    return {"value": sim.entity("Customer", DisplayName="Walk-in Customer")["Id"]}


def fault_of(response):
    error = response.json()["Fault"]["Error"][0]
    return error["code"], error


def test_unknown_field_is_2010_naming_it(raw, sim):
    body = {
        "CustomerRef": walk_in(sim),
        "CurrencyRef": {"value": "USD"},
        "Line": [mug_line(sim)],
        "ShippingNotes": "x",
    }
    answer = raw.post("salesreceipt", body)
    code, error = fault_of(answer)
    assert answer.status_code == 400 and code == "2010" and "ShippingNotes" in error["Detail"]
    nested = {"CustomerRef": walk_in(sim), "CurrencyRef": {"value": "USD"}, "Line": [mug_line(sim)]}
    nested["Line"][0]["SalesItemLineDetail"]["Colour"] = "blue"
    code, error = fault_of(raw.post("salesreceipt", nested))
    assert code == "2010" and error["element"] == "SalesReceipt.Line[0].SalesItemLineDetail.Colour"
    sim.received.clear()  # deliberately invalid bodies: not the connector's, keep them out of conformance


@pytest.mark.parametrize(
    "change, code",
    [
        (lambda b, s: b.update(DocNumber="X" * 22), "2050"),
        (lambda b, s: b["Line"].__setitem__(0, mug_line(s, amount=26.0)), "6070"),
        (lambda b, s: b.update(CurrencyRef={"value": "GBP"}, ExchangeRate=1.27), "6000"),
        (lambda b, s: b.pop("CurrencyRef"), "2020"),
        (lambda b, s: b.update(CustomerRef={"value": "99999"}), "2500"),
        (lambda b, s: b["Line"][0]["SalesItemLineDetail"].update(ItemRef={"value": "424242"}), "2500"),
    ],
)
def test_business_rules(raw, sim, change, code):
    body = {"CustomerRef": walk_in(sim), "CurrencyRef": {"value": "USD"}, "Line": [mug_line(sim)]}
    change(body, sim)
    assert fault_of(raw.post("salesreceipt", body))[0] == code
    assert sim.entities("SalesReceipt") == []


def test_names_unique_across_customers_vendors_employees_and_no_colon(raw):
    assert raw.post("customer", {"DisplayName": "Acme"}).status_code == 200
    assert fault_of(raw.post("vendor", {"DisplayName": "acme"}))[0] == "6240"
    assert fault_of(raw.post("customer", {"DisplayName": "Jane Warehouse"}))[0] == "6240"  # the employee
    assert fault_of(raw.post("customer", {"DisplayName": "Parent:Child"}))[0] == "2050"


def test_foreign_rate_omitted_is_stored_as_one_like_quickbooks(raw, sim):
    customer = raw.post("customer", {"DisplayName": "Amazon GBP", "CurrencyRef": {"value": "GBP"}}).json()
    body = {
        "CustomerRef": {"value": customer["Customer"]["Id"]},
        "CurrencyRef": {"value": "GBP"},
        "Line": [mug_line(sim)],
    }
    stored = raw.post("salesreceipt", body).json()["SalesReceipt"]
    assert stored["ExchangeRate"] == 1 and stored["HomeTotalAmt"] == 25.0


def test_requestid_replays_the_first_answer(raw, sim):
    body = {"CustomerRef": walk_in(sim), "CurrencyRef": {"value": "USD"}, "Line": [mug_line(sim)]}
    first = raw.post("salesreceipt", body, requestid="abc-1").json()
    again = raw.post("salesreceipt", body, requestid="abc-1").json()
    assert first == again and len(sim.entities("SalesReceipt")) == 1
    assert sim.stats["requestid_replays"] == 1


def test_batch_items_cannot_see_each_other_and_fail_alone(raw, sim):
    next_id = str(sim.company.last_id + 1)
    items = [
        {"bId": "c1", "operation": "create", "Customer": {"DisplayName": "Batch Buyer"}},
        {
            "bId": "s1",
            "operation": "create",
            "SalesReceipt": {
                "CustomerRef": {"value": next_id},
                "CurrencyRef": {"value": "USD"},
                "Line": [mug_line(sim)],
            },
        },
        {"bId": "q1", "Query": "SELECT * FROM Customer WHERE DisplayName = 'Walk-in Customer'"},
    ]
    answer = raw.post("batch", {"BatchItemRequest": items}).json()["BatchItemResponse"]
    assert answer[0]["Customer"]["Id"] == next_id
    assert answer[1]["Fault"]["Error"][0]["code"] == "2500"
    assert answer[2]["QueryResponse"]["Customer"][0]["DisplayName"] == "Walk-in Customer"
    too_many = [{"bId": str(i), "Query": "SELECT * FROM Item"} for i in range(31)]
    assert raw.post("batch", {"BatchItemRequest": too_many}).status_code == 400


def test_expired_and_unknown_tokens_get_the_gateway_envelope(raw, sim):
    sim.clock.advance(3601)
    answer = raw.query("SELECT * FROM Item")
    assert answer.status_code == 401
    assert answer.json()["fault"]["error"][0]["code"] == "3200"


def test_refresh_tokens_rotate_strictly(sim):
    config = sim.connector_config()
    auth = (config["client_id"], config["client_secret"])
    first = requests.post(
        config["token_url"],
        auth=auth,
        data={"grant_type": "refresh_token", "refresh_token": config["refresh_token"]},
    )
    assert first.status_code == 200 and first.json()["refresh_token"] != config["refresh_token"]
    reused = requests.post(
        config["token_url"],
        auth=auth,
        data={"grant_type": "refresh_token", "refresh_token": config["refresh_token"]},
    )
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"


def test_batch_rate_limit_answers_429_with_the_throttle_fault():
    with QuickBooksOnlineSimulator(clock=SimClock(scale=1.0)) as sim:
        raw = Raw(sim)
        statuses = [
            raw.post("batch", {"BatchItemRequest": [{"bId": "1", "Query": "SELECT * FROM Account"}]})
            for _ in range(41)
        ]
        assert [s.status_code for s in statuses[:40]] == [200] * 40
        assert statuses[40].status_code == 429 and "ThrottleExceeded" in statuses[40].text
        assert float(statuses[40].headers["Retry-After"]) > 0
        sim.clock.advance(61)
        assert raw.post("batch", {"BatchItemRequest": [{"bId": "1", "Query": "SELECT * FROM Account"}]}).ok


def test_more_than_ten_concurrent_requests_are_throttled(sim, raw):
    sim.slow_seconds = 0.8
    sim.inject("query", "slow", times=12)
    codes = []
    threads = [
        threading.Thread(target=lambda: codes.append(raw.query("SELECT * FROM Item").status_code))
        for _ in range(12)
    ]
    for thread in threads:
        thread.start()
        time.sleep(
            0.02
        )  # the server's listen backlog is 5: a burst could be delayed by TCP, not by QBO rules
    for thread in threads:
        thread.join()
    assert sorted(codes) == [200] * 10 + [429] * 2


def test_query_language(raw, sim):
    rows = raw.query("select * from Item where Type = 'Inventory' ORDERBY Sku DESC").json()["QueryResponse"]
    skus = [r["Sku"] for r in rows["Item"]]
    assert skus == sorted(skus, reverse=True) and len(skus) == 6
    liked = raw.query("SELECT * FROM Item WHERE Sku LIKE 't%'").json()["QueryResponse"]["Item"]
    assert {r["Sku"] for r in liked} == {"TEA-EARL-250", "TSHIRT-M-RED"}
    inside = raw.query("SELECT Id, Sku FROM Item WHERE Sku IN ('MUG-BLU-01', 'tshirt-m-red')").json()
    assert sorted(r["Sku"] for r in inside["QueryResponse"]["Item"]) == ["MUG-BLU-01", "TSHIRT-M-RED"]
    assert "Name" not in inside["QueryResponse"]["Item"][0]
    page = raw.query("SELECT * FROM Item STARTPOSITION 3 MAXRESULTS 2").json()["QueryResponse"]
    assert page["startPosition"] == 3 and page["maxResults"] == 2
    assert raw.query("SELECT COUNT(*) FROM Account").json()["QueryResponse"]["totalCount"] == 9
    assert raw.query("SELECT * FROM Customer WHERE DisplayName = 'Nobody'").json()["QueryResponse"] == {}
    broken = raw.query("SELECT * FROM Item WHERE")
    assert broken.status_code == 400 and fault_of(broken)[0] == "4000"


@settings(max_examples=examples(25), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    name=st.text(
        alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters=":"),
        min_size=1,
        max_size=40,
    ).filter(lambda s: s.strip() == s and s)
)
def test_quoted_names_round_trip_through_the_query_language(raw, sim, name):
    created = raw.post("customer", {"DisplayName": name})
    if created.status_code != 200:  # a name hypothesis already created (case-insensitively)
        assert fault_of(created)[0] == "6240"
        return
    found = raw.query(f"SELECT * FROM Customer WHERE DisplayName = {quote(name)}").json()["QueryResponse"]
    assert [c["DisplayName"] for c in found["Customer"]] == [name]


def test_runs_standalone_with_python_dash_m():
    process = subprocess.Popen(
        [sys.executable, "-m", "connex_quickbooks_online.simulator", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        printed = ""
        while not printed.rstrip().endswith("}"):
            chunk = process.stdout.readline()
            assert chunk, "the simulator exited before printing its config"
            printed += chunk
        config = json.loads(printed)
        assert config.pop("plugin") == "quickbooks_online"
        with QuickBooksOnlineTarget(config) as target:
            assert target.find_or_create_item("TEA-EARL-250")
    finally:
        process.terminate()
        process.wait(timeout=10)
