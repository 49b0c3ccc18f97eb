//! The `newsriver` command: wires the stages together and exposes them as a daemon
//! (`run`), a one-shot URL list job (`backfill`) and debugging tools (`extract`, `feeds`).

mod config;
mod lock;
mod pipeline;
mod sources;

use std::collections::HashSet;
use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use anyhow::{Context as _, Result};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use newsriver_dedup::{DedupConfig, Deduper, StoryConfig, StoryIndex};
use newsriver_fetcher::Fetcher;
use newsriver_publisher::{Destination, JsonLinesSink, Sink};
use newsriver_store::Store;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::config::{Config, OutputKind};
use crate::pipeline::{Context, Stats};

/// Exit code when some items failed (backfill) or the pipeline stopped on an error.
const EXIT_FAILURES: u8 = 1;
/// Exit code for bad usage or configuration (clap uses it for argument errors too).
const EXIT_USAGE: u8 = 2;
/// Exit code when another process owns the state file (sysexits' EX_TEMPFAIL: retrying
/// later can work, and a service manager can tell it from a crash).
const EXIT_LOCKED: u8 = 75;
/// Exit code after a second interrupt forced an immediate stop.
const EXIT_INTERRUPTED: u8 = 130;

#[derive(Parser)]
#[command(
    name = "newsriver",
    version,
    about = "Streaming news ingestion: feeds and article URLs in, clean deduplicated articles out",
    long_about = "Streaming news ingestion: polls RSS/Atom/JSON feeds, fetches article pages, \
strips them to clean text and metadata, drops duplicates, and publishes JSON lines.\n\n\
Configuration: embedded defaults (see config/newsriver.toml), merged with --config FILE, \
then NEWSRIVER_<SECTION>__<KEY> environment variables. Logs go to stderr; RUST_LOG sets the \
level (default info).\n\n\
Exit codes: 0 success; 1 some items failed or the pipeline stopped on an error; \
2 bad usage or configuration; 75 the state file is locked by another run or backfill \
(nothing was changed); 130 stopped by a second interrupt."
)]
struct Cli {
    /// TOML config file merged over the embedded defaults.
    #[arg(
        long,
        short,
        global = true,
        env = "NEWSRIVER_CONFIG",
        value_name = "FILE"
    )]
    config: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Poll the configured feeds and publish new articles until SIGINT/SIGTERM.
    ///
    /// On a signal: stop polling, finish what is in flight, flush the sink, exit 0.
    /// Work accepted but not acknowledged when the process dies is redone on the next start.
    Run {
        /// Poll every feed once, process everything, then exit.
        #[arg(long)]
        once: bool,
        /// Write JSON lines here instead of the configured output ("-" for stdout).
        #[arg(long, short, value_name = "FILE")]
        output: Option<String>,
    },
    /// Fetch, strip, dedup and publish a list of article URLs (one per line; blank lines
    /// and lines starting with # are skipped).
    ///
    /// Prints a summary on stderr. Exit 0 when every URL was handled (published, or
    /// recognized as a duplicate), 1 when some failed.
    Backfill {
        /// File with one URL per line, or "-" for standard input.
        #[arg(default_value = "-", value_name = "FILE|-")]
        input: String,
        /// Write JSON lines here instead of the configured output ("-" for stdout).
        #[arg(long, short, value_name = "FILE")]
        output: Option<String>,
        /// Never show the progress bar (it is shown only when stderr is a terminal).
        #[arg(long)]
        no_progress: bool,
    },
    /// Strip one page and print the result as JSON (for debugging and benchmarks).
    Extract {
        /// An HTML file, an http(s) URL to fetch, or "-" for standard input.
        #[arg(default_value = "-", value_name = "FILE|URL|-")]
        input: String,
        /// Print only the main text.
        #[arg(long)]
        text: bool,
        /// The page's URL, for resolving links and dates when reading a file.
        #[arg(long, value_name = "URL")]
        url: Option<String>,
    },
    /// Read the Kafka topic and print each article as a JSON line (to inspect the river
    /// or pipe it on). Brokers and topic default to the [kafka] config section.
    Consume {
        /// Bootstrap servers (default: kafka.brokers).
        #[arg(long)]
        brokers: Option<String>,
        /// Topic (default: kafka.topic).
        #[arg(long)]
        topic: Option<String>,
        /// Consumer group: members share the partitions and offsets are committed.
        /// Without one, a private group reads without committing.
        #[arg(long)]
        group: Option<String>,
        /// Start from the oldest retained message when the group has no offset
        /// (default: only new messages).
        #[arg(long)]
        from_beginning: bool,
        /// Exit after this many messages.
        #[arg(long, value_name = "N")]
        max_messages: Option<u64>,
        /// Exit when no message arrived for this many seconds.
        #[arg(long, value_name = "SECS")]
        idle_timeout: Option<u64>,
    },
    /// List the feeds in the state store with their poll status, then article counts and
    /// the articles being retried.
    Feeds,
    /// List the active stories in the state store (those that took an article within
    /// dedup.story_window_hours), most recently active first: story id, articles,
    /// languages, sites, first and last seen (article times), title. Works while the
    /// daemon runs.
    ///
    /// A story id is the id of the story's first article; it stays the same across
    /// restarts and upgrades.
    Stories {
        /// Only stories with at least this many articles.
        #[arg(long, default_value_t = 1, value_name = "N")]
        min_articles: u64,
        /// At most this many stories.
        #[arg(long, default_value_t = 50, value_name = "N")]
        limit: usize,
        /// One JSON object a line (story_id, title, articles, sites, languages,
        /// first_seen, last_seen) instead of a table.
        #[arg(long)]
        json: bool,
    },
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        // html5ever reports every parse quirk of real-world markup as a warning.
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,html5ever=off"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    let config = match Config::load(cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("newsriver: {e:#}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("newsriver: cannot start async runtime: {e}");
            return ExitCode::from(EXIT_FAILURES);
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Run { once, output } => cmd_run(config, once, output).await,
            Command::Backfill {
                input,
                output,
                no_progress,
            } => cmd_backfill(config, &input, output, no_progress).await,
            Command::Extract { input, text, url } => cmd_extract(config, &input, text, url).await,
            Command::Feeds => cmd_feeds(config),
            Command::Stories {
                min_articles,
                limit,
                json,
            } => cmd_stories(config, min_articles, limit, json),
            Command::Consume {
                brokers,
                topic,
                group,
                from_beginning,
                max_messages,
                idle_timeout,
            } => {
                let options = newsriver_publisher::ConsumeOptions {
                    brokers: brokers.unwrap_or_else(|| config.kafka.brokers.clone()),
                    topic: topic.unwrap_or_else(|| config.kafka.topic.clone()),
                    group,
                    from_beginning,
                    max_messages,
                    idle_timeout: idle_timeout.map(std::time::Duration::from_secs),
                    properties: config.kafka.properties.clone(),
                };
                cmd_consume(options).await
            }
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("newsriver: {e:#}");
            if e.downcast_ref::<lock::StateLocked>().is_some() {
                ExitCode::from(EXIT_LOCKED)
            } else {
                ExitCode::from(EXIT_FAILURES)
            }
        }
    }
}

