"""`connex state copy`: connections' state moved from the embedded SQLite file to PostgreSQL and back, after a
real sync against the simulators; the next sync posts nothing twice and goes on from the copied cursors."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections import Counter
from pathlib import Path

import pytest

from connex.state import open_state
from connex.state.copy import connection_tables
from connex.state.lock import StateLock
from tests.conftest import REPO, run_connex
from tests.sync.many_connections import build_fleet

ORDERS = 6


def _set_state(folder: Path, state: str) -> None:
    config = json.loads((folder / "connex.yaml").read_text())
    config["state"] = state
    (folder / "connex.yaml").write_text(json.dumps(config, indent=1))


def _dump(target, name: str) -> dict[str, list[dict]]:
    """Every row of connection ``name``, per table, without the ids a database hands out."""
    store = open_state(target, connection=name)
    try:
        out = {}
        with store.database.read() as conn:
            for table in connection_tables():
                rows = [dict(r._mapping) for r in conn.execute(table.select().where(table.c.connection == name))]
                for row in rows:
                    row.pop("id", None)
                    row.pop("run_id", None)
                    row.pop("summary_id", None)
                out[table.name] = sorted(rows, key=lambda r: json.dumps(r, sort_keys=True, default=str))
        return out
    finally:
        store.close()


def _add_orders(fleet, count: int, minutes_ago: int) -> None:
    moment = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=minutes_ago)
    for name in fleet.names:
        for i in range(count):
            fleet.account(name).add_processed_order(processed_at=moment + dt.timedelta(minutes=i))


def _posted_exactly_once(fleet, target) -> None:
    for name in fleet.names:
        numbers = Counter(r["DocNumber"] for r in fleet.company(name).entities("SalesReceipt"))
        assert numbers and max(numbers.values()) == 1, f"{name}: posted twice: {numbers.most_common(3)}"
        store = open_state(target, connection=name)
        try:
            assert set(numbers) == {r.number for r in store.rows(flow="orders", status="posted")}, name
            # every processed order was read and settled (posted, or skipped with a reason)
            assert len(store.rows(flow="orders")) == len(fleet.account(name).account.processed_index), name
        finally:
            store.close()


def _sync(folder, env):
    done = run_connex("sync", cwd=folder, env=env, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return done


def test_connections_move_to_postgresql_and_back_and_sync_on(tmp_path, postgres):
    fleet = build_fleet(tmp_path, 2, ORDERS)
    env = {**os.environ, **fleet.env, "PYTHONPATH": str(REPO)}
    sqlite_file = tmp_path / "state" / "connex.db"
    url = postgres.new_database()
    try:
        _sync(tmp_path, env)
        _posted_exactly_once(fleet, sqlite_file)
        before = {name: _dump(sqlite_file, name) for name in fleet.names}
        assert all(before[n]["ledger"] and before[n]["cursors"] and before[n]["kv"] for n in fleet.names)
        tokens = [r["value"] for n in fleet.names for r in before[n]["kv"]]

        # SQLite -> PostgreSQL: the deployment's state, every connection
        moved = run_connex("state", "copy", "--to", url, cwd=tmp_path, env=env)
        assert moved.returncode == 0, moved.stderr
        assert all(f"  {name}: " in moved.stdout for name in fleet.names)
        assert not any(token in moved.stdout + moved.stderr for token in tokens)  # secrets move, never shown
        for name in fleet.names:
            assert _dump(url, name) == before[name]

        # copying again would overwrite what the destination holds: refused unless --replace
        again = run_connex("state", "copy", "--to", url, cwd=tmp_path, env=env)
        assert again.returncode == 2 and "--replace" in again.stderr and "c01" in again.stderr
        replaced = run_connex("state", "copy", "--to", url, "--replace", "--connection", "c02", cwd=tmp_path,
                              env=env)
        assert replaced.returncode == 0, replaced.stderr
        assert "replaced" in replaced.stdout and "c01" not in replaced.stdout

        # the workers' side: state: is the URL now; new orders post once, old ones not again
        _set_state(tmp_path, url)
        _add_orders(fleet, 3, minutes_ago=60)
        second = _sync(tmp_path, env)
        _posted_exactly_once(fleet, url)
        for name in fleet.names:
            store = open_state(url, connection=name)
            try:
                # resumed from the cursor: this pass read only the three new orders, not the six again
                last = store.last_runs(1)[0]
                assert last["status"] == "ok" and last["counts"].get("posted") == 3, (last, second.stdout)
            finally:
                store.close()

        # PostgreSQL -> SQLite, one connection at a time, into a new file
        back = tmp_path / "back" / "connex.db"
        for name in fleet.names:
            done = run_connex("state", "copy", "--from", url, "--to", str(back), "--connection", name,
                              cwd=tmp_path, env=env)
            assert done.returncode == 0, done.stderr
        for name in fleet.names:
            assert _dump(back, name) == _dump(url, name)
        _set_state(tmp_path, str(back))
        _add_orders(fleet, 2, minutes_ago=30)
        _sync(tmp_path, env)
        _posted_exactly_once(fleet, back)
    finally:
        fleet.stop()


def test_a_running_sync_blocks_the_copy(tmp_path, postgres):
    store = open_state(tmp_path / "a.db", connection="acme")
    store.save_cursor("orders", {"since": "2026-01-01"})
    store.close()
    url = postgres.new_database()
    with StateLock(tmp_path / "a.db", connection="acme").acquire():
        held = run_connex("state", "copy", "--from", str(tmp_path / "a.db"), "--to", url, cwd=tmp_path)
    assert held.returncode == 3 and "another Connex run is syncing connection 'acme'" in held.stderr
    assert open_state(url, connection="acme").get_cursor("orders") is None  # nothing was written
    done = run_connex("state", "copy", "--from", str(tmp_path / "a.db"), "--to", url, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert open_state(url, connection="acme").get_cursor("orders") == {"since": "2026-01-01"}


@pytest.mark.parametrize("argv, message", [
    (["--from", "missing.db", "--to", "x.db"], "no state file there"),
    (["--to", "x.db"], "name the source with --from"),
    (["--from", "a.db", "--to", "a.db"], "the same database"),
    (["--from", "a.db", "--to", "x.db", "--connection", "nobody"], "no state of connection nobody"),
])
def test_bad_requests_are_clear_errors(tmp_path, argv, message):
    store = open_state(tmp_path / "a.db", connection="acme")
    store.put("token", "t")
    store.close()
    done = run_connex("state", "copy", *argv, cwd=tmp_path)
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr, done.stderr
