"""`connex demo` runs a UK VAT company by default and says how much tax it posted per code."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.conftest import run_connex


def tax_table(out: str) -> dict[tuple[str, str], Decimal]:
    rows = {}
    table = out.split("Tax posted per code\n")[1].split("\n\n")[0]  # the block ends at a blank line
    for line in table.splitlines():
        side, *code, amount = line.split()
        rows[(side, " ".join(code))] = Decimal(amount)
    return rows


@pytest.mark.parametrize("args, standard", [((), "20.0% S"), (("--company", "au"), "GST-free"),
                                            (("--company", "ca"), "Z"), (("--company", "us"), "TAX")])
def test_demo_syncs_the_company_without_failures_and_reports_tax_per_code(tmp_path, args, standard):
    result = run_connex("demo", *args, cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Failures: 0" in result.stdout
    rows = tax_table(result.stdout)
    assert ("sales", standard) in rows
    if not args:  # the UK company: VAT on the demo shop's UK sales and on its purchases
        assert rows[("sales", "20.0% S")] > 0 and rows[("purchases", "20.0% S")] > 0
        assert "(company: uk)" in result.stdout
