"""Issue 12 item 9: hostile orders (control characters, escape sequences, line breaks, overlong text, Decimal edge
values) go through a real sync against the Linnworks and QuickBooks Online simulators: no traceback, and every
order either posted, cleaned and cut to QuickBooks' lengths, or failed with a readable reason."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
from decimal import Decimal

import pytest
from connex_linnworks.simulator import LinnworksSimulator
from connex_quickbooks_online.simulator import QuickBooksOnlineSimulator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connex.config import load_config
from connex.plugin_manager import get_plugins
from connex.state import open_state
from connex.sync.engine import SyncEngine
from connex.sync.report import RunOptions
from connex.transport import RetryPolicy
from tests.conftest import examples

CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # what no posted text may hold (tab/LF only in memos)

HOSTILE_PIECES = ["\x00", "\x1b[31m", "\x1b]0;title\x07", "\r\n", "\n", "\r", "\t", "\x7f", "\x9b2J", "\u2028",
                  ":", "'", '"', "\\", "<", "&", "%s", "{{ 1/0 }}", "Ω", "😀", " "]
hostile_text = st.lists(st.one_of(st.sampled_from(HOSTILE_PIECES), st.text(max_size=8)), max_size=12).map(
    "".join) | st.builds(lambda piece, n: piece * n, st.sampled_from(["x", "Ω", "\x00"]), st.integers(0, 5000))
edge_number = st.sampled_from([Decimal("1e999999"), Decimal("-1e999999"), Decimal("NaN"), Decimal("sNaN"),
                               Decimal("Infinity"), Decimal("-Infinity"), Decimal("-0"), Decimal("1e-999999"),
                               Decimal("1." + "3" * 400), Decimal(10) ** 30, float("nan"), float("inf"), 1e308,
                               -0.0, "1e999999", "NaN", "", "12,50", None, True])
TEXT_FIELDS = [("CustomerInfo", "Address", "FullName"), ("CustomerInfo", "Address", "Address1"),
               ("CustomerInfo", "Address", "Town"), ("CustomerInfo", "Address", "PostCode"),
               ("CustomerInfo", "BillingAddress", "FullName"), ("CustomerInfo", "BillingAddress", "Company"),
               ("CustomerInfo", "BillingAddress", "EmailAddress"), ("CustomerInfo", "BillingAddress", "Address1"),
               ("GeneralInfo", "ReferenceNum"), ("GeneralInfo", "SubSource"), ("Items", 0, "Title")]
NUMBER_FIELDS = [("TotalsInfo", "TotalCharge"), ("TotalsInfo", "Tax"), ("TotalsInfo", "PostageCost"),
                 ("TotalsInfo", "PostageCostExTax"), ("Items", 0, "Cost"), ("Items", 0, "Quantity"),
                 ("Items", 0, "PricePerUnit")]
changes = st.lists(st.one_of(st.tuples(st.sampled_from(TEXT_FIELDS), hostile_text),
                             st.tuples(st.sampled_from(NUMBER_FIELDS), edge_number)), min_size=1, max_size=4)


def put(order: dict, path: tuple, value) -> None:
    node = order
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    with LinnworksSimulator(processed_orders=0, open_orders=0, purchase_orders=0) as lw, \
            QuickBooksOnlineSimulator() as qbo:
        config = {"source": {"plugin": "linnworks", **lw.connector_config()},
                  "target": {"plugin": "quickbooks_online", "missing_items": "create_non_inventory",
                             **qbo.connector_config()},
                  "sync": {"from_date": "2020-01-01"}, "state": "connex.db"}
        (folder / "connex.yaml").write_text(json.dumps(config))
        yield folder, lw, qbo


clock = itertools.count()


@settings(max_examples=examples(25), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(orders=st.lists(changes, min_size=1, max_size=3))
def test_hostile_orders_are_posted_clean_or_failed_with_a_reason(world, orders):
    folder, lw, qbo = world
    added = []
    for edits in orders:
        order = lw.account.add_processed_order(
            processed_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(minutes=next(clock)))
        for path, value in edits:
            put(order, path, value)
        added.append(order)
    plugins = get_plugins()
    config = load_config(folder / "connex.yaml", plugins)
    state = open_state(config.state_path)
    engine = SyncEngine(config, plugins, state)
    engine.source.client.http.retry = RetryPolicy(base_delay=0.001, max_delay=0.01, time_budget=5)
    try:
        [report] = engine.run(["orders"], RunOptions())  # raises on any escaped error: the test fails then
        assert report.incomplete is None, report.incomplete
        rows = state.lookup(f"order:{o['OrderId']}" for o in added)
        posted = state.lookup(f"sales_receipt:{o['OrderId']}" for o in added)
        for order in added:
            row = posted.get(f"sales_receipt:{order['OrderId']}") or rows.get(f"order:{order['OrderId']}")
            assert row is not None, f"order {order['NumOrderId']} was neither posted nor failed"
            if row.status == "failed":
                assert row.error and "Traceback" not in row.error and "InvalidOperation" not in row.error
                assert "<class" not in row.error and not CONTROL.search(row.error), row.error
            else:
                assert row.status in ("posted", "exists", "skipped"), (row.status, row.error)
        for entity in ("SalesReceipt", "Customer", "Item"):
            for body in qbo.entities(entity):
                for text in strings(body):
                    assert not CONTROL.search(text.replace("\n", "").replace("\t", "")), (entity, text[:80])
    finally:
        engine.close()
        state.close()


def strings(node):
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from strings(value)


def sync_cli(folder):
    from tests.conftest import REPO, run_connex

    return run_connex("sync", "--no-progress", "--wait", "30", cwd=folder, env={"PYTHONPATH": str(REPO)})


def test_control_characters_are_removed_before_posting_and_logging(world):
    folder, lw, qbo = world
    order = lw.account.add_processed_order(processed_at=dt.datetime(2026, 6, 1, tzinfo=dt.UTC))
    put(order, ("CustomerInfo", "BillingAddress", "FullName"), "Eve\x00 \x1b[31mRed\x1b[0m\r\nSmith")
    put(order, ("CustomerInfo", "BillingAddress", "Address1"), "1 Line\nTwo\tRoad")
    bad = lw.account.add_processed_order(processed_at=dt.datetime(2026, 6, 2, tzinfo=dt.UTC))
    put(bad, ("Items", 0, "Quantity"), "\x1b[2J\x00two\r\n2027-01-01 ERROR forged log line")
    result = sync_cli(folder)
    assert result.returncode == 1, result.stdout + result.stderr  # the forged quantity fails its order
    for output in (result.stdout, result.stderr):
        assert "\x1b" not in output and "\x00" not in output
        assert not any(line.startswith("2027-01-01 ERROR forged") for line in output.splitlines())
    [receipt] = [r for r in qbo.entities("SalesReceipt") if r["DocNumber"] == str(order["NumOrderId"])]
    for entity in ("SalesReceipt", "Customer"):
        for body in qbo.entities(entity):
            assert not any(CONTROL.search(text.replace("\n", "")) for text in strings(body)), body
    assert receipt["BillAddr"]["Line1"] == "1 Line Two Road"


@pytest.mark.parametrize("value", [Decimal("1e999999"), Decimal("NaN"), Decimal("Infinity"), Decimal("1e-999999"),
                                   Decimal("1." + "7" * 5000), float("nan"), float("-inf"), "1e999999"],
                         ids=str)
def test_a_decimal_edge_value_fails_its_order_with_a_readable_reason(world, value):
    folder, lw, qbo = world
    order = lw.account.add_processed_order(
        processed_at=dt.datetime(2026, 7, 1, tzinfo=dt.UTC) + dt.timedelta(minutes=next(clock)))
    put(order, ("TotalsInfo", "TotalCharge"), value)
    plugins = get_plugins()
    config = load_config(folder / "connex.yaml", plugins)
    state = open_state(config.state_path)
    engine = SyncEngine(config, plugins, state)
    try:
        [report] = engine.run(["orders"], RunOptions())
        assert report.incomplete is None
        row = state.lookup([f"order:{order['OrderId']}"]).get(f"order:{order['OrderId']}")
        assert row is not None and row.status == "failed", row
        assert "total" in row.error.lower() and "<class" not in row.error and "InvalidOperation" not in row.error
        assert len(row.error) < 400, row.error
    finally:
        engine.close()
        state.close()
