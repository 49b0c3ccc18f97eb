-- What `newsriver stories` lists; older articles show without a title.
ALTER TABLE articles ADD COLUMN title TEXT;
ALTER TABLE articles ADD COLUMN language TEXT;
ALTER TABLE articles ADD COLUMN site TEXT;

-- Every dispatch asks for the oldest due items: walking this index in order finds them
-- without sorting the backlog (a 200,000-item burst sorted it whole on each dispatch).
-- It came during version 3 without a version of its own, and the build before refinery
-- created it on every open, so a version 3 database may or may not have it yet: hence
-- IF NOT EXISTS. Every version 4 database has it.
CREATE INDEX IF NOT EXISTS pending_order ON pending(enqueued_at, canonical_url);
