"""A raising handler is reported and does not stop later events (stock vn.py loses them all)."""

from __future__ import annotations

import threading

from vnpy.event import Event

from terminal.core.events import EVENT_HANDLER_ERROR, IsolatedEventEngine


def test_raising_handler_does_not_stop_later_events():
    engine = IsolatedEventEngine()
    seen: list[int] = []
    errors = []
    done = threading.Event()

    def broken(event: Event) -> None:
        raise ValueError(f"bad {event.data}")

    def collect(event: Event) -> None:
        seen.append(event.data)
        if event.data == 99:
            done.set()

    engine.register("eTest", broken)
    engine.register("eTest", collect)
    engine.register(EVENT_HANDLER_ERROR, lambda e: errors.append(e.data))
    engine.start()
    try:
        for i in range(100):
            engine.put(Event("eTest", i))
        assert done.wait(5), "dispatch stopped after the first failure"
    finally:
        engine.stop()
    assert seen == list(range(100))
    assert engine.handler_errors == 100
    assert len(errors) == 100
    assert errors[0].event_type == "eTest" and "ValueError: bad 0" in errors[0].error
    assert "broken" in errors[0].handler and "Traceback" in errors[0].traceback


def test_general_handlers_are_isolated_too_and_error_handlers_do_not_loop():
    engine = IsolatedEventEngine()
    seen = []
    done = threading.Event()

    def broken_general(event: Event) -> None:
        raise RuntimeError("general")

    def collect(event: Event) -> None:
        if event.type == "eTest":
            seen.append(event.data)
            done.set()

    engine.register_general(broken_general)
    engine.register_general(collect)
    engine.start()
    try:
        engine.put(Event("eTest", 1))
        assert done.wait(5)
    finally:
        engine.stop()
    assert seen == [1]
    # the failure on eTest is reported once; the failure on that report is logged, not re-reported
    assert engine.handler_errors == 2


def test_stop_is_prompt():
    """Stock EventEngine's timer sleeps out its interval before it sees the stop: with an
    hour's interval, its thread would outlive `stop` (which waits 5 s for it at most)."""
    engine = IsolatedEventEngine(interval=3600)
    engine.start()
    engine.stop()
    assert not engine._timer.is_alive() and not engine._thread.is_alive()


def test_events_nobody_listens_to_are_not_queued():
    engine = IsolatedEventEngine()
    engine.put(Event("eTick.rb2701.SHFE", 1))
    assert engine.queue_depth == 0
    engine.register("eTick.rb2701.SHFE", lambda e: None)
    engine.put(Event("eTick.rb2701.SHFE", 2))
    assert engine.queue_depth == 1
