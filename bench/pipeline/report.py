#!/usr/bin/env python3
"""report.py: the table of a bench/run.sh run.

    report.py RESULTS_DIR

Reads RESULTS_DIR/runs.jsonl (one JSON object per run, from collect.py, and
the --check timings) and RESULTS_DIR/meta (key=value lines), prints the
table, and writes it as RESULTS_DIR/table.txt, table.md and table.csv.  A
figure is the median of its runs, with [min-max] when there were several;
the CSV has one line per figure: section, row (its text cells), column,
unit, median, min, max, runs.
"""
import json
import os
import statistics
import sys

STAGES = [("pull", "redisq-pull"), ("esi", "esi-resolve"), ("fan", "stream-fanout"),
          ("f1", "filter1"), ("f2", "filter2"), ("pd", "post-discord"), ("ps", "post-slack")]
SEGMENTS = [("pull", "R2Z2 fake -> redisq-pull"), ("esi", "esi-resolve"),
            ("fanout", "stream-fanout"), ("filter1", "filter1"), ("filter2", "filter2"),
            ("spool", "post-discord: render, spool"), ("queue", "post-discord: queue"),
            ("http", "HTTP -> Discord fake")]


class Fig:
    def __init__(self, values, unit, fmt):
        self.v = [x for x in values if x is not None]
        self.unit, self.fmt = unit, fmt

    def median(self):
        return statistics.median(self.v) if self.v else None

    def __str__(self):
        if not self.v:
            return "-"
        s = self.fmt % self.median()
        if len(self.v) > 1 and min(self.v) != max(self.v):
            s += " [%s-%s]" % (self.fmt % min(self.v), self.fmt % max(self.v))
        return s


class Report:
    def __init__(self):
        self.sections = []

    def section(self, title, head, notes=""):
        self.sections.append((title, head, [], notes))

    def row(self, *cells):
        if any(isinstance(c, Fig) and c.v for c in cells):
            self.sections[-1][2].append(list(cells))

    def text(self):
        out = []
        for title, head, rows, notes in self.sections:
            if not rows:
                continue
            cells = [head] + [[str(c) for c in r] for r in rows]
            w = [max(len(r[i]) for r in cells) for i in range(len(head))]
            out.append(title)
            for r in cells:
                out.append("  " + "  ".join(c.ljust(w[i]) if i == 0 or not head[i]
                                           else c.rjust(w[i]) for i, c in enumerate(r)).rstrip())
            if notes:
                out.append("  " + notes)
            out.append("")
        return "\n".join(out)

    def markdown(self):
        out = []
        for title, head, rows, notes in self.sections:
            if not rows:
                continue
            out += ["**%s**" % title, "", "| " + " | ".join(head) + " |",
                    "|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|"]
            out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
            out += ([""] + [notes] if notes else []) + [""]
        return "\n".join(out)

    def csv(self):
        out = ["section,row,column,unit,median,min,max,runs"]
        q = lambda s: '"%s"' % str(s).replace('"', '""')
        for title, head, rows, _ in self.sections:
            for r in rows:
                name = "; ".join(str(c) for i, c in enumerate(r)
                                 if not isinstance(c, Fig) and c != "-" and (i == 0 or head[i]))
                for i, c in enumerate(r[1:], 1):
                    if isinstance(c, Fig) and c.v:
                        out.append(",".join([q(title), q(name), q(head[i]), q(c.unit),
                                             "%g" % c.median(), "%g" % min(c.v),
                                             "%g" % max(c.v), str(len(c.v))]))
        return "\n".join(out) + "\n"


def pick(runs, **want):
    return [r for r in runs if all(r.get(k) == v for k, v in want.items())]


def fig(rs, f, unit, fmt="%.1f"):
    vals = []
    for r in rs:
        try:
            vals.append(f(r))
        except (KeyError, TypeError, ZeroDivisionError):
            pass
    return Fig(vals, unit, fmt)


def per_mail(r, x):
    return x / r["mails"]


