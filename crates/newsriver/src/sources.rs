//! Where jobs come from: the feed poller (daemon) and URL lists (backfill).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result};
use chrono::Utc;
use futures::StreamExt;
use newsriver_fetcher::{FeedPoll, FetchError, Fetcher, Validators};
use newsriver_model::{ItemHints, PageJob, BACKFILL_SOURCE};
use newsriver_store::{FeedOrigin, FeedState, FeedStatus, Store};
use tokio::sync::{mpsc, Notify};
use tokio_util::sync::CancellationToken;

use crate::config::{Config, PollConfig};
use crate::feed_admin::FeedSettings;
use crate::messages::Job;
use crate::shared::{lock, FeedLanguages, FeedRequests, InFlight, SharedStore};

/// Longest the daemon sleeps between checks for due feeds.
const MAX_IDLE: Duration = Duration::from_secs(30);
/// How often the dispatcher looks for due retries when nothing wakes it.
const DISPATCH_TICK: Duration = Duration::from_secs(5);

/// The feeds of the configuration the poller polls, beside those added through the API
/// (which live in the state store): replaced while it runs when the configuration is
/// reloaded (SIGHUP). A feed taken out is no longer polled; what it listed before stays
/// pending and is processed. The API wakes the poller through it after a change.
#[derive(Clone)]
pub struct FeedList {
    urls: Arc<std::sync::RwLock<Vec<String>>>,
    changed: Arc<Notify>,
}

impl FeedList {
    pub fn new(urls: Vec<String>) -> FeedList {
        FeedList {
            urls: Arc::new(std::sync::RwLock::new(urls)),
            changed: Arc::new(Notify::new()),
        }
    }

    pub fn get(&self) -> Vec<String> {
        self.urls.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The configured feeds as a set, for [`crate::feed_admin`].
    pub fn configured(&self) -> HashSet<String> {
        self.urls
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .cloned()
            .collect()
    }

    /// Replaces the list and wakes the poller (new feeds are due at once).
    pub fn set(&self, urls: Vec<String>) {
        *self.urls.write().unwrap_or_else(|e| e.into_inner()) = urls;
        self.changed.notify_one();
    }

    /// Wakes the poller to look at the store again (a feed added, resumed or due now).
    pub fn wake(&self) {
        self.changed.notify_one();
    }
}

/// The daemon's source: polls feeds and feeds pending items into the pipeline.
pub struct FeedSource {
    feeds: FeedList,
    poll: PollConfig,
    /// Feed polls at once (`fetch.concurrency`).
    concurrency: usize,
    /// Rows the dispatcher reads at a time beyond those in flight.
    dispatch_batch: usize,
    fetcher: Arc<Fetcher>,
    store: SharedStore,
    in_flight: InFlight,
    /// Each feed's language list, kept current for the strip stage.
    languages: FeedLanguages,
    /// Each feed's request settings, kept current for the fetch stage.
    requests: FeedRequests,
}

impl FeedSource {
    pub fn new(
        config: &Config,
        feeds: Vec<String>,
        fetcher: Arc<Fetcher>,
        store: SharedStore,
        in_flight: InFlight,
    ) -> FeedSource {
        FeedSource {
            feeds: FeedList::new(feeds),
            poll: config.poll.clone(),
            concurrency: config.fetch.concurrency,
            dispatch_batch: config.pipeline.channel_capacity.max(16),
            fetcher,
            store,
            in_flight,
            languages: FeedLanguages::default(),
            requests: FeedRequests::default(),
        }
    }

    /// Keeps `requests` current with the feeds' own request settings as it reads them.
    pub fn feed_requests(mut self, requests: FeedRequests) -> FeedSource {
        self.requests = requests;
        self
    }

    /// Keeps `lists` current with the feeds' own language lists as it reads the feeds.
    pub fn feed_languages(mut self, lists: FeedLanguages) -> FeedSource {
        self.languages = lists;
        self
    }

