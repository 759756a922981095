"""Issue 12.1: nothing a mapping file says ever becomes Python source.

Every option of every mapping field type gets hostile strings (Python that would create a marker file or end the
process, quotes, newlines, backslashes) and hostile non-strings. Whether the file is refused (the schema or the
compiler's own checks) or accepted (a hostile string is a legitimate literal value), nothing executes: the marker
file never appears, in process and through ``connex validate``, ``connex sync --dry-run`` and ``connex test``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from connex.errors import ConfigErrors
from connex.rules.codegen import UnsafeSource, source_int, source_literal
from connex.rules.loader import load_rules
from connex.rules.mapping import VALUE_TYPES, MappingCompiler
from connex.rules.templates import make_environment
from tests.conftest import run_connex
from tests.rules.conftest import RULES, sample_order, write_yaml

OPTIONS = ("value", "type", "default", "max_length", "places")


def hostile_strings(marker: Path) -> list[str]:
    touch = f"__import__('os').system('touch {marker}')"
    return [
        touch,
        "1); import os; os._exit(9) #",
        f"1: pass\nimport os; os.system('touch {marker}')\nif 1",
        f"'\n{touch}\n'",
        f'"""\n{touch}\n"""',
        f"\\'); {touch} #",
        f"{{{{ 1 }}}}); {touch} #",
        f"0 if {touch} else 1",
        # closes the generated line, runs at module level when the source is executed, and re-opens blocks so
        # the rest of the generated function still parses
        f"0: pass\nimport os; os.system('touch {marker}')\n"
        "def _f():\n    if 1:\n        if 1:\n            if 1: pass #",
    ]


HOSTILE_OTHERS = [2.5, True, -1, 10**30, [1, 2], {"a": 1}, None]


def mapping_text(field: str, spec: dict) -> str:
    """A sales mapping whose ``field`` has ``spec``; JSON is YAML, so every string arrives exactly as given."""
    data = {"kind": "mapping", "flow": "orders", "document": "sales", "record": "order",
            "fields": {"source_id": "{{ order.OrderId }}", "doc_number": "{{ order.NumOrderId }}",
                       "currency": "{{ order.TotalsInfo.Currency }}", field: spec},
            "lines": [{"each": "order.Items", "as": "item",
                       "fields": {"sku": "{{ item.SKU }}", "quantity": "{{ item.Quantity }}",
                                  "amount": "{{ item.Cost }}", "description": spec}}]}
    return json.dumps(data)


def specs(marker: Path):
    """(option, spec) for every option of a field spec, for every value type, with every hostile value."""
    for value_type in VALUE_TYPES:
        for option in OPTIONS:
            for hostile in hostile_strings(marker) + HOSTILE_OTHERS:
                spec = {"value": "{{ order.GeneralInfo.ReferenceNum }}", "type": value_type, option: hostile}
                yield option, spec


def test_source_literals_refuse_anything_but_checked_types():
    assert source_literal("a'\n\\b", "x") == repr("a'\n\\b")
    assert source_int(21, "max_length") == "21"

    class Sneaky(int):
        def __repr__(self):
            return "__import__('os')"

    for bad in (Sneaky(3), "3", 3.0, True, None, [3]):
        with pytest.raises(UnsafeSource):
            source_int(bad, "max_length")
    with pytest.raises(UnsafeSource):
        source_literal(Sneaky(3), "literal")


def test_every_option_of_every_field_type_executes_nothing_in_process(tmp_path):
    marker = tmp_path / "EXECUTED"
    loaded_files = refused = 0
    for index, (_option, spec) in enumerate(specs(marker)):
        path = tmp_path / f"m{index}.yaml"
        path.write_text(mapping_text("memo", spec), encoding="utf-8")
        try:
            rules = load_rules([path])
        except ConfigErrors as exc:
            refused += 1
            assert all(str(e).startswith(f"{path}:") for e in exc.errors), exc
            continue
        loaded_files += 1
        # accepted: the hostile string is a value (default, literal), evaluated as data for a whole order
        rules.mappings["orders"].evaluate(rules.mappings["orders"].context_for(sample_order(), {"sync": {}}))
    assert refused and loaded_files
    assert not marker.exists()


def test_compiler_checks_options_even_when_the_schema_is_bypassed(tmp_path):
    """The compiler is the last line: called directly with what the schema would refuse, it reports each option
    at its path, generates only checked literals, and the compiled mapping runs without executing anything."""
    marker = tmp_path / "EXECUTED"
    env = make_environment()
    for option, spec in specs(marker):
        problems: list[tuple] = []
        data = json.loads(mapping_text("memo", spec))
        mapping = MappingCompiler(env, lambda path, message, found=problems: found.append((path, message))).compile(
            data, "hostile.yaml", {"sync"})
        if option in ("type", "max_length", "places") and spec[option] is not None:
            valid = {"type": lambda v: v in VALUE_TYPES, "max_length": lambda v: type(v) is int and v >= 1,
                     "places": lambda v: type(v) is int and 0 <= v <= 6}[option]
            if not valid(spec[option]):
                assert ("fields", "memo", option) in [p for p, _ in problems], (spec, problems)
        mapping.evaluate(mapping.context_for(sample_order(), {"sync": {}}))
    assert not marker.exists()


def hostile_rules_folder(tmp_path: Path) -> tuple[Path, Path]:
    """A rules folder with one refused mapping (hostile options) and a fixture that loads it."""
    marker = tmp_path / "EXECUTED"
    folder = tmp_path / "hostile"
    (folder / "mappings").mkdir(parents=True)
    strings = hostile_strings(marker)
    fields = {"source_id": "{{ order.OrderId }}", "doc_number": "{{ order.NumOrderId }}",
              "currency": "{{ order.TotalsInfo.Currency }}"}
    for i, hostile in enumerate(strings):
        fields["memo" if i == 0 else ["store_name", "deposit_account", "payment_method", "class_name", "tax_code",
                                      "ship_via", "terms"][i % 7]] = {
            "value": "{{ order.GeneralInfo.ReferenceNum }}", "type": "string", "max_length": hostile,
            "places": hostile}
    data = json.loads(mapping_text("memo", {"value": "x"}))
    data["fields"] = fields
    data["lines"][0]["fields"]["description"] = {"value": "x", "max_length": strings[1], "type": strings[0]}
    (folder / "mappings" / "sales_order.yaml").write_text(json.dumps(data), encoding="utf-8")
    fixture = write_yaml(folder, "fixture.yaml", f"""
        kind: fixture
        flow: orders
        rules: [{folder}]
        input: {{OrderId: A1, NumOrderId: 1, TotalsInfo: {{Currency: GBP}}}}
        expect: {{doc_number: "1"}}
    """)
    return folder, fixture


def cli_workspace(tmp_path: Path, rules_folder: Path) -> Path:
    inbox = tmp_path / "in"
    inbox.mkdir()
    order = {**sample_order(), "TotalsInfo": {"Currency": "GBP", "TotalCharge": "1", "Tax": "0"}}
    (inbox / "orders.jsonl").write_text(json.dumps(order, default=str) + "\n", encoding="utf-8")
    write_yaml(tmp_path, "connex.yaml", f"""
        source: {{plugin: jsonl, folder: in}}
        target: {{plugin: jsonl, folder: out}}
        rules: [{rules_folder}]
        sync: {{from_date: "2020-01-01"}}
        state: connex.db
    """)
    return tmp_path


@pytest.mark.parametrize("command", [("validate",), ("sync", "--dry-run"), ("test", "FIXTURE")])
def test_hostile_mapping_executes_nothing_through_the_cli(tmp_path, with_example_plugin, command):
    folder, fixture = hostile_rules_folder(tmp_path)
    workspace = cli_workspace(tmp_path, folder)
    args = [str(fixture) if a == "FIXTURE" else a for a in command]
    result = run_connex(*args, cwd=workspace, env=with_example_plugin)
    output = result.stdout + result.stderr
    assert result.returncode in (1, 2), output  # refused: a configuration error (a failing fixture for test)
    assert "max_length: expected" in output or "max_length: " in output, output
    assert "Traceback" not in output
    assert not (tmp_path / "EXECUTED").exists()


def test_hostile_strings_as_values_are_data(tmp_path, with_example_plugin):
    """The same strings where a mapping may hold any text (a literal, a default) are accepted and arrive in the
    document character for character: they were written into generated code only as checked literals."""
    marker = tmp_path / "EXECUTED"
    strings = hostile_strings(marker)
    folder = tmp_path / "rules"
    (folder / "mappings").mkdir(parents=True)
    data = json.loads(mapping_text("memo", {"value": "{{ order.Nothing }}", "type": "string",
                                            "default": strings[1]}))
    data["fields"]["class_name"] = strings[2]
    data["fields"]["tax_code"] = {"value": strings[3], "type": "string", "max_length": 200}
    data["lines"][0]["fields"]["description"] = {"value": "{{ item.Nothing }}", "default": strings[4]}
    (folder / "mappings" / "sales_order.yaml").write_text(json.dumps(data), encoding="utf-8")
    rules = load_rules([folder])
    mapping = rules.mappings["orders"]
    out, failures = mapping.evaluate(mapping.context_for(sample_order(), {"sync": {}}))
    assert not failures
    assert out["memo"] == strings[1].strip() and out["class_name"] == strings[2].strip()
    assert out["tax_code"] == strings[3].strip()
    assert out["lines"][0]["description"] == strings[4].strip()
    result = run_connex("validate", cwd=cli_workspace(tmp_path, folder), env=with_example_plugin)
    assert result.returncode == 0, result.stdout + result.stderr
    assert not marker.exists()


def test_shipped_mappings_still_load():
    assert set(load_rules([RULES]).mappings) >= {"orders", "refunds", "purchases", "inventory"}
