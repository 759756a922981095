"""Failed documents grouped by kind of reason, as ``connex status`` groups them (``commands._failures``).

The ledger counts the failures by their own reason in SQL (``queries.Ledger.failure_reasons``): thousands of
failures share a few dozen reasons, and only those are classified here. A group remembers its reasons, so its
documents are one query away when it is opened (``queries.Ledger.failures_for``).
"""

from __future__ import annotations

import functools
import hashlib
from collections import Counter
from dataclasses import dataclass, field

from connex.commands._failures import classify

#: each distinct reason is classified once per process
_classify = functools.lru_cache(maxsize=4096)(classify)


@dataclass
class FailureGroup:
    kind: str
    fix: str | None
    count: int = 0
    subjects: Counter = field(default_factory=Counter)
    flow_counts: Counter = field(default_factory=Counter)
    reasons: set[str] = field(default_factory=set)

    @property
    def id(self) -> str:
        """A short stable name for the group in URLs and the page (the kind can be a long free text)."""
        return hashlib.sha256(self.kind.encode()).hexdigest()[:12]

    @property
    def flows(self) -> list[str]:
        return sorted(self.flow_counts)


def grouped(reasons: list[tuple[str, str, int]]) -> list[FailureGroup]:
    """``(reason, flow, documents)`` rows as groups, the largest first."""
    groups: dict[str, FailureGroup] = {}
    for reason, flow, count in reasons:
        kind, subject, fix = _classify(reason)
        entry = groups.setdefault(kind, FailureGroup(kind, fix))
        entry.count += count
        entry.flow_counts[flow] += count
        entry.reasons.add(reason)
        if subject:
            entry.subjects[subject] += count
    return sorted(groups.values(), key=lambda g: (-g.count, g.kind))
