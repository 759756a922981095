"""`connex sync --once [--dry-run]`: run the enabled flows once (`connex daemon` runs them on a schedule)."""

from connex.config import load_config
from connex.plugin_manager import get_plugins
from connex.state import open_state
from connex.sync.engine import FLOW_ORDER, SyncEngine, enabled_flows
from connex.sync.progress import Progress
from connex.sync.report import RunOptions
from connex.sync.summary import exit_code, print_reports


def add_arguments(parser):
    parser.add_argument("--once", action="store_true", help="run once and exit (the default; see `connex daemon`)")
    parser.add_argument("--dry-run", action="store_true", help="print what would be posted; write nothing")
    parser.add_argument("--retry-failed", action="store_true", help="try the documents that failed before again")
    parser.add_argument("--order", action="append", default=[], metavar="ID", help="sync this order (repeatable)")
    parser.add_argument("--flow", action="append", choices=FLOW_ORDER, help="only this flow (repeatable)")
    parser.add_argument("--no-progress", action="store_true", help="no progress line on the terminal")


def run(args):
    from connex.logs import setup_logging

    plugins = get_plugins()
    config = load_config(args.config, plugins)
    setup_logging(config.log_level if config.log_level != "info" else "warning", config.log_format, config.secrets)
    flows = args.flow or (["orders"] if args.order else enabled_flows(config))
    options = RunOptions(dry_run=args.dry_run, retry_failed=args.retry_failed, order_ids=tuple(args.order))
    state = open_state(config.state_path)
    engine = SyncEngine(config, plugins, state)
    try:
        reports = engine.run(flows, options, Progress(enabled=None if not args.no_progress else False))
    finally:
        engine.close()
        state.close()
    print_reports(reports, dry_run=args.dry_run)
    return exit_code(reports)
