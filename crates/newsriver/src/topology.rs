//! The only place that makes channels, the shutdown token, the kill switch and the
//! acknowledgement path. `run` (the daemon) and `backfill` (a URL list) build the same
//! stages in two shapes:
//!
//! ```text
//! run:      feed source (poller + dispatcher) ─┐
//! backfill: URL list ──────────────────────────┴─> [jobs] -> fetch (N concurrent)
//!   -> [fetched] -> strip (worker threads) -> [stripped] -> dedup (sequential)
//!   -> [to publish] -> publish (batches, sink ack)
//!   fetch, strip, dedup, publish -> [done] -> completion (state store, counters, progress)
//! ```
//!
//! Bounded channels give backpressure: a slow sink slows the fetcher instead of growing
//! memory. Shutdown (a signal) is a cascade: the source stops and drops its sender, each
//! stage finishes what it holds and drops its own, and completion ends last. A failure is
//! not a shutdown: the failing stage pulls the kill switch, every stage and the source
//! stop at their next step, and the topology returns that stage's error (work not
//! acknowledged stays pending in the state store).

use std::io::IsTerminal;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};

use anyhow::{anyhow, Context as _, Result};
use futures::FutureExt;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use newsriver_fetcher::Fetcher;
use newsriver_publisher::{Destination, JsonLinesSink, Sink};
use newsriver_store::Store;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::admin::{self, Observed};
use crate::config::{Config, OutputKind};
use crate::kill_switch::KillSwitch;
use crate::lock;
use crate::messages::{Done, Fetched, Job, Ready, Stripped};
use crate::shared::{self, FeedLanguages, FeedRequests, InFlight, SharedStore};
use crate::sources::{self, FeedSource, ListSummary};
use crate::stages::dedup::{DedupStage, RetentionClock};
use crate::stages::fetch::FetchStage;
use crate::stages::publish::{CompletionStage, PublishStage};
use crate::stages::strip::StripStage;
use crate::stats::Stats;

/// Exit code after a second interrupt forced an immediate stop.
pub const EXIT_INTERRUPTED: u8 = 130;

/// How `newsriver run` runs.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Poll every feed once, process everything, then return.
    pub once: bool,
    /// JSON lines here instead of the configured output ("-" for stdout).
    pub output: Option<String>,
    /// The config file the daemon was started with: SIGHUP reloads its feeds.
    pub config_file: Option<std::path::PathBuf>,
}

/// How `newsriver backfill` runs.
#[derive(Debug, Clone, Default)]
pub struct BackfillOptions {
    /// JSON lines here instead of the configured output ("-" for stdout).
    pub output: Option<String>,
    /// Show a progress bar when standard error is a terminal.
    pub progress: bool,
    /// Sitemaps whose every entry (following indexes) is backfilled too.
    pub sitemaps: Vec<String>,
}

