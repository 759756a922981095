"""What `connex sync` and `connex status` print when documents fail or are skipped: failures grouped by reason
with counts, each printed once (not again in the log), with the fix when Connex knows it; skipped documents
named with the rule that skipped them; log lines as text with times that carry their time zone."""

from __future__ import annotations

import datetime as dt
import json
import re

from connex.commands import _failures


def _break(workspace, n: int) -> list[str]:
    numbers = []
    for day in range(n):
        order = workspace.sim.account.add_processed_order(processed_at=dt.datetime(2026, 1, 2 + day, tzinfo=dt.UTC))
        order["TotalsInfo"]["Currency"] = ""  # the same defect on every one: one reason
        numbers.append(str(order["NumOrderId"]))
    return numbers


def test_sync_groups_failures_by_reason_names_skipped_orders_and_logs_nothing_twice(workspace):
    broken = _break(workspace, 4)
    result = workspace.cli("sync", "--once", "--flow", "orders", "--no-progress")
    assert result.returncode == 1, result.stderr
    out = result.stdout.splitlines()
    grouped = [line for line in out if line.startswith("  FAILED ")]
    assert len(grouped) == 1, result.stdout  # four orders, one reason: one line
    assert re.match(r"  FAILED field currency: .* \(4 documents\)$", grouped[0]), grouped[0]
    names = out[out.index(grouped[0]) + 1]
    assert names == "    " + ", ".join(f"order {n}" for n in broken)
    skipped = [line for line in out if line.startswith("  SKIPPED ")]
    assert skipped and all(re.match(r"  SKIPPED order \d+(, order \d+)*: rule skip-cancelled-orders \(", s)
                           for s in skipped), result.stdout
    assert "failed" not in result.stderr  # each failure once: in the summary, not again as a log line

    status = workspace.cli("status")
    assert re.search(r"^failures \(4\), by reason:\n  orders: field currency: .* \(4 documents\)$",
                     status.stdout, re.M), status.stdout
    assert "skipped (" in status.stdout and "orders: order " in status.stdout
    assert "rule skip-cancelled-orders" in status.stdout
    for run_line in re.findall(r"^  #\d+ .*$", status.stdout, re.M):
        assert re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?[+-]\d\d:\d\d", run_line), run_line


def test_json_logs_carry_the_time_zone_and_text_not_reprs(workspace):
    config = json.loads((workspace.folder / "connex.yaml").read_text())
    config["log"] = {"format": "json", "level": "debug"}
    (workspace.folder / "connex.yaml").write_text(json.dumps(config))
    result = workspace.cli("sync", "--once", "--flow", "orders", "--no-progress")
    assert result.returncode == 0, result.stderr
    entries = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert entries, result.stderr
    for entry in entries:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d", entry["ts"]), entry
        assert "Counter(" not in entry["message"] and "{'" not in entry["message"], entry
    finished = [e["message"] for e in entries if re.search(r"orders: run \d+ ok:", e["message"])]
    assert finished and re.search(r"\d+ posted", finished[0]), finished


def test_desktop_missing_items_read_as_one_line_per_kind_with_the_fix():
    """The issue's session: 9 missing SKUs holding up 142 documents, in QuickBooks Desktop's own words."""
    skus = [f"MUG-{n:02d}" for n in range(1, 10)]
    failures = [(f"sales receipt {100000 + i}",
                 f"item {skus[i % 9]!r} is not in QuickBooks (missing_items: fail)") for i in range(140)]
    failures += [("bill PO-000004", "purchase order PO-000004 is not in QuickBooks"),
                 ("sales receipt 100777", 'There is an invalid reference to QuickBooks Item "MUG-01" in the Sales '
                                          "Receipt. QuickBooks error message: Invalid argument.")]
    lines = _failures.lines(failures)
    assert lines[0].startswith("  FAILED item not in QuickBooks (141 documents): MUG-01 (17), MUG-02 (16), ")
    assert lines[1] == ("    fix: target.missing_items: create_non_inventory (Connex creates them), or add the "
                        "items in QuickBooks")
    assert lines[2] == ("    sales receipt 100000, sales receipt 100001, sales receipt 100002, sales receipt "
                        "100003, sales receipt 100004 and 136 more")
    assert lines[3:] == ["  FAILED purchase order not in QuickBooks (1 document): PO-000004 (1)",
                         "    fix: sync.purchases: true, so the purchase order is posted before its bill",
                         "    bill PO-000004"]
    every = _failures.group(failures)
    assert sum(g.count for g in every) == len(failures)
    assert sorted(d for g in every for d in g.documents) == sorted(d for d, _ in failures)
