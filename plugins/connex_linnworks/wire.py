"""How Linnworks writes values on the wire, shared by the client, the normaliser and the simulator.

Linnworks money is ``number(double)`` and can carry more places than the currency (``23.325``), so JSON is
parsed with ``parse_float=Decimal``: the value arrives exactly as sent and rounding stays a deliberate act
further down the pipeline. Dates are UTC ISO strings; ``0001-01-01T00:00:00Z`` is .NET's ``DateTime.MinValue``
and means "no date".
"""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal
from typing import Any

EMPTY_GUID = "00000000-0000-0000-0000-000000000000"

_ISO = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})[T ](?P<time>\d{2}:\d{2}:\d{2})(?P<frac>\.\d+)?(?P<tz>Z|[+-]\d{2}:?\d{2})?$"
)


def loads(text: str | bytes) -> Any:
    """Parse a Linnworks JSON body keeping every non-integer number as an exact Decimal."""
    return json.loads(text, parse_float=Decimal)


def dumps(value: Any) -> str:
    """Serialise a request value: Decimals as JSON numbers, datetimes in the SDK's UTC format."""
    return json.dumps(value, default=_encode, ensure_ascii=False, separators=(",", ":"))


def _encode(value: Any):
    if isinstance(value, Decimal):
        # json cannot emit a Decimal natively; float is exact enough for request values (levels, amounts)
        return float(value)
    if isinstance(value, dt.datetime):
        return format_datetime(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def parse_datetime(value: Any) -> dt.datetime | None:
    """An ISO string to an aware UTC datetime; the .NET MinValue sentinel, null and "" become None.

    Strings without an offset are taken as UTC because Linnworks stores and sends UTC throughout
    (``DateOfPurchase`` is documented as UTC); assuming local time would shift every date by the
    host's offset.
    """
    if value is None or isinstance(value, dt.datetime):
        return value
    if not isinstance(value, str) or not value.strip():
        return None
    m = _ISO.match(value.strip())
    if not m:
        raise ValueError(f"not an ISO date-time: {value!r}")
    if m["date"] == "0001-01-01":
        return None
    frac = (m["frac"] or "")[:7]
    micro = int((frac[1:] + "000000")[:6]) if frac else 0
    tz = m["tz"]
    if tz in (None, "Z"):
        tzinfo = dt.UTC
    else:
        sign = 1 if tz[0] == "+" else -1
        digits = tz[1:].replace(":", "")
        tzinfo = dt.timezone(sign * dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    base = dt.datetime.fromisoformat(f"{m['date']}T{m['time']}").replace(microsecond=micro, tzinfo=tzinfo)
    return base.astimezone(dt.UTC)


def looks_like_datetime(value: Any) -> bool:
    return isinstance(value, str) and _ISO.match(value.strip()) is not None


def format_datetime(value: dt.datetime) -> str:
    """UTC ISO with milliseconds and a Z, e.g. ``2025-03-01T14:25:47.190Z``.

    The SDK sends two fractional digits; we send three so a checkpoint taken from ``dProcessedOn`` round-trips
    without moving earlier (an earlier bound only re-reads rows the cursor already skips by id).
    """
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    value = value.astimezone(dt.UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def is_empty_guid(value: Any) -> bool:
    return value in (None, "", EMPTY_GUID)
