"""The export service called directly: what `data export` and the Data dock's Export run."""

from __future__ import annotations

import pandas as pd
import pyarrow.parquet as pq
import pytest
from vnpy.trader.constant import Exchange

from terminal.services import exports
from terminal.services.exports import export_series
from terminal.storage.market_store import MarketStore


@pytest.fixture
def store(data_dir):
    market = MarketStore(data_dir / "market")
    minutes = 2000
    start = pd.Timestamp("2024-01-02 01:00", tz="UTC").value
    ns = start + pd.RangeIndex(minutes).to_numpy() * 60_000_000_000
    market.save_columns("rb2405", Exchange.SHFE, "1m", {
        "datetime": ns, **{k: [3900.0 + i for i in range(minutes)]
                           for k in ("open_price", "high_price", "low_price", "close_price")}})
    yield market
    market.close()


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_progress_is_told_and_the_file_reads_back(store, tmp_path, suffix, monkeypatch):
    monkeypatch.setattr(exports, "CSV_CELLS_PER_SLICE", 4096)   # several slices of 2,000 rows
    out = tmp_path / f"rb{suffix}"
    heard = []
    rows = export_series(store, "rb2405", Exchange.SHFE, "1m", out,
                         lambda percent, stage: heard.append((percent, stage)))
    assert rows == 2000
    assert heard[0] == (0, "reading rb2405.SHFE 1m")
    assert heard[1:] and all(stage == f"writing {out.name}" for _, stage in heard[1:])
    assert [p for p, _ in heard] == sorted(p for p, _ in heard) and heard[-1][0] < 100
    if suffix == ".csv":
        assert len(heard) > 3                                    # a slice at a time
        frame = pd.read_csv(out)
        assert frame.iloc[0]["datetime"] == "2024-01-02 09:00:00.000" and len(frame) == 2000
    else:
        assert pq.read_table(out).num_rows == 2000


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_an_export_stopped_by_its_progress_leaves_no_file(store, tmp_path, suffix):
    folder = tmp_path / "out"
    folder.mkdir()
    out = folder / f"rb{suffix}"

    class Stop(Exception):
        pass

    def stop_while_writing(percent: int, stage: str) -> None:
        if stage.startswith("writing"):
            raise Stop

    with pytest.raises(Stop):
        export_series(store, "rb2405", Exchange.SHFE, "1m", out, stop_while_writing)
    assert list(folder.iterdir()) == []                         # neither it nor its .tmp
