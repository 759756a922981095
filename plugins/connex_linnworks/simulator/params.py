"""Reading Linnworks request parameters the way the real API accepts them.

Two encodings work against Linnworks (reference §2): SDK-style forms (one field per C# parameter, objects as
JSON strings) and JSON bodies. JSON bodies come in two shapes, and which one depends on the method: a wrapper
keyed by the parameter names (``{"pkOrderIds": [...]}``, ``{"request": {...}}``) or, where the spec's body
parameter is called ``request`` and typed as the request class, the object itself unwrapped.

The simulator is stricter than Linnworks in one way, on purpose: an unknown parameter name is a 400 naming it,
where the real API would silently read the parameter as null. A misspelt name is then caught in tests instead
of turning into "no filter" in production.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from connex.simulation.server import Request


class BadRequest(Exception):
    """Answered as HTTP 400 ``{"Code": null, "Message": ...}``."""


@dataclass(frozen=True)
class Signature:
    """A method's parameters: top-level names, and for object parameters the field names they may hold."""

    names: tuple[str, ...]
    unwrapped: bool = False  # the JSON body is the ``request`` object itself
    fields: dict | None = (
        None  # parameter name -> allowed field names inside it (objects or arrays of objects)
    )


def _is_json(request: Request) -> bool:
    return "json" in (request.header("content-type") or "").lower()


def _form_value(text: str):
    try:
        return json.loads(text)
    except ValueError:
        return text  # plain strings (changeSource, GUIDs) are sent unquoted


def read_args(request: Request, endpoint: str, signature: Signature) -> dict:
    """The call's arguments by parameter name, or ``BadRequest`` naming what is wrong."""
    if request.method == "GET":
        args = {k: v[-1] for k, v in request.query.items()}
    elif _is_json(request):
        try:
            body = request.json()
        except ValueError as exc:
            raise BadRequest(f"{endpoint}: the request body is not valid JSON ({exc})") from exc
        if signature.unwrapped:
            args = {"request": body}
        elif body is None:
            args = {}
        elif not isinstance(body, dict):
            raise BadRequest(f"{endpoint}: expected a JSON object keyed by {', '.join(signature.names)}")
        else:
            args = body
    else:
        args = {k: _form_value(v) for k, v in request.form().items()}
    unknown = [k for k in args if k not in signature.names]
    if unknown:
        raise BadRequest(
            f"{endpoint}: unknown parameter {', '.join(map(repr, unknown))}; "
            f"expected {', '.join(signature.names)}"
        )
    for name, allowed in (signature.fields or {}).items():
        value = args.get(name)
        for obj in value if isinstance(value, list) else [value]:
            if obj is None:
                continue
            if not isinstance(obj, dict):
                raise BadRequest(f"{endpoint}: parameter {name!r} must be an object")
            extra = [k for k in obj if k not in allowed]
            if extra:
                raise BadRequest(
                    f"{endpoint}: unknown field {', '.join(map(repr, extra))} in {name!r}; "
                    f"expected {', '.join(sorted(allowed))}"
                )
    return args


def read_auth(request: Request) -> dict:
    """AuthorizeByApplication takes any of the three encodings seen working; flat form names are
    case-insensitive (Airbyte sends ``applicationId``)."""
    if _is_json(request):
        body = request.json() or {}
        if "request" in body and isinstance(body["request"], dict):
            body = body["request"]
    else:
        form = request.form()
        body = _form_value(form["request"]) if "request" in form else form
        if not isinstance(body, dict):
            raise BadRequest("Auth/AuthorizeByApplication: 'request' must be a JSON object")
    wanted = {"applicationid": "ApplicationId", "applicationsecret": "ApplicationSecret", "token": "Token"}
    return {wanted[k.lower()]: str(v) for k, v in body.items() if k.lower() in wanted}


def int_arg(value, name: str, endpoint: str, default: int | None = None) -> int:
    if value is None or value == "":
        if default is None:
            raise BadRequest(f"{endpoint}: {name} is required")
        return default
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise BadRequest(f"{endpoint}: {name} must be an integer, got {value!r}") from exc
