#!/usr/bin/env python3
"""gen-records.py: deterministic event-log records for the demo and the benchmarks.

Writes N records, one per line, as JSON objects (--format json) or as Python dict
literals the way Python's repr() prints them (--format pydict), to stdout (pipe it
into gzip). The same --seed and --records give byte-identical output. Records are
shaped like the event logs the filter is for: nested user objects, optional and null
fields, lists, unicode and characters that need CSV quoting.
"""
import argparse
import json
import random
import sys

EVENTS = ["view", "click", "purchase", "refund", "signup", "login", "subscription_renew", "logout"]
COUNTRIES = ["DE", "FR", "US", "GB", "ES", "IT", "NL", "PL", "SE", "JP", "BR", "IN"]
FIRST = ["Anna", "Jürgen", "Zoë", "O'Brien", "Li", "Émile", "Søren", "Chloé", "Ana \"Nina\"", "Kim, Jr."]
LAST = ["Müller", "Smith", "García", "Nakamura", "Dubois", "Kowalski", "Rossi", "Öztürk"]
TAGS = ["new", "promo", "mobile", "web", "beta", "vip", "retry", "eu", "a/b"]
WORDS = ["fast", "slow", "ok", "great 👍", "line\nbreak", "tab\there", "quote \"x\"", "back\\slash", "ünïcödé"]


def record(rng, i):
    r = {
        "id": "ev-%09d" % i,
        "seq": i,
        "ts": "2026-%02d-%02dT%02d:%02d:%02dZ" % (rng.randint(1, 12), rng.randint(1, 28),
                                                  rng.randint(0, 23), rng.randint(0, 59),
                                                  rng.randint(0, 59)),
        "event_type": rng.choice(EVENTS),
    }
    x = rng.random()
    if x < 0.30:
        r["amount"] = round(rng.uniform(0, 500), 2)
    elif x < 0.33:
        r["amount"] = None
    elif x < 0.40:
        r["amount"] = rng.randint(-50, 1000)
    if rng.random() > 0.03:
        u = {"id": rng.randint(1, 10**7),
             "name": "%s %s" % (rng.choice(FIRST), rng.choice(LAST)),
             "verified": rng.random() < 0.7,
             "address": {"city": rng.choice(["Berlin", "Paris", "Austin", "Kyoto"]),
                         "geo": {"lat": round(rng.uniform(-90, 90), 4),
                                 "lon": round(rng.uniform(-180, 180), 4)}}}
        if rng.random() > 0.03:
            u["country"] = rng.choice(COUNTRIES)
        r["user"] = u
    r["tags"] = rng.sample(TAGS, rng.randint(0, 4))
    r["score"] = round(rng.random(), 6)
    r["message"] = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 8)))
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--records", type=int, default=100000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--start", type=int, default=0, help="first record number (ids)")
    ap.add_argument("--format", choices=["json", "pydict"], default="json")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    out = sys.stdout
    lines = []
    for i in range(a.start, a.start + a.records):
        r = record(rng, i)
        lines.append(json.dumps(r, ensure_ascii=(i % 10 == 0)) if a.format == "json" else repr(r))
        if len(lines) == 4096:
            out.write("\n".join(lines) + "\n")
            lines = []
    if lines:
        out.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
