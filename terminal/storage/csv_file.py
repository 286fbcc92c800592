"""Opening a file to import: only a regular file is opened, never blocking, and its text
encoding comes from its byte-order mark. The errors an import raises live here too.

What a trader may point the importer at, and what each gives:
- a folder, a named pipe (FIFO), a device, a socket: refused by `stat` before anything opens
  it (opening a FIFO blocks until someone writes to it; opening a device may do something);
  the file is then opened non-blocking and checked again, so one swapped in meanwhile is
  refused too;
- a symbolic link loop, a link to nothing, a missing or unreadable file: a named error;
- UTF-8 with or without a byte-order mark, UTF-16 and UTF-32 with one (Excel's "Unicode
  text", Windows tools), and UTF-16 without one when its zero bytes tell which half is which:
  read as such;
- anything else that is not UTF-8 (a GBK file, say): the first byte that does not decode,
  named by its offset and line (`decode_problem`).
"""

from __future__ import annotations

import codecs
import errno
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

UTF8 = "utf-8-sig"  # reads files with and without a byte-order mark
# Longest first: UTF-32 LE's mark starts with UTF-16 LE's.
BYTE_ORDER_MARKS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
                    (codecs.BOM_UTF8, UTF8), (codecs.BOM_UTF16_LE, "utf-16"),
                    (codecs.BOM_UTF16_BE, "utf-16"))
ENCODING_NAMES = {UTF8: "UTF-8", "utf-32": "UTF-32", "utf-16": "UTF-16",
                  "utf-16-le": "UTF-16 (little-endian, no byte-order mark)",
                  "utf-16-be": "UTF-16 (big-endian, no byte-order mark)"}
SNIFF_BYTES = 4096
NOT_FILES = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a named pipe (FIFO)"),
             (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
             (stat.S_ISSOCK, "a socket"))
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


@dataclass
class RowProblem:
    line: int
    message: str


class ImportRejected(ValueError):
    def __init__(self, path: Path, problems: list[RowProblem], total: int | None = None):
        self.path, self.problems = path, problems
        self.total = total or len(problems)  # bad rows in all; `problems` names the first
        shown = "; ".join(f"line {p.line}: {p.message}" for p in problems[:10])
        more = (total or len(problems)) - min(10, len(problems))
        super().__init__(f"{path.name}: {total or len(problems)} bad row(s): {shown}"
                         + (f"; and {more} more" if more > 0 else ""))


class FileRejected(ImportRejected):
    """The file as a whole cannot be imported (not a regular file, unreadable, not text in a
    known encoding, empty, no data rows): one problem, named with the file."""

    def __init__(self, path: Path, reason: str, line: int = 1):
        ValueError.__init__(self, f"{Path(path).name}: {reason}")
        self.path, self.reason = Path(path), reason
        self.problems, self.total = [RowProblem(line, reason)], 1


def open_csv(path: Path) -> tuple[BinaryIO, str]:
    """The file opened for binary reading, positioned at its start, and the encoding to read
    it with; raises `FileRejected` for anything but a readable regular file."""
    path = Path(path)
    try:
        before = os.stat(path)
    except OSError as exc:
        raise FileRejected(path, _unreachable(path, exc)) from None
    _check_regular(path, before.st_mode)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) \
        | getattr(os, "O_BINARY", 0)
    try:
        descriptor = os.open(path, flags)
    except OSError as exc:
        raise FileRejected(path, _unreachable(path, exc)) from None
    handle = os.fdopen(descriptor, "rb")
    try:
        opened = os.fstat(descriptor)
        _check_regular(path, opened.st_mode)
        if (opened.st_dev, opened.st_ino) != (before.st_dev, before.st_ino):
            raise FileRejected(path, "the file was replaced while it was being opened")
        encoding = sniff_encoding(handle.read(SNIFF_BYTES))
        handle.seek(0)
    except OSError as exc:
        handle.close()
        raise FileRejected(path, f"cannot be read: {exc.strerror or exc}") from None
    except BaseException:
        handle.close()
        raise
    return handle, encoding


def sniff_encoding(start: bytes) -> str:
    """The encoding of a file starting with `start`: its byte-order mark's, else UTF-16 when
    every other byte is zero (ASCII text saved as UTF-16 without a mark), else UTF-8."""
    for mark, encoding in BYTE_ORDER_MARKS:
        if start.startswith(mark):
            return encoding
    pairs = len(start) // 2
    if pairs >= 4:
        even, odd = start[0:2 * pairs:2].count(0), start[1:2 * pairs:2].count(0)
        if odd >= 0.9 * pairs and even == 0:
            return "utf-16-le"
        if even >= 0.9 * pairs and odd == 0:
            return "utf-16-be"
    return UTF8


def decode_problem(path: Path, encoding: str) -> FileRejected | None:
    """Where the file first fails to decode as `encoding`: its byte offset and line, for a
    message that lets the trader find it. Reads the file a block at a time."""
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    offset, lines, last = 0, 1, ""
    handle, _ = open_csv(path)
    with handle:
        while True:
            block = handle.read(1 << 20)
            state = decoder.getstate()
            try:
                text = decoder.decode(block, final=not block)
            except UnicodeDecodeError as exc:
                # exc.start counts from the bytes the decoder held back from the last block
                held = len(state[0])
                before = codecs.getincrementaldecoder(encoding)("ignore")
                before.setstate(state)
                good = before.decode(block[:max(0, exc.start - held)])
                lines += _breaks(last + good) - _breaks(last)
                at = offset - held + exc.start
                bad = bytes(exc.object[exc.start:exc.end]).hex(" ").upper()
                hint = " (a GBK file, say)" if encoding == UTF8 else ""
                return FileRejected(
                    path, f"not {ENCODING_NAMES.get(encoding, encoding)} text{hint}: "
                          f"byte {bad} at offset {at:,} (line {lines}) does not decode; "
                          "save the file as UTF-8, or as UTF-16 with a byte-order mark",
                    line=lines)
            if not block:
                return None
            lines += _breaks(last + text) - _breaks(last)
            last = text[-1:]
            offset += len(block)


def _breaks(text: str) -> int:
    return len(_LINE_BREAK.findall(text))


def _check_regular(path: Path, mode: int) -> None:
    for test, kind in NOT_FILES:
        if test(mode):
            raise FileRejected(path, f"{kind}, not a regular file: only files can be imported")
    if not stat.S_ISREG(mode):
        raise FileRejected(path, "not a regular file: only files can be imported")


def _unreachable(path: Path, exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "a symbolic link loop (the link leads back to itself), not a file"
    if isinstance(exc, FileNotFoundError):
        if os.path.islink(path):
            return f"a symbolic link to {os.readlink(path)}, which does not exist"
        return "no such file"
    if isinstance(exc, PermissionError):
        return "cannot be read: permission denied"
    return f"cannot be read: {exc.strerror or exc}"
