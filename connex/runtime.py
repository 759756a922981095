"""Building the configured connectors from the config and the plugin registry."""

from __future__ import annotations

from connex.config import Config
from connex.connectors import KeyValueStore, SourceConnector, TargetConnector
from connex.plugin_manager import Plugins


def build_source(config: Config, plugins: Plugins, state: KeyValueStore | None = None) -> SourceConnector:
    return plugins.sources()[config.source_plugin](config.source, state=state)


def build_target(config: Config, plugins: Plugins, state: KeyValueStore | None = None) -> TargetConnector:
    return plugins.targets()[config.target_plugin](config.target, state=state)
