"""Rule fixtures: an input record and the expected mapped output, run by ``connex test``.

A fixture (``kind: fixture``) names its flow, optional extra rule files (relative to the fixture), sync settings,
an ``input`` record and one of ``expect`` (a subset of the mapped document, or ``documents: [...]`` for all of
them), ``expect_skipped: true`` or ``expect_error: TEXT``. Every mismatch is reported at the expectation's own
``file:line:col`` with the expected and the actual value, so a failing fixture reads like a diff.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from connex import lint
from connex.errors import ConfigError, ConfigErrors
from connex.paths import schema_path
from connex.rules.engine import EngineSettings, MapResult, RulesEngine, document_to_plain
from connex.rules.loader import LoadedRules, load_rules
from connex.rules.money import to_decimal
from connex.yamlfile import YamlFile, load_yaml, to_plain


@dataclass
class FixtureResult:
    path: str
    description: str
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems


def find_fixtures(paths: Iterable[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        path = Path(path)
        if path.is_dir():
            candidates = sorted(path.glob("*.yaml")) + sorted((path / "tests").glob("*.yaml"))
        else:
            candidates = [path]
        for candidate in candidates:
            if candidate.suffix in (".yaml", ".yml") and _is_fixture(candidate) and candidate not in found:
                found.append(candidate)
    return found


def _is_fixture(path: Path) -> bool:
    try:
        head = path.read_text(encoding="utf-8")[:2000]
    except OSError:
        return False
    return any(line.strip() == "kind: fixture" for line in head.splitlines())


def record_from_yaml(value: Any) -> Any:
    """Fixture input as a connector would deliver it: numbers with a fraction become exact Decimals."""
    if isinstance(value, dict):
        return {k: record_from_yaml(v) for k, v in value.items()}
    if isinstance(value, list):
        return [record_from_yaml(v) for v in value]
    if isinstance(value, float):
        return to_decimal(value)
    return value


def _same(expected: Any, actual: Any) -> bool:
    if expected is None or actual is None:
        return expected is None and actual is None
    if isinstance(expected, bool) or isinstance(actual, bool):
        return str(expected).lower() == str(actual).lower()
    if str(expected) == str(actual):
        return True
    try:
        return to_decimal(expected) == to_decimal(actual)
    except ValueError:
        return False


def compare(expected: Any, actual: Any, path: tuple = ()) -> list[tuple[tuple, str]]:
    """Differences between an expected subset and the actual value, as (path, message)."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [(path, f"expected a mapping, got {_show(actual)}")]
        out = []
        for key, value in expected.items():
            if key not in actual:
                out.append(((*path, key), f"expected {_show(value)}, but the document has no '{key}'"))
            else:
                out.extend(compare(value, actual[key], (*path, key)))
        return out
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return [(path, f"expected a list, got {_show(actual)}")]
        out = []
        if len(expected) != len(actual):
            out.append((path, f"expected {len(expected)} items, got {len(actual)}: {_show(actual)}"))
        for i, (e, a) in enumerate(zip(expected, actual)):
            out.extend(compare(e, a, (*path, i)))
        return out
    if not _same(expected, actual):
        return [(path, f"expected {_show(expected)}, got {_show(actual)}")]
    return []


def _show(value: Any) -> str:
    if isinstance(value, (dict, list)):
        text = repr(value)
        return text if len(text) <= 200 else text[:197] + "..."
    if isinstance(value, Decimal):
        return str(value)
    return repr(value)


class FixtureRunner:
    def __init__(self, base_rule_paths: list[Path], plugins=None):
        self.base = list(base_rule_paths)
        self.plugins = plugins
        self._cache: dict[tuple, LoadedRules] = {}

    def rules_for(self, extra: list[Path]) -> LoadedRules:
        key = tuple(str(p.resolve()) for p in self.base + extra)
        if key not in self._cache:
            self._cache[key] = load_rules(self.base + extra, self.plugins)
        return self._cache[key]

    def run(self, path: Path) -> FixtureResult:
        try:
            yf = load_yaml(path)
        except ConfigErrors as exc:
            return FixtureResult(str(path), "", [str(e) for e in exc.errors])
        except ConfigError as exc:
            return FixtureResult(str(path), "", [str(exc)])
        problems = lint.validate(yf, lint.load_schema(str(schema_path("fixture.schema.json"))))
        data = to_plain(yf.data) if isinstance(yf.data, dict) else {}
        result = FixtureResult(str(path), str(data.get("description", "")))
        if problems:
            result.problems = [str(p) for p in problems]
            return result
        extra = [(path.parent / p).resolve() for p in data.get("rules") or []]
        try:
            rules = self.rules_for(extra)
        except ConfigErrors as exc:
            result.problems = [str(e) for e in exc.errors]
            return result
        settings = EngineSettings(**{k: v for k, v in (data.get("sync") or {}).items()
                                     if k in EngineSettings.__dataclass_fields__})
        outcome = RulesEngine(rules, settings).map(data["flow"], record_from_yaml(data["input"]))
        result.problems = self._check(yf, data, outcome)
        return result

    def _check(self, yf: YamlFile, data: dict, outcome: MapResult) -> list[str]:
        def at(path: tuple, message: str) -> str:
            return str(yf.error(path, message))

        if "expect_error" in data:
            if outcome.error is None:
                return [at(("expect_error",), "expected the document to fail, but it mapped"
                           + (" (it was skipped)" if outcome.skipped else ""))]
            if data["expect_error"] not in str(outcome.error):
                return [at(("expect_error",), f"expected an error containing {data['expect_error']!r}, "
                                              f"got {str(outcome.error)!r}")]
            return []
        if outcome.error is not None:
            return [at(("input",), f"the document failed to map: {outcome.error}")]
        if "expect_skipped" in data:
            skipped = outcome.skipped is not None
            if skipped != bool(data["expect_skipped"]):
                return [at(("expect_skipped",), f"expected skipped={data['expect_skipped']}, got "
                                                f"{'skipped (' + outcome.skipped + ')' if skipped else 'mapped'}")]
            return []
        if outcome.skipped:
            return [at(("expect",), f"expected a document, but it was skipped: {outcome.skipped}")]
        expected = data["expect"]
        plain = [document_to_plain(d) for d in outcome.documents]
        if set(expected) == {"documents"}:
            differences = compare(expected["documents"], plain, ("documents",))
        else:
            differences = compare(expected, plain[0])
        return [at(("expect", *path), message) for path, message in differences]