/// The daemon: polls the feeds and publishes new articles until `shutdown` is cancelled
/// (or, with `once`, until every feed was polled once and everything was handled).
/// Returns the failing stage's error when one failed.
pub async fn run(config: Config, options: RunOptions, shutdown: CancellationToken) -> Result<()> {
    let feeds = config.feed_urls()?;
    // Before the store is opened (and migrated); held until the pipeline has stopped.
    let _lock = lock::lock_state(&config.state.path, "newsriver run")?;
    let parts = Parts::open(&config, options.output.as_deref()).await?;
    let added = shared::lock(&parts.store)
        .queue()
        .feeds()?
        .iter()
        .filter(|f| f.origin == newsriver_store::FeedOrigin::Api)
        .count();
    // With the API a daemon may start empty and be given its feeds while it runs.
    if feeds.is_empty() && added == 0 && config.admin.listen.is_empty() {
        anyhow::bail!(
            "no feeds configured (feeds.urls or feeds.opml) nor added (newsriver feeds add)"
        );
    }
    tracing::info!(feeds = feeds.len(), added, once = options.once, "starting");
    let kill = KillSwitch::new();
    let stop_source = stop_on_kill(&shutdown, &kill);
    let (jobs_tx, jobs_rx) = mpsc::channel(config.pipeline.channel_capacity);
    // Cancelled once the pipeline has drained: the admin listener (whose readiness says
    // so meanwhile) and the SIGHUP reloader stop then.
    let drained = CancellationToken::new();
    let source = FeedSource::new(
        &config,
        feeds,
        parts.fetcher.clone(),
        parts.store.clone(),
        parts.in_flight.clone(),
    )
    .feed_languages(parts.feed_languages.clone())
    .feed_requests(parts.feed_requests.clone());
    let (observed, listener) = if config.admin.listen.is_empty() {
        (None, None)
    } else {
        let observed = Arc::new(Observed::new(
            parts.store.clone(),
            parts.stats.clone(),
            shutdown.clone(),
            kill.clone(),
        ));
        observed.watch_queue("jobs", &jobs_tx);
        // Changes go through the same list SIGHUP replaces, so they reach the poller
        // between two polls and nothing in flight is touched.
        let api = crate::feeds_api::routes(Arc::new(crate::feeds_api::FeedsApi::new(
            parts.store.clone(),
            source.feed_list(),
            config.admin.token.clone(),
            parts.fetcher.clone(),
        )));
        let listener = admin::serve(
            &config.admin.listen,
            observed.clone(),
            Some(api),
            drained.clone(),
        )
        .await?;
        (Some(observed), Some(listener))
    };
    let reloader = reload_on_hangup(
        options.config_file.clone(),
        source.feed_list(),
        parts.store.clone(),
        drained.clone(),
    );
    let source = spawn_stage(
        &kill,
        "feed source",
        source.run(jobs_tx, stop_source, options.once),
    );
    let stats = parts.stats.clone();
    let clock = RetentionClock::Wall;
    stages(
        &config,
        parts,
        Entry::Jobs(jobs_rx),
        None,
        clock,
        observed.as_deref(),
        &kill,
    )
    .await?;
    source.await?;
    drained.cancel();
    if let Some(listener) = listener {
        let _ = listener.await;
    }
    if let Some(reloader) = reloader {
        let _ = reloader.await;
    }
    let s = &stats;
    tracing::info!(
        fetched = s.get(&s.fetched),
        extracted = s.get(&s.extracted),
        published = s.get(&s.published),
        duplicates = s.get(&s.duplicates),
        failed = s.get(&s.failed),
        no_article = s.get(&s.no_article),
        retry_later = s.get(&s.deferred),
        "stopped"
    );
    match kill.take_reason() {
        Some(reason) => Err(reason),
        None => Ok(()),
    }
}

/// What a backfill did, for its summary line and exit code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackfillReport {
    pub urls: u64,
    pub fetched: u64,
    pub extracted: u64,
    pub published: u64,
    /// Recognized as duplicates, here or by an earlier run, or listed twice.
    pub duplicates: u64,
    pub seen_before: u64,
    /// Not fetchable, failed, or without an article.
    pub failed: u64,
    pub no_article: u64,
    /// Left out by `filter.languages` (handled: not a failure).
    pub filtered: u64,
    /// Jobs queued that never finished (stopped by a signal before their turn).
    pub unfinished: u64,
}

impl BackfillReport {
    /// Every URL was handled: published, or recognized as a duplicate.
    pub fn all_handled(&self) -> bool {
        self.failed == 0 && self.unfinished == 0
    }
}

impl std::fmt::Display for BackfillReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "backfill: {} urls, fetched {}, extracted {}, published {}, duplicates {} ({} seen before), failed {} ({} without an article)",
            self.urls,
            self.fetched,
            self.extracted,
            self.published,
            self.duplicates,
            self.seen_before,
            self.failed,
            self.no_article
        )?;
        // Only when a filter is at work: the line scripts parse stays as it was.
        if self.filtered > 0 {
            write!(f, ", filtered {}", self.filtered)?;
        }
        Ok(())
    }
}

