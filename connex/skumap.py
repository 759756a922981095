"""The SKU mapping table: a CSV file of source SKU -> target item, for catalogues where the two differ.

The product we match lets users upload exactly this, so it is plain CSV as spreadsheets write it: a header row
naming the ``sku`` and ``item`` columns (other columns are ignored, a UTF-8 byte-order mark is allowed), then one
row per SKU. Every problem is reported at once as ``file:line: message``; SKUs compare case-insensitively, as
QuickBooks compares names, so a SKU listed twice is an error even when the case differs.
"""

from __future__ import annotations

import csv
from pathlib import Path

from connex.errors import ConfigError, ConfigErrors, Location

SKU_COLUMN, ITEM_COLUMN = "sku", "item"
MAX_ERRORS = 50  # a wrong file can have thousands of bad rows; the first ones say what is wrong


def load_sku_map(path: str | Path, *, item_max_length: int | None = None, hierarchical: bool = False) \
        -> dict[str, str]:
    """``{sku casefolded: item}``; ConfigErrors naming file and line for every bad row. ``hierarchical``: the
    length limit applies to each ``Parent:Child`` segment (QuickBooks Desktop full names)."""
    name = str(path)
    try:
        text = Path(path).read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise ConfigErrors([ConfigError("SKU map file not found", where=Location(name))]) from None
    except UnicodeDecodeError as exc:
        line = Path(path).read_bytes()[: exc.start].count(b"\n") + 1
        raise ConfigErrors([ConfigError("not UTF-8 text (save the CSV as UTF-8)", where=Location(name, line))]) \
            from None
    except OSError as exc:
        raise ConfigErrors([ConfigError(f"cannot read the SKU map: {exc.strerror}", where=Location(name))]) \
            from None
    reader = csv.reader(text.splitlines(keepends=True))
    errors: list[ConfigError] = []
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise ConfigErrors([ConfigError(f"not CSV: {exc}", where=Location(name, 1))]) from None
    columns = [c.strip().casefold() for c in header or []]
    missing = [c for c in (SKU_COLUMN, ITEM_COLUMN) if c not in columns]
    if missing:
        raise ConfigErrors([ConfigError(
            f"the first row must name the columns {SKU_COLUMN!r} and {ITEM_COLUMN!r} (missing: "
            f"{', '.join(missing)}; found: {', '.join(repr(c) for c in columns) or 'nothing'})",
            where=Location(name, 1))])
    sku_at, item_at = columns.index(SKU_COLUMN), columns.index(ITEM_COLUMN)
    mapping: dict[str, str] = {}
    first_line: dict[str, int] = {}
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            errors.append(ConfigError(f"not CSV: {exc}", where=Location(name, reader.line_num)))
            break
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue  # blank lines, as spreadsheets leave at the end
        if len(row) <= max(sku_at, item_at):
            errors.append(ConfigError(f"{len(row)} column(s); the header has {len(columns)}",
                                      where=Location(name, line)))
            continue
        sku, item = row[sku_at].strip(), row[item_at].strip()
        if not sku or not item:
            empty = SKU_COLUMN if not sku else ITEM_COLUMN
            errors.append(ConfigError(f"{empty}: empty", where=Location(name, line, field=empty)))
            continue
        parts = item.split(":") if hierarchical else [item]
        if item_max_length is not None and max(len(part) for part in parts) > item_max_length:
            errors.append(ConfigError(f"item: {item!r} is longer than the {item_max_length} characters "
                                      "QuickBooks allows in an item name", where=Location(name, line)))
            continue
        folded = sku.casefold()
        if folded in first_line:
            errors.append(ConfigError(f"sku: {sku!r} is already mapped on line {first_line[folded]}",
                                      where=Location(name, line)))
            continue
        first_line[folded] = line
        mapping[folded] = item
    if errors:
        shown = errors[:MAX_ERRORS]
        if len(errors) > MAX_ERRORS:
            shown.append(ConfigError(f"... and {len(errors) - MAX_ERRORS} more problems", where=Location(name)))
        raise ConfigErrors(shown)
    return mapping
