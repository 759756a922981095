"""Broken rule and mapping files give every problem as file:line:col and exit 2."""

import re
import textwrap

from tests.conftest import run_connex
from tests.rules.conftest import write_yaml

LINE = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+):(?P<col>\d+): (?P<msg>.+)$")


def position(text: str, line_text: str, token: str) -> tuple[str, str]:
    """(line, col) of ``token`` on the first line containing ``line_text`` in the dedented ``text``."""
    lines = textwrap.dedent(text).lstrip().splitlines()
    number = next(i for i, line in enumerate(lines, 1) if line_text in line)
    return str(number), str(lines[number - 1].index(token) + 1)


def validate(tmp_path, rules_file, env):
    write_yaml(tmp_path, "connex.yaml", f"""
        source: {{plugin: jsonl, folder: in}}
        target: {{plugin: jsonl, folder: out}}
        rules: [{rules_file}]
    """)
    result = run_connex("validate", cwd=tmp_path, env=env)
    found = [LINE.match(line).groupdict() for line in result.stderr.splitlines() if LINE.match(line)]
    return result, found


def test_bad_indentation_is_a_positioned_yaml_error(tmp_path, with_example_plugin):
    write_yaml(tmp_path, "mine.yaml", """
        kind: rules
        rules:
          - type: map_class
             value: Retail
    """)
    result, found = validate(tmp_path, "mine.yaml", with_example_plugin)
    assert result.returncode == 2
    assert len(found) == 1 and found[0]["file"].endswith("mine.yaml")
    assert found[0]["line"] == "4" and "YAML syntax error" in found[0]["msg"]


def test_unknown_action_and_bad_comparison_and_missing_value_all_reported(tmp_path, with_example_plugin):
    text = """
        kind: rules
        rules:
          - type: map_stor_name
            value: Amazon
          - type: map_class
            when: {field: sub_source, comparison: equal, value: eBay}
            value: Retail
          - type: map_deposit_account
            when: {field: sub_source, comparison: equals, value: eBay}
          - type: map_class
            when: {field: odrer.GeneralInfo.Source, comparison: equals, value: EBAY}
            value: Retail
    """
    write_yaml(tmp_path, "mine.yaml", text)
    result, found = validate(tmp_path, "mine.yaml", with_example_plugin)
    assert result.returncode == 2
    msgs = {(p["line"], p["col"]): p["msg"] for p in found}
    assert "did you mean 'map_store_name'?" in msgs[position(text, "map_stor_name", "map_stor_name")]
    assert "'equal' is not allowed (did you mean 'equals'?)" in msgs[position(text, "equal,", "equal,")]
    assert "'map_deposit_account' needs a 'value'" in msgs[position(text, "map_deposit_account", "type")]
    assert "unknown name 'odrer' (did you mean 'order'?)" in msgs[position(text, "odrer", "odrer")]
    assert len(found) == 4


def test_jinja_errors_unknown_variables_and_private_access(tmp_path, with_example_plugin):
    write_yaml(tmp_path, "mine.yaml", """
        kind: rules
        rules:
          - type: map_class
            value: "{{ order.GeneralInfo.Source | upper }"
          - type: map_class
            value: "{{ ordr.GeneralInfo.Source }}"
          - type: map_class
            value: "{{ order.__class__.__mro__ }}"
          - type: map_class
            value: "{{ order.GeneralInfo.Source | nosuchfilter }}"
    """)
    result, found = validate(tmp_path, "mine.yaml", with_example_plugin)
    assert result.returncode == 2
    msgs = {p["line"]: p["msg"] for p in found}
    assert "Jinja syntax error" in msgs["4"]
    assert "unknown variable 'ordr'; the variables here are: doc, order, refund, sync" in msgs["6"]
    assert "refused: access to private attribute '__class__', '__mro__'" in msgs["8"]
    assert "unknown filter 'nosuchfilter'" in msgs["10"]


def test_mapping_file_errors_are_positioned(tmp_path, with_example_plugin):
    write_yaml(tmp_path, "mapping.yaml", """
        kind: mapping
        flow: orders
        document: sales
        record: order
        fields:
          source_id: "{{ order.OrderId }}"
          doc_numbr: "{{ order.NumOrderId }}"
          total: {value: "{{ order.TotalsInfo.TotalCharge }}", type: money, defualt: 0}
    """)
    result, found = validate(tmp_path, "mapping.yaml", with_example_plugin)
    assert result.returncode == 2
    msgs = {(p["line"], p["col"]): p["msg"] for p in found}
    assert any("'doc_numbr' is not a field of SalesDocument (did you mean 'doc_number'?)" in m for m in msgs.values())
    assert any(k[0] == "8" for k in msgs)


def test_unknown_file_kind(tmp_path, with_example_plugin):
    write_yaml(tmp_path, "mine.yaml", "kind: rule\nrules: []\n")
    result, found = validate(tmp_path, "mine.yaml", with_example_plugin)
    assert result.returncode == 2
    assert found[0]["line"] == "1" and "did you mean 'rules'?" in found[0]["msg"]
