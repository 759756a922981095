"""The hooks a Connex plugin can implement.

A plugin is a module (or package) exposed through the setuptools entry-point group ``connex.plugins`` whose
functions are decorated with ``connex.hookimpl`` and named after the hooks below. Every hook takes no arguments
and returns a dict from a name to the thing registered; names must be unique across plugins. See docs/plugins.md.
"""

from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("connex")
hookimpl = pluggy.HookimplMarker("connex")


@hookspec
def connex_sources():
    """Register source connectors: return ``{name: cls}`` where ``cls`` subclasses
    ``connex.connectors.SourceConnector``. A source reads orders, purchase orders, suppliers, refunds and stock
    locations, and writes stock levels. ``name`` is what users write as ``source: {plugin: name}``."""


@hookspec
def connex_targets():
    """Register target connectors: return ``{name: cls}`` where ``cls`` subclasses
    ``connex.connectors.TargetConnector``. A target finds or creates customers, vendors and items, posts sales
    documents, purchase orders, bills and refunds, and reads inventory levels."""


@hookspec
def connex_simulators():
    """Register simulators of the systems a plugin connects to: return ``{connector_name: factory}``. ``factory()``
    returns an unstarted simulator with ``start()``/``stop()``: either a server (a
    ``connex.simulation.SimulatorServer`` holding a seeded account, offering ``connector_config()``: the config block
    that reaches it), or a client that drives the connector's own service, offering ``run_session(url, username,
    password)`` (the QuickBooks Web Connector). ``connex demo`` and the tests use them."""


@hookspec
def connex_rule_actions():
    """Register rule actions: return ``{type_name: connex.rules.actions.Action}``. The action's JSON Schema
    becomes one branch of the rules schema, selected by its ``type``."""


@hookspec
def connex_comparisons():
    """Register rule comparisons: return ``{name: fn}`` where ``fn(field_value, rule_value) -> bool``."""


@hookspec
def connex_jinja_filters():
    """Register Jinja filters usable in mappings: return ``{name: fn}``. Filters run inside the sandbox."""


@hookspec
def connex_commands():
    """Register command-line commands: return ``{name: (help, module)}``. ``module`` is the dotted name of a
    module offering ``add_arguments(parser)`` (an ``argparse`` sub-parser) and ``run(args) -> exit code``, as the
    core's own commands in ``connex/commands/`` do. ``connex --help`` lists the command with its help text; the
    module is imported only when its command is run, so a plugin's imports never slow the others down. A name
    the core uses (``sync``, ``validate``, ...) cannot be taken."""
