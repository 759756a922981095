"""Fixtures for the Linnworks tests: a running simulator, a connector wired to it, and the spec checker."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from connex_linnworks.connector import LinnworksSource
from connex_linnworks.simulator import LinnworksSimulator

from connex.transport import RetryPolicy
from tests.conftest import REFERENCE, reference

SPECS = REFERENCE / "linnworks-specs"
#: the spec files the conformance tests read (Linnworks publishes them without a licence: they cannot ship)
SPEC_FILES = ("auth.json", "orders.json", "openorders.json", "processedorders.json", "purchaseorder.json",
              "returnsrefunds.json", "stock.json", "inventory.json", "locations.json")


def fast_retry() -> RetryPolicy:
    return RetryPolicy(max_attempts=6, base_delay=0.001, max_delay=0.01, time_budget=5)


@pytest.fixture
def retry() -> RetryPolicy:
    """Real retries with tiny delays, so fault tests stay fast."""
    return fast_retry()


@pytest.fixture
def memory_state() -> MemoryState:
    return MemoryState()


@pytest.fixture
def sim():
    with LinnworksSimulator(processed_orders=120, open_orders=30, purchase_orders=12) as server:
        yield server


@pytest.fixture
def make_source():
    made = []

    def make(simulator, **config):
        source = LinnworksSource({**simulator.connector_config(), **config}, retry=fast_retry())
        made.append(source)
        return source

    yield make
    for source in made:
        source.close()


class MemoryState:
    """The KeyValueStore protocol in memory."""

    def __init__(self):
        self.data: dict[str, str] = {}

    def get(self, key):
        return self.data.get(key)

    def put(self, key, value):
        self.data[key] = value


# --- conformance against the official Swagger 2 specs ------------------------------------------------------
class Spec:
    """The official Linnworks specs as JSON Schemas, strict about names.

    Every object schema gets ``additionalProperties: false`` so a field the spec does not define (a private
    dialect) fails; every value may be null, because the live API sends nulls for absent objects and strings
    and Swagger 2 cannot say so.
    """

    def __init__(self, folder: Path):
        self.operations: dict[
            str, tuple[str, dict, dict]
        ] = {}  # "Controller/Method" -> (http method, op, defs)
        self.definitions: dict[str, dict] = {}
        for path in sorted(folder.glob("*.json")):
            doc = json.loads(path.read_text(encoding="utf-8"))
            if "paths" not in doc or "definitions" not in doc:
                continue  # the OpenAPI 3 v2 file is not used by the connector
            defs = {name: self._strict(schema) for name, schema in doc["definitions"].items()}
            for route, ops in doc["paths"].items():
                for method, op in ops.items():
                    endpoint = route.split("/api/", 1)[1]
                    self.operations.setdefault(endpoint, (method.upper(), op, defs))
            self.definitions.update(defs)

    def _strict(self, schema):
        if isinstance(schema, list):
            return [self._strict(s) for s in schema]
        if not isinstance(schema, dict):
            return schema
        out = {k: self._strict(v) for k, v in schema.items()}
        if "$ref" in out:
            return out  # the definition itself admits null (below), which keeps error messages precise
        if "properties" in out:
            out.setdefault("type", "object")
            out["additionalProperties"] = False
        if "type" in out and out["type"] != "null":
            out["type"] = [out["type"], "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
        return out

    def validator(self, endpoint: str, schema: dict):
        from jsonschema import Draft7Validator, FormatChecker

        _, _, defs = self.operations[endpoint]
        checker = FormatChecker(formats=())

        @checker.checks("uuid", raises=ValueError)
        def _uuid(value):
            import uuid

            return not isinstance(value, str) or bool(uuid.UUID(value))

        @checker.checks("date-time", raises=ValueError)
        def _dt(value):
            from connex_linnworks.wire import looks_like_datetime

            return not isinstance(value, str) or looks_like_datetime(value)

        @checker.checks("int32")
        def _int32(value):
            return not isinstance(value, int) or -(2**31) <= value < 2**31

        return Draft7Validator({**schema, "definitions": defs}, format_checker=checker)

    def errors(self, endpoint: str, value, schema: dict) -> list[str]:
        return [
            f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
            for e in self.validator(endpoint, schema).iter_errors(value)
        ]

    def response_errors(self, endpoint: str, body) -> list[str]:
        _, op, _ = self.operations[endpoint]
        schema = self._strict(op["responses"]["200"]["schema"])
        return self.errors(endpoint, body, schema)

    def request_errors(self, method: str, url: str, headers: dict, body: bytes | str | None) -> list[str]:
        """Check one HTTP request as sent: method, parameter names, required fields and types, and the
        ``Authorization`` header the spec's security definition asks for."""
        endpoint = urlsplit(url).path.split("/api/", 1)[1]
        if endpoint not in self.operations:
            return [f"{endpoint}: no such operation in the official specs"]
        http_method, op, _ = self.operations[endpoint]
        problems = []
        if method != http_method:
            problems.append(f"{endpoint}: sent {method}, the spec says {http_method}")
        params = op.get("parameters") or []
        if op.get("security") is not False and endpoint != "Auth/AuthorizeByApplication":
            auth = headers.get("Authorization") or ""
            if not auth or auth.lower().startswith("bearer"):
                problems.append(f"{endpoint}: Authorization must be the raw session token, got {auth!r}")
        query = {k: v[-1] for k, v in parse_qs(urlsplit(url).query, keep_blank_values=True).items()}
        query_params = {p["name"]: p for p in params if p.get("in") == "query"}
        for name, value in query.items():
            if name not in query_params:
                problems.append(
                    f"{endpoint}: unknown query parameter {name!r}; spec has {sorted(query_params)}"
                )
                continue
            declared = {
                k: query_params[name][k] for k in ("type", "format", "enum") if k in query_params[name]
            }
            if declared.get("type") == "integer" and value.lstrip("-").isdigit():
                value = int(value)
            elif declared.get("type") == "boolean" and value in ("true", "false"):
                value = value == "true"
            problems += [f"{name}: {e}" for e in self.errors(endpoint, value, self._strict(declared))]
        body_params = [p for p in params if p.get("in") == "body"]
        if isinstance(body, bytes):
            body = body.decode("utf-8")
        content_type = headers.get("Content-Type") or ""
        if not body:
            return problems
        if not body_params:
            return [*problems, f"{endpoint}: a body was sent but the operation takes none"]
        param = body_params[0]
        schema = self._strict(param["schema"])
        if "json" in content_type:
            return problems + self.errors(endpoint, json.loads(body), schema)
        form = {k: v[-1] for k, v in parse_qs(body, keep_blank_values=True).items()}
        if param["name"] == "request":
            # the body parameter is the request class itself: the SDK sends it as one field named request
            fields = {"request": schema}
        else:
            wrapper = self.definitions[param["schema"]["$ref"].split("/")[-1]]
            fields = wrapper.get("properties", {})
        for name, text in form.items():
            if name not in fields:
                problems.append(f"{endpoint}: unknown parameter {name!r}; spec has {sorted(fields)}")
                continue
            try:
                value = json.loads(text)
            except ValueError:
                value = text
            if (fields[name].get("type") or [None])[0] == "string" and not isinstance(value, str):
                value = text
            problems += [f"{name}.{e}" for e in self.errors(endpoint, value, fields[name])]
        return problems


@pytest.fixture(scope="session")
def spec() -> Spec:
    return Spec(reference(*(f"linnworks-specs/{name}" for name in SPEC_FILES)).parent)
