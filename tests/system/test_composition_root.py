"""`terminal.system.runtime.build`, the one composition root: each object comes out of its
constructor finished, and nothing is wired into it afterwards."""

from __future__ import annotations

import pytest

from terminal.core import paths


@pytest.fixture
def constructed(monkeypatch):
    """What the kernel and the bridge held when their constructors returned."""
    from terminal.core.bridge import EventBridge
    from terminal.core.kernel import Kernel

    made: list[tuple[object, dict]] = []
    for cls in (Kernel, EventBridge):
        original = cls.__init__

        def init(self, *args, _original=original, **kwargs):
            _original(self, *args, **kwargs)
            made.append((self, dict(vars(self))))

        monkeypatch.setattr(cls, "__init__", init)
    return made


def test_build_wires_nothing_in_after_construction(data_dir, constructed):
    from terminal.core.settings import Settings
    from terminal.plugins.live import TerminalCtaEngine
    from terminal.system import runtime as runtime_module

    runtime = runtime_module.build(paths.prepare(data_dir), Settings())
    try:
        kernel, bridge = runtime.kernel, runtime.kernel.bridge
        assert {id(obj) for obj, _ in constructed} == {id(kernel), id(bridge)}
        for obj, at_construction in constructed:
            now = vars(obj)
            assert now.keys() == at_construction.keys(), type(obj).__name__   # none added
            rebound = [name for name, value in at_construction.items()
                       if not name.startswith("_") and now[name] is not value]
            assert rebound == [], type(obj).__name__
        assert not hasattr(kernel, "connections")        # the runtime holds them
        # The journal commits before the GUI is handed a batch: given to the bridge's
        # constructor, not set on it.
        assert bridge._committed == runtime.journal.flush
        # The live strategy engine is vn.py's class as the terminal extends it, given its
        # plugin catalog by its constructor (no class made up to carry it).
        assert type(runtime.cta) is TerminalCtaEngine
        assert runtime.cta.catalog is runtime.catalog
        assert runtime.kernel.main_engine.get_engine(runtime.cta.engine_name) is runtime.cta
    finally:
        runtime.close()


def test_the_journal_hears_every_record_first_and_the_guard_each_order_next(data_dir):
    """A record is journalled before anything else acts on it (the bridge shows it only after
    the journal's commit), and the risk guard counts an order's state before vn.py's engines
    and the GUI see it. Both register "first", so this order is the order of registration in
    `runtime.build`: this test keeps it."""
    from vnpy.trader.event import EVENT_ORDER

    from terminal.core.settings import Settings
    from terminal.storage.journal import EVENTS
    from terminal.system import runtime as runtime_module

    runtime = runtime_module.build(paths.prepare(data_dir), Settings())
    try:
        handlers = runtime.kernel.event_engine._handlers
        for event_type in EVENTS:
            assert handlers[event_type][0] == runtime.journal.handler, event_type
        assert handlers[EVENT_ORDER][1] == runtime.risk.guard._on_order
    finally:
        runtime.close()


def test_a_build_that_fails_closes_what_it_had_opened(data_dir, monkeypatch):
    """A part that cannot be made (here the strategy catalogue) leaves no journal thread, no
    engine and no instance lock behind: the next start in this folder works."""
    import threading

    from terminal.core.settings import Settings
    from terminal.storage import journal as journal_module
    from terminal.system import runtime as runtime_module

    opened = []
    real_open = journal_module.open_journal

    def open_and_keep(*args, **kwargs):
        journal, set_aside = real_open(*args, **kwargs)
        opened.append(journal)
        return journal, set_aside

    def fails(*args, **kwargs):
        raise RuntimeError("no catalogue today")

    monkeypatch.setattr(runtime_module, "open_journal", open_and_keep)
    monkeypatch.setattr(runtime_module, "StrategyCatalog", fails)
    data = paths.prepare(data_dir)
    with pytest.raises(RuntimeError, match="no catalogue today"):
        runtime_module.build(data, Settings())
    assert opened and not opened[0]._flusher.is_alive()
    assert not [t for t in threading.enumerate() if t is opened[0]._flusher]
    monkeypatch.undo()
    runtime = runtime_module.build(data, Settings())     # the folder is free again
    runtime.close()


def test_a_repaired_catalogue_is_said_in_an_alert_the_journal_keeps(data_dir):
    """The store opens its catalogue when first asked (a dock or a chart), after the journal
    listens: the alert saying what the rebuild fixed is kept with the day's alerts."""
    from terminal.core.settings import Settings
    from terminal.system import runtime as runtime_module
    from tests.helpers import drained

    data = paths.prepare(data_dir)
    data.market_dir.mkdir(parents=True, exist_ok=True)
    (data.market_dir / "catalogue.db").write_bytes(b"not a database" * 100)
    runtime = runtime_module.build(data, Settings())
    try:
        assert runtime.store.series() == []          # opens, finds it damaged, rebuilds it
        drained(runtime.kernel.event_engine)
        runtime.journal.flush()
        kept = runtime.journal.load()
        assert any(alert.rule == "market_data" for alert in kept.alerts), kept.alerts
    finally:
        runtime.close()
