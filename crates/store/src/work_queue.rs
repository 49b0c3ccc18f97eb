//! The work queue: configured feeds and their poll state, items accepted and not yet
//! finished (`pending`), and how finished items ended (`seen`).
//!
//! The at-least-once contract lives here: an item becomes pending in the same
//! transaction that records the feed poll which found it ([`WorkQueue::record_poll`]),
//! and leaves pending only in the transaction that records its outcome
//! ([`WorkQueue::complete_all`]), after the sink acknowledged it. A crash anywhere in
//! between leaves it pending, and the next start processes it again.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use newsriver_model::{ItemHints, Job, PageJob};
use rusqlite::types::{FromSql, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use rusqlite::{params, Connection, OptionalExtension};

use crate::memory::{self, Listing, Remembered};
use crate::{from_ts, ts, Result};

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
    /// How the last poll went; `None` until the feed was polled once.
    pub last_status: Option<FeedStatus>,
    /// Failed polls in a row (0 after a success); sets the error backoff.
    pub error_count: u32,
    /// Why the last poll failed (the fetch error, or `410 Gone`); `None` after a success.
    pub last_error: Option<String>,
    /// A stable number for the API and the CLI (`/api/feeds/{id}`); 0 before it is stored.
    pub id: i64,
    /// Where the feed comes from, which decides how it is removed.
    pub origin: FeedOrigin,
    /// Paused feeds are not polled (what they listed before is still processed).
    pub paused: bool,
    /// Per-feed settings as the newsriver crate writes them (JSON); `None`: the global ones.
    pub settings: Option<String>,
}

/// Where a feed comes from, as `feeds.origin` stores it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum FeedOrigin {
    /// Listed by the configuration (`feeds.urls`, `feeds.opml`): polled while it is listed.
    #[default]
    Config,
    /// Added through the admin API or `newsriver feeds add`: polled until removed that way.
    Api,
}

impl FeedOrigin {
    pub fn as_str(self) -> &'static str {
        match self {
            FeedOrigin::Config => "config",
            FeedOrigin::Api => "api",
        }
    }
}

impl FromSql for FeedOrigin {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        // Anything but 'api' is a config feed: the safer reading, as it is never polled
        // unless the configuration lists it.
        Ok(match value.as_str()? {
            "api" => FeedOrigin::Api,
            _ => FeedOrigin::Config,
        })
    }
}

/// How the last poll of a feed went, as `feeds.last_status` stores it.
///
/// The column keeps the [`Display`](fmt::Display) form (`ok`, `repaired (…)`,
/// `not_modified`, `gone`, `error`), the strings builds before this type wrote, so old
/// databases read the same. A failed poll's reason is not here but in
/// [`FeedState::last_error`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedStatus {
    /// Fetched and parsed as it was.
    Ok,
    /// Fetched and parsed after repairs; what was repaired and how many entries were
    /// dropped, e.g. `charset, truncated; 1 entry dropped`. Stored as `repaired (…)`.
    Repaired(String),
    /// Answered 304 Not Modified to the stored validators.
    NotModified,
    /// Answered 410 Gone: the feed is retired.
    Gone,
    /// The poll failed; [`FeedState::last_error`] says how.
    Error,
    /// A status this build does not know (written by another build), kept as stored
    /// rather than failing to read the feed.
    Other(String),
}

impl FeedStatus {
    /// The status without its details: `repaired` for [`FeedStatus::Repaired`].
    pub fn word(&self) -> &str {
        match self {
            FeedStatus::Ok => "ok",
            FeedStatus::Repaired(_) => "repaired",
            FeedStatus::NotModified => "not_modified",
            FeedStatus::Gone => "gone",
            FeedStatus::Error => "error",
            FeedStatus::Other(s) => s,
        }
    }

    /// What was repaired, for [`FeedStatus::Repaired`].
    pub fn details(&self) -> Option<&str> {
        match self {
            FeedStatus::Repaired(d) => Some(d),
            _ => None,
        }
    }
}

impl fmt::Display for FeedStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FeedStatus::Repaired(details) => write!(f, "repaired ({details})"),
            other => f.write_str(other.word()),
        }
    }
}

