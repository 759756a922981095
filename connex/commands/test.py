"""`connex test [PATH ...]`: run rule fixtures (input record, expected mapped output).

Without PATH, the fixtures beside every rules folder in use (its tests/ sub-folder) run. Fixtures shipped with
Connex run against the shipped rules only (they describe what Connex does out of the box, and a legitimate user
rule may change that); every other fixture runs against the rules the configuration uses. Exit 0 when all pass,
1 when any fails (each failure at the expectation's file:line:col), 2 for configuration errors.
"""

from pathlib import Path

from connex.commands._setup import config_or_none, rule_paths
from connex.paths import default_rules_dir
from connex.plugin_manager import get_plugins
from connex.rules.fixtures import FixtureRunner, find_fixtures


def add_arguments(parser):
    parser.add_argument("paths", nargs="*", metavar="PATH", help="fixture files or folders (default: rules/tests)")
    parser.add_argument("--quiet", "-q", action="store_true", help="print failures only")


def run(args):
    config = config_or_none(args)
    bases = rule_paths(config)
    targets = [Path(p) for p in args.paths] or [b for b in bases if b.is_dir()]
    fixtures = find_fixtures(targets)
    if not fixtures:
        print(f"no fixtures found in {', '.join(str(t) for t in targets)}")
        return 2
    plugins = get_plugins()
    shipped_dir = default_rules_dir().resolve()
    users = FixtureRunner(bases, plugins)
    shipped = FixtureRunner([shipped_dir], plugins)
    failed = 0
    for path in fixtures:
        runner = shipped if path.resolve().is_relative_to(shipped_dir) else users
        result = runner.run(path)
        if result.passed:
            if not args.quiet:
                print(f"PASS {path}  {result.description}".rstrip())
        else:
            failed += 1
            print(f"FAIL {path}  {result.description}".rstrip())
            for problem in result.problems:
                print(f"  {problem}")
    print(f"{len(fixtures) - failed} passed, {failed} failed")
    return 1 if failed else 0