    /// The list it polls, to replace while it runs.
    pub fn feed_list(&self) -> FeedList {
        self.feeds.clone()
    }

    /// Polls and dispatches until `cancel` (or, with `once`, until every feed was polled
    /// once and every due item was dispatched).
    ///
    /// Two tasks: the poller records polls and accepts new items into the store; the
    /// dispatcher sends due pending items to the pipeline. They are separate so that a
    /// full pipeline (backpressure) never stalls a feed poll that holds a host permit,
    /// which the page fetches of the same host would need to drain the pipeline.
    pub async fn run(
        self,
        jobs: mpsc::Sender<Job>,
        cancel: CancellationToken,
        once: bool,
    ) -> Result<()> {
        lock(&self.store).queue().ensure_feeds(&self.feeds.get())?;
        let src = Arc::new(self);
        let new_work = Arc::new(Notify::new());
        let polling_done = CancellationToken::new();
        let poller = {
            let (src, cancel, new_work, polling_done) = (
                src.clone(),
                cancel.clone(),
                new_work.clone(),
                polling_done.clone(),
            );
            tokio::spawn(async move {
                let result = poll_feeds(&src, &cancel, &new_work, once).await;
                polling_done.cancel();
                new_work.notify_one();
                result
            })
        };
        let dispatched = dispatch(&src, &jobs, &cancel, &new_work, &polling_done).await;
        poller.await??;
        dispatched
    }
}

async fn poll_feeds(
    src: &Arc<FeedSource>,
    cancel: &CancellationToken,
    new_work: &Notify,
    once: bool,
) -> Result<()> {
    let mut first = true;
    loop {
        if cancel.is_cancelled() {
            break;
        }
        let configured = src.feeds.configured();
        let now = Utc::now();
        let feeds = lock(&src.store).queue().feeds()?;
        // Read each round, so a feed added or changed through the API is covered by the
        // time its first items are stripped.
        src.languages.set(
            feeds
                .iter()
                .filter(|f| f.settings.is_some())
                .map(|f| (f.url.clone(), FeedSettings::of(f).languages))
                .filter(|(_, l)| !l.is_empty())
                .collect(),
        );
        src.requests.set(
            feeds
                .iter()
                .filter(|f| f.settings.is_some())
                .map(|f| (f.url.clone(), FeedSettings::of(f).request()))
                .filter(|(_, r)| {
                    !r.headers.is_empty()
                        || r.user_agent.is_some()
                        || r.basic_auth.is_some()
                        || r.cookie.is_some()
                })
                .map(|(url, r)| (url, Arc::new(r)))
                .collect(),
        );
        let due: Vec<FeedState> = feeds
            .into_iter()
            .filter(|f| is_polled(f, &configured))
            .filter(|f| (once && first) || f.next_poll_at.map(|t| t <= now).unwrap_or(true))
            .collect();
        first = false;
        let polls = futures::stream::iter(due)
            .map(|feed| {
                let fetcher = src.fetcher.clone();
                async move {
                    let validators = Validators {
                        etag: feed.etag.clone(),
                        last_modified: feed.last_modified.clone(),
                        last_success: feed.last_success_at,
                    };
                    let target = feed.fetch_url.clone().unwrap_or_else(|| feed.url.clone());
                    let request = FeedSettings::of(&feed).request();
                    let result = fetcher.poll_feed_with(&target, &validators, &request).await;
                    (feed, result)
                }
            })
            .buffer_unordered(src.concurrency);
        tokio::pin!(polls);
        loop {
            let next = tokio::select! {
                _ = cancel.cancelled() => None,
                n = polls.next() => n,
            };
            let Some((feed, result)) = next else { break };
            if record_poll(src, feed, result)? > 0 {
                new_work.notify_one();
            }
        }
        if once || cancel.is_cancelled() {
            break;
        }
        let wait = next_wake(src)?;
        tracing::debug!(?wait, "sleeping until the next feed is due");
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = tokio::time::sleep(wait) => {}
            // A reloaded list: its new feeds are due now.
            _ = src.feeds.changed.notified() => {}
        }
    }
    Ok(())
}

