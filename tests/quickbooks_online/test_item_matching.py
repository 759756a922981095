"""Item matching on QuickBooks Online: by Sku, by Name, or Sku then Name (the default), and the SKU map CSV."""

from __future__ import annotations

from decimal import Decimal

import pytest

from connex.documents import Line
from connex.errors import ConfigErrors

from .qbo_factories import sale


def item_line(sku: str) -> Line:
    return Line(kind="item", sku=sku, description=sku, quantity=Decimal(1), unit_price=Decimal(5),
                amount=Decimal(5))


@pytest.fixture
def named_item(sim):
    """An item that keeps the SKU in its name and has no Sku, as many companies keep them."""
    income = sim.entity("Account", Name="Sales of Product Income")
    return sim.company.store("Item", {"Name": "LW-TEA-9", "FullyQualifiedName": "LW-TEA-9", "Type": "NonInventory",
                                      "Active": True, "IncomeAccountRef": {"value": income["Id"]}})


def item_ids(sim, number):
    receipt = sim.entity("SalesReceipt", DocNumber=number)
    return [ln["SalesItemLineDetail"]["ItemRef"]["value"] for ln in receipt["Line"]
            if ln["DetailType"] == "SalesItemLineDetail"]


def test_sku_then_name_finds_both_kinds_of_item(sim, make_target, named_item):
    target = make_target()
    results = target.post_documents([sale("M-1", lines=[item_line("MUG-BLU-01"), item_line("lw-tea-9")])])
    assert [r.status for r in results] == ["posted"], results[0].error
    assert item_ids(sim, "M-1") == [sim.entity("Item", Sku="MUG-BLU-01")["Id"], named_item["Id"]]


@pytest.mark.parametrize("mode, found, missing", [("sku", "MUG-BLU-01", "LW-TEA-9"),
                                                   ("name", "LW-TEA-9", "MUG-BLU-01")])
def test_one_way_only(sim, make_target, named_item, mode, found, missing):
    target = make_target(item_matching=mode)
    ok, bad = target.post_documents([sale("F-1", lines=[item_line(found)]), sale("F-2", lines=[item_line(missing)])])
    assert ok.status == "posted", ok.error
    how = "by Sku" if mode == "sku" else "by Name"
    assert bad.status == "failed" and f"item {missing} not in QuickBooks (looked up {how}" in bad.error


def test_the_sku_map_sends_a_sku_to_another_item_and_never_creates_a_mapped_one(sim, make_target, tmp_path):
    mapping = tmp_path / "skus.csv"
    mapping.write_text("sku,item\nAMZ-MUG-BLUE,Blue Mug\nAMZ-GONE,Retired Thing\n", encoding="utf-8")
    target = make_target(sku_map=str(mapping), missing_items="create_non_inventory")
    mapped, gone, new = target.post_documents([
        sale("S-1", lines=[item_line("amz-mug-blue")]),
        sale("S-2", lines=[item_line("AMZ-GONE")]),
        sale("S-3", lines=[item_line("BRAND-NEW-1")]),
    ])
    assert mapped.status == "posted", mapped.error
    assert item_ids(sim, "S-1") == [sim.entity("Item", Name="Blue Mug")["Id"]]
    assert gone.status == "failed" and "the SKU map names item 'Retired Thing', which is not in QuickBooks" in \
        gone.error
    assert new.status == "posted" and sim.entity("Item", Sku="BRAND-NEW-1") is not None  # the policy still applies
    assert sim.entity("Item", Name="Retired Thing") is None


def test_a_bad_sku_map_is_a_config_error_with_lines(make_target, tmp_path):
    mapping = tmp_path / "skus.csv"
    mapping.write_text("sku,item\nA,B\na,C\n", encoding="utf-8")
    with pytest.raises(ConfigErrors, match=r"skus.csv:3: sku: 'a' is already mapped on line 2"):
        make_target(sku_map=str(mapping))


def test_name_lookups_cost_one_query_for_all_the_unmatched_skus(sim, make_target, named_item):
    target = make_target()
    reads = sim.stats["reads"]
    docs = [sale(f"Q-{i}", lines=[item_line("MUG-BLU-01"), item_line("LW-TEA-9")]) for i in range(10)]
    assert {r.status for r in target.post_documents(docs)} == {"posted"}
    # preferences, company info, tax codes, tax rates, customers, items by Sku, items by Name, own items by Name,
    # accounts: not one per line
    assert sim.stats["reads"] - reads == 9
