"""What the job queue says of each connection, read from the database (any worker, `connex status`, any machine):
its pass running (on which worker) or queued, and the last job that ended."""

from __future__ import annotations

from sqlalchemy import text

from connex.workers.jobs import TASK_NAME

_JOBS = text("""
SELECT j.id, j.args->>'connection' AS connection, j.status::text AS status, j.worker_id, j.attempts,
       j.scheduled_at, w.last_heartbeat
  FROM procrastinate_jobs j LEFT JOIN procrastinate_workers w ON w.id = j.worker_id
 WHERE j.task_name = :task AND j.status IN ('todo', 'doing')
""")
_LAST_ENDED = text("""
SELECT DISTINCT ON (j.args->>'connection') j.args->>'connection' AS connection, j.id, j.status::text AS status,
       (SELECT max(e.at) FROM procrastinate_events e WHERE e.job_id = j.id) AS at
  FROM procrastinate_jobs j
 WHERE j.task_name = :task AND j.status NOT IN ('todo', 'doing')
 ORDER BY j.args->>'connection', j.id DESC
""")
_WORKERS = text("SELECT id, last_heartbeat FROM procrastinate_workers ORDER BY id")


def has_queue(conn) -> bool:
    return conn.execute(text("SELECT to_regclass('procrastinate_jobs')")).scalar() is not None


def queue_by_connection(conn, names: list[str]) -> dict[str, dict]:
    """``{name: {"running": bool, "queued": bool, "worker": id|None, "job": id|None, "last_job": {...}|None}}``."""
    found = {name: {"running": False, "queued": False, "worker": None, "job": None, "last_job": None}
             for name in names}
    for row in conn.execute(_JOBS, {"task": TASK_NAME}).mappings():
        entry = found.get(row["connection"])
        if entry is None:
            continue
        if row["status"] == "doing":
            entry.update(running=True, worker=row["worker_id"], job=row["id"])
        else:
            entry["queued"] = True
            if entry["job"] is None:
                entry["job"] = row["id"]
    for row in conn.execute(_LAST_ENDED, {"task": TASK_NAME}).mappings():
        entry = found.get(row["connection"])
        if entry is not None:
            entry["last_job"] = {"id": row["id"], "status": row["status"],
                                 "at": row["at"].isoformat(timespec="seconds") if row["at"] else None}
    return found


def workers(conn) -> list[dict]:
    return [{"id": r["id"], "last_heartbeat": r["last_heartbeat"].isoformat(timespec="seconds")}
            for r in conn.execute(_WORKERS).mappings()]


def queue_of(db, names: list[str]) -> tuple[dict[str, dict], list[dict]] | None:
    """The queue's view of ``names`` and the registered workers; None when the database has no job queue (SQLite,
    or no worker ever started)."""
    if db.is_sqlite:
        return None
    with db.read() as conn:
        if not has_queue(conn):
            return None
        return queue_by_connection(conn, names), workers(conn)
