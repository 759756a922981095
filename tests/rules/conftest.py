import textwrap
from decimal import Decimal
from pathlib import Path

import pytest

from connex.paths import default_rules_dir
from connex.rules.engine import EngineSettings, RulesEngine
from connex.rules.fixtures import find_fixtures, record_from_yaml
from connex.rules.loader import load_rules
from connex.yamlfile import load_yaml, to_plain

RULES = default_rules_dir()


def write_yaml(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def sample_order(**overrides) -> dict:
    """The reference's sample open order (linnworks-api.md 15.1), as the connector delivers it."""
    order = {
        "OrderId": "3f1c2b8e-5a1d-4c7e-9b1a-0d2e4f6a8b10", "NumOrderId": 104512, "ProcessedDateTime": None,
        "GeneralInfo": {"Status": "PAID", "ReferenceNum": "#1042", "ReceivedDate": "2025-03-14T09:21:37Z",
                        "Source": "SHOPIFY", "SubSource": "My Shopify Store", "HoldOrCancel": False},
        "ShippingInfo": {"PostalServiceName": "Tracked 48"},
        "CustomerInfo": {"Address": {"FullName": "Jane Smith", "Country": "United Kingdom"},
                         "BillingAddress": {"FullName": "Jane Smith", "EmailAddress": "jane@example.com",
                                            "Company": "", "Country": "United Kingdom"}},
        "TotalsInfo": {"PostageCost": Decimal("4.80"), "PostageCostExTax": Decimal("4.00"), "Tax": Decimal("7.80"),
                       "TotalCharge": Decimal("46.80"), "TotalDiscount": Decimal(0), "Currency": "GBP"},
        "Items": [
            {"SKU": "MUG-BLU-01", "Title": "Blue Mug", "Quantity": 2, "Cost": Decimal("20.00"), "Tax": Decimal("4.00")},
            {"SKU": "TEA-EARL-250", "Title": "Earl Grey", "Quantity": 1, "Cost": Decimal("15.00"),
             "Tax": Decimal("3.00")},
        ],
    }
    order.update(overrides)
    return order


def fixture_records() -> dict[str, list[dict]]:
    """The input records of the shipped rule fixtures (rules/tests), per flow."""
    found: dict[str, list[dict]] = {}
    for path in find_fixtures([RULES / "tests"]):
        data = to_plain(load_yaml(path).data)
        found.setdefault(data["flow"], []).append(record_from_yaml(data["input"]))
    return found


@pytest.fixture(scope="session")
def default_rules():
    return load_rules([RULES])


def engine(rules, **settings) -> RulesEngine:
    return RulesEngine(rules, EngineSettings(**settings))
