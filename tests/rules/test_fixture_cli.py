"""`connex test` on the shipped fixtures, and a wrong expectation failing with a readable diff."""

import re
import shutil

from tests.conftest import REPO, run_connex
from tests.rules.conftest import write_yaml


def test_shipped_fixtures_pass():
    result = run_connex("test")
    assert result.returncode == 0, result.stdout + result.stderr
    summary = result.stdout.strip().splitlines()[-1]
    passed = int(re.match(r"(\d+) passed, 0 failed", summary).group(1))
    assert passed >= 13
    for seed in ("seed_amazon_usd", "seed_ebay_gbp", "seed_sub_source_store", "seed_stock_enchantress"):
        assert f"PASS {REPO / 'rules' / 'tests' / seed}.yaml" in result.stdout


def test_wrong_expectation_fails_with_position_expected_and_actual(tmp_path):
    fixture = tmp_path / "amazon.yaml"
    shutil.copy(REPO / "rules" / "tests" / "seed_amazon_usd.yaml", fixture)
    text = fixture.read_text().replace("display_name: Amazon USD", "display_name: Amazon GBP")
    text = text.replace('total: "19.99"', 'total: "19.98"')
    fixture.write_text(text)
    result = run_connex("test", str(fixture))
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"FAIL {fixture}")
    name_line = next(i for i, line in enumerate(text.splitlines(), 1) if "Amazon GBP" in line)
    assert (f"{fixture}:{name_line}:28: expect.customer.display_name: expected 'Amazon GBP', got 'Amazon USD'"
            in result.stdout)
    assert "expect.total: expected '19.98', got '19.99'" in result.stdout
    assert lines[-1] == "0 passed, 1 failed"


def test_fixture_that_expects_a_missing_field_says_so(tmp_path):
    write_yaml(tmp_path, "f.yaml", """
        kind: fixture
        flow: inventory
        input: {sku: A, quantity_on_hand: 3}
        expect: {sku: A, colour: blue}
    """)
    result = run_connex("test", str(tmp_path / "f.yaml"))
    assert result.returncode == 1
    assert "f.yaml:4:26: expect.colour: expected 'blue', but the document has no 'colour'" in result.stdout
