"""The benchmark's own figures, kept honest by the suite: few requests per order, no 429 earned."""

from __future__ import annotations

import importlib.util
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "qbo_posting.py"


def load_bench():
    spec = importlib.util.spec_from_file_location("qbo_posting_bench", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_batched_sync_stays_under_the_limits_and_the_request_budget():
    # 1,300 orders need 44+ batches: more than Intuit's 40 a minute, so the connector must pace itself.
    figures = load_bench().run(1300, scale=60.0, per_call=250)
    assert figures["failed"] == 0 and figures["posted"] == 1300
    assert figures["requests_per_order"] <= 0.1
    assert figures["rate_limited_429"] == 0  # the client-side limiter kept under 40 batches a minute
    assert figures["batches"] > 40
    assert figures["wall_seconds"] >= figures["bound_seconds"]  # the limit really applied
