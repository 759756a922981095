"""The QuickBooks Online query language, as much of it as integrations use:

``SELECT * | COUNT(*) | f1, f2 FROM Entity [WHERE cond AND cond ...] [ORDERBY f [ASC|DESC]] [STARTPOSITION n]
[MAXRESULTS n]`` with ``=, <, >, <=, >=, IN (...), LIKE '%x%'``; strings in single quotes with ``\\'``
escapes. QuickBooks has no OR, and neither does this. String comparisons ignore case, as QBO's do. Inactive
list entries are left out unless the statement filters on ``Active`` itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

MAX_RESULTS = 1000
DEFAULT_RESULTS = 100


class QueryError(ValueError):
    """Becomes Fault 4000 "Error parsing query"."""


_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>'(?:\\.|[^'\\])*')
      | (?P<number>-?\d+(?:\.\d+)?)
      | (?P<op><=|>=|!=|=|<|>|\(|\)|,|\*)
      | (?P<word>[A-Za-z_][A-Za-z0-9_.]*(?:\(\*\))?)
    )""",
    re.VERBOSE,
)


def tokenize(statement: str) -> list[tuple[str, object]]:
    tokens: list[tuple[str, object]] = []
    pos = 0
    statement = statement.strip()
    while pos < len(statement):
        match = _TOKEN.match(statement, pos)
        if not match or match.end() == pos:
            raise QueryError(
                f'QueryParserError: Encountered "{statement[pos : pos + 10]}" at column {pos + 1}'
            )
        pos = match.end()
        kind = match.lastgroup
        text = match.group(kind)
        if kind == "string":
            tokens.append(("value", re.sub(r"\\(.)", r"\1", text[1:-1])))
        elif kind == "number":
            tokens.append(("value", Decimal(text)))
        else:
            tokens.append((kind, text))
    return tokens


@dataclass
class Condition:
    field: str
    op: str
    value: object  # a scalar, or a list for IN


@dataclass
class Query:
    entity: str
    select: list[str] | None  # None = *
    count: bool = False
    where: list[Condition] = field(default_factory=list)
    order_by: str | None = None
    descending: bool = False
    start: int = 1
    max_results: int = DEFAULT_RESULTS


class _Parser:
    def __init__(self, tokens):
        self.tokens = tokens
        self.i = 0

    def peek(self):
        return self.tokens[self.i] if self.i < len(self.tokens) else ("end", None)

    def take(self):
        token = self.peek()
        if token[0] == "end":
            raise QueryError("QueryParserError: Encountered end of statement")
        self.i += 1
        return token

    def keyword(self, word: str) -> bool:
        kind, text = self.peek()
        if kind == "word" and str(text).upper() == word:
            self.i += 1
            return True
        return False

    def expect_keyword(self, word: str):
        if not self.keyword(word):
            raise QueryError(f'QueryParserError: Encountered "{self.peek()[1]}", expected {word}')

    def expect_op(self, op: str):
        kind, text = self.take()
        if kind != "op" or text != op:
            raise QueryError(f'QueryParserError: Encountered "{text}", expected "{op}"')

    def value(self):
        kind, text = self.take()
        if kind == "value":
            return text
        if kind == "word" and str(text).lower() in ("true", "false"):
            return str(text).lower() == "true"
        raise QueryError(f'QueryParserError: Encountered "{text}", expected a value')

    def parse(self) -> Query:
        self.expect_keyword("SELECT")
        select: list[str] | None = []
        count = False
        kind, text = self.peek()
        if kind == "op" and text == "*":
            self.take()
            select = None
        elif kind == "word" and str(text).upper() == "COUNT(*)":
            self.take()
            count, select = True, None
        else:
            while True:
                kind, text = self.take()
                if kind != "word":
                    raise QueryError(f'QueryParserError: Encountered "{text}" in select list')
                select.append(str(text))
                if self.peek() != ("op", ","):
                    break
                self.take()
        self.expect_keyword("FROM")
        kind, entity = self.take()
        if kind != "word":
            raise QueryError(f'QueryParserError: Encountered "{entity}", expected an entity')
        query = Query(entity=str(entity), select=select, count=count)
        if self.keyword("WHERE"):
            while True:
                query.where.append(self.condition())
                if not self.keyword("AND"):
                    break
        if self.keyword("ORDERBY"):
            kind, text = self.take()
            query.order_by = str(text)
            if self.keyword("DESC"):
                query.descending = True
            else:
                self.keyword("ASC")
        if self.keyword("STARTPOSITION"):
            query.start = self.integer()
        if self.keyword("MAXRESULTS"):
            query.max_results = self.integer()
        if self.peek()[0] != "end":
            raise QueryError(f'QueryParserError: Encountered "{self.peek()[1]}" after the statement')
        if query.start < 1 or query.max_results < 1:
            raise QueryError("QueryValidationError: STARTPOSITION and MAXRESULTS must be positive")
        query.max_results = min(query.max_results, MAX_RESULTS)
        return query

    def integer(self) -> int:
        value = self.value()
        if not isinstance(value, Decimal) or value != value.to_integral_value():
            raise QueryError(f'QueryParserError: Encountered "{value}", expected an integer')
        return int(value)

    def condition(self) -> Condition:
        kind, name = self.take()
        if kind != "word":
            raise QueryError(f'QueryParserError: Encountered "{name}", expected a property')
        if self.keyword("IN"):
            self.expect_op("(")
            values = [self.value()]
            while self.peek() == ("op", ","):
                self.take()
                values.append(self.value())
            self.expect_op(")")
            return Condition(str(name), "in", values)
        if self.keyword("LIKE"):
            pattern = self.value()
            if not isinstance(pattern, str):
                raise QueryError("QueryParserError: LIKE needs a string pattern")
            return Condition(str(name), "like", pattern)
        kind, op = self.take()
        if kind != "op" or op not in ("=", "<", ">", "<=", ">="):
            raise QueryError(f'QueryParserError: Encountered "{op}", expected an operator')
        return Condition(str(name), op, self.value())


