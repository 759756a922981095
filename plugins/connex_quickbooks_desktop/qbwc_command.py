"""`connex qbwc`: serve the QuickBooks Web Connector endpoint (until SIGTERM/Ctrl-C), or `--qwc PATH` to write
the .qwc file the bookkeeper loads into the Web Connector. The daemon serves the same endpoint on its own.

One endpoint serves every QuickBooks Desktop connection of the deployment (``--connection`` narrows it): the Web
Connector's user name says which connection a session is for. Any number of these processes may run on any
machines behind a load balancer when the state is on PostgreSQL: sessions and the queue are in the database.
A .qwc is per connection (its user name): ``--qwc PATH --connection NAME``."""

import logging
import signal
import threading

from connex.commands._setup import one_config, selected
from connex.connectors import merge_services
from connex.errors import ConfigError
from connex.logs import setup_logging
from connex.plugin_manager import get_plugins
from connex.runtime import build_target
from connex.state import open_state
from connex.sync.outcomes import record_outcomes

log = logging.getLogger(__name__)
OUTCOME_SECONDS = 2
DESKTOP = "quickbooks_desktop"


def add_arguments(parser):
    parser.add_argument("--qwc", metavar="PATH", help="write the .qwc file for the Web Connector and exit")


def run(args):
    plugins = get_plugins()
    if args.qwc:
        config = one_config(args, plugins)
        if config.target_plugin != DESKTOP:
            raise ConfigError(f"connex qbwc serves QuickBooks Desktop; the configured target is {config.target_plugin}")
        from connex_quickbooks_desktop.qwc import write_qwc  # only --qwc needs it

        state = open_state(config.state_path, connection=config.name)
        write_qwc(config.target, args.qwc, state=state)
        state.close()
        print(f"wrote {args.qwc}: load it in the QuickBooks Web Connector (Add an application)")
        return 0
    deployment, configs = selected(args, plugins)
    desktop = [c for c in configs if c.target_plugin == DESKTOP]
    if not desktop:
        plugins_named = ", ".join(sorted({c.target_plugin for c in configs}))
        raise ConfigError(f"connex qbwc serves QuickBooks Desktop; the configured target is {plugins_named}")
    setup_logging(desktop[0].log_level, desktop[0].log_format, deployment.secrets)
    opened = []  # (state, target) per connection
    try:
        for config in desktop:
            state = open_state(config.state_path, connection=config.name)
            opened.append((state, build_target(config, plugins, state)))
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        services = [s.start() for s in merge_services([s for _, target in opened for s in target.services()])]
        try:
            for service in services:
                print(f"QuickBooks Web Connector endpoint on {service.url} for {len(desktop)} connection(s) "
                      "(Ctrl-C to stop)", flush=True)
            # outcomes into each ledger as the Web Connector reports them, so `connex status` is current
            while not stop.wait(OUTCOME_SECONDS):
                for state, target in opened:
                    _record(state, target)
        finally:
            for service in services:
                service.stop()
            for state, target in opened:
                _record(state, target)
    finally:
        for state, target in opened:
            target.close()
            state.close()
    return 0


def _record(state, target) -> None:
    """One connection's outcomes into its ledger; a failure (its database busy) is logged and retried next time,
    never stopping the endpoint or the other connections."""
    try:
        record_outcomes(target, state)
    except Exception:
        log.exception("%s: recording the Web Connector's outcomes failed; retried in %ss", state.connection,
                      OUTCOME_SECONDS)
