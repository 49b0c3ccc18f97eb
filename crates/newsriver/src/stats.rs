//! Counters the stages share, shown in summaries and logs.

use std::sync::atomic::{AtomicU64, Ordering};

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
    /// Articles the duplicate index holds now (a level, set by the dedup stage).
    pub remembered: AtomicU64,
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
}
