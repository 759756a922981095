"""`connex demo`: the built-in simulators, synced end to end on a fresh SQLite file, with a summary.

The simulators are the plugins' own (the ``connex_simulators`` hook): a seeded Linnworks account and an empty
QuickBooks company, real HTTP servers on 127.0.0.1. The demo writes a commented ``connex.yaml`` and its state
to ``connex-demo/``. They stop when the demo ends, unless ``--serve`` keeps them running (until Ctrl-C or
SIGTERM) so that ``explain``, ``validate``, ``status``, ``sync`` and ``daemon`` can be tried against that config;
the demo prints those command lines.
"""

from __future__ import annotations

import inspect
import json
import os
import shlex
import shutil
import signal
import socket
import sys
import threading
from collections import Counter
from pathlib import Path

from connex.commands import _failures
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
    parser.add_argument("--serve", action="store_true",
                        help="keep the simulators running after the sync, until Ctrl-C or SIGTERM, and print the "
                             "commands to try against them")
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


#: why each key of the demo's config has the value it has; keys without a note are the simulators' own values
NOTES = {
    "source": "Linnworks: on a real account, the application id and secret of your Linnworks app and the "
              "installation token",
    "target": "QuickBooks: on a real company, your app's keys and the company (realm) id; the refresh token "
              "rotates and is kept in the state file",
    "application_secret": 'a real secret belongs in the environment: "${LW_SECRET}"',
    "token": 'likewise: "${LW_TOKEN}"',
    "auth_url": "the simulator; https://api.linnworks.net for a real account",
    "client_secret": 'a real secret belongs in the environment: "${QBO_SECRET}"',
    "refresh_token": 'likewise: "${QBO_REFRESH}"',
    "api_url": "the simulator; https://quickbooks.api.intuit.com (or the sandbox) for a real company",
    "token_url": "the simulator; https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer for a real company",
    "listen": "where `connex qbwc` / `connex daemon` serve the Web Connector endpoint",
    "password": "typed into the Web Connector when the .qwc file is added; never written to it",
    "missing_items": "the simulated company starts empty: create the items Connex posts",
    "sync": "what to sync and how (README.md, Configuration)",
    "from_date": "the first day read from Linnworks",
    "purchases": "purchase orders become POs, and their deliveries bills",
    "refunds": "actioned refunds become refund receipts",
    "inventory": "QuickBooks quantities update Linnworks stock",
    "customer_matching": "one customer per store and currency (\"Amazon GBP\")",
    "document": "orders become sales receipts (or invoice)",
    "rules": "your rule and mapping files, applied after the shipped defaults (docs/rules.md)",
    "state": "the SQLite ledger, cursors and run history, relative to this file",
}


def _scalar(value) -> str:
    """A YAML scalar for ``value``: JSON's quoting is valid YAML and never changes a value's type."""
    return json.dumps(value, ensure_ascii=False)


def _lines(key: str, value, indent: str) -> list[str]:
    note = f"  # {NOTES[key]}" if key in NOTES else ""
    if isinstance(value, dict):
        lines = [f"{indent}# {NOTES[key]}"] if key in NOTES else []
        lines.append(f"{indent}{key}:")
        for child, child_value in value.items():
            lines += _lines(child, child_value, indent + "  ")
        return lines
    if isinstance(value, list):
        lines = [f"{indent}{key}:{note}"] if value else [f"{indent}{key}: []{note}"]
        return lines + [f"{indent}  - {_scalar(item)}" for item in value]
    return [f"{indent}{key}: {_scalar(value)}{note}"]


def config_text(config: dict, serve: bool) -> str:
    """The demo's ``connex.yaml``: real YAML, each section and non-obvious value with a comment."""
    lifetime = ("they run while `connex demo --serve` runs" if serve
                else "they stopped when `connex demo` ended: `connex demo --serve` keeps them running")
    header = [
        "# connex.yaml written by `connex demo`.",
        f"# It points at the demo's simulators on 127.0.0.1; {lifetime}.",
        "# Every key is described in README.md (Configuration) and checked by `connex validate`.",
        "",
    ]
    body: list[str] = []
    for key, value in config.items():
        body += _lines(key, value, "")
        if isinstance(value, dict):
            body.append("")
    return "\n".join(header + body).rstrip() + "\n"


def demo_config(source: dict, target_name: str, target: dict, matching: str) -> dict:
    rules = [str(EXAMPLES / "stock_at_enchantress.yaml")] if (EXAMPLES / "stock_at_enchantress.yaml").exists() else []
    return {
        "source": {"plugin": "linnworks", **source},
        "target": {"plugin": target_name, **target},
        "sync": {"from_date": "2020-01-01", "purchases": True, "refunds": True, "inventory": True,
                 "customer_matching": matching, "document": "sales_receipt"},
        "rules": rules,
        "state": "connex.db",
    }


def write_config(folder: Path, source: dict, target_name: str, target: dict, matching: str,
                 serve: bool = False) -> Path:
    path = folder / "connex.yaml"
    path.write_text(config_text(demo_config(source, target_name, target, matching), serve), encoding="utf-8")
    return path


def print_tax(summary, out=sys.stdout) -> None:
    """Tax the target recorded, per side and code (only targets whose simulator reports it)."""
    print("\nTax posted per code", file=out)
    if not summary:
        print("  none", file=out)
    for side, code, amount in summary:
        print(f"  {side:<10} {code:<20}{amount:>12}", file=out)


