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


def test_every_hook_is_documented_in_docs_and_hookspecs():
    from connex import hookspecs
    from connex.plugin_manager import HOOK_NAMES

    docs = (REPO / "docs" / "plugins.md").read_text(encoding="utf-8")
    assert HOOK_NAMES, "no hooks found"
    for name in HOOK_NAMES:
        assert f"| `{name}` |" in docs, f"docs/plugins.md has no table row for {name}"
        assert (getattr(hookspecs, name).__doc__ or "").strip(), f"{name} has no docstring in connex/hookspecs.py"
    # and the table documents no hook that does not exist
    documented = {line.split("`")[1] for line in docs.splitlines() if line.startswith("| `connex_")}
    assert documented == set(HOOK_NAMES)


def test_the_core_imports_no_plugin():
    import ast

    plugin_packages = {p.name for p in (REPO / "plugins").iterdir() if (p / "__init__.py").exists()}
    offenders = []
    for path in (REPO / "connex").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "import_module" and node.args \
                    and isinstance(node.args[0], ast.Constant):
                names = [str(node.args[0].value)]
            offenders += [f"{path.relative_to(REPO)}:{node.lineno}: {n}" for n in names
                          if n.split(".")[0] in plugin_packages]
    assert plugin_packages >= {"connex_linnworks", "connex_quickbooks_online", "connex_quickbooks_desktop"}
    assert not offenders, offenders


def test_plugin_commands_are_listed_and_run_and_reserved_names_refused(tmp_path):
    site = tmp_path / "site"
    fake_distribution(site, "connex-hello", "hello", "connex_hello", """
        from connex import hookimpl

        @hookimpl
        def connex_commands():
            return {"hello": ("say hello to someone", "connex_hello_command"),
                    "sync": ("a second sync", "connex_hello_command"),
                    "Bad Name": ("not a command", "connex_hello_command"),
                    "broken": ("junk", 42)}
    """)
    (site / "connex_hello_command.py").write_text(textwrap.dedent("""
        def add_arguments(parser):
            parser.add_argument("who")
            parser.add_argument("--shout", action="store_true")

        def run(args):
            text = f"hello {args.who}"
            print(text.upper() if args.shout else text)
            return 0 if args.who != "nobody" else 1
    """))
    env = env_with(site)
    listed = run_connex("--help", env=env)
    assert listed.returncode == 0 and "say hello to someone" in listed.stdout
    assert "qbwc" in listed.stdout and "a second sync" not in listed.stdout
    said = run_connex("hello", "world", "--shout", env=env)
    assert (said.returncode, said.stdout) == (0, "HELLO WORLD\n"), said.stderr
    assert run_connex("hello", "nobody", env=env).returncode == 1
    assert run_connex("hello", env=env).returncode == 2  # its own usage error
    errors = " | ".join(plugins_json(env)["hello"]["errors"])
    assert "connex_commands: 'sync' is a core command" in errors
    assert "'Bad Name' is not a command name" in errors
    assert "'broken' must map to (help text, module name)" in errors


def test_only_the_chosen_command_module_is_imported():
    import subprocess
    import sys

    probe = ("import json, sys; from connex import cli; cli.build_parser(['plugins']); "
             "print(json.dumps(sorted(m for m in sys.modules if m.startswith(('connex.commands.', 'connex_')))))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout)
    assert "connex.commands.plugins" in loaded
    assert not [m for m in loaded if m.endswith(("_command", ".sync", ".demo", ".connector"))], loaded
