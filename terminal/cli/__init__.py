"""Command line of `trading-terminal` (also `python -m terminal`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from terminal import __version__


def positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < value <= 86_400:
        raise argparse.ArgumentTypeError(f"{text!r} must be between 0 and 86400 seconds")
    return value


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="trading-terminal",
        description="Desktop trading terminal for China futures. Starts on the built-in "
        "simulated exchange with a data directory of its own.",
    )
    p.add_argument(
        "--home", metavar="DIR",
        help="data directory (default: $TERMINAL_HOME, else the per-user data folder)",
    )
    p.add_argument(
        "--smoke", metavar="SECONDS", type=positive_seconds,
        help="start everything, trade once on the simulated exchange, print a summary "
        "line and exit (0 when it worked)",
    )
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    from terminal.cli import (
        backtest, data, montecarlo, optimise, performance, report, walkforward)

    verbs = (data, backtest, optimise, walkforward, montecarlo, report, performance)
    commands = p.add_subparsers(dest="command", metavar="{" + ",".join(
        verb.__name__.rsplit(".", 1)[1] for verb in verbs) + "}")
    for verb in verbs:
        verb.add_parser(commands)       # each sets `run`: the command's run(args, paths)
    return p


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    """The arguments, with file arguments made absolute: they are relative to where the
    command was typed, and the process moves into the data directory. Links are left for the
    system to follow when the file is opened (`Path.resolve` raises a bare RuntimeError on a
    link loop)."""
    args = parser().parse_args(argv)
    if getattr(args, "files", None):
        args.files = [Path(f).expanduser().absolute() for f in args.files]
    if getattr(args, "output", None):
        args.output = Path(args.output).expanduser().absolute()
    if getattr(args, "report", None):
        args.report = Path(args.report).expanduser().absolute()
    return args
