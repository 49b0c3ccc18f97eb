//! The stages' loops (the topology joins them with channels; see `topology.rs`).
//!
//! Every loop ends when its input closes (graceful shutdown: a cascade of dropped senders)
//! or when the kill switch is pulled (a stage failed); a send to a stage that stopped is
//! an error, never ignored.

use std::collections::HashSet;
use std::future::Future;
use std::sync::{Arc, Mutex};

use anyhow::{anyhow, Result};
use chrono::Utc;
use futures::StreamExt;
use newsriver_dedup::{Deduper, Fingerprint, ShingleSource, StoryIndex};
use newsriver_fetcher::Fetcher;
use newsriver_model::{
    article_id, Article, DedupInfo, DedupStatus, DuplicateReason, SCHEMA_VERSION,
};
use newsriver_publisher::Sink;
use newsriver_store::{Completion, Listing, Outcome, Remembered, Store};
use tokio::sync::mpsc;

use crate::config::{Config, DuplicatePolicy};
use crate::kill_switch::KillSwitch;
use crate::messages::{Done, Fetched, Job, Stripped, ToPublish};
use crate::stats::Stats;

/// Most items the completion stage records in one transaction.
const COMPLETION_BATCH: usize = 512;

/// How often the dedup stage drops state older than the retention window.
const EXPIRY_INTERVAL: std::time::Duration = std::time::Duration::from_secs(3600);

/// What the stages share.
pub struct Context {
    pub config: Config,
    pub fetcher: Arc<Fetcher>,
    pub store: Arc<Mutex<Store>>,
    pub stats: Arc<Stats>,
    /// Canonical URLs currently inside the pipeline, so the daemon does not enqueue an
    /// item twice while it is in flight.
    pub in_flight: Arc<Mutex<HashSet<String>>>,
    /// Called once per finished job (progress bars).
    pub on_done: Option<Box<dyn Fn() + Send + Sync>>,
}

pub fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave SQLite or a HashSet half-updated in a
    // way that matters more than stopping the pipeline would.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The next input, or `None` when the input is closed or the kill switch was pulled.
async fn next<T>(kill: &KillSwitch, input: impl Future<Output = Option<T>>) -> Option<T> {
    tokio::select! {
        biased;
        _ = kill.killed() => None,
        item = input => item,
    }
}

/// Hands `item` to the next stage; that stage having stopped is an error (it only stops
/// early when it failed, and then the kill switch already holds the first reason).
async fn send<T>(out: &mpsc::Sender<T>, item: T, to: &str) -> Result<()> {
    out.send(item)
        .await
        .map_err(|_| anyhow!("the {to} stage stopped"))
}

fn receiver_stream<T: Send + 'static>(mut rx: mpsc::Receiver<T>) -> impl futures::Stream<Item = T> {
    futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

pub async fn fetch_stage(
    ctx: Arc<Context>,
    jobs: mpsc::Receiver<Job>,
    out: mpsc::Sender<Fetched>,
    done: mpsc::Sender<Done>,
    kill: KillSwitch,
) -> Result<()> {
    let concurrency = ctx.config.fetch.concurrency;
    let fetches = receiver_stream(jobs)
        .map(|job| {
            let ctx = ctx.clone();
            async move {
                let result = ctx.fetcher.fetch_page(&job.page.url).await;
                (job, result)
            }
        })
        .buffer_unordered(concurrency);
    tokio::pin!(fetches);
    while let Some((job, result)) = next(&kill, fetches.next()).await {
        match result {
            Ok(page) => {
                Stats::add(&ctx.stats.fetched);
                let fetched = Fetched {
                    job,
                    page,
                    fetched_at: Utc::now(),
                };
                send(&out, fetched, "strip").await?;
            }
            Err(e) => {
                tracing::warn!(url = %job.page.url, error = %e, "fetch failed");
                let transient = e.is_transient();
                let failed = Done::Failed {
                    job,
                    error: e.to_string(),
                    transient,
                };
                send(&done, failed, "completion").await?;
            }
        }
    }
    Ok(())
}

