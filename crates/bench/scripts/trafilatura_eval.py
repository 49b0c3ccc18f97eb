#!/usr/bin/env python3
"""Runs trafilatura over the development sets in ../shared/eval and writes what it extracts,
one JSON object per page, so the `eval` bench binary scores it with the same code and in the
same run as newsriver (see `make eval`).

    python3 crates/bench/scripts/trafilatura_eval.py --eval ../shared/eval --out target/eval/trafilatura.jsonl

Each line: {"set", "id", "text", "title", "byline", "published", "site_name", "language", "ms"}.
`ms` is the wall time of the extraction call alone. The AEB pages are passed as decoded text
(they are UTF-8, as the benchmark says); the other sets as bytes, so trafilatura applies its
own charset detection, as a user handing it fetched pages would.
"""
import argparse
import gzip
import json
import os
import sys
import time

import trafilatura


def aeb_pages(root):
    truth = json.load(open(os.path.join(root, "aeb", "ground-truth.json"), encoding="utf-8"))
    for pid in sorted(truth):
        raw = gzip.open(os.path.join(root, "aeb", "html", f"{pid}.html.gz")).read()
        yield "aeb", pid, truth[pid]["url"], raw.decode("utf-8", "replace")


def readability_pages(root):
    base = os.path.join(root, "readability", "pages")
    for name in sorted(os.listdir(base)):
        path = os.path.join(base, name, "source.html.gz")
        if os.path.exists(path):
            yield "readability", name, f"http://fakehost/test/{name}.html", gzip.open(path).read()


def trafilatura_pages(root):
    base = os.path.join(root, "trafilatura")
    entries = json.load(open(os.path.join(base, "evaldata.json"), encoding="utf-8"))
    for url in sorted(entries):
        path = os.path.join(base, "html", entries[url]["file"] + ".gz")
        if os.path.exists(path):
            yield "trafilatura", url, url, gzip.open(path).read()


SETS = {"aeb": aeb_pages, "readability": readability_pages, "trafilatura": trafilatura_pages}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--eval", default="../shared/eval", help="folder holding the dev sets")
    ap.add_argument("--out", required=True, help="JSON-lines file to write")
    ap.add_argument("--sets", default="aeb,readability,trafilatura")
    args = ap.parse_args()
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    n = 0
    with open(args.out, "w", encoding="utf-8") as out:
        for name in args.sets.split(","):
            for set_name, pid, url, html in SETS[name](args.eval):
                t = time.perf_counter()
                doc = trafilatura.bare_extraction(html, url=url, with_metadata=True)
                ms = (time.perf_counter() - t) * 1e3
                rec = {"set": set_name, "id": pid, "ms": ms, "text": "", "title": None,
                       "byline": None, "published": None, "site_name": None, "language": None}
                if doc is not None:
                    rec.update(text=doc.text or "", title=doc.title, byline=doc.author,
                               published=doc.date, site_name=doc.sitename, language=doc.language)
                out.write(json.dumps(rec, ensure_ascii=False) + "\n")
                n += 1
    print(f"trafilatura {trafilatura.__version__}: {n} pages -> {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
