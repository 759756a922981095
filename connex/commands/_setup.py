"""What several commands need: the plugins, the config (when there is one), the rules and the engine."""

from __future__ import annotations

from pathlib import Path

from connex.config import DEFAULT_CONFIG, Config
from connex.deployment import Deployment, load_deployment
from connex.errors import ConfigError
from connex.paths import default_rules_dir
from connex.plugin_manager import get_plugins
from connex.rules.engine import EngineSettings, RulesEngine
from connex.rules.loader import LoadedRules, load_rules


def config_or_none(args) -> Config | None:
    """The config if one was named or ./connex.yaml exists; rule tools also work without one."""
    if args.config is None and not Path(DEFAULT_CONFIG).exists():
        return None
    return one_config(args)


def connection_names(args) -> list[str] | None:
    """The ``--connection`` names given (None: every connection)."""
    return list(getattr(args, "connection", None) or []) or None


def one_config(args, plugins=None) -> Config:
    """The one connection a command works on: the named one, or the only one (a clear error otherwise)."""
    names = connection_names(args)
    if names and len(names) > 1:
        raise ConfigError(f"this command works on one connection; --connection was given {len(names)} times")
    return load_deployment(args.config, plugins or get_plugins()).one(names[0] if names else None)


def selected(args, plugins=None) -> tuple[Deployment, list[Config]]:
    """The deployment and the connections ``--connection`` names (every one by default)."""
    deployment = load_deployment(args.config, plugins or get_plugins())
    return deployment, deployment.select(connection_names(args))


def open_connection_state(config: Config):
    from connex.state import open_state  # only the commands that read the state need it

    return open_state(config.state_path, connection=config.name)


def rule_paths(config: Config | None) -> list[Path]:
    return config.rule_paths if config is not None else [default_rules_dir()]


def engine_for(config: Config | None, rules: LoadedRules | None = None) -> RulesEngine:
    rules = rules or load_rules(rule_paths(config), get_plugins())
    settings = EngineSettings.from_sync(config.sync) if config is not None else EngineSettings()
    return RulesEngine(rules, settings)
