"""The optimise verb: spelt as the docs and the GUI spell it, and the old spelling `optimize`
still accepted (traders' scripts call it) without being listed."""

from __future__ import annotations

from terminal.cli import parse, parser

ARGS = ["DoubleMaStrategy", "rb2401.SHFE", "--start", "2023-09-25", "--end", "2023-10-10",
        "--range", "fast_window=5:10:5"]


def test_optimise_and_the_old_spelling_parse_to_the_same_command():
    new, old = parse(["optimise", *ARGS]), parse(["optimize", *ARGS])
    assert new.command == old.command == "optimise"
    assert vars(new) == vars(old)


def test_the_old_spelling_is_not_listed():
    text = parser().format_help()
    assert "optimise" in text and "optimize" not in text


def test_the_cli_warms_up_as_the_workbench_does():
    import inspect

    from terminal.backtest.optimisation.evaluation import load_shared_bars
    from terminal.cli import optimise

    default = inspect.signature(load_shared_bars).parameters["warmup_days"].default
    assert optimise.DEFAULT_WARMUP_DAYS == default == parse(["optimise", *ARGS]).warmup_days
