"""Plain mapped dicts to canonical documents, with the totals made to add up to the cent.

Every amount was rounded to the currency's places when mapped; the sum of rounded lines and tax can still differ
from the source's own rounded total by a cent or two. Within a tolerance (a few of the currency's minor units,
and never less than the worst case of rounding every amount, half a unit each) the difference becomes a
"rounding" line, as the product we match does; beyond it the document fails, because then a line is missing or
wrong and posting it would put a wrong figure in the books.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from decimal import Decimal

from connex import documents as docs
from connex.rules.mapping import DOCUMENT_TYPES, NESTED_TYPES
from connex.rules.money import places_for, round_places

# in the currency's minor units: 5 is 0.05 GBP, 5 JPY, 0.005 KWD
DEFAULT_ROUNDING_UNITS = 5


class BuildError(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@functools.cache
def _plan(cls: type) -> tuple[frozenset[str], dict[str, type]]:
    """Which keys a dataclass takes, and which of them hold a nested dataclass: decided once per class."""
    names = frozenset(f.name for f in dataclasses.fields(cls))
    return names, {name: NESTED_TYPES[name] for name in names if name in NESTED_TYPES}


def _construct(cls: type, data: dict, drop_none: bool = False, keep_none: frozenset = frozenset()):
    """``cls`` from the keys of ``data`` it takes (without None values when ``drop_none``, but for ``keep_none``),
    nested dicts built into their own dataclasses."""
    names, nested = _plan(cls)
    if drop_none:
        values = {key: value for key, value in data.items()
                  if key in names and (value is not None or key in keep_none)}
    elif names.issuperset(data):  # the usual mapped dict: nothing to leave out, so no copy unless nested
        values = data
    else:
        values = {key: value for key, value in data.items() if key in names}
    for key, inner in nested.items():
        value = values.get(key)
        if type(value) is dict:
            if values is data:
                values = dict(data)
            values[key] = _construct(inner, value)
    return cls(**values)


def plain_decimal(value: Decimal) -> Decimal:
    """Trailing zeros dropped but never exponent notation: 10.000000 -> 10, 3.500000 -> 3.5."""
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return value.normalize()


def _line(data: dict, index: int) -> docs.Line:
    line = _construct(docs.Line, data, drop_none=True)
    if line.quantity is None or line.quantity <= 0:
        raise BuildError(f"lines[{index}].quantity", f"must be more than 0, got {line.quantity}")
    if "unit_price" not in data or data["unit_price"] is None:
        line.unit_price = plain_decimal(round_places(line.amount / line.quantity, 6))
    return line


def require(document_type: str, data: dict) -> None:
    """The fields without which there is no document; checked before anything is derived from them."""
    needed = ("sku", "level") if document_type == "stock" else ("source_id", "doc_number", "currency", "kind")
    for key in needed:
        if data.get(key) in (None, ""):
            raise BuildError(key, "is required (the source record has no value for it)")
    currency = data.get("currency")
    if document_type != "stock" and (len(str(currency)) != 3 or not str(currency).isalpha()):
        raise BuildError("currency", f"'{currency}' is not a three-letter currency code")


def build(document_type: str, data: dict, *, rounding_units: int = DEFAULT_ROUNDING_UNITS):
    """Build the document for ``document_type`` (sales, purchase, refund, stock) from a mapped dict that has
    passed ``require`` (the engine checks it before customer matching, which needs the same fields)."""
    cls = DOCUMENT_TYPES[document_type]
    if cls is docs.StockLevel:
        return _construct(cls, {k: v for k, v in data.items() if v is not None})
    lines = [_line(line, i) for i, line in enumerate(data.get("lines") or [])]
    if not lines:
        raise BuildError("lines", "the document has no lines")
    # an explicit None store name means "no store", not "the default": it is kept
    document = _construct(cls, {**data, "lines": lines}, drop_none=True, keep_none=frozenset({"store_name"}))
    balance(document, rounding_units)
    return document


def balance(document: docs.Document, rounding_units: int = DEFAULT_ROUNDING_UNITS) -> None:
    lines_total = sum((line.amount for line in document.lines), Decimal(0))
    difference = document.total - (lines_total + document.total_tax)
    if not difference:
        return
    quantum = Decimal(1).scaleb(-places_for(document.currency))
    worst_case_drift = math.ceil((len(document.lines) + 2) / 2)  # every rounded amount is off by <= half a unit
    tolerance = quantum * max(rounding_units, worst_case_drift)
    if abs(difference) > tolerance:
        raise BuildError(
            "total",
            f"the lines ({lines_total}) plus tax ({document.total_tax}) make {lines_total + document.total_tax}, "
            f"but the source total is {document.total} (a difference of {difference}, more than the "
            f"{tolerance} rounding tolerance)",
        )
    # no item_name: each target books the difference to its configured rounding item (rounding_item)
    document.lines.append(docs.Line(kind="rounding", description="Rounding",
                                    quantity=Decimal(1), unit_price=difference, amount=difference))


def companion_bill(po: docs.PurchaseDocument) -> docs.PurchaseDocument:
    """The bill that goes with a purchase order that is no longer pending (same lines, linked to the PO)."""
    bill = dataclasses.replace(po, kind="bill", linked_po_number=po.doc_number,
                               lines=[dataclasses.replace(line) for line in po.lines])
    return bill
