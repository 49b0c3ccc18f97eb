//! newsriver's state store: one embedded SQLite database (WAL mode) holding feed poll
//! state, accepted-but-unfinished work, and what was already published.
//!
//! The at-least-once contract lives here: an item becomes *pending* in the same
//! transaction that records the feed poll which found it, and leaves *pending* only in the
//! transaction that records its outcome, after the sink acknowledged it. A crash anywhere
//! in between leaves it pending, and the next start processes it again.

use std::path::Path;

use chrono::{DateTime, TimeZone, Utc};
use newsriver_dedup::{Fingerprint, Signature};
use newsriver_model::ItemHints;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};

mod migrate;

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

/// Poll state of one feed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FeedState {
    /// The feed's identity: the URL it is configured under.
    pub url: String,
    /// Where it is polled now, when a permanent redirect moved it.
    pub fetch_url: Option<String>,
    /// Current adaptive poll interval.
    pub interval_secs: Option<u64>,
    /// Answered 410 Gone: no longer polled.
    pub retired: bool,
    pub title: Option<String>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub next_poll_at: Option<DateTime<Utc>>,
    pub last_polled_at: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
    /// `ok`, `not_modified`, or an error summary.
    pub last_status: Option<String>,
    pub error_count: u32,
    pub last_error: Option<String>,
}

/// An accepted item waiting to be fetched, processed and acknowledged.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingItem {
    pub canonical_url: String,
    pub url: String,
    pub source: String,
    pub hints: ItemHints,
    pub attempts: u32,
}

/// How an item ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Written to the sink and acknowledged.
    Published,
    /// Recognized as already seen and not published (drop policy).
    Duplicate,
    /// Given up on after repeated failures.
    Failed,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Published => "published",
            Outcome::Duplicate => "duplicate",
            Outcome::Failed => "failed",
        }
    }
}

/// A published article as dedup needs to remember it.
#[derive(Debug, Clone)]
pub struct Remembered {
    pub id: String,
    pub story_id: String,
    pub fingerprint: Fingerprint,
    /// Unix seconds when it was stored (set by the store; ignored on write).
    pub stored_at: i64,
    /// Story-grouping terms and the article's time on the story axis, so stories
    /// continue after a restart (see `newsriver_dedup::StoryIndex::restore`).
    pub story_terms: Vec<(u64, f32)>,
    pub story_at: i64,
}

/// How one item ended, for [`Store::complete_all`].
pub struct Completion<'a> {
    /// Every canonical URL the item was known under (listed and page canonical).
    pub urls: Vec<&'a str>,
    pub outcome: Outcome,
    /// What dedup must remember of a published article.
    pub article: Option<&'a Remembered>,
    /// What `newsriver stories` shows of it (with `article` only).
    pub listing: Listing<'a>,
}

/// A published article as story listings show it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Listing<'a> {
    pub title: Option<&'a str>,
    /// ISO 639-1.
    pub language: Option<&'a str>,
    /// The host the article was published on.
    pub site: Option<&'a str>,
}

/// One story of [`Store::stories`].
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StorySummary {
    /// The story id: the id of its first article.
    pub story_id: String,
    /// The first article's title, or another article's when it has none.
    pub title: Option<String>,
    pub articles: u64,
    /// Distinct hosts, sorted.
    pub sites: Vec<String>,
    /// Distinct languages, sorted.
    pub languages: Vec<String>,
    /// Earliest and latest article time on the story axis (published, else fetched).
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
}

pub struct Store {
    conn: Connection,
}

fn ts(t: DateTime<Utc>) -> i64 {
    t.timestamp()
}

fn from_ts(v: Option<i64>) -> Option<DateTime<Utc>> {
    v.and_then(|s| Utc.timestamp_opt(s, 0).single())
}

/// The oldest due pending items; served by the `pending_order` index.
const DUE_PENDING: &str = "SELECT canonical_url, url, source, hints, attempts FROM pending
     WHERE next_attempt_at <= ?1 ORDER BY enqueued_at, canonical_url LIMIT ?2";

