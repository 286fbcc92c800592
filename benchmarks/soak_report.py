"""The soak's figures: a row per interval printed as it comes, the CSV files, the table by
minute, the summary the verdict is made of, the verdict against the targets, and ours beside
stock VeighNa Trader. (benchmarks/soak.py runs the soak; see its docstring.)"""

from __future__ import annotations

import argparse
import csv
import statistics
from pathlib import Path

from harness import met, ms
from terminal.core.looplag import percentile

TARGET_MEMORY = 0.05
TARGET_LAG = 0.016
QUIET_STEAL = 1.0              # percent: an interval the host took next to nothing from
TARGET_RATE = 0.05
# What a queue's last third may exceed its first third by (on top of 10%), in items or in
# seconds of ticks at the asked rate: a snapshot of a queue drained every few milliseconds
# (event queue, ticks waiting for the GUI's next frame) or every half second (recorder)
# jumps by that much from one sample to the next without any backlog.
QUEUE_ALLOWANCE = {"event_queue": 0.1, "bridge_pending": 100, "journal_queue": 50,
                   "recorder_queue": 0.6, "gui_backlog": 0.1}
RATE_ALLOWANCE = {"event_queue", "recorder_queue", "gui_backlog"}
QUEUES = ("event_queue", "bridge_pending", "journal_queue", "recorder_queue")
FIELDS = ["t", "rss_mb", "engine_ticks_s", "gui_ticks_s", "event_queue", "bridge_pending",
          "journal_queue", "recorder_queue", "gui_backlog", "lag_p50_ms", "lag_p99_ms",
          "lag_max_ms", "lag_samples", "steal_pct", "lag_p99_unstolen_ms", "unstolen_samples",
          "cpu", "gui_cpu", "sim_cpu", "events_cpu", "working",
          "threads", "gc_full", "gc_full_ms",
          "journaled", "trades"]


def lag_figures(lags: list[float]) -> dict:
    return {"lag_p50_ms": ms(percentile(lags, 50)), "lag_p99_ms": ms(percentile(lags, 99)),
            "lag_max_ms": ms(max(lags) if lags else None), "lag_samples": len(lags)}


def print_row(row: dict, header: bool) -> None:
    columns = [("t s", "t", 7, 0), ("RSS MB", "rss_mb", 8, 1), ("eng t/s", "engine_ticks_s", 8, 0),
               ("GUI t/s", "gui_ticks_s", 8, 0), ("evq", "event_queue", 6, 0),
               ("bridge", "bridge_pending", 7, 0), ("journal", "journal_queue", 8, 0),
               ("record", "recorder_queue", 7, 0), ("backlog", "gui_backlog", 8, 0),
               ("lag p50", "lag_p50_ms", 8, 1), ("p99", "lag_p99_ms", 7, 1),
               ("max ms", "lag_max_ms", 8, 1), ("steal%", "steal_pct", 7, 1),
               ("p99*", "lag_p99_unstolen_ms", 6, 1), ("CPU", "cpu", 6, 2),
               ("GUI", "gui_cpu", 6, 2),
               ("sim", "sim_cpu", 6, 2), ("evt", "events_cpu", 6, 2), ("wrk", "working", 5, 0),
               ("thr", "threads", 5, 0), ("gc2", "gc_full", 5, 0), ("gc ms", "gc_full_ms", 7, 1)]
    if header:
        print("  " + "".join(f"{label:>{width}}" for label, _, width, _ in columns), flush=True)
    print("  " + "".join(_cell(row.get(key), width, digits) for _, key, width, digits in columns),
          flush=True)


def _cell(value, width: int, digits: int) -> str:
    return f"{'-':>{width}}" if value is None else f"{value:>{width},.{digits}f}"


def write_csv(path: Path, rows: list[dict]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, FIELDS)
        writer.writeheader()
        writer.writerows(rows)


