"""agent_queue.queue_log: Asterisk's queue_log lines (format as the dev PBX writes them) to calls."""

from __future__ import annotations

from agent_queue.queue_log import parse, read
from agent_queue.sla import Result

LOG = """\
1796296172|NONE|NONE|NONE|QUEUESTART|
1796296183|1796296172.0|hotline-general|NONE|ENTERQUEUE||13700000031|1
1796296183|1796296172.0|hotline-general|agent01|CONNECT|0|1796296183.1|0
1796296186|1796296172.0|hotline-general|agent01|COMPLETEAGENT|0|3|1
1796296200|1796296190.3|hotline-fallback|NONE|ENTERQUEUE||13900000002|1
1796296212|1796296190.3|hotline-fallback|NONE|ABANDON|1|1|12
1796296220|1796296215.4|hotline-fallback|NONE|ENTERQUEUE||13900000003|2
1796296250|1796296215.4|hotline-fallback|NONE|EXITWITHTIMEOUT|1|2|30
1796296300|1796296290.5|hotline-fallback|NONE|ENTERQUEUE||13900000004|1
1796296310|1796296299.6|hotline-general|agent02|CONNECT|4|1796296310.7|1
17962963
"""


def test_answered_abandoned_timed_out_and_still_waiting_calls() -> None:
    calls = {c.uniqueid: c for c in parse(LOG.splitlines())}
    assert set(calls) == {"1796296172.0", "1796296190.3", "1796296215.4", "1796296299.6"}  # .5 still waits
    a = calls["1796296172.0"]
    assert (a.queue, a.caller_id, a.answered, a.agent, a.wait_s, a.entered_at) == (
        "hotline-general", "13700000031", True, "agent01", 0.0, 1796296183.0,
    )  # fmt: skip
    gone = calls["1796296190.3"]
    assert (gone.answered, gone.wait_s, gone.entered_at, gone.settled_at) == (False, 12.0, 1796296200.0, 1796296212.0)
    assert calls["1796296215.4"].wait_s == 30.0 and not calls["1796296215.4"].answered
    # No ENTERQUEUE in the file (rotated away): the offer time is the connect time minus the hold.
    late = calls["1796296299.6"]
    assert (late.entered_at, late.caller_id, late.answered) == (1796296306.0, "", True)
    out = a.outcome()
    assert (out.result, out.queue, out.offered_at, out.settled_at) == (Result.ANSWERED, "hotline-general",
                                                                        1796296183.0, 1796296183.0)  # fmt: skip
    assert gone.outcome().result is Result.ABANDONED


def test_since_drops_older_calls_and_a_missing_file_is_empty(tmp_path) -> None:  # noqa: ANN001
    assert [c.uniqueid for c in parse(LOG.splitlines(), since=1796296250)] == ["1796296215.4", "1796296299.6"]
    assert read(tmp_path / "queue_log") == []
    (tmp_path / "queue_log").write_text(LOG)
    assert len(read(tmp_path / "queue_log")) == 4
