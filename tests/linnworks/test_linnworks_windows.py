"""Property: for any window and page size, the connector reads exactly the orders processed in the window."""

from __future__ import annotations

import pytest
from connex_linnworks.simulator import LinnworksSimulator
from connex_linnworks.simulator.orders_gen import processed_time
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connex.connectors import OrderQuery
from tests.conftest import examples

ORDERS = 90


@pytest.fixture(scope="module")
def shared_sim():
    """Read-only use: one account for every example keeps the property test fast."""
    with LinnworksSimulator(processed_orders=ORDERS, open_orders=0, purchase_orders=0, refunds=False) as sim:
        yield sim


@settings(max_examples=examples(25), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.integers(0, ORDERS - 1),
    st.integers(0, ORDERS - 1),
    st.integers(20, 45),
    st.sampled_from([(), ("PAID",), ("UNPAID", "RESEND")]),
)
def test_window_reads_exactly_its_orders(shared_sim, retry, a, b, page_size, statuses):
    from connex_linnworks.connector import LinnworksSource
    from connex_linnworks.simulator.orders_gen import processed_status

    lo, hi = min(a, b), max(a, b)
    query = OrderQuery(from_date=processed_time(lo), to_date=processed_time(hi), statuses=statuses)
    with LinnworksSource({**shared_sim.connector_config(), "page_size": page_size}, retry=retry) as source:
        numbers = [o["NumOrderId"] for page in source.read_orders(query) for o in page.records]
    names = ("UNPAID", "PAID", "RETURN", "PENDING", "RESEND")
    # whole timestamp groups: orders sharing the boundary times are inside the window too
    expected = [
        100_000 + i
        for i in range(ORDERS)
        if processed_time(lo) <= processed_time(i) <= processed_time(hi)
        and (not statuses or names[processed_status(i)] in statuses)
    ]
    assert numbers == expected
