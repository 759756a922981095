"""A connection's ``sync.schedule`` as slots: the moments its scheduled passes are due, numbered by their Unix
time, so every worker and scheduler on every machine computes the same slot for the same moment.

"every N minutes" (any interval) is due at every multiple of the interval since the Unix epoch; "every day at
HH:MM" at that time of day in the machine's time zone (run every worker in one zone, as with cron).
"""

from __future__ import annotations

import datetime as dt
import math

from connex.schedule_spec import Schedule


def current_slot(schedule: Schedule, now: float) -> int:
    """The latest slot at or before ``now`` (Unix seconds)."""
    if schedule.interval is not None:
        seconds = schedule.interval.total_seconds()
        return int(math.floor(now / seconds) * seconds)
    assert schedule.at is not None
    local = dt.datetime.fromtimestamp(now).astimezone()
    due = local.replace(hour=schedule.at.hour, minute=schedule.at.minute, second=0, microsecond=0)
    if due > local:
        due -= dt.timedelta(days=1)
    return int(due.timestamp())


def next_slot(schedule: Schedule, now: float) -> int:
    """The first slot after ``now``."""
    if schedule.interval is not None:
        return current_slot(schedule, now) + int(schedule.interval.total_seconds())
    local = dt.datetime.fromtimestamp(current_slot(schedule, now)).astimezone()
    following = (local + dt.timedelta(days=1)).replace(hour=schedule.at.hour, minute=schedule.at.minute)
    return int(following.timestamp())