/// A URL list (`input`: a file, or "-" for standard input) and the entries of
/// `options.sitemaps` through the same stages as the daemon, until every URL was handled
/// or `shutdown` is cancelled.
pub async fn backfill(
    config: Config,
    input: Option<&str>,
    options: BackfillOptions,
    shutdown: CancellationToken,
) -> Result<BackfillReport> {
    // First of all: a refused backfill must not have consumed its standard input either.
    let _lock = lock::lock_state(&config.state.path, "newsriver backfill")?;
    let lines = match input {
        Some(input) => sources::read_url_list(input)?,
        None => Vec::new(),
    };
    let parts = Parts::open(&config, options.output.as_deref()).await?;
    let mut pages: Vec<newsriver_model::PageJob> = sources::url_list_pages(lines).collect();
    for given in &options.sitemaps {
        // A site's root stands for the sitemaps its robots.txt lists.
        let (sitemaps, from_robots) = match sources::site_root(given) {
            true => {
                let listed = parts
                    .fetcher
                    .robots_sitemaps(given)
                    .await
                    .with_context(|| format!("reading the robots.txt of {given}"))?;
                if listed.is_empty() {
                    anyhow::bail!("the robots.txt of {given} lists no sitemap (Sitemap: lines)");
                }
                tracing::info!(site = %given, sitemaps = listed.len(), "sitemaps listed in robots.txt");
                (listed, true)
            }
            false => (vec![given.clone()], false),
        };
        for sitemap in &sitemaps {
            // A backfill wants the whole sitemap, not the last days of it.
            let items = match parts.fetcher.read_sitemap(sitemap, None).await {
                Ok(items) => items,
                // One of several a site lists: the others are still read.
                Err(e) if from_robots => {
                    tracing::warn!(sitemap = %sitemap, error = %e, "skipping a sitemap robots.txt lists");
                    continue;
                }
                Err(e) => return Err(e).with_context(|| format!("reading sitemap {sitemap}")),
            };
            tracing::info!(sitemap, entries = items.len(), "sitemap read");
            pages.extend(items.into_iter().map(|item| newsriver_model::PageJob {
                url: item.url,
                source: sitemap.clone(),
                hints: item.hints,
            }));
        }
    }
    let (jobs, listed) = sources::listed_jobs(&mut shared::lock(&parts.store), pages)?;
    let bar = progress_bar(options.progress, jobs.len() as u64);
    let kill = KillSwitch::new();
    let stop_source = stop_on_kill(&shutdown, &kill);
    let (jobs_tx, jobs_rx) = mpsc::channel(config.pipeline.channel_capacity);
    let source = spawn_stage(&kill, "URL list", async move {
        for job in jobs {
            tokio::select! {
                _ = stop_source.cancelled() => break,
                sent = jobs_tx.send(job) => if sent.is_err() { break },
            }
        }
        Ok(())
    });
    let stats = backfill_stages(&config, parts, Entry::Jobs(jobs_rx), source, &bar, &kill).await?;
    Ok(backfill_report(&stats, &listed))
}

/// What a WARC backfill did, for its summary line and exit code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WarcReport {
    /// `response` records read.
    pub records: u64,
    /// Responses that are not pages (not status 200, not HTML, too large).
    pub skipped: u64,
    /// Done by an earlier run, by `WARC-Record-ID`.
    pub done_before: u64,
    pub extracted: u64,
    pub published: u64,
    pub duplicates: u64,
    /// Without an article, or not at a fetchable URL.
    pub failed: u64,
    pub no_article: u64,
    pub filtered: u64,
    /// Errors reading the files (each logged with its file and offset).
    pub read_errors: u64,
    pub files: u64,
    /// Files not read to their end: not opened, not WARC, bad records inside, or left
    /// when the run was stopped.
    pub files_unfinished: u64,
    /// Pages handed to the pipeline that never finished (stopped by a second signal).
    pub unfinished: u64,
}

