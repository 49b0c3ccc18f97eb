//! Feeds managed while the daemon runs: what the admin API (`/api/feeds`) and
//! `newsriver feeds add|remove|pause|resume` do to the state store, in one place so that
//! both answer the same way.
//!
//! Two kinds of feed, told apart by [`FeedOrigin`]:
//!
//! - **config** feeds are listed by the configuration (`feeds.urls`, `feeds.opml`). The
//!   file stays their source of truth: they are polled while it lists them, SIGHUP
//!   re-reads it, and removing one through the API is refused (409) with what to do
//!   instead (edit the file and reload; or pause it, which the API can do at once).
//!   A removal remembered in the store would contradict the file silently on the next
//!   read.
//! - **api** feeds are added through the API or the CLI. They live in the state store
//!   only, survive restarts and SIGHUP reloads (a reload replaces only the config feeds),
//!   and are polled until removed the same way, as in Miniflux.
//!
//! Either kind can be paused (not polled; what it listed before is still processed),
//! resumed, and polled now.

use std::collections::{BTreeMap, HashSet};

use newsriver_store::{FeedOrigin, FeedState, StoreError, WorkQueue};
use serde::{Deserialize, Serialize};

/// One feed's own settings, stored with it as JSON. Every field is optional: what is not
/// set follows the global configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct FeedSettings {
    /// Extra request headers for the feed's polls.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// User-Agent for the feed's polls, in place of `fetch.user_agent`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// HTTP basic authentication for the feed's polls.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// A `Cookie` header for the feed's polls (`name=value; other=value`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cookie: Option<String>,
    /// A proxy for the feed's polls (`http://` or `https://`; no SOCKS; credentials in
    /// the URL if it needs them), in place of the standard proxy variables.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy: Option<String>,
    /// Bounds of the feed's adaptive poll interval, in place of `poll.min_interval_secs`
    /// and `poll.max_interval_secs`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_interval_secs: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_interval_secs: Option<u64>,
    /// Languages to keep of this feed's articles (as `filter.languages`, which applies
    /// too); empty: all.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub languages: Vec<String>,
}

impl FeedSettings {
    /// The settings stored with `feed`; settings that no longer read (written by another
    /// build) are logged and replaced by none rather than stopping the feed.
    pub fn of(feed: &FeedState) -> FeedSettings {
        let Some(json) = feed.settings.as_deref() else {
            return FeedSettings::default();
        };
        serde_json::from_str(json).unwrap_or_else(|e| {
            tracing::warn!(feed = %feed.url, error = %e, "unreadable per-feed settings; using the global ones");
            FeedSettings::default()
        })
    }

    /// What is wrong with them, if anything: checked before they are stored, so a feed
    /// never carries settings its polls would fail on.
    pub fn check(&self) -> Result<(), String> {
        self.request().headers("settings").map_err(|e| match e {
            newsriver_fetcher::FetchError::InvalidRequest { reason, .. } => reason,
            other => other.to_string(),
        })?;
        if let Some(proxy) = &self.proxy {
            // reqwest takes any scheme here and fails only at connect time (SOCKS is not
            // built in): the scheme is checked now, so the feed is refused, not broken.
            let scheme = url::Url::parse(proxy).map(|u| u.scheme().to_string());
            if !matches!(scheme.as_deref(), Ok("http" | "https")) {
                return Err(format!(
                    "proxy {proxy:?}: an http:// or https:// URL is needed"
                ));
            }
            reqwest::Proxy::all(proxy).map_err(|e| format!("proxy {proxy:?}: {e}"))?;
        }
        if self.password.is_some() && self.username.is_none() {
            return Err("password without username".into());
        }
        match (self.min_interval_secs, self.max_interval_secs) {
            (Some(0), _) | (_, Some(0)) => return Err("interval bounds must be at least 1".into()),
            (Some(min), Some(max)) if min > max => {
                return Err("min_interval_secs is above max_interval_secs".into())
            }
            _ => {}
        }
        if self.languages.iter().any(|l| l.trim().is_empty()) {
            return Err("an empty language code".into());
        }
        Ok(())
    }

