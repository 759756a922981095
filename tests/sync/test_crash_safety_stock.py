"""SIGKILL campaign for stock by difference (issue 16): `connex sync --flow inventory` is killed at random moments
of a run and right before or after the n-th stock write Linnworks sees, resumed, and in the end Linnworks holds
QuickBooks' quantities (negatives as 0, the default ``sync.negative_stock``), no level was ever written that was
not a change, and a pass with nothing changed writes nothing. Same method and rig as test_crash_safety.py.

Kill points: random moments within a calibrated run; the n-th Stock/SetStockLevel Linnworks sees (as in the
other campaigns, "before" kills the process as the request arrives and the simulator still applies it, "after"
once applied: either way the outcome is lost; "after" the n-th is also "before" the n+1-th is sent); QuickBooks'
inventory query (before any write); and the full pass's bulk read of Linnworks' levels.

A kill right after Linnworks applied a write but before Connex learnt so loses that write's outcome; the next
run may set the same level again. Such re-writes are allowed, counted, and each must follow a write of the same
level made by a run that was killed.
"""

from __future__ import annotations

import json
import os
import random
import signal
import time
from collections import Counter

import pytest
from connex_linnworks.simulator import LinnworksSimulator
from connex_quickbooks_online.simulator import QuickBooksOnlineSimulator

from connex.simulation import SimClock
from connex.state import open_state
from tests.sync.test_crash_safety import Killer, run_seconds, start_sync

# the full campaign on CI; a shorter one keeps a developer's run of the suite quick
KILL_POINTS = 48 if os.environ.get("CI") == "true" else 34  # cycles; all but one in eight end in a kill
SKUS = 250  # three Stock/SetStockLevel calls of 100 on a first pass, so a kill can land between them
WRITE = "Stock/SetStockLevel"


class StockShop:
    """Linnworks with ``SKUS`` stock items and QuickBooks with the same SKUs as inventory items; every level
    Linnworks sets through the API is logged with the cycle that set it and the level it replaced."""

    def __init__(self, folder, rng):
        self.folder, self.rng = folder, rng
        self.lw = LinnworksSimulator(processed_orders=0, open_orders=0, purchase_orders=0, refunds=False,
                                     clock=SimClock(scale=30)).start()
        self.qbo = QuickBooksOnlineSimulator(enforce_limits=False).start()
        self.killer = Killer()
        self.lw.dispatch = self.killer.hook("linnworks", self.lw.dispatch)
        self.qbo.dispatch = self.killer.hook("quickbooks_online", self.qbo.dispatch)
        self.skus = self.lw.account.add_stock_items(SKUS, prefix="STK")
        self.items = {}
        for sku in self.skus:
            self.items[sku] = self.qbo.company.store("Item", {
                "Name": f"Stock {sku}", "FullyQualifiedName": f"Stock {sku}", "Sku": sku, "Type": "Inventory",
                "Active": True, "TrackQtyOnHand": True, "QtyOnHand": rng.randint(-2, 9),
                "InvStartDate": "2025-01-01"})
        self.cycle = 0
        self.previous: dict[str, int] = {}  # SKUs the last change moved, with their quantity before
        self.writes: list[tuple[int, str, int | None, int]] = []  # (cycle, sku, level before, level set)
        set_stock = self.lw.account.set_stock

        def logged(sku, location_id, level):
            before = self.lw.account.stock_of(sku, location_id)
            result = set_stock(sku, location_id, level)
            if result is not None:
                self.writes.append((self.cycle, result.get("SKU", sku), before, level))
            return result

        self.lw.account.set_stock = logged
        self.configure(reconcile_hours=1000)

    def configure(self, *, reconcile_hours: float):
        config = {"source": {"plugin": "linnworks", **self.lw.connector_config()},
                  "target": {"plugin": "quickbooks_online", **self.qbo.connector_config()},
                  "sync": {"orders": "off", "inventory": True, "stock_reconcile_hours": reconcile_hours},
                  "state": "connex.db"}
        (self.folder / "connex.yaml").write_text(json.dumps(config))

    def change_quantities(self, count: int) -> dict[str, int]:
        """A few QuickBooks quantities change, drawn from a small range so some turn negative; two SKUs changed
        last time go back to the quantity it had before (a write a kill may have half-done is undone)."""
        changed = {}
        with self.qbo.company.lock:
            undo = self.rng.sample(sorted(self.previous), min(2, len(self.previous)))
            for sku in undo:
                self.items[sku]["QtyOnHand"] = changed[sku] = self.previous[sku]
            for sku in self.rng.sample([s for s in self.skus if s not in undo], count - len(changed)):
                before = self.items[sku]["QtyOnHand"]
                self.items[sku]["QtyOnHand"] = changed[sku] = self.rng.randint(-2, 9)
                self.previous[sku] = before
            self.previous = {sku: old for sku, old in self.previous.items() if sku in changed and sku not in undo}
        return changed

    def expected(self) -> dict[str, int]:
        """What Linnworks should hold: each QuickBooks inventory item Linnworks stocks, negatives as 0."""
        return {row["Sku"]: max(0, int(row.get("QtyOnHand", 0))) for row in self.qbo.company.all("Item")
                if row.get("Type") == "Inventory" and row.get("Sku") and self.lw.account.product(row["Sku"])}

    def levels(self) -> dict[str, int]:
        return {sku: self.lw.stock_level(sku, "Default") for sku in self.expected()}

    def stop(self):
        self.qbo.stop()
        self.lw.stop()