def write_health_csv(path: Path, samples: list) -> None:
    names = ["at", "ticks_per_second", "event_queue", "bridge_pending", "journal_queue",
             "recorder_queue", "lag_last", "lag_p99", "rss", "threads", "cpu", "host_steal",
             "connections"]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(names)
        for sample in samples:
            writer.writerow([getattr(sample, n) for n in names[:-1]]
                            + [";".join(f"{g}={s}" for g, s, _ in sample.connections)])


def minutes_table(rows: list[dict], interval: float) -> list[dict]:
    """Minute by minute: RSS at the end, mean rates, largest queues, worst interval p99."""
    per = max(1, round(60 / interval))
    table = []
    for k in range(0, len(rows), per):
        chunk = rows[k:k + per]
        table.append({
            "minute": k // per + 1, "rss_mb": chunk[-1]["rss_mb"],
            "engine_ticks_s": statistics.fmean(r["engine_ticks_s"] for r in chunk),
            "gui_ticks_s": statistics.fmean(r["gui_ticks_s"] for r in chunk),
            **{name: _max([r.get(name) for r in chunk]) for name in (*QUEUES, "gui_backlog")},
            "lag_p99_ms": _max([r["lag_p99_ms"] for r in chunk]),
            "lag_max_ms": _max([r["lag_max_ms"] for r in chunk]),
            "cpu": statistics.fmean(r["cpu"] for r in chunk),
            "gui_cpu": statistics.fmean(r["gui_cpu"] for r in chunk),
        })
    return table


def _max(values: list):
    values = [v for v in values if v is not None]
    return max(values) if values else None


def print_minutes(name: str, table: list[dict]) -> None:
    print(f"\n{name}, minute by minute (queues: largest 1-s sample; lag: worst 10-s p99 / max)")
    header = (f"  {'min':>4}{'RSS MB':>9}{'eng t/s':>9}{'GUI t/s':>9}{'evq':>6}{'bridge':>8}"
              f"{'journal':>8}{'record':>8}{'backlog':>9}{'lag p99':>9}{'max ms':>8}{'CPU':>6}"
              f"{'GUI':>6}")
    print(header)
    for m in table:
        print(f"  {m['minute']:>4}{_cell(m['rss_mb'], 9, 1)}{_cell(m['engine_ticks_s'], 9, 0)}"
              f"{_cell(m['gui_ticks_s'], 9, 0)}{_cell(m['event_queue'], 6, 0)}"
              f"{_cell(m['bridge_pending'], 8, 0)}{_cell(m['journal_queue'], 8, 0)}"
              f"{_cell(m['recorder_queue'], 8, 0)}{_cell(m['gui_backlog'], 9, 0)}"
              f"{_cell(m['lag_p99_ms'], 9, 1)}{_cell(m['lag_max_ms'], 8, 1)}"
              f"{_cell(m['cpu'], 6, 2)}{_cell(m['gui_cpu'], 6, 2)}")


