//! The handles more than one stage holds, made by the topology and handed to each
//! stage's constructor.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use newsriver_fetcher::FeedRequest;
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

/// Each feed's own request settings (headers, user agent, basic auth, cookie), by feed
/// URL: the poller writes them as it reads the feeds, the fetch stage applies them to the
/// article pages the feed lists on its own host.
#[derive(Clone, Default)]
pub struct FeedRequests(Arc<std::sync::RwLock<HashMap<String, Arc<FeedRequest>>>>);

impl FeedRequests {
    /// Replaces every feed's settings (feeds without any are left out).
    pub fn set(&self, requests: HashMap<String, Arc<FeedRequest>>) {
        *self.0.write().unwrap_or_else(|p| p.into_inner()) = requests;
    }

    /// The settings the feed `source` gives a fetch of `page_url`: only for a page on the
    /// feed's own host, since a feed's credentials are for its site, not for every site
    /// it links to.
    pub fn for_page(&self, source: &str, page_url: &str) -> Option<Arc<FeedRequest>> {
        let host = |u: &str| {
            url::Url::parse(u)
                .ok()?
                .host_str()
                .map(str::to_ascii_lowercase)
        };
        let requests = self.0.read().unwrap_or_else(|p| p.into_inner());
        let request = requests.get(source)?;
        (host(source)? == host(page_url)?).then(|| request.clone())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_feeds_request_settings_reach_pages_on_its_host_only() {
        let requests = FeedRequests::default();
        let secret = Arc::new(FeedRequest {
            cookie: Some("member=1".into()),
            ..FeedRequest::default()
        });
        requests.set(HashMap::from([(
            "https://news.test/feed.xml".to_string(),
            secret,
        )]));
        let got = |page: &str| requests.for_page("https://news.test/feed.xml", page);
        assert!(got("https://NEWS.test/2026/story.html").is_some());
        assert!(got("https://other.test/story.html").is_none());
        assert!(got("not a url").is_none());
        assert!(requests
            .for_page(
                "https://elsewhere.test/feed.xml",
                "https://news.test/a.html"
            )
            .is_none());
    }
}