@pytest.fixture
def shop(tmp_path):
    made = StockShop(tmp_path, random.Random(1618))
    yield made
    made.stop()


def sync(shop) -> int:
    """One unkilled inventory pass; returns the number of levels it wrote."""
    before = len(shop.writes)
    process = start_sync(shop.folder, "inventory")
    out, err = process.communicate(timeout=180)
    assert process.returncode == 0, out + err
    return len(shop.writes) - before


def test_stock_by_difference_over_kill_points(shop):
    rng, killer = random.Random(1619), shop.killer
    kinds, killed, full_cycles, changes = Counter(), set(), 0, 0
    expected_at: dict[int, dict[str, int]] = {}
    duration = run_seconds(shop.folder, "inventory")
    for cycle in range(KILL_POINTS):
        shop.cycle = cycle
        if cycle:
            changes += len(shop.change_quantities(4))
        full = cycle % 4 == 3  # every fourth cycle a full reconcile reads Linnworks' levels first
        full_cycles += full
        shop.configure(reconcile_hours=0 if full else 1000)
        expected_at[cycle] = shop.expected()
        process = start_sync(shop.folder, "inventory")
        choice = rng.random()
        if cycle % 8 == 3:
            # a full pass left to finish now and then: until one does, every pass is a full one (the period
            # counts from the last finished full pass) and the normal pass by difference would go untested
            killer.arm(process, None)
        elif choice < 0.3:
            killer.arm(process, None)
            time.sleep(rng.uniform(0.05, 0.95) * duration)
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
                kinds["moment"] += 1
                killed.add(cycle)
        elif choice < 0.8:
            # a normal pass with a few changes makes one to three writes; the first pass makes three
            killer.arm(process, ("linnworks", rng.choice(["before", "after"]), rng.randint(1, 2), WRITE))
        elif choice < 0.9 or not full:
            # before any write: around QuickBooks' inventory query
            killer.arm(process, ("quickbooks_online", rng.choice(["before", "after"]), 1, "/query"))
        else:
            killer.arm(process, ("linnworks", rng.choice(["before", "after"]), 1, "Stock/GetStockItemsFull"))
        process.communicate(timeout=120)
        if killer.fired:
            kinds[f"{killer.plan[3]}:{killer.plan[1]}"] += 1
            killed.add(cycle)
        killer.disarm()

    shop.cycle = KILL_POINTS
    shop.configure(reconcile_hours=1000)
    expected_at[KILL_POINTS] = shop.expected()
    sync(shop)  # a normal pass, not a full one: what the campaign left must be right without a reconcile
    assert shop.levels() == shop.expected()

    # every write either changed Linnworks' level to QuickBooks' quantity of its cycle, or re-set the level a
    # killed run had already set (its outcome lost with the process)
    last_write: dict[str, tuple[int, int]] = {}
    rewrites, lost = Counter(), []
    for cycle, sku, before, level in shop.writes:
        assert level == expected_at[cycle][sku], (cycle, sku, level)
        if before == level:
            previous = last_write.get(sku)
            lost.append((cycle, sku, level, previous))
            assert previous is not None and previous[1] == level and previous[0] in killed, lost[-1]
            rewrites[previous[0]] += 1
        last_write[sku] = (cycle, level)
    # a kill loses the outcome of at most the one write call in flight (100 levels, stock.BATCH)
    assert all(count <= 100 for count in rewrites.values()), rewrites
    effective = len(shop.writes) - sum(rewrites.values())
    first_load = sum(1 for level in expected_at[0].values() if level != 0)  # new Linnworks items stand at 0
    assert effective <= first_load + changes, (effective, first_load, changes)

    assert sync(shop) == 0  # nothing changed: nothing written
    shop.configure(reconcile_hours=0)
    assert sync(shop) == 0  # nor by a full reconcile, which finds no drift
    assert open_state(shop.folder / "connex.db").rows(status="in_flight") == []
    assert sum(kinds.values()) >= max(25, KILL_POINTS * 0.65), kinds
    assert kinds[f"{WRITE}:after"] >= 3 and kinds[f"{WRITE}:before"] >= 3, kinds
    print(f"kills {dict(kinds)} over {KILL_POINTS} cycles ({full_cycles} full); writes {len(shop.writes)}, "
          f"re-writes after a lost outcome {sum(rewrites.values())}, QuickBooks changes {changes}")


def test_a_write_whose_outcome_was_lost_is_put_right_when_quickbooks_changes_back(shop):
    """Killed right after Linnworks set a level, before Connex recorded it; then QuickBooks goes back to the
    level Connex wrote before. The next normal pass must set that level again: Linnworks holds the lost one."""
    sync(shop)
    sku = shop.skus[0]
    old = shop.expected()[sku]
    with shop.qbo.company.lock:
        shop.items[sku]["QtyOnHand"] = old + 7
    process = start_sync(shop.folder, "inventory")
    shop.killer.arm(process, ("linnworks", "after", 1, WRITE))
    process.communicate(timeout=120)
    assert shop.killer.fired and shop.lw.stock_level(sku, "Default") == old + 7
    shop.killer.disarm()
    with shop.qbo.company.lock:
        shop.items[sku]["QtyOnHand"] = old
    assert sync(shop) == 1
    assert shop.levels() == shop.expected()
    assert sync(shop) == 0
