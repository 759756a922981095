"""`state: postgresql://...`: the whole CLI on a real PostgreSQL server, one run per connection through the
advisory lock, migrations that several processes may start at once, and a password that is never printed."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from connex.errors import ConfigError, ConnexError
from connex.state import open_state
from connex.state.database import head_revision
from connex.state.lock import StateBusy
from connex.state.target import DatabaseURL, state_target
from tests.conftest import REPO

PASSWORD = "pg-s3cret-Value"


def use_state(workspace, state: str) -> None:
    config = json.loads((workspace.folder / "connex.yaml").read_text())
    config["state"] = state
    (workspace.folder / "connex.yaml").write_text(json.dumps(config))


def test_a_url_names_postgresql_and_hides_its_password():
    target = state_target(f"postgresql://connex:{PASSWORD}@db.internal:5433/connex?sslmode=require")
    assert isinstance(target, DatabaseURL) and target.url.drivername == "postgresql+psycopg"
    assert target.url.password == PASSWORD and PASSWORD not in str(target) and PASSWORD not in repr(target)
    assert str(state_target("postgres://u@h/db")) == "postgresql://u@h/db"
    assert state_target("connex.db").name == "connex.db"  # a file stays a file


def test_the_cli_syncs_on_postgresql_and_status_reads_it(workspace, postgres):
    workspace.write_config(purchases=False, refunds=False)
    use_state(workspace, postgres.new_database().replace("postgres@", f"postgres:{PASSWORD}@"))
    first = workspace.cli("sync", "--no-progress")
    assert first.returncode == 0, first.stdout + first.stderr
    posted = len(workspace.documents())
    assert posted > 0 and not (workspace.folder / "connex.db").exists()
    again = workspace.cli("sync", "--no-progress")
    assert again.returncode == 0 and len(workspace.documents()) == posted  # exactly once: nothing posted twice
    status = workspace.cli("status")
    assert status.returncode == 0, status.stdout + status.stderr
    assert f"orders: {posted} posted" in status.stdout and "state: postgresql://postgres:***@" in status.stdout
    for result in (first, again, status):
        assert PASSWORD not in result.stdout + result.stderr


def test_a_second_sync_of_a_connection_waits_for_the_advisory_lock(workspace, postgres):
    workspace.write_config(purchases=False, refunds=False)
    url = postgres.new_database()
    use_state(workspace, url)
    holder = open_state(url)
    lock = holder.run_lock().acquire()
    try:
        result = workspace.cli("sync", "--no-progress", "--wait", "0")
        assert result.returncode == 3, result.stdout + result.stderr
        assert "another Connex run" in result.stderr and f"pid {os.getpid()}" in result.stderr
        assert "Traceback" not in result.stderr and workspace.documents() == []
    finally:
        lock.release()
    assert holder.run_holder() is None
    result = workspace.cli("sync", "--no-progress", "--wait", "0")
    assert result.returncode == 0 and workspace.documents()
    holder.close()


def test_a_killed_holder_releases_the_lock(postgres):
    url = postgres.new_database()
    script = ("import sys, time; from connex.state import open_state; "
              "open_state(sys.argv[1], connection='acme').run_lock().acquire(); print('held', flush=True); "
              "time.sleep(60)")
    process = subprocess.Popen([sys.executable, "-c", script, url], stdout=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        assert process.stdout.readline().strip() == "held"
        store = open_state(url, connection="acme")
        assert store.run_holder()["pid"] == process.pid
        with pytest.raises(StateBusy):
            store.run_lock().acquire(wait=0.2)
        process.kill()
        process.wait(timeout=10)
        with store.run_lock().acquire(wait=10):  # the server ended the dead session, and its lock with it
            pass
        store.close()
    finally:
        process.kill()
        process.wait()


def test_processes_opening_a_new_database_at_once_migrate_it_once(postgres):
    url = postgres.new_database()
    script = "import sys; from connex.state import open_state; s = open_state(sys.argv[1]); s.put('k', 'v')"
    processes = [subprocess.Popen([sys.executable, "-c", script, url], stderr=subprocess.PIPE, text=True,
                                  env={**os.environ, "PYTHONPATH": str(REPO)}) for _ in range(4)]
    for process in processes:
        _, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
    store = open_state(url)
    assert store.schema_version == head_revision() and store.get("k") == "v"
    store.close()


def test_a_missing_database_is_a_clear_error_without_the_password(postgres):
    url = postgres.url("no_such_database", password=PASSWORD)
    with pytest.raises(ConfigError, match="refused Connex") as error:
        open_state(url)
    assert "no_such_database" in str(error.value) and PASSWORD not in str(error.value)


def test_an_unreachable_server_is_a_clear_error_without_the_password(tmp_path):
    url = f"postgresql://connex:{PASSWORD}@/connex?host={tmp_path}"  # no server listens on that socket folder
    with pytest.raises(ConnexError, match="cannot reach the PostgreSQL state database") as error:
        open_state(url)
    assert PASSWORD not in str(error.value) and "connex:***@" in str(error.value)


def test_the_cli_hides_the_password_of_an_unusable_url(workspace, tmp_path):
    use_state(workspace, f"postgresql://connex:{PASSWORD}@/connex?host={tmp_path}")
    for command in (("sync", "--no-progress"), ("status",)):
        result = workspace.cli(*command)
        assert result.returncode in (2, 3), result.stdout + result.stderr
        assert "Traceback" not in result.stderr and PASSWORD not in result.stdout + result.stderr
        assert "PostgreSQL state database" in result.stderr


def test_the_password_may_come_from_the_environment(workspace, postgres, monkeypatch):
    workspace.write_config(purchases=False, refunds=False)
    use_state(workspace, postgres.new_database().replace("postgres@", "postgres:${CONNEX_PG_PASSWORD}@"))
    workspace.env = {**workspace.env, "CONNEX_PG_PASSWORD": PASSWORD}
    result = workspace.cli("status")
    assert result.returncode == 0, result.stdout + result.stderr
    assert PASSWORD not in result.stdout + result.stderr and "postgres:***@" in result.stdout
