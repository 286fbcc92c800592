"""Parameter optimisation: grid and genetic search over chosen parameters towards a chosen
statistic, evaluated in parallel processes with progress and cancel.

    settings = BacktestSettings("rb2401.SHFE", start, end, rate=1e-4, size=10)  # engine.py
    space = ParameterSpace({"fast_window": (5, 20, 5), "slow_window": [30, 40, 60]})
    bars = load_shared_bars(store, settings)        # one read of the store, in this process
    evaluate = BacktestEvaluator(DoubleMaStrategy, settings)
    result = Optimiser(workers=2).grid(evaluate, space, "sharpe_ratio", bars, progress=report)
    result.best, result.frame(), heatmap(result, "fast_window", "slow_window")
    Optimiser(workers=2).genetic(evaluate, space, "sharpe_ratio", bars, population=20,
                                 generations=10, seed=1)

The parts, each in its module:
- `space`: ParameterSpace (ranges, lists, fixed values; checked against the strategy), `grid`;
- `evaluation`: one setting evaluated, `evaluate(params, data) -> statistics`; the backtest's
  evaluator and the bars every evaluation shares (SharedBars, load_shared_bars);
- `ranking`: the target statistic, the rows ranked by it (OptimisationResult), the heatmap;
- `genetic`: the genetic search;
- `executors`: where settings are evaluated: local worker processes, or a Dask cluster;
- `optimiser`: Optimiser, the searches (grid, genetic) run on an executor, with cancel.
"""
