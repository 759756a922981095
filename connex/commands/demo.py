"""`connex demo`: the built-in simulators, synced end to end on a fresh SQLite file, with a summary.

The simulators are the plugins' own (the ``connex_simulators`` hook): a seeded Linnworks account and an empty
QuickBooks company, real HTTP servers on 127.0.0.1. The demo writes its configuration to ``connex-demo/`` so
that ``connex --config connex-demo/connex.yaml status`` (or ``explain``) can look at the result afterwards, as long
as the simulators run; they stop when the demo ends.
"""

from __future__ import annotations

import inspect
import json
import shutil
import sys
from collections import Counter
from pathlib import Path

from connex.config import load_config
from connex.errors import ConfigError
from connex.plugin_manager import get_plugins
from connex.state import open_state
from connex.sync.engine import FLOW_ORDER, SyncEngine
from connex.sync.progress import Progress
from connex.sync.report import FlowReport, RunOptions
from connex.sync.summary import exit_code

EXAMPLES = Path(__file__).resolve().parents[2] / "rules" / "examples"


def add_arguments(parser):
    parser.add_argument("--target", default="quickbooks_online",
                        help="which target to sync into (default: %(default)s)")
    parser.add_argument("--dir", default="connex-demo", help="where the demo's config and state go")
    parser.add_argument("--matching", default="store_name_currency", help="customer matching mode")
    parser.add_argument("--company", default="uk", choices=["uk", "us", "ca", "au"],
                        help="the QuickBooks company's country and tax set-up (default: %(default)s, UK VAT)")


def _simulator(plugins, name: str, **options):
    """The plugin's simulator, given the ``options`` its factory takes (e.g. ``company``) and no others."""
    factories = plugins.simulators()
    if name not in factories:
        installed = ", ".join(sorted(factories)) or "none"
        raise ConfigError(f"no simulator for '{name}' is installed (simulators: {installed})")
    accepted = inspect.signature(factories[name]).parameters
    return factories[name](**{k: v for k, v in options.items() if k in accepted})


def write_config(folder: Path, source: dict, target_name: str, target: dict, matching: str) -> Path:
    rules = [str(EXAMPLES / "stock_at_enchantress.yaml")] if (EXAMPLES / "stock_at_enchantress.yaml").exists() else []
    config = {
        "source": {"plugin": "linnworks", **source},
        "target": {"plugin": target_name, **target},
        "sync": {"from_date": "2020-01-01", "purchases": True, "refunds": True, "inventory": True,
                 "customer_matching": matching, "document": "sales_receipt"},
        "rules": rules,
        "state": "connex.db",
    }
    path = folder / "connex.yaml"
    path.write_text("# written by `connex demo`: the simulators it points at stop when the demo ends\n"
                    + json.dumps(config, indent=2) + "\n", encoding="utf-8")
    return path


def print_tax(summary, out=sys.stdout) -> None:
    """Tax the target recorded, per side and code (only targets whose simulator reports it)."""
    print("\nTax posted per code", file=out)
    if not summary:
        print("  none", file=out)
    for side, code, amount in summary:
        print(f"  {side:<10} {code:<20}{amount:>12}", file=out)


def print_summary(reports: list[FlowReport], out=sys.stdout) -> None:
    created: Counter = Counter()
    customers: Counter = Counter()
    for report in reports:
        created.update(report.documents)
        if report.flow in ("orders", "refunds"):
            customers.update(report.customers)
    print("\nDocuments created", file=out)
    width = max((len(k) for k in created), default=10) + 2
    for kind, count in sorted(created.items()):
        print(f"  {kind.replace('_', ' '):<{width}}{count:>6}", file=out)
    print("\nCustomers (store and currency)", file=out)
    width = max((len(k) for k in customers), default=10) + 2
    for name, count in sorted(customers.items()):
        print(f"  {name:<{width}}{count:>6} documents", file=out)
    print("\nFlows", file=out)
    for report in reports:
        counts = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in sorted(report.counts.items()))
        print(f"  {report.flow:<10} {report.status:<10} {counts}", file=out)
    failures = [(r.flow, name, reason) for r in reports for name, reason in r.failures]
    print(f"\nFailures: {len(failures)}", file=out)
    for flow, name, reason in failures:
        print(f"  {flow}: {name}: {reason}", file=out)


def _target_config(target_sim) -> dict:
    """What the simulator says a connector needs. The simulated companies start without the Linnworks
    catalogue, so the demo lets Connex create the items it posts."""
    extra = target_sim.demo_options() if hasattr(target_sim, "demo_options") else {}
    return {"missing_items": "create_non_inventory", **extra, **target_sim.connector_config()}


def run(args):
    plugins = get_plugins()
    folder = Path(args.dir)
    if folder.exists():
        shutil.rmtree(folder)  # a fresh SQLite file every time: the demo shows a first sync
    folder.mkdir(parents=True)
    source_sim = _simulator(plugins, "linnworks").start()
    target_sim = _simulator(plugins, args.target, company=args.company).start()
    try:
        target = _target_config(target_sim)
        path = write_config(folder, source_sim.connector_config(), args.target, target, args.matching)
        config = load_config(path, plugins)
        print(f"connex demo: Linnworks simulator at {source_sim.url}, {args.target} simulator ready "
              f"(company: {args.company}); "
              f"state in {config.state_path}")
        state = open_state(config.state_path)
        engine = SyncEngine(config, plugins, state)
        services = [service.start() for service in engine.target.services()]
        try:
            reports = engine.run(list(FLOW_ORDER), RunOptions(), Progress())
            if hasattr(target_sim, "run_session"):
                # QuickBooks Desktop: the Web Connector drains the queue, then a second pass records the outcomes
                # (and posts the stock levels its inventory query brought back)
                for service in services:
                    target_sim.run_session(service.url, target["username"], target["password"])
                reports = _merge(reports, engine.run(list(FLOW_ORDER), RunOptions(), Progress()))
        finally:
            for service in services:
                service.stop()
            engine.close()
            state.close()
        print_summary(reports)
        if hasattr(target_sim, "tax_summary"):
            print_tax(target_sim.tax_summary())
        return exit_code(reports)
    finally:
        target_sim.stop()
        source_sim.stop()


def _merge(first: list[FlowReport], second: list[FlowReport]) -> list[FlowReport]:
    for a, b in zip(first, second):
        a.documents.update(b.documents)
        a.failures.extend(b.failures)
        a.counts.update(b.counts)
    return first