impl WarcReport {
    /// Every file was read to its end and every page in it handled.
    pub fn all_handled(&self) -> bool {
        self.failed == 0 && self.unfinished == 0 && self.files_unfinished == 0
    }
}

impl std::fmt::Display for WarcReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "backfill: {} records, skipped {} (not 200 or not HTML), done before {}, extracted {}, published {}, duplicates {}, failed {} ({} without an article)",
            self.records,
            self.skipped,
            self.done_before,
            self.extracted,
            self.published,
            self.duplicates,
            self.failed,
            self.no_article
        )?;
        if self.filtered > 0 {
            write!(f, ", filtered {}", self.filtered)?;
        }
        write!(
            f,
            "; files {}, unfinished {}, read errors {}",
            self.files, self.files_unfinished, self.read_errors
        )
    }
}

/// The `response` records of WARC files (`-` for standard input) through the strip,
/// dedup and publish stages, nothing fetched; records done by an earlier run (by
/// `WARC-Record-ID`) are skipped, so a stopped backfill resumes. Runs until every file
/// was read and everything handled, or `shutdown` is cancelled (then what was read is
/// finished and the rest is left for the next run).
pub async fn backfill_warc(
    config: Config,
    files: Vec<String>,
    options: BackfillOptions,
    shutdown: CancellationToken,
) -> Result<WarcReport> {
    let _lock = lock::lock_state(&config.state.path, "newsriver backfill")?;
    let parts = Parts::open(&config, options.output.as_deref()).await?;
    let bar = records_progress_bar(options.progress);
    let kill = KillSwitch::new();
    let stop_source = stop_on_kill(&shutdown, &kill);
    // Bounded like every channel: the reader waits for the strip workers, so memory stays
    // flat however many records the files hold.
    let (pages_tx, pages_rx) = mpsc::channel(config.pipeline.channel_capacity);
    let counts = Arc::new(crate::warc_source::WarcCounts::default());
    let reader = crate::warc_source::WarcSource {
        files,
        fetcher: parts.fetcher.clone(),
        max_body: config.fetch.max_body_bytes,
        store: parts.store.clone(),
        counts: counts.clone(),
        progress: bar.clone(),
    };
    let source = spawn_stage(&kill, "WARC reader", async move {
        tokio::task::spawn_blocking(move || reader.run(pages_tx, stop_source))
            .await
            .map_err(|e| anyhow!("the WARC reader thread failed: {e}"))?
    });
    let stats =
        backfill_stages(&config, parts, Entry::Pages(pages_rx), source, &bar, &kill).await?;
    let s = &stats;
    let c = &counts;
    let handled = s.get(&s.published)
        + s.get(&s.duplicates)
        + s.get(&s.failed)
        + s.get(&s.deferred)
        + s.get(&s.filtered);
    Ok(WarcReport {
        records: c.get(&c.records),
        skipped: c.get(&c.skipped),
        done_before: c.get(&c.done_before),
        extracted: s.get(&s.extracted),
        published: s.get(&s.published),
        duplicates: s.get(&s.duplicates),
        failed: s.get(&s.failed) + c.get(&c.invalid),
        no_article: s.get(&s.no_article),
        filtered: s.get(&s.filtered),
        read_errors: c.get(&c.read_errors),
        files: c.get(&c.files),
        files_unfinished: c.get(&c.files_unfinished),
        unfinished: c.get(&c.sent).saturating_sub(handled),
    })
}

