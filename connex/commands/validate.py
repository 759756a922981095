"""`connex validate`: the configuration (every connection of a connections folder), then every rule and mapping
file, every problem at once as file:line:col (Jinja syntax errors, unknown variables, and field paths the source's
records do not have)."""

from connex.commands._setup import connection_names
from connex.deployment import load_deployment
from connex.errors import ConfigErrors
from connex.fieldsupport import ignored_settings
from connex.paths import default_rules_dir
from connex.plugin_manager import get_plugins
from connex.rules.loader import load_rules
from connex.rules.recordschema import flow_schemas


def add_arguments(parser):
    pass


def run(args):
    plugins = get_plugins()
    problems = []
    configs = []
    # (rule paths, source plugin, target plugin): the source says what its records hold; with no config (it
    # failed) nothing is known of them
    path_sets: list[tuple] = []
    try:
        deployment = load_deployment(args.config, plugins)
    except ConfigErrors as exc:  # a single connex.yaml with problems
        problems.extend(exc.errors)
        path_sets.append((tuple(getattr(exc, "rule_paths", None) or [default_rules_dir()]), None, None))
        deployment = None
    if deployment is not None:
        names = connection_names(args)
        try:
            configs = deployment.select(names)
        except ConfigErrors as exc:
            problems.extend(exc.errors)
            configs = [c for n, c in deployment.connections.items() if not names or n in names]
        path_sets.extend((tuple(c.rule_paths), c.source_plugin, c.target_plugin) for c in configs)
        if not configs:
            path_sets.append((tuple(deployment.rule_paths or [default_rules_dir()]), None, None))
    # connections usually share their rules folders and plugins: each distinct set is loaded once
    loaded = {}
    notes: dict[tuple, list] = {}
    for key in path_sets:
        if key in loaded:
            continue
        paths, source_plugin, _ = key
        source = plugins.sources().get(source_plugin) if source_plugin else None
        schemas, notes[key] = flow_schemas(source) if source is not None else ({}, [])
        try:
            loaded[key] = load_rules(list(paths), plugins, record_schemas=schemas)
        except ConfigErrors as exc:
            loaded[key] = None
            problems.extend(e for e in exc.errors if str(e) not in {str(p) for p in problems})
    if problems:
        raise ConfigErrors(problems)
    for config in configs:
        label = config.path if config.name == "default" else f"{config.name} ({config.path})"
        print(f"{label}: OK (source {config.source_plugin}, target {config.target_plugin})")
    for key, rules in loaded.items():
        paths, _, target_plugin = key
        where = "" if len(loaded) == 1 else f" ({', '.join(str(p) for p in paths)})"
        print(f"rules{where}: {len(rules.files)} files, {len(rules.ruleset.rules)} rules, mappings for "
              f"{', '.join(sorted(rules.mappings))}")
        for note in rules.overridden:
            print(f"note: mapping {note}")
        if target_plugin:
            for line in ignored_settings(rules, target_plugin, plugins.targets().get(target_plugin)):
                print(f"warning: {line}")
        for note in notes[key]:
            print(f"note: {note}")
    return 0