/// Everything a pipeline run needs, built from the config.
async fn setup(
    config: Config,
    output: Option<String>,
) -> Result<(Context, Deduper, StoryIndex, Sink)> {
    if config.dedup.clearurls {
        let rules = Some(config.dedup.clearurls_rules.as_str())
            .filter(|p| !p.is_empty())
            .map(std::path::Path::new);
        newsriver_dedup::use_clearurls(rules).context("dedup.clearurls")?;
    }
    let store = Store::open(&config.state.path)
        .with_context(|| format!("opening state database {}", config.state.path.display()))?;
    let window = chrono::Duration::days(i64::from(config.dedup.window_days));
    let cutoff = chrono::Utc::now() - window;
    let expired = store.expire(cutoff)?;
    let pipeline = &config.pipeline;
    let mut deduper = Deduper::new(DedupConfig {
        near_threshold: config.dedup.near_threshold,
        // Articles between dedup and the store (channels, a batch at the sink, its
        // completion) are verified from memory: keep well more than can be in flight.
        recent_shingles: (pipeline.channel_capacity * 8 + pipeline.batch_size * 2).max(4096),
    });
    let mut stories = StoryIndex::new(StoryConfig {
        threshold: config.dedup.story_threshold,
        window_secs: i64::from(config.dedup.story_window_hours) * 3600,
    });
    for r in store.remembered_since(cutoff)? {
        deduper.insert_at(&r.id, &r.story_id, &r.fingerprint, r.stored_at);
        stories.restore(&r.story_id, &r.story_terms, r.story_at, r.stored_at);
    }
    tracing::info!(
        state = %config.state.path.display(),
        remembered = deduper.len(),
        expired,
        pending = store.pending_count()?,
        "state loaded"
    );
    // --output always means JSON lines, whatever the configured kind.
    let sink = match (&output, config.output.kind) {
        (None, OutputKind::Kafka) => Sink::Kafka(Box::new(
            newsriver_publisher::KafkaSink::open(&config.kafka).await?,
        )),
        _ => {
            let dest = Destination::parse(output.as_deref().unwrap_or(&config.output.path));
            Sink::JsonLines(JsonLinesSink::open(&dest).await?)
        }
    };
    let fetcher = Fetcher::new(config.fetch_config())?;
    let ctx = Context {
        config,
        fetcher: Arc::new(fetcher),
        store: Arc::new(Mutex::new(store)),
        stats: Arc::new(Stats::default()),
        in_flight: Arc::new(Mutex::new(HashSet::new())),
        on_done: None,
    };
    Ok((ctx, deduper, stories, sink))
}

