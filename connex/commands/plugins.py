"""`connex plugins`: every plugin found, its version, hooks, what it registered, and any load error."""

import json

from connex.plugin_manager import get_plugins


def add_arguments(parser):
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def run(args):
    plugins = get_plugins()
    plugins.collect_all()
    records = [r.as_dict() for r in plugins.records.values()]
    if args.json:
        print(json.dumps(records, indent=2))
        return 0
    if not records:
        print("no plugins installed")
        return 0
    for r in records:
        version = r["version"] or "?"
        print(f"{r['name']} {version} ({r['module']}) [{r['status']}]")
        if r["hooks"]:
            print(f"  hooks: {', '.join(r['hooks'])}")
        for hook, names in r["registered"].items():
            if names:
                print(f"  {hook.removeprefix('connex_')}: {', '.join(names)}")
        for error in r["errors"]:
            print(f"  error: {error}")
    return 0
