"""`connex status`: documents per flow and status, the last runs, and every failure with its reason."""

import json
import sys

from connex.commands import _failures
from connex.commands._setup import selected
from connex.errors import ConnexError
from connex.plugin_manager import get_plugins
from connex.state import open_state


def add_arguments(parser):
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--runs", type=int, default=10, help="how many recent runs to show")


def status_data(state, runs: int = 10, connection: str = "default") -> dict:
    failures = [
        {"flow": r.flow, "document": f"{r.kind} {r.number or r.source_id}", "key": r.key, "error": r.error,
         "attempts": r.attempts, "updated_at": r.updated_at}
        for r in state.rows(status="failed")
    ]
    skipped = [{"flow": r.flow, "document": f"{r.kind} {r.number or r.source_id}", "key": r.key,
                "reason": r.error, "updated_at": r.updated_at}
               for r in state.rows(status="skipped")]
    changed = [{"flow": r.flow, "document": f"{r.kind} {r.number}", "note": r.error}
               for r in state.rows(status="changed")]
    runs_ = state.last_runs(runs)
    if any(r["status"] == "running" for r in runs_) and state.run_holder() is None:
        # nobody holds the state lock, so no run is going: a 'running' one was killed (the next run records it)
        for r in runs_:
            if r["status"] == "running":
                r["status"], r["message"] = "interrupted", "the process stopped mid-run (no run holds the state)"
    return {"counts": state.counts(), "runs": runs_, "failures": failures, "skipped": skipped, "changed": changed,
            "in_flight": len(state.rows(status="in_flight")), "queued": len(state.rows(status="queued"))}


def own_reason(document: str, error: str) -> str:
    """The stored reason without the document's name it may repeat, so equal reasons group together."""
    if error.startswith(document + ":") or error.startswith(document + " field"):
        return error[len(document):].lstrip(": ")
    return error
def collect_outcomes(config, plugins, state) -> None:
    """Documents queued for an asynchronous target (the Web Connector): its outcomes since the last pass go into
    the ledger first, so a document QuickBooks failed shows as failed now, not at the next sync."""
    if not state.rows(status="queued", limit=1):
        return
    from connex.runtime import build_target
    from connex.sync.outcomes import record_outcomes

    try:
        with build_target(config, plugins, state) as target:
            record_outcomes(target, state)
    except ConnexError as exc:  # status still shows what the ledger has
        print(f"note: outcomes from {config.target_plugin} not collected: {exc}", file=sys.stderr)


def run(args):
    plugins = get_plugins()
    deployment, configs = selected(args, plugins)
    found = {}
    for config in configs:
        state = open_state(config.state_path, connection=config.name)
        try:
            collect_outcomes(config, plugins, state)
            found[config.name] = (config, status_data(state, args.runs, config.name))
        finally:
            state.close()
    _attach_jobs(configs, found)
    if args.json:
        if len(found) == 1 and "default" in found:  # a single connex.yaml: the shape it always had
            print(json.dumps(found["default"][1], indent=2, default=str))
        else:
            print(json.dumps({"connections": {name: data for name, (_, data) in found.items()}}, indent=2,
                             default=str))
        return 0
    if len(found) > 1:
        print(f"{len(found)} connections:")
        for name, (_, data) in found.items():
            print(f"  {name}: {one_line(data)}")
    for name, (config, data) in found.items():
        if len(found) > 1 or name != "default":
            print(f"\n== connection {name}")
        print_status(config, data)
    return 0


def _attach_jobs(configs, found: dict) -> None:
    """With state on PostgreSQL and `connex worker`s: each connection's job (running, queued, the last ended)."""
    from connex.state.target import DatabaseURL

    if not configs or not isinstance(configs[0].state_path, DatabaseURL):
        return
    from connex.workers.status import queue_of

    state = open_state(configs[0].state_path, connection=configs[0].name)
    try:
        queue = queue_of(state.db, list(found))
    finally:
        state.close()
    if queue is not None:
        for name, (_, data) in found.items():
            data["jobs"] = queue[0].get(name)


def jobs_line(jobs: dict) -> str:
    parts = []
    if jobs["running"]:
        parts.append(f"running (job {jobs['job']} on worker {jobs['worker']})")
    if jobs["queued"]:
        parts.append("queued")
    if jobs["last_job"]:
        last = jobs["last_job"]
        parts.append(f"last job {last['id']} {last['status']} {last['at'] or ''}".rstrip())
    return "jobs: " + (", ".join(parts) or "none yet")


def one_line(data: dict) -> str:
    """A connection's state in a line: documents by status, failures, and its last run."""
    totals: dict[str, int] = {}
    for counts in data["counts"].values():
        for status, n in counts.items():
            totals[status] = totals.get(status, 0) + n
    text = ", ".join(f"{n} {status}" for status, n in sorted(totals.items())) or "nothing synced yet"
    if data["runs"]:
        last = data["runs"][0]
        text += f"; last run {last['started_at']} {last['status']}"
    if data.get("jobs"):
        text += "; " + jobs_line(data["jobs"])
    return text


def print_status(config, data: dict) -> None:
    print(f"state: {config.state_path}" + (f" (connection {config.name})" if config.name != "default" else ""))
    if not data["counts"]:
        print("nothing synced yet")
    for flow, counts in sorted(data["counts"].items()):
        print(f"{flow}: " + ", ".join(f"{n} {status}" for status, n in sorted(counts.items())))
    if data.get("jobs"):
        print(jobs_line(data["jobs"]))
    if data["in_flight"] or data["queued"]:
        print(f"in flight: {data['in_flight']}, queued for QuickBooks Desktop: {data['queued']}")
    if data["runs"]:
        print("last runs:")
        for run_ in data["runs"]:
            counts = ", ".join(f"{v} {k}" for k, v in (run_["counts"] or {}).items())
            print(f"  #{run_['id']} {run_['flow']} {run_['started_at']} {run_['status']}"
                  f"{': ' + counts if counts else ''}{' (' + run_['message'] + ')' if run_['message'] else ''}")
    if data["failures"]:
        print(f"failures ({len(data['failures'])}), by reason:")
        for flow in sorted({f["flow"] for f in data["failures"]}):
            pairs = sorted((f["document"], own_reason(f["document"], f["error"] or ""))
                           for f in data["failures"] if f["flow"] == flow)
            for line in _failures.lines(pairs, mark=f"{flow}: ", shown=None):
                print(line)
    if data["skipped"]:
        print(f"skipped ({len(data['skipped'])}), by reason:")
        for flow in sorted({s["flow"] for s in data["skipped"]}):
            pairs = sorted((s["document"], s["reason"]) for s in data["skipped"] if s["flow"] == flow)
            for line in _failures.skipped_lines(pairs, mark=f"{flow}: ", shown=None):
                print(line)
    for c in data["changed"]:
        print(f"  changed: {c['document']}: {c['note']}")
