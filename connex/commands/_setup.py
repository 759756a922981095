"""What several commands need: the plugins, the config (when there is one), the rules and the engine."""

from __future__ import annotations

from pathlib import Path

from connex.config import DEFAULT_CONFIG, Config, load_config
from connex.paths import default_rules_dir
from connex.plugin_manager import get_plugins
from connex.rules.engine import EngineSettings, RulesEngine
from connex.rules.loader import LoadedRules, load_rules


def config_or_none(args) -> Config | None:
    """The config if one was named or ./connex.yaml exists; rule tools also work without one."""
    if args.config is None and not Path(DEFAULT_CONFIG).exists():
        return None
    return load_config(args.config, get_plugins())


def rule_paths(config: Config | None) -> list[Path]:
    return config.rule_paths if config is not None else [default_rules_dir()]


def engine_for(config: Config | None, rules: LoadedRules | None = None) -> RulesEngine:
    rules = rules or load_rules(rule_paths(config), get_plugins())
    settings = EngineSettings.from_sync(config.sync) if config is not None else EngineSettings()
    return RulesEngine(rules, settings)
