//! Feed-polling scale benchmark: a local server hosts N feeds (1 to 30 items each, half of
//! them answering 304 to a repeated ETag), and the `newsriver` binary polls them all with
//! `run --once`, twice: the first run also fetches the articles the feeds list, the second
//! is polling only. Reports feeds/s, CPU seconds and peak RSS of the daemon.
//!
//!     cargo build --release -p newsriver -p newsriver-bench
//!     target/release/feedscale --feeds 10000

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Parser;
use newsriver_bench::process;

#[derive(Parser)]
#[command(
    about = "Polls N local feeds with the newsriver daemon and reports throughput, CPU and RSS"
)]
struct Args {
    #[arg(long, default_value_t = 10_000)]
    feeds: usize,
    /// Distinct article pages the feeds link to.
    #[arg(long, default_value_t = 1_000)]
    articles: usize,
    /// Server threads.
    #[arg(long, default_value_t = 8)]
    threads: usize,
}

fn feed_xml(i: usize, articles: usize, base: &str) -> String {
    let items = 1 + (i * 7919) % 30;
    let mut s = format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Feed {i}</title><link>{base}/</link>"
    );
    for k in 0..items {
        let a = (i * 31 + k * 17) % articles;
        s.push_str(&format!(
            "<item><title>Article {a}</title><link>{base}/a/{a}.html</link><guid>{a}</guid>\
             <description>Summary of article {a}, which is about something that happened.</description></item>"
        ));
    }
    s.push_str("</channel></rss>");
    s
}

fn article_html(a: usize) -> String {
    let mut s = format!("<html lang=\"en\"><head><title>Article {a}</title></head><body><nav><a href=\"/\">Home</a></nav><article><h1>Article {a}</h1>");
    for p in 0..6 {
        s.push_str(&format!(
            "<p>Paragraph {p} of article {a}: officials said on Tuesday that the plan number {a} would go ahead after a vote, \
             and that details would follow next week.</p>"
        ));
    }
    s.push_str("</article><footer>© 2024</footer></body></html>");
    s
}

struct Sample {
    cpu_secs: f64,
    peak_rss_mb: f64,
}

/// CPU time and VmHWM of a running process.
fn sample(pid: u32) -> Option<Sample> {
    Some(Sample {
        cpu_secs: process::cpu_secs(pid)?,
        peak_rss_mb: process::status_kib(&pid.to_string(), "VmHWM")? as f64 / 1024.0,
    })
}

fn run_daemon(bin: &Path, config: &Path) -> Result<(Duration, Sample)> {
    let start = Instant::now();
    let mut child = Command::new(bin)
        .args([
            "--config",
            config.to_str().context("utf-8 path")?,
            "run",
            "--once",
        ])
        .env(
            "RUST_LOG",
            std::env::var("FEEDSCALE_LOG").unwrap_or_else(|_| "error".into()),
        )
        .stdout(Stdio::null())
        .spawn()
        .context("starting newsriver")?;
    let pid = child.id();
    let mut last = Sample {
        cpu_secs: 0.0,
        peak_rss_mb: 0.0,
    };
    loop {
        if let Some(s) = sample(pid) {
            last = s;
        }
        if let Some(status) = child.try_wait()? {
            if !status.success() {
                bail!("newsriver exited with {status}");
            }
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok((start.elapsed(), last))
}

fn main() -> Result<()> {
    let args = Args::parse();
    let bin = process::newsriver_binary()?;
    let (server, base) = process::local_server()?;
    let requests = Arc::new(AtomicU64::new(0));
    let not_modified = Arc::new(AtomicU64::new(0));
    for _ in 0..args.threads {
        let server = server.clone();
        let base = base.clone();
        let requests = requests.clone();
        let not_modified = not_modified.clone();
        let articles = args.articles;
        std::thread::spawn(move || {
            while let Ok(req) = server.recv() {
                requests.fetch_add(1, Ordering::Relaxed);
                let url = req.url().to_string();
                let etag_match = req.headers().iter().any(|h| h.field.equiv("If-None-Match"));
                let resp = if let Some(i) =
                    url.strip_prefix("/f/").and_then(|r| r.strip_suffix(".xml"))
                {
                    let i: usize = i.parse().unwrap_or(0);
                    // Even feeds did not change: they answer their ETag with 304.
                    if etag_match && i.is_multiple_of(2) {
                        not_modified.fetch_add(1, Ordering::Relaxed);
                        tiny_http::Response::from_data(Vec::new()).with_status_code(304)
                    } else {
                        let etag = tiny_http::Header::from_bytes("ETag", format!("\"{i}\""))
                            .expect("header");
                        tiny_http::Response::from_data(feed_xml(i, articles, &base).into_bytes())
                            .with_header(etag)
                    }
                } else if let Some(a) = url
                    .strip_prefix("/a/")
                    .and_then(|r| r.strip_suffix(".html"))
                {
                    tiny_http::Response::from_data(
                        article_html(a.parse().unwrap_or(0)).into_bytes(),
                    )
                } else {
                    tiny_http::Response::from_data(b"not found".to_vec()).with_status_code(404)
                };
                let _ = req.respond(resp);
            }
        });
    }

    let dir = std::env::temp_dir().join(format!("newsriver-feedscale-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let opml = dir.join("feeds.opml");
    let mut f = std::fs::File::create(&opml)?;
    writeln!(
        f,
        "<opml version=\"2.0\"><head><title>bench</title></head><body>"
    )?;
    for i in 0..args.feeds {
        writeln!(
            f,
            "<outline type=\"rss\" text=\"{i}\" xmlUrl=\"{base}/f/{i}.xml\"/>"
        )?;
    }
    writeln!(f, "</body></opml>")?;
    let config = dir.join("bench.toml");
    std::fs::write(
        &config,
        format!(
            "[feeds]\nurls = []\nopml = \"{}\"\n\n[fetch]\nconcurrency = 64\nper_host_concurrency = 64\nper_host_delay_ms = 0\n\
             allow_private_networks = true\nobey_robots = false\n\n[state]\npath = \"{}\"\n\n[output]\npath = \"{}\"\n",
            opml.display(),
            dir.join("state.sqlite").display(),
            dir.join("out.jsonl").display()
        ),
    )?;

    println!(
        "{} feeds (1-30 items each) linking {} articles, server on {base}",
        args.feeds, args.articles
    );
    for (label, run) in [
        ("first run (polls + article fetches)", 1),
        ("second run (polls only, half 304)", 2),
    ] {
        let before = requests.load(Ordering::Relaxed);
        let (wall, s) = run_daemon(&bin, &config)?;
        let reqs = requests.load(Ordering::Relaxed) - before;
        println!(
            "  {label}: {:.1} s wall, {:.0} feeds/s, {} requests, daemon CPU {:.1} s ({:.0}% of one core), peak RSS {:.0} MB",
            wall.as_secs_f64(),
            args.feeds as f64 / wall.as_secs_f64(),
            reqs,
            s.cpu_secs,
            100.0 * s.cpu_secs / wall.as_secs_f64(),
            s.peak_rss_mb
        );
        if run == 2 {
            println!("    304 answers: {}", not_modified.load(Ordering::Relaxed));
        }
    }
    let published = std::fs::read_to_string(dir.join("out.jsonl"))
        .map(|t| t.lines().count())
        .unwrap_or(0);
    println!("  articles published: {published}");
    if std::env::var_os("FEEDSCALE_KEEP").is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    } else {
        println!("  kept {}", dir.display());
    }
    Ok(())
}
