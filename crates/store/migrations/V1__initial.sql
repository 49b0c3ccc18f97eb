-- Schema version 1: feed poll state, accepted-but-unfinished work, what ended, and the
-- articles dedup remembers (hashes and signature only).
CREATE TABLE feeds (
    url TEXT PRIMARY KEY,
    fetch_url TEXT,
    interval_secs INTEGER,
    retired INTEGER NOT NULL DEFAULT 0,
    title TEXT,
    etag TEXT,
    last_modified TEXT,
    next_poll_at INTEGER,
    last_polled_at INTEGER,
    last_success_at INTEGER,
    last_status TEXT,
    error_count INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
);
CREATE TABLE pending (
    canonical_url TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    source TEXT NOT NULL,
    hints TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    enqueued_at INTEGER NOT NULL
);
CREATE TABLE seen (
    canonical_url TEXT PRIMARY KEY,
    article_id TEXT,
    outcome TEXT NOT NULL,
    seen_at INTEGER NOT NULL
);
CREATE INDEX seen_at ON seen(seen_at);
CREATE TABLE articles (
    id TEXT PRIMARY KEY,
    canonical_url TEXT NOT NULL,
    content_hash TEXT,
    signature BLOB,
    story_id TEXT NOT NULL,
    stored_at INTEGER NOT NULL
);
CREATE INDEX articles_stored_at ON articles(stored_at);
