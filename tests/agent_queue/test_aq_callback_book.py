"""The call-back book keeps one pending call-back per citizen."""

from agent_queue.callbacks import CallbackBook, CallbackKind, CallbackRequest


def _req(uniqueid: str, number: str, joined: float) -> CallbackRequest:
    return CallbackRequest(kind=CallbackKind.ABANDONED, queue="hotline-general", uniqueid=uniqueid,
                           number=number, joined_at=joined, requested_at=joined, due_by=joined + 1800)


def test_a_caller_who_gave_up_three_times_is_owed_one_call_back():
    book = CallbackBook()
    assert book.add(_req("c1", "13800138000", 1.0))
    assert not book.add(_req("c2", "13800138000", 2.0))
    assert not book.add(_req("c3", "13800138000", 3.0))
    assert book.add(_req("c4", "13900139000", 4.0))
    assert sorted(r.number for r in book.requests.values()) == ["13800138000", "13900139000"]


def test_the_same_call_is_not_added_twice_and_no_number_means_no_call_back():
    book = CallbackBook()
    assert book.add(_req("c1", "13800138000", 1.0))
    assert not book.add(_req("c1", "13800138000", 1.0))
    assert not book.add(_req("c9", "", 1.0))