impl Store {
    /// Opens (creating if needed) the database at `path`.
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

    /// Makes sure every configured feed has a row; new feeds are due at once.
    pub fn ensure_feeds(&self, urls: &[String]) -> Result<()> {
        let mut stmt = self
            .conn
            .prepare_cached("INSERT OR IGNORE INTO feeds (url, next_poll_at) VALUES (?1, 0)")?;
        for url in urls {
            stmt.execute([url])?;
        }
        Ok(())
    }

    pub fn feeds(&self) -> Result<Vec<FeedState>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT url, title, etag, last_modified, next_poll_at, last_polled_at,
                    last_success_at, last_status, error_count, last_error,
                    fetch_url, interval_secs, retired
             FROM feeds ORDER BY url",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(FeedState {
                url: r.get(0)?,
                title: r.get(1)?,
                etag: r.get(2)?,
                last_modified: r.get(3)?,
                next_poll_at: from_ts(r.get(4)?),
                last_polled_at: from_ts(r.get(5)?),
                last_success_at: from_ts(r.get(6)?),
                last_status: r.get(7)?,
                error_count: r.get(8)?,
                last_error: r.get(9)?,
                fetch_url: r.get(10)?,
                interval_secs: r.get(11)?,
                retired: r.get(12)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn feed(&self, url: &str) -> Result<Option<FeedState>> {
        Ok(self.feeds()?.into_iter().find(|f| f.url == url))
    }

    /// Records a poll and accepts its new items, in one transaction: either both the
    /// new feed state and the pending items are stored, or neither. `schedule` sees how
    /// many items were new before the feed state is written (the poll interval adapts
    /// to it). Returns how many items were new.
    pub fn record_poll(
        &mut self,
        feed: &mut FeedState,
        items: &[PendingItem],
        schedule: impl FnOnce(usize, &mut FeedState),
    ) -> Result<usize> {
        let tx = self.conn.transaction()?;
        let mut added = 0;
        {
            let mut seen = tx.prepare_cached("SELECT 1 FROM seen WHERE canonical_url = ?1")?;
            let mut insert = tx.prepare_cached(
                "INSERT OR IGNORE INTO pending (canonical_url, url, source, hints, enqueued_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            let now = ts(Utc::now());
            for item in items {
                if seen.exists([&item.canonical_url])? {
                    continue;
                }
                let hints = hints_json(&item.hints);
                added += insert.execute(params![
                    item.canonical_url,
                    item.url,
                    item.source,
                    hints,
                    now
                ])?;
            }
        }
        schedule(added, feed);
        tx.execute(
            "INSERT INTO feeds (url, title, etag, last_modified, next_poll_at, last_polled_at,
                                last_success_at, last_status, error_count, last_error,
                                fetch_url, interval_secs, retired)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
             ON CONFLICT(url) DO UPDATE SET title = excluded.title, etag = excluded.etag,
                fetch_url = excluded.fetch_url, interval_secs = excluded.interval_secs,
                retired = excluded.retired,
                last_modified = excluded.last_modified, next_poll_at = excluded.next_poll_at,
                last_polled_at = excluded.last_polled_at, last_success_at = excluded.last_success_at,
                last_status = excluded.last_status, error_count = excluded.error_count,
                last_error = excluded.last_error",
            params![
                feed.url,
                feed.title,
                feed.etag,
                feed.last_modified,
                feed.next_poll_at.map(ts),
                feed.last_polled_at.map(ts),
                feed.last_success_at.map(ts),
                feed.last_status,
                feed.error_count,
                feed.last_error,
                feed.fetch_url,
                feed.interval_secs,
                feed.retired,
            ],
        )?;
        tx.commit()?;
        Ok(added)
    }

