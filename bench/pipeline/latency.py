#!/usr/bin/env python3
"""latency.py: follow mails through the stages by their trace lines.

    latency.py latency RUN_DIR SLICE SEQ_START STREAMS_DIR
    latency.py reload RUN_DIR

Every stage run with LOG_LEVEL=debug logs, on stderr (RUN_DIR/NAME.err),
"PROG: debug: trace event=E killmail_id=N [stream=S] t=UNIX" (log_trace in
lib/log.h) as it begins to write a line (event=out): redisq-pull,
esi-resolve and stream-fanout per mail, filter1 and filter2 per pair;
post-discord when a post is spooled (event=spooled) and when its request
starts (event=send); stream-fanout also logs event=reloaded after a SIGHUP.

latency: the fake R2Z2's request log (RUN_DIR/zkb.log: when it served
/ephemeral/SEQ.json; SEQ - SEQ_START is the line of SLICE, which gives the
killmail) and the fake Discord's posts (RUN_DIR/posts.ndjson: when each
arrived, at which webhook, for which killmail) are joined with the traces:
a post of killmail K at webhook W was sent for the pair (K, S) whose stream
S targets W ("$FEED_k" is webhook 1000+k, as run.sh sets).  Per post, the
time from the mail served to the post received, and its segments:

  pull      served by the fake R2Z2 -> written by redisq-pull
  esi       -> written by esi-resolve
  fanout    -> pairs written by stream-fanout
  filter1   -> the pair written by filter1
  filter2   -> the pair written by filter2
  spool     -> rendered and spooled by post-discord
  queue     -> its request started
  http      -> received by the fake Discord

Each segment includes the FIFO into the stage.  Prints one JSON object:
posts, p50/p99/max/mean of the total in ms, and per segment its mean, p50
and p99 in ms and its share of the mean total.

reload: RUN_DIR/hup.sent holds when each SIGHUP was sent; each is paired
with the next event=reloaded of stream-fanout.  A mail is held up by a
reload when esi-resolve wrote it before the reload ended and stream-fanout
wrote its pairs after the signal was sent.  Prints the reload times in ms,
the mails held up, and the longest time such a mail spent in stream-fanout
against the median of all mails.
"""
import json
import math
import os
import re
import statistics
import sys

TRACE = re.compile(r"^([\w.-]+): debug: trace event=(\w+)(?: killmail_id=(\d+))?"
                   r"(?: stream=(\S+))? t=([0-9.]+)")
STAGES = {"redisq-pull": "pull", "esi-resolve": "esi", "stream-fanout": "fanout",
          "filter1": "filter1", "filter2": "filter2", "post-discord": "post"}
SEGMENTS = ["pull", "esi", "fanout", "filter1", "filter2", "spool", "queue", "http"]


def traces(run):
    """{(stage, event): {key: first t}}, key = killmail id or (id, stream)."""
    out = {}
    for name in os.listdir(run):
        if not name.endswith(".err"):
            continue
        with open(os.path.join(run, name), errors="replace") as f:
            for line in f:
                m = TRACE.match(line)
                if not m or m.group(1) not in STAGES:
                    continue
                prog, ev, kid, sid, t = m.groups()
                d = out.setdefault((STAGES[prog], ev), {})
                if kid is None:
                    d.setdefault("_all", []).append(float(t))
                    continue
                key = (int(kid), sid) if sid else int(kid)
                d.setdefault(key, float(t))
    return out


def pct(v, q):
    """Nearest rank."""
    s = sorted(v)
    return s[max(0, math.ceil(q * len(s)) - 1)] if s else None


def ms(x):
    return round(x * 1000, 2)


def hooks(streams):
    """stream id -> webhook id, from the "$FEED_k" targets."""
    h = {}
    for name in os.listdir(streams):
        if not name.endswith(".json"):
            continue
        with open(os.path.join(streams, name)) as f:
            s = json.load(f)
        for t in s.get("targets", []):
            m = re.match(r"^\$FEED_(\d+)$", str(t.get("discord", "")))
            if m:
                h[name[:-5]] = str(1000 + int(m.group(1)))
    return h