/// Replaces `list` with the feeds of the configuration in `file` (the embedded defaults
/// and the environment as at start otherwise), adding new ones to the store. A file that
/// does not load, or lists no feed, changes nothing: the reason is logged.
pub fn reload_feeds(file: Option<&std::path::Path>, list: &FeedList, store: &SharedStore) {
    let loaded = Config::load(file).and_then(|c| c.feed_urls());
    // A file listing no feed is most likely a mistake, unless feeds added through the
    // API are left to poll: then emptying the file is a choice.
    let api_feeds = || {
        lock(store)
            .queue()
            .feeds()
            .map(|f| f.iter().any(|f| f.origin == FeedOrigin::Api))
            .unwrap_or(false)
    };
    let urls = match loaded {
        Ok(urls) if urls.is_empty() && !api_feeds() => {
            tracing::warn!("the reloaded configuration lists no feeds; keeping the current ones");
            return;
        }
        Ok(urls) => urls,
        Err(e) => {
            tracing::warn!(error = %format!("{e:#}"), "reloading the configuration failed; keeping the current one");
            return;
        }
    };
    if let Err(e) = lock(store).queue().ensure_feeds(&urls) {
        tracing::warn!(error = %e, "recording reloaded feeds failed; keeping the current ones");
        return;
    }
    let before: HashSet<String> = list.get().into_iter().collect();
    let after: HashSet<&String> = urls.iter().collect();
    let added = urls.iter().filter(|u| !before.contains(*u)).count();
    let removed = before.iter().filter(|u| !after.contains(u)).count();
    tracing::info!(feeds = urls.len(), added, removed, "configuration reloaded");
    list.set(urls);
}

/// Sends due pending items that are not already in the pipeline, oldest first, waiting
/// (backpressure) when the pipeline is full.
async fn dispatch(
    src: &FeedSource,
    jobs: &mpsc::Sender<Job>,
    cancel: &CancellationToken,
    new_work: &Notify,
    polling_done: &CancellationToken,
) -> Result<()> {
    loop {
        if cancel.is_cancelled() {
            return Ok(());
        }
        // Asking for as many rows as are in flight, plus a batch, guarantees a batch of
        // rows that are not in flight whenever that many exist.
        let in_flight = src.in_flight.len();
        let due = lock(&src.store)
            .queue()
            .due_pending(Utc::now(), in_flight + src.dispatch_batch)?;
        let mut sent = 0;
        for item in due {
            if !src.in_flight.insert(&item.canonical_url) {
                continue;
            }
            // The list may be stale: an item that was in flight when it was read can
            // have finished since.
            if !lock(&src.store).queue().is_pending(&item.canonical_url)? {
                src.in_flight.remove(&item.canonical_url);
                continue;
            }
            let key = item.canonical_url.clone();
            let job = item;
            let ok = tokio::select! {
                _ = cancel.cancelled() => false,
                r = jobs.send(job) => r.is_ok(),
            };
            if !ok {
                src.in_flight.remove(&key);
                return Ok(());
            }
            sent += 1;
        }
        if sent > 0 {
            continue;
        }
        if polling_done.is_cancelled() {
            // Everything due was dispatched and nothing more will be polled.
            return Ok(());
        }
        tokio::select! {
            _ = cancel.cancelled() => return Ok(()),
            _ = new_work.notified() => {}
            _ = tokio::time::sleep(DISPATCH_TICK) => {}
        }
    }
}

/// Whether the poller polls `feed`: listed by the configuration or added through the
/// API, and neither paused nor retired.
fn is_polled(feed: &FeedState, configured: &HashSet<String>) -> bool {
    (feed.origin == FeedOrigin::Api || configured.contains(&feed.url))
        && !feed.paused
        && !feed.retired
}

