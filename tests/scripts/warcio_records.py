"""Prints what warcio (the Webrecorder reader) reads of WARC files, one JSON object a
record: offset, type, record id, target URI, Content-Length, and for responses the HTTP
status and the body as warcio decodes it (chunking and content coding undone), as
latin-1 text so that every byte survives JSON. tests/warc.rs compares newsriver's reader
with it."""

import json
import sys

from warcio.archiveiterator import ArchiveIterator

for path in sys.argv[1:]:
    with open(path, "rb") as f:
        records = ArchiveIterator(f)
        for rec in records:
            h = rec.rec_headers
            out = {
                "file": path,
                "type": rec.rec_type,
                "id": h.get_header("WARC-Record-ID"),
                "uri": h.get_header("WARC-Target-URI"),
                "length": int(h.get_header("Content-Length")),
            }
            if rec.rec_type == "response" and rec.http_headers is not None:
                out["status"] = int(rec.http_headers.get_statuscode())
                out["body"] = rec.content_stream().read().decode("latin-1")
            # Asked after the body is read: asked before, warcio reads the body as empty.
            out["offset"] = records.get_record_offset()
            print(json.dumps(out, sort_keys=True))
