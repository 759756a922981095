"""``connex check`` on QuickBooks Desktop: before any Web Connector session it says what it cannot check and why
(exit 0: nothing is known to be missing); after a session it reports the SKU QuickBooks did not have, with the
mapping line naming it (exit 1), and Connex's own items it created as there."""

from __future__ import annotations

import re
from decimal import Decimal

from connex_linnworks.simulator import LinnworksSimulator
from connex_linnworks.simulator.catalogue import PRODUCTS
from connex_quickbooks_desktop.simulator import SimulatedCompany, WebConnectorSimulator

from connex.paths import default_rules_dir
from tests.conftest import run_connex

from .test_own_items import sync_with_a_session, write_config


def test_check_before_a_session_lists_what_it_cannot_check_and_why(tmp_path):
    with LinnworksSimulator(processed_orders=10, open_orders=0, purchase_orders=0) as lw:
        write_config(tmp_path, lw, WebConnectorSimulator(SimulatedCompany.seeded()))
        (tmp_path / "mine.yaml").write_text("kind: rules\nrules:\n  - id: retail\n    type: map_class\n"
                                            "    value: Retail\n")
        config = (tmp_path / "connex.yaml").read_text().replace('"state"', '"rules": ["mine.yaml"], "state"')
        (tmp_path / "connex.yaml").write_text(config)
        result = run_connex("check", "--since", "2020-01-01", cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "QuickBooks Desktop company file" in result.stdout
    assert re.search(r"  UNCHECKED Retail \(not checked: QuickBooks Desktop is reached only when the Web "
                     r"Connector connects.*\)\n            named at .*mine.yaml:3:5: rule retail", result.stdout)
    assert "cannot be checked before a session" in result.stdout
    assert "MISSING" not in result.stdout


def test_check_after_a_session_names_the_sku_quickbooks_lacked(tmp_path, validator):
    company = SimulatedCompany.seeded(service_items=False, validator=validator)
    gone = PRODUCTS[1][0]
    for sku, *_ in PRODUCTS:
        if sku != gone:
            company.add_list_record(sku, "ItemInventory", quantity=Decimal(50))
    with LinnworksSimulator(processed_orders=40, open_orders=0, purchase_orders=0) as lw:
        wc = WebConnectorSimulator(company)
        target = write_config(tmp_path, lw, wc)
        sync_with_a_session(tmp_path, wc, target, clean=False)
        result = run_connex("check", "--since", "2020-01-01", cwd=tmp_path, timeout=300)
    assert result.returncode == 1, result.stdout + result.stderr
    missing = re.findall(r"  MISSING\s+(\S+)", result.stdout)
    assert missing == [gone], result.stdout
    mapping = default_rules_dir() / "mappings" / "sales_order.yaml"
    assert re.search(rf"  MISSING   {re.escape(gone)} .*\n            named at {re.escape(str(mapping))}:\d+:",
                     result.stdout)
    assert re.search(r"  OK        Shipping \(item 'Shipping' \(created by Connex\)\)", result.stdout) or \
        "  OK        Shipping" in result.stdout
