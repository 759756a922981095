"""Dotted field references such as ``order.GeneralInfo.SubSource`` or ``order.Items[0].SKU``, parsed once."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_STEP = re.compile(r"\.?([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]")
_MISSING = object()


@dataclass(frozen=True)
class FieldPath:
    text: str
    steps: tuple[str | int, ...]

    @property
    def root(self) -> str:
        return str(self.steps[0])

    def resolve(self, context: Mapping[str, Any]) -> tuple[bool, Any]:
        """(found, value); a path through a missing key or a None is not found."""
        node: Any = context
        for step in self.steps:
            if isinstance(step, int):
                if isinstance(node, (list, tuple)) and -len(node) <= step < len(node):
                    node = node[step]
                    continue
                return False, None
            if isinstance(node, Mapping):
                node = node.get(step, _MISSING)
            else:
                node = getattr(node, step, _MISSING) if not step.startswith("_") else _MISSING
            if node is _MISSING:
                return False, None
        return True, node


def parse_field(text: str) -> FieldPath:
    text = text.strip()
    steps: list[str | int] = []
    pos = 0
    while pos < len(text):
        m = _STEP.match(text, pos)
        if not m or (pos == 0 and text.startswith(".")):
            raise ValueError(f"'{text}' is not a field reference (write e.g. order.GeneralInfo.SubSource)")
        name, index = m.groups()
        if name is not None and name.startswith("_"):
            raise ValueError(f"'{text}': private names are not allowed")
        steps.append(int(index) if index is not None else name)
        pos = m.end()
    if not steps or isinstance(steps[0], int):
        raise ValueError(f"'{text}' is not a field reference")
    return FieldPath(text, tuple(steps))
