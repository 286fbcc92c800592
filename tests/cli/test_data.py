"""`trading-terminal data import|list|export|delete`, run in-process through the real entry
point, with files given relative to the working directory."""

from __future__ import annotations

import os

import pytest

from tests.helpers import SHARED_DATA
from tests.helpers.processes import command as main


RB = "cn_fut_SHFE_rb2401_1min_20230925-20231010_ctpbee.csv"


@pytest.fixture
def workdir(tmp_path):
    before = os.getcwd()
    os.chdir(tmp_path)
    yield tmp_path
    os.chdir(before)


@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason=f"no shared data at {SHARED_DATA}")
def test_import_list_export_delete(workdir, capsys):
    home = str(workdir / "data")
    (workdir / RB).write_bytes((SHARED_DATA / RB).read_bytes())
    assert main(["--home", home, "data", "import", RB]) == 0
    assert "imported 1,830 rows of rb2401.SHFE 1m" in capsys.readouterr().out
    assert main(["--home", home, "data", "list"]) == 0
    listing = capsys.readouterr().out
    assert "rb2401" in listing and "1,830" in listing and "2023-09-25 09:00:00" in listing
    assert main(["--home", home, "data", "export", "rb2401.SHFE", "1m", "out.csv"]) == 0
    exported = (workdir / "out.csv").read_text().splitlines()
    assert len(exported) == 1831 and exported[1].startswith("2023-09-25 09:00:00.000,3778.0")
    assert main(["--home", home, "data", "export", "rb2401.SHFE", "1m", "out.parquet"]) == 0
    assert (workdir / "out.parquet").stat().st_size > 0
    capsys.readouterr()
    assert main(["--home", home, "data", "resample", "rb2401.SHFE", "30m"]) == 0
    assert "wrote 64 30m bars of rb2401.SHFE built from 1m" in capsys.readouterr().out
    assert main(["--home", home, "data", "resample", "rb2401.SHFE", "d", "--from", "30m"]) == 0
    assert "wrote 6 d bars" in capsys.readouterr().out
    assert main(["--home", home, "data", "resample", "rb2401.SHFE", "45m", "--from", "30m"]) == 2
    assert "45m bars cannot be built from 30m" in capsys.readouterr().err
    for interval in ("1m", "30m", "d"):
        assert main(["--home", home, "data", "delete", "rb2401.SHFE", interval]) == 0
    capsys.readouterr()
    main(["--home", home, "data", "list"])
    assert "the store is empty" in capsys.readouterr().out


def test_a_bad_file_is_rejected_with_its_lines_and_nothing_is_written(workdir, capsys):
    home = str(workdir / "data")
    (workdir / "cn_fut_SHFE_rb2401_bad.csv").write_text(
        "datetime,open,high,low,close,volume\n"
        "2023-01-03 09:01:00,100,101,99,100,5\n"
        "2023-01-03 09:02:00,100,98,99,100,5\n"
    )
    assert main(["--home", home, "data", "import", "cn_fut_SHFE_rb2401_bad.csv"]) == 2
    err = capsys.readouterr().err
    assert "rejected, nothing written" in err and "line 3: high is below low" in err
    main(["--home", home, "data", "list"])
    assert "the store is empty" in capsys.readouterr().out


def test_unknown_series_and_bad_symbol_are_reported(workdir, capsys):
    home = str(workdir / "data")
    assert main(["--home", home, "data", "export", "rb2401.SHFE", "1m", "x.csv"]) == 2
    assert "no 1m data for rb2401.SHFE" in capsys.readouterr().err
    assert main(["--home", home, "data", "delete", "rb2401", "1m"]) == 2
    assert "is not SYMBOL.EXCHANGE" in capsys.readouterr().err


# -------------------------------------------------------------------------- files that are not CSV
BARS = ("datetime,open,high,low,close,volume\n"
        "2024-01-02 09:00:00,3900,3910,3890,3905,12\n"
        "2024-01-02 09:01:00,3905,3915,3900,3912,7\n")


def imported(capsys, home: str, name: str, *options: str) -> tuple[int, str, str]:
    code = main(["--home", home, "data", "import", name, *options])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def store_is_empty(capsys, home: str) -> bool:
    main(["--home", home, "data", "list"])
    return "the store is empty" in capsys.readouterr().out


def test_a_file_naming_no_series_asks_for_the_options_and_a_dry_run_writes_nothing(
        workdir, capsys):
    home = str(workdir / "data")
    (workdir / "prices.csv").write_text(BARS)
    code, _, err = imported(capsys, home, "prices.csv")
    assert code == 2
    assert err == ("prices.csv: rejected, nothing written: no symbol/exchange in the file or "
                   "its name; give --symbol and --exchange\n")
    code, _, err = imported(capsys, home, "prices.csv", "--symbol", "ag2406", "--exchange", "XX")
    assert code == 2 and err == "prices.csv: rejected, nothing written: unknown exchange 'XX'\n"
    code, out, _ = imported(capsys, home, "prices.csv", "--symbol", "ag2406", "--exchange",
                            "shfe", "--interval", "5m", "--dry-run")
    assert code == 0 and out == "prices.csv: 2 rows of ag2406.SHFE 5m would be imported\n"
    assert store_is_empty(capsys, home)


