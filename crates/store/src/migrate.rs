//! The schema: numbered SQL files in `crates/store/migrations/`, embedded into the binary
//! and run by refinery, which records each applied file in its `refinery_schema_history`
//! table (the same files and table would serve PostgreSQL).
//!
//! Databases made before refinery carry their version in `PRAGMA user_version` (1 to 4)
//! and have no history table. Such a database is adopted on its first writable open: the
//! files up to its version are recorded as applied without running them, then the rest
//! run. `user_version` is kept equal to the newest applied file afterwards, so a build
//! from before refinery (which reads only `user_version`) still refuses a newer database.

use refinery::Target;
use rusqlite::{Connection, OptionalExtension};

use crate::{Result, StoreError};

refinery::embed_migrations!("migrations");

/// Refinery's default history table name, named here to look for it.
const HISTORY_TABLE: &str = "refinery_schema_history";

/// The newest schema version this build knows: the highest numbered migration file.
pub(crate) fn latest_version() -> i64 {
    migrations::runner()
        .get_migrations()
        .iter()
        .map(|m| i64::from(m.version()))
        .max()
        .unwrap_or(0)
}

/// The version a database is at: its newest recorded migration, or for a database from
/// before refinery its `user_version` (0 for a new, empty one).
pub(crate) fn current_version(conn: &Connection) -> Result<i64> {
    match recorded_version(conn)? {
        Some(v) => Ok(v),
        None => Ok(conn.query_row("PRAGMA user_version", [], |r| r.get(0))?),
    }
}

/// The newest migration in refinery's history, `None` without one (no table, or a table
/// left empty by a crash while it was being created).
fn recorded_version(conn: &Connection) -> Result<Option<i64>> {
    let has_table = conn
        .query_row(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
            [HISTORY_TABLE],
            |_| Ok(()),
        )
        .optional()?
        .is_some();
    if !has_table {
        return Ok(None);
    }
    Ok(conn.query_row(
        &format!("SELECT MAX(version) FROM {HISTORY_TABLE}"),
        [],
        |r| r.get(0),
    )?)
}

/// Brings the database to [`latest_version`]; refuses one newer than this build.
pub(crate) fn migrate(conn: &mut Connection, path: &str) -> Result<()> {
    let latest = latest_version();
    let found = current_version(conn)?;
    if found > latest {
        return Err(StoreError::Version {
            path: path.to_string(),
            found,
            supported: latest,
        });
    }
    if found > 0 && recorded_version(conn)?.is_none() {
        // A database from before refinery: its schema is exactly what files 1..=found
        // build, so record them as applied (one transaction) instead of running them.
        let adopted = i32::try_from(found).map_err(|_| StoreError::Version {
            path: path.to_string(),
            found,
            supported: latest,
        })?;
        migrations::runner()
            .set_target(Target::FakeVersion(adopted))
            .run(conn)?;
        tracing::info!(
            path,
            version = found,
            "adopted a database versioned by user_version"
        );
    }
    // Grouped: all pending files and their history rows in one transaction, so a crash
    // cannot leave a file applied but unrecorded (an ALTER run twice fails).
    let report = migrations::runner().set_grouped(true).run(conn)?;
    if let Some(last) = report.applied_migrations().last() {
        tracing::info!(path, from = found, to = %last, "migrated state database");
    }
    let user_version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if user_version != latest {
        conn.pragma_update(None, "user_version", latest)?;
    }
    Ok(())
}

