"""QuickBooks Desktop item matching: ``item_matching: sku`` finds a SKU's item by its Manufacturer's Part Number
(the session reads the item list first, page by page, since ItemQuery cannot filter by it), ``sku_then_name``
falls back to the item whose full name is the SKU, ``name`` is the full name only. Documents post to the item
found, in XSD-valid qbXML."""

from __future__ import annotations

from decimal import Decimal

import pytest
from connex_linnworks.simulator import LinnworksSimulator
from connex_linnworks.simulator.catalogue import PRODUCTS
from connex_quickbooks_desktop import limits
from connex_quickbooks_desktop.simulator import SimulatedCompany, WebConnectorSimulator

from .test_own_items import sync_with_a_session, write_config

BY_NAME_ONLY = PRODUCTS[0][0]  # kept as an item named by the SKU, with no part number


def company_with_titles(validator) -> SimulatedCompany:
    """Items named by their titles (cut to QuickBooks' 31 characters) holding the SKU as part number; one item
    named by its SKU instead, as a seller's older items might be."""
    company = SimulatedCompany.seeded(validator=validator)
    for sku, title, *_ in PRODUCTS:
        if sku == BY_NAME_ONLY:
            company.add_list_record(sku, "ItemInventory", quantity=Decimal(50))
        else:
            name = limits.clip(title, limits.ITEM_NAME)
            company.add_list_record(name, "ItemInventory", quantity=Decimal(50), part_number=sku)
    return company


def posted_items(company) -> set[str]:
    return {line.item for t in company.transactions if t.txn_type in ("SalesReceipt", "Invoice")
            for line in t.lines}


def run(tmp_path, validator, matching: str):
    company = company_with_titles(validator)
    with LinnworksSimulator(processed_orders=30, open_orders=0, purchase_orders=0) as lw:
        wc = WebConnectorSimulator(company)
        target = write_config(tmp_path, lw, wc, item_matching=matching)
        reports = sync_with_a_session(tmp_path, wc, target, clean=False)
    return company, [f for report in reports for f in report.failures]


def test_sku_then_name_finds_items_by_part_number_then_by_name(tmp_path, validator):
    company, failures = run(tmp_path, validator, "sku_then_name")
    assert failures == [], failures[:3]
    items = posted_items(company)
    assert "Blue Mug" not in items and BY_NAME_ONLY in items  # the SKU-named item, found by name
    assert "Earl Grey 250g" in items and "TEA-EARL-250" not in items  # found by part number
    assert not company.records("ItemNonInventory")  # nothing created: every SKU was found
    pages = [xml for xml in company.received if "<ItemQueryRq" in xml and 'iterator="' in xml]
    assert pages and all(not validator.validate(xml) for xml in pages)


def test_sku_alone_fails_the_sku_only_a_name_carries(tmp_path, validator):
    company, failures = run(tmp_path, validator, "sku")
    assert failures, "the SKU kept only as a name must not be found by part number"
    assert all(BY_NAME_ONLY in reason and "Manufacturer's Part Number" in reason
               for _, reason in failures), failures[:2]
    assert "Earl Grey 250g" in posted_items(company)


def test_name_matching_is_unchanged(tmp_path, validator):
    company, failures = run(tmp_path, validator, "name")
    missing = {reason for _, reason in failures}
    assert missing and all("is not in QuickBooks (missing_items: fail)" in e for e in missing)
    assert not [xml for xml in company.received if "<ItemQueryRq" in xml and 'iterator="' in xml]


@pytest.mark.parametrize("matching", ["sku"])
def test_a_sku_created_under_sku_matching_carries_its_part_number(tmp_path, validator, matching):
    company = SimulatedCompany.seeded(validator=validator)
    with LinnworksSimulator(processed_orders=8, open_orders=0, purchase_orders=0) as lw:
        wc = WebConnectorSimulator(company)
        target = write_config(tmp_path, lw, wc, item_matching=matching, missing_items="create_non_inventory",
                              income_account="Sales")
        reports = sync_with_a_session(tmp_path, wc, target, clean=False)
    assert [f for r in reports for f in r.failures] == []
    created = company.records("ItemNonInventory")
    assert created and all(r.fields.get("ManufacturerPartNumber") == r.name for r in created)