    /// How the fetcher polls the feed.
    pub fn request(&self) -> newsriver_fetcher::FeedRequest {
        newsriver_fetcher::FeedRequest {
            headers: self
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            user_agent: self.user_agent.clone(),
            basic_auth: self
                .username
                .clone()
                .map(|u| (u, self.password.clone().unwrap_or_default())),
            cookie: self.cookie.clone(),
            proxy: self.proxy.clone(),
        }
    }

    /// As shown by the API and the CLI: the password, the cookie and the header values
    /// (an extra header is most often an API key) are replaced by a marker; the store
    /// keeps them. The listing is read without a token.
    pub fn redacted(&self) -> FeedSettings {
        let hide = |v: &Option<String>| v.as_ref().map(|_| "<redacted>".to_string());
        // A proxy's password is in its URL.
        let proxy = self.proxy.as_ref().map(|p| match url::Url::parse(p) {
            Ok(mut u) if u.password().is_some() => {
                let _ = u.set_password(Some("redacted"));
                u.to_string()
            }
            _ => p.clone(),
        });
        FeedSettings {
            headers: self
                .headers
                .keys()
                .map(|k| (k.clone(), "<redacted>".to_string()))
                .collect(),
            password: hide(&self.password),
            cookie: hide(&self.cookie),
            proxy,
            ..self.clone()
        }
    }

    fn is_default(&self) -> bool {
        self == &FeedSettings::default()
    }
}

/// A feed to add: the body of `POST /api/feeds`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NewFeed {
    pub url: String,
    /// Added paused: stored, not polled until resumed.
    #[serde(default)]
    pub paused: bool,
    /// `url` is a site's page: add the feed it announces (or one at a common path).
    #[serde(default)]
    pub discover: bool,
    #[serde(default)]
    pub settings: FeedSettings,
}

/// A feed as the API and the CLI show it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FeedView {
    pub id: i64,
    pub url: String,
    /// `config` or `api`.
    pub origin: String,
    pub paused: bool,
    /// `never` (not polled yet), `retired` (410 Gone), or how the last poll went (`ok`,
    /// `not_modified`, `repaired`, `error`).
    pub status: String,
    pub title: Option<String>,
    pub last_error: Option<String>,
    pub error_count: u32,
    pub last_polled_at: Option<chrono::DateTime<chrono::Utc>>,
    pub last_success_at: Option<chrono::DateTime<chrono::Utc>>,
    pub next_poll_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Where it is polled when a permanent redirect moved it.
    pub fetch_url: Option<String>,
    pub settings: FeedSettings,
}

impl FeedView {
    pub fn of(feed: &FeedState) -> FeedView {
        let status = match &feed.last_status {
            _ if feed.retired => "retired".to_string(),
            Some(s) => s.word().to_string(),
            None => "never".to_string(),
        };
        FeedView {
            id: feed.id,
            url: feed.url.clone(),
            origin: feed.origin.as_str().to_string(),
            paused: feed.paused,
            status,
            title: feed.title.clone(),
            last_error: feed.last_error.clone(),
            error_count: feed.error_count,
            last_polled_at: feed.last_polled_at,
            last_success_at: feed.last_success_at,
            next_poll_at: feed.next_poll_at,
            fetch_url: feed.fetch_url.clone(),
            settings: FeedSettings::of(feed).redacted(),
        }
    }
}

/// Why a feed change was refused; each maps to one HTTP status and one exit code.
#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    #[error("{0}")]
    InvalidUrl(String),
    #[error("invalid settings: {0}")]
    InvalidSettings(String),
    #[error("feed {url} is already polled (id {id})")]
    Duplicate { url: String, id: i64 },
    #[error("no feed {0}")]
    NotFound(String),
    #[error(
        "feed {0} is listed in the configuration file (feeds.urls or feeds.opml): remove it \
         there and reload (SIGHUP), or pause it"
    )]
    FromConfig(String),
    #[error("feed {url} is {why}; it is not polled")]
    NotPolled { url: String, why: &'static str },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A feed as a request names it: its id, or its URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedKey {
    Id(i64),
    Url(String),
}

impl FeedKey {
    /// A number is an id; anything else a URL.
    pub fn parse(key: &str) -> FeedKey {
        match key.trim().parse() {
            Ok(id) => FeedKey::Id(id),
            Err(_) => FeedKey::Url(key.trim().to_string()),
        }
    }
}

impl std::fmt::Display for FeedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FeedKey::Id(id) => write!(f, "{id}"),
            FeedKey::Url(url) => f.write_str(url),
        }
    }
}

