//! The `newsriver` command line: parses arguments, loads the config, calls a topology or
//! a tool of the library, and turns the outcome into an exit code.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use newsriver::config::Config;
use newsriver::topology::{self, BackfillOptions, RunOptions};
use newsriver::{feeds_cli, lock, tools};

/// Fixes glibc malloc's thresholds, before any thread starts. glibc raises its mmap
/// threshold (up to 32 MB) each time a mapped block is freed; after that the dedup index's
/// sorted arrays and the story slots, megabytes that are reallocated as they grow, come
/// from the heap, and every growth leaves the old block behind as a hole. With the
/// threshold fixed at 128 KB they stay mapped (`realloc` remaps them, `free` unmaps them).
/// Fixing one threshold stops glibc adjusting the other, and a trim threshold left at its
/// 128 KB start had extraction give the top of the heap back and fault it in again on
/// every page (11% slower): 64 MB is what glibc's own adjustment reaches. Measured in the
/// 100,000-article soak (`make bench-soak`), README "Performance". The environment's
/// `MALLOC_MMAP_THRESHOLD_` and `MALLOC_TRIM_THRESHOLD_` win, as glibc documents.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn tune_malloc() {
    const MMAP_THRESHOLD: libc::c_int = 128 * 1024;
    const TRIM_THRESHOLD: libc::c_int = 64 * 1024 * 1024;
    for (name, param, value) in [
        (
            "MALLOC_MMAP_THRESHOLD_",
            libc::M_MMAP_THRESHOLD,
            MMAP_THRESHOLD,
        ),
        (
            "MALLOC_TRIM_THRESHOLD_",
            libc::M_TRIM_THRESHOLD,
            TRIM_THRESHOLD,
        ),
    ] {
        if std::env::var_os(name).is_none() {
            // SAFETY: mallopt only sets malloc's parameters; it is called first thing in
            // main, before any thread of ours allocates.
            unsafe {
                libc::mallopt(param, value);
            }
        }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn tune_malloc() {}

/// Exit code when some items failed (backfill) or the pipeline stopped on an error.
const EXIT_FAILURES: u8 = 1;
/// Exit code for bad usage or configuration (clap uses it for argument errors too).
const EXIT_USAGE: u8 = 2;
/// Exit code when another process owns the state file (sysexits' EX_TEMPFAIL: retrying
/// later can work, and a service manager can tell it from a crash).
const EXIT_LOCKED: u8 = 75;

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
Exit codes: 0 success; 1 some items failed (backfill: or a WARC file could not be read \
to its end) or the pipeline stopped on an error; \
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
    /// and lines starting with # are skipped), or with --warc / --cc-news the pages
    /// archived in WARC files, without fetching them.
    ///
    /// Prints a summary on stderr. Exit 0 when every URL was handled (published, or
    /// recognized as a duplicate), 1 when some failed.
    Backfill {
        /// File with one URL per line, or "-" for standard input (the default unless
        /// --sitemap is given).
        #[arg(value_name = "FILE|-")]
        input: Option<String>,
        /// Also backfill every entry of this sitemap (urlset or sitemapindex, followed;
        /// gzip or not); repeatable. A site's root (https://site.example/) stands for the
        /// sitemaps its robots.txt lists.
        #[arg(long, value_name = "URL")]
        sitemap: Vec<String>,
        /// Instead of URLs, the archived responses of these WARC files (WARC/1.0 or 1.1,
        /// gzip per record as Common Crawl stores them, or uncompressed; "-" for standard
        /// input, an http(s) URL to stream): status 200 HTML pages are stripped, deduplicated and published without
        /// fetching anything. Records done by an earlier run (by WARC-Record-ID) are
        /// skipped, so an interrupted backfill resumes. Exit 1 when a file could not be
        /// read to its end (each bad record is logged with its file and offset).
        #[arg(long, value_name = "FILE", num_args = 1.., conflicts_with_all = ["input", "sitemap"])]
        warc: Vec<String>,
        /// Instead of URLs, the WARC files of a month of Common Crawl's CC-NEWS
        /// (YYYY-MM), streamed from cc_news.base_url and read as --warc reads files.
        #[arg(long, value_name = "YYYY-MM", value_parser = parse_month,
              conflicts_with_all = ["input", "sitemap", "warc"])]
        cc_news: Option<String>,
        /// With --cc-news: at most this many of the month's WARC files (in its list's
        /// order).
        #[arg(long, value_name = "N", requires = "cc_news")]
        limit: Option<usize>,
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
    Feeds {
        #[command(subcommand)]
        action: Option<FeedsAction>,
    },
    /// Ask a running daemon whether it is ready (its admin listener's /readyz): exit 0 when
    /// it is, 1 when it is not or does not answer. For container health probes.
    Healthcheck {
        /// The daemon's admin listener, address:port or URL (default: admin.listen).
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
    },
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

