"""Failures and skips as a person reads them: grouped by reason with counts, each reason once, with its fix.

A Desktop session with 9 missing SKUs fails 142 documents with 9 distinct messages; listed one per document
(and again in the log) that is 288 lines nobody reads. Grouped, it is one line per kind of problem naming the
items and how many documents each holds up, the config key that fixes it, and the documents (the first few;
``connex status`` lists all of them).

The known kinds are recognised from the messages the built-in targets write; any other message is its own group.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

#: how many document names a group prints before "and N more"
SHOWN = 5


@dataclass(frozen=True)
class Kind:
    name: str  # what the problem is, e.g. "item not in QuickBooks"
    pattern: re.Pattern
    fix: str  # the config key and its values (or the action) that make it go away


def _kind(name: str, pattern: str, fix: str) -> Kind:
    return Kind(name, re.compile(pattern, re.IGNORECASE), fix)


KINDS = (
    # QuickBooks Online: a shipping/rounding item Connex would create, with creating switched off
    _kind("Connex's own item not in QuickBooks",
          r"item '(?P<subject>[^']+)' not in QuickBooks \(create_own_items is off",
          "target.create_own_items: true (Connex creates it once), or target.shipping_item / rounding_item naming "
          "an item that exists in QuickBooks"),
    # QuickBooks Online: an item the connector's own options name (shipping, rounding, a rule's item_name)
    _kind("configured item not in QuickBooks",
          r"item '(?P<subject>[^']+)' not in QuickBooks \(check the connector's item options\)",
          "target.shipping_item / target.rounding_item (or the rule that sets item_name): the name of an item "
          "that exists in QuickBooks"),
    # QuickBooks Online ("item SKU not in QuickBooks") and Desktop ("item 'SKU' is not in QuickBooks")
    _kind("item not in QuickBooks", r"\bitem '?(?P<subject>[^']+?)'? (?:is )?not in QuickBooks",
          "target.missing_items: create_non_inventory (Connex creates them), or add the items in QuickBooks"),
    # Desktop: QuickBooks' own 3140 message for any list reference
    _kind("item not in QuickBooks", r'invalid reference to QuickBooks Item "(?P<subject>[^"]+)"',
          "target.missing_items: create_non_inventory (Connex creates them), or add the items in QuickBooks"),
    _kind("account not in QuickBooks",
          r"""(?:account '?(?P<subject>[^']+?)'? .*not in QuickBooks|invalid reference to QuickBooks Account """
          r'"(?P<subject2>[^"]+)")',
          "target.income_account / expense_account / asset_account / discount_account (Desktop: cogs_account): "
          "the name of an account that exists in QuickBooks"),
    _kind("payment method not in QuickBooks", r'invalid reference to QuickBooks Payment Method "(?P<subject>[^"]+)"',
          "add the payment method in QuickBooks, or map it in a rule (docs/rules.md)"),
    _kind("sales tax code not in QuickBooks", r'invalid reference to QuickBooks Sales Tax Code "(?P<subject>[^"]+)"',
          "add the tax code in QuickBooks, or map tax codes in a rule (docs/rules.md)"),
    _kind("currency not in QuickBooks", r'invalid reference to QuickBooks Currency "(?P<subject>[^"]+)"',
          "turn on multicurrency and add the currency in QuickBooks"),
    _kind("purchase order not in QuickBooks",
          r"purchase order (?P<subject>\S+) (?:is )?not in QuickBooks",
          "sync.purchases: true, so the purchase order is posted before its bill"),
)


@dataclass
class Group:
    kind: str
    fix: str | None
    subjects: Counter = field(default_factory=Counter)  # item/account/... -> documents it holds up
    documents: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.documents)


#: "customer 'Amazon GBP': <why>": a party that could not be found or created fails every document it is on
_PARTY = re.compile(r"^(?P<subject>(?:customer|vendor) '[^']*'): (?P<rest>.+)$", re.DOTALL)


def classify(reason: str) -> tuple[str, str | None, str | None]:
    """(kind, subject, fix) of one failure message; an unknown message is its own kind."""
    party = _PARTY.match(reason)
    if party:
        kind, subject, fix = classify(party["rest"])
        return kind, subject or party["subject"], fix
    for kind in KINDS:
        found = kind.pattern.search(reason)
        if found:
            subject = next((v for v in found.groupdict().values() if v), None)
            return kind.name, subject, kind.fix
    return reason, None, None


def group(failures: Iterable[tuple[str, str]]) -> list[Group]:
    """``(document, reason)`` pairs grouped by kind of reason, the largest group first."""
    groups: dict[str, Group] = {}
    for document, reason in failures:
        kind, subject, fix = classify(_own_name_removed(document, reason or "no reason recorded"))
        entry = groups.setdefault(kind, Group(kind, fix))
        entry.documents.append(document)
        if subject:
            entry.subjects[subject] += 1
    return sorted(groups.values(), key=lambda g: (-g.count, g.kind))


def _own_name_removed(document: str, reason: str) -> str:
    """"order 300000 field currency: ..." of order 300000 is "field currency: ...": the same reason as the
    other orders' (the document is named beside it anyway)."""
    number = document.rsplit(" ", 1)[-1]
    for own in (document, number):
        if own and (reason.startswith(own + " ") or reason.startswith(own + ":")):
            return reason[len(own):].lstrip(" :") or reason
    return reason


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _names(documents: list[str], shown: int | None = SHOWN) -> str:
    """The documents, or the first ``shown`` of them and how many more (None: all)."""
    if shown is None or len(documents) <= shown:
        return ", ".join(documents)
    return f"{', '.join(documents[:shown])} and {len(documents) - shown} more"


def lines(failures: Iterable[tuple[str, str]], indent: str = "  ", mark: str = "FAILED ",
          shown: int | None = SHOWN) -> list[str]:
    """The grouped failures as text lines: the kind with its subjects and counts, the fix, the documents. A
    reason of one document only reads as before: ``FAILED order 100012: field currency: ...``."""
    out = []
    for entry in group(failures):
        if entry.count == 1 and not entry.subjects:
            out.append(f"{indent}{mark}{entry.documents[0]}: {entry.kind}")
            continue
        subjects = ", ".join(f"{s} ({n})" for s, n in entry.subjects.most_common())
        head = f"{indent}{mark}{entry.kind} ({_plural(entry.count, 'document')})"
        out.append(f"{head}: {subjects}" if subjects else head)
        if entry.fix:
            out.append(f"{indent}  fix: {entry.fix}")
        out.append(f"{indent}  {_names(entry.documents, shown)}")
    return out


def skipped_lines(skipped: Iterable[tuple[str, str]], indent: str = "  ", mark: str = "SKIPPED ",
                  shown: int | None = SHOWN) -> list[str]:
    """Skipped documents by reason, each named: skipping is a rule's decision, so the reason says which rule."""
    by_reason: dict[str, list[str]] = {}
    for document, reason in skipped:
        by_reason.setdefault(reason or "no reason recorded", []).append(document)
    return [f"{indent}{mark}{_names(docs, shown)}: {reason}"
            for reason, docs in sorted(by_reason.items(), key=lambda kv: (-len(kv[1]), kv[0]))]
