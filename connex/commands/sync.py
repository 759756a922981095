"""`connex sync --once [--dry-run]`: run the enabled flows once (`connex daemon` runs them on a schedule)."""

import argparse
import datetime as dt
import logging
import sys

from connex.alerts import alerts_for
from connex.commands import _failures
from connex.commands._setup import selected
from connex.errors import ConfigError, ConnexError
from connex.plugin_manager import get_plugins
from connex.state import open_state
from connex.sync.engine import FLOW_ORDER, SyncEngine, enabled_flows
from connex.sync.progress import Progress
from connex.sync.report import FlowReport, RunOptions
from connex.sync.summary import ORDER, exit_code

DEFAULT_WAIT = 60.0
EXIT_CONFIG, EXIT_INCOMPLETE = 2, 3  # as connex.cli says


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
    parser.add_argument("--repost", nargs="?", const="default", choices=["default", "update", "void_and_repost"],
                        metavar="MODE",
                        help="with --order: apply today's rules to the order's posted documents and correct them "
                             "in QuickBooks (MODE update or void_and_repost; default: sync.on_change, else update)")
    parser.add_argument("--yes", action="store_true", help="with --repost: do not ask for confirmation")
    parser.add_argument("--flow", action="append", choices=FLOW_ORDER, help="only this flow (repeatable)")
    parser.add_argument("--no-progress", action="store_true", help="no progress line on the terminal")
    parser.add_argument("--wait", type=seconds, default=DEFAULT_WAIT, metavar="SECONDS",
                        help="when another run holds the state file, wait this long for it, then exit 3 "
                             f"(default {DEFAULT_WAIT:g})")
    parser.add_argument("--from", dest="from_day", type=_day, metavar="DATE",
                        help="re-read from this day (YYYY-MM-DD, UTC) and post what is missing; the ledger skips "
                             "what is already posted and the saved position does not move")
    parser.add_argument("--to", dest="to_day", type=_day, metavar="DATE",
                        help="with --from: the last day of the window (default: now)")


def _day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def window(from_day: dt.date | None, to_day: dt.date | None) -> tuple | None:
    """Whole UTC days: --from's midnight to the last instant of --to."""
    if from_day is None:
        if to_day is not None:
            raise ConfigError("--to needs --from (the first day of the window to re-read)")
        return None
    if to_day is not None and to_day < from_day:
        raise ConfigError(f"--to {to_day} is before --from {from_day}")
    start = dt.datetime(from_day.year, from_day.month, from_day.day, tzinfo=dt.UTC)
    end = (dt.datetime(to_day.year, to_day.month, to_day.day, tzinfo=dt.UTC) + dt.timedelta(days=1)
           - dt.timedelta(microseconds=1)) if to_day else None
    return start, end


def repost_mode(args, config) -> str | None:
    """``--repost``'s mode once the user has confirmed it (``--yes``, or "y" on a terminal)."""
    if not getattr(args, "repost", None):
        return None
    if not args.order:
        raise ConfigError("--repost needs --order ID: it corrects the posted documents of the orders named")
    mode = args.repost if args.repost != "default" else (
        config.sync.on_change if config.sync.on_change != "report" else "update")
    if args.dry_run or args.yes:
        return mode
    what = "update in place" if mode == "update" else "void and post again with a suffixed number"
    question = (f"This will {what} the posted QuickBooks documents of order(s) {', '.join(args.order)} whose "
                "content differs under today's rules. Continue? [y/N] ")
    if not sys.stdin.isatty():
        raise ConfigError("--repost changes posted documents in QuickBooks: confirm on a terminal, or add --yes")
    if input(question).strip().lower() not in ("y", "yes"):
        raise ConfigError("--repost cancelled; nothing was changed")
    return mode


def run(args):
    from connex.logs import setup_logging

    plugins = get_plugins()
    deployment, configs = selected(args, plugins)
    setup_logging(deployment.log_level if deployment.log_level != "info" else "warning", deployment.log_format,
                  deployment.secrets)
    if deployment.log_format != "json":
        # the summary below lists every failure, grouped by reason: on a terminal, once is enough
        for handler in logging.getLogger().handlers:
            handler.addFilter(lambda record: getattr(record, "status", None) != "failed")
    span = window(args.from_day, args.to_day)
    if len(configs) == 1:
        return sync_connection(configs[0], plugins, args, span)
    codes = []
    for config in configs:  # one after another; `connex daemon` runs several at once
        print(f"== connection {config.name}", flush=True)
        try:
            codes.append(sync_connection(config, plugins, args, span))
        except ConnexError as exc:  # one connection that cannot run does not stop the others
            print(f"error: {config.name}: {exc}", file=sys.stderr)
            codes.append(EXIT_CONFIG if isinstance(exc, ConfigError) else EXIT_INCOMPLETE)
    return max(codes)


def sync_connection(config, plugins, args, span) -> int:
    flows = args.flow or (["orders"] if args.order else enabled_flows(config))
    if span is not None and "inventory" in flows:
        flows = [f for f in flows if f != "inventory"]  # stock levels are now, not history
        print("inventory: not re-read for a date window (stock levels have no history)")
    options = RunOptions(dry_run=args.dry_run, retry_failed=args.retry_failed, order_ids=tuple(args.order),
                         window=span, lock_wait=args.wait, repost=repost_mode(args, config))
    state = open_state(config.state_path, connection=config.name)
    alerts = alerts_for(config, state) if not args.dry_run else None
    try:
        engine = SyncEngine(config, plugins, state)
    except BaseException as exc:
        if alerts and isinstance(exc, ConnexError):
            alerts.pass_failed(None, str(exc))
        state.close()
        raise
    try:
        reports = engine.run(flows, options, Progress(enabled=None if not args.no_progress else False))
        skipped = skipped_in(state, reports)
        if alerts:
            alerts.after_pass(reports)
    finally:
        engine.close()
        state.close()
    print_run(reports, skipped, dry_run=args.dry_run)
    return exit_code(reports)


def skipped_in(state, reports: list[FlowReport]) -> dict[str, list[tuple[str, str]]]:
    """flow -> (document, reason) of every document these runs skipped, from the ledger that recorded them."""
    runs = {r.run_id for r in reports if r.run_id is not None}
    found: dict[str, list[tuple[str, str]]] = {}
    for row in state.rows(status="skipped"):
        if row.run_id in runs:
            found.setdefault(row.flow, []).append((f"{row.kind} {row.number or row.source_id}", row.error or ""))
    for rows in found.values():
        rows.sort()
    return found


def print_run(reports: list[FlowReport], skipped: dict[str, list[tuple[str, str]]], out=sys.stdout, *,
              dry_run: bool = False) -> None:
    """Per flow: the counts, why it stopped early, its failures grouped by reason with the fix, the documents
    it skipped and why, and source documents changed since they were posted."""
    for report in reports:
        counts = ", ".join(f"{report.counts[k]} {k.replace('_', ' ')}" for k in ORDER if report.counts.get(k))
        print(f"{report.flow}: {report.status}: {counts or 'nothing to do'}", file=out)
        if report.incomplete:
            print(f"  incomplete: {report.incomplete}", file=out)
        for line in _failures.lines(report.failures):
            print(line, file=out)
        for line in _failures.skipped_lines(skipped.get(report.flow, [])):
            print(line, file=out)
        for name, note in report.changes:
            print(f"  CHANGED {name}: {note}", file=out)
        if dry_run:
            for line in report.planned:
                print(f"  would post {line}", file=out)
