"""Where the state lives: a SQLite file (the embedded default) or a PostgreSQL URL (``state: postgresql://...``).

A URL may carry a password: ``str()`` of a ``DatabaseURL`` hides it, so the target can be named in any message,
status line or log without showing a credential.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from connex.errors import ConfigError

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

URL_SCHEME = re.compile(r"^(postgres|postgresql)(\+\w+)?://", re.I)


class DatabaseURL:
    """A PostgreSQL state target. ``url`` is the real one (psycopg 3 driver); ``str()`` is safe to print."""

    def __init__(self, text: str):
        from sqlalchemy.engine import make_url  # here: a file target never needs SQLAlchemy's URL parser
        from sqlalchemy.exc import ArgumentError

        try:
            url = make_url(URL_SCHEME.sub("postgresql+psycopg://", text.strip(), count=1))
        except (ArgumentError, ValueError) as exc:
            raise ConfigError(f"not a usable database URL ({_hide(text)}): {_hide(str(exc))}") from None
        self.url: URL = url
        self.password = url.password

    def __str__(self) -> str:
        return self.url.set(drivername="postgresql").render_as_string(hide_password=True)

    def __repr__(self) -> str:
        return f"DatabaseURL({str(self)!r})"

    def __eq__(self, other) -> bool:
        return isinstance(other, DatabaseURL) and other.url == self.url

    def __hash__(self) -> int:
        return hash(self.url.render_as_string(hide_password=False))

    def exists(self) -> bool:
        """Like ``Path.exists`` for a state file: a server database is always there to be opened."""
        return True


StateTarget = Path | DatabaseURL


def is_url(text: str) -> bool:
    return bool(URL_SCHEME.match(str(text).strip()))


def state_target(value: str | Path | DatabaseURL, base: Path | None = None) -> StateTarget:
    """A ``state:`` value as a target: a URL as it is, a file path relative to ``base`` (the config's folder)."""
    if isinstance(value, DatabaseURL):
        return value
    if isinstance(value, str) and is_url(value):
        return DatabaseURL(value)
    path = Path(value)
    return base / path if base is not None else path


def url_password(text: str) -> str | None:
    """The password written into a URL, found without parsing it (the text may not be a valid URL)."""
    match = re.search(r"://[^:/@]*:([^@]*)@", text)
    return match.group(1) if match else None


def _hide(text: str) -> str:
    return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", text)