pub async fn strip_stage(
    ctx: Arc<Context>,
    pages: mpsc::Receiver<Fetched>,
    out: mpsc::Sender<Stripped>,
    done: mpsc::Sender<Done>,
    kill: KillSwitch,
) -> Result<()> {
    let workers = ctx.config.strip_workers();
    let options = ctx.config.strip.options();
    let extractions = receiver_stream(pages)
        .map(|f| {
            let options = options.clone();
            tokio::task::spawn_blocking(move || {
                let result = newsriver_stripper::extract_with(
                    &f.page.html,
                    Some(&f.page.final_url),
                    &options,
                );
                (f, result)
            })
        })
        .buffer_unordered(workers);
    tokio::pin!(extractions);
    while let Some(joined) = next(&kill, extractions.next()).await {
        let (f, result) = match joined {
            Ok(r) => r,
            Err(e) => {
                // A panic in the stripper is a bug, on one page: that job is lost from this
                // run only (it stays pending), and the other pages go on.
                tracing::error!(error = %e, "stripper task failed");
                continue;
            }
        };
        match result {
            Ok(extracted) if !extracted.text.trim().is_empty() => {
                Stats::add(&ctx.stats.extracted);
                let stripped = Stripped {
                    job: f.job,
                    final_url: f.page.final_url,
                    extracted,
                    fetched_at: f.fetched_at,
                };
                send(&out, stripped, "dedup").await?;
            }
            Ok(_) => {
                Stats::add(&ctx.stats.no_article);
                tracing::warn!(url = %f.job.page.url, "no article text found on page");
                let failed = Done::Failed {
                    job: f.job,
                    error: "no article text found on page".into(),
                    transient: false,
                };
                send(&done, failed, "completion").await?;
            }
            Err(e) => {
                tracing::warn!(url = %f.job.page.url, error = %e, "extraction failed");
                let failed = Done::Failed {
                    job: f.job,
                    error: e.to_string(),
                    transient: false,
                };
                send(&done, failed, "completion").await?;
            }
        }
    }
    Ok(())
}

/// The page's own canonical URL is trusted only on the same site: a page must not be able
/// to claim another site's article (and so suppress it as a duplicate).
fn article_canonical(job: &Job, final_url: &str, declared: Option<&str>) -> String {
    let site = |u: &str| {
        newsriver_dedup::canonicalize_url(u).ok().and_then(|u| {
            u.host_str().map(|h| {
                h.trim_start_matches("www.")
                    .trim_start_matches("amp.")
                    .to_string()
            })
        })
    };
    let listed_site = site(&job.canonical_url);
    for candidate in [declared, Some(final_url)].into_iter().flatten() {
        if let Ok(c) = newsriver_dedup::canonicalize_url(candidate) {
            if site(c.as_str()) == listed_site {
                return c.to_string();
            }
        }
    }
    job.canonical_url.clone()
}

/// The state store as the dedup index's source of older articles' shingles, locked only
/// when a near-duplicate candidate needs verifying.
struct StoredShingles<'a>(&'a Mutex<Store>);

impl ShingleSource for StoredShingles<'_> {
    fn shingles(&mut self, id: &str) -> Option<Vec<u32>> {
        ShingleSource::shingles(&mut *lock(self.0), id)
    }
}

