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
