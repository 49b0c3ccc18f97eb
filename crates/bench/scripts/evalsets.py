"""The dev sets of ../shared/eval as raw bytes, and the timing harness the peer scripts
(trafilatura_eval.py, resiliparse_eval.py) share, so every peer is measured by the rule the
`eval` binary applies to newsriver: from the page's bytes (charset decoding included), the
total wall time of a loop over all pages of a set, best of three loops.

Each output line: {"set", "id", "text", "title", "byline", "published", "site_name",
"language", "ms"}, `ms` the page's extraction time in the best loop (the `eval` binary sums
them over the pages it scores, so every extractor's pages/s covers the same pages).
"""
import argparse
import gzip
import json
import os
import sys
import time


def aeb_pages(root):
    truth = json.load(open(os.path.join(root, "aeb", "ground-truth.json"), encoding="utf-8"))
    for pid in sorted(truth):
        raw = gzip.open(os.path.join(root, "aeb", "html", f"{pid}.html.gz")).read()
        yield pid, truth[pid]["url"], raw


def readability_pages(root):
    base = os.path.join(root, "readability", "pages")
    for name in sorted(os.listdir(base)):
        path = os.path.join(base, name, "source.html.gz")
        if os.path.exists(path):
            yield name, f"http://fakehost/test/{name}.html", gzip.open(path).read()


def trafilatura_pages(root):
    base = os.path.join(root, "trafilatura")
    entries = json.load(open(os.path.join(base, "evaldata.json"), encoding="utf-8"))
    for url in sorted(entries):
        path = os.path.join(base, "html", entries[url]["file"] + ".gz")
        if os.path.exists(path):
            yield url, url, gzip.open(path).read()


SETS = {"aeb": aeb_pages, "readability": readability_pages, "trafilatura": trafilatura_pages}

EMPTY = {"text": "", "title": None, "byline": None, "published": None, "site_name": None,
         "language": None}


def main(tool, version, extract, fields, doc):
    """Runs `extract(raw_bytes, url)` over every page of the chosen sets, `--loops` times per
    set, and writes the best loop's outputs (`fields(result)` gives the record's fields)."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--eval", default="../shared/eval", help="folder holding the dev sets")
    ap.add_argument("--out", required=True, help="JSON-lines file to write")
    ap.add_argument("--sets", default="aeb,readability,trafilatura")
    ap.add_argument("--loops", type=int, default=3, help="timed loops per set (best kept)")
    args = ap.parse_args()
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    n = 0
    with open(args.out, "w", encoding="utf-8") as out:
        for name in args.sets.split(","):
            # Read and gunzipped before any clock starts: the loops time extraction only.
            pages = list(SETS[name](args.eval))
            best = None
            for _ in range(max(args.loops, 1)):
                results, ms = [], []
                start = time.perf_counter()
                for _pid, url, raw in pages:
                    t = time.perf_counter()
                    results.append(extract(raw, url))
                    ms.append((time.perf_counter() - t) * 1e3)
                total = time.perf_counter() - start
                if best is None or total < best[0]:
                    best = (total, results, ms)
            total, results, ms = best
            for (pid, _url, _raw), result, page_ms in zip(pages, results, ms):
                rec = {"set": name, "id": pid, "ms": page_ms, **EMPTY}
                if result is not None:
                    rec.update(fields(result))
                out.write(json.dumps(rec, ensure_ascii=False) + "\n")
                n += 1
            print(f"{tool} {version}: {name} {len(pages)} pages, best of {max(args.loops, 1)} "
                  f"loops {total:.3f} s: {len(pages) / total:.0f} pages/s", file=sys.stderr)
    print(f"{tool} {version}: {n} pages -> {args.out}", file=sys.stderr)
