"""The plugin is registered by entry point, and its config schema accepts exactly the documented keys."""

from __future__ import annotations

import jsonschema
import pluggy
import pytest
from connex_linnworks.connector import LinnworksSource
from connex_linnworks.simulator import LinnworksSimulator

from connex import hookspecs
from connex.connectors import SourceConnector


def test_hooks_register_the_source_and_the_simulator():
    pm = pluggy.PluginManager("connex")
    pm.add_hookspecs(hookspecs)
    pm.load_setuptools_entrypoints("connex.plugins", name="linnworks")
    sources = {k: v for result in pm.hook.connex_sources() for k, v in result.items()}
    simulators = {k: v for result in pm.hook.connex_simulators() for k, v in result.items()}
    assert sources["linnworks"] is LinnworksSource and issubclass(LinnworksSource, SourceConnector)
    with simulators["linnworks"]() as sim:
        config = sim.connector_config()
        assert config["auth_url"] == sim.url
        assert set(config) == {"application_id", "application_secret", "token", "auth_url"}
        jsonschema.validate(config, LinnworksSource.config_schema)


GOOD = {"application_id": "a", "application_secret": "b", "token": "c"}


@pytest.mark.parametrize(
    "config",
    [
        GOOD,
        {
            **GOOD,
            "auth_url": "https://api.linnworks.net",
            "page_size": 100,
            "timeout": 30,
            "max_retry_seconds": 0,
        },
    ],
)
def test_schema_accepts(config):
    jsonschema.validate(config, LinnworksSource.config_schema)


@pytest.mark.parametrize(
    "config",
    [
        {**GOOD, "server": "https://eu-ext.linnworks.net"},  # unknown key
        {"application_id": "a", "token": "c"},  # a secret missing
        {**GOOD, "page_size": 5000},
        {**GOOD, "auth_url": "api.linnworks.net"},
    ],
)
def test_schema_rejects(config):
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(config, LinnworksSource.config_schema)


def test_secrets_are_declared():
    assert set(LinnworksSource.secret_keys) == {"application_id", "application_secret", "token"}
    assert LinnworksSource.name == "linnworks" and LinnworksSimulator.name == "linnworks"