/// For a read-only open, which may not migrate: the database must be at this build's
/// version already.
pub(crate) fn check_current(conn: &Connection, path: &str) -> Result<()> {
    let latest = latest_version();
    let found = current_version(conn)?;
    let path = path.to_string();
    match found.cmp(&latest) {
        std::cmp::Ordering::Equal => Ok(()),
        std::cmp::Ordering::Greater => Err(StoreError::Version {
            path,
            found,
            supported: latest,
        }),
        std::cmp::Ordering::Less => Err(StoreError::NotMigrated { path, found }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The SQL of files 1..=version, as a database of that version was built.
    fn sql_up_to(version: i64) -> String {
        let mut files: Vec<_> = migrations::runner()
            .get_migrations()
            .iter()
            .filter(|m| i64::from(m.version()) <= version)
            .map(|m| (m.version(), m.sql().unwrap_or_default().to_string()))
            .collect();
        files.sort();
        files.into_iter().map(|(_, sql)| sql).collect()
    }

    /// Every table, column and index, in a stable order.
    fn schema(conn: &Connection) -> Vec<String> {
        let mut out = Vec::new();
        let mut objects = conn
            .prepare(
                "SELECT type, name, tbl_name FROM sqlite_master
                 WHERE name NOT LIKE 'sqlite_%' AND name <> ?1 ORDER BY type, name",
            )
            .unwrap();
        let rows: Vec<(String, String, String)> = objects
            .query_map([HISTORY_TABLE], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        for (kind, name, table) in rows {
            out.push(format!("{kind} {name} on {table}"));
            if kind == "table" {
                let mut cols = conn
                    .prepare(&format!(
                        "SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info('{name}') ORDER BY cid"
                    ))
                    .unwrap();
                let cols: Vec<String> = cols
                    .query_map([], |r| {
                        Ok(format!(
                            "  {} {} notnull={} default={:?} pk={}",
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, i64>(2)?,
                            r.get::<_, Option<String>>(3)?,
                            r.get::<_, i64>(4)?
                        ))
                    })
                    .unwrap()
                    .collect::<rusqlite::Result<_>>()
                    .unwrap();
                out.extend(cols);
            }
        }
        out
    }

    /// What the build before refinery created in a new database (its version 4), copied
    /// from it: the migration files must end at exactly this schema.
    const PRE_REFINERY_SCHEMA: &str = "CREATE TABLE IF NOT EXISTS feeds (
            url TEXT PRIMARY KEY, fetch_url TEXT, interval_secs INTEGER,
            retired INTEGER NOT NULL DEFAULT 0, title TEXT, etag TEXT, last_modified TEXT,
            next_poll_at INTEGER, last_polled_at INTEGER, last_success_at INTEGER,
            last_status TEXT, error_count INTEGER NOT NULL DEFAULT 0, last_error TEXT);
        CREATE TABLE IF NOT EXISTS pending (
            canonical_url TEXT PRIMARY KEY, url TEXT NOT NULL, source TEXT NOT NULL,
            hints TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at INTEGER NOT NULL DEFAULT 0, last_error TEXT,
            enqueued_at INTEGER NOT NULL);
        CREATE TABLE IF NOT EXISTS seen (
            canonical_url TEXT PRIMARY KEY, article_id TEXT, outcome TEXT NOT NULL,
            seen_at INTEGER NOT NULL);
        CREATE INDEX IF NOT EXISTS seen_at ON seen(seen_at);
        CREATE TABLE IF NOT EXISTS articles (
            id TEXT PRIMARY KEY, canonical_url TEXT NOT NULL, content_hash TEXT,
            signature BLOB, story_id TEXT NOT NULL, stored_at INTEGER NOT NULL,
            story_terms BLOB, story_at INTEGER, shingles BLOB, title TEXT, language TEXT,
            site TEXT);
        CREATE INDEX IF NOT EXISTS articles_stored_at ON articles(stored_at);
        CREATE INDEX IF NOT EXISTS pending_order ON pending(enqueued_at, canonical_url);
        PRAGMA user_version = 4;";

    fn user_version(conn: &Connection) -> i64 {
        conn.query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn the_latest_version_is_the_highest_file() {
        assert_eq!(latest_version(), 6);
    }

    #[test]
    fn a_fresh_database_gets_the_full_schema() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn, ":memory:").unwrap();
        assert_eq!(current_version(&conn).unwrap(), latest_version());
        assert_eq!(user_version(&conn), latest_version());
        // Files 1 to 4 end exactly where the build before refinery did.
        let before_refinery = Connection::open_in_memory().unwrap();
        before_refinery.execute_batch(PRE_REFINERY_SCHEMA).unwrap();
        let mut at_4 = Connection::open_in_memory().unwrap();
        migrations::runner()
            .set_target(Target::Version(4))
            .run(&mut at_4)
            .unwrap();
        assert_eq!(schema(&at_4), schema(&before_refinery));
        let all = schema(&conn);
        for expected in [
            "table feeds on feeds",
            "  last_status TEXT notnull=0 default=None pk=0",
            "table pending on pending",
            "table seen on seen",
            "table articles on articles",
            "  site TEXT notnull=0 default=None pk=0",
            "  shingles BLOB notnull=0 default=None pk=0",
            "  story_terms BLOB notnull=0 default=None pk=0",
            "index pending_order on pending",
            "index seen_at on seen",
            "index articles_stored_at on articles",
            "table warc_records on warc_records",
            "  record_id TEXT notnull=0 default=None pk=1",
        ] {
            assert!(all.iter().any(|l| l == expected), "{expected} in {all:#?}");
        }
        // Opening again runs nothing and changes nothing.
        let before = schema(&conn);
        migrate(&mut conn, ":memory:").unwrap();
        assert_eq!(schema(&conn), before);
    }

    #[test]
    fn a_database_of_every_older_version_is_adopted_and_migrated_with_its_rows() {
        let mut fresh = Connection::open_in_memory().unwrap();
        migrate(&mut fresh, ":memory:").unwrap();
        let full = schema(&fresh);
        for version in 1..=latest_version() {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join(format!("v{version}.sqlite"));
            {
                // As the build of that version left it: its schema, a version number
                // and no history table.
                let conn = Connection::open(&path).unwrap();
                conn.execute_batch(&sql_up_to(version)).unwrap();
                conn.execute_batch(&format!(
                    "INSERT INTO feeds (url, last_status) VALUES ('http://f', 'ok');
                     INSERT INTO pending (canonical_url, url, source, hints, enqueued_at)
                         VALUES ('http://p', 'http://p', 'http://f', '{{}}', 1);
                     INSERT INTO seen VALUES ('http://s', 'a', 'published', 1);
                     INSERT INTO articles (id, canonical_url, content_hash, story_id, stored_at)
                         VALUES ('a', 'http://s', 'h', 'a', 1);
                     PRAGMA user_version = {version};"
                ))
                .unwrap();
            }
            let mut conn = Connection::open(&path).unwrap();
            migrate(&mut conn, "test").unwrap();
            assert_eq!(schema(&conn), full, "version {version}");
            assert_eq!(current_version(&conn).unwrap(), latest_version());
            assert_eq!(user_version(&conn), latest_version());
            let recorded: i64 = conn
                .query_row(&format!("SELECT COUNT(*) FROM {HISTORY_TABLE}"), [], |r| {
                    r.get(0)
                })
                .unwrap();
            assert_eq!(recorded, latest_version(), "version {version}");
            for table in ["feeds", "pending", "seen", "articles"] {
                let n: i64 = conn
                    .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
                    .unwrap();
                assert_eq!(n, 1, "{table} of version {version}");
            }
            let (story, title): (String, Option<String>) = conn
                .query_row("SELECT story_id, title FROM articles", [], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .unwrap();
            assert_eq!((story.as_str(), title), ("a", None));
            if version < 5 {
                // A feed from before version 5 came from the configuration.
                let (id, origin, paused): (i64, String, bool) = conn
                    .query_row("SELECT id, origin, paused FROM feeds", [], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                    })
                    .unwrap();
                assert_eq!((id, origin.as_str(), paused), (1, "config", false));
            }
            if version < 6 {
                // No WARC record was done before version 6.
                let n: i64 = conn
                    .query_row("SELECT COUNT(*) FROM warc_records", [], |r| r.get(0))
                    .unwrap();
                assert_eq!(n, 0);
            }
            // And once adopted, the next open has nothing to do.
            migrate(&mut conn, "test").unwrap();
            assert_eq!(schema(&conn), full);
        }
    }

    #[test]
    fn an_empty_history_table_does_not_hide_the_user_version() {
        // As a crash between refinery creating its table and filling it would leave it.
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(&sql_up_to(3)).unwrap();
        conn.pragma_update(None, "user_version", 3).unwrap();
        conn.execute_batch(&format!(
            "CREATE TABLE {HISTORY_TABLE} (version INT4 PRIMARY KEY, name VARCHAR(255),
                 applied_on VARCHAR(255), checksum VARCHAR(255));"
        ))
        .unwrap();
        assert_eq!(current_version(&conn).unwrap(), 3);
        migrate(&mut conn, "v3").unwrap();
        assert_eq!(current_version(&conn).unwrap(), latest_version());
    }

    #[test]
    fn a_newer_database_is_refused_by_either_record() {
        let latest = latest_version();
        let conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", latest + 1)
            .unwrap();
        let mut conn = conn;
        assert!(matches!(
            migrate(&mut conn, "old"),
            Err(StoreError::Version { found, .. }) if found == latest + 1
        ));
        assert!(matches!(
            check_current(&conn, "old"),
            Err(StoreError::Version { .. })
        ));
        // A newer build's history row, whatever user_version says.
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn, ":memory:").unwrap();
        conn.execute(
            &format!(
                "INSERT INTO {HISTORY_TABLE} (version, name, applied_on, checksum)
                 VALUES (?1, 'later', '2030-01-01T00:00:00Z', '0')"
            ),
            [latest + 1],
        )
        .unwrap();
        assert!(matches!(
            migrate(&mut conn, "new"),
            Err(StoreError::Version { found, .. }) if found == latest + 1
        ));
    }

    #[test]
    fn read_only_checks_accept_only_the_current_version() {
        let mut conn = Connection::open_in_memory().unwrap();
        assert!(matches!(
            check_current(&conn, "empty"),
            Err(StoreError::NotMigrated { found: 0, .. })
        ));
        conn.execute_batch(&sql_up_to(2)).unwrap();
        conn.pragma_update(None, "user_version", 2).unwrap();
        assert!(matches!(
            check_current(&conn, "v2"),
            Err(StoreError::NotMigrated { found: 2, .. })
        ));
        migrate(&mut conn, "v2").unwrap();
        check_current(&conn, "v2").unwrap();
        // A version 4 database from before refinery has this build's schema already.
        let legacy = Connection::open_in_memory().unwrap();
        legacy.execute_batch(&sql_up_to(latest_version())).unwrap();
        legacy
            .pragma_update(None, "user_version", latest_version())
            .unwrap();
        check_current(&legacy, "v4").unwrap();
    }
}
