"""`connex validate`: the configuration, then every rule and mapping file, every problem at once as
file:line:col (Jinja syntax errors and unknown variables included)."""

from connex.commands._setup import rule_paths
from connex.config import load_config
from connex.errors import ConfigErrors
from connex.fieldsupport import ignored_settings
from connex.plugin_manager import get_plugins
from connex.rules.loader import load_rules


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
    try:
        rules = load_rules(paths, plugins)
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
    return 0