#[derive(Subcommand)]
enum FeedsAction {
    /// Print the polled feeds (configured, and added with `feeds add` or the API) as an
    /// OPML 2.0 subscription list (titles from their last poll), for a feed reader or
    /// another newsriver.
    Export,
    /// Add a feed. It is stored in the state (not in the config file), polled at once and
    /// until removed with `feeds remove`, across restarts and SIGHUP reloads.
    ///
    /// Goes through the running daemon's admin API (--admin, else admin.listen, with
    /// admin.token) when one answers; otherwise straight to the state file, which works
    /// only while no daemon runs on it. Exit 0 added; 1 refused (already polled, or the
    /// daemon refused the token); 2 bad input (not an http(s) URL, invalid settings);
    /// 75 a daemon holds the state file and its admin API does not answer.
    Add {
        /// The feed's URL (http or https), or with --discover a page of the site.
        url: String,
        /// Find the feed the page announces (<link rel="alternate">) or one at a common
        /// path (/feed, /rss, /atom.xml, /feed.xml, /rss.xml, /index.xml), else a
        /// sitemap the site's robots.txt lists, and add that.
        #[arg(long)]
        discover: bool,
        /// Store it paused: not polled until `feeds resume`.
        #[arg(long)]
        paused: bool,
        /// An extra request header for the feed's polls, "Name: value"; repeatable.
        #[arg(long = "header", value_name = "NAME: VALUE")]
        headers: Vec<String>,
        /// User-Agent for the feed's polls, in place of fetch.user_agent.
        #[arg(long, value_name = "AGENT")]
        user_agent: Option<String>,
        /// HTTP basic authentication for the feed's polls, "user:password" (the password
        /// is visible to other users in the process list: prefer the API for real ones).
        #[arg(long, value_name = "USER:PASSWORD")]
        basic_auth: Option<String>,
        /// A Cookie header for the feed's polls ("name=value; other=value").
        #[arg(long, value_name = "COOKIE")]
        cookie: Option<String>,
        /// A proxy for the feed's polls (an http:// or https:// URL), in place of
        /// the HTTP_PROXY/HTTPS_PROXY/ALL_PROXY/NO_PROXY variables.
        #[arg(long, value_name = "URL")]
        proxy: Option<String>,
        /// Shortest poll interval for this feed, in place of poll.min_interval_secs.
        #[arg(long, value_name = "SECS")]
        min_interval: Option<u64>,
        /// Longest poll interval for this feed, in place of poll.max_interval_secs.
        #[arg(long, value_name = "SECS")]
        max_interval: Option<u64>,
        /// Keep only this feed's articles in this language (ISO 639-1, e.g. "ar");
        /// repeatable; filter.languages applies too.
        #[arg(long = "language", value_name = "CODE")]
        languages: Vec<String>,
        /// The daemon's admin listener, address:port or URL (default: admin.listen).
        #[arg(long, value_name = "ADDR")]
        admin: Option<String>,
    },
    /// Remove a feed added with `feeds add` or the API (what it listed before is still
    /// processed). A feed of the config file is refused: remove it there and reload.
    ///
    /// Through the daemon or on the state file as `feeds add`; exit 0 removed, 1 refused
    /// (no such feed, a config feed), 75 state locked and no daemon answering.
    Remove {
        /// The feed's id (see `newsriver feeds` or GET /api/feeds) or URL.
        feed: String,
        /// The daemon's admin listener, address:port or URL (default: admin.listen).
        #[arg(long, value_name = "ADDR")]
        admin: Option<String>,
    },
    /// Pause a feed (of either kind): it is not polled until resumed; what it listed
    /// before is still processed. Exit codes as `feeds remove`.
    Pause {
        /// The feed's id or URL.
        feed: String,
        /// The daemon's admin listener, address:port or URL (default: admin.listen).
        #[arg(long, value_name = "ADDR")]
        admin: Option<String>,
    },
    /// Resume a paused feed. Exit codes as `feeds remove`.
    Resume {
        /// The feed's id or URL.
        feed: String,
        /// The daemon's admin listener, address:port or URL (default: admin.listen).
        #[arg(long, value_name = "ADDR")]
        admin: Option<String>,
    },
    /// Poll a feed now instead of at its next poll time. Exit codes as `feeds remove`
    /// (a paused or retired feed is refused).
    Poll {
        /// The feed's id or URL.
        feed: String,
        /// The daemon's admin listener, address:port or URL (default: admin.listen).
        #[arg(long, value_name = "ADDR")]
        admin: Option<String>,
    },
    /// Print the feeds a site offers, one a line: URL, how it was found (link: announced
    /// by the page; path: a common path; robots: a sitemap its robots.txt lists, when it
    /// has no feed; page: the URL is a feed), title. Changes nothing. Exit 0 when one was
    /// found, 1 when none was.
    Discover {
        /// A page of the site (its home page, an article).
        url: String,
    },
}