impl FromStr for FeedStatus {
    /// Every string reads: one this build does not know is [`FeedStatus::Other`].
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        Ok(match s {
            "ok" => FeedStatus::Ok,
            "not_modified" => FeedStatus::NotModified,
            "gone" => FeedStatus::Gone,
            "error" => FeedStatus::Error,
            _ => match s
                .strip_prefix("repaired (")
                .and_then(|d| d.strip_suffix(')'))
            {
                Some(details) => FeedStatus::Repaired(details.to_string()),
                None => FeedStatus::Other(s.to_string()),
            },
        })
    }
}

impl ToSql for FeedStatus {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.to_string()))
    }
}

impl FromSql for FeedStatus {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        let text = value.as_str()?;
        Ok(text.parse().unwrap_or_else(|never| match never {}))
    }
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
    /// Left out on purpose by a filter (`filter.languages`).
    Filtered,
}

impl Outcome {
    /// As `seen.outcome` stores it.
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Published => "published",
            Outcome::Duplicate => "duplicate",
            Outcome::Failed => "failed",
            Outcome::Filtered => "filtered",
        }
    }
}

/// How one item ended, for [`WorkQueue::complete_all`].
pub struct Completion<'a> {
    /// Every canonical URL the item was known under (listed and page canonical).
    pub urls: Vec<&'a str>,
    pub outcome: Outcome,
    /// What dedup must remember of a published article.
    pub article: Option<&'a Remembered>,
    /// What `newsriver stories` shows of it (with `article` only).
    pub listing: Listing<'a>,
}

/// A WARC record a backfill is done with, for [`WorkQueue::complete_all_with_records`].
pub struct WarcRecordDone<'a> {
    pub record_id: &'a str,
    pub file: &'a str,
    pub offset: u64,
    pub outcome: Outcome,
}

/// Feeds by state, from [`WorkQueue::feed_counts`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FeedCounts {
    /// Polled, last poll fine.
    pub ok: u64,
    /// Polled, the last poll (or more) failed.
    pub failing: u64,
    /// Answered 410 Gone: no longer polled.
    pub retired: u64,
}

/// Seen URLs by outcome over the retention window, from [`WorkQueue::outcome_counts`].
/// URLs, not items: a published page can be known under a listed and a canonical URL.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutcomeCounts {
    pub published: u64,
    pub duplicate: u64,
    /// Given up on (and any outcome this build does not know).
    pub failed: u64,
    /// Left out by a filter.
    pub filtered: u64,
}

/// A pending item that failed at least once, from [`WorkQueue::retrying`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retrying {
    pub url: String,
    /// Failed attempts so far.
    pub attempts: u32,
    /// The last attempt's error (empty when none was recorded).
    pub last_error: String,
}

/// The id a new feed row gets: ids are never reused while a higher one exists.
const NEXT_FEED_ID: &str = "(SELECT COALESCE(MAX(id), 0) + 1 FROM feeds)";

/// Every column of a feed, in [`feed_row`]'s order.
const SELECT_FEEDS: &str = "SELECT url, title, etag, last_modified, next_poll_at, last_polled_at,
        last_success_at, last_status, error_count, last_error,
        fetch_url, interval_secs, retired, id, origin, paused, settings
     FROM feeds";

fn feed_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<FeedState> {
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
        id: r.get::<_, Option<i64>>(13)?.unwrap_or(0),
        origin: r.get(14)?,
        paused: r.get(15)?,
        settings: r.get(16)?,
    })
}

/// The oldest due pending items; served by the `pending_order` index.
pub(crate) const DUE_PENDING: &str =
    "SELECT canonical_url, url, source, hints, attempts FROM pending
     WHERE next_attempt_at <= ?1 ORDER BY enqueued_at, canonical_url LIMIT ?2";

/// The feeds, pending and seen tables, borrowed from a [`Store`](crate::Store) by
/// [`Store::queue`](crate::Store::queue).
pub struct WorkQueue<'a> {
    pub(crate) conn: &'a mut Connection,
}

