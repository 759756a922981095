"""Issue 12 item 3: one bad template fails its own order, never the run; a run that dies is recorded as failed,
never left "running"; the daemon's /healthz reports a pass that could not complete.

Each fault is a user rules (or mapping) file that breaks on exactly one order of the Linnworks simulator, run
through the real CLI: the other orders are posted, the bad one is failed with a reason naming the rule or field,
the exit code is 1 (some documents failed), and `connex status` shows the run finished.
"""

from __future__ import annotations

import json
import re

import pytest

from connex.config import load_config
from connex.daemon.service import Daemon
from connex.errors import TransientError
from connex.paths import default_rules_dir
from connex.plugin_manager import get_plugins
from connex.sync.report import RunOptions

BAD = 100002  # the NumOrderId each fault is aimed at


def rule(value: str) -> str:
    """A rule that fires on order BAD only and writes the class from ``value``."""
    return ("kind: rules\nrules:\n  - id: bad-rule\n    type: map_class\n"
            f"    when: {{field: order.NumOrderId, comparison: equals, value: '{BAD}'}}\n"
            f"    value: {json.dumps(value)}\n")


def int_typed_memo() -> str:
    """The shipped sales mapping with memo given `type: int`: a whole number on order BAD, empty elsewhere."""
    text = (default_rules_dir() / "mappings" / "sales_order.yaml").read_text(encoding="utf-8")
    memo = (f'  memo: {{value: "{{{{ 7 if order.NumOrderId == {BAD} else none }}}}", type: int, '
            'default: null}')
    text, count = re.subn(r"^  memo: .*$", memo, text, flags=re.M)
    assert count == 1
    return text


FAULTS = {
    "division by zero": (rule("{{ 1 / 0 }}"), "rule bad-rule", "division by zero"),
    "type error": (rule("{{ order.GeneralInfo.Source + 1 }}"), "rule bad-rule", "TypeError"),
    "text field typed int": (int_typed_memo(), "field memo", "expected text"),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_a_template_fault_fails_its_order_and_the_others_post(workspace, fault):
    text, where, why = FAULTS[fault]
    (workspace.folder / "user.yaml").write_text(text, encoding="utf-8")
    config = json.loads((workspace.folder / "connex.yaml").read_text())
    config["rules"] = ["user.yaml"]
    config["sync"].update(purchases=False, refunds=False)
    (workspace.folder / "connex.yaml").write_text(json.dumps(config))

    result = workspace.cli("sync", "--no-progress")
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 1, result.stdout + result.stderr  # 1: finished, some documents failed
    failed = [line for line in result.stdout.splitlines() if "FAILED" in line]
    assert len(failed) == 1 and f"order {BAD}" in failed[0] and where in failed[0] and why in failed[0], failed

    posted = {doc["doc_number"] for doc in workspace.documents()}
    assert str(BAD) not in posted and len(posted) >= 20  # every other (non-cancelled) order was posted
    state = workspace.state()
    try:
        rows = state.rows(flow="orders", status="failed")
        assert [row.number for row in rows] == [str(BAD)] and why in rows[0].error
        assert state.rows(status="in_flight") == []
    finally:
        state.close()
    status = workspace.cli("status", "--json")
    runs = json.loads(status.stdout)["runs"]
    assert runs and all(run["status"] != "running" and run["finished_at"] for run in runs), runs


#: templates whose cost cannot be bounded are refused when the rules load, before anything is read or posted
REFUSED_AT_LOAD = {
    "include": ("x{% include 'other.html' %}", "'{% include %}' is not allowed"),
    "recursive macro": ("{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}", "'{% macro %}' is not allowed"),
}


@pytest.mark.parametrize("fault", list(REFUSED_AT_LOAD))
def test_an_unbounded_template_is_refused_at_load_with_its_place(workspace, fault):
    template, why = REFUSED_AT_LOAD[fault]
    user = workspace.folder / "user.yaml"
    user.write_text(rule(template), encoding="utf-8")
    config = json.loads((workspace.folder / "connex.yaml").read_text())
    config["rules"] = ["user.yaml"]
    (workspace.folder / "connex.yaml").write_text(json.dumps(config))
    for command in (("validate",), ("sync", "--no-progress")):
        result = workspace.cli(*command)
        assert "Traceback" not in result.stderr, result.stderr
        assert result.returncode == 2, result.stdout + result.stderr  # 2: a configuration problem
        assert f"{user}:6:12: rules[0].value: refused: {why}" in result.stderr, result.stderr
    assert workspace.documents() == []  # nothing was posted


def test_a_run_that_dies_is_recorded_as_failed(workspace):
    engine = workspace.engine()

    def broken(query):
        raise RuntimeError("the source connector has a bug")
        yield  # pragma: no cover - a generator, as read_orders is

    engine.source.read_orders = broken
    try:
        with pytest.raises(RuntimeError):
            engine.run(["orders"], RunOptions())
        last = engine.state.last_runs(1)[0]
        assert last["status"] == "failed" and last["finished_at"]
        assert "RuntimeError: the source connector has a bug" in last["message"]
    finally:
        engine.close()
        engine.state.close()


def test_a_run_left_running_by_a_killed_process_is_shown_interrupted(workspace):
    state = workspace.state()
    killed = state.start_run("purchases")  # a process that died without finishing its run
    state.close()
    # nobody holds the state: `connex status` does not claim it is still running
    runs = json.loads(workspace.cli("status", "--json").stdout)["runs"]
    assert [r["status"] for r in runs if r["id"] == killed] == ["interrupted"]
    # and the next run records it as interrupted for good
    workspace.run(("orders",))
    state = workspace.state()
    try:
        stored = next(r for r in state.last_runs(10) if r["id"] == killed)
        assert stored["status"] == "interrupted" and stored["finished_at"]
    finally:
        state.close()


def test_healthz_reports_a_pass_that_could_not_complete(workspace):
    config = json.loads((workspace.folder / "connex.yaml").read_text())
    config["sync"].update(schedule="every 1 hour", purchases=False, refunds=False)
    (workspace.folder / "connex.yaml").write_text(json.dumps(config))
    plugins = get_plugins(reload=True)
    daemon = Daemon(load_config(workspace.folder / "connex.yaml", plugins), plugins)
    try:
        daemon._pass()
        ok, body = daemon.healthz()
        assert ok and body["last_pass"]["ok"], body

        def unreachable(query):
            raise TransientError("api.linnworks.net unreachable")
            yield  # pragma: no cover

        daemon.engine.source.read_orders = unreachable
        daemon._pass()
        ok, body = daemon.healthz()
        assert not ok and body["status"] == "unhealthy"
        assert "unreachable" in body["last_pass"]["error"]

        def crash(query):
            raise RuntimeError("a bug")
            yield  # pragma: no cover

        daemon.engine.source.read_orders = crash
        daemon._pass()
        ok, body = daemon.healthz()
        assert not ok and "RuntimeError: a bug" in body["last_pass"]["error"]
        assert daemon.state.last_runs(1)[0]["status"] == "failed"
    finally:
        daemon.engine.close()
        daemon.state.close()
