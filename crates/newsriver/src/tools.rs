//! The commands beside the pipeline: `extract` and `consume` (debugging and inspecting
//! tools) and the read-only listings `feeds` and `stories`.

use std::path::Path;

use anyhow::{Context as _, Result};
use newsriver_fetcher::Fetcher;
use newsriver_store::{OutcomeCounts, Retrying, Store};

use crate::config::Config;
use crate::sources::read_input;

/// Prints `text` and a newline to standard output. A reader that went away (`newsriver
/// extract page.html | head`) ends the output quietly, as other Unix tools do, instead
/// of the panic `println!` gives on a closed pipe.
pub fn print_line(text: &str) -> Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("writing to standard output"),
    }
}

/// Strips one page (a file, an http(s) URL, or "-" for standard input) and prints the
/// result as JSON, or only its text.
pub async fn extract(
    config: &Config,
    input: &str,
    text_only: bool,
    url: Option<String>,
) -> Result<()> {
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
        print_line(&extracted.text)?;
    } else {
        print_line(&serde_json::to_string_pretty(&extracted)?)?;
    }
    Ok(())
}

/// Prints each message of the topic as a JSON line until a limit or `stop`.
pub async fn consume(
    options: newsriver_publisher::ConsumeOptions,
    stop: impl std::future::Future<Output = ()>,
) -> Result<()> {
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
        stop,
    )
    .await?;
    tracing::info!(read, topic = %options.topic, "consumer stopped");
    Ok(())
}

/// Read-only: takes no lock and opens the database read-only, so it works while a daemon
/// runs (SQLite's WAL lets it read beside the writer) and never changes the state.
pub fn feeds(config: &Config) -> Result<()> {
    with_state(config, write_feeds)
}

/// The feeds polled (configured, and added with `feeds add` or the API) as an OPML 2.0
/// subscription list on stdout, each under the title its last poll found (the URL before
/// any poll). Reads the state read-only, if any.
pub fn export_feeds(config: &Config) -> Result<()> {
    let mut urls = config.feed_urls()?;
    let path: &Path = &config.state.path;
    let titles: std::collections::HashMap<String, String> = if path.exists() {
        let mut store = Store::open_read_only(path)
            .with_context(|| format!("opening state database {}", path.display()))?;
        let feeds = store.queue().feeds()?;
        urls.extend(
            feeds
                .iter()
                .filter(|f| f.origin == newsriver_store::FeedOrigin::Api)
                .map(|f| f.url.clone()),
        );
        urls.sort();
        urls.dedup();
        feeds
            .into_iter()
            .filter_map(|f| f.title.map(|t| (f.url, t)))
            .collect()
    } else {
        Default::default()
    };
    let mut doc = opml::OPML {
        head: Some(opml::Head {
            title: Some("newsriver feeds".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    for url in &urls {
        let title = titles.get(url).map(String::as_str).unwrap_or(url);
        doc.body.outlines.push(opml::Outline {
            text: title.to_string(),
            title: Some(title.to_string()),
            r#type: Some("rss".into()),
            xml_url: Some(url.clone()),
            ..Default::default()
        });
    }
    let xml = doc.to_string().context("writing OPML")?;
    print_line(&xml)?;
    Ok(())
}

/// The active stories (see `newsriver stories --help`); read-only like [`feeds`].
pub fn stories(config: &Config, min_articles: u64, limit: usize, json: bool) -> Result<()> {
    let window = chrono::Duration::hours(i64::from(config.dedup.story_window_hours));
    with_state(config, |store, out| {
        let stories = store
            .memory()
            .stories(chrono::Utc::now() - window, min_articles, limit)?;
        write_stories(&stories, json, out)
    })
}

/// Runs `print` on the state store opened read-only (so it works beside the daemon) and
/// standard output. A missing store is not an error: nothing has run on it yet.
fn with_state(
    config: &Config,
    print: impl FnOnce(&mut Store, &mut std::io::BufWriter<std::io::StdoutLock<'static>>) -> Result<()>,
) -> Result<()> {
    let path: &Path = &config.state.path;
    if !path.exists() {
        // Creating the database here would be a write; there is nothing to list anyway.
        println!("no state at {} yet: nothing has run on it", path.display());
        return Ok(());
    }
    let mut store = Store::open_read_only(path)
        .with_context(|| format!("opening state database {}", path.display()))?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match print(&mut store, &mut out).and_then(|()| Ok(std::io::Write::flush(&mut out)?)) {
        // `newsriver feeds | head`: the reader has what it wanted.
        Err(e)
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            Ok(())
        }
        other => other,
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
fn write_feeds(store: &mut Store, out: &mut impl std::io::Write) -> Result<()> {
    let queue = store.queue();
    let fmt = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
            .unwrap_or_else(|| "-".into())
    };
    writeln!(
        out,
        "{:<12} {:<20} {:<20} {:>6}  url / last error",
        "status", "last success", "next poll", "errors"
    )?;
    for f in queue.feeds()? {
        // `repaired (charset, truncated; 1 entry dropped)`: the word in the column, the
        // details on the line below.
        let (status, repair) = match &f.last_status {
            _ if f.retired => ("retired", None),
            _ if f.paused => ("paused", None),
            Some(s) => (s.word(), s.details()),
            None => ("never", None),
        };
        let mut moved = f
            .fetch_url
            .as_deref()
            .map(|u| format!(" (moved to {u})"))
            .unwrap_or_default();
        // Feeds added with `feeds add` or the API, and their id for remove/pause/resume.
        if f.origin == newsriver_store::FeedOrigin::Api {
            moved.push_str(&format!(" (added, id {})", f.id));
        }
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
    let OutcomeCounts {
        published,
        duplicate,
        failed,
        filtered,
    } = queue.outcome_counts()?;
    writeln!(
        out,
        "\narticles pending: {}; URLs seen (a page can have a listed and a canonical URL): \
         {published} published, {duplicate} duplicate, {failed} given up, {filtered} filtered",
        queue.pending_count()?
    )?;
    for Retrying {
        url,
        attempts,
        last_error: error,
    } in queue.retrying(10)?
    {
        writeln!(
            out,
            "  retrying ({attempts} failed attempts) {url}: {error}"
        )?;
    }
    Ok(())
}