/// Cancels `token` on the first SIGINT/SIGTERM; exits at once on the second.
fn spawn_signal_handler(token: CancellationToken) {
    tokio::spawn(async move {
        let mut count = 0;
        loop {
            wait_for_signal().await;
            count += 1;
            if count == 1 {
                tracing::info!("shutting down: finishing in-flight work (signal again to force)");
                token.cancel();
            } else {
                eprintln!(
                    "newsriver: forced stop; unacknowledged work will be redone on next start"
                );
                std::process::exit(i32::from(EXIT_INTERRUPTED));
            }
        }
    });
}

#[cfg(unix)]
async fn wait_for_signal() {
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

#[cfg(not(unix))]
async fn wait_for_signal() {
    let _ = tokio::signal::ctrl_c().await;
}

async fn cmd_run(config: Config, once: bool, output: Option<String>) -> Result<ExitCode> {
    let feeds = config.feed_urls()?;
    if feeds.is_empty() {
        anyhow::bail!("no feeds configured (feeds.urls or feeds.opml)");
    }
    // Before setup opens (and migrates) the database; held until the pipeline has stopped.
    let _lock = lock::lock_state(&config.state.path, "newsriver run")?;
    let (ctx, deduper, stories, sink) = setup(config, output).await?;
    let ctx = Arc::new(ctx);
    let cancel = CancellationToken::new();
    spawn_signal_handler(cancel.clone());
    tracing::info!(feeds = feeds.len(), once, "starting");
    let (tx, rx) = mpsc::channel(ctx.config.pipeline.channel_capacity);
    let source = tokio::spawn(sources::feed_source(
        ctx.clone(),
        feeds,
        tx,
        cancel.clone(),
        once,
    ));
    let pipeline = pipeline::run(ctx.clone(), rx, deduper, stories, sink).await;
    let source = source.await?;
    let s = &ctx.stats;
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
    pipeline?;
    source?;
    Ok(ExitCode::SUCCESS)
}

fn read_input(input: &str) -> Result<Vec<u8>> {
    if input == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .context("reading standard input")?;
        Ok(buf)
    } else {
        std::fs::read(input).with_context(|| format!("reading {input}"))
    }
}

