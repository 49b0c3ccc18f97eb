//! newsriver's state store: one embedded SQLite database (WAL mode) reached through two
//! narrow handles borrowed from one [`Store`]:
//!
//! - [`Store::queue`], the [`WorkQueue`]: feed poll state, accepted-but-unfinished work
//!   (pending) and how finished work ended (seen). The at-least-once contract lives
//!   there: an item becomes pending in the same transaction that records the feed poll
//!   which found it, and leaves pending only in the transaction that records its outcome,
//!   after the sink acknowledged it. A crash anywhere in between leaves it pending, and
//!   the next start processes it again.
//! - [`Store::memory`], the [`Memory`]: what dedup remembers of published articles, and
//!   the story listing read from it. The byte encoding of its BLOB columns lives there.
//!
//! # Schema and migrations
//!
//! The schema is the numbered SQL files in `crates/store/migrations/`
//! (`V1__initial.sql`, `V2__story_terms.sql`, ...), embedded into the binary and run by
//! [refinery](https://docs.rs/refinery) on every writable open, which records each
//! applied file in the `refinery_schema_history` table. To change the schema:
//!
//! 1. Add the next file, `V{n}__{what}.sql`, with the statements that bring version
//!    `n - 1` to `n` (`ALTER TABLE ... ADD COLUMN`, `CREATE INDEX`, ...). Never edit a
//!    file that was released: refinery checks each applied file's checksum and refuses a
//!    database whose history disagrees with the files.
//! 2. Say in a comment in the file what older rows hold in the new columns, and make
//!    the code read that (usually `NULL`).
//! 3. In `migrate.rs`'s tests, raise the version `the_latest_version_is_the_highest_file`
//!    expects and check what the new columns hold for migrated rows; the test that
//!    builds a database of every older version from the files covers the new one.
//!
//! The files a database lacks run in one transaction, with their history rows. A database newer than the build is refused
//! ([`StoreError::Version`]); a read-only open ([`Store::open_read_only`]) never migrates
//! and refuses an older one ([`StoreError::NotMigrated`]). Databases from before refinery
//! (versioned by `PRAGMA user_version` only) are adopted on their first writable open.

use std::path::Path;

use chrono::{DateTime, TimeZone, Utc};
use rusqlite::{Connection, OpenFlags};

mod memory;
mod migrate;
mod work_queue;

pub use memory::{Listing, Memory, Remembered, StorySummary};
pub use work_queue::{
    Completion, FeedCounts, FeedOrigin, FeedState, FeedStatus, Outcome, OutcomeCounts, Retrying,
    WarcRecordDone, WorkQueue,
};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("state database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("cannot create state directory {path}: {source}")]
    Dir {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "state database {path} has schema version {found}, this build understands {supported}"
    )]
    Version {
        path: String,
        found: i64,
        supported: i64,
    },
    #[error(
        "state database {path} has schema version {found}: run `newsriver run` or `backfill` \
         once with this build to migrate it before reading it"
    )]
    NotMigrated { path: String, found: i64 },
    #[error("migrating state database: {0}")]
    Migration(#[from] refinery::Error),
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// What [`Store::expire`] forgot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Expired {
    /// Remembered articles (dedup memory).
    pub articles: usize,
    /// Seen URLs (the work queue's record of finished items).
    pub seen_urls: usize,
}

/// The state database. Its tables are reached through [`Store::queue`] and
/// [`Store::memory`]; the handles borrow the store mutably, so a transaction of one
/// cannot be interleaved with a write of the other.
pub struct Store {
    conn: Connection,
}

pub(crate) fn ts(t: DateTime<Utc>) -> i64 {
    t.timestamp()
}

pub(crate) fn from_ts(v: Option<i64>) -> Option<DateTime<Utc>> {
    v.and_then(|s| Utc.timestamp_opt(s, 0).single())
}