/// A `feeds` subcommand as the change it asks for, and the admin listener it names.
fn feed_change(action: FeedsAction) -> anyhow::Result<(Option<String>, feeds_cli::Change)> {
    use newsriver::feed_admin::{FeedKey, FeedSettings, NewFeed};
    use newsriver::feeds_cli::Change;
    let bad = |message: String| feeds_cli::Refused {
        message,
        bad_input: true,
    };
    Ok(match action {
        FeedsAction::Add {
            url,
            discover,
            paused,
            headers,
            user_agent,
            basic_auth,
            cookie,
            proxy,
            min_interval,
            max_interval,
            languages,
            admin,
        } => {
            let mut parsed = std::collections::BTreeMap::new();
            for h in headers {
                let (name, value) = h
                    .split_once(':')
                    .ok_or_else(|| bad(format!("--header {h:?} is not \"Name: value\"")))?;
                parsed.insert(name.trim().to_string(), value.trim().to_string());
            }
            let (username, password) = match basic_auth {
                None => (None, None),
                Some(a) => match a.split_once(':') {
                    Some((u, p)) => (Some(u.to_string()), Some(p.to_string())),
                    None => (Some(a), None),
                },
            };
            let feed = NewFeed {
                url,
                paused,
                discover,
                settings: FeedSettings {
                    headers: parsed,
                    user_agent,
                    username,
                    password,
                    cookie,
                    proxy,
                    min_interval_secs: min_interval,
                    max_interval_secs: max_interval,
                    languages,
                },
            };
            (admin, Change::Add(Box::new(feed)))
        }
        FeedsAction::Remove { feed, admin } => (admin, Change::Remove(FeedKey::parse(&feed))),
        FeedsAction::Pause { feed, admin } => (admin, Change::Pause(FeedKey::parse(&feed))),
        FeedsAction::Resume { feed, admin } => (admin, Change::Resume(FeedKey::parse(&feed))),
        FeedsAction::Poll { feed, admin } => (admin, Change::Poll(FeedKey::parse(&feed))),
        FeedsAction::Export | FeedsAction::Discover { .. } => {
            return Err(bad("not a change".into()).into())
        }
    })
}

