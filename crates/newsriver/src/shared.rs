//! The handles more than one stage holds, made by the topology and handed to each
//! stage's constructor.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use newsriver_store::Store;

/// The state store, shared by the source, dedup (older articles' shingles, expiry) and
/// completion. One SQLite connection: its calls are short and never held across an await.
pub type SharedStore = Arc<Mutex<Store>>;

pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave SQLite or a HashSet half-updated in a
    // way that matters more than stopping the pipeline would.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Canonical URLs of the jobs inside the pipeline: the dispatcher adds one when it sends
/// a job, completion removes it when the job ended, so the daemon never sends an item
/// twice while it is in flight.
#[derive(Clone, Default)]
pub struct InFlight(Arc<Mutex<HashSet<String>>>);

impl InFlight {
    /// False when `key` was already in flight.
    pub fn insert(&self, key: &str) -> bool {
        lock(&self.0).insert(key.to_string())
    }

    pub fn remove(&self, key: &str) {
        lock(&self.0).remove(key);
    }

    pub fn len(&self) -> usize {
        lock(&self.0).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Each feed's own language allow-list (per-feed settings), by feed URL: the poller
/// writes it as it reads the feeds, the strip stage reads it for an article's `source`.
#[derive(Clone, Default)]
pub struct FeedLanguages(Arc<std::sync::RwLock<HashMap<String, Vec<String>>>>);

impl FeedLanguages {
    /// Replaces every list (feeds without one are left out).
    pub fn set(&self, lists: HashMap<String, Vec<String>>) {
        *self.0.write().unwrap_or_else(|p| p.into_inner()) = lists;
    }

    /// Runs `f` on the list of the feed `source`, if it has one.
    pub fn with<T>(&self, source: &str, f: impl FnOnce(&[String]) -> T) -> Option<T> {
        let lists = self.0.read().unwrap_or_else(|p| p.into_inner());
        lists.get(source).map(|l| f(l))
    }
}