/// The URLs of a month's CC-NEWS WARC files (`YYYY-MM`), from `cc_news.base_url`.
pub async fn cc_news_warcs(config: &Config, month: &str) -> Result<Vec<String>> {
    let fetcher = Fetcher::new(config.fetch_config())?;
    fetcher
        .cc_news_warcs(&config.cc_news.base_url, month)
        .await
        .with_context(|| format!("listing the CC-NEWS WARC files of {month}"))
}

/// A bar without an end (records are counted as they are read): records done and their
/// rate, shown only on a terminal.
fn records_progress_bar(wanted: bool) -> ProgressBar {
    if !wanted || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let b = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    b.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {pos} records ({per_sec})")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    b
}

/// Where the pipeline's work comes from: jobs to fetch (feeds, URL lists, sitemaps), or
/// pages in hand already (a WARC backfill), which skip the fetch stage.
enum Entry {
    Jobs(mpsc::Receiver<Job>),
    Pages(mpsc::Receiver<Fetched>),
}

fn backfill_report(s: &Stats, listed: &ListSummary) -> BackfillReport {
    let handled = s.get(&s.published)
        + s.get(&s.duplicates)
        + s.get(&s.failed)
        + s.get(&s.deferred)
        + s.get(&s.filtered);
    BackfillReport {
        urls: listed.queued + listed.already_seen + listed.listed_twice + listed.invalid,
        fetched: s.get(&s.fetched),
        extracted: s.get(&s.extracted),
        published: s.get(&s.published),
        duplicates: s.get(&s.duplicates) + listed.already_seen + listed.listed_twice,
        seen_before: listed.already_seen,
        failed: s.get(&s.failed) + listed.invalid,
        no_article: s.get(&s.no_article),
        filtered: s.get(&s.filtered),
        unfinished: listed.queued.saturating_sub(handled),
    }
}

