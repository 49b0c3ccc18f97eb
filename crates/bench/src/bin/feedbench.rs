//! Feed-parsing benchmark, one thread: feeds/s over the fetcher's fixture corpus of feeds
//! as they are in the wild, and items/s over a generated 10,000-item RSS feed, for feed-rs
//! alone ("raw", what newsriver did before the recovery pass, less its small reduction)
//! and for newsriver's full parse (decode, recovery pass, feed-rs, link/title/date
//! reduction). Also prints, per fixture, what each path returns.
//!
//!     cargo run --release -p newsriver-bench --bin feedbench -- [--fixtures DIR] [--items N]

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Parser;

#[derive(Parser)]
#[command(about = "Feed parsing speed: feed-rs raw against newsriver's full parse")]
struct Args {
    #[arg(long, default_value = "crates/fetcher/tests/fixtures/feeds")]
    fixtures: PathBuf,
    /// Items in the generated large feed.
    #[arg(long, default_value_t = 10_000)]
    items: usize,
    /// Seconds to spend on each measurement (both sides together).
    #[arg(long, default_value_t = 6.0)]
    seconds: f64,
}

const FEED_URL: &str = "http://feeds.example.test/feed";

fn raw(bytes: &[u8]) -> Option<usize> {
    feed_rs::parser::Builder::new()
        .base_uri(Some(FEED_URL))
        .build()
        .parse(bytes)
        .ok()
        .map(|f| f.entries.len())
}

/// Of feed-rs's own entries: how many carry a date, how many titles still hold markup or
/// entity text.
fn raw_quality(bytes: &[u8]) -> (usize, usize) {
    let Ok(feed) = feed_rs::parser::Builder::new()
        .base_uri(Some(FEED_URL))
        .build()
        .parse(bytes)
    else {
        return (0, 0);
    };
    let dated = feed
        .entries
        .iter()
        .filter(|e| e.published.or(e.updated).is_some())
        .count();
    let dirty = feed
        .entries
        .iter()
        .filter(|e| {
            e.title
                .as_ref()
                .is_some_and(|t| t.content.contains(['<', '&']))
        })
        .count();
    (dated, dirty)
}

fn full(bytes: &[u8]) -> Option<usize> {
    newsriver_fetcher::parse_feed_with(bytes, FEED_URL, None)
        .ok()
        .map(|f| f.items.len())
}

/// Both rates for `docs`, best of five alternating rounds each: the machine is shared, and
/// alternating keeps a burst of outside load from landing on one side only.
fn rates(docs: &[Vec<u8>], seconds: f64) -> (f64, f64) {
    let (mut r, mut f) = (0f64, 0f64);
    for _ in 0..5 {
        r = r.max(rate(docs, seconds / 10.0, raw));
        f = f.max(rate(docs, seconds / 10.0, full));
    }
    (r, f)
}

/// Runs `f` over `docs` repeatedly for about `seconds`; returns documents per second.
fn rate(docs: &[Vec<u8>], seconds: f64, f: fn(&[u8]) -> Option<usize>) -> f64 {
    let start = Instant::now();
    let mut n = 0usize;
    let mut sink = 0usize;
    while start.elapsed().as_secs_f64() < seconds || n == 0 {
        for d in docs {
            sink += f(d).unwrap_or(0);
            n += 1;
        }
    }
    std::hint::black_box(sink);
    n as f64 / start.elapsed().as_secs_f64()
}

fn big_feed(items: usize) -> Vec<u8> {
    let mut s = String::from(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss version=\"2.0\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\"><channel><title>Big</title><link>http://news.example.test/</link>\n",
    );
    for i in 0..items {
        s.push_str(&format!(
            "<item><title>Story number {i} about the council budget vote</title><link>http://news.example.test/{i}</link><guid>http://news.example.test/{i}</guid><pubDate>Mon, 06 Jan 2025 10:{:02}:00 GMT</pubDate><dc:creator>Reporter {}</dc:creator><description>&lt;p&gt;The council met on Monday to discuss item {i} of the agenda, which covers the budget.&lt;/p&gt;</description></item>\n",
            i % 60,
            i % 17
        ));
    }
    s.push_str("</channel></rss>\n");
    s.into_bytes()
}

fn main() -> Result<()> {
    let args = Args::parse();
    let mut names: Vec<_> = std::fs::read_dir(&args.fixtures)
        .with_context(|| format!("reading {}", args.fixtures.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    names.sort();
    let mut docs = Vec::new();
    println!(
        "{:<28} {:>14} {:>14}",
        "fixture", "feed-rs raw", "newsriver"
    );
    let (mut raw_fail, mut raw_items, mut full_fail, mut full_items) = (0, 0, 0, 0);
    for path in &names {
        let bytes = std::fs::read(path)?;
        let (r, f) = (raw(&bytes), full(&bytes));
        let show = |x: Option<usize>| x.map_or("error".to_string(), |n| format!("{n} items"));
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let (raw_dated, raw_dirty) = raw_quality(&bytes);
        println!(
            "{name:<28} {:>14} {:>14}   raw: {raw_dated} dated, {raw_dirty} titles with markup/entities",
            show(r),
            show(f)
        );
        raw_fail += usize::from(r.is_none());
        full_fail += usize::from(f.is_none());
        raw_items += r.unwrap_or(0);
        full_items += f.unwrap_or(0);
        docs.push(bytes);
    }
    println!(
        "fixtures: {} feeds; feed-rs raw: {raw_fail} errors, {raw_items} entries; newsriver: {full_fail} errors, {full_items} articles",
        docs.len()
    );
    let (r, f) = rates(&docs, args.seconds);
    println!(
        "fixture corpus: feed-rs raw {r:.0} feeds/s, newsriver {f:.0} feeds/s ({:+.1}% time per feed)",
        (r / f - 1.0) * 100.0
    );
    // The fair comparison: only the fixtures feed-rs reads unaided (errors are cheap, and
    // the recovered feeds do work feed-rs never does).
    let clean: Vec<Vec<u8>> = docs
        .iter()
        .filter(|d| raw(d).is_some_and(|n| n > 0))
        .cloned()
        .collect();
    let (r, f) = rates(&clean, args.seconds);
    println!(
        "fixtures feed-rs reads ({} feeds): feed-rs raw {r:.0} feeds/s, newsriver {f:.0} feeds/s ({:+.1}% time per feed)",
        clean.len(),
        (r / f - 1.0) * 100.0
    );
    // A typical well-formed feed: 20 items.
    let small = vec![big_feed(20)];
    let (r, f) = rates(&small, args.seconds);
    println!(
        "well-formed 20-item feed: feed-rs raw {r:.0} feeds/s, newsriver {f:.0} feeds/s ({:+.1}% time per feed)",
        (r / f - 1.0) * 100.0
    );
    let big = vec![big_feed(args.items)];
    let (r, f) = rates(&big, args.seconds);
    let (r, f) = (r * args.items as f64, f * args.items as f64);
    println!(
        "{}-item feed ({} KB): feed-rs raw {r:.0} items/s, newsriver {f:.0} items/s ({:+.1}% time per item)",
        args.items,
        big[0].len() / 1024,
        (r / f - 1.0) * 100.0
    );
    Ok(())
}
