#!/usr/bin/env python3
"""Runs trafilatura over the development sets in ../shared/eval and writes what it extracts,
one JSON object per page, so the `eval` bench binary scores it with the same code and in the
same run as newsriver (see `make eval` and `make bench-compare`).

    python3 crates/bench/scripts/trafilatura_eval.py --eval ../shared/eval --out target/eval/trafilatura.jsonl

Each line: {"set", "id", "text", "title", "byline", "published", "site_name", "language", "ms"}.
Every page is passed as its bytes, so trafilatura applies its own charset detection (as a
user handing it fetched pages would) and `ms` includes it; with_metadata=True, as newsriver
extracts metadata too. Timing as evalsets.py says: best of three loops over each set.
"""
import trafilatura

import evalsets


def extract(raw, url):
    return trafilatura.bare_extraction(raw, url=url, with_metadata=True)


def fields(doc):
    return {"text": doc.text or "", "title": doc.title, "byline": doc.author,
            "published": doc.date, "site_name": doc.sitename, "language": doc.language}


if __name__ == "__main__":
    evalsets.main("trafilatura", trafilatura.__version__, extract, fields, __doc__)
