"""The ``sync.schedule`` phrase: "every 15 minutes", "every hour", "every day at 06:30"."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

UNIT_SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
PHRASE = re.compile(r"^every (?:(?P<n>[1-9][0-9]*) )?(?P<unit>second|minute|hour|day)s?$")
DAILY = re.compile(r"^every day at (?P<h>[01][0-9]|2[0-3]):(?P<m>[0-5][0-9])$")


@dataclass(frozen=True)
class Schedule:
    text: str
    interval: dt.timedelta | None = None
    at: dt.time | None = None

    def next_after(self, scheduled: dt.datetime) -> dt.datetime:
        """The run after one scheduled at ``scheduled``: computed from the schedule, not from when the last run
        finished, so slow runs do not make the schedule drift."""
        if self.interval is not None:
            return scheduled + self.interval
        assert self.at is not None
        candidate = scheduled.replace(hour=self.at.hour, minute=self.at.minute, second=0, microsecond=0)
        return candidate if candidate > scheduled else candidate + dt.timedelta(days=1)


def parse_schedule(text: str) -> Schedule:
    phrase = " ".join(text.strip().lower().split())
    m = DAILY.match(phrase)
    if m:
        return Schedule(text, at=dt.time(int(m["h"]), int(m["m"])))
    m = PHRASE.match(phrase)
    if m:
        n = int(m["n"] or 1)
        if m["unit"] == "second" and n < 10:
            raise ValueError(f"'{text}' is too frequent; the shortest schedule is every 10 seconds")
        return Schedule(text, interval=dt.timedelta(seconds=n * UNIT_SECONDS[m["unit"]]))
    raise ValueError(f"'{text}' is not a schedule; write e.g. 'every 15 minutes', 'every hour' or 'every day at 06:30'")