fn progress_bar(wanted: bool, len: u64) -> ProgressBar {
    if !wanted || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let b = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    b.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} ({per_sec}, eta {eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    b
}

/// What both topologies open from the config before any stage runs: the state store,
/// the sink, the fetcher (shared by the feed poller and the fetch stage) and the handles
/// the stages share.
struct Parts {
    store: SharedStore,
    fetcher: Arc<Fetcher>,
    sink: Sink,
    in_flight: InFlight,
    stats: Arc<Stats>,
    /// Filled by the feed source (`run`); empty for a backfill.
    feed_languages: FeedLanguages,
    /// Likewise.
    feed_requests: FeedRequests,
}

impl Parts {
    async fn open(config: &Config, output: Option<&str>) -> Result<Parts> {
        if config.dedup.clearurls {
            let rules = Some(config.dedup.clearurls_rules.as_str())
                .filter(|p| !p.is_empty())
                .map(std::path::Path::new);
            newsriver_dedup::use_clearurls(rules).context("dedup.clearurls")?;
        }
        let mut store = Store::open(&config.state.path)
            .with_context(|| format!("opening state database {}", config.state.path.display()))?;
        tracing::info!(
            state = %config.state.path.display(),
            pending = store.queue().pending_count()?,
            "state opened"
        );
        // --output always means JSON lines, whatever the configured kind.
        let sink = match (output, config.output.kind) {
            (None, OutputKind::Kafka) => Sink::Kafka(Box::new(
                newsriver_publisher::KafkaSink::open(&config.kafka).await?,
            )),
            _ => {
                let dest = Destination::parse(output.unwrap_or(&config.output.path));
                Sink::JsonLines(JsonLinesSink::open(&dest).await?)
            }
        };
        Ok(Parts {
            store: Arc::new(Mutex::new(store)),
            fetcher: Arc::new(Fetcher::new(config.fetch_config())?),
            sink,
            in_flight: InFlight::default(),
            stats: Arc::default(),
            feed_languages: FeedLanguages::default(),
            feed_requests: FeedRequests::default(),
        })
    }
}

/// Fetch to completion, joined by bounded channels, until `jobs` closes and everything
/// inside has finished, or the kill switch is pulled. Fails only when a stage cannot be
/// built; a stage failing at run time pulls the kill switch.
async fn stages(
    config: &Config,
    parts: Parts,
    entry: Entry,
    on_done: Option<Box<dyn Fn() + Send + Sync>>,
    clock: RetentionClock,
    observed: Option<&Observed>,
    kill: &KillSwitch,
) -> Result<()> {
    let Parts {
        store,
        fetcher,
        sink,
        in_flight,
        stats,
        feed_languages,
        feed_requests,
    } = parts;
    let strip = StripStage::new(&config.strip, &config.filter, stats.clone())
        .feed_languages(feed_languages);
    let dedup = DedupStage::new(
        &config.dedup,
        &config.pipeline,
        store.clone(),
        stats.clone(),
        clock,
    )?;
    let kafka_output = matches!(sink, Sink::Kafka(_));
    let publish = PublishStage::new(&config.pipeline, sink);
    let mut completion = CompletionStage::new(&config.fetch, store, in_flight, stats.clone());
    // Dead letters follow the articles: to Kafka when they go to Kafka (an `--output`
    // file overrides both), else to the file.
    let dead_letters = if kafka_output {
        crate::dead_letters::DeadLetters::kafka(&config.kafka, &config.dead_letters_topic()).await?
    } else {
        crate::dead_letters::DeadLetters::open(&config.dead_letters_path())?
    };
    completion = completion.dead_letters(dead_letters);
    if let Some(f) = on_done {
        completion = completion.on_done(f);
    }

    let cap = config.pipeline.channel_capacity;
    let (stripped_tx, stripped_rx) = mpsc::channel::<Stripped>(cap);
    let (publish_tx, publish_rx) = mpsc::channel::<Ready>(cap);
    // The acknowledgement path: every stage reports how a job ended here.
    let (done_tx, done_rx) = mpsc::channel::<Done>(cap * 4);
    // Pages to fetch go through the fetch stage; pages read from an archive are in hand
    // already and go straight to the strip workers.
    let (fetch_task, fetched_rx) = match entry {
        Entry::Jobs(jobs) => {
            let (fetched_tx, fetched_rx) = mpsc::channel::<Fetched>(cap);
            if let Some(o) = observed {
                o.watch_queue("fetched", &fetched_tx);
            }
            let fetch =
                FetchStage::new(&config.fetch, fetcher, stats.clone()).feed_requests(feed_requests);
            let task = spawn_stage(
                kill,
                "fetch",
                fetch.run(jobs, fetched_tx, done_tx.clone(), kill.clone()),
            );
            (Some(task), fetched_rx)
        }
        Entry::Pages(pages) => (None, pages),
    };
    if let Some(o) = observed {
        o.watch_queue("stripped", &stripped_tx);
        o.watch_queue("publish", &publish_tx);
        o.watch_queue("done", &done_tx);
    }
    let tasks = [
        spawn_stage(
            kill,
            "strip",
            strip.run(fetched_rx, stripped_tx, done_tx.clone(), kill.clone()),
        ),
        spawn_stage(
            kill,
            "dedup",
            dedup.run(stripped_rx, publish_tx, done_tx.clone(), kill.clone()),
        ),
        spawn_stage(
            kill,
            "publish",
            publish.run(publish_rx, done_tx, kill.clone()),
        ),
        spawn_stage(kill, "completion", completion.run(done_rx)),
    ];
    for task in fetch_task.into_iter().chain(tasks) {
        // spawn_stage catches panics: a join error can only be a cancelled runtime.
        if let Err(e) = task.await {
            kill.kill(anyhow!("a stage task was cancelled: {e}"));
        }
    }
    Ok(())
}

/// SIGHUP re-reads the feeds of the configuration (`feeds.urls`, `feeds.opml`) until
/// `stop`; other settings take effect at the next start. Without a way to listen for the
/// signal the daemon runs on without it.
fn reload_on_hangup(
    file: Option<std::path::PathBuf>,
    list: sources::FeedList,
    store: SharedStore,
    stop: CancellationToken,
) -> Option<JoinHandle<()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut hangup = match signal(SignalKind::hangup()) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGHUP; no configuration reload");
                return None;
            }
        };
        Some(tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = stop.cancelled() => break,
                    got = hangup.recv() => if got.is_none() { break },
                }
                let (file, list, store) = (file.clone(), list.clone(), store.clone());
                // Reading the file and the store: off the async workers.
                let reloaded = tokio::task::spawn_blocking(move || {
                    sources::reload_feeds(file.as_deref(), &list, &store)
                });
                let _ = reloaded.await;
            }
        }))
    }
    #[cfg(not(unix))]
    {
        let _ = (file, list, store, stop);
        None
    }
}