/// A `YYYY-MM` month, as CC-NEWS names its folders.
fn parse_month(s: &str) -> Result<String, String> {
    let ok = s.len() == 7
        && s.as_bytes()[4] == b'-'
        && s[..4].bytes().all(|b| b.is_ascii_digit())
        && s[5..].parse::<u8>().is_ok_and(|m| (1..=12).contains(&m));
    if ok {
        Ok(s.to_string())
    } else {
        Err(format!("{s:?} is not a YYYY-MM month"))
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        // html5ever reports every parse quirk of real-world markup as a warning; refinery
        // narrates each migration run at info, on every start even with nothing to do
        // (the store logs the migrations it applied itself).
        .unwrap_or_else(|_| {
            tracing_subscriber::EnvFilter::new("info,html5ever=off,refinery_core=warn")
        });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

fn main() -> ExitCode {
    tune_malloc();
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
    let result: anyhow::Result<ExitCode> = runtime.block_on(async move {
        match cli.command {
            Command::Run { once, output } => {
                let options = RunOptions {
                    once,
                    output,
                    config_file: cli.config.clone(),
                };
                topology::run(config, options, topology::shutdown_on_signals()).await?;
                Ok(ExitCode::SUCCESS)
            }
            Command::Backfill {
                warc,
                cc_news,
                limit,
                output,
                no_progress,
                ..
            } if !warc.is_empty() || cc_news.is_some() => {
                let options = BackfillOptions {
                    output,
                    progress: !no_progress,
                    sitemaps: Vec::new(),
                };
                let warc = match cc_news {
                    Some(month) => {
                        let files = topology::cc_news_warcs(&config, &month).await?;
                        let files: Vec<String> = files
                            .into_iter()
                            .take(limit.unwrap_or(usize::MAX))
                            .collect();
                        eprintln!("newsriver: CC-NEWS {month}: {} WARC files", files.len());
                        files
                    }
                    None => warc,
                };
                let shutdown = topology::shutdown_on_signals();
                let report = topology::backfill_warc(config, warc, options, shutdown).await?;
                eprintln!("{report}");
                Ok(if report.all_handled() {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::from(EXIT_FAILURES)
                })
            }
            Command::Backfill {
                input,
                sitemap,
                output,
                no_progress,
                ..
            } => {
                let input = match (input, sitemap.is_empty()) {
                    (Some(input), _) => Some(input),
                    (None, true) => Some("-".to_string()),
                    (None, false) => None,
                };
                let options = BackfillOptions {
                    output,
                    progress: !no_progress,
                    sitemaps: sitemap,
                };
                let shutdown = topology::shutdown_on_signals();
                let report =
                    topology::backfill(config, input.as_deref(), options, shutdown).await?;
                eprintln!("{report}");
                Ok(if report.all_handled() {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::from(EXIT_FAILURES)
                })
            }
            Command::Extract { input, text, url } => tools::extract(&config, &input, text, url)
                .await
                .map(|()| ExitCode::SUCCESS),
            Command::Feeds { action: None } => tools::feeds(&config).map(|()| ExitCode::SUCCESS),
            Command::Feeds {
                action: Some(FeedsAction::Export),
            } => tools::export_feeds(&config).map(|()| ExitCode::SUCCESS),
            Command::Feeds {
                action: Some(FeedsAction::Discover { url }),
            } => {
                let found = feeds_cli::discover(&config, &url).await?;
                if found == 0 {
                    eprintln!("newsriver: no feed found at {url}");
                }
                Ok(if found > 0 {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::from(EXIT_FAILURES)
                })
            }
            Command::Feeds {
                action: Some(action),
            } => {
                let (admin, change) = feed_change(action)?;
                let verb = change.done();
                let (feed, via) = feeds_cli::change(&config, admin.as_deref(), change).await?;
                let via = match via {
                    feeds_cli::Via::Daemon(base) => format!("through the daemon at {base}"),
                    feeds_cli::Via::StateFile => {
                        format!("in {} (no daemon running)", config.state.path.display())
                    }
                };
                let paused = if feed.paused { ", paused" } else { "" };
                println!(
                    "{verb} feed {} {} ({}{paused}) {via}",
                    feed.id, feed.url, feed.origin
                );
                Ok(ExitCode::SUCCESS)
            }
            Command::Healthcheck { listen } => {
                let listen = listen.unwrap_or_else(|| config.admin.listen.clone());
                if listen.is_empty() {
                    anyhow::bail!("no admin listener to ask: set admin.listen or pass --listen");
                }
                let answer = newsriver::admin::healthcheck(&listen).await?;
                println!("{answer}");
                Ok(ExitCode::SUCCESS)
            }
            Command::Stories {
                min_articles,
                limit,
                json,
            } => tools::stories(&config, min_articles, limit, json).map(|()| ExitCode::SUCCESS),
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
                tools::consume(options, topology::wait_for_signal())
                    .await
                    .map(|()| ExitCode::SUCCESS)
            }
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("newsriver: {e:#}");
            if e.downcast_ref::<lock::StateLocked>().is_some() {
                ExitCode::from(EXIT_LOCKED)
            } else if e
                .downcast_ref::<feeds_cli::Refused>()
                .is_some_and(|r| r.bad_input)
            {
                ExitCode::from(EXIT_USAGE)
            } else {
                ExitCode::from(EXIT_FAILURES)
            }
        }
    }
}
