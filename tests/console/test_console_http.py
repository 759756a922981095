"""The console over HTTP with Starlette's test client (no browser): sign-in, roles, CSRF, what each page shows,
and the actions' effects on the ledger."""

from __future__ import annotations

import json
import re

import pytest
from starlette.testclient import TestClient

from connex.commands.status import status_data
from connex.config import load_config
from connex.console.app import create_app
from connex.console.passwords import hash_password, verify_password
from connex.console.runner import LocalRunner
from connex.daemon.pause import paused
from connex.plugin_manager import get_plugins
from connex.state import history, open_state
from tests.console.conftest import PASSWORDS

BROKEN_KEY = "sales_receipt:"


@pytest.fixture
def console(synced):
    plugins = get_plugins()
    config = load_config(synced.config_path, plugins)
    runner = LocalRunner(config, plugins)
    app = create_app(config, plugins, runner)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        client.workspace, client.runner, client.config = synced, runner, config
        yield client
    app.state.console.close()


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def sign_in(client, name: str) -> str:
    page = client.get("/login").text
    answer = client.post("/login", data={"username": name, "password": PASSWORDS[name], "csrf": csrf_of(page),
                                         "next": "/"}, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    return csrf_of(client.get("/").text)


def broken_key(client) -> str:
    state = open_state(client.config.state_path)
    try:
        return next(r.key for r in state.rows(status="failed"))
    finally:
        state.close()


def test_every_page_needs_a_signed_in_user(console):
    for path in ("/", "/failures", "/search?q=300000", f"/documents/{broken_key(console)}", "/failures/group?group=x"):
        answer = console.get(path, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login?next="), path
    assert console.get("/", headers={"HX-Request": "true"}, follow_redirects=False).status_code == 401
    assert "300000" not in console.get("/login").text


def test_a_wrong_password_is_refused_and_repeated_failures_are_limited(console):
    page = console.get("/login").text
    for attempt in range(5):
        answer = console.post("/login", data={"username": "olive", "password": f"wrong-{attempt}",
                                              "csrf": csrf_of(page)})
        assert answer.status_code == 401 and "wrong name or password" in answer.text
    limited = console.post("/login", data={"username": "olive", "password": PASSWORDS["olive"],
                                           "csrf": csrf_of(page)})
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0
    assert console.get("/", follow_redirects=False).status_code == 303  # still not signed in


def test_sign_in_needs_the_login_forms_csrf_token(console):
    console.get("/login")
    answer = console.post("/login", data={"username": "olive", "password": PASSWORDS["olive"]})
    assert answer.status_code == 403


def test_the_overview_counts_match_connex_status(console):
    sign_in(console, "vera")
    page = console.get("/").text
    state = open_state(console.config.state_path)
    counts = status_data(state)["counts"]
    state.close()
    for flow, by_status in counts.items():
        row = re.search(rf'<tr data-flow="{flow}">(.*?)</tr>', page, re.S).group(1)
        shown = dict(re.findall(r'data-count="(\w+)">(?:<a [^>]*>)?(\d+)', row))
        assert int(shown["posted"]) == by_status.get("posted", 0) + by_status.get("exists", 0)
        assert int(shown["failed"]) == by_status.get("failed", 0)
        assert int(shown["skipped"]) == by_status.get("skipped", 0)
    assert "<svg" in page and "Documents per day, last 30 days" in page


def test_a_viewer_sees_but_cannot_act(console):
    csrf = sign_in(console, "vera")
    page = console.get("/").text
    assert "Pause the schedule" not in page and "Retry" not in page
    answer = console.post("/actions/pause", data={"csrf": csrf, "paused": "1"})
    assert answer.status_code == 403 and "viewer" in answer.text
    answer = console.post("/actions/forget", data={"csrf": csrf, "key": broken_key(console)})
    assert answer.status_code == 403
    state = open_state(console.config.state_path)
    assert paused(state, "default") is None and state.rows(status="failed")
    state.close()


def test_an_action_without_the_csrf_token_is_refused(console):
    csrf = sign_in(console, "olive")
    assert console.post("/actions/pause", data={"paused": "1"}).status_code == 403
    assert console.post("/actions/pause", data={"paused": "1", "csrf": "x" + csrf}).status_code == 403
    state = open_state(console.config.state_path)
    assert paused(state, "default") is None
    state.close()


def test_pause_and_resume_are_kept_in_the_state_and_recorded_with_who(console):
    csrf = sign_in(console, "olive")
    answer = console.post("/actions/pause", data={"paused": "1", "csrf": csrf, "next": "/"})
    assert answer.status_code == 200 and "the schedule is paused" in answer.text
    state = open_state(console.config.state_path)
    assert paused(state, "default")["by"] == "olive"
    console.post("/actions/pause", headers={"X-CSRF-Token": csrf}, data={"paused": "0"})
    assert paused(state, "default") is None
    events = history.events(state, "connection:default")
    assert [(e["event"], e["by"]) for e in events] == [("schedule paused", "olive"), ("schedule resumed", "olive")]
    state.close()


def test_failures_are_grouped_with_the_document_and_its_story(console):
    sign_in(console, "vera")
    page = console.get("/failures").text
    group = re.search(r'data-group="(\w+)"', page).group(1)
    assert "1 document" in page
    partial = console.get(f"/failures/group?group={group}").text
    key = broken_key(console)
    assert f'data-key="{key}"' in partial and "XYZ" in partial
    assert console.get("/failures?flow=purchases").text.count("data-group=") == 0
    assert console.get("/failures?since=2999-01-01").text.count("data-group=") == 0
    document = console.get(f"/documents/{key}").text
    assert "ExchangeRate" in document and "data-explained" in document  # the stored record, explained


def test_a_posted_document_shows_what_was_posted_and_links_to_quickbooks(console):
    sign_in(console, "vera")
    receipt = console.workspace.qbo.entities("SalesReceipt")[0]
    results = console.get(f"/search?q={receipt['DocNumber']}").text
    key = re.search(r'data-key="([^"]+)"', results).group(1)
    page = console.get(f"/documents/{key}").text
    assert f"txnId={receipt['Id']}" in page and "app.qbo.intuit.com" in page
    assert str(receipt["TotalAmt"]).rstrip("0").rstrip(".") in page
    assert "<table class=\"lines\">" in page


def test_search_by_customer_sku_and_po(console):
    sign_in(console, "vera")
    receipt = console.workspace.qbo.entities("SalesReceipt")[0]
    customer = console.workspace.qbo.entity("Customer", Id=receipt["CustomerRef"]["value"])["DisplayName"]
    assert "data-key=" in console.get("/search", params={"q": customer[:6]}).text
    assert "data-key=" in console.get("/search", params={"q": "MUG-BLU-01"}).text
    po = console.workspace.qbo.entities("PurchaseOrder")[0]["DocNumber"]
    assert "purchase order" in console.get("/search", params={"q": po}).text
    assert "Nothing in the ledger matches" in console.get("/search", params={"q": "no-such-thing-%_"}).text


def test_retry_after_fixing_the_cause_posts_the_order_and_records_who(console):
    csrf = sign_in(console, "olive")
    key = broken_key(console)
    console.workspace.fix_broken_order()
    answer = console.post("/actions/retry", data={"csrf": csrf, "key": key, "next": f"/documents/{key}"})
    assert "retrying 1 document" in answer.text
    console.runner.wait(60)
    page = console.get(f"/documents/{key}").text
    assert 'data-status>posted<' in page, page
    assert "retry requested" in page and "olive" in page


def test_forget_removes_the_row_and_keeps_the_story(console):
    csrf = sign_in(console, "olive")
    key = broken_key(console)
    console.post("/actions/forget", data={"csrf": csrf, "key": key})
    page = console.get(f"/documents/{key}").text
    assert "forgotten" in page and "olive" in page
    state = open_state(console.config.state_path)
    assert key not in state.lookup([key])
    state.close()


def test_no_secret_is_rendered(console):
    secret = console.workspace.config["target"]["client_secret"]
    state = open_state(console.config.state_path)
    key = broken_key(console)
    row = state.lookup([key])[key]
    row_error = f"the server echoed {secret} back"
    from connex.state.store import LedgerEntry

    state.record([LedgerEntry(key, row.flow, row.kind, row.source_id, row.number, status="failed",
                              error=row_error)], None)
    state.close()
    sign_in(console, "olive")
    pages = [console.get(p).text for p in ("/", "/failures", f"/documents/{key}")]
    group = re.search(r'data-group="(\w+)"', pages[1]).group(1)
    pages.append(console.get(f"/failures/group?group={group}").text)
    for page in pages:
        assert secret not in page
        for user in console.workspace.config["console"]["users"].values():
            assert user["password_hash"] not in page
    assert "the server echoed *** back" in pages[2]


def test_security_headers_and_no_open_redirect(console):
    answer = console.get("/login")
    assert "default-src 'self'" in answer.headers["content-security-policy"]
    assert answer.headers["x-frame-options"] == "DENY"
    page = console.get("/login?next=//evil.example/").text
    assert 'name="next" value="/"' in page
    cookie = console.post("/login", data={"username": "olive", "password": PASSWORDS["olive"],
                                          "csrf": csrf_of(page)}, follow_redirects=False).headers["set-cookie"]
    assert "httponly" in cookie.lower() and "samesite=strict" in cookie.lower()


def test_passwd_makes_a_hash_that_verifies(synced):
    done = synced.cli("console", "passwd", "--password-stdin", timeout=60)
    assert done.returncode == 2  # no input: too short
    from tests.conftest import REPO, run_connex

    made = run_connex("console", "passwd", "--password-stdin", input="correct horse\n", env={"PYTHONPATH": str(REPO)})
    assert made.returncode == 0, made.stderr
    stored = made.stdout.strip()
    assert stored.startswith("scrypt$") and verify_password("correct horse", stored)
    assert not verify_password("correct horsf", stored) and not verify_password("x", "garbage")
    assert hash_password("a") != hash_password("a")  # salted


def test_the_console_is_off_unless_configured(synced):
    config = json.loads(synced.config_path.read_text())
    del config["console"]
    synced.config_path.write_text(json.dumps(config))
    done = synced.cli("console", timeout=60)
    assert done.returncode == 2 and "the console is off" in done.stderr



def test_the_remembered_grouping_follows_every_change_to_the_failed_rows(synced):
    from connex.console.queries import Ledger
    from connex.state.store import LedgerEntry

    config = load_config(synced.config_path, get_plugins())
    state = open_state(config.state_path)
    ledger = Ledger(state)
    try:
        before = ledger.failure_reasons()
        assert sum(n for _, _, n in before) == 1
        assert ledger.failure_reasons() is before  # nothing changed: remembered
        state.record([LedgerEntry("sales_receipt:new", "orders", "sales_receipt", "new", "999", status="failed",
                                  error="sales_receipt 999 field currency: 'QQQ' is not a currency")], None)
        after = ledger.failure_reasons()
        assert ("field currency: 'QQQ' is not a currency", "orders", 1) in after and len(after) == 2
        key = broken_key_of(state)
        row = state.lookup([key])[key]
        state.record([LedgerEntry(key, row.flow, row.kind, row.source_id, row.number, status="failed",
                                  error="a different reason")], None)
        assert ("a different reason", "orders", 1) in ledger.failure_reasons()
        assert [d.key for d in ledger.failures_for(["a different reason"])] == [key]
    finally:
        ledger.close()
        state.close()


def broken_key_of(state) -> str:
    return next(r.key for r in state.rows(status="failed") if r.key != "sales_receipt:new")


def test_a_posted_documents_rules_come_from_the_live_record_on_request(console):
    sign_in(console, "vera")
    receipt = console.workspace.qbo.entities("SalesReceipt")[0]
    key = re.search(r'data-key="([^"]+)"', console.get(f"/search?q={receipt['DocNumber']}").text).group(1)
    page = console.get(f"/documents/{key}").text
    assert "data-explained" not in page and "data-explain" in page  # not read until asked
    live = console.get(f"/documents/{key}/explain", headers={"HX-Request": "true"}).text
    assert "data-explained" in live and "read from the source just now" in live and "fired" in live