fn next_wake(src: &FeedSource) -> Result<Duration> {
    let now = Utc::now();
    let configured = src.feeds.configured();
    let soonest = lock(&src.store)
        .queue()
        .feeds()?
        .into_iter()
        .filter(|f| is_polled(f, &configured))
        .filter_map(|f| f.next_poll_at)
        .min();
    let wait = soonest
        .map(|t| (t - now).to_std().unwrap_or(Duration::ZERO))
        .unwrap_or(MAX_IDLE);
    Ok(wait.min(MAX_IDLE))
}

/// The next interval of a feed: shorter after a poll that found new items, longer after
/// one that did not, within the configured bounds and never below what the feed asks for.
fn next_interval(cfg: &PollConfig, current: u64, found_new: bool, floor: u64) -> u64 {
    let next = if found_new {
        current / 2
    } else {
        current + current / 2
    };
    next.max(floor)
        .clamp(cfg.min_interval_secs, cfg.max_interval_secs)
}

/// The poll settings of one feed: the global ones within the feed's own interval bounds.
fn poll_config(global: &PollConfig, feed: &FeedSettings) -> PollConfig {
    let min = feed.min_interval_secs.unwrap_or(global.min_interval_secs);
    let max = feed
        .max_interval_secs
        .unwrap_or(global.max_interval_secs)
        .max(min);
    PollConfig {
        interval_secs: global.interval_secs.clamp(min, max),
        min_interval_secs: min,
        max_interval_secs: max,
        ..global.clone()
    }
}

fn jittered(cfg: &PollConfig, secs: u64) -> chrono::Duration {
    let factor = 1.0 + cfg.jitter * (fastrand::f64() * 2.0 - 1.0);
    chrono::Duration::seconds((secs as f64 * factor).round() as i64)
}

/// The status of a feed that parsed: ok, or repaired with what and how many entries were
/// dropped when the recovery pass had to change it (kept in the status, which the store
/// already has, rather than in new columns).
fn poll_status(repair: &newsriver_fetcher::FeedRepair) -> FeedStatus {
    if !repair.repaired() {
        return FeedStatus::Ok;
    }
    let mut s = repair.repairs.join(", ");
    if repair.dropped_entries > 0 {
        let plural = if repair.dropped_entries == 1 {
            "y"
        } else {
            "ies"
        };
        s.push_str(&format!(
            "; {} entr{plural} dropped",
            repair.dropped_entries
        ));
    }
    FeedStatus::Repaired(s)
}