    /// Pending items whose next attempt is due, oldest first.
    pub fn due_pending(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<PendingItem>> {
        let mut stmt = self.conn.prepare_cached(DUE_PENDING)?;
        let rows = stmt.query_map(params![ts(now), limit as i64], |r| {
            let hints: String = r.get(3)?;
            Ok(PendingItem {
                canonical_url: r.get(0)?,
                url: r.get(1)?,
                source: r.get(2)?,
                hints: serde_json::from_str(&hints).unwrap_or_default(),
                attempts: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Seen URLs by outcome over the retention window: (published, duplicate, failed).
    pub fn outcome_counts(&self) -> Result<(u64, u64, u64)> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT outcome, COUNT(*) FROM seen GROUP BY outcome")?;
        let mut counts = (0, 0, 0);
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, u64>(1)?)))?;
        for row in rows {
            let (outcome, n) = row?;
            match outcome.as_str() {
                "published" => counts.0 = n,
                "duplicate" => counts.1 = n,
                _ => counts.2 += n,
            }
        }
        Ok(counts)
    }

    /// Pending items that failed at least once, with their last error, worst first.
    pub fn retrying(&self, limit: usize) -> Result<Vec<(String, u32, String)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT url, attempts, COALESCE(last_error, '') FROM pending WHERE attempts > 0
             ORDER BY attempts DESC, url LIMIT ?1",
        )?;
        let rows = stmt.query_map([limit as i64], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn pending_count(&self) -> Result<u64> {
        Ok(self
            .conn
            .query_row("SELECT COUNT(*) FROM pending", [], |r| r.get(0))?)
    }

    /// Whether an item with this canonical URL is accepted and not yet finished.
    pub fn is_pending(&self, canonical_url: &str) -> Result<bool> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT 1 FROM pending WHERE canonical_url = ?1")?;
        Ok(stmt.exists([canonical_url])?)
    }

    /// Whether an item with this canonical URL already ended (published, duplicate, failed).
    pub fn is_seen(&self, canonical_url: &str) -> Result<bool> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT 1 FROM seen WHERE canonical_url = ?1")?;
        Ok(stmt.exists([canonical_url])?)
    }

    /// Records how an item ended and forgets it as pending, in one transaction.
    /// `urls` are every canonical URL the item was known under (listed and page canonical).
    pub fn complete(
        &mut self,
        urls: &[&str],
        outcome: Outcome,
        article: Option<&Remembered>,
    ) -> Result<()> {
        self.complete_all(&[Completion {
            urls: urls.to_vec(),
            outcome,
            article,
            listing: Listing::default(),
        }])
    }

