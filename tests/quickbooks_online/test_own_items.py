"""Connex's own items on QuickBooks Online: a fresh company holding only the product items syncs the demo
account with zero failures; the Shipping and Rounding items are created once, as Service items on the income
account; discounts go to the configured discount account whatever the line's item name."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal

from connex_linnworks.simulator import LinnworksSimulator
from connex_quickbooks_online.connector import QuickBooksOnlineTarget
from connex_quickbooks_online.simulator import QuickBooksOnlineSimulator

from tests.conftest import run_connex

from .qbo_factories import sale
from .qbo_support import FAST_RETRY, DictStore


def write_config(folder, lw, qbo, **target):
    config = {"source": {"plugin": "linnworks", **lw.connector_config()},
              "target": {"plugin": "quickbooks_online", **qbo.connector_config(), **target},
              "sync": {"from_date": "2020-01-01", "purchases": True, "refunds": True}, "state": "connex.db"}
    (folder / "connex.yaml").write_text(json.dumps(config))


def item_creates(qbo) -> list[dict]:
    made = []
    for endpoint, body in qbo.received:
        if endpoint == "batch":
            made += [entry["Item"] for entry in body["BatchItemRequest"] if "Item" in entry]
        elif endpoint == "create:Item":
            made.append(body)
    return made


def test_a_fresh_company_with_only_the_products_syncs_the_demo_account_with_no_failures(tmp_path):
    with LinnworksSimulator() as lw, QuickBooksOnlineSimulator(service_items=False) as qbo:
        assert qbo.entity("Item", Name="Shipping") is None and qbo.entity("Item", Name="Rounding") is None
        write_config(tmp_path, lw, qbo)
        first = run_connex("sync", "--once", "--no-progress", cwd=tmp_path, timeout=300)
        assert first.returncode == 0, first.stdout + first.stderr
        assert "failed" not in first.stdout.replace("0 failed", ""), first.stdout
        shipping = qbo.entity("Item", Name="Shipping")
        assert shipping["Type"] == "Service"
        income = qbo.entity("Account", Name="Sales of Product Income")
        assert shipping["IncomeAccountRef"]["value"] == income["Id"]
        own = [body["Name"] for body in item_creates(qbo)]
        assert own.count("Shipping") == 1 and not any(body.get("Sku") for body in item_creates(qbo))
        # a second run finds the items it made and creates nothing
        before = len(item_creates(qbo))
        second = run_connex("sync", "--once", "--no-progress", cwd=tmp_path, timeout=300)
        assert second.returncode == 0, second.stdout + second.stderr
        assert len(item_creates(qbo)) == before


def test_with_create_own_items_off_a_missing_shipping_item_fails_the_order_naming_it(tmp_path):
    with LinnworksSimulator(processed_orders=6, open_orders=0, purchase_orders=0) as lw, \
            QuickBooksOnlineSimulator(service_items=False) as qbo:
        write_config(tmp_path, lw, qbo, create_own_items=False, shipping_item="Postage")
        result = run_connex("sync", "--once", "--no-progress", "--flow", "orders", cwd=tmp_path, timeout=300)
        assert result.returncode == 1
        output = result.stdout + result.stderr
        # the configured shipping_item, not a name the mapping used to hard-code
        assert "Connex's own item not in QuickBooks (5 documents): Postage (5)" in output
        assert "target.create_own_items: true" in output
        assert item_creates(qbo) == []


def test_discount_uses_the_configured_account_and_rounding_item_is_created_once():
    with QuickBooksOnlineSimulator(service_items=False) as qbo:
        target = QuickBooksOnlineTarget(qbo.connector_config(), state=DictStore(), retry=FAST_RETRY)
        try:
            discounted = sale("D-1", shipping="4.95", discount="2.50")
            # as the shipped mapping writes it: the discount line named after a (Desktop) discount item
            discounted.lines[-1] = replace(discounted.lines[-1], item_name="Discount")
            off_by_a_cent = sale("D-2", total=Decimal("24.01"))
            another = sale("D-3", total=Decimal("23.99"))
            results = target.post_documents([discounted, off_by_a_cent, another])
        finally:
            target.close()
        assert [r.status for r in results] == ["posted"] * 3, [r.error for r in results]
        receipt = qbo.entity("SalesReceipt", DocNumber="D-1")
        discount = next(ln for ln in receipt["Line"] if ln["DetailType"] == "DiscountLineDetail")
        assert discount["DiscountLineDetail"]["DiscountAccountRef"]["value"] == \
            qbo.entity("Account", Name="Discounts given")["Id"]
        rounding = qbo.entity("Item", Name="Rounding")
        assert rounding["Type"] == "Service"
        assert sorted(body["Name"] for body in item_creates(qbo)) == ["Rounding", "Shipping"]  # once each
        assert any(ln.get("SalesItemLineDetail", {}).get("ItemRef", {}).get("value") == rounding["Id"]
                   for ln in qbo.entity("SalesReceipt", DocNumber="D-2")["Line"])
