"""The runtime's drawings: kept in the data directory, so they survive a restart, and a damaged
file is said in an alert the journal keeps."""

from __future__ import annotations

from terminal.core import paths

MINUTE = 60_000_000_000
T0 = 1_695_603_660_000_000_000      # 2023-09-25 09:01 +08:00


def test_drawings_round_trip_through_a_restart(data_dir):
    from terminal.core.settings import Settings
    from terminal.market.drawings import Anchor, Style, new_drawing
    from terminal.system import runtime as runtime_module

    data = paths.prepare(data_dir)
    runtime = runtime_module.build(data, Settings())
    try:
        book = runtime.drawings.book("rb2401.SHFE")
        trend = new_drawing("trend", [Anchor(T0, 3700.0), Anchor(T0 + 30 * MINUTE, 3720.0)],
                            style=Style("#eb5757", 2.0, "dash"))
        fib = new_drawing("fib", [Anchor(T0, 3690.0), Anchor(T0 + 90 * MINUTE, 3750.0)],
                          levels=(0.0, 0.5, 1.0, 1.618))
        note = new_drawing("text", [Anchor(T0 + MINUTE, 3710.0)], text="support, 持仓")
        for drawing in (trend, fib, note):
            book.add(drawing)
        book.replace(trend.moved(MINUTE, 1.0))
        book.remove(note.id)
        runtime.drawings.book("IF2101.CFFEX").add(new_drawing("hline", [Anchor(T0, 5000.0)]))
        kept = book.drawings()
    finally:
        runtime.close()
    runtime = runtime_module.build(data, Settings())
    try:
        assert runtime.drawings.book("rb2401.SHFE").drawings() == kept
        assert len(runtime.drawings.book("IF2101.CFFEX").drawings()) == 1
        assert runtime.drawings.book("ag2412.SHFE").drawings() == []
    finally:
        runtime.close()


def test_a_damaged_drawings_file_is_an_alert_the_journal_keeps(data_dir):
    from terminal.core.settings import Settings
    from terminal.system import runtime as runtime_module
    from tests.helpers import drained

    data = paths.prepare(data_dir)
    data.drawings_dir.mkdir()
    (data.drawings_dir / "rb2401.SHFE.json").write_text('{"format": 1, "drawings": [')
    runtime = runtime_module.build(data, Settings())
    try:
        assert runtime.drawings.book("rb2401.SHFE").drawings() == []
        drained(runtime.kernel.event_engine)
        runtime.journal.flush()
        alerts = [a for a in runtime.journal.load().alerts if a.rule == "drawings"]
        assert [a.symbol for a in alerts] == ["rb2401.SHFE"], alerts
        assert "kept as rb2401.SHFE.json.broken-" in alerts[0].message
    finally:
        runtime.close()
