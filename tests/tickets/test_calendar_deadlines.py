"""Working-day arithmetic against the official calendar, and the seed cities' policies as data."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from tickets.calendar import load_calendar
from tickets.deadlines import deadline_sheet, dispatch_due, due_after, to_local
from tickets.exceptions import CalendarNotCovered, PolicyError
from tickets.policy import Duration, load_policy, policy_names

CAL = load_calendar(None)


def test_all_seed_policies_load() -> None:
    assert {"wuwei", "yunnan", "shanxi", "ganzhou"} <= set(policy_names())
    for name in ("wuwei", "yunnan", "shanxi", "ganzhou"):
        assert load_policy(name).name == name


def test_n_working_days_end_at_close_of_nth_working_day_after_acceptance() -> None:
    # Friday 2026-11-27 10:00 + 3 working days: Mon 30, Tue 1, Wed 2 Dec.
    assert due_after(CAL, datetime(2026, 11, 27, 10), Duration(3, "wd")) == datetime(2026, 12, 2, 23, 59, 59)
    # Accepted on a Saturday: the day itself never counts, Monday is the first working day.
    assert due_after(CAL, datetime(2026, 11, 28, 10), Duration(1, "wd")) == datetime(2026, 11, 30, 23, 59, 59)
    # 0 working days (即时即办): close of the same working day, or of the next one on a weekend.
    assert due_after(CAL, datetime(2026, 11, 24, 8), Duration(0, "wd")) == datetime(2026, 11, 24, 23, 59, 59)
    assert due_after(CAL, datetime(2026, 11, 28, 8), Duration(0, "wd")) == datetime(2026, 11, 30, 23, 59, 59)


def test_official_adjusted_workdays_tiaoxiu_count() -> None:
    # National Day 2026: Oct 1-7 off, Saturday Oct 10 is an adjusted workday.
    assert not CAL.is_workday(date(2026, 10, 5))
    assert CAL.is_workday(date(2026, 10, 10))
    sheet = deadline_sheet(load_policy("wuwei"), CAL, "投诉", datetime(2026, 9, 30, 19, 0))
    assert sheet.handle_due == datetime(2026, 10, 10, 23, 59, 59)
    assert sheet.dispatch_due == datetime(2026, 10, 8, 23, 59, 59)


def test_hour_limits_count_clock_hours_across_weekends(tmp_path: Path) -> None:
    # The sheet's longest extension reaches into 2027, so the admin schedule is needed.
    sheet = deadline_sheet(
        load_policy("yunnan"), load_calendar(_write_2027(tmp_path)), "投诉", datetime(2026, 11, 28, 22, 30)
    )
    assert sheet.sign_due == datetime(2026, 11, 29, 0, 30)
    assert sheet.return_due == datetime(2026, 11, 29, 22, 30)


def test_yunnan_dispatch_cutoff_1800() -> None:
    p = load_policy("yunnan")
    assert dispatch_due(p, CAL, datetime(2026, 11, 23, 17, 59)) == datetime(2026, 11, 23, 23, 59, 59)
    assert dispatch_due(p, CAL, datetime(2026, 11, 23, 18, 0)) == datetime(2026, 11, 24, 10, 0)


@pytest.mark.parametrize(
    ("policy", "ticket_type", "due", "max_extended"),
    [
        # Mon 2026-11-23 09:00
        ("wuwei", "咨询", datetime(2026, 11, 23, 23, 59, 59), datetime(2026, 12, 14, 23, 59, 59)),
        ("wuwei", "求助", datetime(2026, 11, 24, 23, 59, 59), datetime(2026, 12, 15, 23, 59, 59)),
        ("yunnan", "咨询", datetime(2026, 11, 30, 23, 59, 59), datetime(2026, 12, 28, 23, 59, 59)),
        (
            "yunnan",
            "举报",
            datetime(2026, 12, 14, 23, 59, 59),
            datetime(2027, 1, 12, 23, 59, 59),
        ),  # New Year off (admin file)
        ("shanxi", "投诉", datetime(2026, 11, 30, 23, 59, 59), datetime(2026, 12, 7, 23, 59, 59)),
        ("ganzhou", "建议", datetime(2026, 11, 26, 23, 59, 59), datetime(2026, 12, 1, 23, 59, 59)),
        ("ganzhou", "投诉", datetime(2026, 11, 30, 23, 59, 59), datetime(2026, 12, 7, 23, 59, 59)),
    ],
)
def test_policy_handling_limits(
    policy: str, ticket_type: str, due: datetime, max_extended: datetime, tmp_path: Path
) -> None:
    cal = load_calendar(_write_2027(tmp_path))
    sheet = deadline_sheet(load_policy(policy), cal, ticket_type, datetime(2026, 11, 23, 9, 0))
    assert sheet.handle_due == due
    assert sheet.handle_due_max_extended == max_extended


def test_multi_department_level_in_wuwei() -> None:
    sheet = deadline_sheet(load_policy("wuwei"), CAL, "投诉", datetime(2026, 11, 23, 9), co_departments=1)
    assert sheet.level == "multi"
    assert sheet.handle_due == datetime(2026, 12, 2, 23, 59, 59)  # 7 working days


def _write_2027(tmp_path: Path) -> Path:
    path = tmp_path / "calendar.toml"
    path.write_text(
        '[years.2027]\nholidays = ["2027-01-01", "2027-02-05..2027-02-12"]\nworkdays = ["2027-02-14"]\n',
        encoding="utf-8",
    )
    return path


def test_year_without_schedule_is_refused_loudly() -> None:
    with pytest.raises(CalendarNotCovered) as err:
        due_after(CAL, datetime(2026, 12, 30, 9), Duration(5, "wd"))
    assert err.value.year == 2027
    assert "2027" in str(err.value) and "calendar_file" in str(err.value)


def test_admin_calendar_file_supplies_a_year(tmp_path: Path) -> None:
    cal = load_calendar(_write_2027(tmp_path))
    assert not cal.is_workday(date(2027, 1, 1))  # declared holiday, a Friday
    assert cal.is_workday(date(2027, 2, 14))  # declared adjusted workday, a Sunday
    assert not cal.is_workday(date(2027, 2, 13))  # ordinary Saturday
    # Thu 2026-12-31 + 1 working day skips the declared New Year holiday and the weekend.
    assert due_after(cal, datetime(2026, 12, 31, 9), Duration(1, "wd")) == datetime(2027, 1, 4, 23, 59, 59)
    # Before Spring Festival: Thu 4 Feb + 2 working days -> 5..12 off, Sat 13 off, Sun 14 worked (1), Mon 15 (2).
    assert due_after(cal, datetime(2027, 2, 4, 9), Duration(2, "wd")) == datetime(2027, 2, 15, 23, 59, 59)
    with pytest.raises(CalendarNotCovered):
        cal.is_workday(date(2028, 3, 1))


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ('[years.2027]\nholidays = ["2027-13-01"]\n', "years.2027.holidays[0]"),
        ('[years.2027]\nholidays = ["2028-01-01"]\n', "outside 2027"),
        ("[years.2027]\nholiday = []\n", "unknown key"),
        ('[years.2027]\nholidays = ["2027-01-01"]\nworkdays = ["2027-01-01"]\n', "both holiday and workday"),
    ],
)
def test_bad_calendar_file_names_the_place(tmp_path: Path, body: str, fragment: str) -> None:
    path = tmp_path / "cal.toml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(PolicyError) as err:
        load_calendar(path)
    assert fragment in str(err.value) and str(path) in str(err.value)


def test_bad_policy_names_the_key(tmp_path: Path) -> None:
    (tmp_path / "broken.toml").write_text(
        '[levels.a]\nlimit = "3 days"\n[types]\n"咨询"="a"\n"求助"="a"\n"投诉"="a"\n"举报"="a"\n"建议"="a"\n'
        '[extension]\nmax_each = "5wd"\n',
        encoding="utf-8",
    )
    with pytest.raises(PolicyError) as err:
        load_policy("broken", directory=tmp_path)
    assert "levels.a.limit" in str(err.value)
    with pytest.raises(PolicyError) as err:
        load_policy("nosuch", directory=tmp_path)
    assert "known" in str(err.value)


def test_aware_times_are_converted_to_beijing() -> None:
    assert to_local(datetime.fromisoformat("2026-11-23T01:00:00+00:00")) == datetime(2026, 11, 23, 9, 0)
