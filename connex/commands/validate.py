"""`connex validate`: load the configuration (and, once the rules engine lands, every rule and mapping) and
report every problem at once as file:line:col."""

from connex.config import load_config
from connex.plugin_manager import get_plugins


def add_arguments(parser):
    pass


def run(args):
    config = load_config(args.config, get_plugins())
    print(f"{config.path}: OK (source {config.source_plugin}, target {config.target_plugin})")
    return 0