def throughput(rep, runs, mails):
    rep.section("Throughput: the day ({:,} mails) from the fake R2Z2, no rate cap, "
                "to the fake Discord".format(mails),
                ["run", "streams", "cache", "state", "wall s", "mails/s", "posts", "posts/s"],
                "state: where STATE_DIR (cursor, spool, dedupe) lives; tmpfs leaves out "
                "the disk's fdatasync. Cold: Redis flushed, new processes. jq keeps the "
                "pairs of near streams unchecked (filter2 passes them), hence more posts.")
    rows = [("pipeline", dict(group="day", streams=1000, cache="cold", state="tmpfs")),
            ("pipeline", dict(group="day", streams=1000, cache="warm", state="tmpfs")),
            ("pipeline", dict(group="day", streams=1000, cache="warm", state="disk")),
            ("pipeline, mix.py streams", dict(group="daymix", streams=1000, cache="warm",
                                              state="tmpfs")),
            ("pipeline", dict(group="day", streams=10000, cache="cold", state="tmpfs")),
            ("pipeline", dict(group="day", streams=10000, cache="warm", state="tmpfs")),
            ("pipeline, for the baseline", dict(group="baseline", kind="full", streams=100)),
            ("jq matching (baseline)", dict(group="baseline", kind="jq", streams=100)),
            ("pipeline without posters (pairs)", dict(group="split", kind="nopost")),
            ("posters alone, its pairs", dict(group="split", kind="posters")),
            ("floor: redisq-pull, cat x6", dict(kind="cat")),
            ("floor: cat x7 (packages)", dict(kind="pipefloor"))]
    for name, sel in rows:
        rs = pick(runs, **sel)
        if not rs:
            continue
        r0 = rs[0]
        streams = "{:,}".format(r0["streams"]) if isinstance(r0.get("streams"), (int, float)) else "-"
        if sel.get("kind") == "posters":
            streams = "1,000"
        rep.row(name, streams, r0.get("cache", "-"), r0.get("state", "-"),
                fig(rs, lambda r: r["wall"], "s", "%.2f"),
                fig(rs, lambda r: r["mails"] / r["wall"], "mails/s", "%.0f")
                if sel.get("kind") != "posters" else "-",
                fig(rs, lambda r: r["posts"], "posts", "%.0f")
                if "posts" in r0 else fig(rs, lambda r: r["done"]["f2"]["passed"]
                                          + r["done"]["f2"]["matched"], "pairs", "%.0f"),
                fig(rs, lambda r: r["posts"] / r["wall"], "posts/s", "%.0f")
                if "posts" in r0 else "-")


def traffic(rep, runs):
    rep.section("Cache traffic per mail (the day)",
                ["streams", "cache", "ESI req/mail", "by esi-resolve", "by filter2",
                 "Redis cmds/mail"])
    for n in (1000, 10000):
        for c in ("cold", "warm"):
            rs = pick(runs, group="day", streams=n, cache=c, state="tmpfs")
            if rs:
                rep.row("{:,}".format(n), c,
                        fig(rs, lambda r: per_mail(r, r["esi_requests"]), "req/mail", "%.3f"),
                        fig(rs, lambda r: per_mail(r, r["done"]["esi"]["esi_requests"]),
                            "req/mail", "%.3f"),
                        fig(rs, lambda r: per_mail(r, r["done"]["f2"]["esi_requests"]),
                            "req/mail", "%.3f"),
                        fig(rs, lambda r: per_mail(r, r["redis_cmds"]), "cmds/mail", "%.2f"))


