-- Stories continue across restarts: each article's story-grouping terms and its time on
-- the story axis. Version 1 articles keep NULL here and simply restore no story state.
ALTER TABLE articles ADD COLUMN story_terms BLOB;
ALTER TABLE articles ADD COLUMN story_at INTEGER;
