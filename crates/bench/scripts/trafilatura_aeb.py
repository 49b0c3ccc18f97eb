#!/usr/bin/env python3
"""Runs trafilatura on the AEB pages with the scoring and timing of the `aeb` bench binary,
so the two can be compared side by side in one run (see `make bench-compare`).

    pip install trafilatura==2.0.0
    python3 crates/bench/scripts/trafilatura_aeb.py ../shared/eval/aeb
"""
import gzip, json, re, statistics, sys, time
from collections import Counter

import trafilatura

WORD = re.compile(r"\w+")


def shingles(text):
    tokens = WORD.findall(text or "")
    if not tokens:
        return Counter()
    if len(tokens) < 4:
        return Counter([tuple(tokens)])
    return Counter(tuple(tokens[i:i + 4]) for i in range(len(tokens) - 3))


def score(expected, predicted):
    e, p = shingles(expected), shingles(predicted)
    tp = sum(min(c, e[k]) for k, c in p.items())
    fp, fn = sum(p.values()) - tp, sum(e.values()) - tp
    s = tp + fp + fn
    if s == 0:
        return 0.0, 0.0
    tp, fp, fn = tp / s, fp / s, fn / s
    prec = tp / (tp + fp) if tp + fp else 0.0
    rec = tp / (tp + fn) if tp + fn else 0.0
    return prec, rec


def main(data):
    truth = json.load(open(f"{data}/ground-truth.json"))
    pages = []
    for pid in sorted(truth):
        html = gzip.open(f"{data}/html/{pid}.html.gz").read().decode("utf-8", "replace")
        pages.append((pid, truth[pid]["url"], html, truth[pid]["articleBody"]))
    times, precs, recs = [], [], []
    for pid, url, html, expected in pages:
        t = time.perf_counter()
        text = trafilatura.extract(html, url=url) or ""
        times.append((time.perf_counter() - t) * 1e3)
        p, r = score(expected, text)
        precs.append(p)
        recs.append(r)
    P, R = statistics.mean(precs), statistics.mean(recs)
    F = 2 * P * R / (P + R) if P + R else 0.0
    times.sort()
    total = sum(times)
    mb = sum(len(h.encode()) for _, _, h, _ in pages) / 1e6
    print(f"trafilatura {trafilatura.__version__}: {len(pages)} pages")
    print(f"  precision {P:.4f}  recall {R:.4f}  F1 {F:.4f}")
    print(f"  extract: total {total:.0f} ms, median {times[len(times)//2]:.2f} ms/page, "
          f"p99 {times[round((len(times)-1)*0.99)]:.2f} ms/page, {len(pages)/(total/1e3):.0f} pages/s, "
          f"{mb/(total/1e3):.1f} MB/s")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/eval/aeb")