def stages(rep, runs):
    cold = ("day 1k cold", dict(group="day", streams=1000, cache="cold", state="tmpfs"))
    cols = [cold,
            ("day 1k warm", dict(group="day", streams=1000, cache="warm", state="tmpfs")),
            ("day 10k warm", dict(group="day", streams=10000, cache="warm", state="tmpfs")),
            ("20/s 1k", dict(group="latency", state="disk"))]
    cpu = [cold, cols[1], cols[2],
           ("day 1k disk", dict(group="day", streams=1000, cache="warm", state="disk"))]
    rep.section("Stages: peak RSS (MiB) and CPU seconds (user+sys) per 1,000 mails",
                ["stage"] + ["RSS " + c for c, _ in cols] + ["CPU " + c for c, _ in cpu],
                "The fakes' own CPU is theirs, not the pipeline's, but they share the "
                "machine's two cores with it. RSS includes the shared library pages "
                "every stage maps (see idle stage above).")
    rss = lambda k: lambda r: r["stages"][k]["rss_kb"] / 1024
    cps = lambda k: lambda r: 1000 * (r["stages"][k]["user"] + r["stages"][k]["sys"]) / r["mails"]
    for k, name in STAGES:
        rep.row(name, *[fig(pick(runs, **s), rss(k), "MiB", "%.1f") for _, s in cols],
                *[fig(pick(runs, **s), cps(k), "CPU s/1000 mails", "%.2f") for _, s in cpu])
    fk = lambda k: lambda r: 1000 * r["fakes_cpu"][k] / r["mails"]
    for k, name in (("zkb", "fake R2Z2"), ("esi", "fake ESI"), ("discord", "fake Discord"),
                    ("redis", "redis-server")):
        rep.row(name, *["-"] * len(cols),
                *[fig(pick(runs, **s), fk(k), "CPU s/1000 mails", "%.2f") for _, s in cpu])


def lat_runs(runs, state):
    return [r for r in pick(runs, group="latency", state=state)
            if r.get("latency", {}).get("posts")]


def latency(rep, runs):
    states = [s for s in ("disk", "tmpfs") if lat_runs(runs, s)]
    if not states:
        return
    L = lambda k: lambda r: r["latency"][k]
    rep.section("Latency at 20 mails/s, 1,000 streams, warm cache: the fake R2Z2 serves "
                "a mail -> the fake Discord receives its post",
                ["state", "runs", "mails", "posts", "p50 ms", "p99 ms", "max ms", "mean ms",
                 "posts > 50 ms %"],
                "Per post; a mail with many matching streams gives many posts.")
    for st in states:
        rs = lat_runs(runs, st)
        rep.row(st, str(len(rs)), fig(rs, L("mails"), "mails", "%.0f"),
                fig(rs, L("posts"), "posts", "%.0f"), fig(rs, L("p50"), "ms"),
                fig(rs, L("p99"), "ms"), fig(rs, L("max"), "ms"), fig(rs, L("mean"), "ms"),
                fig(rs, L("over50"), "%"))
    head = ["segment"]
    for st in states:
        head += ["mean ms " + st, "p50 ms " + st, "p99 ms " + st, "share % " + st]
    rep.section("Latency by stage, from the traces (each segment includes the FIFO into "
                "the stage)", head,
                "share: the segment's mean over the mean total. A segment ends when the "
                "stage begins to write the line; post-discord's when the post is "
                "spooled and when its request starts.")
    S = lambda s, k: lambda r: r["latency"]["segments"][s][k]
    for s, name in SEGMENTS:
        cells = []
        for st in states:
            rs = lat_runs(runs, st)
            cells += [fig(rs, S(s, "mean"), "ms", "%.2f"), fig(rs, S(s, "p50"), "ms", "%.2f"),
                      fig(rs, S(s, "p99"), "ms", "%.2f"), fig(rs, S(s, "share"), "%", "%.1f")]
        rep.row(name, *cells)


