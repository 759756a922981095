"""OAuth: rotated refresh tokens are persisted at once; expiry is handled ahead of time and on 401."""

from __future__ import annotations

import threading
import time

import pytest
from connex_quickbooks_online.connector import QuickBooksOnlineTarget
from connex_quickbooks_online.oauth import state_key

from connex.errors import ConfigError

from .qbo_factories import sale
from .qbo_support import FAST_RETRY


def test_rotated_refresh_token_is_stored_and_preferred(sim, store, make_target):
    initial = sim.tokens.refresh_token
    target = make_target()
    target.post_documents([sale("O-1")])
    key = state_key(sim.company.realm_id)
    assert store.data[key] == sim.tokens.refresh_token != initial
    assert initial in sim.tokens.retired_refresh_tokens
    # a restart with the original config still works: the stored token wins over the config's
    restarted = make_target()
    assert [r.status for r in restarted.post_documents([sale("O-2")])] == ["posted"]
    assert store.data[key] == sim.tokens.refresh_token
    assert sim.stats["invalid_grant"] == 0


def test_losing_the_rotated_token_is_a_config_error(sim):
    config = sim.connector_config()
    first = QuickBooksOnlineTarget(config, state=None, retry=FAST_RETRY)
    first.post_documents([sale("O-3")])
    second = QuickBooksOnlineTarget(config, state=None, retry=FAST_RETRY)  # old token, nothing stored
    with pytest.raises(ConfigError, match="invalid_grant"):
        second.post_documents([sale("O-4")])
    first.close()
    second.close()


def test_refresh_ahead_of_expiry_avoids_401(sim, store):
    target = QuickBooksOnlineTarget(
        sim.connector_config(), state=store, retry=FAST_RETRY, clock=sim.clock.now
    )
    target.post_documents([sale("P-1")])
    sim.clock.advance(3500)  # 100 s before expiry: inside the connector's safety margin
    target.post_documents([sale("P-2")])
    assert sim.stats["unauthorized"] == 0 and sim.stats["oauth:token"] == 2
    target.close()


def test_401_refreshes_once_then_retries(sim, make_target):
    target = make_target(clock=time.monotonic)  # a clock that does not see the simulator's jump
    target.post_documents([sale("Q-1")])
    sim.clock.advance(4000)  # the connector cannot know: it learns from the 401
    assert [r.status for r in target.post_documents([sale("Q-2")])] == ["posted"]
    assert sim.stats["unauthorized"] == 1 and sim.stats["oauth:token"] == 2


def test_a_second_401_after_refreshing_is_a_config_error(sim, target):
    sim.inject("query", "expire", times=2)  # the fresh token is refused as well: access was revoked
    with pytest.raises(ConfigError, match="3200"):
        target.find_or_create_item("MUG-BLU-01")
    assert sim.stats["oauth:token"] == 2 and sim.stats["unauthorized"] == 2


def test_concurrent_callers_share_one_refresh(sim, store):
    target = QuickBooksOnlineTarget(sim.connector_config(), state=store, retry=FAST_RETRY)
    tokens, errors = [], []

    def grab():
        try:
            tokens.append(target.tokens.access_token())
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=grab) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and len(set(tokens)) == 1
    assert sim.stats["oauth:token"] == 1
    assert len([key for key, _ in store.writes if "refresh_token" in key]) == 1
    target.close()


def test_a_restarted_connector_reuses_the_saved_access_token(sim, store):
    first = QuickBooksOnlineTarget(sim.connector_config(), state=store, retry=FAST_RETRY)
    token = first.tokens.access_token()
    first.close()
    second = QuickBooksOnlineTarget(sim.connector_config(), state=store, retry=FAST_RETRY)
    assert second.tokens.access_token() == token
    assert sim.stats["oauth:token"] == 1  # no refresh, so no rotation to lose if this process is killed
    second.tokens.invalidate(token)  # the API refused it: neither this process nor the next may reuse it
    third = QuickBooksOnlineTarget(sim.connector_config(), state=store, retry=FAST_RETRY)
    assert third.tokens.access_token() != token and sim.stats["oauth:token"] == 2
    second.close()
    third.close()


def test_wrong_client_secret_is_a_config_error(sim):
    target = QuickBooksOnlineTarget({**sim.connector_config(), "client_secret": "nope"}, retry=FAST_RETRY)
    with pytest.raises(ConfigError, match="invalid_client"):
        target.find_or_create_item("MUG-BLU-01")
    target.close()
