"""Issue 12 item 6: refused QuickBooks Online credentials stop the run (nothing marked failed, the cursor stays,
exit 3 naming the fix), the run after the fix posts everything, and a new refresh_token put in the config after
a reconnect is used instead of the stored rotated one. Real CLI runs against the Linnworks and QBO simulators."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from connex_linnworks.simulator import LinnworksSimulator
from connex_quickbooks_online.oauth import TokenManager, state_key
from connex_quickbooks_online.simulator import QuickBooksOnlineSimulator

from connex.errors import ConfigError
from connex.state import open_state
from connex.transport import HttpClient
from tests.conftest import REPO, run_connex

from .qbo_support import DictStore


@pytest.fixture
def sims():
    with LinnworksSimulator(processed_orders=8, open_orders=0, purchase_orders=0) as lw, \
            QuickBooksOnlineSimulator() as qbo:
        yield lw, qbo


def write_config(folder, lw, qbo, **target):
    config = {"source": {"plugin": "linnworks", **lw.connector_config()},
              "target": {"plugin": "quickbooks_online", "missing_items": "create_non_inventory",
                         **qbo.connector_config(), **target},
              "sync": {"from_date": "2020-01-01"}, "state": "connex.db"}
    (folder / "connex.yaml").write_text(json.dumps(config))


def sync(folder):
    return run_connex("sync", "--no-progress", "--wait", "0", cwd=folder, env={"PYTHONPATH": str(REPO)})


@pytest.mark.parametrize("refused", ["refresh_token", "client_secret"])
def test_refused_credentials_stop_the_run_and_the_fixed_run_posts_everything(tmp_path, sims, refused):
    lw, qbo = sims
    write_config(tmp_path, lw, qbo, **{refused: "pasted-wrong"})
    result = sync(tmp_path)
    assert result.returncode == 3, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    fix = "put the new refresh_token" if refused == "refresh_token" else "client_id and client_secret"
    assert fix in result.stdout, result.stdout
    assert "FAILED" not in result.stdout
    assert qbo.entities("SalesReceipt") == []
    state = open_state(tmp_path / "connex.db")
    try:
        assert state.rows(status="failed") == []  # no document is blamed for a credential
        assert state.get_cursor("orders") is None  # nothing was read past
        assert state.last_runs(1)[0]["status"] == "incomplete"
    finally:
        state.close()

    write_config(tmp_path, lw, qbo)  # the user fixes the credential
    fixed = sync(tmp_path)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    receipts = qbo.entities("SalesReceipt")
    assert len(receipts) >= 6  # every order of the account (cancelled ones are skipped by the default rules)
    assert len({r["DocNumber"] for r in receipts}) == len(receipts)  # each once


def test_a_new_configured_refresh_token_wins_over_the_stored_rotated_one(tmp_path, sims):
    lw, qbo = sims
    write_config(tmp_path, lw, qbo)
    assert sync(tmp_path).returncode == 0
    state = open_state(tmp_path / "connex.db")
    rotated = state.get(state_key(qbo.company.realm_id))
    state.close()
    assert rotated and rotated == qbo.tokens.refresh_token  # Intuit rotated it; the state kept the newest

    # the user reconnects the app: Intuit revokes the old grant and issues a new refresh token
    qbo.tokens.refresh_token = "reconnected-refresh-token"
    qbo.tokens.expire_all()
    added = lw.account.add_processed_order(processed_at=dt.datetime(2026, 3, 1, tzinfo=dt.UTC))
    stale = sync(tmp_path)  # the config still holds the first token: the stored one is tried, and refused
    assert stale.returncode == 3 and "refresh token refused" in stale.stdout

    write_config(tmp_path, lw, qbo, refresh_token="reconnected-refresh-token")
    result = sync(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert any(r["DocNumber"] == str(added["NumOrderId"]) for r in qbo.entities("SalesReceipt"))
    # and the token Intuit rotated from the new one is what the state holds now
    state = open_state(tmp_path / "connex.db")
    try:
        assert state.get(state_key(qbo.company.realm_id)) == qbo.tokens.refresh_token
    finally:
        state.close()


def manager(qbo, store, refresh_token):
    return TokenManager(http=HttpClient(timeout=10), token_url=qbo.connector_config()["token_url"],
                        client_id=qbo.connector_config()["client_id"],
                        client_secret=qbo.connector_config()["client_secret"], refresh_token=refresh_token,
                        realm_id=qbo.company.realm_id, state=store)


def test_an_unchanged_configured_token_keeps_the_stored_rotation(sims):
    _, qbo = sims
    store = DictStore()
    pasted = qbo.tokens.refresh_token
    manager(qbo, store, pasted).access_token()  # rotates: the pasted token is now retired
    again = manager(qbo, store, pasted)  # the same config, a later process
    again._access_token = None
    again.access_token()  # uses the stored rotated token, not the retired pasted one
    assert qbo.stats["invalid_grant"] == 0


def test_state_from_before_fingerprints_keeps_its_stored_token(sims):
    _, qbo = sims
    store = DictStore()
    pasted = qbo.tokens.refresh_token
    manager(qbo, store, pasted).access_token()
    store.data = {k: v for k, v in store.data.items() if "configured_token" not in k}  # an older version's state
    later = manager(qbo, store, pasted)
    later._access_token = None
    later.access_token()
    assert qbo.stats["invalid_grant"] == 0


def test_a_refused_token_is_a_config_error_naming_the_fix(sims):
    _, qbo = sims
    with pytest.raises(ConfigError, match="reconnect the QuickBooks Online app"):
        manager(qbo, DictStore(), "not-the-token").access_token()
