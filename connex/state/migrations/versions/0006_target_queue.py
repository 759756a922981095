"""An asynchronous target's request queue in the state store (issue 18): jobs, requests in flight, lists read back,
small facts and the client's sessions, keyed by connection, so the QuickBooks Web Connector endpoint can run on any
machine against the one database.

Until now the QuickBooks Desktop plugin kept its queue in tables of its own (``qbd_*``) inside the SQLite state
file. Their rows move here under the connection "default" (what a single ``connex.yaml`` runs as; a file of that
era served one connection) and the old tables are dropped, in the same transaction: no row is lost, none is copied
twice. A queue kept in a separate ``queue_db`` file is imported by the plugin when it first opens the store.

Revision ID: 0006
Revises: 0005
"""

import datetime as dt

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

OLD = ("qbd_jobs", "qbd_inflight", "qbd_inventory", "qbd_catalogue", "qbd_meta")


def _connection(key: bool = True) -> sa.Column:
    return sa.Column("connection", sa.Text, nullable=False, primary_key=key)


def upgrade() -> None:
    op.create_table(
        "queue_jobs",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False, server_default="pending"),
        sa.Column("stage", sa.Text, nullable=False),
        sa.Column("context", sa.Text, nullable=False, server_default="{}"),
        sa.Column("outcome", sa.Text),
        sa.Column("target_id", sa.Text),
        sa.Column("error", sa.Text),
        sa.Column("code", sa.Text),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("collected", sa.Integer, nullable=False, server_default="1"),
        sa.Column("doc_kind", sa.Text),
        sa.Column("doc_number", sa.Text),
        sa.Column("created", sa.Text, nullable=False),
        sa.Column("updated", sa.Text, nullable=False),
        _connection(key=False),
        sa.UniqueConstraint("connection", "key", name="queue_jobs_key"),
        sqlite_autoincrement=True,
    )
    op.create_index("queue_jobs_status", "queue_jobs", ["connection", "status", "seq"])
    op.create_index("queue_jobs_number", "queue_jobs", ["connection", "doc_kind", "doc_number"])
    op.create_table(
        "queue_requests",
        _connection(),
        sa.Column("request_id", sa.Text, primary_key=True),
        sa.Column("job_key", sa.Text, primary_key=True),
        sa.Column("part", sa.Text, primary_key=True),
        sa.Column("stage", sa.Text, nullable=False),
        sa.Column("ticket", sa.Text, nullable=False),
        sa.Column("sent", sa.Text, nullable=False),
    )
    op.create_index("queue_requests_ticket", "queue_requests", ["connection", "ticket"])
    op.create_table(
        "queue_lists",
        _connection(),
        sa.Column("list", sa.Text, primary_key=True),
        sa.Column("snapshot", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("ref", sa.Text),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_index("queue_lists_value", "queue_lists", ["connection", "list", "snapshot", "value"])
    op.create_table(
        "queue_meta",
        _connection(),
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "queue_sessions",
        sa.Column("ticket", sa.Text, primary_key=True),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("company_file", sa.Text, nullable=False, server_default=""),
        sa.Column("pending_at_start", sa.Integer, nullable=False, server_default="0"),
        sa.Column("round_trips", sa.Integer, nullable=False, server_default="0"),
        sa.Column("requests", sa.Integer, nullable=False, server_default="0"),
        sa.Column("answered", sa.Integer, nullable=False, server_default="0"),
        sa.Column("lost_on_resume", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text, nullable=False, server_default=""),
        sa.Column("started", sa.Text, nullable=False),
        sa.Column("closed_at", sa.Text),
        _connection(key=False),
    )
    op.create_index("queue_sessions_connection", "queue_sessions", ["connection", "status"])
    _move_old_queue()


def _stamp(seconds) -> str:
    try:
        return dt.datetime.fromtimestamp(float(seconds), dt.UTC).isoformat(timespec="seconds")
    except (TypeError, ValueError, OverflowError, OSError):
        return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _move_old_queue() -> None:
    """The plugin's own ``qbd_*`` tables, where a state file has them: every row copied under "default", oldest job
    first (so the queue keeps its order), then the tables dropped. Requests in flight are not copied: the next
    session starts by forgetting them anyway, and every document that had passed its check is checked again."""
    bind = op.get_bind()
    present = set(sa.inspect(bind).get_table_names())
    if "qbd_jobs" in present:
        rows = bind.exec_driver_sql("SELECT key, kind, payload, status, stage, context, outcome, target_id, error, "
                                    "code, attempts, collected, doc_kind, doc_number, created, updated FROM qbd_jobs "
                                    "ORDER BY seq").mappings().all()
        jobs = sa.table("queue_jobs", *(sa.column(c) for c in (
            "connection", "key", "kind", "payload", "status", "stage", "context", "outcome", "target_id", "error",
            "code", "attempts", "collected", "doc_kind", "doc_number", "created", "updated")))
        if rows:
            bind.execute(jobs.insert(), [{**row, "connection": "default", "created": _stamp(row["created"]),
                                          "updated": _stamp(row["updated"])} for row in rows])
    lists = sa.table("queue_lists", *(sa.column(c) for c in ("connection", "list", "snapshot", "name", "ref",
                                                             "value")))
    if "qbd_inventory" in present:
        rows = bind.exec_driver_sql("SELECT snapshot, name, list_id, quantity FROM qbd_inventory").all()
        if rows:
            bind.execute(lists.insert(), [{"connection": "default", "list": "inventory", "snapshot": snapshot,
                                           "name": name, "ref": ref, "value": quantity}
                                          for snapshot, name, ref, quantity in rows])
    if "qbd_catalogue" in present:
        rows = bind.exec_driver_sql("SELECT snapshot, full_name, part_number, list_id FROM qbd_catalogue").all()
        if rows:
            bind.execute(lists.insert(), [{"connection": "default", "list": "catalogue", "snapshot": snapshot,
                                           "name": name, "ref": ref, "value": part}
                                          for snapshot, name, part, ref in rows])
    if "qbd_meta" in present:
        meta = sa.table("queue_meta", sa.column("connection"), sa.column("key"), sa.column("value"))
        rows = bind.exec_driver_sql("SELECT key, value FROM qbd_meta").all()
        if rows:
            bind.execute(meta.insert(), [{"connection": "default", "key": k, "value": v} for k, v in rows])
    for name in OLD:
        if name in present:
            op.drop_table(name)


def downgrade() -> None:
    for name in ("queue_sessions", "queue_meta", "queue_lists", "queue_requests", "queue_jobs"):
        op.drop_table(name)