@pytest.mark.skipif(os.name != "posix", reason="symbolic links and FIFOs as POSIX has them")
def test_a_symbolic_link_loop_a_folder_and_a_missing_file_are_named(workdir, capsys):
    home = str(workdir / "data")
    os.symlink("loop_SHFE_rb2401.csv", workdir / "loop_SHFE_rb2401.csv")
    os.symlink("b.csv", workdir / "a.csv")
    os.symlink("a.csv", workdir / "b.csv")
    os.symlink("gone.csv", workdir / "dangling_SHFE_rb2401.csv")
    (workdir / "folder_SHFE_rb2401.csv").mkdir()
    cases = {"loop_SHFE_rb2401.csv": "a symbolic link loop",
             "a.csv": "a symbolic link loop",
             "dangling_SHFE_rb2401.csv": "a symbolic link to gone.csv, which does not exist",
             "folder_SHFE_rb2401.csv": "a folder, not a regular file",
             "missing_SHFE_rb2401.csv": "no such file"}
    for name, reason in cases.items():
        code, _, err = imported(capsys, home, name, "--symbol", "rb2401", "--exchange", "SHFE")
        assert code == 2, name
        assert err.startswith(f"{name}: rejected, nothing written: {reason}"), err
    assert store_is_empty(capsys, home)


@pytest.mark.skipif(os.name != "posix", reason="named pipes as POSIX has them")
def test_a_named_pipe_is_refused_without_being_opened(workdir, capsys):
    import threading

    home = str(workdir / "data")
    fifo = workdir / "pipe_SHFE_rb2401.csv"
    os.mkfifo(fifo)
    done = threading.Event()

    def unblock() -> None:
        """Should the import open the FIFO (and block in it), it gets an end of file here, and
        the test fails on its message instead of hanging."""
        while not done.wait(0.1):
            try:
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
            except OSError:  # no reader: nobody opened it
                continue

    threading.Thread(target=unblock, daemon=True).start()
    try:
        code, _, err = imported(capsys, home, fifo.name)
        assert code == 2
        assert ("pipe_SHFE_rb2401.csv: rejected, nothing written: a named pipe (FIFO), not a "
                "regular file") in err
        # with a good file beside it: the good one is imported, the pipe named, exit 2
        (workdir / "good_SHFE_rb2401.csv").write_text(BARS)
        code = main(["--home", home, "data", "import", fifo.name, "good_SHFE_rb2401.csv"])
        out, err = capsys.readouterr()
        assert code == 2 and "named pipe" in err
        assert "good_SHFE_rb2401.csv: imported 2 rows of rb2401.SHFE 1m" in out
    finally:
        done.set()


def test_a_header_without_rows_is_an_error_naming_the_file(workdir, capsys):
    home = str(workdir / "data")
    for name, content in (("header_SHFE_rb2401.csv", BARS.splitlines()[0] + "\n"),
                          ("blank_SHFE_rb2401.csv", BARS.splitlines()[0] + "\n\n\n")):
        (workdir / name).write_text(content)
        for options in ((), ("--dry-run",)):
            code, out, err = imported(capsys, home, name, *options)
            assert code == 2 and "imported" not in out
            assert err.strip() == (f"{name}: rejected, nothing written: no data rows: nothing "
                                   "under the header line")
    (workdir / "empty_SHFE_rb2401.csv").write_bytes(b"")
    code, _, err = imported(capsys, home, "empty_SHFE_rb2401.csv")
    assert code == 2 and "the file is empty" in err
    assert store_is_empty(capsys, home)


@pytest.mark.parametrize(("encoding", "mark"), [
    ("utf-16", True), ("utf-16-le", False), ("utf-16-be", False), ("utf-32", True),
    ("utf-8-sig", True)])
def test_unicode_files_with_or_without_a_byte_order_mark_are_read(workdir, capsys, encoding,
                                                                  mark):
    home = str(workdir / "data")
    name = "u_SHFE_rb2401.csv"
    content = BARS.encode(encoding)
    if mark and encoding == "utf-16":  # Python writes its native order; try the other one too
        content = b"\xfe\xff" + BARS.encode("utf-16-be")
    (workdir / name).write_bytes(content)
    code, out, err = imported(capsys, home, name)
    assert code == 0, err
    assert "u_SHFE_rb2401.csv: imported 2 rows of rb2401.SHFE 1m" in out
    code = main(["--home", home, "data", "export", "rb2401.SHFE", "1m", "back.csv"])
    assert code == 0
    assert (workdir / "back.csv").read_text().splitlines()[1:] == [
        "2024-01-02 09:00:00.000,3900.0,3910.0,3890.0,3905.0,12.0,0.0,0.0",
        "2024-01-02 09:01:00.000,3905.0,3915.0,3900.0,3912.0,7.0,0.0,0.0"]


