"""Connex's own items on QuickBooks Desktop: a fresh company file holding only the seller's products (no
Shipping, Rounding or Discount item) syncs the Linnworks demo account with zero failures; the missing items are
created once, as Other Charge items on the configured accounts, in XSD-valid qbXML."""

from __future__ import annotations

import json
from decimal import Decimal

from connex_linnworks.simulator import LinnworksSimulator
from connex_linnworks.simulator.catalogue import PRODUCTS
from connex_quickbooks_desktop.simulator import SimulatedCompany, WebConnectorSimulator

from connex.config import load_config
from connex.plugin_manager import get_plugins
from connex.state import open_state
from connex.sync.engine import FLOW_ORDER, SyncEngine
from connex.sync.report import RunOptions


def fresh_company(validator) -> SimulatedCompany:
    company = SimulatedCompany.seeded(service_items=False, validator=validator)
    for sku, *_ in PRODUCTS:
        company.add_list_record(sku, "ItemInventory", quantity=Decimal(50))
    return company


def sync_with_a_session(folder, wc, target, *, clean=True) -> list:
    """One sync, a Web Connector session draining the queue, and the sync that records the outcomes."""
    plugins = get_plugins()
    config = load_config(folder / "connex.yaml", plugins)
    state = open_state(config.state_path)
    engine = SyncEngine(config, plugins, state)
    services = [service.start() for service in engine.target.services()]
    try:
        engine.run(list(FLOW_ORDER), RunOptions())
        for service in services:
            log = wc.run_session(service.url, target["username"], target["password"])
            assert not clean or not log.errors, log.errors
        return engine.run(list(FLOW_ORDER), RunOptions())
    finally:
        for service in services:
            service.stop()
        engine.close()
        state.close()


def write_config(folder, lw, wc, **extra) -> dict:
    target = {"plugin": "quickbooks_desktop", **wc.connector_config(), "queue_db": str(folder / "queue.db"),
              **extra}
    config = {"source": {"plugin": "linnworks", **lw.connector_config()}, "target": target, "state": "connex.db",
              "sync": {"from_date": "2020-01-01", "purchases": True, "refunds": True}}
    (folder / "connex.yaml").write_text(json.dumps(config))
    return target


def test_a_fresh_company_file_with_only_the_products_syncs_the_demo_account_with_no_failures(tmp_path, validator):
    company = fresh_company(validator)
    assert not [r for r in company.records("ItemOtherCharge")]
    with LinnworksSimulator(processed_orders=40, open_orders=5, purchase_orders=6) as lw:
        wc = WebConnectorSimulator(company)
        target = write_config(tmp_path, lw, wc)  # missing_items: fail, the default
        reports = sync_with_a_session(tmp_path, wc, target)
    failures = [f for report in reports for f in report.failures]
    assert failures == [], failures[:3]
    posted = sum(report.counts.get("posted", 0) for report in reports)
    assert posted > 0
    own = {r.name: r for r in company.records("ItemOtherCharge")}
    assert "Shipping" in own, sorted(company.lists)
    added = [xml for xml in company.received if "<ItemOtherChargeAddRq" in xml]
    assert sum(xml.count("<ItemOtherChargeAddRq") for xml in added) == len(own)  # each created once
    assert all(not problems for problems in map(validator.validate, added))
    assert "<AccountRef><FullName>Merchandise Sales</FullName></AccountRef>" in "".join(added)
    assert not company.records("ItemNonInventory")  # product SKUs are never created under missing_items: fail


def test_create_own_items_off_fails_the_orders_naming_the_item(tmp_path, validator):
    company = fresh_company(validator)
    with LinnworksSimulator(processed_orders=6, open_orders=0, purchase_orders=0) as lw:
        wc = WebConnectorSimulator(company)
        target = write_config(tmp_path, lw, wc, create_own_items=False)
        reports = sync_with_a_session(tmp_path, wc, target, clean=False)
    errors = [f[1] for report in reports for f in report.failures]
    assert errors and all("create_own_items: false" in e for e in errors), errors
    assert not company.records("ItemOtherCharge")


