-- Feeds managed while the daemon runs (the admin API and `newsriver feeds add|remove|
-- pause|resume`). Older rows are feeds of the configuration file: origin 'config', not
-- paused, no per-feed settings (NULL), and an id taken from their rowid.
ALTER TABLE feeds ADD COLUMN id INTEGER;
-- 'config': polled while the configuration lists it; 'api': added through the API or the
-- CLI, polled until removed that way.
ALTER TABLE feeds ADD COLUMN origin TEXT NOT NULL DEFAULT 'config';
ALTER TABLE feeds ADD COLUMN paused INTEGER NOT NULL DEFAULT 0;
-- Per-feed settings as JSON (headers, user agent, basic auth, interval bounds,
-- languages); NULL: the global settings.
ALTER TABLE feeds ADD COLUMN settings TEXT;
UPDATE feeds SET id = rowid;
CREATE UNIQUE INDEX feeds_id ON feeds(id);
