"""Failed documents grouped by kind of reason, as ``connex status`` groups them (``commands._failures``), but
keeping the documents themselves so each group can list and retry them."""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field

from connex.commands._failures import _own_name_removed, classify
from connex.console.queries import Document


@dataclass
class FailureGroup:
    kind: str
    fix: str | None
    subjects: Counter = field(default_factory=Counter)
    documents: list[Document] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.documents)

    @property
    def id(self) -> str:
        """A short stable name for the group in URLs and the page (the kind can be a long free text)."""
        return hashlib.sha256(self.kind.encode()).hexdigest()[:12]

    @property
    def flows(self) -> list[str]:
        return sorted({d.flow for d in self.documents})


def grouped(documents: list[Document]) -> list[FailureGroup]:
    groups: dict[str, FailureGroup] = {}
    for document in documents:
        reason = _own_name_removed(document.label, document.error or "no reason recorded")
        kind, subject, fix = classify(reason)
        entry = groups.setdefault(kind, FailureGroup(kind, fix))
        entry.documents.append(document)
        if subject:
            entry.subjects[subject] += 1
    return sorted(groups.values(), key=lambda g: (-g.count, g.kind))