def summary(rows: list[dict], args: argparse.Namespace) -> dict:
    """The figures the verdict is made of."""
    if not rows:
        return {}
    per_minute = max(1, round(60 / args.interval))
    after = [r for r in rows if r["t"] >= 60 - args.interval / 2]
    base = rows[per_minute - 1]["rss_mb"] if len(rows) >= per_minute else rows[0]["rss_mb"]
    final = rows[-1]["rss_mb"]
    slope = _slope([r["t"] / 60 for r in after], [r["rss_mb"] for r in after])
    queues = {}
    for name in (*QUEUES, "gui_backlog"):
        values = [r.get(name) for r in rows]
        if all(v is None for v in values):
            continue
        values = [v or 0 for v in values]
        third = max(1, len(values) // 3)
        first, last = statistics.median(values[:third]), statistics.median(values[-third:])
        allowance = QUEUE_ALLOWANCE[name] * (args.rate if name in RATE_ALLOWANCE else 1)
        allowance += 0.1 * first
        queues[name] = {"first": first, "last": last, "max": max(values),
                        "grows": last > first + allowance}
    lag99 = [r["lag_p99_ms"] for r in rows if r["lag_p99_ms"] is not None]
    unstolen = [r["lag_p99_unstolen_ms"] for r in rows if r.get("lag_p99_unstolen_ms") is not None]
    steal = [r["steal_pct"] for r in rows if r.get("steal_pct") is not None]
    quiet = [r["lag_p99_ms"] for r in rows if r.get("steal_pct") is not None
             and r["steal_pct"] < QUIET_STEAL and r["lag_p99_ms"] is not None]
    rates = [r["engine_ticks_s"] for r in rows]
    gui_rates = [r["gui_ticks_s"] for r in rows]
    return {
        "minutes": rows[-1]["t"] / 60, "rss_minute1": base, "rss_final": final,
        "rss_growth": (final - base) / base if base else 0.0, "rss_slope_mb_min": slope,
        "rss_max": max(r["rss_mb"] for r in rows), "queues": queues,
        "lag_p99_median": statistics.median(lag99) if lag99 else None,
        "lag_p99_worst": max(lag99) if lag99 else None,
        "lag_intervals_over": sum(1 for v in lag99 if v >= TARGET_LAG * 1000),
        "lag_intervals": len(lag99),
        "lag_max": _max([r["lag_max_ms"] for r in rows]),
        "steal_median": statistics.median(steal) if steal else None,
        "steal_max": max(steal) if steal else None,
        "unstolen_p99_median": statistics.median(unstolen) if unstolen else None,
        "unstolen_p99_worst": max(unstolen) if unstolen else None,
        "unstolen_intervals_over": sum(1 for v in unstolen if v >= TARGET_LAG * 1000),
        "unstolen_intervals": len(unstolen),
        "quiet_intervals": len(quiet), "quiet_p99_worst": max(quiet) if quiet else None,
        "quiet_intervals_over": sum(1 for v in quiet if v >= TARGET_LAG * 1000),
        "lag_p50_median": statistics.median(r["lag_p50_ms"] for r in rows
                                            if r["lag_p50_ms"] is not None),
        "rate_median": statistics.median(rates), "gui_rate_median": statistics.median(gui_rates),
        "cpu_median": statistics.median(r["cpu"] for r in rows),
        "gui_cpu_median": statistics.median(r["gui_cpu"] for r in rows),
    }


def _slope(xs: list[float], ys: list[float]) -> float | None:
    if len(xs) < 2:
        return None
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den if den else None


def verdict(name: str, s: dict, args: argparse.Namespace) -> None:
    from terminal.core.health import QUEUE_LIMITS

    print(f"\n{name}: verdict over {s['minutes']:.1f} min")
    slope = s["rss_slope_mb_min"]
    print(f"  memory: RSS {s['rss_minute1']:,.1f} MB after minute 1 -> {s['rss_final']:,.1f} MB "
          f"at the end ({s['rss_growth'] * 100:+.2f}%; slope "
          f"{'-' if slope is None else f'{slope:+.2f}'} MB/min; max {s['rss_max']:,.1f} MB); "
          f"target under {TARGET_MEMORY * 100:.0f}%: {met(s['rss_growth'] < TARGET_MEMORY)}")
    limits = {**QUEUE_LIMITS, "gui_backlog": 5_000}
    for queue, q in s["queues"].items():
        bounded = q["max"] <= limits[queue]
        print(f"  {queue}: median of per-interval maxima, first third {q['first']:,.0f}, last "
              f"third {q['last']:,.0f}, largest {q['max']:,}; "
              f"{'GROWS' if q['grows'] else 'does not grow'}, "
              f"{'bounded' if bounded else 'past the limit ' + format(limits[queue], ',')}: "
              f"{met(not q['grows'] and bounded)}")
    print(f"  GUI loop lag p99: median {s['lag_p99_median']:.1f} ms, worst interval "
          f"{s['lag_p99_worst']:.1f} ms, {s['lag_intervals_over']}/{s['lag_intervals']} "
          f"intervals at or over {TARGET_LAG * 1000:.0f} ms (p50 median "
          f"{s['lag_p50_median']:.2f} ms, max {s['lag_max']:.1f} ms); target p99 under "
          f"{TARGET_LAG * 1000:.0f} ms in every interval: {met(s['lag_intervals_over'] == 0)}")
    if s["unstolen_intervals"]:
        print(f"  hypervisor steal: the host took {s['steal_median']:.1f}% of the machine's CPU "
              f"time (median interval, most {s['steal_max']:.1f}%); GUI loop lag p99 over the "
              f"wakes it took nothing from: median {s['unstolen_p99_median']:.1f} ms, worst "
              f"{s['unstolen_p99_worst']:.1f} ms, {s['unstolen_intervals_over']}/"
              f"{s['unstolen_intervals']} intervals at or over {TARGET_LAG * 1000:.0f} ms "
              f"(an estimate for an unshared machine; not the target's figure)")
        if s["quiet_intervals"]:
            print(f"  in the {s['quiet_intervals']} intervals where the host took under "
                  f"{QUIET_STEAL:g}% of the CPU time: GUI loop lag p99 worst "
                  f"{s['quiet_p99_worst']:.1f} ms, {s['quiet_intervals_over']} at or over "
                  f"{TARGET_LAG * 1000:.0f} ms")
    rate_ok = abs(s["rate_median"] - args.rate) <= TARGET_RATE * args.rate
    print(f"  tick rate: median {s['rate_median']:,.0f}/s through the engine, "
          f"{s['gui_rate_median']:,.0f}/s reaching the GUI (asked {args.rate:,.0f}/s): "
          f"{met(rate_ok)}; CPU median {s['cpu_median']:.2f} cores (GUI thread "
          f"{s['gui_cpu_median']:.2f})")


def side_by_side(ours: dict, stock: dict) -> None:
    print("\nside by side (stock / ours as a ratio where both are positive):")
    rows = [("RSS after minute 1 (MB)", "rss_minute1"), ("RSS at the end (MB)", "rss_final"),
            ("RSS growth after minute 1 (%)", "rss_growth"),
            ("RSS slope (MB/min)", "rss_slope_mb_min"),
            ("GUI loop lag p99, median interval (ms)", "lag_p99_median"),
            ("GUI loop lag p99, worst interval (ms)", "lag_p99_worst"),
            ("GUI loop lag max (ms)", "lag_max"),
            ("host steal, median interval (% CPU time)", "steal_median"),
            ("lag p99 of unstolen wakes, median (ms)", "unstolen_p99_median"),
            ("ticks/s through the engine (median)", "rate_median"),
            ("ticks/s reaching the GUI (median)", "gui_rate_median"),
            ("process CPU (cores, median)", "cpu_median"),
            ("GUI thread CPU (cores, median)", "gui_cpu_median")]
    print(f"  {'':42}{'ours':>12}{'stock':>12}{'ratio':>9}")
    for label, key in rows:
        a, b = ours.get(key), stock.get(key)
        scale = 100 if key == "rss_growth" else 1
        ratio = f"{b / a:>9.1f}" if a and b and a > 0 and b > 0 else f"{'-':>9}"
        print(f"  {label:42}{_cell(None if a is None else a * scale, 12, 2)}"
              f"{_cell(None if b is None else b * scale, 12, 2)}{ratio}")
    backlog = stock.get("queues", {}).get("gui_backlog")
    if backlog:
        print(f"  stock GUI backlog (tick signals not yet processed): first third "
              f"{backlog['first']:,.0f}, last third {backlog['last']:,.0f}, "
              f"largest {backlog['max']:,}")
