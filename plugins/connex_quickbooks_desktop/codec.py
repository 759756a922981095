"""Documents and parties <-> JSON, so the durable queue can rebuild exactly what the engine enqueued.

The queue stores the mapped document, not prebuilt qbXML: requests are built when a Web Connector session asks
for them, so they can use what that session learned (the company's multicurrency setting, the purchase order
lines a bill links to) and so a fixed builder applies to documents still waiting in the queue.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
import typing
from decimal import Decimal
from typing import Any

from connex.documents import (
    Address,
    Document,
    JournalDocument,
    Line,
    Party,
    PaymentDocument,
    PurchaseDocument,
    RefundDocument,
    SalesDocument,
)

_CLASSES = {cls.__name__: cls for cls in (Document, SalesDocument, PurchaseDocument, RefundDocument,
                                          PaymentDocument, JournalDocument, Party)}
_NESTED = {"Address": Address, "Party": Party, "Line": Line}


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return {"$dec": str(value)}
    if isinstance(value, dt.date):
        return {"$date": value.isoformat()}
    if dataclasses.is_dataclass(value):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def dumps(obj: Document | Party) -> str:
    return json.dumps({"$type": type(obj).__name__, "data": _plain(obj)}, sort_keys=True)


def _restore(value: Any, hint: Any) -> Any:
    if isinstance(value, dict) and "$dec" in value:
        return Decimal(value["$dec"])
    if isinstance(value, dict) and "$date" in value:
        return dt.date.fromisoformat(value["$date"])
    if value is None:
        return None
    text = str(hint)
    if isinstance(value, list):
        inner = "Line" if "Line" in text else None
        return [_build(_NESTED[inner], v) if inner else v for v in value]
    if isinstance(value, dict):
        for name, cls in _NESTED.items():
            if name in text:
                return _build(cls, value)
    return value


@functools.cache
def _hints(cls: type) -> dict:
    return typing.get_type_hints(cls)


def _build(cls: type, data: dict) -> Any:
    hints = _hints(cls)
    kwargs = {
        f.name: _restore(data.get(f.name), hints.get(f.name))
        for f in dataclasses.fields(cls)
        if f.name in data
    }
    return cls(**kwargs)


def loads(text: str) -> Document | Party:
    payload = json.loads(text)
    return _build(_CLASSES[payload["$type"]], payload["data"])