/// The feeds that are polled (unless paused or retired): those the configuration lists
/// (`configured`) and those added through the API.
pub fn list(
    queue: &WorkQueue<'_>,
    configured: &HashSet<String>,
) -> Result<Vec<FeedView>, FeedError> {
    Ok(queue
        .feeds()?
        .iter()
        .filter(|f| is_active(f, configured))
        .map(FeedView::of)
        .collect())
}

fn is_active(feed: &FeedState, configured: &HashSet<String>) -> bool {
    feed.origin == FeedOrigin::Api || configured.contains(&feed.url)
}

/// Checks a feed URL: absolute http(s) with a host. Returns it trimmed.
pub fn check_url(url: &str) -> Result<String, FeedError> {
    newsriver_fetcher::parse_http_url(url).map_err(|e| FeedError::InvalidUrl(e.to_string()))?;
    Ok(url.trim().to_string())
}

/// Adds `feed` (its URL as given, checked; discovery is the caller's, before).
pub fn add(
    queue: &WorkQueue<'_>,
    configured: &HashSet<String>,
    feed: &NewFeed,
) -> Result<FeedView, FeedError> {
    let url = check_url(&feed.url)?;
    feed.settings.check().map_err(FeedError::InvalidSettings)?;
    if let Some(existing) = queue.feed(&url)? {
        if is_active(&existing, configured) {
            return Err(FeedError::Duplicate {
                url,
                id: existing.id,
            });
        }
    } else if configured.contains(&url) {
        // Listed by the configuration and not stored yet (a reload is writing it).
        return Err(FeedError::Duplicate { url, id: 0 });
    }
    let settings = (!feed.settings.is_default())
        .then(|| serde_json::to_string(&feed.settings))
        .transpose()
        .map_err(|e| FeedError::InvalidSettings(e.to_string()))?;
    let stored = queue.add_feed(&url, settings.as_deref(), feed.paused)?;
    tracing::info!(feed = %url, id = stored.id, paused = feed.paused, "feed added");
    Ok(FeedView::of(&stored))
}

/// The polled feed `key` names.
pub fn find(
    queue: &WorkQueue<'_>,
    configured: &HashSet<String>,
    key: &FeedKey,
) -> Result<FeedState, FeedError> {
    let found = match key {
        FeedKey::Id(id) => queue.feed_by_id(*id)?,
        FeedKey::Url(url) => queue.feed(url)?,
    };
    found
        .filter(|f| is_active(f, configured))
        .ok_or_else(|| FeedError::NotFound(key.to_string()))
}

/// Removes an API feed; a config feed is refused ([`FeedError::FromConfig`]). What it
/// listed before stays pending and is processed.
pub fn remove(
    queue: &WorkQueue<'_>,
    configured: &HashSet<String>,
    key: &FeedKey,
) -> Result<FeedView, FeedError> {
    let feed = find(queue, configured, key)?;
    if configured.contains(&feed.url) {
        return Err(FeedError::FromConfig(feed.url));
    }
    queue.remove_feed(&feed.url)?;
    tracing::info!(feed = %feed.url, id = feed.id, "feed removed");
    Ok(FeedView::of(&feed))
}

/// Pauses or resumes a feed.
pub fn set_paused(
    queue: &WorkQueue<'_>,
    configured: &HashSet<String>,
    key: &FeedKey,
    paused: bool,
) -> Result<FeedView, FeedError> {
    let feed = find(queue, configured, key)?;
    queue.set_paused(&feed.url, paused)?;
    tracing::info!(feed = %feed.url, id = feed.id, paused, "feed paused or resumed");
    let feed = find(queue, configured, key)?;
    Ok(FeedView::of(&feed))
}

