"""Rolling 24-hour tracker: definitions, window, persistence across a restart."""

from __future__ import annotations

import pytest

from agent_queue.sla import DAY, CallOutcome, Result, SlaTracker


def _o(uid: str, at: float, wait: float, result: Result, queue: str = "q") -> CallOutcome:
    return CallOutcome(queue, uid, at - wait, at, wait, result)


def test_answer_rate_excludes_short_abandons_and_counts_sl() -> None:
    t = SlaTracker(short_abandon_s=5, sl_within_s=20)
    t.record(_o("1", 100, 10, Result.ANSWERED))
    t.record(_o("2", 200, 30, Result.ANSWERED))
    t.record(_o("3", 300, 3, Result.ABANDONED))  # short: not offered
    t.record(_o("4", 400, 50, Result.ABANDONED))
    f = t.figures(500)
    assert (f.offered, f.answered, f.abandoned, f.short_abandoned) == (3, 2, 1, 1)
    assert f.answer_rate == pytest.approx(2 / 3)
    assert f.service_level == pytest.approx(1 / 3)
    assert f.average_wait_s == pytest.approx(20)


def test_window_slides_after_24_hours() -> None:
    t = SlaTracker()
    t.record(_o("old", 1000, 60, Result.ABANDONED))
    t.record(_o("new", 1000 + DAY - 10, 5, Result.ANSWERED))
    assert t.figures(1000 + DAY - 1).answer_rate == 0.5
    assert t.figures(1000 + DAY + 1).answer_rate == 1.0  # the abandon left the window
    assert t.figures(1000 + DAY + 1).offered == 1


def test_per_queue_and_per_hour() -> None:
    t = SlaTracker()
    t.record(_o("1", 3600 * 10 + 5, 5, Result.ANSWERED, "a"))
    t.record(_o("2", 3600 * 11 + 100, 50, Result.ABANDONED, "b"))
    qs = t.per_queue(3600 * 12)
    assert qs["a"].answer_rate == 1.0 and qs["b"].answer_rate == 0.0
    hours = t.per_hour(3600 * 12)
    assert [h for h, _ in hours] == [36000.0, 39600.0]


def test_callback_outcomes_count_as_answered_or_not() -> None:
    t = SlaTracker()
    t.record(_o("1", 100, 300, Result.CALLBACK_ANSWERED))
    t.record(_o("2", 100, 300, Result.CALLBACK_FAILED))
    f = t.figures(200)
    assert (f.answered, f.abandoned) == (1, 1)


def test_reload_gives_the_same_figures() -> None:
    outcomes = [_o(str(i), 1000 + i * 60, i % 40, Result.ANSWERED if i % 7 else Result.ABANDONED) for i in range(300)]
    a = SlaTracker()
    for o in outcomes:
        a.record(o)
    b = SlaTracker()
    b.load(reversed(outcomes))  # order from the database is not guaranteed
    now = 1000 + 300 * 60
    assert a.figures(now) == b.figures(now)


def test_projection_counts_open_calls() -> None:
    t = SlaTracker()
    for i in range(19):
        t.record(_o(str(i), 100, 5, Result.ANSWERED))
    t.record(_o("x", 100, 60, Result.ABANDONED))
    assert t.figures(200).answer_rate == 0.95
    assert t.projected_rate(200, open_calls=5, expected_answered=2.0) == pytest.approx(21 / 25)
