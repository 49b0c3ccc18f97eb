//! Where jobs come from: the feed poller (daemon) and URL lists (backfill).

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use chrono::Utc;
use futures::StreamExt;
use newsriver_fetcher::{FeedPoll, Validators};
use newsriver_model::{ItemHints, PageJob, BACKFILL_SOURCE};
use newsriver_store::{FeedState, PendingItem};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::pipeline::{lock, Context, Job};

/// Longest the daemon sleeps between checks for due feeds and due retries.
const MAX_IDLE: Duration = Duration::from_secs(30);

/// Polls feeds and feeds pending items into the pipeline until cancelled (or, with
/// `once`, until every feed was polled once and every due item was enqueued).
pub async fn feed_source(
    ctx: Arc<Context>,
    feeds: Vec<String>,
    jobs: mpsc::Sender<Job>,
    cancel: CancellationToken,
    once: bool,
) -> Result<()> {
    lock(&ctx.store).ensure_feeds(&feeds)?;
    // Work accepted by an earlier run that never finished comes first.
    enqueue_due(&ctx, &jobs, &cancel).await?;
    let mut first = true;
    loop {
        if cancel.is_cancelled() {
            break;
        }
        let now = Utc::now();
        let due: Vec<FeedState> = lock(&ctx.store)
            .feeds()?
            .into_iter()
            .filter(|f| feeds.contains(&f.url))
            .filter(|f| (once && first) || f.next_poll_at.map(|t| t <= now).unwrap_or(true))
            .collect();
        first = false;
        let concurrency = ctx.config.fetch.concurrency;
        let polls = futures::stream::iter(due)
            .map(|feed| {
                let ctx = ctx.clone();
                async move {
                    let validators = Validators {
                        etag: feed.etag.clone(),
                        last_modified: feed.last_modified.clone(),
                    };
                    let result = ctx.fetcher.poll_feed(&feed.url, &validators).await;
                    (feed, result)
                }
            })
            .buffer_unordered(concurrency);
        tokio::pin!(polls);
        loop {
            let next = tokio::select! {
                _ = cancel.cancelled() => None,
                n = polls.next() => n,
            };
            let Some((feed, result)) = next else { break };
            record_poll(&ctx, feed, result)?;
            enqueue_due(&ctx, &jobs, &cancel).await?;
        }
        if once || cancel.is_cancelled() {
            break;
        }
        let wait = next_wake(&ctx)?;
        tracing::debug!(?wait, "sleeping until the next feed is due");
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = tokio::time::sleep(wait) => {}
        }
        enqueue_due(&ctx, &jobs, &cancel).await?;
    }
    Ok(())
}

fn next_wake(ctx: &Context) -> Result<Duration> {
    let now = Utc::now();
    let soonest = lock(&ctx.store)
        .feeds()?
        .into_iter()
        .filter_map(|f| f.next_poll_at)
        .min();
    let wait = soonest
        .map(|t| (t - now).to_std().unwrap_or(Duration::ZERO))
        .unwrap_or(MAX_IDLE);
    Ok(wait.min(MAX_IDLE))
}

fn record_poll(
    ctx: &Context,
    mut feed: FeedState,
    result: Result<FeedPoll, newsriver_fetcher::FetchError>,
) -> Result<()> {
    let now = Utc::now();
    let interval = ctx.config.poll.interval_secs;
    feed.last_polled_at = Some(now);
    let mut items = Vec::new();
    match result {
        Ok(FeedPoll::NotModified) => {
            feed.last_status = Some("not_modified".into());
            feed.last_success_at = Some(now);
            feed.error_count = 0;
            feed.last_error = None;
            feed.next_poll_at = Some(now + chrono::Duration::seconds(interval as i64));
            tracing::debug!(feed = %feed.url, "not modified");
        }
        Ok(FeedPoll::Fetched {
            feed: parsed,
            validators,
            ..
        }) => {
            let ttl = parsed.ttl_minutes.map(|m| u64::from(m) * 60).unwrap_or(0);
            feed.title = parsed.title.clone();
            feed.etag = validators.etag;
            feed.last_modified = validators.last_modified;
            feed.last_status = Some("ok".into());
            feed.last_success_at = Some(now);
            feed.error_count = 0;
            feed.last_error = None;
            feed.next_poll_at = Some(now + chrono::Duration::seconds(interval.max(ttl) as i64));
            for item in parsed.items {
                match newsriver_dedup::canonicalize_url(&item.url) {
                    Ok(c) => items.push(PendingItem {
                        canonical_url: c.to_string(),
                        url: item.url,
                        source: feed.url.clone(),
                        hints: item.hints,
                        attempts: 0,
                    }),
                    Err(e) => tracing::warn!(feed = %feed.url, error = %e, "skipping feed item"),
                }
            }
        }
        Err(e) => {
            feed.error_count += 1;
            let backoff = interval
                .saturating_mul(1u64 << feed.error_count.min(16))
                .min(ctx.config.poll.max_error_backoff_secs);
            feed.last_status = Some("error".into());
            feed.last_error = Some(e.to_string());
            feed.next_poll_at = Some(now + chrono::Duration::seconds(backoff as i64));
            tracing::warn!(feed = %feed.url, error = %e, failures = feed.error_count, "feed poll failed");
        }
    }
    let listed = items.len();
    let added = lock(&ctx.store).record_poll(&feed, &items)?;
    if listed > 0 {
        tracing::info!(feed = %feed.url, listed, new = added, "polled feed");
    }
    Ok(())
}

/// Sends every due pending item that is not already in the pipeline.
async fn enqueue_due(
    ctx: &Context,
    jobs: &mpsc::Sender<Job>,
    cancel: &CancellationToken,
) -> Result<()> {
    let due = lock(&ctx.store).due_pending(Utc::now(), 10_000)?;
    for item in due {
        if !lock(&ctx.in_flight).insert(item.canonical_url.clone()) {
            continue;
        }
        let job = Job {
            page: PageJob {
                url: item.url,
                source: item.source,
                hints: item.hints,
            },
            canonical_url: item.canonical_url,
            attempts: item.attempts,
        };
        let key = job.canonical_url.clone();
        let sent = tokio::select! {
            _ = cancel.cancelled() => false,
            sent = jobs.send(job) => sent.is_ok(),
        };
        if !sent {
            lock(&ctx.in_flight).remove(&key);
            break;
        }
    }
    Ok(())
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

/// Turns URL lines into jobs: blank lines and `#` comments are skipped.
pub fn backfill_jobs(ctx: &Context, lines: &[String]) -> Result<(Vec<Job>, ListSummary)> {
    let mut summary = ListSummary::default();
    let mut jobs = Vec::new();
    let store = lock(&ctx.store);
    let mut listed = std::collections::HashSet::new();
    for line in lines {
        let line = line.trim();
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
                if store.is_seen(&canonical)? {
                    summary.already_seen += 1;
                    continue;
                }
                summary.queued += 1;
                jobs.push(Job {
                    page: PageJob {
                        url: line.to_string(),
                        source: BACKFILL_SOURCE.to_string(),
                        hints: ItemHints::default(),
                    },
                    canonical_url: canonical,
                    attempts: 0,
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
