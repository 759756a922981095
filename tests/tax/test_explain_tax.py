"""`connex explain` says, per line, how its tax code will be chosen."""

from __future__ import annotations

import json

from connex_linnworks.simulator import LinnworksSimulator

from tests.conftest import run_connex

from .tax_support import price_order, when


def test_explain_shows_each_lines_tax_code_reason(tmp_path):
    with LinnworksSimulator(processed_orders=0, open_orders=0, purchase_orders=0, refunds=False) as lw:
        order = price_order(lw.account.add_processed_order(processed_at=when(3)),
                            [("MUG-BLU-01", 2, "12.00", "20"), ("BOOK-CHAI", 1, "9.99", "0")],
                            postage_gross="3.99", postage_rate="20")
    (tmp_path / "order.json").write_text(json.dumps(order, default=str), encoding="utf-8")
    result = run_connex("explain", "--input", "order.json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    reasons = result.stdout.split("tax codes (sales_receipt):")[1].split("document (")[0].strip().splitlines()
    # Linnworks' three-place nets can leave a penny: a rounding line on the zero rate
    assert len(reasons) == 3 or (len(reasons) == 4 and "rounding carries no tax" in reasons[3])
    assert "the code for 20.0% (the line's rate)" in reasons[0] and "tax 4.00" in reasons[0]
    assert "no tax was charged on the line" in reasons[1]
    assert "the code for 20.0%" in reasons[2] and "tax 0.67" in reasons[2]
