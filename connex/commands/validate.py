"""`connex validate`: the configuration (every connection of a connections folder), then every rule and mapping
file, every problem at once as file:line:col (Jinja syntax errors and unknown variables included)."""

from connex.commands._setup import connection_names
from connex.deployment import load_deployment
from connex.errors import ConfigErrors
from connex.paths import default_rules_dir
from connex.plugin_manager import get_plugins
from connex.rules.loader import load_rules


def add_arguments(parser):
    pass


def run(args):
    plugins = get_plugins()
    problems = []
    configs = []
    path_sets: list[list] = []
    try:
        deployment = load_deployment(args.config, plugins)
    except ConfigErrors as exc:  # a single connex.yaml with problems
        problems.extend(exc.errors)
        path_sets.append(getattr(exc, "rule_paths", None) or [default_rules_dir()])
        deployment = None
    if deployment is not None:
        names = connection_names(args)
        try:
            configs = deployment.select(names)
        except ConfigErrors as exc:
            problems.extend(exc.errors)
            configs = [c for n, c in deployment.connections.items() if not names or n in names]
        path_sets.extend(c.rule_paths for c in configs)
        if not configs:
            path_sets.append(deployment.rule_paths or [default_rules_dir()])
    # connections usually share their rules folders: each distinct set is loaded once
    loaded = {}
    for paths in path_sets:
        key = tuple(paths)
        if key in loaded:
            continue
        try:
            loaded[key] = load_rules(paths, plugins)
        except ConfigErrors as exc:
            loaded[key] = None
            problems.extend(e for e in exc.errors if str(e) not in {str(p) for p in problems})
    if problems:
        raise ConfigErrors(problems)
    for config in configs:
        label = config.path if config.name == "default" else f"{config.name} ({config.path})"
        print(f"{label}: OK (source {config.source_plugin}, target {config.target_plugin})")
    for paths, rules in loaded.items():
        where = "" if len(loaded) == 1 else f" ({', '.join(str(p) for p in paths)})"
        print(f"rules{where}: {len(rules.files)} files, {len(rules.ruleset.rules)} rules, mappings for "
              f"{', '.join(sorted(rules.mappings))}")
        for note in rules.overridden:
            print(f"note: mapping {note}")
    return 0