impl WorkQueue<'_> {
    /// Makes sure every configured feed has a row; new feeds are due at once.
    pub fn ensure_feeds(&self, urls: &[String]) -> Result<()> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "INSERT OR IGNORE INTO feeds (url, next_poll_at, id) VALUES (?1, 0, {NEXT_FEED_ID})"
        ))?;
        for url in urls {
            stmt.execute([url])?;
        }
        Ok(())
    }

    /// Every feed with a row, by URL.
    pub fn feeds(&self) -> Result<Vec<FeedState>> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!("{SELECT_FEEDS} ORDER BY url"))?;
        let rows = stmt.query_map([], feed_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn feed(&self, url: &str) -> Result<Option<FeedState>> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!("{SELECT_FEEDS} WHERE url = ?1"))?;
        Ok(stmt.query_row([url], feed_row).optional()?)
    }

    pub fn feed_by_id(&self, id: i64) -> Result<Option<FeedState>> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!("{SELECT_FEEDS} WHERE id = ?1"))?;
        Ok(stmt.query_row([id], feed_row).optional()?)
    }

    /// Makes `url` a feed of [`FeedOrigin::Api`] with these settings, due at once. A row
    /// the feed already had (a feed the configuration listed once) keeps its poll state,
    /// except that a feed retired by a 410 is tried again: adding it asks for that.
    /// Whether the feed may be added (not a duplicate) is the caller's to decide.
    pub fn add_feed(&self, url: &str, settings: Option<&str>, paused: bool) -> Result<FeedState> {
        self.conn.execute(
            &format!(
                "INSERT INTO feeds (url, next_poll_at, id, origin, settings, paused)
                 VALUES (?1, 0, {NEXT_FEED_ID}, 'api', ?2, ?3)
                 ON CONFLICT(url) DO UPDATE SET origin = 'api', settings = excluded.settings,
                    paused = excluded.paused, next_poll_at = 0, retired = 0"
            ),
            params![url, settings, paused],
        )?;
        self.feed(url)?
            .ok_or_else(|| crate::StoreError::Sqlite(rusqlite::Error::QueryReturnedNoRows))
    }

    /// Forgets the feed `url` (its poll state and settings); what it listed before stays
    /// pending and is processed. Returns whether it had a row.
    pub fn remove_feed(&self, url: &str) -> Result<bool> {
        Ok(self
            .conn
            .execute("DELETE FROM feeds WHERE url = ?1", [url])?
            > 0)
    }

    /// Pauses or resumes the feed `url`; returns whether it had a row.
    pub fn set_paused(&self, url: &str, paused: bool) -> Result<bool> {
        Ok(self.conn.execute(
            "UPDATE feeds SET paused = ?2 WHERE url = ?1",
            params![url, paused],
        )? > 0)
    }

    /// Makes the feed `url` due now; returns whether it had a row.
    pub fn poll_now(&self, url: &str) -> Result<bool> {
        Ok(self
            .conn
            .execute("UPDATE feeds SET next_poll_at = 0 WHERE url = ?1", [url])?
            > 0)
    }

    /// Records a poll and accepts its new items, in one transaction: either both the
    /// new feed state and the pending items are stored, or neither. `schedule` sees how
    /// many items were new before the feed state is written (the poll interval adapts
    /// to it). Returns how many items were new.
    pub fn record_poll(
        &mut self,
        feed: &mut FeedState,
        items: &[Job],
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
                let hints = hints_json(&item.page.hints);
                added += insert.execute(params![
                    item.canonical_url,
                    item.page.url,
                    item.page.source,
                    hints,
                    now
                ])?;
            }
        }
        schedule(added, feed);
        tx.execute(
            // Origin, paused and settings are the API's: a poll never writes them, so a
            // pause sent while the feed was being polled holds.
            &format!("INSERT INTO feeds (url, title, etag, last_modified, next_poll_at, last_polled_at,
                                last_success_at, last_status, error_count, last_error,
                                fetch_url, interval_secs, retired, id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, {NEXT_FEED_ID})
             ON CONFLICT(url) DO UPDATE SET title = excluded.title, etag = excluded.etag,
                fetch_url = excluded.fetch_url, interval_secs = excluded.interval_secs,
                retired = excluded.retired,
                last_modified = excluded.last_modified, next_poll_at = excluded.next_poll_at,
                last_polled_at = excluded.last_polled_at, last_success_at = excluded.last_success_at,
                last_status = excluded.last_status, error_count = excluded.error_count,
                last_error = excluded.last_error"),
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
    pub fn due_pending(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<Job>> {
        let mut stmt = self.conn.prepare_cached(DUE_PENDING)?;
        let rows = stmt.query_map(params![ts(now), limit as i64], |r| {
            let hints: String = r.get(3)?;
            Ok(Job {
                page: PageJob {
                    url: r.get(1)?,
                    source: r.get(2)?,
                    hints: serde_json::from_str(&hints).unwrap_or_default(),
                },
                canonical_url: r.get(0)?,
                attempts: r.get(4)?,
                warc: None,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Seen URLs by outcome over the retention window.
    pub fn outcome_counts(&self) -> Result<OutcomeCounts> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT outcome, COUNT(*) FROM seen GROUP BY outcome")?;
        let mut counts = OutcomeCounts::default();
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, u64>(1)?)))?;
        for row in rows {
            let (outcome, n) = row?;
            match outcome.as_str() {
                "published" => counts.published = n,
                "duplicate" => counts.duplicate = n,
                "filtered" => counts.filtered = n,
                _ => counts.failed += n,
            }
        }
        Ok(counts)
    }

    /// Pending items that failed at least once, with their last error, worst first.
    pub fn retrying(&self, limit: usize) -> Result<Vec<Retrying>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT url, attempts, COALESCE(last_error, '') FROM pending WHERE attempts > 0
             ORDER BY attempts DESC, url LIMIT ?1",
        )?;
        let rows = stmt.query_map([limit as i64], |r| {
            Ok(Retrying {
                url: r.get(0)?,
                attempts: r.get(1)?,
                last_error: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Feeds by how they stand, counted in the database (metrics ask often, and a
    /// daemon may poll tens of thousands of feeds).
    pub fn feed_counts(&self) -> Result<FeedCounts> {
        Ok(self.conn.query_row(
            "SELECT COALESCE(SUM(retired = 0 AND error_count = 0), 0),
                    COALESCE(SUM(retired = 0 AND error_count > 0), 0),
                    COALESCE(SUM(retired != 0), 0)
             FROM feeds",
            [],
            |r| {
                Ok(FeedCounts {
                    ok: r.get(0)?,
                    failing: r.get(1)?,
                    retired: r.get(2)?,
                })
            },
        )?)
    }

    /// When the oldest item still pending was accepted; `None` with nothing pending. The
    /// `pending_order` index answers it without reading the backlog.
    pub fn oldest_pending_at(&self) -> Result<Option<DateTime<Utc>>> {
        let at: Option<i64> =
            self.conn
                .query_row("SELECT MIN(enqueued_at) FROM pending", [], |r| r.get(0))?;
        Ok(from_ts(at))
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

    /// [`WorkQueue::complete`] for many items in one transaction: a commit per article
    /// capped the store at a few thousand articles a second. A published article is
    /// remembered for dedup in the same transaction that marks it seen, so a crash
    /// leaves either both or neither.
    pub fn complete_all(&mut self, items: &[Completion<'_>]) -> Result<()> {
        self.complete_all_with_records(items, &[])
    }

    /// [`WorkQueue::complete_all`], recording in the same transaction that the WARC
    /// records `records` are done (so a record is done exactly when its article is).
    pub fn complete_all_with_records(
        &mut self,
        items: &[Completion<'_>],
        records: &[WarcRecordDone<'_>],
    ) -> Result<()> {
        let tx = self.conn.transaction()?;
        let now = ts(Utc::now());
        {
            let mut record = tx.prepare_cached(
                "INSERT INTO warc_records (record_id, file, record_offset, outcome, done_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT(record_id) DO UPDATE SET outcome = excluded.outcome,
                    done_at = excluded.done_at",
            )?;
            for r in records {
                record.execute(params![
                    r.record_id,
                    r.file,
                    r.offset as i64,
                    r.outcome.as_str(),
                    now
                ])?;
            }
            let mut seen = tx.prepare_cached(
                "INSERT INTO seen (canonical_url, article_id, outcome, seen_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(canonical_url) DO UPDATE SET outcome = excluded.outcome,
                    article_id = COALESCE(excluded.article_id, seen.article_id), seen_at = excluded.seen_at",
            )?;
            let mut unpend = tx.prepare_cached("DELETE FROM pending WHERE canonical_url = ?1")?;
            let mut remember = memory::Remembering::prepare(&tx)?;
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
                    remember.remember(a, &item.listing, now)?;
                }
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Whether the WARC record `record_id` was done by an earlier backfill.
    pub fn is_warc_record_done(&self, record_id: &str) -> Result<bool> {
        Ok(self
            .conn
            .prepare_cached("SELECT 1 FROM warc_records WHERE record_id = ?1")?
            .exists([record_id])?)
    }

    /// Records a failed attempt; the item stays pending until `retry_at`. Returns its
    /// failed attempts so far (0 when it is not pending).
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

    /// Forgets seen URLs older than `before`; returns how many.
    pub(crate) fn forget_seen_before(&self, before: DateTime<Utc>) -> Result<usize> {
        Ok(self
            .conn
            .execute("DELETE FROM seen WHERE seen_at < ?1", [ts(before)])?)
    }
}

fn hints_json(h: &ItemHints) -> String {
    serde_json::to_string(h).unwrap_or_else(|_| "{}".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Store;

    #[test]
    fn feed_status_reads_back_what_it_writes_and_what_older_builds_wrote() {
        for (text, status) in [
            ("ok", FeedStatus::Ok),
            ("not_modified", FeedStatus::NotModified),
            ("gone", FeedStatus::Gone),
            ("error", FeedStatus::Error),
            (
                "repaired (charset, truncated; 1 entry dropped)",
                FeedStatus::Repaired("charset, truncated; 1 entry dropped".into()),
            ),
            ("teapot", FeedStatus::Other("teapot".into())),
            ("repaired", FeedStatus::Other("repaired".into())),
        ] {
            assert_eq!(text.parse::<FeedStatus>(), Ok(status.clone()), "{text}");
            assert_eq!(status.to_string(), text);
        }
        assert_eq!(FeedStatus::Repaired("x".into()).word(), "repaired");
        assert_eq!(FeedStatus::Repaired("x".into()).details(), Some("x"));

        // The column holds the same strings as before the type.
        let mut store = Store::open_in_memory().unwrap();
        let mut q = store.queue();
        let mut feed = FeedState {
            url: "f".into(),
            last_status: Some(FeedStatus::Repaired("charset".into())),
            ..Default::default()
        };
        q.record_poll(&mut feed, &[], |_, _| {}).unwrap();
        let stored: String = q
            .conn
            .query_row("SELECT last_status FROM feeds", [], |r| r.get(0))
            .unwrap();
        assert_eq!(stored, "repaired (charset)");
        q.conn
            .execute("UPDATE feeds SET last_status = 'not_modified'", [])
            .unwrap();
        assert_eq!(
            q.feed("f").unwrap().unwrap().last_status,
            Some(FeedStatus::NotModified)
        );
    }

    #[test]
    fn feeds_get_stable_ids_and_api_state_survives_polls() {
        let mut store = Store::open_in_memory().unwrap();
        let mut q = store.queue();
        q.ensure_feeds(&["http://a".into(), "http://b".into()])
            .unwrap();
        let added = q.add_feed("http://c", Some("{}"), false).unwrap();
        assert_eq!(added.id, 3);
        assert_eq!(added.origin, FeedOrigin::Api);
        assert_eq!(q.feed_by_id(1).unwrap().unwrap().url, "http://a");
        assert!(q.set_paused("http://c", true).unwrap());
        // A poll that started before the pause writes its result without undoing it.
        let mut polled = added.clone();
        polled.title = Some("C".into());
        q.record_poll(&mut polled, &[], |_, _| {}).unwrap();
        let c = q.feed("http://c").unwrap().unwrap();
        assert!(c.paused);
        assert_eq!(c.origin, FeedOrigin::Api);
        assert_eq!(c.settings.as_deref(), Some("{}"));
        assert_eq!(c.title.as_deref(), Some("C"));
        assert!(q.remove_feed("http://a").unwrap());
        assert!(!q.remove_feed("http://a").unwrap());
        // Ids are not reused for the feeds that remain.
        q.ensure_feeds(&["http://d".into()]).unwrap();
        assert_eq!(q.feed("http://d").unwrap().unwrap().id, 4);
        // Adding a feed the configuration listed once keeps its row and id, and tries it
        // again if it had been retired.
        q.conn
            .execute("UPDATE feeds SET retired = 1 WHERE url = 'http://b'", [])
            .unwrap();
        let b = q.add_feed("http://b", None, true).unwrap();
        assert_eq!((b.id, b.origin, b.paused), (2, FeedOrigin::Api, true));
        assert!(!b.retired);
    }

    #[test]
    fn due_pending_walks_an_index_instead_of_sorting_the_backlog() {
        let mut store = Store::open_in_memory().unwrap();
        let q = store.queue();
        let plan: Vec<String> = q
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
