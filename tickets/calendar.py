"""Chinese working-day calendar: weekends, public holidays and the official adjusted workdays (调休).

Facts come from the maintained `chinesecalendar` library. For a year it does not cover, an admin
may supply the State Council's published schedule in a TOML file; without that the calendar
refuses (CalendarNotCovered) because guessing "Mon-Fri" would put deadlines inside Spring Festival.

Admin file format (``tickets.calendar_file``)::

    # Official schedule, 国务院办公厅关于2027年部分节假日安排的通知
    [years.2027]
    holidays = ["2027-01-01", "2027-02-05..2027-02-11"]   # days off, ranges allowed
    workdays = ["2027-02-14"]                             # weekend days worked (调休)

A year listed in the file replaces the library for that year (admins can correct it too).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import chinese_calendar

from tickets.exceptions import CalendarNotCovered, PolicyError


@dataclass(frozen=True)
class YearSchedule:
    holidays: frozenset[date]
    workdays: frozenset[date]

    def is_workday(self, day: date) -> bool:
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < 5


@dataclass(frozen=True)
class WorkCalendar:
    """`is_workday(day)`; pure lookups, no clock."""

    overrides: dict[int, YearSchedule] = field(default_factory=dict)
    use_library: bool = True

    def is_workday(self, day: date) -> bool:
        schedule = self.overrides.get(day.year)
        if schedule is not None:
            return schedule.is_workday(day)
        if self.use_library:
            try:
                return bool(chinese_calendar.is_workday(day))
            except NotImplementedError:
                pass
        raise CalendarNotCovered(day.year)

    def covers(self, year: int) -> bool:
        try:
            self.is_workday(date(year, 6, 1))
        except CalendarNotCovered:
            return False
        return True

    def next_workday(self, day: date) -> date:
        """`day` itself when it is a working day, else the next one."""
        while not self.is_workday(day):
            day += timedelta(days=1)
        return day

    def add_workdays(self, day: date, n: int) -> date:
        """The Nth working day after `day` (n=0: `day` if it is a working day, else the next one)."""
        if n < 0:
            raise ValueError(f"working days must be >= 0, got {n}")
        if n == 0:
            return self.next_workday(day)
        while n:
            day += timedelta(days=1)
            if self.is_workday(day):
                n -= 1
        return day

    def workdays_between(self, start: date, end: date) -> int:
        """Working days in (start, end]; for "how many working days did this take"."""
        count, day = 0, start
        while day < end:
            day += timedelta(days=1)
            count += self.is_workday(day)
        return count


def _parse_days(values: object, where: str) -> set[date]:
    if not isinstance(values, list):
        raise PolicyError(
            f"{where}: expected a list of dates (YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD)", field=where
        )
    out: set[date] = set()
    for i, raw in enumerate(values):
        try:
            first, _, last = str(raw).partition("..")
            a = date.fromisoformat(first.strip())
            b = date.fromisoformat(last.strip()) if last else a
        except ValueError as exc:
            raise PolicyError(f"{where}[{i}]: {raw!r} is not a date or date range", field=where) from exc
        if b < a:
            raise PolicyError(f"{where}[{i}]: range {raw!r} ends before it starts", field=where)
        while a <= b:
            out.add(a)
            a += timedelta(days=1)
    return out


def load_calendar(path: Path | None, *, use_library: bool = True) -> WorkCalendar:
    """Library calendar plus the admin file's years (if any). Errors name file and key."""
    if path is None:
        return WorkCalendar(use_library=use_library)
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise PolicyError(f"{path}: cannot read calendar file: {exc}", field="tickets.calendar_file") from exc
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{path}: {exc}", field="tickets.calendar_file") from exc
    unknown = set(data) - {"years"}
    if unknown:
        raise PolicyError(f"{path}: unknown key(s) {sorted(unknown)} (expected [years.YYYY])")
    overrides: dict[int, YearSchedule] = {}
    for key, table in data.get("years", {}).items():
        where = f"{path}: years.{key}"
        if not (key.isdigit() and len(key) == 4) or not isinstance(table, dict):
            raise PolicyError(f"{where}: expected a table named by a four-digit year")
        extra = set(table) - {"holidays", "workdays"}
        if extra:
            raise PolicyError(f"{where}: unknown key(s) {sorted(extra)} (expected holidays, workdays)")
        year = int(key)
        holidays = _parse_days(table.get("holidays", []), f"{where}.holidays")
        workdays = _parse_days(table.get("workdays", []), f"{where}.workdays")
        stray = sorted(d.isoformat() for d in holidays | workdays if d.year != year)
        if stray:
            raise PolicyError(f"{where}: dates outside {year}: {stray}")
        both = sorted(d.isoformat() for d in holidays & workdays)
        if both:
            raise PolicyError(f"{where}: dates both holiday and workday: {both}")
        overrides[year] = YearSchedule(frozenset(holidays), frozenset(workdays))
    return WorkCalendar(overrides=overrides, use_library=use_library)