def parse(statement: str) -> Query:
    return _Parser(tokenize(statement)).parse()


def _field(entity: dict, path: str):
    value: object = entity
    for part in path.split("."):
        if isinstance(value, dict):
            # A reference compares by its value (``CustomerRef = '58'``); paths are case-insensitive in QBO.
            key = next((k for k in value if k.lower() == part.lower()), None)
            value = value.get(key) if key else None
        else:
            return None
    if isinstance(value, dict) and "value" in value:
        value = value["value"]
    return value


def _norm(value):
    if isinstance(value, str):
        return value.casefold()
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float | Decimal):
        return Decimal(str(value))
    return value


def _compare(actual, op: str, expected) -> bool:
    if actual is None:
        return False
    if isinstance(expected, Decimal) and isinstance(actual, str):
        try:
            actual = Decimal(actual)
        except InvalidOperation:
            return False
    elif isinstance(expected, str) and not isinstance(actual, str):
        actual = str(actual).lower() if isinstance(actual, bool) else str(actual)
    a, e = _norm(actual), _norm(expected)
    if op == "in":
        return any(_compare(actual, "=", v) for v in expected)
    if op == "like":
        regex = "^" + ".*".join(re.escape(part) for part in str(expected).casefold().split("%")) + "$"
        return re.match(regex, str(a), re.DOTALL) is not None
    try:
        return {"=": a == e, "<": a < e, ">": a > e, "<=": a <= e, ">=": a >= e}[op]
    except TypeError:
        return False


def matches(entity: dict, query: Query) -> bool:
    return all(_compare(_field(entity, c.field), c.op, c.value) for c in query.where)


def run(query: Query, rows: list[dict], *, has_active: bool) -> dict:
    """The ``QueryResponse`` object for ``rows`` (every stored entity of ``query.entity``)."""
    filters_active = any(c.field.lower() == "active" for c in query.where)
    selected = [
        r for r in rows if matches(r, query) and (filters_active or not has_active or r.get("Active", True))
    ]
    if query.count:
        return {"totalCount": len(selected)}
    if query.order_by:
        selected.sort(
            key=lambda r: (_field(r, query.order_by) is None, _norm(_field(r, query.order_by) or "")),
            reverse=query.descending,
        )
    page = selected[query.start - 1 : query.start - 1 + query.max_results]
    if not page:
        return {}
    if query.select is not None:
        keep = {s.split(".")[0].lower() for s in query.select} | {
            "id",
            "synctoken",
            "metadata",
            "domain",
            "sparse",
        }
        page = [{k: v for k, v in r.items() if k.lower() in keep} for r in page]
    return {query.entity: page, "startPosition": query.start, "maxResults": len(page)}
