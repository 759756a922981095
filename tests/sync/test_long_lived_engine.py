"""A daemon keeps one engine (and its connectors) per connection for its whole life: a name QuickBooks lacked in
one run is looked for again in the next, so the fix a user makes in QuickBooks (add the item) is picked up by the
next retry without restarting the daemon (the console's "retry" after a fix depends on it)."""

from __future__ import annotations

import datetime as dt
import json

from connex_linnworks.simulator import LinnworksSimulator
from connex_quickbooks_online.simulator import QuickBooksOnlineSimulator

from connex.config import load_config
from connex.plugin_manager import get_plugins
from connex.state import open_state
from connex.sync.engine import SyncEngine
from connex.sync.report import RunOptions


def test_an_item_added_in_quickbooks_after_a_failed_run_is_used_by_the_same_engine(tmp_path):
    with LinnworksSimulator(processed_orders=0, open_orders=0, purchase_orders=0, refunds=False) as lw, \
            QuickBooksOnlineSimulator() as qbo:
        order = lw.account.add_processed_order(processed_at=dt.datetime(2026, 1, 2, tzinfo=dt.UTC))
        for n, line in enumerate(order["Items"]):  # products the company does not have yet: the order fails
            line["SKU"] = f"NEW-PRODUCT-{n}"
        skus = {line["SKU"] for line in order["Items"]}
        config = {"source": {"plugin": "linnworks", **lw.connector_config()},
                  "target": {"plugin": "quickbooks_online", "missing_items": "fail", **qbo.connector_config()},
                  "sync": {"from_date": "2026-01-01"}, "state": "connex.db"}
        (tmp_path / "connex.yaml").write_text(json.dumps(config))
        plugins = get_plugins()
        state = open_state(tmp_path / "connex.db")
        engine = SyncEngine(load_config(tmp_path / "connex.yaml", plugins), plugins, state)
        try:
            (first,) = engine.run(["orders"], RunOptions())
            assert first.failures and first.counts["posted"] == 0, first.counts
            income = qbo.entity("Account", Name="Sales of Product Income")
            for sku in skus:  # the user adds the products in QuickBooks, then retries
                qbo.company.store("Item", {"Name": f"{sku} (added)", "FullyQualifiedName": f"{sku} (added)",
                                           "Sku": sku, "Type": "NonInventory", "Active": True,
                                           "IncomeAccountRef": {"value": income["Id"]}})
            (second,) = engine.run(["orders"], RunOptions(retry_failed=True))
            assert not second.failures, second.failures
            assert second.counts["posted"] == 1, second.counts
        finally:
            engine.close()
            state.close()
