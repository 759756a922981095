"""A worked example of a third-party Connex plugin (see docs/plugins.md).

It registers a source connector, ``jsonl``, that reads a folder of JSON-lines exports (orders.jsonl,
purchase_orders.jsonl, refunds.jsonl, suppliers.jsonl, locations.jsonl) and records stock level updates in
stock_levels.jsonl; a target connector, also ``jsonl``, that writes mapped documents to JSON-lines
files; plus a Jinja filter and a rule comparison, to show every registration hook.
"""

from connex import hookimpl
from connex_jsonl.source import JsonlSource
from connex_jsonl.target import JsonlTarget


@hookimpl
def connex_sources():
    return {"jsonl": JsonlSource}


@hookimpl
def connex_targets():
    return {"jsonl": JsonlTarget}


@hookimpl
def connex_jinja_filters():
    return {"shout": lambda value: str(value).upper() + "!"}


@hookimpl
def connex_comparisons():
    return {"has_digits": lambda value, _expected: any(ch.isdigit() for ch in str(value or ""))}
