"""A connections folder: names, shared defaults, every problem of every file at once, and --connection."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connex.deployment import NAME_PATTERN, load_deployment
from connex.errors import ConfigError, ConfigErrors
from connex.plugin_manager import get_plugins
from connex.state import open_state
from tests.conftest import examples, run_connex

LINNWORKS = {"plugin": "linnworks", "application_id": "00000000-0000-0000-0000-000000000001",
             "application_secret": "${LW_SECRET:-s3cr3t-app}", "token": "00000000-0000-0000-0000-000000000003",
             "auth_url": "http://127.0.0.1:9"}
QBO = {"plugin": "quickbooks_online", "client_id": "id", "client_secret": "qbo-secret-value",
       "refresh_token": "refresh-value", "realm_id": "123", "api_url": "http://127.0.0.1:9"}


def deployment(folder: Path, files: dict[str, str], main: dict | None = None) -> Path:
    (folder / "connections").mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / "connections" / name).write_text(text)
    main = {"connections": "connections", "sync": {"schedule": "every 15 minutes", "from_date": "2024-01-01"},
            **(main or {})}
    (folder / "connex.yaml").write_text(json.dumps(main))
    return folder / "connex.yaml"


def connection(**sync) -> str:
    return json.dumps({"source": LINNWORKS, "target": QBO, **({"sync": sync} if sync else {})}, indent=1)


def test_connections_share_defaults_and_override_them(tmp_path):
    (tmp_path / "shared-rules").mkdir()
    path = deployment(tmp_path, {"acme.yaml": connection(schedule="every 5 minutes"), "beta.yml": connection()},
                      {"rules": ["shared-rules"], "daemon": {"max_parallel": 3}})
    found = load_deployment(path, get_plugins())
    assert found.names == ["acme", "beta"] and found.max_parallel == 3
    acme, beta = found.select()
    assert acme.sync.schedule.text == "every 5 minutes" and beta.sync.schedule.text == "every 15 minutes"
    assert str(acme.sync.from_date) == "2024-01-01" == str(beta.sync.from_date)
    assert (tmp_path / "shared-rules").resolve() in acme.rule_paths
    assert acme.sync.connection == "acme"  # rules scoped to connections match by the file's name
    assert acme.state_path == beta.state_path == tmp_path / "connex.db"
    assert "s3cr3t-app" in acme.secrets  # an ${ENV} default is still a secret
    with pytest.raises(ConfigError, match="2 connections .*acme, beta.*--connection"):
        found.one()
    with pytest.raises(ConfigError, match="no connection 'acmE2' \\(did you mean 'acme'\\?\\)"):
        found.select(["acmE2"])
    assert found.one("BETA").name == "beta"


def test_a_single_connex_yaml_is_the_connection_named_default(tmp_path):
    (tmp_path / "connex.yaml").write_text(json.dumps({"source": LINNWORKS, "target": QBO}))
    found = load_deployment(tmp_path / "connex.yaml", get_plugins())
    assert found.names == ["default"] and found.one().name == "default"
    assert found.folder is None


def test_validate_reports_every_problem_of_every_connection_with_file_line_col(tmp_path):
    bad_sync = connection().replace('"target"', '"sync": {"documnet": "invoice"},\n "target"')
    deployment(tmp_path, {
        "good.yaml": connection(),
        "typo.yaml": bad_sync,
        "nosource.yaml": json.dumps({"target": QBO}),
        "state.yaml": json.dumps({"source": LINNWORKS, "target": QBO, "state": "elsewhere.db"}),
        "bad name.yaml": connection(),
    })
    result = run_connex("validate", cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    err = result.stderr
    typo = Path("connections") / "typo.yaml"
    line = next(n for n, text in enumerate((tmp_path / typo).read_text().splitlines(), 1) if "documnet" in text)
    assert f"{typo}:{line}:" in err and "sync.documnet: unknown key 'documnet' (did you mean 'document'?)" in err
    assert "connections/nosource.yaml:1:1" in err and "source" in err
    assert "state is shared by every connection: set it in connex.yaml" in err
    assert "connection name 'bad name'" in err
    assert "qbo-secret-value" not in err + result.stdout
    # one connection's file can still be checked and used alone
    alone = run_connex("validate", "--connection", "good", cwd=tmp_path)
    assert alone.returncode == 0, alone.stderr
    assert "good (" in alone.stdout and "OK" in alone.stdout


def test_names_are_unique_without_letter_case(tmp_path):
    deployment(tmp_path, {"Acme.yaml": connection(), "acme.yml": connection()})
    result = run_connex("validate", cwd=tmp_path)
    assert result.returncode == 2
    assert "connection 'acme' is also defined by Acme.yaml" in result.stderr


def test_an_empty_or_missing_folder_is_reported_on_the_connections_key(tmp_path):
    (tmp_path / "connections").mkdir()
    (tmp_path / "connex.yaml").write_text("connections: connections\n")
    result = run_connex("validate", cwd=tmp_path)
    assert result.returncode == 2 and result.stderr.startswith("connex.yaml:1:14: connections: ")
    assert "no connection files" in result.stderr
    (tmp_path / "connex.yaml").write_text("connections: nowhere\nsource: {plugin: linnworks}\n")
    result = run_connex("validate", cwd=tmp_path)
    assert "no such folder" in result.stderr and "unknown key 'source'" in result.stderr


def test_commands_that_need_one_connection_say_so(tmp_path):
    deployment(tmp_path, {"acme.yaml": connection(), "beta.yaml": connection()})
    for command in (["explain", "123"], ["forget", "order", "1", "--yes"]):
        result = run_connex(*command, cwd=tmp_path)
        assert result.returncode == 2, result.stdout + result.stderr
        assert "this deployment has 2 connections (acme, beta); name one with --connection NAME" in result.stderr
    result = run_connex("status", "--connection", "nope", cwd=tmp_path)
    assert result.returncode == 2 and "no connection 'nope'" in result.stderr


def test_status_shows_every_connection_from_its_own_state(tmp_path):
    deployment(tmp_path, {"acme.yaml": connection(), "beta.yaml": connection()})
    state = open_state(tmp_path / "connex.db", connection="acme")
    run = state.start_run("orders")
    state.finish_run(run, "ok", {"posted": 2})
    state.close()
    result = run_connex("status", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "2 connections:"
    assert lines[1].startswith("  acme: nothing synced yet; last run ") and lines[2] == "  beta: nothing synced yet"
    assert "== connection acme" in result.stdout and "== connection beta" in result.stdout
    data = json.loads(run_connex("status", "--json", cwd=tmp_path).stdout)
    assert data["connections"]["acme"]["runs"][0]["counts"] == {"posted": 2}
    assert data["connections"]["beta"]["runs"] == []


def test_open_state_keeps_the_default_file_and_gives_each_connection_its_own(tmp_path):
    default = open_state(tmp_path / "connex.db")
    acme = open_state(tmp_path / "connex.db", connection="acme")
    try:
        default.put("k", "default")
        acme.put("k", "acme")
        assert default.get("k") == "default" and acme.get("k") == "acme"
        assert Path(default.path) == tmp_path / "connex.db"
    finally:
        default.close()
        acme.close()


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=0, max_size=70))
def test_a_name_is_plain_or_refused(name):
    if NAME_PATTERN.match(name):
        assert name and len(name) <= 64 and all(c.isascii() and (c.isalnum() or c in "-_") for c in name)
        assert name[0].isalnum()
    else:
        assert not name or len(name) > 64 or not name[0].isalnum() or not name.isascii() \
               or any(not (c.isalnum() or c in "-_") for c in name)


def test_errors_of_the_main_file_reach_every_connection(tmp_path):
    path = deployment(tmp_path, {"acme.yaml": connection()}, {"log": {"level": "loud"}})
    found = load_deployment(path, get_plugins())
    with pytest.raises(ConfigErrors) as caught:
        found.select(["acme"])
    assert any(f"{path}:1:" in str(e) and "log.level" in str(e) for e in caught.value.errors)


NAMES = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_-]{0,20}", fullmatch=True)


@settings(max_examples=examples(25), deadline=None)
@given(st.lists(NAMES, min_size=1, max_size=6, unique_by=str.lower))
def test_every_file_is_a_connection_found_by_its_name_in_any_case(tmp_path_factory, names):
    folder = tmp_path_factory.mktemp("deployment")
    path = deployment(folder, {f"{name}.yaml": connection() for name in names})
    found = load_deployment(path, get_plugins())
    assert found.names == sorted(names, key=str.lower)
    for name in names:
        assert found.one(name.swapcase()).name == name
        assert found.one(name).sync.connection == name