    /// [`Store::complete`] for many items in one transaction: a commit per article
    /// capped the store at a few thousand articles a second.
    pub fn complete_all(&mut self, items: &[Completion<'_>]) -> Result<()> {
        let tx = self.conn.transaction()?;
        let now = ts(Utc::now());
        {
            let mut seen = tx.prepare_cached(
                "INSERT INTO seen (canonical_url, article_id, outcome, seen_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(canonical_url) DO UPDATE SET outcome = excluded.outcome,
                    article_id = COALESCE(excluded.article_id, seen.article_id), seen_at = excluded.seen_at",
            )?;
            let mut unpend = tx.prepare_cached("DELETE FROM pending WHERE canonical_url = ?1")?;
            let mut remember = tx.prepare_cached(
                "INSERT OR REPLACE INTO articles (id, canonical_url, content_hash, signature, story_id, stored_at,
                                                  story_terms, story_at, shingles, title, language, site)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            )?;
            for item in items {
                for url in &item.urls {
                    seen.execute(params![
                        url,
                        item.article.map(|a| a.id.as_str()),
                        item.outcome.as_str(),
                        now
                    ])?;
                    unpend.execute([url])?;
                }
                if let Some(a) = item.article {
                    remember.execute(params![
                        a.id,
                        a.fingerprint.canonical_url,
                        a.fingerprint.content_hash,
                        a.fingerprint.signature.as_ref().map(Signature::to_bytes),
                        a.story_id,
                        now,
                        newsriver_dedup::Assignment::terms_to_bytes(&a.story_terms),
                        a.story_at,
                        // An empty set (a restored fingerprint) is stored as no set.
                        Some(&a.fingerprint.shingles)
                            .filter(|s| !s.is_empty())
                            .map(|s| newsriver_dedup::u32s_to_bytes(s)),
                        item.listing.title,
                        item.listing.language,
                        item.listing.site,
                    ])?;
                }
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Stories that took an article at or after `active_since` (stored then: a backfill
    /// of old articles makes their stories active too), the most recently active first,
    /// then by their latest article; those with fewer than `min_articles` left out, at
    /// most `limit`.
    pub fn stories(
        &self,
        active_since: DateTime<Utc>,
        min_articles: u64,
        limit: usize,
    ) -> Result<Vec<StorySummary>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT a.story_id, COUNT(*) AS n,
                    MIN(COALESCE(a.story_at, a.stored_at)), MAX(COALESCE(a.story_at, a.stored_at)) AS last,
                    GROUP_CONCAT(DISTINCT a.site), GROUP_CONCAT(DISTINCT a.language),
                    COALESCE((SELECT f.title FROM articles f WHERE f.id = a.story_id), MAX(a.title)),
                    MAX(a.stored_at) AS touched
             FROM articles a GROUP BY a.story_id
             HAVING touched >= ?1 AND n >= ?2
             ORDER BY touched DESC, last DESC, a.story_id LIMIT ?3",
        )?;
        let list = |v: Option<String>| -> Vec<String> {
            let mut items: Vec<String> = v
                .unwrap_or_default()
                .split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect();
            items.sort();
            items
        };
        let epoch = DateTime::<Utc>::UNIX_EPOCH;
        let rows = stmt.query_map(
            params![
                ts(active_since),
                i64::try_from(min_articles).unwrap_or(i64::MAX),
                i64::try_from(limit).unwrap_or(i64::MAX)
            ],
            |r| {
                Ok(StorySummary {
                    story_id: r.get(0)?,
                    articles: r.get::<_, i64>(1)?.max(0) as u64,
                    first_seen: from_ts(r.get(2)?).unwrap_or(epoch),
                    last_seen: from_ts(r.get(3)?).unwrap_or(epoch),
                    sites: list(r.get(4)?),
                    languages: list(r.get(5)?),
                    title: r.get(6)?,
                })
            },
        )?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    /// Records a failed attempt; the item stays pending until `retry_at`.
    pub fn record_attempt_failure(
        &self,
        canonical_url: &str,
        error: &str,
        retry_at: DateTime<Utc>,
    ) -> Result<u32> {
        self.conn.execute(
            "UPDATE pending SET attempts = attempts + 1, last_error = ?2, next_attempt_at = ?3
             WHERE canonical_url = ?1",
            params![canonical_url, error, ts(retry_at)],
        )?;
        Ok(self
            .conn
            .query_row(
                "SELECT attempts FROM pending WHERE canonical_url = ?1",
                [canonical_url],
                |r| r.get(0),
            )
            .optional()?
            .unwrap_or(0))
    }

    /// Articles stored at or after `since`, oldest first, to rebuild the dedup index.
    pub fn remembered_since(&self, since: DateTime<Utc>) -> Result<Vec<Remembered>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, canonical_url, content_hash, signature, story_id, stored_at, story_terms,
                    COALESCE(story_at, stored_at) FROM articles
             WHERE stored_at >= ?1 ORDER BY stored_at, rowid",
        )?;
        let rows = stmt.query_map([ts(since)], |r| {
            let sig: Option<Vec<u8>> = r.get(3)?;
            Ok(Remembered {
                id: r.get(0)?,
                story_id: r.get(4)?,
                stored_at: r.get(5)?,
                story_terms: r
                    .get::<_, Option<Vec<u8>>>(6)?
                    .map(|b| newsriver_dedup::Assignment::terms_from_bytes(&b))
                    .unwrap_or_default(),
                story_at: r.get(7)?,
                fingerprint: Fingerprint {
                    canonical_url: r.get(1)?,
                    content_hash: r.get(2)?,
                    signature: sig.as_deref().and_then(Signature::from_bytes),
                    // Read when a candidate needs verifying, not kept in memory.
                    shingles: Vec::new(),
                },
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The shingle set stored with article `id`, if it has one.
    pub fn shingles(&self, id: &str) -> Result<Option<Vec<u32>>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT shingles FROM articles WHERE id = ?1")?;
        let blob: Option<Option<Vec<u8>>> = stmt.query_row([id], |r| r.get(0)).optional()?;
        Ok(blob.flatten().map(|b| newsriver_dedup::u32s_from_bytes(&b)))
    }

    /// The story-term vectors of the articles [`Store::expire`] would forget, so the story
    /// index can forget their document frequencies too.
    pub fn story_terms_before(&self, before: DateTime<Utc>) -> Result<Vec<Vec<(u64, f32)>>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT story_terms FROM articles WHERE stored_at < ?1 AND story_terms IS NOT NULL",
        )?;
        let rows = stmt.query_map([ts(before)], |r| {
            Ok(newsriver_dedup::Assignment::terms_from_bytes(
                &r.get::<_, Vec<u8>>(0)?,
            ))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Forgets articles and seen URLs older than `before` (the retention window).
    pub fn expire(&self, before: DateTime<Utc>) -> Result<usize> {
        let a = self
            .conn
            .execute("DELETE FROM articles WHERE stored_at < ?1", [ts(before)])?;
        let s = self
            .conn
            .execute("DELETE FROM seen WHERE seen_at < ?1", [ts(before)])?;
        Ok(a + s)
    }
}

impl newsriver_dedup::ShingleSource for Store {
    fn shingles(&mut self, id: &str) -> Option<Vec<u32>> {
        match Store::shingles(self, id) {
            Ok(found) => found,
            Err(e) => {
                tracing::warn!(error = %e, id, "reading shingles for verification failed");
                None
            }
        }
    }
}

fn hints_json(h: &ItemHints) -> String {
    serde_json::to_string(h).unwrap_or_else(|_| "{}".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(u: &str) -> PendingItem {
        PendingItem {
            canonical_url: u.to_string(),
            url: u.to_string(),
            source: "feed".into(),
            hints: ItemHints::default(),
            attempts: 0,
        }
    }

    #[test]
    fn pending_survives_reopen_until_completed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/newsriver.sqlite");
        {
            let mut s = Store::open(&path).unwrap();
            let feed = FeedState {
                url: "http://f".into(),
                etag: Some("e1".into()),
                ..Default::default()
            };
            // The schedule sees the count of new items before the feed state is stored.
            let schedule = |new: usize, f: &mut FeedState| f.interval_secs = Some(new as u64 * 100);
            assert_eq!(
                s.record_poll(
                    &mut feed.clone(),
                    &[item("http://a"), item("http://b")],
                    schedule
                )
                .unwrap(),
                2
            );
            assert_eq!(
                s.feed("http://f").unwrap().unwrap().interval_secs,
                Some(200)
            );
            // Listing the same items again adds nothing.
            assert_eq!(
                s.record_poll(&mut feed.clone(), &[item("http://a")], |_, _| {})
                    .unwrap(),
                0
            );
        }
        let mut s = Store::open(&path).unwrap();
        assert_eq!(
            s.feed("http://f").unwrap().unwrap().etag.as_deref(),
            Some("e1")
        );
        assert_eq!(s.due_pending(Utc::now(), 10).unwrap().len(), 2);
        let fp = Fingerprint::new("http://a", "some words to sign here and more");
        let rem = Remembered {
            id: "id-a".into(),
            story_id: "id-a".into(),
            fingerprint: fp.clone(),
            stored_at: 0,
            story_terms: vec![(7, 0.5), (9, 0.25)],
            story_at: 42,
        };
        s.complete(&["http://a"], Outcome::Published, Some(&rem))
            .unwrap();
        assert!(s.is_seen("http://a").unwrap());
        assert_eq!(s.pending_count().unwrap(), 1);
        let feed = s.feed("http://f").unwrap().unwrap();
        assert_eq!(
            s.record_poll(&mut feed.clone(), &[item("http://a")], |_, _| {})
                .unwrap(),
            0
        );
        let back = s
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
        assert_eq!(s.shingles("id-a").unwrap(), Some(fp.shingles.clone()));
        assert_eq!(s.shingles("id-missing").unwrap(), None);
        assert_eq!(back[0].story_terms, vec![(7, 0.5), (9, 0.25)]);
        assert_eq!(back[0].story_at, 42);
        // What expiry would forget, read before the rows go.
        assert!(s
            .story_terms_before(Utc::now() - chrono::Duration::days(1))
            .unwrap()
            .is_empty());
        assert_eq!(
            s.story_terms_before(Utc::now() + chrono::Duration::days(1))
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
        s.complete_all(&[
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
        let all = s.stories(since, 1, 10).unwrap();
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
        let multi = s.stories(since, 2, 10).unwrap();
        assert_eq!(multi.len(), 1);
        assert_eq!(s.stories(since, 1, 1).unwrap().len(), 1);
        // Nothing was stored after `later`: no story is active then.
        let later = Utc::now() + chrono::Duration::hours(1);
        assert!(s.stories(later, 1, 10).unwrap().is_empty());
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
        assert_eq!(s.shingles("old").unwrap(), None);
        let fp = Fingerprint::new("http://new", "words of a new article to remember");
        let rem = Remembered {
            id: "new".into(),
            story_id: "new".into(),
            fingerprint: fp.clone(),
            stored_at: 0,
            story_terms: Vec::new(),
            story_at: 0,
        };
        s.complete(&["http://new"], Outcome::Published, Some(&rem))
            .unwrap();
        assert_eq!(s.shingles("new").unwrap(), Some(fp.shingles));
        let version: i64 = s
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, migrate::latest_version());
    }

    #[test]
    fn many_items_complete_in_one_transaction() {
        let mut s = Store::open_in_memory().unwrap();
        let mut feed = FeedState {
            url: "f".into(),
            ..Default::default()
        };
        s.record_poll(&mut feed, &[item("a"), item("b"), item("c")], |_, _| {})
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
        s.complete_all(&[
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
            assert!(s.is_seen(url).unwrap(), "{url}");
        }
        assert!(!s.is_seen("c").unwrap());
        assert_eq!(s.pending_count().unwrap(), 1);
        assert_eq!(s.shingles("id-a").unwrap(), Some(fp.shingles));
        // Seen URLs, not items: the published article was known under two.
        assert_eq!(s.outcome_counts().unwrap(), (2, 1, 0));
    }

    #[test]
    fn failures_delay_retries() {
        let mut s = Store::open_in_memory().unwrap();
        s.record_poll(
            &mut FeedState {
                url: "f".into(),
                ..Default::default()
            },
            &[item("u")],
            |_, _| {},
        )
        .unwrap();
        let later = Utc::now() + chrono::Duration::minutes(5);
        assert_eq!(s.record_attempt_failure("u", "500", later).unwrap(), 1);
        assert!(s.due_pending(Utc::now(), 10).unwrap().is_empty());
        assert_eq!(s.due_pending(later, 10).unwrap().len(), 1);
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
        let writer = Store::open(&path).unwrap();
        writer
            .ensure_feeds(&["https://example.com/feed".into()])
            .unwrap();
        let reader = Store::open_read_only(&path).unwrap();
        assert_eq!(reader.feeds().unwrap().len(), 1);
        assert!(reader
            .ensure_feeds(&["https://example.com/other".into()])
            .is_err());
        drop(writer);
        // After the writer closed (WAL checkpointed and removed) it still opens.
        drop(reader);
        assert_eq!(
            Store::open_read_only(&path).unwrap().feeds().unwrap().len(),
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
    fn due_pending_walks_an_index_instead_of_sorting_the_backlog() {
        let store = Store::open_in_memory().unwrap();
        let plan: Vec<String> = store
            .conn
            .prepare(&format!("EXPLAIN QUERY PLAN {DUE_PENDING}"))
            .unwrap()
            .query_map(params![0, 10], |r| r.get::<_, String>(3))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        let plan = plan.join("; ");
        assert!(plan.contains("pending_order"), "{plan}");
        assert!(!plan.contains("TEMP B-TREE"), "{plan}");
    }
}
