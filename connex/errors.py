"""The error taxonomy shared by the core and every plugin.

Intent is encoded in the type, so callers never parse messages to decide what to do:

* ``ConfigError``: the user must fix a file, a setting or a credential; retrying will not help (exit code 2).
* ``TransientError``: the outside world hiccuped (429, 5xx, timeout, dropped connection); retry with backoff.
* ``DocumentError``: one source document cannot be synced (bad field, unknown SKU, target validation error); it is
  recorded as failed with the reason and the run goes on with the others.
* ``InternalError``: a bug in Connex or a plugin. Named so it does not shadow the builtin ``SystemError``.

Every error can say *where*: a ``Location`` (file, line, column, field) for configuration and rules, or a
``DocumentRef`` (kind, source id, field) for data.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Location:
    """A position in a YAML file; line and column are 1-based as editors show them."""

    file: str
    line: int | None = None
    col: int | None = None
    field: str | None = None

    def __str__(self) -> str:
        parts = [self.file]
        if self.line is not None:
            parts.append(str(self.line))
            if self.col is not None:
                parts.append(str(self.col))
        return ":".join(parts)


@dataclass(frozen=True)
class DocumentRef:
    """Which source document (and optionally which field of it) a data error concerns."""

    kind: str
    source_id: str
    field: str | None = None
    number: str | None = None

    def __str__(self) -> str:
        label = f"{self.kind} {self.number or self.source_id}"
        return f"{label} field {self.field}" if self.field else label


class ConnexError(Exception):
    """Base class: a message for people plus where it happened."""

    kind = "error"

    def __init__(self, message: str, *, where: Location | DocumentRef | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.where = where
        self.code = code

    def __str__(self) -> str:
        if isinstance(self.where, Location):
            return f"{self.where}: {self.message}"
        if isinstance(self.where, DocumentRef):
            return f"{self.where}: {self.message}"
        return self.message


class ConfigError(ConnexError):
    """Fix the configuration, rules or credentials and rerun. Never retried."""

    kind = "config"


class ConfigErrors(ConfigError):
    """Several configuration problems found in one pass, reported together."""

    def __init__(self, errors: list[ConfigError]):
        self.errors = list(errors)
        super().__init__("\n".join(str(e) for e in self.errors) or "invalid configuration")

    def __str__(self) -> str:
        return "\n".join(str(e) for e in self.errors)


class TransientError(ConnexError):
    """Temporary failure of a remote system; safe to retry after ``retry_after`` seconds if given."""

    kind = "transient"

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class DocumentError(ConnexError):
    """One document cannot be synced; the run records it as failed and continues."""

    kind = "document"


class InternalError(ConnexError):
    """A bug in Connex or in a plugin."""

    kind = "internal"
