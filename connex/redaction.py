"""Which values are secrets, so that no message ever shows one.

A configuration file holds passwords, client secrets and tokens, and its error messages are printed to terminals,
CI logs and support tickets. The rule is simple: a message never quotes the value of a key whose name is
secret-bearing, nor any value that equals (or contains) a known secret, wherever it was pasted.

A key is secret-bearing when a connector lists it in ``secret_keys``, when its name says so (password, secret,
token, ...), or when it is a near miss of such a name (``pasword``, ``client_secert``): a typo in the key must not
turn the value under it into something an "unknown key" message may print.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from typing import Any

from connex.errors import ConfigError

REDACTED = "***"
HIDDEN = "a hidden value (secret)"
SECRET_WORDS = re.compile(r"secret|passw|pasw|pwd|token|api[-_]?key|private[-_]?key|credential", re.I)
# below this a secret is too short to scrub out of free text without garbling it (it still is never quoted)
MIN_SCRUB_LENGTH = 4


class Secrets:
    def __init__(self, key_names: Iterable[str] = (), values: Iterable[str] = ()):
        self.key_names = {name.lower() for name in key_names}
        self.values: set[str] = set()
        for value in values:
            self.add(value)

    def add(self, value: Any) -> None:
        if value is None or isinstance(value, bool):
            return
        text = str(value).strip()
        if text:
            self.values.add(text)

    def is_secret_key(self, name: Any) -> bool:
        if not isinstance(name, str):
            return False
        lowered = name.lower()
        if lowered in self.key_names or SECRET_WORDS.search(lowered):
            return True
        return bool(difflib.get_close_matches(lowered, self.key_names, n=1, cutoff=0.8))

    def collect(self, data: Any) -> None:
        """Every value under a secret-bearing key, at any depth of ``data``. Iterative: the file's nesting is
        bounded, but this should not depend on it."""
        todo: list[tuple[Any, bool]] = [(data, False)]
        while todo:
            node, secret = todo.pop()
            if isinstance(node, dict):
                todo.extend((value, secret or self.is_secret_key(key)) for key, value in node.items())
            elif isinstance(node, list):
                todo.extend((value, secret) for value in node)
            elif secret:
                self.add(node)

    def hides(self, path: Sequence[str | int], value: Any) -> bool:
        """Whether a message about the value at ``path`` must not show it."""
        if any(self.is_secret_key(step) for step in path):
            return True
        return self.is_secret_value(value)

    def is_secret_value(self, value: Any) -> bool:
        if value is None or isinstance(value, (bool, dict, list)):
            return False
        text = str(value).strip().lower()
        return any(text == secret.lower() or (len(secret) >= MIN_SCRUB_LENGTH and secret.lower() in text)
                   for secret in self.values)

    def scrub(self, text: str) -> str:
        """``text`` with every known secret (of scrubbable length) replaced, whatever its letter case."""
        for secret in sorted(self.values, key=len, reverse=True):
            if len(secret) >= MIN_SCRUB_LENGTH and secret.lower() in text.lower():
                text = re.sub(re.escape(secret), REDACTED, text, flags=re.I)
        return text

    def scrub_errors(self, errors: Iterable[ConfigError]) -> list[ConfigError]:
        out = []
        for error in errors:
            message = self.scrub(error.message)
            out.append(error if message == error.message else ConfigError(message, where=error.where,
                                                                           code=error.code))
        return out