async fn cmd_backfill(
    config: Config,
    input: &str,
    output: Option<String>,
    no_progress: bool,
) -> Result<ExitCode> {
    // First of all: a refused backfill must not have consumed its standard input either.
    let _lock = lock::lock_state(&config.state.path, "newsriver backfill")?;
    let raw = read_input(input)?;
    let lines: Vec<String> = String::from_utf8_lossy(&raw)
        .lines()
        .map(str::to_string)
        .collect();
    let (ctx, deduper, stories, sink) = setup(config, output).await?;
    let (jobs, listed) = sources::backfill_jobs(&ctx, &lines)?;

    let bar = if no_progress || !std::io::stderr().is_terminal() {
        ProgressBar::hidden()
    } else {
        let b =
            ProgressBar::with_draw_target(Some(jobs.len() as u64), ProgressDrawTarget::stderr());
        b.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} ({per_sec}, eta {eta})",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        b
    };
    let ctx = {
        let mut ctx = ctx;
        let b = bar.clone();
        ctx.on_done = Some(Box::new(move || b.inc(1)));
        Arc::new(ctx)
    };
    let cancel = CancellationToken::new();
    spawn_signal_handler(cancel.clone());
    let (tx, rx) = mpsc::channel(ctx.config.pipeline.channel_capacity);
    let feeder = tokio::spawn(async move {
        for job in jobs {
            tokio::select! {
                _ = cancel.cancelled() => break,
                sent = tx.send(job) => if sent.is_err() { break },
            }
        }
    });
    let result = pipeline::run(ctx.clone(), rx, deduper, stories, sink).await;
    feeder.await?;
    bar.finish_and_clear();
    result?;

    let s = &ctx.stats;
    let failed = s.get(&s.failed) + listed.invalid;
    let duplicates = s.get(&s.duplicates) + listed.already_seen + listed.listed_twice;
    eprintln!(
        "backfill: {} urls, fetched {}, extracted {}, published {}, duplicates {} ({} seen before), failed {} ({} without an article)",
        listed.queued + listed.already_seen + listed.listed_twice + listed.invalid,
        s.get(&s.fetched),
        s.get(&s.extracted),
        s.get(&s.published),
        duplicates,
        listed.already_seen,
        failed,
        s.get(&s.no_article)
    );
    let handled =
        s.get(&s.published) + s.get(&s.duplicates) + s.get(&s.failed) + s.get(&s.deferred);
    if failed > 0 || handled < listed.queued {
        return Ok(ExitCode::from(EXIT_FAILURES));
    }
    Ok(ExitCode::SUCCESS)
}

async fn cmd_extract(
    config: Config,
    input: &str,
    text_only: bool,
    url: Option<String>,
) -> Result<ExitCode> {
    let (html, page_url) = if input.starts_with("http://") || input.starts_with("https://") {
        let fetcher = Fetcher::new(config.fetch_config())?;
        let page = fetcher.fetch_page(input).await?;
        (page.html, Some(page.final_url))
    } else {
        let bytes = read_input(input)?;
        (newsriver_fetcher::decode(&bytes, None).0, url)
    };
    let options = config.strip.options();
    let extracted = newsriver_stripper::extract_with(&html, page_url.as_deref(), &options)?;
    if text_only {
        println!("{}", extracted.text);
    } else {
        println!("{}", serde_json::to_string_pretty(&extracted)?);
    }
    Ok(ExitCode::SUCCESS)
}

async fn cmd_consume(options: newsriver_publisher::ConsumeOptions) -> Result<ExitCode> {
    use std::io::Write;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let read = newsriver_publisher::consume(
        &options,
        |payload| {
            out.write_all(payload)?;
            out.write_all(b"\n")?;
            // Readers downstream of a pipe see each article as it arrives.
            out.flush()
        },
        wait_for_signal(),
    )
    .await?;
    tracing::info!(read, topic = %options.topic, "consumer stopped");
    Ok(ExitCode::SUCCESS)
}

/// Read-only: takes no lock and opens the database read-only, so it works while a daemon
/// runs (SQLite's WAL lets it read beside the writer) and never changes the state.
fn cmd_feeds(config: Config) -> Result<ExitCode> {
    with_state(&config, write_feeds)
}

fn cmd_stories(config: Config, min_articles: u64, limit: usize, json: bool) -> Result<ExitCode> {
    let window = chrono::Duration::hours(i64::from(config.dedup.story_window_hours));
    with_state(&config, |store, out| {
        let stories = store.stories(chrono::Utc::now() - window, min_articles, limit)?;
        write_stories(&stories, json, out)
    })
}

