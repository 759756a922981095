"""A pass whose worker was lost (SIGKILL, a machine gone) is queued again for another worker.

procrastinate 3 records a heartbeat per worker (``procrastinate_workers.last_heartbeat``, every
``heartbeat_seconds``) and lists the ``doing`` jobs of workers silent for longer than a timeout
(``JobManager.get_stalled_jobs(seconds_since_heartbeat=...)``); retrying them is left to the application. Every
worker checks once per heartbeat and moves such jobs back to ``todo`` (``retry_job``), where any worker takes
them. Two workers retrying the same job is harmless: the second finds it no longer ``doing`` and is refused.

If the connection already has a newer pass queued, the stalled job cannot go back to ``todo`` (the queueing
lock allows one waiting job per connection): it is marked failed instead, and the queued pass does its work.

Exactly-once is the ledger's business, not the queue's: the lost pass's documents are in the ledger as intents,
and the next pass resolves each (posted or not) before posting anything, as after any crash.
"""

from __future__ import annotations

import asyncio
import logging
import time

import procrastinate
from procrastinate import exceptions, jobs

from connex.workers.jobs import TASK_NAME

log = logging.getLogger(__name__)
KEEP_HOURS = 72  # ended jobs older than this are deleted


async def retry_stalled(app: procrastinate.App, stalled_after: float) -> int:
    """Queue the stalled passes again now; how many went back to the queue."""
    retried = 0
    for job in await app.job_manager.get_stalled_jobs(task_name=TASK_NAME, seconds_since_heartbeat=stalled_after):
        name = job.task_kwargs.get("connection")
        try:
            await app.job_manager.retry_job(job)
        except exceptions.UniqueViolation:
            try:
                await app.job_manager.finish_job(job, status=jobs.Status.FAILED, delete_job=False)
            except exceptions.ConnectorException:
                continue  # another worker dealt with it first
            log.warning("%s: the pass of a lost worker (job %s) is replaced by the pass already queued", name,
                        job.id, extra={"connection": name})
            continue
        except exceptions.ConnectorException:
            continue  # another worker retried it first
        retried += 1
        log.warning("%s: the worker running job %s stopped answering; its pass is queued again", name, job.id,
                    extra={"connection": name})
    return retried


async def watch(app: procrastinate.App, stalled_after: float, every: float) -> None:
    """Retry stalled passes every ``every`` seconds, and once an hour delete the jobs that ended more than
    ``KEEP_HOURS`` ago (a pass every 15 minutes is ~100 rows a day per connection; the runs table keeps the
    history that matters)."""
    pruned_at = 0.0
    while True:
        try:
            await retry_stalled(app, stalled_after)
            if time.monotonic() - pruned_at > 3600:
                pruned_at = time.monotonic()
                await app.job_manager.delete_old_jobs(nb_hours=KEEP_HOURS, include_failed=True,
                                                      include_cancelled=True, include_aborted=True)
        except exceptions.ConnectorException as exc:
            log.error("checking for lost workers failed (%s); retrying", exc)
        await asyncio.sleep(every)