impl Store {
    /// Opens (creating if needed) the database at `path`, migrating it to this build's
    /// schema.
    pub fn open(path: &Path) -> Result<Store> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Dir {
                path: dir.display().to_string(),
                source,
            })?;
        }
        let conn = Connection::open(path)?;
        let mut store = Store { conn };
        store.init(&path.display().to_string())?;
        Ok(store)
    }

    /// Opens an existing database for reading only: no schema change and no write of any
    /// kind, so it can run beside the process that owns the state (WAL lets it read while
    /// that one writes). Fails when the schema is not this build's.
    pub fn open_read_only(path: &Path) -> Result<Store> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        migrate::check_current(&conn, &path.display().to_string())?;
        Ok(Store { conn })
    }

    /// An in-memory store, for tests and dry runs.
    pub fn open_in_memory() -> Result<Store> {
        let mut store = Store {
            conn: Connection::open_in_memory()?,
        };
        store.init(":memory:")?;
        Ok(store)
    }

    /// Connection settings, then the schema brought to this build's version.
    fn init(&mut self, path: &str) -> Result<()> {
        self.conn.pragma_update(None, "journal_mode", "WAL")?;
        self.conn.pragma_update(None, "synchronous", "NORMAL")?;
        self.conn.busy_timeout(std::time::Duration::from_secs(10))?;
        migrate::migrate(&mut self.conn, path)
    }

    /// Feeds, pending work and seen URLs.
    pub fn queue(&mut self) -> WorkQueue<'_> {
        WorkQueue {
            conn: &mut self.conn,
        }
    }

    /// What dedup remembers of published articles.
    pub fn memory(&mut self) -> Memory<'_> {
        Memory {
            conn: &mut self.conn,
        }
    }

    /// Forgets what is older than the retention window's start `before`: remembered
    /// articles and seen URLs (an item seen before it may be accepted again).
    pub fn expire(&mut self, before: DateTime<Utc>) -> Result<Expired> {
        Ok(Expired {
            articles: self.memory().forget_before(before)?,
            seen_urls: self.queue().forget_seen_before(before)?,
        })
    }
}

