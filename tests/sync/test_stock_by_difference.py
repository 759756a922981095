"""Stock levels by difference: a pass writes only the levels that changed since Connex last wrote them, a full
pass on the configured period corrects drift in Linnworks, and a negative QuickBooks quantity follows
``sync.negative_stock``. Real simulators over HTTP, the real engine and a SQLite state file."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from connex_linnworks.simulator import LinnworksSimulator
from connex_quickbooks_online.simulator import QuickBooksOnlineSimulator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connex.config import load_config
from connex.plugin_manager import get_plugins
from connex.simulation.server import SimClock
from connex.state import open_state
from connex.sync import inventory_flow
from connex.sync.engine import SyncEngine
from connex.sync.report import RunOptions

SKUS = 60


class Shop:
    """Linnworks with ``SKUS`` stock items, QuickBooks with the same SKUs as inventory items."""

    def __init__(self, folder, lw, qbo, **sync):
        self.folder, self.lw, self.qbo = folder, lw, qbo
        self.skus = lw.account.add_stock_items(SKUS, prefix="STK")
        self.items = {}
        for n, sku in enumerate(self.skus):
            self.items[sku] = qbo.company.store("Item", {
                "Name": f"Stock {sku}", "FullyQualifiedName": f"Stock {sku}", "Sku": sku, "Type": "Inventory",
                "Active": True, "TrackQtyOnHand": True, "QtyOnHand": 5 + n, "InvStartDate": "2025-01-01"})
        config = {"source": {"plugin": "linnworks", **lw.connector_config()},
                  "target": {"plugin": "quickbooks_online", **qbo.connector_config()},
                  "sync": {"orders": "off", "inventory": True, **sync}, "state": "connex.db"}
        (folder / "connex.yaml").write_text(json.dumps(config))

    def set_qbo(self, sku, quantity):
        with self.qbo.company.lock:
            self.items[sku]["QtyOnHand"] = quantity

    def run(self):
        plugins = get_plugins()
        config = load_config(self.folder / "connex.yaml", plugins)
        state = open_state(config.state_path)
        engine = SyncEngine(config, plugins, state)
        audit = self.lw.account.stock_audit
        try:
            (report,) = engine.run(["inventory"], RunOptions())
        finally:
            engine.close()
            state.close()
        return report, self.lw.account.stock_audit - audit

    def level(self, sku):
        return self.lw.stock_level(sku, "Default")


@pytest.fixture
def shop_factory(tmp_path):
    made = []

    def make(**sync):
        lw = LinnworksSimulator(processed_orders=0, open_orders=0, purchase_orders=0, refunds=False,
                                clock=SimClock(scale=60)).start()
        qbo = QuickBooksOnlineSimulator(enforce_limits=False).start()
        made.extend([lw, qbo])
        folder = tmp_path / f"shop{len(made)}"
        folder.mkdir()
        return Shop(folder, lw, qbo, **sync)

    yield make
    for sim in made:
        sim.stop()


def seeded(shop) -> int:
    """QuickBooks' seeded inventory items (MUG-BLU-01 ...) that Linnworks also stocks."""
    return sum(1 for row in shop.qbo.company.all("Item")
               if row.get("Type") == "Inventory" and row.get("Sku") not in shop.skus
               and shop.lw.account.product(row["Sku"]) is not None)


def test_a_quiet_pass_writes_nothing_and_a_change_writes_only_itself(shop_factory):
    shop = shop_factory()
    first, written = shop.run()
    assert written == SKUS + seeded(shop) and first.status == "ok"
    assert [shop.level(s) for s in shop.skus[:3]] == [5, 6, 7]
    quiet, written = shop.run()
    assert written == 0 and quiet.counts["unchanged"] == SKUS + seeded(shop)
    for sku in shop.skus[10:15]:
        shop.set_qbo(sku, 99)
    changed, written = shop.run()
    assert written == 5 and changed.counts["posted"] == 5
    assert {shop.level(s) for s in shop.skus[10:15]} == {99}


def test_the_full_pass_corrects_drift_in_linnworks(shop_factory):
    shop = shop_factory(stock_reconcile_hours=24)
    shop.run()
    shop.lw.account.set_stock(shop.skus[0], shop.lw.account.locations[0]["StockLocationId"], 1)  # a sale
    _, written = shop.run()
    assert written == 0 and shop.level(shop.skus[0]) == 1  # drift goes unseen within the period
    state = open_state(shop.folder / "connex.db")  # a day passes: the last full pass was 25 hours ago
    last = dt.datetime.fromisoformat(state.get(inventory_flow.LAST_FULL_PASS))
    state.put(inventory_flow.LAST_FULL_PASS, (last - dt.timedelta(hours=25)).isoformat())
    state.close()
    reads = shop.lw.stats["Stock/GetStockItemsFull"]
    _, written = shop.run()
    # the full pass read Linnworks' levels in bulk and wrote only the one that drifted
    assert written == 1 and shop.level(shop.skus[0]) == 5
    assert shop.lw.stats["Stock/GetStockItemsFull"] - reads == 1  # (60 + 10 items: one page of 200)


def test_every_pass_is_a_full_pass_when_the_period_is_zero(shop_factory):
    shop = shop_factory(stock_reconcile_hours=0)
    shop.run()
    shop.lw.account.set_stock(shop.skus[3], shop.lw.account.locations[0]["StockLocationId"], 0)
    _, written = shop.run()
    assert written == 1 and shop.level(shop.skus[3]) == 8


def test_a_source_that_cannot_read_levels_gets_every_level_on_a_full_pass(shop_factory, monkeypatch):
    from connex_linnworks.connector import LinnworksSource

    monkeypatch.setattr(LinnworksSource, "read_stock_levels", lambda self: None)
    shop = shop_factory(stock_reconcile_hours=0)
    shop.run()
    _, written = shop.run()
    assert written == SKUS + seeded(shop)


@pytest.mark.parametrize(("policy", "expected"), [("zero", 0), ("skip", 5), ("write", -4)])
def test_a_negative_quantity_follows_the_policy(shop_factory, policy, expected):
    shop = shop_factory(negative_stock=policy)
    shop.run()
    shop.set_qbo(shop.skus[0], -4)
    report, _ = shop.run()
    assert shop.level(shop.skus[0]) == expected
    if policy != "write":
        assert any("negative" in note and policy in note for _, note in report.changes)


def test_a_bad_policy_is_a_config_error_naming_the_field(shop_factory):
    shop = shop_factory(negative_stock="clamp")
    with pytest.raises(Exception) as caught:
        load_config(shop.folder / "connex.yaml", get_plugins())
    assert "negative_stock" in str(caught.value)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=st.lists(st.tuples(st.integers(0, SKUS - 1), st.integers(0, 500)), max_size=10))
def test_after_any_changes_linnworks_matches_quickbooks_and_only_changes_were_written(shop_factory, changes):
    shop = shop_factory()
    shop.run()
    before = {sku: shop.level(sku) for sku in shop.skus}
    final = dict(before)
    for index, quantity in changes:
        final[shop.skus[index]] = quantity
        shop.set_qbo(shop.skus[index], quantity)
    _, written = shop.run()
    assert {sku: shop.level(sku) for sku in shop.skus} == final
    assert written == sum(1 for sku in shop.skus if final[sku] != before[sku])