def print_summary(reports: list[FlowReport], out=sys.stdout,
                  skipped: list[tuple[str, str, str]] | None = None) -> None:
    """What the demo created, for which customers, per flow, and every failure (grouped by reason, with its
    fix) and skipped document (with the rule that skipped it): ``skipped`` is (flow, document, reason)."""
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
    failures = sum(len(r.failures) for r in reports)
    print(f"\nFailures: {failures}", file=out)
    for report in reports:
        for line in _failures.lines(report.failures, mark=f"{report.flow}: "):
            print(line, file=out)
    skipped = skipped or []
    if skipped:
        print(f"\nSkipped: {len(skipped)}", file=out)
        for flow in sorted({flow for flow, _, _ in skipped}):
            pairs = sorted((name, reason) for f, name, reason in skipped if f == flow)
            for line in _failures.skipped_lines(pairs, mark=f"{flow}: "):
                print(line, file=out)


def _target_config(target_sim, serve: bool) -> dict:
    """What the simulator says a connector needs. The simulated companies start without the Linnworks
    catalogue, so the demo lets Connex create the items it posts. A served Desktop demo gets a fixed port, so the
    ``connex qbwc`` it suggests listens where the printed Web Connector command looks."""
    config = {"missing_items": "create_non_inventory", **target_sim.connector_config()}
    if serve and str(config.get("listen", "")).endswith(":0"):
        config["listen"] = f"127.0.0.1:{_free_port()}"
    return config


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _connex_command() -> str:
    """How this user ran Connex, so the printed command lines work as typed."""
    launched = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else ""
    if launched in ("connex", "connex.exe"):
        return sys.argv[0] if os.sep in sys.argv[0] else "connex"
    if launched == "run.py":
        return f"python {shlex.quote(sys.argv[0])}"
    return f"{shlex.quote(sys.executable)} -m connex"


def _first_posted_order(state) -> str | None:
    numbers = [row.number for row in state.rows(flow="orders", status="posted") if row.number]
    return min(numbers, key=lambda n: (len(n), n)) if numbers else None


def next_commands(config_path: Path, order: str | None, endpoint: dict | None) -> list[tuple[str, str]]:
    """(what it shows, the command line) for the commands worth trying against the running simulators."""
    connex = f"{_connex_command()} -c {shlex.quote(str(config_path))}"
    commands = [
        ("check the configuration, rules and mappings", f"{connex} validate"),
        ("counts per flow, the last runs and any failures", f"{connex} status"),
    ]
    if order:
        commands.insert(0, (f"how order {order} maps, rule by rule", f"{connex} explain {order}"))
    commands.append(("one more pass: nothing new to post, so nothing is posted twice", f"{connex} sync --once"))
    if endpoint is None:
        commands.append(("run the flows on a schedule until Ctrl-C (/healthz and /status on 127.0.0.1)",
                         f"{connex} daemon"))
    else:
        commands.append(("serve the Web Connector endpoint (the daemon does too, on its schedule)",
                         f"{connex} qbwc"))
        commands.append(("then, in another terminal, one simulated Web Connector session against it",
                         f"{shlex.quote(sys.executable)} -m connex_quickbooks_desktop.simulator {endpoint['url']} "
                         f"{shlex.quote(endpoint['username'])} {shlex.quote(endpoint['password'])}"))
    return commands


def _wait_for_stop() -> None:
    """Block until Ctrl-C or SIGTERM."""
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not stop.wait(0.5):  # a timed wait, so signals are handled promptly on every platform
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run(args):
    plugins = get_plugins()
    folder = Path(args.dir)
    if folder.exists():
        shutil.rmtree(folder)  # a fresh SQLite file every time: the demo shows a first sync
    folder.mkdir(parents=True)
    source_sim = _simulator(plugins, "linnworks").start()
    target_sim = _simulator(plugins, args.target, company=args.company).start()
    try:
        target = _target_config(target_sim, args.serve)
        path = write_config(folder, source_sim.connector_config(), args.target, target, args.matching, args.serve)
        config = load_config(path, plugins)
        print(f"connex demo: Linnworks simulator at {source_sim.url}, {args.target} simulator ready "
              f"(company: {args.company}); "
              f"state in {config.state_path}")
        state = open_state(config.state_path, connection=config.name)
        engine = SyncEngine(config, plugins, state)
        services = [service.start() for service in engine.target.services()]
        endpoint = None
        try:
            reports = engine.run(list(FLOW_ORDER), RunOptions(), Progress())
            if hasattr(target_sim, "run_session"):
                # QuickBooks Desktop: the Web Connector drains the queue, then a second pass records the outcomes
                # (and posts the stock levels its inventory query brought back)
                for service in services:
                    target_sim.run_session(service.url, target["username"], target["password"])
                    endpoint = {"url": service.url, "username": target["username"], "password": target["password"]}
                reports = _merge(reports, engine.run(list(FLOW_ORDER), RunOptions(), Progress()))
            order = _first_posted_order(state)
            skipped = [(row.flow, f"{row.kind} {row.number or row.source_id}", row.error or "")
                       for row in state.rows(status="skipped")]
        finally:
            for service in services:
                service.stop()
            engine.close()
            state.close()
        print_summary(reports, skipped=skipped)
        if hasattr(target_sim, "tax_summary"):
            print_tax(target_sim.tax_summary())
        print(f"\nConfiguration: {path} (commented YAML)")
        if not args.serve:
            print("The simulators stop now; `connex demo --serve` keeps them running to try more commands.")
            return exit_code(reports)
        print("\nThe simulators keep running until Ctrl-C (or SIGTERM). Try, in another terminal:")
        for what, command in next_commands(path, order, endpoint):
            print(f"  # {what}\n  {command}")
        sys.stdout.flush()
        _wait_for_stop()
        print("connex demo: simulators stopped")
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
