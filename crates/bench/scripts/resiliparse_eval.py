#!/usr/bin/env python3
"""Runs resiliparse's main-content extraction over the development sets in ../shared/eval and
writes what it extracts, one JSON object per page, so the `eval` bench binary scores it with
the same code and in the same run as newsriver (see `make bench-compare`).

    python3 crates/bench/scripts/resiliparse_eval.py --eval ../shared/eval --out target/eval/resiliparse.jsonl

Each line: {"set", "id", "text", "ms"} and the metadata fields, all null: resiliparse's
html2text gives text only. Per page, from the raw bytes: detect_encoding + bytes_to_str
(resiliparse's own charset handling), then extract_plain_text(html, main_content=True);
`ms` covers all three. Timing as evalsets.py says: best of three loops over each set.
"""
import importlib.metadata

from resiliparse.extract.html2text import extract_plain_text
from resiliparse.parse.encoding import bytes_to_str, detect_encoding

import evalsets


def extract(raw, url):
    html = bytes_to_str(raw, detect_encoding(raw) or "utf-8")
    return extract_plain_text(html, main_content=True)


def fields(text):
    return {"text": text or ""}


if __name__ == "__main__":
    evalsets.main("resiliparse", importlib.metadata.version("resiliparse"), extract, fields,
                  __doc__)
