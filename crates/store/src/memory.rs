//! What dedup remembers of published articles (the `articles` table): hashes, MinHash
//! signature, shingle set and story terms, to rebuild its index on start and verify
//! near-duplicate candidates; and the story listing read from the same rows.
//!
//! The byte encoding of signatures, shingle sets and story terms in their BLOB columns
//! is in [`encoding`], and nowhere else in the store.

use chrono::{DateTime, Utc};
use newsriver_dedup::Fingerprint;
use rusqlite::{params, CachedStatement, Connection, OptionalExtension, Transaction};

use crate::{from_ts, ts, Result};

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

/// A published article as story listings show it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Listing<'a> {
    pub title: Option<&'a str>,
    /// ISO 639-1.
    pub language: Option<&'a str>,
    /// The host the article was published on.
    pub site: Option<&'a str>,
}

/// One story of [`Memory::stories`].
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

/// How BLOB columns hold what dedup computes. The formats are dedup's codecs (4 bytes
/// little-endian a value for signatures and shingle sets, 12 bytes a story term); this
/// is the one place the store calls them, so a format change has one place to look.
mod encoding {
    use newsriver_dedup::{Assignment, Signature};

    pub fn signature(s: &Signature) -> Vec<u8> {
        s.to_bytes()
    }

    /// `None` for a blob of the wrong length (no signature rather than a wrong one).
    pub fn signature_from(b: &[u8]) -> Option<Signature> {
        Signature::from_bytes(b)
    }

    /// An empty set (a restored fingerprint) is stored as no set.
    pub fn shingles(s: &[u32]) -> Option<Vec<u8>> {
        (!s.is_empty()).then(|| newsriver_dedup::u32s_to_bytes(s))
    }

    pub fn shingles_from(b: &[u8]) -> Vec<u32> {
        newsriver_dedup::u32s_from_bytes(b)
    }

    pub fn terms(t: &[(u64, f32)]) -> Vec<u8> {
        Assignment::terms_to_bytes(t)
    }

    pub fn terms_from(b: &[u8]) -> Vec<(u64, f32)> {
        Assignment::terms_from_bytes(b)
    }
}

/// The `articles` table, borrowed from a [`Store`](crate::Store) by
/// [`Store::memory`](crate::Store::memory).
pub struct Memory<'a> {
    pub(crate) conn: &'a mut Connection,
}

impl Memory<'_> {
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
                    .map(|b| encoding::terms_from(&b))
                    .unwrap_or_default(),
                story_at: r.get(7)?,
                fingerprint: Fingerprint {
                    canonical_url: r.get(1)?,
                    content_hash: r.get(2)?,
                    signature: sig.as_deref().and_then(encoding::signature_from),
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
        Ok(blob.flatten().map(|b| encoding::shingles_from(&b)))
    }

    /// The story-term vectors of the articles [`Memory::forget_before`] would forget,
    /// so the story index can forget their document frequencies too.
    pub fn story_terms_before(&self, before: DateTime<Utc>) -> Result<Vec<Vec<(u64, f32)>>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT story_terms FROM articles WHERE stored_at < ?1 AND story_terms IS NOT NULL",
        )?;
        let rows = stmt.query_map([ts(before)], |r| {
            Ok(encoding::terms_from(&r.get::<_, Vec<u8>>(0)?))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Forgets articles stored before `before`; returns how many. (Seen URLs follow the
    /// same window: [`Store::expire`](crate::Store::expire) forgets both.)
    pub fn forget_before(&self, before: DateTime<Utc>) -> Result<usize> {
        Ok(self
            .conn
            .execute("DELETE FROM articles WHERE stored_at < ?1", [ts(before)])?)
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
}

/// Writes remembered articles inside the work queue's completion transaction
/// ([`WorkQueue::complete_all`](crate::WorkQueue::complete_all)), which marks them seen
/// in the same commit.
pub(crate) struct Remembering<'t> {
    insert: CachedStatement<'t>,
}

impl<'t> Remembering<'t> {
    pub(crate) fn prepare(tx: &'t Transaction<'_>) -> Result<Remembering<'t>> {
        Ok(Remembering {
            insert: tx.prepare_cached(
                "INSERT OR REPLACE INTO articles (id, canonical_url, content_hash, signature, story_id, stored_at,
                                                  story_terms, story_at, shingles, title, language, site)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            )?,
        })
    }

    /// Stores `a` as of `now` (its `stored_at` is ignored).
    pub(crate) fn remember(
        &mut self,
        a: &Remembered,
        listing: &Listing<'_>,
        now: i64,
    ) -> Result<()> {
        self.insert.execute(params![
            a.id,
            a.fingerprint.canonical_url,
            a.fingerprint.content_hash,
            a.fingerprint.signature.as_ref().map(encoding::signature),
            a.story_id,
            now,
            encoding::terms(&a.story_terms),
            a.story_at,
            encoding::shingles(&a.fingerprint.shingles),
            listing.title,
            listing.language,
            listing.site,
        ])?;
        Ok(())
    }
}
