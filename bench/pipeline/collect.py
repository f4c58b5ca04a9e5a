#!/usr/bin/env python3
"""collect.py: one run of bench/run.sh as one JSON line.

    collect.py RUN_DIR key=value...

RUN_DIR holds, per stage NAME, NAME.time (GNU time: "%e %U %S %M", after a
"Command exited with non-zero status N" line when it failed) and NAME.err
(its stderr); zkb.stats, esi.stats, dis.stats (the fakes' /_stats after
the run); latency.json when bench/pipeline/latency.py ran.  The key=value
words come from run.sh: t0, t1 (wall clock around the run), redis0, redis1
(Redis total_commands_processed), cpu0, cpu1 (CPU seconds of the fakes zkb,
zl, esi, discord and of redis-server, space separated), and labels.
"""
import json
import os
import re
import sys

FAKES = ["zkb", "zl", "esi", "discord", "redis"]
NUM = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")


def num(v):
    if not NUM.match(v):
        return v
    return float(v) if "." in v else int(v)


def stage_time(path):
    """wall, user, sys seconds, peak RSS in KiB, exit status."""
    st = 0
    last = None
    with open(path) as f:
        for line in f:
            m = re.match(r"Command (exited with non-zero status|terminated by signal) (\d+)", line)
            if m:
                st = int(m.group(2)) + (128 if "signal" in m.group(1) else 0)
            elif line.strip():
                last = line.split()
    if not last or len(last) < 4:
        return None
    e, u, s, rss = last[:4]
    return {"wall": float(e), "user": float(u), "sys": float(s), "rss_kb": int(rss), "exit": st}


def done_line(path):
    """The key=value words of the stage's last "done" line, and the count
    of warnings and fatal lines."""
    kv, warn, fatal = {}, 0, 0
    with open(path, errors="replace") as f:
        for line in f:
            if ": warning: " in line:
                warn += 1
            elif ": fatal: " in line:
                fatal += 1
            elif ": info: done " in line:
                kv = {k: num(v) for k, v in re.findall(r"(\w+)=(\S+)", line)}
    return kv, warn, fatal


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def main():
    r = sys.argv[1]
    rec = {}
    for a in sys.argv[2:]:
        k, _, v = a.partition("=")
        rec[k] = num(v)
    rec["wall"] = round(float(rec.pop("t1")) - float(rec.pop("t0")), 3)
    rec["redis_cmds"] = int(rec.pop("redis1")) - int(rec.pop("redis0"))
    c0 = [float(x) for x in str(rec.pop("cpu0")).split()]
    c1 = [float(x) for x in str(rec.pop("cpu1")).split()]
    rec["fakes_cpu"] = {k: round(b - a, 2) for k, a, b in zip(FAKES, c0, c1) if b >= a}
    rec["stages"], rec["done"], rec["warnings"], rec["fatal"] = {}, {}, 0, 0
    for name in sorted(os.listdir(r)):
        base, ext = os.path.splitext(name)
        if ext == ".time":
            t = stage_time(os.path.join(r, name))
            if t:
                rec["stages"][base] = t
        elif ext == ".err":
            kv, w, f = done_line(os.path.join(r, name))
            if kv:
                rec["done"][base] = kv
            rec["warnings"] += w
            rec["fatal"] += f
    z, e, d = (load(os.path.join(r, n)) for n in ("zkb.stats", "esi.stats", "dis.stats"))
    rec["zkb_requests"] = z.get("requests") if z else None
    rec["esi_requests"] = e.get("requests") if e else None
    rec["esi_routes"] = e.get("routes") if e else None
    if d and rec.get("kind") not in ("cat", "pipefloor", "nopost"):
        rec["posts"] = d.get("posts")
        rec["discord_429"] = (d.get("status") or {}).get("429", 0)
    lat = load(os.path.join(r, "latency.json"))
    if lat:
        rec["latency"] = lat
    print(json.dumps(rec, sort_keys=True))


if __name__ == "__main__":
    main()