def latency(run, slice_path, seq_start, streams):
    with open(slice_path) as f:
        ids = [json.loads(line)["killmail_id"] for line in f]
    served = {}
    with open(os.path.join(run, "zkb.log")) as f:
        for line in f:
            r = json.loads(line)
            m = re.match(r"^/ephemeral/(\d+)\.json", r.get("path", ""))
            if m and r.get("status") == 200:
                i = int(m.group(1)) - seq_start
                if 0 <= i < len(ids):
                    served.setdefault(ids[i], r["t"])
    arrived = {}
    with open(os.path.join(run, "posts.ndjson")) as f:
        for line in f:
            p = json.loads(line)
            m = re.search(r"kill/(\d+)/", json.dumps(p.get("body")))
            if m:
                arrived.setdefault((str(p["webhook"]), int(m.group(1))), p["t"])
    tr = traces(run)
    hook = hooks(streams)
    g = lambda st, ev: tr.get((st, ev), {})
    total, seg, lost = [], {s: [] for s in SEGMENTS}, 0
    for (kid, sid), t_send in g("post", "send").items():
        w = hook.get(sid)
        pts = [served.get(kid), g("pull", "out").get(kid), g("esi", "out").get(kid),
               g("fanout", "out").get(kid), g("filter1", "out").get((kid, sid)),
               g("filter2", "out").get((kid, sid)), g("post", "spooled").get((kid, sid)),
               t_send, arrived.get((w, kid))]
        if None in pts:
            lost += 1
            continue
        total.append(pts[-1] - pts[0])
        for i, s in enumerate(SEGMENTS):
            seg[s].append(pts[i + 1] - pts[i])
    if not total:
        return {"posts": 0, "unmatched": lost, "arrived": len(arrived)}
    mean = statistics.fmean(total)
    return {
        "posts": len(total), "unmatched": lost, "arrived": len(arrived),
        "mails": len(served),
        "p50": ms(pct(total, 0.50)), "p99": ms(pct(total, 0.99)),
        "over50": round(100 * sum(1 for x in total if x > 0.050) / len(total), 1),
        "max": ms(max(total)), "mean": ms(mean),
        "segments": {s: {"mean": ms(statistics.fmean(v)), "p50": ms(pct(v, 0.5)),
                         "p99": ms(pct(v, 0.99)),
                         "share": round(100 * statistics.fmean(v) / mean, 1)}
                     for s, v in seg.items()},
    }


def reload(run):
    with open(os.path.join(run, "hup.sent")) as f:
        sent = [float(x) for x in f.read().split()]
    tr = traces(run)
    done = sorted(tr.get(("fanout", "reloaded"), {}).get("_all", []))
    esi, fan = tr.get(("esi", "out"), {}), tr.get(("fanout", "out"), {})
    inside = {k: fan[k] - esi[k] for k in fan if k in esi}
    normal = statistics.median(inside.values()) if inside else 0
    times, held, longest = [], 0, 0.0
    for s in sent:
        end = next((d for d in done if d >= s), None)
        if end is None:
            continue
        times.append(end - s)
        for k, d in inside.items():
            if esi[k] < end and fan[k] > s:
                held += 1
                longest = max(longest, d)
    return {
        "reloads": len(times), "sent": len(sent),
        "reload_ms": [ms(x) for x in times],
        "reload_p50": ms(statistics.median(times)) if times else None,
        "reload_max": ms(max(times)) if times else None,
        "held": held, "held_per_reload": round(held / len(times), 1) if times else None,
        "held_max_ms": ms(longest), "fanout_p50_ms": ms(normal), "mails": len(inside),
    }


def main():
    a = sys.argv[1:]
    if len(a) == 5 and a[0] == "latency":
        r = latency(a[1], a[2], int(a[3]), a[4])
    elif len(a) == 2 and a[0] == "reload":
        r = reload(a[1])
    else:
        sys.exit("usage: latency.py latency RUN_DIR SLICE SEQ_START STREAMS_DIR | reload RUN_DIR")
    print(json.dumps(r, sort_keys=True))


if __name__ == "__main__":
    main()
