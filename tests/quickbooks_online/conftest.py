"""Fixtures for the QuickBooks Online connector tests: a simulator over real HTTP per test, a connector wired
to it with tiny retry delays, and a conformance check of every body the simulator received."""

from __future__ import annotations

import time

import pytest
from connex_quickbooks_online.connector import QuickBooksOnlineTarget
from connex_quickbooks_online.simulator import QuickBooksOnlineSimulator

from connex.simulation.server import SimClock

from .qbo_support import FAST_RETRY, DictStore, body_violations

#: Simulated seconds per real second: Intuit's per-minute limits pass in a second, so tests posting more than
#: 40 batches are throttled for real (by the connector, on the same clock) without waiting a real minute.
CLOCK_SCALE = 60.0


@pytest.fixture
def sim():
    simulator = QuickBooksOnlineSimulator(clock=SimClock(scale=CLOCK_SCALE))
    with simulator:
        yield simulator
    # Conformance: every payload sent in every test must stay inside Intuit's schemas.
    assert body_violations(simulator) == []


@pytest.fixture
def store():
    return DictStore()


@pytest.fixture
def make_target(sim, store):
    made = []

    def make(clock=None, **options) -> QuickBooksOnlineTarget:
        """A connector on the simulator's clock (or ``clock``), with ``options`` added to its config."""
        target = QuickBooksOnlineTarget(
            {**sim.connector_config(), **options},
            state=store,
            retry=FAST_RETRY,
            clock=clock or sim.clock.now,
            sleep=lambda seconds: time.sleep(seconds / sim.clock.scale),
        )
        made.append(target)
        return target

    yield make
    for target in made:
        target.close()


@pytest.fixture
def target(make_target):
    return make_target()
