"""Field paths of templates and conditions checked against the source's record schema (issue 15 item 4)."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connex.errors import ConfigErrors
from connex.lint import did_you_mean
from connex.plugin_manager import get_plugins
from connex.rules.loader import load_rules
from connex.rules.pathcheck import place_findings, walk_template
from connex.rules.recordschema import ANY, SchemaError, flow_schemas, parse_schema
from connex.rules.templates import make_environment
from tests.conftest import run_connex
from tests.rules.conftest import RULES, write_yaml

ENV = make_environment()
LINE = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+):(?P<col>\d+): (?P<msg>.+)$")


def findings(template: str, schema: dict, name: str = "order"):
    tree = ENV.parse(template)
    found, _ = walk_template(tree, {name: parse_schema(schema)})
    place_findings(ENV, template, found)
    return found


SCHEMA = {
    "root": "Order",
    "types": {
        "Order": {"NumOrderId": "integer", "GeneralInfo": "General", "Items": ["Item"], "Received": "date-time",
                  "Extra": {"*": "string"}, "Raw": "any", "Notes": ["string"], "Customer": "Customer"},
        "General": {"Source": "string", "SubSource": "string", "Status": "string"},
        "Item": {"SKU": "string", "Title": "string", "Quantity": "integer", "RowId": "string", "Children": ["Item"],
                 "TaxRate": "number"},
        "Customer": {"Name": "string", "Address": "Address", "Billing": "Address"},
        "Address": {"Town": "string", "Country": "string"},
    },
}


# --- what is accepted: no false positives ------------------------------------------------------------------------
@pytest.mark.parametrize("template", [
    "{{ order.GeneralInfo.SubSource }}",
    "{{ order['GeneralInfo']['SubSource'] }}",
    "{% for item in order.Items %}{{ item.SKU }}{{ item.Children[0].Title }}{{ loop.index }}{% endfor %}",
    "{% set g = order.GeneralInfo %}{{ g.Source ~ g.SubSource }}",
    "{{ (order.Items | first).SKU }}{{ (order.Items | sort(attribute='Quantity') | last).Title }}",
    "{{ order.Items | selectattr('RowId', 'equalto', 'x') | map(attribute='TaxRate') | first }}",
    "{{ order.Items | sum(attribute='Quantity') }}{{ order.Items | map(attribute='Children.0.SKU') | list }}",
    "{{ order.Extra.anything_at_all }}{{ order.Extra['Any Key'] }}{{ order.Raw.whatever.below }}",
    "{{ order.GeneralInfo.Source.lower() }}{{ order.Received.year }}{{ order.Items.count(1) }}",
    "{{ order.GeneralInfo.get('SubSource') }}{{ order.Notes | join(', ') }}",
    "{{ (order.Customer.Billing or order.Customer.Address).Town }}",
    "{{ (order.Items or []) | map(attribute='SKU') | join }}",
    "{{ order.GeneralInfo.Source if order.GeneralInfo else 'none' }}",
    "{{ order.Items[0].SKU if order.Items else '' }}{{ order.Items[-1].SKU }}{{ order.Items[1:] | length }}",
    "{% for k, v in order.Extra.items() %}{{ k }}{{ v.anything }}{% endfor %}",
    "{{ (order.Items | default([]) | first).SKU }}{{ order.Items[order.NumOrderId].SKU }}",
    "{% if order.GeneralInfo.Status == 'PAID' %}{{ order.NumOrderId }}{% else %}{{ order.Customer.Name }}{% endif %}",
    "{{ sync.anything.goes }}",
])
def test_valid_paths_are_not_reported(template):
    assert findings(template, SCHEMA) == []


@pytest.mark.parametrize("template, message, token", [
    ("{{ order.GeneralInfo.SubSorce }}", "unknown field 'SubSorce' of order.GeneralInfo (did you mean 'SubSource'?)",
     "SubSorce"),
    ("{{ order['GeneralInfo']['Sorce'] }}", "unknown field 'Sorce' of order['GeneralInfo'] (did you mean 'Source'?)",
     "Sorce"),
    ("{% for item in order.Items %}{{ item.SKUs }}{% endfor %}", "unknown field 'SKUs' of item (did you mean 'SKU'?)",
     "SKUs"),
    ("{% set g = order.GeneralInfo %}{{ g.Statu }}", "unknown field 'Statu' of g (did you mean 'Status'?)", "Statu"),
    ("{{ order.Items.SKU }}", "order.Items is a list of Item: 'SKU' is a field of each of its elements", "SKU"),
    ("{{ order.NumOrderId.Value }}", "order.NumOrderId is a whole number: it has no field 'Value'", "Value"),
    ("{{ order.Items | map(attribute='Titel') | first }}", "unknown field 'Titel' of each element of order.Items "
                                                           "(did you mean 'Title'?)", "Titel"),
    ("{{ order.Items | selectattr('RowID', 'equalto', 1) | list }}", "did you mean 'RowId'?", "RowID"),
    ("{{ (order.Customer.Billing or order.Customer.Address).Twon }}", "did you mean 'Town'?", "Twon"),
    ("{{ (order.Items | first).Qantity }}", "did you mean 'Quantity'?", "Qantity"),
    ("text {{ order.NumOrderId }}\n  and {{ order.Customer.Nmae }}", "did you mean 'Name'?", "Nmae"),
])
def test_unknown_paths_are_reported_at_their_name(template, message, token):
    found = findings(template, SCHEMA)
    assert len(found) == 1, found
    assert message in found[0].message
    lines = template.splitlines()
    assert lines[found[0].line - 1][found[0].column:].startswith(token)


def test_a_record_with_no_schema_name_is_not_checked():
    assert findings("{{ other.Anything.At.All }}", SCHEMA) == []


def test_malformed_declarations_are_refused_with_the_place():
    with pytest.raises(SchemaError, match="Order.X: unknown type 'strin'"):
        parse_schema({"root": "Order", "types": {"Order": {"X": "strin"}}})
    with pytest.raises(SchemaError):
        parse_schema({"types": {}})
    assert parse_schema({"root": "any", "types": {}}) is ANY


# --- property: generated valid paths pass, a mutated segment is reported at its place -----------------------------
NAMES = st.from_regex(r"[A-Z][a-z]{3,8}", fullmatch=True)


@st.composite
def nested(draw):
    """A schema of nested objects, one path through it, and how the template writes each step."""
    depth = draw(st.integers(1, 4))
    types, path, siblings = {}, [], []
    for level in range(depth):
        fields = draw(st.lists(NAMES, min_size=1, max_size=6, unique=True))
        chosen = draw(st.sampled_from(fields))
        types[f"T{level}"] = {f: "string" for f in fields}
        if level < depth - 1:
            types[f"T{level}"][chosen] = f"T{level + 1}"
        path.append(chosen)
        siblings.append(fields)
    styles = draw(st.lists(st.sampled_from(["attr", "item"]), min_size=depth, max_size=depth))
    via = draw(st.sampled_from(["direct", "set", "loop"]))
    if via == "loop":  # the first step is a list, walked by a for loop
        types["Root"] = {"List": ["T0"]}
    return {"root": "Root" if via == "loop" else "T0", "types": types}, path, siblings, styles, via


def write(path: list[str], styles: list[str], via: str, mutate: int | None = None, mutant: str = ""):
    """The template, and the offset of the mutated name in it."""
    head = {"direct": "{{ rec", "set": "{% set v = rec %}{{ v", "loop": "{% for v in rec.List %}{{ v"}[via]
    text, offset = head, None
    for i, (name, style) in enumerate(zip(path, styles, strict=True)):
        name = mutant if i == mutate else name
        text += "." if style == "attr" else "['"
        if i == mutate:
            offset = len(text)
        text += name + ("" if style == "attr" else "']")
    return text + " }}" + ("{% endfor %}" if via == "loop" else ""), offset


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(nested())
def test_generated_valid_paths_are_never_reported(case):
    schema, path, _, styles, via = case
    template, _ = write(path, styles, via)
    assert findings(template, schema, "rec") == []


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(nested(), st.data())
def test_a_mutated_segment_is_reported_with_its_suggestion_and_position(case, data):
    schema, path, siblings, styles, via = case
    level = data.draw(st.integers(0, len(path) - 1))
    original = path[level]
    cut = data.draw(st.integers(0, len(original) - 1))
    mutant = data.draw(st.sampled_from([original[:cut] + original[cut + 1:],  # a letter dropped
                                        original[:cut] + "x" + original[cut:],  # one added
                                        original.swapcase()]))
    if mutant in siblings[level] or not mutant.isidentifier():
        return
    template, offset = write(path, styles, via, level, mutant)
    found = findings(template, schema, "rec")
    assert len(found) == 1, (template, found)
    assert f"unknown field '{mutant}'" in found[0].message
    assert found[0].message.endswith(did_you_mean(mutant, siblings[level]))
    assert (found[0].line, found[0].column) == (1, offset)


def test_a_one_letter_typo_suggests_the_field_among_its_siblings():
    schema = {"root": "T", "types": {"T": {"Alpha": "U"}, "U": {"Bravo": "string", "Zulu": "string"}}}
    found = findings("{{ rec.Alpha.Brav }}", schema, "rec")
    assert len(found) == 1 and found[0].message.endswith("(did you mean 'Bravo'?)")
    assert findings("{{ rec.Alpha.Qqqqq }}", schema, "rec")[0].message == "unknown field 'Qqqqq' of rec.Alpha"


# --- the shipped rules and examples: zero findings with the Linnworks schema ------------------------------------
def linnworks_schemas():
    schemas, notes = flow_schemas(get_plugins().sources()["linnworks"])
    assert notes == [] and set(schemas) == {"orders", "purchases", "refunds", "inventory"}
    return schemas


@pytest.mark.parametrize("example", [None, *sorted(p.name for p in (RULES / "examples").glob("*.yaml"))])
def test_every_shipped_rule_file_and_example_validates_with_no_finding(example):
    extra = [RULES / "examples" / example] if example else []
    load_rules([RULES, *extra], get_plugins(), record_schemas=linnworks_schemas())


def test_a_typo_in_a_mapping_a_rule_and_an_alias_is_reported_in_process(tmp_path):
    text = (RULES / "mappings" / "sales_order.yaml").read_text(encoding="utf-8")
    text = text.replace("sub_source: order.GeneralInfo.SubSource", "sub_source: order.GeneralInfo.SubSourse")
    text = text.replace('"{{ order.GeneralInfo.ReferenceNum }}"', '"{{ order.GeneralInfo.RefNum }}"')
    (tmp_path / "sales_order.yaml").write_text(text, encoding="utf-8")
    write_yaml(tmp_path, "mine.yaml", """
        kind: rules
        rules:
          - type: map_line_class
            when: {field: item.Titel, comparison: equals, value: X}
            value: "{{ order.TotalsInfo.Curreny }}"
    """)
    with pytest.raises(ConfigErrors) as caught:
        load_rules([RULES, tmp_path / "sales_order.yaml", tmp_path / "mine.yaml"], get_plugins(),
                   record_schemas=linnworks_schemas())
    messages = [str(e) for e in caught.value.errors]
    assert any("aliases.sub_source: unknown field 'SubSourse'" in m and "'SubSource'" in m for m in messages)
    assert any("source_reference.value: unknown field 'RefNum' of order.GeneralInfo" in m for m in messages)
    assert any("mine.yaml:4:24: rules[0].when.field: unknown field 'Titel' of item (did you mean 'Title'?)" in m
               for m in messages), messages
    assert any("mine.yaml:5:33: rules[0].value: unknown field 'Curreny'" in m for m in messages), messages


# --- the command a user runs ----------------------------------------------------------------------------------------
def test_validate_reports_a_template_typo_at_its_column_and_exits_2(tmp_path):
    write_yaml(tmp_path, "connex.yaml", """
        source: {plugin: linnworks, application_id: a, application_secret: b, token: c}
        target: {plugin: quickbooks_online, client_id: x, client_secret: y, realm_id: "1", refresh_token: z}
        rules: [mine.yaml]
    """)
    path = write_yaml(tmp_path, "mine.yaml", """
        kind: rules
        rules:
          - type: map_class
            value: "Store {{ order.GeneralInfo.SubSorce }}"
          - type: map_store_name
            when: {field: order.GeneralInfo.Source, comparison: is_not, value: x}
            value: |
              {% for item in order.Items %}
                {{ item.SKU }} {{ item.Quantiy }}
              {% endfor %}
    """)
    result = run_connex("validate", cwd=tmp_path)
    found = [LINE.match(line).groupdict() for line in result.stderr.splitlines() if LINE.match(line)]
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [(f["line"], f["col"]) for f in found] == [("4", str(lines[3].index("SubSorce") + 1)),
                                                      ("9", str(lines[8].index("Quantiy") + 1))], result.stderr
    assert found[0]["msg"] == ("rules[0].value: unknown field 'SubSorce' of order.GeneralInfo "
                               "(did you mean 'SubSource'?)")
    assert "unknown field 'Quantiy' of item (did you mean 'Quantity'?)" in found[1]["msg"]


def test_validate_says_once_when_the_source_declares_no_schema(tmp_path, with_example_plugin):
    write_yaml(tmp_path, "connex.yaml", """
        source: {plugin: jsonl, folder: in}
        target: {plugin: jsonl, folder: out}
        rules: [mine.yaml]
    """)
    write_yaml(tmp_path, "mine.yaml", """
        kind: rules
        rules:
          - {type: map_class, value: "{{ order.No.Such.Field }}"}
    """)
    result = run_connex("validate", cwd=tmp_path, env=with_example_plugin)
    assert result.returncode == 0, result.stderr
    notes = [line for line in result.stdout.splitlines() if "declares no record schema" in line]
    assert notes == ["note: the jsonl source declares no record schema for orders, purchases, refunds: field "
                     "paths in those flows' templates and rules are not checked"]
