"""Logging set-up: text or JSON lines, with secrets scrubbed from every record before it is written."""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import sys
from collections.abc import Iterable, Mapping

REDACTED = "***"


class RedactSecrets(logging.Filter):
    """Replaces every known secret value in the formatted message and its arguments."""

    def __init__(self, secrets: Iterable[str]):
        super().__init__()
        # longest first, so a secret containing another is scrubbed whole
        self.secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def scrub(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            record.msg = self.scrub(record.getMessage())
            record.args = None
        return True


class StripControls(logging.Filter):
    """Control characters from record values (NUL, terminal escape sequences, line breaks a hostile order could
    use to forge log lines) never reach a log line; a traceback keeps its own line breaks."""

    def filter(self, record: logging.LogRecord) -> bool:
        from connex.sync.checks import clean_text

        message = record.getMessage()
        cleaned = clean_text(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def readable(value) -> str:
    """A mapping as a person writes it: counts as "118 posted, 120 read", anything else as "key: value"."""
    if isinstance(value, Mapping):
        if value and all(isinstance(v, int) and not isinstance(v, bool) for v in value.values()):
            return ", ".join(f"{v} {str(k).replace('_', ' ')}" for k, v in value.items())
        return ", ".join(f"{k}: {readable(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple, set, frozenset)):
        return ", ".join(readable(v) for v in value)
    return str(value)


class ReadableArgs(logging.Filter):
    """Log arguments that are mappings or collections are written as text, never as Python reprs."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(isinstance(a, (Mapping, list, set, frozenset))
                                                  for a in record.args):
            record.args = tuple(readable(a) if isinstance(a, (Mapping, list, set, frozenset)) else a
                                for a in record.args)
        elif isinstance(record.args, Mapping) and "%(" not in str(record.msg):
            record.args = (readable(record.args),)  # logging unwraps a lone mapping argument; wrap it again
        return True


class LocalTimes(logging.Formatter):
    """Times as ISO 8601 with the local offset (2026-12-03T10:36:45.768+00:00): a log read elsewhere, or next
    to QuickBooks' and Linnworks' own times, is unambiguous."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802 - logging's name
        return dt.datetime.fromtimestamp(record.created).astimezone().isoformat(timespec="milliseconds")


#: the connection whose pass this thread runs (the daemon sets it), so every line of the pass can say so
current_connection: contextvars.ContextVar[str | None] = contextvars.ContextVar("connection", default=None)


class ConnectionName(logging.Filter):
    """``connection`` on every record logged during a connection's pass, unless the record has its own."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "connection"):
            name = current_connection.get()
            if name is not None:
                record.connection = name
        return True


class JsonLines(LocalTimes):
    """One JSON object per line; extra attributes such as run_id and document carry through."""

    EXTRA = ("connection", "run_id", "flow", "document", "source_id", "status")

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": self.formatTime(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in self.EXTRA:
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def setup_logging(level: str = "info", fmt: str = "text", secrets: Iterable[str] = ()) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(ConnectionName())
    handler.addFilter(ReadableArgs())  # before redaction, which freezes the message
    handler.addFilter(RedactSecrets(secrets))
    handler.addFilter(StripControls())
    text = LocalTimes("%(asctime)s %(levelname)s %(name)s: %(message)s")
    handler.setFormatter(JsonLines() if fmt == "json" else text)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
