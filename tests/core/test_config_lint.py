"""`connex validate` reports every configuration problem at once, as file:line:col, and exits 2."""

import re
import textwrap

from tests.conftest import run_connex

LINE = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+):(?P<col>\d+): (?P<msg>.+)$")


def write(tmp_path, text, name="connex.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def problems(stderr):
    return [LINE.match(line).groupdict() for line in stderr.splitlines() if LINE.match(line)]


def test_three_mistakes_give_three_positioned_errors(tmp_path, with_example_plugin):
    write(tmp_path, """
        source:
          plugin: jsonl
          folder: exports
          page_size: ten
        target:
          plugin: jsonl
        sync:
          sceduel: every 15 minutes
    """)
    result = run_connex("--config", "connex.yaml", "validate", cwd=tmp_path, env=with_example_plugin)
    assert result.returncode == 2, result.stderr
    found = problems(result.stderr)
    assert len(found) == 3, result.stderr
    by_field = {p["msg"].split(":")[0]: p for p in found}
    assert by_field["source.page_size"]["line"] == "4"
    assert by_field["source.page_size"]["col"] == "14"
    assert "expected an integer, got 'ten'" in by_field["source.page_size"]["msg"]
    assert by_field["target.folder"]["msg"].endswith("missing required key")
    assert by_field["target.folder"]["line"] == "6"  # the target block that lacks it
    unknown = by_field["sync.sceduel"]
    assert (unknown["line"], unknown["col"]) == ("8", "3")
    assert "did you mean 'schedule'?" in unknown["msg"]
    assert all(p["file"] == "connex.yaml" for p in found)


def test_valid_config_passes(tmp_path, with_example_plugin):
    write(tmp_path, """
        source: {plugin: jsonl, folder: exports}
        target: {plugin: jsonl, folder: out}
        sync: {schedule: every 15 minutes, customer_matching: store_name_currency, order_status: ""}
    """)
    result = run_connex("validate", cwd=tmp_path, env=with_example_plugin)
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout


def test_unknown_plugin_suggests_installed_one(tmp_path, with_example_plugin):
    write(tmp_path, """
        source: {plugin: jsnl, folder: exports}
        target: {plugin: jsonl, folder: out}
    """)
    result = run_connex("validate", cwd=tmp_path, env=with_example_plugin)
    assert result.returncode == 2
    (only,) = problems(result.stderr)
    assert (only["line"], only["col"]) == ("1", "18")
    assert "no source connector 'jsnl' (did you mean 'jsonl'?)" in only["msg"]


def test_enum_wrong_type_and_schedule_errors_all_reported(tmp_path, with_example_plugin):
    write(tmp_path, """
        source: {plugin: jsonl, folder: exports}
        target: {plugin: jsonl, folder: out}
        sync:
          customer_matching: store_name_curency
          purchases: "yes"
          schedule: every fortnight
          order_status: PAID,SHIPPED
    """)
    result = run_connex("validate", cwd=tmp_path, env=with_example_plugin)
    assert result.returncode == 2
    msgs = {p["msg"].split(":")[0]: (p["line"], p["msg"]) for p in problems(result.stderr)}
    assert "did you mean 'store_name_currency'?" in msgs["sync.customer_matching"][1]
    assert msgs["sync.purchases"][0] == "5" and "expected true or false" in msgs["sync.purchases"][1]
    assert msgs["sync.schedule"][0] == "6"
    assert "unknown order status 'SHIPPED'" in msgs["sync.order_status"][1]


def test_yaml_syntax_error_is_positioned(tmp_path, with_example_plugin):
    write(tmp_path, "source:\n  plugin: jsonl\n folder: x\n")
    result = run_connex("validate", cwd=tmp_path, env=with_example_plugin)
    assert result.returncode == 2
    (only,) = problems(result.stderr)
    assert only["line"] == "3" and "YAML syntax error" in only["msg"]


def test_missing_environment_variable_is_named_and_secret_never_printed(tmp_path, with_example_plugin):
    write(tmp_path, """
        source: {plugin: jsonl, folder: "${EXPORT_DIR}"}
        target: {plugin: jsonl, folder: "${OUT_DIR:-out}"}
    """)
    result = run_connex("validate", cwd=tmp_path, env={**with_example_plugin})
    assert result.returncode == 2
    (only,) = problems(result.stderr)
    assert "environment variable EXPORT_DIR is not set" in only["msg"]
    ok = run_connex("validate", cwd=tmp_path, env={**with_example_plugin, "EXPORT_DIR": "s3cr3t-folder"})
    assert ok.returncode == 0, ok.stderr
    assert "s3cr3t-folder" not in ok.stdout + ok.stderr


def test_missing_config_file_is_a_config_error(tmp_path):
    result = run_connex("validate", cwd=tmp_path)
    assert result.returncode == 2
    assert "connex.yaml: configuration file not found" in result.stderr
