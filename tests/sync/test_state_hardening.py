"""Issue 12 item 8: the state file is private, one run holds it at a time, and a broken or unusable state file is
a clear message naming its path, never a traceback."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import threading
import time

import pytest
from sqlalchemy import event

from connex.errors import ConfigError, ConnexError
from connex.state import SqliteStateStore, open_state
from connex.state.lock import StateBusy, StateLock, holder
from connex.state.store import LedgerEntry


def on_every_connection(engine, pragma: str) -> None:
    """Run ``pragma`` on every connection the store's engine opens from now on (the pool is emptied first)."""
    engine.dispose()
    event.listen(engine, "connect", lambda dbapi, _record: dbapi.execute(pragma))


def read_only(engine) -> None:
    on_every_connection(engine, "PRAGMA query_only = 1")


ROOT = os.geteuid() == 0 if hasattr(os, "geteuid") else False


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_the_state_file_and_its_wal_and_shm_are_private(tmp_path):
    old = os.umask(0o022)  # a permissive umask, as most shells have
    try:
        state = open_state(tmp_path / "connex.db")
        state.put("quickbooks_online:refresh_token:1", "secret")
        state.record([LedgerEntry("order:1", "orders", "order", "1", "1", status="posted")], None)
        files = [tmp_path / name for name in ("connex.db", "connex.db-wal", "connex.db-shm")]
        assert all(f.exists() for f in files)
        assert {f.name: mode(f) for f in files} == {f.name: 0o600 for f in files}
        state.close()
    finally:
        os.umask(old)


def test_an_existing_world_readable_state_file_is_made_private(tmp_path):
    path = tmp_path / "connex.db"
    sqlite3.connect(path).close()
    path.chmod(0o644)
    open_state(path).close()
    assert mode(path) == 0o600


def test_a_second_sync_on_the_same_state_file_exits_with_a_clear_message(workspace):
    workspace.write_config(purchases=False, refunds=False)
    with StateLock(workspace.folder / "connex.db").acquire():  # a first run holds the state
        result = workspace.cli("sync", "--no-progress", "--wait", "0")
        assert result.returncode == 3, result.stdout + result.stderr
        assert "another Connex run is using this state file" in result.stderr
        assert f"pid {os.getpid()}" in result.stderr and "Traceback" not in result.stderr
        assert workspace.documents() == []  # the second run posted nothing
        assert holder(workspace.folder / "connex.db")["pid"] == os.getpid()
    assert holder(workspace.folder / "connex.db") is None


def test_a_second_sync_waits_for_the_first_within_its_bound(workspace):
    workspace.write_config(purchases=False, refunds=False)
    lock = StateLock(workspace.folder / "connex.db").acquire()
    threading.Timer(1.5, lock.release).start()
    started = time.monotonic()
    result = workspace.cli("sync", "--no-progress", "--wait", "30")
    assert result.returncode == 0, result.stdout + result.stderr
    assert time.monotonic() - started >= 1.5
    assert len(workspace.documents()) > 0


def test_two_engines_never_run_at_once(workspace):
    first, second = workspace.engine(), workspace.engine()
    try:
        with StateLock(first.state.path).acquire():
            from connex.sync.report import RunOptions

            with pytest.raises(StateBusy, match="another Connex run"):
                second.run(["orders"], RunOptions(lock_wait=0.2))
    finally:
        for engine in (first, second):
            engine.close()
            engine.state.close()


@pytest.mark.parametrize("content", [b"this is not a database" * 100, b"SQLite format 3\x00" + b"\x00" * 50])
def test_a_garbage_state_file_is_a_clear_error(tmp_path, content):
    path = tmp_path / "connex.db"
    path.write_bytes(content)
    with pytest.raises(ConfigError, match="not a usable Connex state database") as error:
        open_state(path)
    assert str(path) in str(error.value)


def test_a_truncated_state_file_is_a_clear_error(tmp_path):
    path = tmp_path / "connex.db"
    state = open_state(path)
    state.record([LedgerEntry(f"order:{i}", "orders", "order", str(i), str(i), status="posted",
                              record={"pad": "x" * 2000}) for i in range(200)], None)
    state.close()
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(ConnexError) as error:
        state = open_state(path)
        state.rows()
    assert str(path) in str(error.value) and "state database" in str(error.value)


def test_a_state_path_that_is_a_folder_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="is a folder"):
        open_state(tmp_path)


def test_a_state_path_under_a_file_is_a_clear_error(tmp_path):
    (tmp_path / "plain").write_text("x")
    with pytest.raises(ConfigError, match="cannot create the state file's folder") as error:
        open_state(tmp_path / "plain" / "sub" / "connex.db")
    assert str(tmp_path / "plain") in str(error.value)


@pytest.mark.skipif(ROOT, reason="root ignores file permissions")
def test_a_read_only_state_file_is_a_clear_error(tmp_path):
    path = tmp_path / "connex.db"
    open_state(path).close()
    path.chmod(0o400)
    with pytest.raises(ConfigError, match="read-only|cannot open") as error:
        state = open_state(path)
        state.put("k", "v")
    assert str(path) in str(error.value)


@pytest.mark.skipif(ROOT, reason="root ignores file permissions")
def test_a_state_folder_without_permission_is_a_clear_error(tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(ConfigError) as error:
            open_state(folder / "connex.db")
        assert str(folder / "connex.db") in str(error.value)
    finally:
        folder.chmod(0o700)


def test_a_read_only_connection_is_a_clear_error(tmp_path):
    """Whoever runs the tests (root too): SQLite's own read-only refusal, on connections opened read-only."""
    path = tmp_path / "connex.db"
    open_state(path).close()
    state = SqliteStateStore(path)
    read_only(state.engine)
    with pytest.raises(ConfigError, match="read-only") as error:
        state.put("k", "v")
    assert str(path) in str(error.value)
    state.close()


def test_a_full_state_database_is_a_clear_error(tmp_path):
    path = tmp_path / "connex.db"
    state = open_state(path)
    with sqlite3.connect(path) as conn:
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
    on_every_connection(state.engine, f"PRAGMA max_page_count = {pages + 2}")  # the disk fills: SQLITE_FULL
    with pytest.raises(ConnexError, match="disk is full") as error:
        state.record([LedgerEntry(f"order:{i}", "orders", "order", str(i), status="posted",
                                  record={"pad": "x" * 4000}) for i in range(100)], None)
    assert str(path) in str(error.value)
    state.close()


def test_a_locked_state_database_is_a_clear_error(tmp_path):
    path = tmp_path / "connex.db"
    open_state(path).close()
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # another process mid-write, holding it
    try:
        with pytest.raises(StateBusy, match="locked by another process") as error:
            SqliteStateStore(path, busy_timeout=0.2).put("k", "v")
        assert str(path) in str(error.value)
    finally:
        other.execute("ROLLBACK")
        other.close()


def test_the_cli_names_the_state_file_for_a_broken_one_without_a_traceback(workspace):
    (workspace.folder / "connex.db").write_bytes(b"garbage" * 500)
    for command in (("sync", "--no-progress"), ("status",)):
        result = workspace.cli(*command)
        assert result.returncode == 2, result.stdout + result.stderr
        assert "not a usable Connex state database" in result.stderr and "Traceback" not in result.stderr
    config = json.loads((workspace.folder / "connex.yaml").read_text())
    config["state"] = "."
    (workspace.folder / "connex.yaml").write_text(json.dumps(config))
    result = workspace.cli("sync", "--no-progress")
    assert result.returncode == 2 and "is a folder" in result.stderr and "Traceback" not in result.stderr
