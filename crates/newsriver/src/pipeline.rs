//! The stages, joined by bounded channels:
//!
//! ```text
//! source -> [jobs] -> fetch (N concurrent) -> [pages] -> strip (worker threads)
//!        -> [extracted] -> dedup (sequential) -> [articles] -> publish (batches, ack)
//!        every stage -> [done] -> completion (state store, counters, progress)
//! ```
//!
//! Bounded channels give backpressure: a slow sink slows the fetcher instead of growing
//! memory. Shutdown is a cascade: the source stops and drops its sender, each stage
//! finishes what it holds and drops its own, and completion ends last.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::{anyhow, Result};
use chrono::Utc;
use futures::StreamExt;
use newsriver_dedup::{Deduper, Fingerprint, ShingleSource, StoryIndex};
use newsriver_fetcher::{Fetcher, Page};
use newsriver_model::{
    article_id, Article, DedupInfo, DedupStatus, DuplicateReason, PageJob, SCHEMA_VERSION,
};
use newsriver_publisher::Sink;
use newsriver_store::{Completion, Listing, Outcome, Remembered, Store};
use newsriver_stripper::Extracted;
use tokio::sync::mpsc;

use crate::config::{Config, DuplicatePolicy};

/// Most items the completion stage records in one transaction.
const COMPLETION_BATCH: usize = 512;

/// How often the dedup stage drops state older than the retention window.
const EXPIRY_INTERVAL: std::time::Duration = std::time::Duration::from_secs(3600);

/// A page to process, keyed by the canonical form of its listed URL.
#[derive(Debug, Clone)]
pub struct Job {
    pub page: PageJob,
    pub canonical_url: String,
    /// Failed attempts so far (from the state store).
    pub attempts: u32,
}

struct Fetched {
    job: Job,
    page: Page,
    fetched_at: chrono::DateTime<Utc>,
}

struct Stripped {
    job: Job,
    final_url: String,
    extracted: Extracted,
    fetched_at: chrono::DateTime<Utc>,
}

struct ToPublish {
    job: Job,
    article: Article,
    remembered: Option<Remembered>,
}

enum Done {
    Published(Box<ToPublish>),
    Duplicate {
        job: Job,
        article_canonical: String,
    },
    Failed {
        job: Job,
        error: String,
        transient: bool,
    },
}

/// Counters shown in summaries and logs.
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
}

impl Stats {
    pub fn get(&self, c: &AtomicU64) -> u64 {
        c.load(Ordering::Relaxed)
    }

    fn add(c: &AtomicU64) {
        c.fetch_add(1, Ordering::Relaxed);
    }
}

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

/// Runs the stages until `jobs` is closed and everything inside has finished.
pub async fn run(
    ctx: Arc<Context>,
    jobs: mpsc::Receiver<Job>,
    deduper: Deduper,
    stories: StoryIndex,
    sink: Sink,
) -> Result<()> {
    let cap = ctx.config.pipeline.channel_capacity;
    let (page_tx, page_rx) = mpsc::channel::<Fetched>(cap);
    let (strip_tx, strip_rx) = mpsc::channel::<Stripped>(cap);
    let (pub_tx, pub_rx) = mpsc::channel::<ToPublish>(cap);
    let (done_tx, done_rx) = mpsc::channel::<Done>(cap * 4);

    let fetch = tokio::spawn(fetch_stage(ctx.clone(), jobs, page_tx, done_tx.clone()));
    let strip = tokio::spawn(strip_stage(ctx.clone(), page_rx, strip_tx, done_tx.clone()));
    let dedup = tokio::spawn(dedup_stage(
        ctx.clone(),
        deduper,
        stories,
        strip_rx,
        pub_tx,
        done_tx.clone(),
    ));
    let publish = tokio::spawn(publish_stage(ctx.clone(), sink, pub_rx, done_tx));
    let complete = tokio::spawn(completion_stage(ctx.clone(), done_rx));

    let (f, s, d, p, c) = tokio::join!(fetch, strip, dedup, publish, complete);
    f?;
    s?;
    d?;
    c??;
    p?
}

fn receiver_stream<T: Send + 'static>(mut rx: mpsc::Receiver<T>) -> impl futures::Stream<Item = T> {
    futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

