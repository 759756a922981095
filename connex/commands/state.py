"""`connex state copy --to TARGET`: move connections' state between the embedded SQLite file and PostgreSQL.

The source is the deployment's ``state:`` unless ``--from`` names another file or URL; the connections are the
deployment's (``--connection`` picks some), or every one in the source when there is no configuration. Nothing is
deleted from the source: it stays as the backup until the operator removes it. What moves and how is in
connex/state/copy.py; the steps around it (stop, copy, point ``state:`` at the new place, start) in
docs/scale.md, "Moving connections".
"""

from __future__ import annotations

from pathlib import Path

from connex.config import DEFAULT_CONFIG
from connex.errors import ConfigError


def add_arguments(parser):
    parser.add_argument("action", choices=["copy"], help="copy: copy connections' state to another database")
    parser.add_argument("--to", required=True, metavar="PATH|URL", dest="destination",
                        help="the destination: a SQLite file or a postgresql:// URL (a password is better given "
                             "through PGPASSWORD or ~/.pgpass than on the command line)")
    parser.add_argument("--from", metavar="PATH|URL", dest="source",
                        help="the source (default: the configuration's state:)")
    parser.add_argument("--replace", action="store_true",
                        help="drop what the destination already holds of these connections and copy in its place")
    parser.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                        help="wait this long for a running sync of a connection to finish (default: refuse at once)")


def _deployment(args):
    if args.config is None and not Path(DEFAULT_CONFIG).exists():
        if args.source is None:
            raise ConfigError("no configuration (connex.yaml) to take the state from: name the source with --from")
        return None
    from connex.deployment import load_deployment
    from connex.plugin_manager import get_plugins

    return load_deployment(args.config, get_plugins())


def choose(args):
    """(source, names or None for every connection in the source)."""
    from connex.state.target import state_target

    deployment = _deployment(args)
    given = list(args.connection or [])
    if args.source is not None:
        source = state_target(args.source)
    elif deployment is not None and deployment.state_path is not None:
        source = deployment.state_path
    else:
        raise ConfigError("the configuration names no state: give the source with --from")
    if given:
        names = [deployment._known(n) for n in given] if deployment is not None and args.source is None else given
    elif deployment is not None and args.source is None:
        names = deployment.names
    else:
        names = None
    return source, names


def run(args):
    from connex.state.copy import connections_in, copy_connections
    from connex.state.database import acquire, release
    from connex.state.target import state_target

    source, names = choose(args)
    destination = state_target(args.destination)
    if names is not None and not args.connection:
        # a connection of the deployment that never synced has nothing to move: said, not an error
        db = acquire(source, 30.0)
        try:
            present = set(connections_in(db))
        finally:
            release(db)
        for name in names:
            if name not in present:
                print(f"{name}: no state yet in {source}: nothing to copy")
        names = [n for n in names if n in present]
        if not names:
            print("nothing to copy")
            return 0
    result = copy_connections(source, destination, names, replace=args.replace, wait=args.wait)
    print(f"copied from {source} to {destination}:")
    for name, counts in result.copied.items():
        dropped = result.replaced.get(name)
        note = f" (replaced {sum(dropped.values())} rows it held)" if dropped else ""
        listing = ", ".join(f"{table} {n}" for table, n in sorted(counts.items()))
        print(f"  {name}: {listing}{note}")
    for table, n in sorted(result.renumbered.items()):
        print(f"  {table}: {n} row id{'s' if n != 1 else ''} taken at the destination, renumbered")
    if result.shared_tables:
        print(f"  not per connection, not copied: {', '.join(result.shared_tables)}")
    print("row counts checked on both sides. Next: point state: at the destination, then start the daemon or the "
          "workers; the source is left as it was")
    return 0
