-- WARC records a backfill (`newsriver backfill --warc`) has finished with, by their
-- WARC-Record-ID: a re-run skips them, so an interrupted backfill resumes where it
-- stopped. Written in the transaction that records the record's outcome (published,
-- duplicate, filtered, failed), so a record counts as done exactly when its article does.
-- Databases of older versions have no such rows: every record of a WARC is new to them.
CREATE TABLE warc_records (
    record_id TEXT PRIMARY KEY,
    -- The file it was read from, as given on the command line ("-" for standard input),
    -- and where in it (the record's gzip member): for people looking at the table.
    file TEXT NOT NULL,
    record_offset INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    done_at INTEGER NOT NULL
);
