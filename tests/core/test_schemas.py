"""Every JSON Schema Connex ships (and those it builds from them) is a valid Draft 2020-12 schema.

Checked here, once, rather than on every start: the check cost ~45 ms of every CLI run.
"""

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from connex.paths import schema_path
from connex.plugin_manager import get_plugins
from connex.rules.loader import Registry

SCHEMAS = sorted(Path(schema_path("config.schema.json")).parent.glob("*.schema.json"))


def test_every_shipped_schema_is_found():
    assert {p.name for p in SCHEMAS} >= {"config.schema.json", "rules.schema.json", "mapping.schema.json",
                                         "fixture.schema.json"}


@pytest.mark.parametrize("path", SCHEMAS, ids=lambda path: path.name)
def test_shipped_schema_is_valid(path):
    Draft202012Validator.check_schema(json.loads(path.read_text(encoding="utf-8")))


def test_rules_schema_with_the_plugins_actions_and_comparisons_is_valid():
    Draft202012Validator.check_schema(Registry.from_plugins(get_plugins()).rules_schema())


def test_builtin_connectors_config_schemas_are_valid():
    plugins = get_plugins()
    connectors = {**plugins.sources(), **plugins.targets()}
    assert {"linnworks", "quickbooks_online", "quickbooks_desktop"} <= set(connectors)
    for cls in connectors.values():
        Draft202012Validator.check_schema(cls.config_schema)


def test_a_broken_schema_is_caught():
    with pytest.raises(Exception, match="is not valid"):
        Draft202012Validator.check_schema({"type": "objekt"})
