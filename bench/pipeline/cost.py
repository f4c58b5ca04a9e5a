#!/usr/bin/env python3
"""cost.py: what a feature costs, from the interleaved runs of bench/run.sh.

    cost.py metrics TSV   lines "INTERVAL RUN CPU WRITES"
    cost.py marks TSV     lines "day|latency MARKS RUN FIGURE CPU WRITES"

CPU is the seven stages' user+sys seconds in the run, WRITES the metrics
files they wrote, FIGURE the day's wall seconds or the p99 latency in ms.
Medians of the runs, [min-max] beside them.  Nothing is asserted."""
import statistics
import sys


def fig(xs, fmt="%.3f"):
    xs = sorted(xs)
    if not xs:
        return "-"
    m = fmt % statistics.median(xs)
    return m if len(xs) == 1 else "%s [%s-%s]" % (m, fmt % xs[0], fmt % xs[-1])


def rows(path):
    with open(path) as f:
        return [l.split() for l in f if l.strip()]


def metrics(path):
    by = {}
    for iv, _, cpu, w in rows(path):
        by.setdefault(iv, []).append((float(cpu), int(w)))
    off, dep, fast = by.get("0", []), by.get("5", []), by.get("0.05", [])
    print("metrics files: the seven stages' CPU seconds for the warm day, 1,000 streams")
    for name, rs in (("off (METRICS_INTERVAL=0)", off), ("every 5 s (as deployed)", dep),
                     ("every 0.05 s", fast)):
        print("  %-26s CPU %s s, files written %s" % (
            name, fig([c for c, _ in rs]), fig([w for _, w in rs], "%.0f")))
    if not (off and dep and fast):
        return
    c_off = statistics.median(c for c, _ in off)
    c_fast = statistics.median(c for c, _ in fast)
    w_fast = statistics.median(w for _, w in fast) - statistics.median(w for _, w in off)
    c_dep = statistics.median(c for c, _ in dep)
    w_dep = statistics.median(w for _, w in dep)
    if w_fast <= 0 or c_dep <= 0:
        print("  no writes counted: no estimate")
        return
    per = (c_fast - c_off) / w_fast
    print("  one write costs %.3f ms of CPU ((CPU at 0.05 s - CPU off) / files)" % (per * 1000))
    print("  as deployed: %d files, %.4f s, %.3f %% of the stages' CPU" % (
        w_dep, per * w_dep, 100 * per * w_dep / c_dep))


def marks(path):
    by = {}
    for what, m, _, figure, cpu, _ in rows(path):
        by.setdefault((what, m), []).append((float(figure), float(cpu)))
    print("commit marks: with (redisq-pull --marks, post-slack -C) and without")
    for what, unit in (("day", "wall s"), ("latency", "p99 ms")):
        on, off = by.get((what, "1"), []), by.get((what, "0"), [])
        print("  %-8s with: %s %s, CPU %s s; without: %s %s, CPU %s s" % (
            what, fig([f for f, _ in on], "%.2f"), unit, fig([c for _, c in on], "%.2f"),
            fig([f for f, _ in off], "%.2f"), unit, fig([c for _, c in off], "%.2f")))
        if on and off:
            a = statistics.median(f for f, _ in on)
            b = statistics.median(f for f, _ in off)
            ca = statistics.median(c for _, c in on)
            cb = statistics.median(c for _, c in off)
            print("  %-8s the marks cost %+.1f %% (%s), %+.1f %% (CPU)" % (
                what, 100 * (a - b) / b if b else float("nan"), unit,
                100 * (ca - cb) / cb if cb else float("nan")))


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("metrics", "marks"):
        sys.exit("usage: cost.py metrics|marks TSV")
    {"metrics": metrics, "marks": marks}[sys.argv[1]](sys.argv[2])


if __name__ == "__main__":
    main()