impl newsriver_dedup::ShingleSource for Store {
    fn shingles(&mut self, id: &str) -> Option<Vec<u32>> {
        match self.memory().shingles(id) {
            Ok(found) => found,
            Err(e) => {
                tracing::warn!(error = %e, id, "reading shingles for verification failed");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use newsriver_dedup::Fingerprint;
    use newsriver_model::{ItemHints, Job};

    fn item(u: &str) -> Job {
        Job {
            page: newsriver_model::PageJob {
                url: u.to_string(),
                source: "feed".into(),
                hints: ItemHints::default(),
            },
            canonical_url: u.to_string(),
            attempts: 0,
            warc: None,
        }
    }

    #[test]
    fn pending_survives_reopen_until_completed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/newsriver.sqlite");
        {
            let mut s = Store::open(&path).unwrap();
            assert_eq!(s.queue().oldest_pending_at().unwrap(), None);
            let feed = FeedState {
                url: "http://f".into(),
                etag: Some("e1".into()),
                ..Default::default()
            };
            // The schedule sees the count of new items before the feed state is stored.
            let schedule = |new: usize, f: &mut FeedState| f.interval_secs = Some(new as u64 * 100);
            assert_eq!(
                s.queue()
                    .record_poll(
                        &mut feed.clone(),
                        &[item("http://a"), item("http://b")],
                        schedule
                    )
                    .unwrap(),
                2
            );
            assert_eq!(
                s.queue().feed("http://f").unwrap().unwrap().interval_secs,
                Some(200)
            );
            // Listing the same items again adds nothing.
            assert_eq!(
                s.queue()
                    .record_poll(&mut feed.clone(), &[item("http://a")], |_, _| {})
                    .unwrap(),
                0
            );
        }
        let mut s = Store::open(&path).unwrap();
        assert_eq!(
            s.queue().feed("http://f").unwrap().unwrap().etag.as_deref(),
            Some("e1")
        );
        assert_eq!(s.queue().due_pending(Utc::now(), 10).unwrap().len(), 2);
        let fp = Fingerprint::new("http://a", "some words to sign here and more");
        let rem = Remembered {
            id: "id-a".into(),
            story_id: "id-a".into(),
            fingerprint: fp.clone(),
            stored_at: 0,
            story_terms: vec![(7, 0.5), (9, 0.25)],
            story_at: 42,
        };
        s.queue()
            .complete(&["http://a"], Outcome::Published, Some(&rem))
            .unwrap();
        assert!(s.queue().is_seen("http://a").unwrap());
        assert_eq!(s.queue().pending_count().unwrap(), 1);
        // The one left was accepted in this test, so a moment ago.
        let oldest = s.queue().oldest_pending_at().unwrap().expect("one pending");
        assert!((Utc::now() - oldest).num_seconds().abs() <= 5, "{oldest}");
        let feed = s.queue().feed("http://f").unwrap().unwrap();
        assert_eq!(
            s.queue()
                .record_poll(&mut feed.clone(), &[item("http://a")], |_, _| {})
                .unwrap(),
            0
        );
        let back = s
            .memory()
            .remembered_since(Utc::now() - chrono::Duration::days(1))
            .unwrap();
        assert_eq!(back.len(), 1);
        // The shingles stay on disk until a candidate needs them.
        assert!(back[0].fingerprint.shingles.is_empty());
        assert_eq!(
            back[0].fingerprint,
            Fingerprint {
                shingles: Vec::new(),
                ..fp.clone()
            }
        );
        assert!(!fp.shingles.is_empty());
        assert_eq!(
            s.memory().shingles("id-a").unwrap(),
            Some(fp.shingles.clone())
        );
        assert_eq!(s.memory().shingles("id-missing").unwrap(), None);
        assert_eq!(back[0].story_terms, vec![(7, 0.5), (9, 0.25)]);
        assert_eq!(back[0].story_at, 42);
        // What expiry would forget, read before the rows go.
        assert!(s
            .memory()
            .story_terms_before(Utc::now() - chrono::Duration::days(1))
            .unwrap()
            .is_empty());
        assert_eq!(
            s.memory()
                .story_terms_before(Utc::now() + chrono::Duration::days(1))
                .unwrap(),
            vec![vec![(7, 0.5), (9, 0.25)]]
        );
    }

    #[test]
    fn stories_list_the_active_ones_with_their_titles_sites_and_languages() {
        let mut s = Store::open_in_memory().unwrap();
        let remember = |id: &str, story: &str, at: i64| Remembered {
            id: id.into(),
            story_id: story.into(),
            fingerprint: Fingerprint::new(&format!("http://x/{id}"), &format!("text of {id}")),
            stored_at: 0,
            story_terms: Vec::new(),
            story_at: at,
        };
        let a = remember("a", "a", 1_000);
        let b = remember("b", "a", 2_000);
        let c = remember("c", "c", 5_000);
        let old = remember("old", "old", 10);
        let listing = |title, language, site| Listing {
            title: Some(title),
            language: Some(language),
            site: Some(site),
        };
        s.queue()
            .complete_all(&[
                Completion {
                    urls: vec!["http://x/a"],
                    outcome: Outcome::Published,
                    article: Some(&a),
                    listing: listing("Quake hits coast", "en", "one.test"),
                },
                Completion {
                    urls: vec!["http://x/b"],
                    outcome: Outcome::Published,
                    article: Some(&b),
                    listing: listing("Séisme sur la côte", "fr", "two.test"),
                },
                Completion {
                    urls: vec!["http://x/c"],
                    outcome: Outcome::Published,
                    article: Some(&c),
                    listing: Listing::default(),
                },
                Completion {
                    urls: vec!["http://x/old"],
                    outcome: Outcome::Published,
                    article: Some(&old),
                    listing: listing("Long ago", "en", "one.test"),
                },
            ])
            .unwrap();
        let since = Utc::now() - chrono::Duration::hours(1);
        let all = s.memory().stories(since, 1, 10).unwrap();
        let ids: Vec<&str> = all.iter().map(|x| x.story_id.as_str()).collect();
        // All stored just now: the latest article decides the order.
        assert_eq!(ids, ["c", "a", "old"]);
        assert_eq!(all[0].title, None);
        assert_eq!(all[0].articles, 1);
        let quake = &all[1];
        assert_eq!(quake.title.as_deref(), Some("Quake hits coast"));
        assert_eq!(quake.articles, 2);
        assert_eq!(quake.sites, ["one.test", "two.test"]);
        assert_eq!(quake.languages, ["en", "fr"]);
        assert_eq!(quake.first_seen.timestamp(), 1_000);
        assert_eq!(quake.last_seen.timestamp(), 2_000);
        let multi = s.memory().stories(since, 2, 10).unwrap();
        assert_eq!(multi.len(), 1);
        assert_eq!(s.memory().stories(since, 1, 1).unwrap().len(), 1);
        // Nothing was stored after `later`: no story is active then.
        let later = Utc::now() + chrono::Duration::hours(1);
        assert!(s.memory().stories(later, 1, 10).unwrap().is_empty());
    }

    #[test]
    fn a_version_2_database_is_upgraded_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v2.db");
        {
            // A version 2 database as that build made it: all four tables.
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(include_str!("../migrations/V1__initial.sql"))
                .unwrap();
            conn.execute_batch(include_str!("../migrations/V2__story_terms.sql"))
                .unwrap();
            conn.execute_batch(
                "INSERT INTO articles VALUES ('old', 'http://old', 'h', NULL, 'old', 1, NULL, 1);
                 PRAGMA user_version = 2;",
            )
            .unwrap();
        }
        let mut s = Store::open(&path).unwrap();
        // The old row is still there, without shingles; new rows get them.
        assert_eq!(s.memory().shingles("old").unwrap(), None);
        let fp = Fingerprint::new("http://new", "words of a new article to remember");
        let rem = Remembered {
            id: "new".into(),
            story_id: "new".into(),
            fingerprint: fp.clone(),
            stored_at: 0,
            story_terms: Vec::new(),
            story_at: 0,
        };
        s.queue()
            .complete(&["http://new"], Outcome::Published, Some(&rem))
            .unwrap();
        assert_eq!(s.memory().shingles("new").unwrap(), Some(fp.shingles));
        let version: i64 = s
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, migrate::latest_version());
    }

