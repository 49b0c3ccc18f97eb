-- Shingle sets, read to verify near-duplicate candidates. Older articles keep NULL: they
-- still match by URL and exact text, and stop proposing near-duplicate candidates that
-- cannot be verified once the window has passed over them.
ALTER TABLE articles ADD COLUMN shingles BLOB;
