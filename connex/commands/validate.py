"""`connex validate`: the configuration, then every rule and mapping file, every problem at once as
file:line:col (Jinja syntax errors, unknown variables, and field paths the source's records do not have)."""

from connex.commands._setup import rule_paths
from connex.config import load_config
from connex.errors import ConfigErrors
from connex.fieldsupport import ignored_settings
from connex.plugin_manager import get_plugins
from connex.rules.loader import load_rules
from connex.rules.recordschema import flow_schemas


def add_arguments(parser):
    pass


def run(args):
    plugins = get_plugins()
    problems = []
    config = None
    paths = None
    try:
        config = load_config(args.config, plugins)
    except ConfigErrors as exc:
        problems.extend(exc.errors)
        paths = getattr(exc, "rule_paths", None)
    paths = paths or rule_paths(config)
    # the source says what its records hold; with no config (it failed) nothing is known of them
    source = plugins.sources().get(config.source_plugin) if config is not None else None
    schemas, notes = flow_schemas(source) if source is not None else ({}, [])
    try:
        rules = load_rules(paths, plugins, record_schemas=schemas)
    except ConfigErrors as exc:
        problems.extend(exc.errors)
        rules = None
    if problems:
        raise ConfigErrors(problems)
    print(f"{config.path}: OK (source {config.source_plugin}, target {config.target_plugin})")
    print(f"rules: {len(rules.files)} files, {len(rules.ruleset.rules)} rules, mappings for "
          f"{', '.join(sorted(rules.mappings))}")
    for note in rules.overridden:
        print(f"note: mapping {note}")
    target = plugins.targets().get(config.target_plugin)
    for line in ignored_settings(rules, config.target_plugin, target):
        print(f"warning: {line}")
    for note in notes:
        print(f"note: {note}")
    return 0
