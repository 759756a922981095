"""The console of a deployment of two connections, on SQLite and on PostgreSQL: an overview of both, every page
and action under /c/NAME scoped to its connection (nothing of one shows or changes under the other), and the
unscoped URLs of a deployment of one sending a deployment of many to the overview."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import time
from urllib.parse import quote

import pytest
from starlette.testclient import TestClient

from connex.console.app import create_app
from connex.console.passwords import hash_password
from connex.console.runner import LocalRunner
from connex.daemon.pause import paused
from connex.deployment import load_deployment
from connex.plugin_manager import get_plugins
from connex.state import history, open_state
from tests.conftest import REPO, run_connex
from tests.console.conftest import PASSWORDS
from tests.sync.many_connections import build_fleet

USERS = {"olive": {"password_hash": hash_password(PASSWORDS["olive"]), "role": "operator"},
         "vera": {"password_hash": hash_password(PASSWORDS["vera"]), "role": "viewer"}}


def two_connections(folder, state: str | None = None, *, listen: str = "127.0.0.1:0", schedule="every 1 hour"):
    """c01 and c02, each its own Linnworks account and QuickBooks company, after one `connex sync`; one order of
    c01 fails (a currency no QuickBooks rate exists for) until ``fixed``."""
    fleet = build_fleet(folder, 2, 6, schedule=schedule)
    broken = fleet.account("c01").add_processed_order(processed_at=dt.datetime(2026, 2, 1, tzinfo=dt.UTC))
    broken["TotalsInfo"]["Currency"] = "XYZ"
    config = json.loads((folder / "connex.yaml").read_text())
    config["console"] = {"listen": listen, "users": USERS}
    if state is not None:
        config["state"] = state
    (folder / "connex.yaml").write_text(json.dumps(config))
    fleet.env.update(PYTHONPATH=str(REPO))
    done = run_connex("sync", cwd=folder, env={**os.environ, **fleet.env}, timeout=300)
    assert done.returncode == 1, done.stdout + done.stderr  # c01's broken order
    fleet.broken = broken
    return fleet


@pytest.fixture(params=["sqlite", "postgresql"])
def many(request, tmp_path, monkeypatch):
    state = None if request.param == "sqlite" else request.getfixturevalue("postgres").new_database()
    fleet = two_connections(tmp_path, state)
    for key, value in fleet.env.items():
        monkeypatch.setenv(key, value)
    plugins = get_plugins()
    configs = load_deployment(tmp_path / "connex.yaml", plugins).select(None)
    runners = {c.name: LocalRunner(c, plugins) for c in configs}
    app = create_app(configs, plugins, runners)
    try:
        with TestClient(app, base_url="http://127.0.0.1") as client:
            client.fleet, client.runners, client.configs = fleet, runners, {c.name: c for c in configs}
            yield client
    finally:
        app.state.console.close()
        fleet.stop()


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def sign_in(client, name: str = "olive") -> str:
    page = client.get("/login").text
    answer = client.post("/login", data={"username": name, "password": PASSWORDS[name], "csrf": csrf_of(page),
                                         "next": "/"}, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    return csrf_of(client.get("/").text)


def store(client, name):
    return open_state(client.configs[name].state_path, connection=name)


def rows(client, name, **where):
    state = store(client, name)
    try:
        return state.rows(**where)
    finally:
        state.close()


def line(page: str, name: str) -> str:
    return re.search(rf'<tr data-connection="{name}">(.*?)</tr>', page, re.S).group(1)


def test_the_overview_lists_every_connection_with_its_counts(many):
    assert many.get("/", follow_redirects=False).status_code == 303  # signed in first
    sign_in(many)
    page = many.get("/").text
    assert "2 connections" in page
    for name in ("c01", "c02"):
        shown = line(page, name)
        posted = len([r for r in rows(many, name) if r.status in ("posted", "exists")])
        failed = len(rows(many, name, status="failed"))
        assert f'data-count="posted">{posted}<' in shown and posted > 0
        assert re.search(rf'data-count="failed">(<a href="/c/{name}/failures">)?{failed}<', shown), shown
        assert f'action="/c/{name}/actions/run"' in shown and 'data-paused="0"' in shown
    assert 'data-count="failed"><a href="/c/c01/failures">1</a>' in line(page, "c01")
    assert 'data-count="failed">0<' in line(page, "c02")


def test_each_connections_pages_show_only_its_own_documents(many):
    sign_in(many)
    broken = rows(many, "c01", status="failed")[0]
    theirs = rows(many, "c02", status="posted")[0]
    own = many.get("/c/c01/").text
    assert "c01" in own and 'href="/c/c01/failures"' in own
    failures = many.get("/c/c01/failures").text
    group = re.search(r'data-group="([^"]+)"', failures).group(1)
    assert f'hx-get="/c/c01/failures/group?group={group}' in failures
    documents = many.get(f"/c/c01/failures/group?group={group}").text
    assert broken.number in documents and f'href="/c/c01/documents/{quote(broken.key, safe="")}"' in documents
    assert many.get("/c/c02/failures").text.count("data-group") == 0
    assert many.get(f"/c/c01/documents/{quote(broken.key, safe='')}").status_code == 200
    assert many.get(f"/c/c02/documents/{quote(broken.key, safe='')}").status_code == 404  # not c02's
    assert theirs.key in many.get(f"/c/c02/search?q={theirs.number}").text
    # both accounts number their orders alike: c01's search finds c01's document of that number, not c02's
    found = many.get(f"/c/c01/search?q={theirs.number}").text
    assert theirs.key not in found or theirs.key in {r.key for r in rows(many, "c01")}
    # a deployment of many has no unscoped pages: they lead to the overview; an unknown connection is a 404
    for path in ("/failures", "/search?q=1", f"/documents/{quote(broken.key, safe='')}"):
        answer = many.get(path, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"] == "/", path
    assert many.get("/c/nobody/failures").status_code == 404
    assert many.get("/c/c01", follow_redirects=False).headers["location"].endswith("/c/c01/")


def test_pause_and_forget_act_on_one_connection_only(many):
    csrf = sign_in(many)
    answer = many.post("/c/c02/actions/pause", data={"csrf": csrf, "paused": "1", "next": "/"},
                       follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/"
    one, two = store(many, "c01"), store(many, "c02")
    try:
        assert paused(two, "c02")["by"] == "olive" and paused(one, "c01") is None
        assert 'data-paused="1"' in line(many.get("/").text, "c02")
        posted = one.rows(status="posted")[0]
        before = len(two.rows())
        many.post("/c/c01/actions/forget", data={"csrf": csrf, "key": posted.key, "next": "/c/c01/"})
        assert one.lookup([posted.key]) == {} and len(two.rows()) == before
        assert history.events(one, posted.key)[-1]["event"] == "forgotten"
        # a key of c01 forgotten through c02's page: c02 has no such document, c01 keeps it
        other = one.rows(status="posted")[0]
        many.post("/c/c02/actions/forget", data={"csrf": csrf, "key": other.key, "next": "/"})
        assert other.key in one.lookup([other.key])
    finally:
        one.close()
        two.close()


def test_a_viewer_cannot_act_on_any_connection(many):
    csrf = sign_in(many, "vera")
    assert "<th>Actions</th>" not in many.get("/").text
    answer = many.post("/c/c01/actions/pause", data={"csrf": csrf, "paused": "1"})
    assert answer.status_code == 403
    state = store(many, "c01")
    try:
        assert paused(state, "c01") is None
    finally:
        state.close()
    assert many.post("/c/c01/actions/run", data={"paused": "1"}).status_code == 403  # no CSRF token


def test_retry_and_run_now_pass_one_connection(many):
    csrf = sign_in(many)
    many.fleet.broken["TotalsInfo"]["Currency"] = "USD"
    runs_of_c02 = len(store(many, "c02").last_runs(50))
    answer = many.post("/c/c01/actions/retry", data={"csrf": csrf, "all": "1", "next": "/"})
    assert answer.status_code == 200 and "retrying 1 document" in answer.text
    many.runners["c01"].wait(120)
    assert rows(many, "c01", status="failed") == []
    assert many.fleet.broken["NumOrderId"] in {int(r["DocNumber"]) for r in
                                               many.fleet.company("c01").entities("SalesReceipt")}
    assert len(store(many, "c02").last_runs(50)) == runs_of_c02  # c02 was not run
    many.post("/c/c02/actions/run", data={"csrf": csrf, "next": "/"})
    many.runners["c02"].wait(120)
    deadline = time.monotonic() + 30
    while len(store(many, "c02").last_runs(50)) == runs_of_c02 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(store(many, "c02").last_runs(50)) > runs_of_c02