def test_bytes_that_are_not_utf8_are_named_by_offset_and_line(workdir, capsys):
    home = str(workdir / "data")
    name = "gbk_SHFE_rb2401.csv"
    (workdir / name).write_bytes(BARS.encode() + "2024-01-02 09:02:00,3912,3920,3910,3915,5,备注\n"
                                 .encode("gbk"))
    code, out, err = imported(capsys, home, name)
    assert code == 2 and "imported" not in out
    offset = len(BARS.encode()) + len("2024-01-02 09:02:00,3912,3920,3910,3915,5,")
    assert (f"{name}: rejected, nothing written: not UTF-8 text (a GBK file, say): byte B1 at "
            f"offset {offset} (line 4) does not decode; save the file as UTF-8") in err
    assert store_is_empty(capsys, home)


def flip_one_byte(path) -> None:
    """One byte of the file, halfway in, with one bit flipped: a disk's quiet damage."""
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x10
    path.write_bytes(bytes(data))


@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason=f"no shared data at {SHARED_DATA}")
def test_a_flipped_byte_is_named_by_verify_export_and_backtest(workdir, capsys):
    home = str(workdir / "data")
    (workdir / RB).write_bytes((SHARED_DATA / RB).read_bytes())
    assert main(["--home", home, "data", "import", RB]) == 0
    assert main(["--home", home, "data", "resample", "rb2401.SHFE", "30m"]) == 0
    assert main(["--home", home, "data", "verify"]) == 0
    out = capsys.readouterr().out
    assert "ok       rb2401.SHFE 1m (1 part)" in out and "all intact" in out
    (part,) = (workdir / "data" / "market" / "bars" / "SHFE" / "rb2401" / "1m").glob("*.parquet")
    flip_one_byte(part)

    assert main(["--home", home, "data", "verify"]) == 1
    captured = capsys.readouterr()
    assert f"DAMAGED  rb2401.SHFE 1m: {part}: its bytes are not those written" in captured.out
    assert "ok       rb2401.SHFE 30m (1 part)" in captured.out
    assert "1 of 2 parts damaged" in captured.err
    assert main(["--home", home, "data", "verify", "rb2401.SHFE", "1m"]) == 1
    assert str(part) in capsys.readouterr().out
    assert main(["--home", home, "data", "verify", "rb2401.SHFE", "30m"]) == 0
    assert "verified 1 part of 1 series" in capsys.readouterr().out

    assert main(["--home", home, "data", "export", "rb2401.SHFE", "1m", "out.csv"]) == 2
    assert f"error: {part} is damaged: its bytes are not those written" in \
        capsys.readouterr().err
    assert not (workdir / "out.csv").exists()
    assert main(["--home", home, "backtest", "DoubleMaStrategy", "rb2401.SHFE", "--interval",
                 "1m", "--start", "2023-09-25", "--end", "2023-10-10"]) == 2
    assert f"{part} is damaged" in capsys.readouterr().err

    # every other series still works
    assert main(["--home", home, "data", "export", "rb2401.SHFE", "30m", "out30.csv"]) == 0
    assert len((workdir / "out30.csv").read_text().splitlines()) == 65


def test_verify_of_an_unknown_series_is_bad_input(workdir, capsys):
    home = str(workdir / "data")
    assert main(["--home", home, "data", "verify"]) == 0
    assert "verified 0 parts of 0 series" in capsys.readouterr().out
    assert main(["--home", home, "data", "verify", "rb2401.SHFE", "1m"]) == 2
    assert "no 1m data for rb2401.SHFE" in capsys.readouterr().err


def test_a_broken_catalogue_is_rebuilt_and_said_once_on_stderr(workdir, capsys):
    import sqlite3

    from vnpy.trader.constant import Exchange

    from terminal.core.paths import prepare
    from terminal.storage.market_store import MarketStore

    home = workdir / "data"
    here = os.getcwd()
    store = MarketStore(prepare(home).market_dir)
    os.chdir(here)
    for symbol in ("rb2401", "rb2405"):
        store.save_columns(symbol, Exchange.SHFE, "1m", {
            "datetime": [1_695_603_660_000_000_000], "close_price": [3762.0]})
    store.close()
    catalogue = home / "market" / "catalogue.db"
    for damage in ("DROP TABLE series",
                   "UPDATE series SET first = 'garbage' WHERE symbol = 'rb2405'"):
        db = sqlite3.connect(catalogue)
        db.execute(damage)
        db.commit()
        db.close()
        assert main(["--home", str(home), "data", "list"]) == 0
        captured = capsys.readouterr()
        assert "rb2401" in captured.out and "rb2405" in captured.out
        assert "the store is empty" not in captured.out and "Traceback" not in captured.err
        (warning,) = [line for line in captured.err.splitlines() if "inconsistent" in line]
        assert warning.startswith("WARNING") and "rebuilt from the parts on disk" in warning
        assert main(["--home", str(home), "data", "list"]) == 0
        assert "inconsistent" not in capsys.readouterr().err