/// Stores the outcome of one poll; returns how many new items it accepted.
fn record_poll(
    src: &FeedSource,
    mut feed: FeedState,
    result: Result<FeedPoll, FetchError>,
) -> Result<usize> {
    let now = Utc::now();
    let cfg = &poll_config(&src.poll, &FeedSettings::of(&feed));
    let interval = feed.interval_secs.unwrap_or(cfg.interval_secs);
    feed.last_polled_at = Some(now);
    let mut items = Vec::new();
    // Set after a successful poll: the interval then adapts to whether it found new items.
    let mut adaptive_floor: Option<u64> = None;
    match result {
        Ok(poll) => {
            if let Some(moved) = poll.moved_to {
                tracing::info!(feed = %feed.url, to = %moved, "feed moved permanently; polling the new URL from now on");
                feed.fetch_url = Some(moved);
            }
            feed.etag = poll.validators.etag;
            feed.last_modified = poll.validators.last_modified;
            feed.last_success_at = Some(now);
            feed.error_count = 0;
            feed.last_error = None;
            let mut floor = poll.max_age.map(|d| d.as_secs()).unwrap_or(0);
            match poll.feed {
                None => feed.last_status = Some(FeedStatus::NotModified),
                Some(parsed) => {
                    feed.last_status = Some(poll_status(&parsed.repair));
                    feed.title = parsed.title.clone();
                    floor = floor.max(parsed.ttl_minutes.map(|m| u64::from(m) * 60).unwrap_or(0));
                    for item in parsed.items {
                        match newsriver_dedup::canonicalize_url(&item.url) {
                            Ok(c) => items.push(Job {
                                page: PageJob {
                                    url: item.url,
                                    source: feed.url.clone(),
                                    hints: item.hints,
                                },
                                canonical_url: c.to_string(),
                                attempts: 0,
                                warc: None,
                            }),
                            Err(e) => {
                                tracing::warn!(feed = %feed.url, error = %e, "skipping feed item")
                            }
                        }
                    }
                }
            }
            adaptive_floor = Some(floor);
        }
        Err(FetchError::Status { status: 410, .. }) => {
            tracing::warn!(feed = %feed.url, "feed answered 410 Gone; retired (remove it from the config)");
            feed.retired = true;
            feed.last_status = Some(FeedStatus::Gone);
            feed.last_error = Some("410 Gone".into());
            feed.next_poll_at = None;
        }
        Err(e) => {
            feed.error_count += 1;
            let backoff = interval
                .saturating_mul(1u64 << feed.error_count.min(16))
                .min(cfg.max_error_backoff_secs);
            feed.last_status = Some(FeedStatus::Error);
            feed.last_error = Some(e.to_string());
            feed.next_poll_at = Some(now + jittered(cfg, backoff));
            tracing::warn!(feed = %feed.url, error = %e, failures = feed.error_count, "feed poll failed");
        }
    }
    let listed = items.len();
    let mut store = lock(&src.store);
    let mut queue = store.queue();
    // Removed through the API while it was being polled: recording the poll would bring
    // its row back. What it listed before stays pending; what this poll found is not work.
    if queue.feed(&feed.url)?.is_none() {
        tracing::info!(feed = %feed.url, "feed removed while it was polled; poll not recorded");
        return Ok(0);
    }
    let added = queue.record_poll(&mut feed, &items, |new, feed| {
        if let Some(floor) = adaptive_floor {
            let next = next_interval(cfg, interval, new > 0, floor);
            feed.interval_secs = Some(next);
            feed.next_poll_at = Some(now + jittered(cfg, next));
        }
    })?;
    drop(store);
    if listed > 0 {
        tracing::info!(feed = %feed.url, listed, new = added, "polled feed");
    }
    Ok(added)
}

/// Whether `url` names a site rather than a document: an http(s) URL with the path `/`
/// and no query (`https://site.example/`), whose sitemaps its robots.txt lists.
pub fn site_root(url: &str) -> bool {
    url::Url::parse(url.trim()).is_ok_and(|u| {
        matches!(u.scheme(), "http" | "https") && u.path() == "/" && u.query().is_none()
    })
}

/// Outcome of reading a URL list.
#[derive(Debug, Default)]
pub struct ListSummary {
    /// Lines that are not fetchable URLs.
    pub invalid: u64,
    /// URLs already handled by an earlier run (published, duplicate or given up).
    pub already_seen: u64,
    /// Lines repeating an earlier line's article (same canonical URL).
    pub listed_twice: u64,
    pub queued: u64,
}

/// The lines of a URL list: a file, or "-" for standard input.
pub fn read_url_list(input: &str) -> Result<Vec<String>> {
    let raw = read_input(input)?;
    Ok(String::from_utf8_lossy(&raw)
        .lines()
        .map(str::to_string)
        .collect())
}

/// The bytes of a file, or of standard input for "-".
pub fn read_input(input: &str) -> Result<Vec<u8>> {
    if input == "-" {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf)
            .context("reading standard input")?;
        Ok(buf)
    } else {
        std::fs::read(input).with_context(|| format!("reading {input}"))
    }
}

/// A URL list's lines as pages a backfill lists (blank lines and `#` comments are left
/// out by [`listed_jobs`]).
pub fn url_list_pages(lines: Vec<String>) -> impl Iterator<Item = PageJob> {
    lines.into_iter().map(|url| PageJob {
        url,
        source: BACKFILL_SOURCE.to_string(),
        hints: ItemHints::default(),
    })
}