    #[test]
    fn warc_records_are_done_with_their_outcome_and_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sqlite");
        {
            let mut s = Store::open(&path).unwrap();
            assert!(!s.queue().is_warc_record_done("<urn:uuid:1>").unwrap());
            let done = |id, outcome| WarcRecordDone {
                record_id: id,
                file: "a.warc.gz",
                offset: 7,
                outcome,
            };
            s.queue()
                .complete_all_with_records(
                    &[Completion {
                        urls: vec!["http://x/1"],
                        outcome: Outcome::Duplicate,
                        article: None,
                        listing: Listing::default(),
                    }],
                    &[
                        done("<urn:uuid:1>", Outcome::Duplicate),
                        done("<urn:uuid:2>", Outcome::Failed),
                    ],
                )
                .unwrap();
        }
        let mut s = Store::open(&path).unwrap();
        assert!(s.queue().is_warc_record_done("<urn:uuid:1>").unwrap());
        assert!(s.queue().is_warc_record_done("<urn:uuid:2>").unwrap());
        assert!(!s.queue().is_warc_record_done("<urn:uuid:3>").unwrap());
        assert!(s.queue().is_seen("http://x/1").unwrap());
    }

    #[test]
    fn many_items_complete_in_one_transaction() {
        let mut s = Store::open_in_memory().unwrap();
        let mut feed = FeedState {
            url: "f".into(),
            ..Default::default()
        };
        s.queue()
            .record_poll(&mut feed, &[item("a"), item("b"), item("c")], |_, _| {})
            .unwrap();
        let fp = Fingerprint::new("a2", "the published article's words");
        let rem = Remembered {
            id: "id-a".into(),
            story_id: "id-a".into(),
            fingerprint: fp.clone(),
            stored_at: 0,
            story_terms: Vec::new(),
            story_at: 0,
        };
        s.queue()
            .complete_all(&[
                Completion {
                    urls: vec!["a", "a2"],
                    outcome: Outcome::Published,
                    article: Some(&rem),
                    listing: Listing::default(),
                },
                Completion {
                    urls: vec!["b"],
                    outcome: Outcome::Duplicate,
                    article: None,
                    listing: Listing::default(),
                },
            ])
            .unwrap();
        for url in ["a", "a2", "b"] {
            assert!(s.queue().is_seen(url).unwrap(), "{url}");
        }
        assert!(!s.queue().is_seen("c").unwrap());
        assert_eq!(s.queue().pending_count().unwrap(), 1);
        assert_eq!(s.memory().shingles("id-a").unwrap(), Some(fp.shingles));
        // Seen URLs, not items: the published article was known under two.
        assert_eq!(
            s.queue().outcome_counts().unwrap(),
            OutcomeCounts {
                published: 2,
                duplicate: 1,
                failed: 0,
                filtered: 0,
            }
        );
    }

    #[test]
    fn failures_delay_retries() {
        let mut s = Store::open_in_memory().unwrap();
        s.queue()
            .record_poll(
                &mut FeedState {
                    url: "f".into(),
                    ..Default::default()
                },
                &[item("u")],
                |_, _| {},
            )
            .unwrap();
        let later = Utc::now() + chrono::Duration::minutes(5);
        assert_eq!(
            s.queue().record_attempt_failure("u", "500", later).unwrap(),
            1
        );
        assert!(s.queue().due_pending(Utc::now(), 10).unwrap().is_empty());
        assert_eq!(s.queue().due_pending(later, 10).unwrap().len(), 1);
    }

    #[test]
    fn read_only_open_reads_beside_a_writer_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("newsriver.sqlite");
        assert!(
            Store::open_read_only(&path).is_err(),
            "a missing file is not created"
        );
        assert!(!path.exists());
        let mut writer = Store::open(&path).unwrap();
        writer
            .queue()
            .ensure_feeds(&["https://example.com/feed".into()])
            .unwrap();
        let mut reader = Store::open_read_only(&path).unwrap();
        assert_eq!(reader.queue().feeds().unwrap().len(), 1);
        assert!(reader
            .queue()
            .ensure_feeds(&["https://example.com/other".into()])
            .is_err());
        drop(writer);
        // After the writer closed (WAL checkpointed and removed) it still opens.
        drop(reader);
        assert_eq!(
            Store::open_read_only(&path)
                .unwrap()
                .queue()
                .feeds()
                .unwrap()
                .len(),
            1
        );
        let old = dir.path().join("old.sqlite");
        Connection::open(&old)
            .unwrap()
            .execute_batch("PRAGMA user_version = 2;")
            .unwrap();
        assert!(matches!(
            Store::open_read_only(&old),
            Err(StoreError::NotMigrated { found: 2, .. })
        ));
    }

    #[test]
    fn feeds_are_counted_by_how_they_stand() {
        let mut s = Store::open_in_memory().unwrap();
        let urls: Vec<String> = (1..=4).map(|i| format!("https://a.test/{i}.xml")).collect();
        s.queue().ensure_feeds(&urls).unwrap();
        s.conn
            .execute_batch(
                "UPDATE feeds SET error_count = 3 WHERE url = 'https://a.test/2.xml';
                 UPDATE feeds SET retired = 1, error_count = 1 WHERE url = 'https://a.test/3.xml';",
            )
            .unwrap();
        assert_eq!(
            s.queue().feed_counts().unwrap(),
            FeedCounts {
                ok: 2,
                failing: 1,
                retired: 1
            }
        );
        let empty = Store::open_in_memory().unwrap().queue().feed_counts();
        assert_eq!(empty.unwrap(), FeedCounts::default());
    }

    #[test]
    fn expiry_forgets_articles_and_seen_urls_before_the_window() {
        let mut s = Store::open_in_memory().unwrap();
        let rem = Remembered {
            id: "id-a".into(),
            story_id: "id-a".into(),
            fingerprint: Fingerprint::new("http://a", "words of the article"),
            stored_at: 0,
            story_terms: Vec::new(),
            story_at: 0,
        };
        s.queue()
            .complete(&["http://a", "http://a2"], Outcome::Published, Some(&rem))
            .unwrap();
        let past = Utc::now() - chrono::Duration::hours(1);
        assert_eq!(s.expire(past).unwrap(), Expired::default());
        let future = Utc::now() + chrono::Duration::hours(1);
        assert_eq!(
            s.expire(future).unwrap(),
            Expired {
                articles: 1,
                seen_urls: 2
            }
        );
        assert!(!s.queue().is_seen("http://a").unwrap());
        assert_eq!(s.memory().shingles("id-a").unwrap(), None);
    }
}
