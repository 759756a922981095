"""Building the configured connectors from the config and the plugin registry."""

from __future__ import annotations

from connex.config import Config
from connex.connectors import KeyValueStore, SourceConnector, TargetConnector
from connex.plugin_manager import Plugins


def share_budget(state: KeyValueStore | None) -> None:
    """Every command, the daemon and the workers build connectors here: with the state on PostgreSQL, the
    calls to each QuickBooks company and Linnworks account are counted there, across processes and machines."""
    if state is not None:
        from connex.state.budget import install_for

        install_for(state)


def build_source(config: Config, plugins: Plugins, state: KeyValueStore | None = None) -> SourceConnector:
    share_budget(state)
    return plugins.sources()[config.source_plugin](config.source, state=state)


def build_target(config: Config, plugins: Plugins, state: KeyValueStore | None = None) -> TargetConnector:
    share_budget(state)
    return plugins.targets()[config.target_plugin](config.target, state=state)
