"""`connex sync --once [--dry-run]`: run the enabled flows once (`connex daemon` runs them on a schedule)."""

import argparse

from connex.config import load_config
from connex.plugin_manager import get_plugins
from connex.state import open_state
from connex.sync.engine import FLOW_ORDER, SyncEngine, enabled_flows
from connex.sync.progress import Progress
from connex.sync.report import RunOptions
from connex.sync.summary import exit_code, print_reports

DEFAULT_WAIT = 60.0


def seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 86400:  # also refuses nan and inf
        raise argparse.ArgumentTypeError(f"expected seconds between 0 and 86400, got {text!r}")
    return value


def add_arguments(parser):
    parser.add_argument("--once", action="store_true", help="run once and exit (the default; see `connex daemon`)")
    parser.add_argument("--dry-run", action="store_true", help="print what would be posted; write nothing")
    parser.add_argument("--retry-failed", action="store_true", help="try the documents that failed before again")
    parser.add_argument("--order", action="append", default=[], metavar="ID", help="sync this order (repeatable)")
    parser.add_argument("--flow", action="append", choices=FLOW_ORDER, help="only this flow (repeatable)")
    parser.add_argument("--no-progress", action="store_true", help="no progress line on the terminal")
    parser.add_argument("--wait", type=seconds, default=DEFAULT_WAIT, metavar="SECONDS",
                        help="when another run holds the state file, wait this long for it, then exit 3 "
                             f"(default {DEFAULT_WAIT:g})")


def run(args):
    from connex.logs import setup_logging

    plugins = get_plugins()
    config = load_config(args.config, plugins)
    setup_logging(config.log_level if config.log_level != "info" else "warning", config.log_format, config.secrets)
    flows = args.flow or (["orders"] if args.order else enabled_flows(config))
    options = RunOptions(dry_run=args.dry_run, retry_failed=args.retry_failed, order_ids=tuple(args.order),
                         lock_wait=args.wait)
    state = open_state(config.state_path)
    try:
        engine = SyncEngine(config, plugins, state)
    except BaseException:
        state.close()
        raise
    try:
        reports = engine.run(flows, options, Progress(enabled=None if not args.no_progress else False))
    finally:
        engine.close()
        state.close()
    print_reports(reports, dry_run=args.dry_run)
    return exit_code(reports)