pub async fn dedup_stage(
    ctx: Arc<Context>,
    mut deduper: Deduper,
    mut stories: StoryIndex,
    mut input: mpsc::Receiver<Stripped>,
    out: mpsc::Sender<ToPublish>,
    done: mpsc::Sender<Done>,
    kill: KillSwitch,
) -> Result<()> {
    let policy = ctx.config.dedup.policy;
    let window = chrono::Duration::days(i64::from(ctx.config.dedup.window_days));
    let mut last_expiry = std::time::Instant::now();
    while let Some(s) = next(&kill, input.recv()).await {
        // A daemon runs for months: keep memory and state to the retention window.
        if last_expiry.elapsed() >= EXPIRY_INTERVAL {
            last_expiry = std::time::Instant::now();
            let cutoff = Utc::now() - window;
            let forgotten = deduper.expire_before(cutoff.timestamp());
            let store = lock(&ctx.store);
            // Read before the rows go: the story index forgets their term frequencies.
            let leaving = store.story_terms_before(cutoff).unwrap_or_else(|e| {
                tracing::warn!(error = %e, "reading expiring story terms failed");
                Vec::new()
            });
            let freed =
                stories.expire_before(cutoff.timestamp(), leaving.iter().map(Vec::as_slice));
            match store.expire(cutoff) {
                Ok(rows) => {
                    tracing::info!(
                        forgotten,
                        freed,
                        rows,
                        "expired dedup and story state older than the window"
                    )
                }
                Err(e) => tracing::warn!(error = %e, "expiring old state failed"),
            }
        }
        let canonical =
            article_canonical(&s.job, &s.final_url, s.extracted.canonical_url.as_deref());
        let id = article_id(&canonical);
        let fp = Fingerprint::new(&canonical, &s.extracted.text);
        let found = deduper.find(&fp, &mut StoredShingles(&ctx.store));
        // A URL match is the same article again (same id): never worth a second record.
        let same_article = found
            .as_ref()
            .map(|m| m.reason == DuplicateReason::Url)
            .unwrap_or(false);
        if same_article || (found.is_some() && policy == DuplicatePolicy::Drop) {
            Stats::add(&ctx.stats.duplicates);
            let duplicate = Done::Duplicate {
                job: s.job,
                article_canonical: canonical,
            };
            send(&done, duplicate, "completion").await?;
            continue;
        }
        let (dedup, remembered) = match &found {
            Some(m) => (
                DedupInfo {
                    status: DedupStatus::Duplicate,
                    duplicate_of: Some(m.id.clone()),
                    reason: Some(m.reason),
                    story_id: m.story_id.clone(),
                },
                None,
            ),
            None => {
                let title = s
                    .extracted
                    .title
                    .as_deref()
                    .or(s.job.page.hints.title.as_deref());
                // Events are placed in time by publication, so a backfilled report from
                // months ago does not join today's story on the same topic.
                let now = Utc::now();
                let when = s
                    .extracted
                    .published_at
                    .or(s.job.page.hints.published_at)
                    .filter(|t| *t <= now)
                    .unwrap_or(now);
                let assigned = stories.assign(
                    &id,
                    title.unwrap_or_default(),
                    &s.extracted.text,
                    when.timestamp(),
                );
                let story = assigned.story_id;
                deduper.insert(&id, &story, &fp);
                (
                    DedupInfo {
                        status: DedupStatus::Unique,
                        duplicate_of: None,
                        reason: None,
                        story_id: story.clone(),
                    },
                    Some(Remembered {
                        id: id.clone(),
                        story_id: story,
                        fingerprint: fp,
                        stored_at: Utc::now().timestamp(),
                        story_terms: assigned.terms,
                        story_at: when.timestamp(),
                    }),
                )
            }
        };
        if found.is_some() {
            Stats::add(&ctx.stats.duplicates);
        }
        let hints = &s.job.page.hints;
        let e = s.extracted;
        let article = Article {
            schema_version: SCHEMA_VERSION.to_string(),
            id,
            url: s.job.page.url.clone(),
            canonical_url: canonical,
            title: e.title.or_else(|| hints.title.clone()),
            text: e.text,
            published_at: e.published_at.or(hints.published_at),
            modified_at: e.modified_at,
            authors: if e.authors.is_empty() {
                hints.authors.clone()
            } else {
                e.authors
            },
            language: e.language,
            image: e.image,
            source: s.job.page.source.clone(),
            fetched_at: s.fetched_at,
            dedup,
        };
        let to_publish = ToPublish {
            job: s.job,
            article,
            remembered,
        };
        send(&out, to_publish, "publish").await?;
    }
    Ok(())
}

