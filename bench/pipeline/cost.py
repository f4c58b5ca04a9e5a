#!/usr/bin/env python3
"""cost.py: what the metrics files and the commit marks cost (bench/run.sh).

    cost.py metrics TSV   lines "CPU WRITES N US BYTES WALL"
    cost.py marks TSV     lines "day|latency MARKS RUN FIGURE CPU WRITES"

CPU is the seven stages' user+sys seconds in the run, WRITES the metrics
files they wrote, N US BYTES what metrics-cost printed (writes, CPU
microseconds a write, the file's size), WALL and FIGURE the day's wall
seconds, or the p99 latency in ms.
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
    rs = [(float(c), int(w), float(us), int(size), float(wall))
          for c, w, _, us, size, wall in rows(path)]
    if not rs:
        return
    cpu, writes = [r[0] for r in rs], [r[1] for r in rs]
    us, size, wall = [r[2] for r in rs], [r[3] for r in rs], [r[4] for r in rs]
    c, w, u = statistics.median(cpu), statistics.median(writes), statistics.median(us)
    print("metrics files, as deployed (a file every 5 s a stage):")
    print("  the warm day, 1,000 streams: %s s, the seven stages' CPU %s s, files written %s" % (
        fig(wall, "%.1f"), fig(cpu, "%.2f"), fig(writes, "%.0f")))
    print("  one write (metrics-cost, %s bytes, 97 webhooks): %s us of CPU" % (
        fig(size, "%.0f"), fig(us, "%.1f")))
    print("  the day's files: %.4f s, %.3f %% of the stages' CPU" % (w * u / 1e6, 100 * w * u / 1e6 / c))
    print("  in real time: seven files every 5 s cost %.3f ms of CPU a second (%.4f %% of a core)" % (
        7 * u / 5 / 1e3, 100 * 7 * u / 5 / 1e6))


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
