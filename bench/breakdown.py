#!/usr/bin/env python3
"""Where a `rekey run` spent its time, from its own `--json` events (one JSON object per line).

Usage: bench/breakdown.py EVENTS.jsonl

Prints the wall time of each (phase, wave) group, then the work by kind: how many steps, the
time the lanes spent in them (summed over hosts, so it can exceed the wall time when hosts run
side by side), and that time per host. A host's pushes of one group run as one command on the
host (they begin together), so they are counted once, as the command's time. Key generation
starts in the background when the run does, so "keys, certificates, CRL" is the time the run
still waited for it, not the time it took.
"""
import json
import sys
from datetime import datetime

KINDS = [
    ("connect and authenticate", {"connect"}),
    ("preflight reads and checks", {"check-ca", "check-file", "probe", "check-client-config"}),
    ("keys, certificates, CRL (waited for)",
     {"generate-ca", "issue-cert", "revoke", "sign-crl", "revoke-ca"}),
    ("file transfer and remote commands", {"push-file"}),
    ("client configuration edits", {"edit-config"}),
    ("reload wait", {"reload", "client-reload"}),
    ("verification", {"verify", "check-refused", "client-verify"}),
    ("record", {"record"}),
]


def at(event):
    return datetime.strptime(event["at"], "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()


def main(path):
    events = [json.loads(line) for line in open(path, encoding="utf-8") if line.startswith("{")]
    events = [e for e in events if "event" in e and "at" in e]
    if not events:
        sys.exit("breakdown.py: no events in " + path)
    start, end = at(events[0]), at(events[-1])
    hosts = {e["host"] for e in events if e.get("host")}
    print("rekey run: %.2f s wall, %d hosts" % (end - start, len(hosts)))
    groups = [e for e in events if e["event"] in ("group-begin", "run-end")]
    print("  by phase (wall): " + ", ".join(
        "%s%s %.2f s" % (g["phase"], " w%d" % g["wave"] if g.get("wave") else "", at(n) - at(g))
        for g, n in zip(groups, groups[1:])))
    begun, done = {}, []
    for e in events:
        if e["event"] == "step-begin":
            begun[e["step"]] = e
        elif e["event"] in ("step-done", "step-failed") and e["step"] in begun:
            b = begun.pop(e["step"])
            done.append((e["action"], e.get("host"), at(b), at(e)))
    # A host's pushes of one group that ran as one command overlap: one span, counted once.
    spans = []
    for action, host, first, last in sorted(done, key=lambda d: (d[0], d[1] or "", d[2])):
        if spans and action == "push-file" and spans[-1][0] == action and \
                spans[-1][1] == host and first < spans[-1][3]:
            a, h, f, l, n = spans[-1]
            spans[-1] = (a, h, f, max(l, last), n + 1)
        else:
            spans.append((action, host, first, last, 1))
    print("  %-38s %6s %9s %12s %10s" % ("work", "steps", "commands", "lane-seconds",
                                         "per host"))
    for name, actions in KINDS:
        mine = [sp for sp in spans if sp[0] in actions]
        if not mine:
            continue
        steps = sum(sp[4] for sp in mine)
        busy = sum(sp[3] - sp[2] for sp in mine)
        per_host = busy / len(hosts) * 1000 if hosts else 0
        print("  %-38s %6d %9d %10.2f s %7.1f ms" % (name, steps, len(mine), busy, per_host))

if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