pub async fn publish_stage(
    ctx: Arc<Context>,
    mut sink: Sink,
    mut input: mpsc::Receiver<ToPublish>,
    done: mpsc::Sender<Done>,
    kill: KillSwitch,
) -> Result<()> {
    let max = ctx.config.pipeline.batch_size;
    let mut batch: Vec<ToPublish> = Vec::with_capacity(max);
    let mut articles: Vec<Article> = Vec::with_capacity(max);
    while let Some(first) = next(&kill, input.recv()).await {
        batch.push(first);
        while batch.len() < max {
            match input.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        articles.clear();
        articles.extend(batch.iter().map(|b| b.article.clone()));
        if let Err(e) = sink.publish(&articles).await {
            // Nothing in this batch was acknowledged: it stays pending in the state store
            // and is processed again on the next start.
            return Err(anyhow!(
                "sink failed, stopping without acknowledging {} articles: {e}",
                batch.len()
            ));
        }
        for item in batch.drain(..) {
            send(&done, Done::Published(Box::new(item)), "completion").await?;
        }
    }
    // After another stage's failure nothing more is acknowledged: nothing to flush for.
    if !kill.is_killed() {
        sink.close().await?;
    }
    Ok(())
}

/// Records how each job ended, after the sink's acknowledgement for published ones. Not
/// stopped by the kill switch: it ends when every stage before it has dropped its sender,
/// so whatever was acknowledged before a failure is still recorded.
pub async fn completion_stage(ctx: Arc<Context>, mut input: mpsc::Receiver<Done>) -> Result<()> {
    let max_attempts = ctx.config.fetch.max_attempts;
    let retry_delay = ctx.config.fetch.retry_delay_secs;
    let mut received: Vec<Done> = Vec::with_capacity(COMPLETION_BATCH);
    // Whatever has arrived is recorded in one transaction: at a commit per article the
    // store, not the sink, would set the pace.
    while input.recv_many(&mut received, COMPLETION_BATCH).await > 0 {
        {
            let mut store = lock(&ctx.store);
            // The host each published article is listed under in `newsriver stories`.
            let sites: Vec<Option<String>> = received
                .iter()
                .map(|done| match done {
                    Done::Published(p) => url::Url::parse(&p.article.canonical_url)
                        .ok()
                        .and_then(|u| u.host_str().map(str::to_string)),
                    _ => None,
                })
                .collect();
            let mut completions: Vec<Completion<'_>> = Vec::with_capacity(received.len());
            for (done, site) in received.iter().zip(&sites) {
                match done {
                    Done::Published(p) => {
                        Stats::add(&ctx.stats.published);
                        completions.push(Completion {
                            urls: vec![
                                p.job.canonical_url.as_str(),
                                p.article.canonical_url.as_str(),
                            ],
                            outcome: Outcome::Published,
                            article: p.remembered.as_ref(),
                            listing: Listing {
                                title: p.article.title.as_deref(),
                                language: p.article.language.as_deref(),
                                site: site.as_deref(),
                            },
                        });
                    }
                    Done::Duplicate {
                        job,
                        article_canonical,
                    } => {
                        completions.push(Completion {
                            urls: vec![job.canonical_url.as_str(), article_canonical.as_str()],
                            outcome: Outcome::Duplicate,
                            article: None,
                            listing: Listing::default(),
                        });
                    }
                    Done::Failed {
                        job,
                        error,
                        transient,
                    } => {
                        let attempts = job.attempts + 1;
                        if job.page.source == newsriver_model::BACKFILL_SOURCE {
                            // A URL list is retried by running it again: remember nothing.
                            Stats::add(&ctx.stats.failed);
                        } else if *transient && attempts < max_attempts {
                            let wait = retry_delay.saturating_mul(1 << attempts.min(10));
                            let retry_at = Utc::now() + chrono::Duration::seconds(wait as i64);
                            store.record_attempt_failure(&job.canonical_url, error, retry_at)?;
                            Stats::add(&ctx.stats.deferred);
                        } else {
                            tracing::warn!(url = %job.page.url, attempts, error = %error, "giving up on article");
                            Stats::add(&ctx.stats.failed);
                            completions.push(Completion {
                                urls: vec![job.canonical_url.as_str()],
                                outcome: Outcome::Failed,
                                article: None,
                                listing: Listing::default(),
                            });
                        }
                    }
                }
            }
            store.complete_all(&completions)?;
        }
        for done in received.drain(..) {
            let canonical = match &done {
                Done::Published(p) => &p.job.canonical_url,
                Done::Duplicate { job, .. } | Done::Failed { job, .. } => &job.canonical_url,
            };
            lock(&ctx.in_flight).remove(canonical);
            if let Some(cb) = &ctx.on_done {
                cb();
            }
        }
    }
    Ok(())
}
