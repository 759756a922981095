"""``connex check`` against the QuickBooks Online simulator: a company missing an account, a class and two SKUs
is reported as exactly those, each with the file and line that names it; a clean company exits 0; the check
creates nothing."""

from __future__ import annotations

import json
import re

from connex_linnworks.simulator import LinnworksSimulator
from connex_quickbooks_online.simulator import QuickBooksOnlineSimulator

from connex.paths import default_rules_dir
from tests.conftest import run_connex

RULES = """kind: rules
rules:
  - id: paypal-deposits
    type: map_deposit_account
    value: PayPal Clearing
  - id: retail-class
    type: map_class
    value: Retail
"""
GONE = ("SOCKS-3PK", "BOOK-CHAI")


def write_config(folder, lw, qbo, rules: bool, **target):
    config = {"source": {"plugin": "linnworks", **lw.connector_config()},
              "target": {"plugin": "quickbooks_online", **qbo.connector_config(), **target},
              "sync": {"from_date": "2020-01-01"}, "state": "connex.db"}
    if rules:
        (folder / "mine.yaml").write_text(RULES)
        config["rules"] = ["mine.yaml"]
    (folder / "connex.yaml").write_text(json.dumps(config))


def missing_entries(output: str) -> dict[str, list[str]]:
    """MISSING name -> the places listed under it."""
    found: dict[str, list[str]] = {}
    current = None
    for line in output.splitlines():
        match = re.match(r"  MISSING\s+(.+?)(?: \(.*\))?$", line)
        if match:
            current = match.group(1)
            found[current] = []
        elif current and line.startswith("            named at "):
            found[current].append(line.removeprefix("            named at "))
        else:
            current = None
    return found


def line_of(path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if line.strip().startswith(text))


def writes(qbo) -> int:
    return len(qbo.received)


def test_check_lists_exactly_the_missing_account_class_and_skus_with_where_each_is_named(tmp_path):
    with LinnworksSimulator(processed_orders=40, open_orders=0, purchase_orders=0) as lw, \
            QuickBooksOnlineSimulator() as qbo:
        for sku in GONE:
            item = qbo.entity("Item", Sku=sku)
            del qbo.company.entities["Item"][item["Id"]]
        write_config(tmp_path, lw, qbo, rules=True)
        result = run_connex("check", "--since", "2020-01-01", cwd=tmp_path, timeout=300)
        output = result.stdout + result.stderr
        assert result.returncode == 1, output
        missing = missing_entries(result.stdout)
        assert set(missing) == {"PayPal Clearing", "Retail", *GONE}, output
        rules = tmp_path / "mine.yaml"
        assert missing["PayPal Clearing"] == [f"{rules}:{line_of(rules, '- id: paypal-deposits')}:5: "
                                              "rule paypal-deposits"]
        assert missing["Retail"] == [f"{rules}:{line_of(rules, '- id: retail-class')}:5: rule retail-class"]
        mapping = default_rules_dir() / "mappings" / "sales_order.yaml"
        sku_line = line_of(mapping, 'sku: "{{ item.SKU }}"')
        for sku in GONE:
            assert len(missing[sku]) == 1 and missing[sku][0].startswith(f"{mapping}:{sku_line}:"), missing[sku]
        assert "home currency: USD" in result.stdout and "multicurrency: on" in result.stdout
        assert "tax model: US sales tax" in result.stdout
        assert writes(qbo) == 0  # read-only: nothing was created


def test_check_of_a_clean_company_exits_0_and_says_what_a_sync_would_create(tmp_path):
    with LinnworksSimulator(processed_orders=20, open_orders=0, purchase_orders=0) as lw, \
            QuickBooksOnlineSimulator(service_items=False) as qbo:
        write_config(tmp_path, lw, qbo, rules=False)
        result = run_connex("check", "--since", "2020-01-01", cwd=tmp_path, timeout=300)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "MISSING" not in result.stdout
        created = r"a sync would create\n(  .*\n)*  items named by the config and rules: Shipping"
        assert re.search(created, result.stdout)
        assert "result: a sync would post everything checked" in result.stdout
        assert writes(qbo) == 0


def test_check_reports_a_class_the_company_has_and_one_create_missing_would_add(tmp_path):
    with LinnworksSimulator(processed_orders=5, open_orders=0, purchase_orders=0) as lw, \
            QuickBooksOnlineSimulator() as qbo:
        qbo.company.store("Account", {"Name": "PayPal Clearing", "AccountType": "Bank", "Active": True,
                                      "CurrencyRef": {"value": "USD"}})
        write_config(tmp_path, lw, qbo, rules=True, create_missing=["classes"])
        result = run_connex("check", "--since", "2020-01-01", "--json", cwd=tmp_path, timeout=300)
        assert result.returncode == 0, result.stdout + result.stderr
        names = {(n["kind"], n["name"]): n for n in json.loads(result.stdout)["names"]}
        assert names[("class", "Retail")]["state"] == "create"
        assert names[("account", "PayPal Clearing")]["state"] == "ok"
        assert names[("account", "PayPal Clearing")]["named_at"][0].endswith("rule paypal-deposits")
