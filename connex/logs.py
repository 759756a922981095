"""Logging set-up: text or JSON lines, with secrets scrubbed from every record before it is written."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable

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


class JsonLines(logging.Formatter):
    """One JSON object per line; extra attributes such as run_id and document carry through."""

    EXTRA = ("run_id", "flow", "document", "source_id", "status")

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
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
    handler.addFilter(RedactSecrets(secrets))
    handler.addFilter(StripControls())
    text = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    handler.setFormatter(JsonLines() if fmt == "json" else text)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