/// Turns listed pages (a URL list's lines, a sitemap's entries) into jobs: what is not a
/// URL, listed twice or seen before is counted and left out, and so are blank lines and
/// `#` comments.
pub fn listed_jobs(
    store: &mut Store,
    pages: impl IntoIterator<Item = PageJob>,
) -> Result<(Vec<Job>, ListSummary)> {
    let mut summary = ListSummary::default();
    let mut jobs = Vec::new();
    let mut listed = std::collections::HashSet::new();
    for page in pages {
        let line = page.url.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match newsriver_dedup::canonicalize_url(line) {
            Ok(c) => {
                let canonical = c.to_string();
                if !listed.insert(canonical.clone()) {
                    summary.listed_twice += 1;
                    continue;
                }
                if store.queue().is_seen(&canonical)? {
                    summary.already_seen += 1;
                    continue;
                }
                summary.queued += 1;
                jobs.push(Job {
                    page: PageJob {
                        url: line.to_string(),
                        ..page
                    },
                    canonical_url: canonical,
                    attempts: 0,
                    warc: None,
                });
            }
            Err(e) => {
                tracing::error!(line, error = %e, "not a fetchable URL");
                summary.invalid += 1;
            }
        }
    }
    Ok((jobs, summary))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_site_root_is_told_from_a_sitemap() {
        assert!(site_root("https://site.example/"));
        assert!(site_root("http://site.example"));
        assert!(!site_root("https://site.example/sitemap.xml"));
        assert!(!site_root("https://site.example/?page=2"));
        assert!(!site_root("not a url"));
    }

    #[test]
    fn repaired_feeds_say_so() {
        let mut r = newsriver_fetcher::FeedRepair::default();
        assert_eq!(poll_status(&r), FeedStatus::Ok);
        r.repairs = vec!["charset", "truncated"];
        r.dropped_entries = 1;
        assert_eq!(
            poll_status(&r).to_string(),
            "repaired (charset, truncated; 1 entry dropped)"
        );
        r.dropped_entries = 2;
        assert!(poll_status(&r).to_string().ends_with("2 entries dropped)"));
    }

    fn cfg() -> PollConfig {
        PollConfig {
            interval_secs: 900,
            min_interval_secs: 300,
            max_interval_secs: 86400,
            jitter: 0.1,
            max_error_backoff_secs: 86400,
        }
    }

    #[test]
    fn interval_adapts_within_bounds() {
        let c = cfg();
        assert_eq!(next_interval(&c, 900, true, 0), 450);
        assert_eq!(next_interval(&c, 400, true, 0), 300);
        assert_eq!(next_interval(&c, 900, false, 0), 1350);
        assert_eq!(next_interval(&c, 80000, false, 0), 86400);
        // A feed's TTL or max-age is a floor.
        assert_eq!(next_interval(&c, 900, true, 3600), 3600);
        for _ in 0..100 {
            let d = jittered(&c, 1000).num_seconds();
            assert!((900..=1100).contains(&d), "{d}");
        }
    }

    #[test]
    fn a_feed_s_own_interval_bounds_replace_the_global_ones() {
        let own = FeedSettings {
            min_interval_secs: Some(30),
            max_interval_secs: Some(120),
            ..Default::default()
        };
        let c = poll_config(&cfg(), &own);
        assert_eq!(
            (c.interval_secs, c.min_interval_secs, c.max_interval_secs),
            (120, 30, 120)
        );
        assert_eq!(next_interval(&c, 40, true, 0), 30);
        assert_eq!(next_interval(&c, 100, false, 0), 120);
        let only_min = FeedSettings {
            min_interval_secs: Some(100_000),
            ..Default::default()
        };
        let c = poll_config(&cfg(), &only_min);
        assert_eq!(
            (c.min_interval_secs, c.max_interval_secs),
            (100_000, 100_000)
        );
        assert_eq!(
            poll_config(&cfg(), &FeedSettings::default()).interval_secs,
            900
        );
    }
}
