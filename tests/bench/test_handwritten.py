"""The benchmark's hand-written mapping produces exactly the documents the declarative one does."""

import sys
from pathlib import Path

import pytest

from connex.paths import default_rules_dir
from connex.rules.engine import EngineSettings, RulesEngine
from connex.rules.loader import load_rules

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

from handwritten import map_order  # noqa: E402
from workload import realistic_orders  # noqa: E402


@pytest.fixture(scope="module")
def orders():
    return realistic_orders(1500)


def test_same_documents_as_the_rules_engine(orders):
    engine = RulesEngine(load_rules([default_rules_dir()]), EngineSettings(customer_matching="store_name_currency"))
    compared = skipped = 0
    for order in orders:
        result = engine.map("orders", order)
        assert result.error is None, result.error
        expected = result.documents[0] if result.documents else None
        assert map_order(order) == expected, order["NumOrderId"]
        compared += expected is not None
        skipped += expected is None
    assert compared > 1400 and skipped > 0  # cancelled orders are skipped by both
