"""Use cases the command line and the GUI share (backtest, optimise, import, export, resample):
each is called the same way from a CLI verb and from a dock."""