def test_without_an_income_account_the_failure_says_which_key_to_set(tmp_path, validator):
    company = fresh_company(validator)
    with LinnworksSimulator(processed_orders=6, open_orders=0, purchase_orders=0) as lw:
        wc = WebConnectorSimulator(company)
        config = wc.connector_config()
        config.pop("income_account")
        config.pop("expense_account")
        target = {"plugin": "quickbooks_desktop", **config, "queue_db": str(tmp_path / "queue.db")}
        (tmp_path / "connex.yaml").write_text(json.dumps({
            "source": {"plugin": "linnworks", **lw.connector_config()}, "target": target, "state": "connex.db",
            "sync": {"from_date": "2020-01-01"}}))
        reports = sync_with_a_session(tmp_path, wc, target, clean=False)
    errors = [f[1] for report in reports for f in report.failures]
    assert errors and all("set income_account" in e for e in errors), errors


def test_the_sku_map_sends_skus_to_other_items_and_never_creates_a_mapped_one(tmp_path, validator):
    company = fresh_company(validator)
    sold = [sku for sku, *_ in PRODUCTS]
    # the company keeps two of the products under names of its own, the others under their SKUs
    for sku, name in ((sold[0], "Mugs:Blue mug"), (sold[1], "Tea 250g")):
        del company.lists[sku.lower()]
        company.add_list_record(name, "ItemInventory", quantity=Decimal(50))
    mapping = tmp_path / "skus.csv"
    mapping.write_text(f"sku,item\n{sold[0].lower()},Mugs:Blue mug\n{sold[1]},Tea 250g\n", encoding="utf-8")
    with LinnworksSimulator(processed_orders=40, open_orders=0, purchase_orders=0) as lw:
        wc = WebConnectorSimulator(company)
        target = write_config(tmp_path, lw, wc, sku_map=str(mapping))
        reports = sync_with_a_session(tmp_path, wc, target)
    assert [f for report in reports for f in report.failures] == []
    lines = "".join(company.received)
    assert "<FullName>Mugs:Blue mug</FullName>" in lines and "<FullName>Tea 250g</FullName>" in lines
    assert f"<FullName>{sold[0]}</FullName>" not in lines


def test_a_mapped_item_missing_fails_naming_the_map_even_when_items_may_be_created(tmp_path, validator):
    company = fresh_company(validator)
    sold = [sku for sku, *_ in PRODUCTS]
    mapping = tmp_path / "skus.csv"
    mapping.write_text("sku,item\n" + "".join(f"{sku},Gone {i}\n" for i, sku in enumerate(sold)), encoding="utf-8")
    with LinnworksSimulator(processed_orders=6, open_orders=0, purchase_orders=0) as lw:
        wc = WebConnectorSimulator(company)
        target = write_config(tmp_path, lw, wc, sku_map=str(mapping), missing_items="create_non_inventory")
        reports = sync_with_a_session(tmp_path, wc, target, clean=False)
    errors = [f[1] for report in reports for f in report.failures]
    assert errors and all("(named by the SKU map) is not in QuickBooks" in e for e in errors), errors
    assert not company.records("ItemNonInventory")


def test_a_bad_sku_map_stops_the_sync_with_file_and_line(tmp_path):
    from tests.conftest import run_connex

    mapping = tmp_path / "skus.csv"
    mapping.write_text("sku,item\nA-1,\nB-2," + "x" * 32 + "\n", encoding="utf-8")
    with LinnworksSimulator(processed_orders=1, open_orders=0, purchase_orders=0) as lw:
        write_config(tmp_path, lw, WebConnectorSimulator(SimulatedCompany.seeded()), sku_map=str(mapping))
        result = run_connex("sync", "--once", "--no-progress", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert f"{mapping}:2: item: empty" in result.stderr and f"{mapping}:3: item:" in result.stderr
    assert "Traceback" not in result.stderr
