"""`connex qbwc`: serve the QuickBooks Web Connector endpoint (until SIGTERM/Ctrl-C), or `--qwc PATH` to write
the .qwc file the bookkeeper loads into the Web Connector. The daemon serves the same endpoint on its own."""

import signal
import threading

from connex.config import load_config
from connex.errors import ConfigError
from connex.logs import setup_logging
from connex.plugin_manager import get_plugins
from connex.runtime import build_target
from connex.state import open_state
from connex.sync.outcomes import record_outcomes

OUTCOME_SECONDS = 2


def add_arguments(parser):
    parser.add_argument("--qwc", metavar="PATH", help="write the .qwc file for the Web Connector and exit")


def run(args):
    plugins = get_plugins()
    config = load_config(args.config, plugins, connection=_one(args))
    if config.target_plugin != "quickbooks_desktop":
        raise ConfigError(f"connex qbwc serves QuickBooks Desktop; the configured target is {config.target_plugin}")
    if args.qwc:
        from connex_quickbooks_desktop.qwc import write_qwc  # only --qwc needs it

        state = open_state(config.state_path, connection=config.name)
        write_qwc(config.target, args.qwc, state=state)
        state.close()
        print(f"wrote {args.qwc}: load it in the QuickBooks Web Connector (Add an application)")
        return 0
    setup_logging(config.log_level, config.log_format, config.secrets)
    state = open_state(config.state_path, connection=config.name)
    target = build_target(config, plugins, state)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    services = [service.start() for service in target.services()]
    try:
        for service in services:
            print(f"QuickBooks Web Connector endpoint on {service.url} (Ctrl-C to stop)", flush=True)
        # outcomes into the ledger as the Web Connector reports them, so `connex status` is current
        while not stop.wait(OUTCOME_SECONDS):
            record_outcomes(target, state)
    finally:
        for service in services:
            service.stop()
        record_outcomes(target, state)
        target.close()
        state.close()
    return 0


def _one(args) -> str | None:
    """The connection ``--connection`` names (the only one when none is named)."""
    names = getattr(args, "connection", None) or []
    if len(names) > 1:
        raise ConfigError("this command works on one connection; give --connection once")
    return names[0] if names else None
