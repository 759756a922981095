"""Money as Decimal, rounded half-up to the currency's minor units (ISO 4217)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

# ISO 4217 currencies whose minor unit is not 2 places; every other code uses 2.
MINOR_UNITS = {
    **dict.fromkeys(("BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND",
                     "VUV", "XAF", "XOF", "XPF"), 0),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
    "CLF": 4, "UYW": 4,
}
QUANTA = {places: Decimal(1).scaleb(-places) for places in range(5)}  # every value MINOR_UNITS holds


def places_for(currency: str | None) -> int:
    return MINOR_UNITS.get((currency or "").upper(), 2)


#: no order carries an amount or quantity beyond 1e15, or a non-zero one below 1e-20: outside that range a value
#: is refused here with a readable message, before quantize or a division turns it into InvalidOperation/Overflow
LARGEST_EXPONENT, SMALLEST_EXPONENT = 15, -20


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:30]}...({len(text)} characters)"


def in_range(number: Decimal, original=None) -> Decimal:
    if not number.is_finite():
        raise ValueError(f"expected a finite number, got {_short(original if original is not None else number)}")
    if number and not SMALLEST_EXPONENT <= number.adjusted() <= LARGEST_EXPONENT:
        raise ValueError(f"{_short(original if original is not None else number)} is out of range for an amount "
                         "or quantity")
    return number


def to_decimal(value) -> Decimal:
    """Exact conversion: floats go through their shortest repr, so 23.325 stays 23.325, not 23.3249999..."""
    if isinstance(value, Decimal):
        return value if value.is_finite() and -16 < value.adjusted() < 16 else in_range(value)
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {value!r}")
    if isinstance(value, float):
        value = repr(value)
    try:
        result = Decimal(str(value).strip().replace(",", "")) if isinstance(value, str) else Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise ValueError(f"expected a number, got {_short(value)}") from None
    return in_range(result, value)


def round_money(value, currency: str | None = None) -> Decimal:
    return to_decimal(value).quantize(QUANTA[places_for(currency)], rounding=ROUND_HALF_UP)


def round_places(value, places: int) -> Decimal:
    return to_decimal(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