/// The stages of a backfill behind its `source` (a URL list or a WARC reader, feeding
/// `entry`): every item done ticks `bar`; retention follows publication time, since a
/// backfill reads the past. Returns the counters once everything was handled, or the
/// reason a stage failed.
async fn backfill_stages(
    config: &Config,
    parts: Parts,
    entry: Entry,
    source: JoinHandle<()>,
    bar: &ProgressBar,
    kill: &KillSwitch,
) -> Result<Arc<Stats>> {
    let stats = parts.stats.clone();
    let progress = bar.clone();
    let on_done: Box<dyn Fn() + Send + Sync> = Box::new(move || progress.inc(1));
    stages(
        config,
        parts,
        entry,
        Some(on_done),
        RetentionClock::Publication,
        None,
        kill,
    )
    .await?;
    source.await?;
    bar.finish_and_clear();
    if let Some(reason) = kill.take_reason() {
        return Err(reason);
    }
    Ok(stats)
}

/// Runs one stage as its own task; its failure (or panic) pulls the kill switch.
fn spawn_stage(
    kill: &KillSwitch,
    name: &'static str,
    stage: impl std::future::Future<Output = Result<()>> + Send + 'static,
) -> JoinHandle<()> {
    let kill = kill.clone();
    tokio::spawn(async move {
        match AssertUnwindSafe(stage).catch_unwind().await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => kill.kill(e.context(format!("{name} stage failed"))),
            Err(_) => kill.kill(anyhow!("{name} stage panicked")),
        }
    })
}

/// A token for the source that is cancelled by a graceful shutdown and by the kill
/// switch alike: either way no new job may enter.
fn stop_on_kill(shutdown: &CancellationToken, kill: &KillSwitch) -> CancellationToken {
    let stop = shutdown.child_token();
    let (kill, watched) = (kill.clone(), stop.clone());
    tokio::spawn(async move {
        tokio::select! {
            _ = kill.killed() => watched.cancel(),
            _ = watched.cancelled() => {}
        }
    });
    stop
}

/// A shutdown token cancelled on the first SIGINT/SIGTERM; the second exits at once
/// with [`EXIT_INTERRUPTED`]. Call inside the runtime.
pub fn shutdown_on_signals() -> CancellationToken {
    let token = CancellationToken::new();
    let cancel = token.clone();
    tokio::spawn(async move {
        let mut count = 0;
        loop {
            wait_for_signal().await;
            count += 1;
            if count == 1 {
                tracing::info!("shutting down: finishing in-flight work (signal again to force)");
                cancel.cancel();
            } else {
                eprintln!(
                    "newsriver: forced stop; unacknowledged work will be redone on next start"
                );
                std::process::exit(i32::from(EXIT_INTERRUPTED));
            }
        }
    });
    token
}

/// Resolves on SIGINT or SIGTERM.
#[cfg(unix)]
pub async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// Resolves on Ctrl-C.
#[cfg(not(unix))]
pub async fn wait_for_signal() {
    let _ = tokio::signal::ctrl_c().await;
}