def reload(rep, runs):
    rep.section("Reload: SIGHUP to stream-fanout at 20 mails/s (state on tmpfs)",
                ["streams", "--check s", "reloads", "reload ms p50", "reload ms max",
                 "mails held/reload", "longest hold ms", "normal ms"],
                "--check: `stream-fanout --check`, which `insight reload` runs first. "
                "Held: mails that reached stream-fanout before the reload ended and "
                "left after the signal; normal: median time of a mail in stream-fanout.")
    for n in (1000, 10000):
        rs = [r for r in pick(runs, group="reload", streams=n) if r.get("latency")]
        ck = pick(runs, group="check", streams=n)
        if not rs and not ck:
            continue
        L = lambda k: lambda r: r["latency"][k]
        rep.row("{:,}".format(n), fig(ck, lambda r: r["wall"], "s", "%.3f"),
                fig(rs, L("reloads"), "", "%.0f"),
                # the reloads of one run are the samples
                Fig([x for r in rs for x in r["latency"]["reload_ms"]], "ms", "%.1f"),
                fig(rs, L("reload_max"), "ms", "%.1f"),
                fig(rs, L("held_per_reload"), "mails", "%.1f"),
                fig(rs, L("held_max_ms"), "ms", "%.1f"),
                fig(rs, L("fanout_p50_ms"), "ms", "%.2f"))


def goals(rep, runs):
    rep.section("Goals", ["goal", "measured", "met", ""])
    t = fig(pick(runs, group="day", streams=1000, cache="warm", state="tmpfs"),
            lambda r: r["wall"], "s", "%.1f")
    d = fig(pick(runs, group="day", streams=1000, cache="warm", state="disk"),
            lambda r: r["wall"], "s", "%.1f")
    yes = lambda f, lim: "-" if f.median() is None else ("yes" if f.median() < lim else "no")
    rep.row("the day, 1,000 streams, warm, < 30 s (state on tmpfs)", t, yes(t, 30), "")
    rep.row("the day, 1,000 streams, warm, < 30 s (state on disk)", d, yes(d, 30), "")
    for st in ("disk", "tmpfs"):
        p = fig(lat_runs(runs, st), lambda r: r["latency"]["p99"], "ms", "%.1f")
        if p.v:
            rep.row("p99 latency at 20 mails/s < 50 ms (state on %s)" % st, p, yes(p, 50), "")
    for label, sel in (("the day, cold and warm", dict(group="day", streams=1000, state="tmpfs")),
                       ("20/s", dict(group="latency", state="disk"))):
        rs = pick(runs, **sel)
        worst = {}
        for r in rs:
            for k, s in r["stages"].items():
                worst[k] = max(worst.get(k, 0), s["rss_kb"] / 1024)
        over = ", ".join("%s %.0f MiB" % (n, worst[k]) for k, n in STAGES
                         if worst.get(k, 0) >= 20)
        f = Fig([max(worst.values())] if worst else [], "MiB", "%.1f")
        rep.row("every stage < 20 MB RSS, 1,000 streams (%s, worst run), MiB" % label,
                f, yes(f, 20), "over: " + over if over else "")


def main():
    out = sys.argv[1]
    runs = []
    with open(os.path.join(out, "runs.jsonl")) as f:
        runs = [json.loads(line) for line in f if line.strip()]
    meta = []
    if os.path.exists(os.path.join(out, "meta")):
        with open(os.path.join(out, "meta")) as f:
            meta = [line.rstrip("\n").split("=", 1) for line in f if "=" in line]
    day = pick(runs, group="day") or pick(runs, group="floor")
    rep = Report()
    throughput(rep, runs, day[0]["mails"] if day else 0)
    traffic(rep, runs)
    stages(rep, runs)
    latency(rep, runs)
    reload(rep, runs)
    goals(rep, runs)
    bad = sum(r.get("fatal", 0) for r in runs)
    head = "\n".join("%s: %s" % (k, v) for k, v in meta)
    warn = ("\nWARNING: %d fatal log lines in the runs (see runs.jsonl)\n" % bad) if bad else ""
    txt = head + "\n\n" + rep.text() + warn
    md = "\n".join("- %s: %s" % (k, v) for k, v in meta) + "\n\n" + rep.markdown() + warn
    with open(os.path.join(out, "table.txt"), "w") as f:
        f.write(txt)
    with open(os.path.join(out, "table.md"), "w") as f:
        f.write(md)
    with open(os.path.join(out, "table.csv"), "w") as f:
        f.write(rep.csv())
    print(txt)
    print("written: %s/table.{txt,md,csv}, runs.jsonl" % out)


if __name__ == "__main__":
    main()
