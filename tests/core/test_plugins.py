"""Plugins are discovered by entry point and isolated: a broken one is reported, never fatal."""

import json
import os
import textwrap

from tests.conftest import REPO, run_connex


def fake_distribution(site, dist_name, entry_name, module_name, module_source):
    """An installed distribution in ``site``: dist-info metadata with an entry point, plus its module."""
    info = site / f"{dist_name.replace('-', '_')}-0.9.dist-info"  # as wheels escape it
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist_name}\nVersion: 0.9\n")
    (info / "entry_points.txt").write_text(f"[connex.plugins]\n{entry_name} = {module_name}\n")
    (site / f"{module_name}.py").write_text(textwrap.dedent(module_source))


def env_with(*paths):
    existing = os.environ.get("PYTHONPATH")
    return {"PYTHONPATH": os.pathsep.join([*(str(p) for p in paths), *([existing] if existing else [])])}


def plugins_json(env):
    result = run_connex("plugins", "--json", env=env)
    assert result.returncode == 0, result.stderr
    return {p["name"]: p for p in json.loads(result.stdout)}


def test_builtin_and_third_party_plugins_are_listed(with_example_plugin):
    found = plugins_json(with_example_plugin)
    assert {"linnworks", "quickbooks_online", "quickbooks_desktop", "jsonl"} <= set(found)
    jsonl = found["jsonl"]
    assert jsonl["status"] == "ok" and jsonl["version"] == "1.2.0" and jsonl["distribution"] == "connex-jsonl"
    assert jsonl["registered"]["connex_sources"] == ["jsonl"]
    assert jsonl["registered"]["connex_targets"] == ["jsonl"]
    assert "connex_jinja_filters" in jsonl["hooks"]
    assert all(found[name]["status"] == "ok" for name in ("linnworks", "quickbooks_online", "quickbooks_desktop"))


def test_plugin_that_raises_on_import_is_reported_and_others_work(tmp_path, example_plugin_path):
    site = tmp_path / "site"
    fake_distribution(site, "connex-broken", "broken", "connex_broken",
                      "raise RuntimeError('database driver missing')\n")
    env = env_with(site, example_plugin_path)
    found = plugins_json(env)
    assert found["broken"]["status"] == "error"
    assert "RuntimeError: database driver missing" in found["broken"]["errors"][0]
    assert found["jsonl"]["status"] == "ok"
    assert found["linnworks"]["status"] == "ok"
    text = run_connex("plugins", env=env)
    assert "broken 0.9 (connex_broken) [error]" in text.stdout
    (tmp_path / "connex.yaml").write_text("source: {plugin: jsonl, folder: a}\ntarget: {plugin: jsonl, folder: b}\n")
    assert run_connex("validate", cwd=tmp_path, env=env).returncode == 0
    assert run_connex("--help", env=env).returncode == 0


def test_misspelt_hook_is_reported_with_suggestion(tmp_path):
    site = tmp_path / "site"
    fake_distribution(site, "connex-typo", "typo", "connex_typo", """
        from connex import hookimpl

        @hookimpl
        def connex_source():
            return {}
    """)
    found = plugins_json(env_with(site))
    assert found["typo"]["status"] == "error"
    assert "unknown hook 'connex_source' (did you mean 'connex_sources'?)" in found["typo"]["errors"]


def test_registration_hook_that_raises_or_returns_junk_is_isolated(tmp_path):
    site = tmp_path / "site"
    fake_distribution(site, "connex-junk", "junk", "connex_junk", """
        from connex import hookimpl

        @hookimpl
        def connex_sources():
            return {"junk": object}

        @hookimpl
        def connex_jinja_filters():
            raise ValueError("boom")
    """)
    found = plugins_json(env_with(site))
    errors = " | ".join(found["junk"]["errors"])
    assert "'junk' is not a SourceConnector subclass" in errors
    assert "connex_jinja_filters raised: ValueError: boom" in errors
    assert found["linnworks"]["status"] == "ok"


def test_allowlist_environment_variable(with_example_plugin):
    found = plugins_json({**with_example_plugin, "CONNEX_LOAD_PLUGINS": "jsonl"})
    assert set(found) == {"jsonl"}


def test_run_py_is_the_same_program(tmp_path):
    import subprocess
    import sys

    result = subprocess.run([sys.executable, str(REPO / "run.py"), "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.startswith("connex ")


def test_usage_error_exits_2():
    result = run_connex("no-such-command")
    assert result.returncode == 2
