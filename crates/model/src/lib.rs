//! Types shared by every newsriver stage.
//!
//! The [`Article`] record is the public output contract: its JSON form is described by
//! `schema/article.schema.json` and versioned by [`SCHEMA_VERSION`]. Change both together.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Version of the output record schema. Bump the minor part for added fields, the major
/// part for anything a consumer could trip on (renamed, removed or retyped fields).
pub const SCHEMA_VERSION: &str = "1.2.0";

/// `source` value for articles that came from a URL list rather than a feed.
pub const BACKFILL_SOURCE: &str = "backfill";

/// Stable article identifier: the first 128 bits of SHA-256 over the canonical URL, in hex.
///
/// Derived from the URL rather than the content so that a re-fetch or an edit of the same
/// article keeps its id (and its Kafka partition).
pub fn article_id(canonical_url: &str) -> String {
    let digest = Sha256::digest(canonical_url.as_bytes());
    hex::encode(&digest[..16])
}

/// One published article: the record written to JSON lines and Kafka.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Article {
    pub schema_version: String,
    pub id: String,
    /// The URL the article was requested under (feed link or backfill line).
    pub url: String,
    pub canonical_url: String,
    pub title: Option<String>,
    pub text: String,
    pub published_at: Option<DateTime<Utc>>,
    pub modified_at: Option<DateTime<Utc>>,
    pub authors: Vec<String>,
    /// BCP 47-ish language code (`ar`, `en`, `fr`...), when known.
    pub language: Option<String>,
    pub image: Option<String>,
    /// Feed URL the article was listed in, or `"backfill"`.
    pub source: String,
    pub fetched_at: DateTime<Utc>,
    pub dedup: DedupInfo,
    /// The publisher marks the article as not free to read; its text may stop at the wall.
    /// (Since schema 1.1.0: absent, it reads as false.)
    #[serde(default)]
    pub paywalled: bool,
    /// Keywords the feed (item categories) or the news sitemap (`news:keywords`) gives.
    /// (Since schema 1.2.0: absent, it reads as none.)
    #[serde(default)]
    pub keywords: Vec<String>,
}

/// What deduplication decided about an article.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DedupInfo {
    pub status: DedupStatus,
    /// Id of the earlier article this one duplicates, when `status` is `duplicate`.
    pub duplicate_of: Option<String>,
    /// Why it is a duplicate: `url`, `text` or `near_text`.
    pub reason: Option<DuplicateReason>,
    /// Articles about the same event share a story id (the id of the story's first article).
    pub story_id: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DedupStatus {
    Unique,
    Duplicate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DuplicateReason {
    /// Same canonical URL as an article already seen.
    Url,
    /// Same normalized text.
    Text,
    /// Text similar above the configured Jaccard threshold.
    NearText,
}

/// Hints a feed gives about an item, used when the page itself lacks them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ItemHints {
    pub title: Option<String>,
    pub published_at: Option<DateTime<Utc>>,
    pub authors: Vec<String>,
    /// The language the feed item or the news sitemap entry (`news:language`) declares for
    /// this article (not a whole channel's `<language>`): used when the page declares
    /// none, before detecting one from the text. Absent in items stored by older versions.
    #[serde(default)]
    pub language: Option<String>,
    /// The item's categories or the sitemap entry's `news:keywords`.
    #[serde(default)]
    pub keywords: Vec<String>,
}

/// A page to fetch: what flows from the sources (feed poller, URL list) into the fetcher.
#[derive(Debug, Clone, PartialEq)]
pub struct PageJob {
    /// URL as listed.
    pub url: String,
    /// Feed URL or [`BACKFILL_SOURCE`].
    pub source: String,
    pub hints: ItemHints,
}

/// An accepted page on its way through the pipeline: what the state store keeps pending
/// until the page's outcome is recorded, and what every stage passes on. Keyed by the
/// canonical form of its listed URL.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub page: PageJob,
    pub canonical_url: String,
    /// Failed attempts so far.
    pub attempts: u32,
    /// The archived response it was read from (`backfill --warc`); `None` for pages
    /// that are fetched. Boxed: most jobs have none, and jobs travel every channel.
    pub warc: Option<Box<WarcOrigin>>,
}

/// Where in a WARC file a page was read from: what a resumed backfill skips by.
#[derive(Debug, Clone, PartialEq)]
pub struct WarcOrigin {
    /// `WARC-Record-ID` (the file and offset when the record has none).
    pub record_id: String,
    /// The file as named on the command line ("-" for standard input).
    pub file: String,
    /// Where the record (its gzip member) starts in the file.
    pub offset: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn article_id_is_stable_and_url_specific() {
        let a = article_id("https://example.com/a");
        assert_eq!(a.len(), 32);
        assert_eq!(a, article_id("https://example.com/a"));
        assert_ne!(a, article_id("https://example.com/b"));
    }

    #[test]
    fn dedup_status_serializes_snake_case() {
        let info = DedupInfo {
            status: DedupStatus::Duplicate,
            duplicate_of: Some("x".into()),
            reason: Some(DuplicateReason::NearText),
            story_id: "s".into(),
        };
        let json = serde_json::to_value(&info).unwrap();
        assert_eq!(json["status"], "duplicate");
        assert_eq!(json["reason"], "near_text");
    }
}

#[cfg(test)]
mod schema_tests {
    use super::*;

    /// The published JSON Schema and the Rust type must describe the same record.
    #[test]
    fn schema_file_matches_article_type() {
        let schema: serde_json::Value =
            serde_json::from_str(include_str!("../../../schema/article.schema.json"))
                .expect("schema is JSON");
        assert_eq!(
            schema["properties"]["schema_version"]["const"],
            SCHEMA_VERSION
        );
        let article = Article {
            schema_version: SCHEMA_VERSION.into(),
            id: article_id("https://x.test/a"),
            url: "https://x.test/a?utm_source=x".into(),
            canonical_url: "https://x.test/a".into(),
            title: None,
            text: String::new(),
            published_at: None,
            modified_at: None,
            authors: vec![],
            language: None,
            image: None,
            source: BACKFILL_SOURCE.into(),
            fetched_at: Utc::now(),
            dedup: DedupInfo {
                status: DedupStatus::Unique,
                duplicate_of: None,
                reason: None,
                story_id: "s".into(),
            },
            paywalled: false,
            keywords: Vec::new(),
        };
        let value = serde_json::to_value(&article).unwrap();
        let keys = |v: &serde_json::Value| -> Vec<String> {
            let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
            k.sort();
            k
        };
        let mut required: Vec<String> = schema["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect();
        required.sort();
        assert_eq!(keys(&value), keys(&schema["properties"]));
        assert_eq!(keys(&value), required);
        assert_eq!(
            keys(&value["dedup"]),
            keys(&schema["properties"]["dedup"]["properties"])
        );
    }
}
