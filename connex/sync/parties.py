"""The group step: every customer or vendor a page needs is found or created once, before its documents post."""

from __future__ import annotations

from collections.abc import Callable

from connex.connectors import TargetConnector
from connex.documents import Document
from connex.errors import ConfigError, ConnexError, TransientError


def party_of(document: Document):
    return getattr(document, "customer", None) or getattr(document, "vendor", None)


class PartyResolver:
    """Caches per run: one look-up per (name, currency) however many orders share it."""

    def __init__(self, target: TargetConnector):
        self.target = target
        self._done: dict[tuple, str | None] = {}
        self._errors: dict[tuple, str] = {}

    def resolve(self, documents: list[Document], on_failure: Callable[[Document, str], None]) -> list[Document]:
        """The documents whose customer or vendor exists (now); the others are reported through ``on_failure``."""
        ready = []
        for document in documents:
            party = party_of(document)
            if party is None:
                ready.append(document)
                continue
            key = ("vendor" if getattr(document, "vendor", None) else "customer", party.display_name, party.currency)
            if key not in self._done and key not in self._errors:
                try:
                    if key[0] == "vendor":
                        self._done[key] = self.target.find_or_create_vendor(party)
                    else:
                        self._done[key] = self.target.find_or_create_customer(party)
                except (TransientError, ConfigError):
                    raise  # the run stops: QuickBooks is down, or the credentials were refused
                except ConnexError as exc:
                    self._errors[key] = f"{key[0]} '{party.display_name}': {exc.message}"
                except Exception as exc:  # noqa: BLE001 - a party the target breaks on fails its documents only
                    self._errors[key] = f"{key[0]} '{party.display_name}': {type(exc).__name__}: {exc}"
            if key in self._errors:
                on_failure(document, self._errors[key])
            else:
                ready.append(document)
        return ready
