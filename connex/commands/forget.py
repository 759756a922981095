"""`connex forget KEY|NUMBER`: let a document deleted in QuickBooks be posted again.

The ledger remembers every posted document so nothing is posted twice; when the user deletes one in QuickBooks
(to fix it there, or by mistake) the ledger has to forget it before Connex will post it again. The ledger row
goes, and the key's history records what was forgotten (status, QuickBooks id, when), so `connex explain` still
shows it. The command asks first unless ``--yes``.
"""

from __future__ import annotations

import sys

from connex.commands._setup import one_config
from connex.errors import ConfigError
from connex.state import history, open_state

HOW_TO_REPOST = {
    "orders": "connex sync --order {number}",
    "purchases": "connex sync --flow purchases --from DAY --to DAY (the days the PO was raised)",
    "refunds": "connex sync --flow refunds --from DAY --to DAY (the days the refund was actioned)",
}


def add_arguments(parser):
    parser.add_argument("what", metavar="KEY|NUMBER", nargs="+",
                        help="a ledger key (as `connex status` and `explain` print it), or a document number: an "
                             "order number, a PO number (PO-000002) or a refund number (100013-R7)")
    parser.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    parser.add_argument("--reason", default="deleted in QuickBooks", help="noted in the history")


def matching_rows(state, wanted: list[str]):
    rows, missing = [], []
    for item in wanted:
        found = [r for r in state.rows() if item in (r.key, r.number, r.source_id)]
        if not found:
            missing.append(item)
        rows.extend(r for r in found if r.key not in {x.key for x in rows})
    return rows, missing


def describe(row) -> str:
    where = f"posted as QuickBooks id {row.target_id}" if row.target_id else row.status
    return f"{row.flow}: {row.kind.replace('_', ' ')} {row.number or row.source_id} ({row.key}): {where}, " \
           f"updated {row.updated_at}"


def run(args):
    config = one_config(args)
    if not config.state_path.exists():
        raise ConfigError(f"no state file at {config.state_path}: nothing has been synced, nothing to forget")
    state = open_state(config.state_path, connection=config.name)
    try:
        rows, missing = matching_rows(state, args.what)
        if missing:
            raise ConfigError(f"not in the ledger: {', '.join(missing)} (see `connex status`)")
        print(f"the ledger will forget {len(rows)} document{'s' if len(rows) != 1 else ''}:")
        for row in rows:
            print(f"  {describe(row)}")
        print("each is posted again the next time it is read: make sure it is no longer in QuickBooks")
        if not args.yes:
            try:
                answer = input("forget them? [y/N] ")
            except EOFError:
                answer = ""
            if answer.strip().lower() not in ("y", "yes"):
                print("nothing forgotten")
                return 1
        for row in rows:
            history.add(state, row.key, "forgotten", reason=args.reason, was=row.status, target_id=row.target_id,
                        number=row.number)
        state.forget(r.key for r in rows)
    finally:
        state.close()
    print(f"forgotten: {len(rows)}; to post again now:")
    for row in rows:
        print("  " + HOW_TO_REPOST.get(row.flow, "connex sync").format(number=row.number or row.source_id))
    sys.stdout.flush()
    return 0