/// Makes a feed due now; a paused or retired feed is refused.
pub fn poll_now(
    queue: &WorkQueue<'_>,
    configured: &HashSet<String>,
    key: &FeedKey,
) -> Result<FeedView, FeedError> {
    let feed = find(queue, configured, key)?;
    if feed.paused {
        return Err(FeedError::NotPolled {
            url: feed.url,
            why: "paused (resume it first)",
        });
    }
    if feed.retired {
        return Err(FeedError::NotPolled {
            url: feed.url,
            why: "retired (it answered 410 Gone)",
        });
    }
    queue.poll_now(&feed.url)?;
    let feed = find(queue, configured, key)?;
    Ok(FeedView::of(&feed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use newsriver_store::Store;

    fn new(url: &str) -> NewFeed {
        NewFeed {
            url: url.into(),
            paused: false,
            discover: false,
            settings: FeedSettings::default(),
        }
    }

    #[test]
    fn config_and_api_feeds_are_added_removed_and_paused_as_documented() {
        let mut store = Store::open_in_memory().unwrap();
        let q = store.queue();
        let configured: HashSet<String> = ["http://c/feed".to_string()].into();
        q.ensure_feeds(&configured.iter().cloned().collect::<Vec<_>>())
            .unwrap();
        assert!(matches!(
            add(&q, &configured, &new("http://c/feed")),
            Err(FeedError::Duplicate { .. })
        ));
        assert!(matches!(
            add(&q, &configured, &new("ftp://c/feed")),
            Err(FeedError::InvalidUrl(_))
        ));
        let mut secret = new("http://a/feed");
        secret.settings.username = Some("u".into());
        secret.settings.password = Some("hunter2".into());
        let added = add(&q, &configured, &secret).unwrap();
        assert_eq!(added.origin, "api");
        assert_eq!(added.settings.password.as_deref(), Some("<redacted>"));
        assert!(matches!(
            add(&q, &configured, &new("http://a/feed")),
            Err(FeedError::Duplicate { .. })
        ));
        // The store keeps the password the listing hides.
        let stored = find(&q, &configured, &FeedKey::Id(added.id)).unwrap();
        assert_eq!(
            FeedSettings::of(&stored).password.as_deref(),
            Some("hunter2")
        );
        assert_eq!(list(&q, &configured).unwrap().len(), 2);
        assert!(matches!(
            remove(&q, &configured, &FeedKey::parse("http://c/feed")),
            Err(FeedError::FromConfig(_))
        ));
        let paused = set_paused(&q, &configured, &FeedKey::parse("http://c/feed"), true).unwrap();
        assert!(paused.paused);
        assert!(matches!(
            poll_now(&q, &configured, &FeedKey::parse("http://c/feed")),
            Err(FeedError::NotPolled { .. })
        ));
        remove(&q, &configured, &FeedKey::Id(added.id)).unwrap();
        assert!(matches!(
            remove(&q, &configured, &FeedKey::Id(added.id)),
            Err(FeedError::NotFound(_))
        ));
        // A feed the configuration no longer lists is not polled, and can be added.
        let none = HashSet::new();
        assert!(list(&q, &none).unwrap().is_empty());
        assert_eq!(add(&q, &none, &new("http://c/feed")).unwrap().origin, "api");
    }

    #[test]
    fn settings_are_checked_and_unknown_fields_refused() {
        let bad: Result<NewFeed, _> =
            serde_json::from_str(r#"{"url": "http://a", "settings": {"heders": {}}}"#);
        assert!(bad.is_err());
        let bad: Result<NewFeed, _> = serde_json::from_str(r#"{"url": "http://a", "x": 1}"#);
        assert!(bad.is_err());
        let header = FeedSettings {
            headers: [("Bad Name".to_string(), "v".to_string())].into(),
            ..Default::default()
        };
        assert!(header.check().is_err());
        let bounds = FeedSettings {
            min_interval_secs: Some(600),
            max_interval_secs: Some(60),
            ..Default::default()
        };
        assert!(bounds.check().is_err());
        let proxy = FeedSettings {
            proxy: Some("http://user:pw@proxy.example:3128".into()),
            ..Default::default()
        };
        assert_eq!(proxy.check(), Ok(()));
        let shown = proxy.redacted().proxy.unwrap();
        assert!(!shown.contains("pw"), "{shown}");
        // This build has no SOCKS: refused when stored, not at every poll.
        let socks = FeedSettings {
            proxy: Some("socks5://proxy.example:1080".into()),
            ..Default::default()
        };
        assert!(socks.check().is_err());
        let fine = FeedSettings {
            headers: [("X-Key".to_string(), "k".to_string())].into(),
            user_agent: Some("agent/1".into()),
            min_interval_secs: Some(60),
            ..Default::default()
        };
        assert_eq!(fine.check(), Ok(()));
    }
}