/// Runs `print` on the state store opened read-only (so it works beside the daemon) and
/// standard output. A missing store is not an error: nothing has run on it yet.
fn with_state(
    config: &Config,
    print: impl FnOnce(&Store, &mut std::io::BufWriter<std::io::StdoutLock<'static>>) -> Result<()>,
) -> Result<ExitCode> {
    let path = &config.state.path;
    if !path.exists() {
        // Creating the database here would be a write; there is nothing to list anyway.
        println!("no state at {} yet: nothing has run on it", path.display());
        return Ok(ExitCode::SUCCESS);
    }
    let store = Store::open_read_only(path)
        .with_context(|| format!("opening state database {}", path.display()))?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match print(&store, &mut out).and_then(|()| Ok(std::io::Write::flush(&mut out)?)) {
        // `newsriver feeds | head`: the reader has what it wanted.
        Err(e)
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Err(e),
        Ok(()) => Ok(ExitCode::SUCCESS),
    }
}

/// The story table (or JSON lines) of `newsriver stories`.
fn write_stories(
    stories: &[newsriver_store::StorySummary],
    json: bool,
    out: &mut impl std::io::Write,
) -> Result<()> {
    if json {
        for s in stories {
            serde_json::to_writer(&mut *out, s)?;
            writeln!(out)?;
        }
        return Ok(());
    }
    let fmt = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    writeln!(
        out,
        "{:<20} {:<20} {:>8}  {:<10} {:<24} title / story id",
        "last seen", "first seen", "articles", "languages", "sites"
    )?;
    for s in stories {
        let mut sites = s.sites.join(",");
        if sites.chars().count() > 24 {
            sites = format!("{}…", sites.chars().take(23).collect::<String>());
        }
        writeln!(
            out,
            "{:<20} {:<20} {:>8}  {:<10} {:<24} {}",
            fmt(s.last_seen),
            fmt(s.first_seen),
            s.articles,
            if s.languages.is_empty() {
                "-".to_string()
            } else {
                s.languages.join(",")
            },
            if sites.is_empty() {
                "-".to_string()
            } else {
                sites
            },
            s.title.as_deref().unwrap_or("(no title)")
        )?;
        writeln!(out, "{:<20} {}", "", s.story_id)?;
    }
    if stories.is_empty() {
        writeln!(out, "no active stories")?;
    }
    Ok(())
}

/// The feed table and the work counts of `newsriver feeds`.
fn write_feeds(store: &Store, out: &mut impl std::io::Write) -> Result<()> {
    let fmt = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
            .unwrap_or_else(|| "-".into())
    };
    writeln!(
        out,
        "{:<12} {:<20} {:<20} {:>6}  url / last error",
        "status", "last success", "next poll", "errors"
    )?;
    for f in store.feeds()? {
        let full_status = f.last_status.as_deref().unwrap_or("never");
        // `repaired (charset, truncated; 1 entry dropped)`: the word in the column, the
        // details on the line below.
        let (status, repair) = match full_status.split_once(" (") {
            _ if f.retired => ("retired", None),
            Some((word, details)) => (word, Some(details.trim_end_matches(')'))),
            None => (full_status, None),
        };
        let moved = f
            .fetch_url
            .as_deref()
            .map(|u| format!(" (moved to {u})"))
            .unwrap_or_default();
        writeln!(
            out,
            "{:<12} {:<20} {:<20} {:>6}  {}{}{}",
            status,
            fmt(f.last_success_at),
            fmt(f.next_poll_at),
            f.error_count,
            f.url,
            moved,
            f.last_error
                .or(repair.map(str::to_string))
                .map(|e| format!("\n{:>63}{e}", ""))
                .unwrap_or_default()
        )?;
    }
    let (published, duplicates, failed) = store.outcome_counts()?;
    writeln!(
        out,
        "\narticles pending: {}; URLs seen (a page can have a listed and a canonical URL): \
         {published} published, {duplicates} duplicate, {failed} given up",
        store.pending_count()?
    )?;
    for (url, attempts, error) in store.retrying(10)? {
        writeln!(
            out,
            "  retrying ({attempts} failed attempts) {url}: {error}"
        )?;
    }
    Ok(())
}
