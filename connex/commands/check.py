"""`connex check`: a read-only preflight against the live target, everything at once.

The company (name, home currency, multicurrency, tax model); every account, item, class, payment method, ship
method, tax code, location and term the config and rules name, with the ``file:line`` naming it, and whether it
exists; the SKUs of recent source orders without an item (by the target's item matching and SKU map); and what a
sync would create. Exit 0 when a sync would post everything checked, 1 when something is missing.
"""

from __future__ import annotations

import datetime as dt
import json

from connex.commands._setup import engine_for, one_config, open_connection_state
from connex.errors import ConfigError, TransientError
from connex.plugin_manager import get_plugins
from connex.preflight import run_check
from connex.rules.loader import load_rules
from connex.runtime import build_source, build_target


def add_arguments(parser):
    parser.add_argument("--days", type=int, default=7, help="read the source's orders of this many days (7)")
    parser.add_argument("--since", metavar="DATE", help="read the source's orders from this date (YYYY-MM-DD) instead")
    parser.add_argument("--orders", type=int, default=200, help="at most this many orders (200)")
    parser.add_argument("--no-source", action="store_true", help="check the config and rules only; read no orders")
    parser.add_argument("--json", action="store_true", help="print the findings as JSON")


def run(args) -> int:
    if args.days < 1 or args.orders < 1:
        raise ConfigError("--days and --orders must be at least 1")
    since = dt.datetime.now(dt.UTC) - dt.timedelta(days=args.days)
    if args.since:
        try:
            since = dt.datetime.combine(dt.date.fromisoformat(args.since), dt.time(), dt.UTC)
        except ValueError:
            raise ConfigError(f"--since {args.since!r}: expected a date as YYYY-MM-DD") from None
    plugins = get_plugins()
    config = one_config(args, plugins)
    rules = load_rules(config.rule_paths, plugins)
    engine = engine_for(config, rules)
    state = open_connection_state(config)  # the stored QuickBooks token lives there
    try:
        with build_target(config, plugins, state) as target:
            if args.no_source:
                report = run_check(config, rules, engine, target, since=since, limit=args.orders)
            else:
                with build_source(config, plugins, state) as source:
                    try:
                        report = run_check(config, rules, engine, target, source, since=since, limit=args.orders)
                    except NotImplementedError as exc:
                        raise ConfigError(str(exc)) from None
    except TransientError as exc:
        raise TransientError(f"check could not complete: {exc}") from None
    finally:
        state.close()
    if args.json:
        print(json.dumps({
            "company": dict(report.preflight.company),
            "orders_read": report.gathered.orders_read,
            "names": [{"kind": w.kind, "name": w.name, "state": f.state, "detail": f.detail,
                       "named_at": report.gathered.places.get(w, [])}
                      for w, f in report.preflight.findings.items()],
            "notes": report.preflight.notes,
        }, indent=2))
    else:
        print("\n".join(report.lines()))
    return 1 if report.missing else 0
