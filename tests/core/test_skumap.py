"""The SKU map CSV: thousands of rows load; every bad row is reported as file:line: message."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connex.errors import ConfigErrors
from connex.skumap import load_sku_map


def write(tmp_path, text: str, name="skus.csv"):
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


def problems(path) -> list[str]:
    with pytest.raises(ConfigErrors) as caught:
        load_sku_map(path, item_max_length=31)
    return [str(e) for e in caught.value.errors]


def test_thousands_of_rows_with_extra_columns_a_bom_and_blank_lines(tmp_path):
    rows = "".join(f"LW-{i:05d},{i},QB item {i}\r\n" for i in range(5000))
    path = write(tmp_path, "\ufeffSKU,Note,Item\r\n" + rows + "\r\n,,\r\n")
    mapping = load_sku_map(path)
    assert len(mapping) == 5000 and mapping["lw-00042"] == "QB item 42"


def test_every_bad_row_is_named_by_line(tmp_path):
    path = write(tmp_path, "sku,item\nA-1,Mug\nA-2,\n,Tea\na-1,Cup\nB-9\nC-1," + "x" * 32 + "\nD-1,Fine\n")
    found = problems(path)
    assert found == [
        f"{path}:3: item: empty",
        f"{path}:4: sku: empty",
        f"{path}:5: sku: 'a-1' is already mapped on line 2",
        f"{path}:6: 1 column(s); the header has 2",
        f"{path}:7: item: '{'x' * 32}' is longer than the 31 characters QuickBooks allows in an item name",
    ]


def test_header_missing_file_missing_and_not_utf8(tmp_path):
    assert problems(write(tmp_path, "code,name\nA,B\n")) == [
        f"{tmp_path / 'skus.csv'}:1: the first row must name the columns 'sku' and 'item' (missing: sku, item; "
        "found: 'code', 'name')"]
    assert problems(tmp_path / "none.csv") == [f"{tmp_path / 'none.csv'}: SKU map file not found"]
    latin = tmp_path / "latin.csv"
    latin.write_bytes("sku,item\nA,B\nC,Caf\xe9\n".encode("latin-1"))
    assert problems(latin) == [f"{latin}:3: not UTF-8 text (save the CSV as UTF-8)"]


cell = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=20).filter(
    lambda s: s.strip() == s and s)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(cell, cell), min_size=1, max_size=40, unique_by=lambda row: row[0].casefold()))
def test_what_a_spreadsheet_writes_reads_back(tmp_path_factory, rows):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["sku", "item"])
    writer.writerows(rows)
    path = tmp_path_factory.mktemp("map") / "m.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8")
    assert load_sku_map(path) == {sku.casefold(): item for sku, item in rows}
