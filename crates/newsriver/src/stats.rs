//! What the stages report as they go: counters for summaries, logs and metrics, and the
//! latest decisions for the status page.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use chrono::{DateTime, Utc};

/// How many of the latest decisions the status page shows.
const RECENT: usize = 25;

/// One article as dedup decided about it.
#[derive(Debug, Clone)]
pub struct RecentArticle {
    pub title: String,
    pub url: String,
    pub source: String,
    pub language: Option<String>,
    /// `unique`, or `duplicate (reason)`.
    pub status: String,
    pub story_id: String,
    pub at: DateTime<Utc>,
}

#[derive(Default)]
pub struct Stats {
    pub fetched: AtomicU64,
    pub extracted: AtomicU64,
    pub published: AtomicU64,
    pub duplicates: AtomicU64,
    pub failed: AtomicU64,
    /// Pages fetched whole whose stripped text was empty: no article on them (an index
    /// page, a video page, a consent wall). Counted in `failed` too; never published.
    pub no_article: AtomicU64,
    /// Transient failures left pending for a later attempt.
    pub deferred: AtomicU64,
    /// Articles left out by `filter.languages`.
    pub filtered: AtomicU64,
    /// Articles the duplicate index holds now (a level, set by the dedup stage).
    pub remembered: AtomicU64,
    /// The latest dedup decisions, newest last.
    recent: Mutex<VecDeque<RecentArticle>>,
}

impl Stats {
    pub fn get(&self, c: &AtomicU64) -> u64 {
        c.load(Ordering::Relaxed)
    }

    pub fn add(c: &AtomicU64) {
        c.fetch_add(1, Ordering::Relaxed);
    }

    pub fn set(c: &AtomicU64, v: u64) {
        c.store(v, Ordering::Relaxed);
    }

    pub fn decided(&self, article: RecentArticle) {
        let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        if recent.len() == RECENT {
            recent.pop_front();
        }
        recent.push_back(article);
    }

    /// The latest decisions, newest first.
    pub fn recent(&self) -> Vec<RecentArticle> {
        let recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        recent.iter().rev().cloned().collect()
    }
}
