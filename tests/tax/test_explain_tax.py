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


def test_explain_names_the_company_code_each_line_resolves_to_when_quickbooks_is_reachable(tmp_path):
    """With a synced config, explain asks QuickBooks (UK company) which code each line resolves to: 20.0% S and
    0.0% Z by Id for a UK order, "No VAT" for German VAT on an order shipped to Germany, and why."""
    from connex_quickbooks_online.simulator import QuickBooksOnlineSimulator

    from .tax_support import sync

    with LinnworksSimulator(processed_orders=0, open_orders=0, purchase_orders=0, refunds=False) as lw, \
            QuickBooksOnlineSimulator(company="uk", enforce_limits=False) as qbo:
        uk = price_order(lw.account.add_processed_order(processed_at=when(3)),
                         [("MUG-BLU-01", 2, "12.00", "20"), ("BOOK-CHAI", 1, "9.99", "0")], country="United Kingdom")
        german = price_order(lw.account.add_processed_order(processed_at=when(4)),
                             [("MUG-BLU-01", 1, "14.99", "19")], currency="EUR", country="Germany")
        reports = sync(tmp_path, lw, qbo, flows=("orders",))
        assert not reports["orders"].failures
        codes = {row["Name"]: row["Id"] for row in qbo.entities("TaxCode")}
        out = run_connex("-c", "connex.yaml", "explain", str(uk["NumOrderId"]), cwd=tmp_path)
        assert out.returncode == 0, out.stderr
        company = out.stdout.split("tax codes in the company (sales_receipt):")[1].split("document (")[0]
        assert f"20.0% S (TaxCode Id {codes['20.0% S']}): the sales code at 20%" in company
        assert f"0.0% Z (TaxCode Id {codes['0.0% Z']})" in company
        out = run_connex("-c", "connex.yaml", "explain", str(german["NumOrderId"]), cwd=tmp_path)
        assert out.returncode == 0, out.stderr
        assert "if DE is not the company's country, its out-of-scope code" in out.stdout
        company = out.stdout.split("tax codes in the company (sales_receipt):")[1].split("document (")[0]
        assert f"No VAT (TaxCode Id {codes['No VAT']}): 19% charged on an order to DE is that country's tax" in company
