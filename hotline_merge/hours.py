"""Opening hours: is a line staffed at a given local time?"""

from __future__ import annotations

import datetime as dt
from collections.abc import Container

from hotline_merge.models import WEEKDAYS, HoursProfile, parse_time_range


def is_open(profile: HoursProfile, at: dt.datetime, holidays: Container[dt.date]) -> bool:
    """`at` is local time in the dialplan's zone."""
    if profile.always_open:
        return True
    if profile.holidays == "closed" and at.date() in holidays:
        return False
    if WEEKDAYS[at.weekday()] not in profile.days:
        return False
    now = at.time()
    for text in profile.open:
        start, end = parse_time_range(text)
        if start <= now and (end is None or now < end):
            return True
    return False