async fn fetch_stage(
    ctx: Arc<Context>,
    jobs: mpsc::Receiver<Job>,
    out: mpsc::Sender<Fetched>,
    done: mpsc::Sender<Done>,
) {
    let concurrency = ctx.config.fetch.concurrency;
    receiver_stream(jobs)
        .map(|job| {
            let ctx = ctx.clone();
            async move {
                let result = ctx.fetcher.fetch_page(&job.page.url).await;
                (job, result)
            }
        })
        .buffer_unordered(concurrency)
        .for_each(|(job, result)| {
            let out = out.clone();
            let done = done.clone();
            let ctx = ctx.clone();
            async move {
                match result {
                    Ok(page) => {
                        Stats::add(&ctx.stats.fetched);
                        let fetched = Fetched {
                            job,
                            page,
                            fetched_at: Utc::now(),
                        };
                        let _ = out.send(fetched).await;
                    }
                    Err(e) => {
                        tracing::warn!(url = %job.page.url, error = %e, "fetch failed");
                        let transient = e.is_transient();
                        let _ = done
                            .send(Done::Failed {
                                job,
                                error: e.to_string(),
                                transient,
                            })
                            .await;
                    }
                }
            }
        })
        .await;
}

async fn strip_stage(
    ctx: Arc<Context>,
    pages: mpsc::Receiver<Fetched>,
    out: mpsc::Sender<Stripped>,
    done: mpsc::Sender<Done>,
) {
    let workers = ctx.config.strip_workers();
    let options = ctx.config.strip.options();
    receiver_stream(pages)
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
        .buffer_unordered(workers)
        .for_each(|joined| {
            let out = out.clone();
            let done = done.clone();
            let ctx = ctx.clone();
            async move {
                let (f, result) = match joined {
                    Ok(r) => r,
                    Err(e) => {
                        // A panic in the stripper is a bug; the job is lost only from this run.
                        tracing::error!(error = %e, "stripper task failed");
                        return;
                    }
                };
                match result {
                    Ok(extracted) if !extracted.text.trim().is_empty() => {
                        Stats::add(&ctx.stats.extracted);
                        let _ = out
                            .send(Stripped {
                                job: f.job,
                                final_url: f.page.final_url,
                                extracted,
                                fetched_at: f.fetched_at,
                            })
                            .await;
                    }
                    Ok(_) => {
                        Stats::add(&ctx.stats.no_article);
                        tracing::warn!(url = %f.job.page.url, "no article text found on page");
                        let _ = done
                            .send(Done::Failed {
                                job: f.job,
                                error: "no article text found on page".into(),
                                transient: false,
                            })
                            .await;
                    }
                    Err(e) => {
                        tracing::warn!(url = %f.job.page.url, error = %e, "extraction failed");
                        let _ = done
                            .send(Done::Failed {
                                job: f.job,
                                error: e.to_string(),
                                transient: false,
                            })
                            .await;
                    }
                }
            }
        })
        .await;
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

async fn dedup_stage(
    ctx: Arc<Context>,
    mut deduper: Deduper,
    mut stories: StoryIndex,
    mut input: mpsc::Receiver<Stripped>,
    out: mpsc::Sender<ToPublish>,
    done: mpsc::Sender<Done>,
) {
    let policy = ctx.config.dedup.policy;
    let window = chrono::Duration::days(i64::from(ctx.config.dedup.window_days));
    let mut last_expiry = std::time::Instant::now();
    while let Some(s) = input.recv().await {
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
            let _ = done
                .send(Done::Duplicate {
                    job: s.job,
                    article_canonical: canonical,
                })
                .await;
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
        if out
            .send(ToPublish {
                job: s.job,
                article,
                remembered,
            })
            .await
            .is_err()
        {
            break;
        }
    }
}

async fn publish_stage(
    ctx: Arc<Context>,
    mut sink: Sink,
    mut input: mpsc::Receiver<ToPublish>,
    done: mpsc::Sender<Done>,
) -> Result<()> {
    let max = ctx.config.pipeline.batch_size;
    let mut batch: Vec<ToPublish> = Vec::with_capacity(max);
    let mut articles: Vec<Article> = Vec::with_capacity(max);
    while let Some(first) = input.recv().await {
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
            if done.send(Done::Published(Box::new(item))).await.is_err() {
                return Err(anyhow!("completion stage stopped early"));
            }
        }
    }
    sink.close().await?;
    Ok(())
}

async fn completion_stage(ctx: Arc<Context>, mut input: mpsc::Receiver<Done>) -> Result<()> {
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
