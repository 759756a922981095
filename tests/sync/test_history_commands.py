"""Re-running history: `sync --from/--to` re-reads a window and posts what is missing without moving the
cursor back; `forget` lets a document deleted in the target be posted again; `connex test` keeps shipped fixtures
on the shipped rules."""

from __future__ import annotations

import datetime as dt
import json

from connex.state import history
from tests.conftest import REPO, run_connex


def _answer(ws, *args, text):
    return run_connex(*args, cwd=ws.folder, env=ws.env, input=text)


def _orders_flow_only(ws):
    ws.write_config(purchases=False, refunds=False)


def _posted_keys(ws):
    return [d["key"] for d in ws.documents()]


def test_sync_window_posts_what_is_missing_and_keeps_the_cursor(workspace):
    _orders_flow_only(workspace)
    first = workspace.cli("sync", "--no-progress")
    assert first.returncode == 0, first.stdout + first.stderr
    state = workspace.state()
    cursor = state.get_cursor("orders")
    state.close()
    posted = len(workspace.documents())
    # an order processed before the cursor (a late import in Linnworks): the incremental sync never sees it
    late = workspace.sim.add_processed_order(processed_at=dt.datetime(2025, 1, 3, 12, 0, tzinfo=dt.UTC))
    again = workspace.cli("sync", "--no-progress")
    assert "1 posted" not in again.stdout and len(workspace.documents()) == posted

    proc = workspace.cli("sync", "--no-progress", "--from", "2025-01-03", "--to", "2025-01-03")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "orders: ok: 1 read, 1 posted" in proc.stdout
    assert any(str(late["OrderId"]) in key for key in _posted_keys(workspace))
    # the whole history again: everything is in the ledger, nothing is posted twice
    whole = workspace.cli("sync", "--no-progress", "--from", "2025-01-01", "--to", "2025-01-31")
    assert whole.returncode == 0, whole.stderr
    assert "posted" not in whole.stdout.split("orders: ok: ")[1].splitlines()[0]
    assert len(workspace.documents()) == posted + 1
    state = workspace.state()
    assert state.get_cursor("orders") == cursor  # never moved back
    state.close()


def test_sync_window_rejects_bad_dates(workspace):
    bad = workspace.cli("sync", "--from", "2025-13-01")
    assert bad.returncode == 2 and "'2025-13-01' is not a date (YYYY-MM-DD)" in bad.stderr
    backwards = workspace.cli("sync", "--from", "2025-02-01", "--to", "2025-01-01")
    assert backwards.returncode == 2
    assert backwards.stderr.strip() == "error: --to 2025-01-01 is before --from 2025-02-01"
    alone = workspace.cli("sync", "--to", "2025-01-01")
    assert alone.returncode == 2 and "--to needs --from" in alone.stderr


def test_forget_lets_a_deleted_document_post_again(workspace):
    _orders_flow_only(workspace)
    assert workspace.cli("sync", "--no-progress").returncode == 0
    docs = workspace.documents()
    victim = docs[0]
    # the user deletes it in the accounting system
    (workspace.out / "documents.jsonl").write_text(
        "".join(json.dumps(d) + "\n" for d in docs[1:]), encoding="utf-8")
    number = str(victim["doc_number"])
    unchanged = workspace.cli("sync", "--no-progress", "--order", number)
    assert "1 unchanged" in unchanged.stdout and len(workspace.documents()) == len(docs) - 1

    declined = _answer(workspace, "forget", number, text="n\n")
    assert declined.returncode == 1
    assert f"the ledger will forget 1 document:\n  orders: sales receipt {number} (" in declined.stdout
    assert "nothing forgotten" in declined.stdout
    no_answer = _answer(workspace, "forget", number, text="")
    assert no_answer.returncode == 1

    proc = _answer(workspace, "forget", number, text="y\n")
    assert proc.returncode == 0, proc.stderr
    assert f"connex sync --order {number}" in proc.stdout
    state = workspace.state()
    assert state.lookup([victim["key"]]) == {}
    events = history.events(state, victim["key"])
    state.close()
    assert events[0]["event"] == "forgotten" and events[0]["was"] == "posted"

    again = workspace.cli("sync", "--no-progress", "--order", number)
    assert "1 posted" in again.stdout, again.stdout
    assert len(workspace.documents()) == len(docs)
    explain = workspace.cli("explain", number)
    assert "forgotten, reason deleted in QuickBooks, was posted" in explain.stdout
    assert ": posted as QuickBooks id " in explain.stdout


def test_forget_unknown_and_yes(workspace):
    _orders_flow_only(workspace)
    none_yet = workspace.cli("forget", "100000", "--yes")
    assert none_yet.returncode == 2 and "no state file" in none_yet.stderr
    assert workspace.cli("sync", "--no-progress").returncode == 0
    missing = workspace.cli("forget", "NOPE-1", "--yes")
    assert missing.returncode == 2 and missing.stderr.strip().startswith("error: not in the ledger: NOPE-1")
    key = workspace.documents()[1]["key"]
    assert workspace.cli("forget", key, "--yes").returncode == 0


def test_user_rule_does_not_break_shipped_fixtures(workspace):
    """A legitimate user rule (the sub source as the store name) changes what shipped fixtures expect: they run
    on the shipped rules only, and the user's own fixture runs on the user's rules."""
    rules = workspace.folder / "my_rules"
    (rules / "tests").mkdir(parents=True)
    (rules / "store.yaml").write_text(
        (REPO / "rules" / "examples" / "store_from_sub_source.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    fixture = (REPO / "rules" / "tests" / "seed_sub_source_store.yaml").read_text(encoding="utf-8")
    (rules / "tests" / "mine.yaml").write_text(fixture.replace("rules: [../examples/store_from_sub_source.yaml]\n", ""),
                                               encoding="utf-8")
    config = json.loads((workspace.folder / "connex.yaml").read_text())
    config["rules"] = ["my_rules"]
    (workspace.folder / "connex.yaml").write_text(json.dumps(config), encoding="utf-8")
    proc = workspace.cli("test")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "PASS " + str(rules / "tests" / "mine.yaml") in proc.stdout
    assert "PASS " + str(REPO / "rules" / "tests" / "sales_order_basic.yaml") in proc.stdout
    assert proc.stdout.strip().endswith("passed, 0 failed")
    # the user's fixture really depends on the user's rule: without it, it fails
    config["rules"] = []
    (workspace.folder / "connex.yaml").write_text(json.dumps(config), encoding="utf-8")
    alone = workspace.cli("test", str(rules / "tests" / "mine.yaml"))
    assert alone.returncode == 1 and "FAIL " in alone.stdout
