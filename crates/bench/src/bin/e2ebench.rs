//! End-to-end benchmark of the `newsriver` binary against a local server of short,
//! templated report pages (weather, markets, sports results written from a vocabulary of
//! about 200 words), the kind of burst that made the daemon slow down as its window filled.
//!
//! - `feed`: the daemon (`run --once`) polls ONE feed listing N new items and fetches
//!   them all;
//! - `backfill`: `newsriver backfill` of a list of the same N URLs;
//! - `soak`: the daemon (`run`, not once) polls a live feed that publishes `--rate` new
//!   items a second until N articles came out; its RSS is sampled over time and reported
//!   as bytes per remembered article.
//!
//! Progress is what the daemon wrote: the bench counts the lines of its JSON-lines output
//! as they appear (every `--sample-ms`), so every rate below is articles published.
//!
//!     cargo build --release -p newsriver -p newsriver-bench
//!     taskset -c 1 target/release/e2ebench feed --items 200000
//!     taskset -c 1 target/release/e2ebench backfill --items 200000
//!     taskset -c 1 target/release/e2ebench backfill --items 200000 --span-days 730
//!     taskset -c 1 target/release/e2ebench soak --items 100000

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand};
use newsriver_bench::process;
use newsriver_bench::reports::report;

#[derive(Parser)]
#[command(about = "End-to-end throughput and memory of the newsriver daemon on a local server")]
struct Args {
    #[command(subcommand)]
    mode: Mode,
    /// Server threads.
    #[arg(long, global = true, default_value_t = 4)]
    threads: usize,
    /// How often the output and the daemon's /proc entries are sampled.
    #[arg(long, global = true, default_value_t = 200)]
    sample_ms: u64,
    /// Keep the working directory (state, output, logs) instead of removing it.
    #[arg(long, global = true)]
    keep: bool,
    /// Where the daemon writes: `file` (JSON lines written and fsynced per batch, the
    /// durable sink) or `stdout` (a pipe the bench reads: flushed, not fsynced).
    #[arg(long, global = true, default_value = "file")]
    sink: SinkKind,
    /// RUST_LOG for the daemon (its stderr goes to daemon.log in the working directory).
    #[arg(
        long,
        global = true,
        default_value = "warn,newsriver=info,html5ever=off"
    )]
    log: String,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum SinkKind {
    File,
    Stdout,
}

#[derive(Subcommand)]
enum Mode {
    /// `run --once` on one feed listing N new items.
    Feed {
        #[arg(long, default_value_t = 200_000)]
        items: usize,
    },
    /// `backfill` of N URLs; RSS sampled over time.
    Backfill {
        #[arg(long, default_value_t = 200_000)]
        items: usize,
        /// Spread the pages' publication times evenly over this many days, the last one
        /// now (an archive); 0: one a second, as in a burst.
        #[arg(long, default_value_t = 0)]
        span_days: u32,
    },
    /// `run` on a live feed gaining `rate` items a second, until N articles came out;
    /// RSS sampled over time.
    Soak {
        #[arg(long, default_value_t = 100_000)]
        items: usize,
        /// New items a second on the live feed.
        #[arg(long, default_value_t = 400)]
        rate: u64,
        /// Newest items the live feed lists.
        #[arg(long, default_value_t = 2_000)]
        listed: usize,
    },
}

/// Publication time of item `i`: in a burst of `n` one a second, the last one at `now`
/// (200,000 span 56 hours, inside the 72-hour story window); spread evenly over
/// `span_secs` when that is not 0 (an archive); on the live feed (`rate` > 0) when it
/// appears, `rate` a second from `now`.
fn published(i: usize, n: usize, rate: u64, span_secs: i64, now: DateTime<Utc>) -> DateTime<Utc> {
    let before = n.saturating_sub(i) as i64;
    match (i as u64 * 1000).checked_div(rate) {
        Some(ms) => now + chrono::Duration::milliseconds(ms as i64),
        None if span_secs > 0 => {
            now - chrono::Duration::seconds(before * span_secs / n.max(1) as i64)
        }
        None => now - chrono::Duration::seconds(before),
    }
}

fn page_html(i: usize, at: DateTime<Utc>) -> String {
    let (title, paragraphs) = report(i);
    let mut s = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title} | Daily Reports</title>\
         <meta property=\"article:published_time\" content=\"{}\"></head><body>\
         <header><a href=\"/\">Daily Reports</a><nav><a href=\"/weather\">Weather</a> <a href=\"/markets\">Markets</a> \
         <a href=\"/sport\">Sport</a></nav></header><main><article><h1>{title}</h1>",
        at.to_rfc3339()
    );
    for p in paragraphs {
        s.push_str("<p>");
        s.push_str(&p);
        s.push_str("</p>");
    }
    s.push_str(
        "</article></main><footer><p>Automated reports. Contact the desk for corrections.</p></footer></body></html>",
    );
    s
}

fn feed_xml(
    base: &str,
    ids: impl Iterator<Item = usize>,
    n: usize,
    rate: u64,
    now: DateTime<Utc>,
) -> Vec<u8> {
    let mut s = String::from(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\"><channel><title>Daily Reports</title>",
    );
    s.push_str(&format!("<link>{base}/</link>"));
    for i in ids {
        let (title, _) = report(i);
        s.push_str(&format!(
            "<item><title>{title}</title><link>{base}/r/{i}.html</link><pubDate>{}</pubDate></item>",
            published(i, n, rate, 0, now).to_rfc2822()
        ));
    }
    s.push_str("</channel></rss>");
    s.into_bytes()
}

/// What the server needs to answer.
struct Site {
    base: String,
    items: usize,
    now: DateTime<Utc>,
    /// The whole listing of `feed` mode, built once.
    feed: Vec<u8>,
    /// Live feed (soak): items appear at `rate` a second from `started`.
    rate: u64,
    listed: usize,
    /// Publication times spread over this many seconds (backfill `--span-days`).
    span_secs: i64,
    started: Instant,
    pages: AtomicU64,
}

impl Site {
    fn live_feed(&self) -> Vec<u8> {
        // Not capped at `items`: the soak stops on articles out, and some items are
        // (near-)duplicates that never come out.
        let available = (self.started.elapsed().as_secs_f64() * self.rate as f64) as usize;
        let from = available.saturating_sub(self.listed);
        // Newest first, as feeds list them.
        feed_xml(
            &self.base,
            (from..available).rev(),
            self.items,
            self.rate,
            self.now,
        )
    }
}

fn serve(server: Arc<tiny_http::Server>, site: Arc<Site>, threads: usize) {
    for _ in 0..threads {
        let server = server.clone();
        let site = site.clone();
        std::thread::spawn(move || {
            while let Ok(req) = server.recv() {
                let url = req.url().to_string();
                let xml = || {
                    tiny_http::Header::from_bytes("Content-Type", "application/rss+xml")
                        .expect("static header")
                };
                let resp = if url == "/feed.xml" {
                    tiny_http::Response::from_data(site.feed.clone()).with_header(xml())
                } else if url == "/live.xml" {
                    tiny_http::Response::from_data(site.live_feed()).with_header(xml())
                } else if let Some(i) = url
                    .strip_prefix("/r/")
                    .and_then(|r| r.strip_suffix(".html"))
                    .and_then(|i| i.parse::<usize>().ok())
                    .filter(|i| site.rate > 0 || *i < site.items)
                {
                    site.pages.fetch_add(1, Ordering::Relaxed);
                    let html = page_html(
                        i,
                        published(i, site.items, site.rate, site.span_secs, site.now),
                    );
                    tiny_http::Response::from_data(html.into_bytes()).with_header(
                        tiny_http::Header::from_bytes("Content-Type", "text/html; charset=utf-8")
                            .expect("static header"),
                    )
                } else {
                    tiny_http::Response::from_data(b"not found".to_vec()).with_status_code(404)
                };
                let _ = req.respond(resp);
            }
        });
    }
}

/// One look at the daemon and its output.
#[derive(Clone, Copy)]
struct Sample {
    t: f64,
    lines: u64,
    rss: u64,
    cpu: f64,
}

/// Counts the lines the daemon wrote: appended to its output file since the last call,
/// or counted by a thread reading its stdout.
struct LineCounter {
    path: PathBuf,
    offset: u64,
    lines: u64,
    buf: Vec<u8>,
    piped: Option<Arc<AtomicU64>>,
}

impl LineCounter {
    fn new(path: PathBuf) -> Self {
        Self {
            path,
            offset: 0,
            lines: 0,
            buf: vec![0; 1 << 20],
            piped: None,
        }
    }

    fn piped(mut stdout: std::process::ChildStdout) -> Self {
        let count = Arc::new(AtomicU64::new(0));
        let counted = count.clone();
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 1 << 20];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let lines = buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
                counted.fetch_add(lines, Ordering::Relaxed);
            }
        });
        let mut c = Self::new(PathBuf::new());
        c.piped = Some(count);
        c
    }

    fn poll(&mut self) -> u64 {
        if let Some(count) = &self.piped {
            return count.load(Ordering::Relaxed);
        }
        let Ok(mut f) = std::fs::File::open(&self.path) else {
            return self.lines;
        };
        if f.seek(SeekFrom::Start(self.offset)).is_err() {
            return self.lines;
        }
        while let Ok(n) = f.read(&mut self.buf) {
            if n == 0 {
                break;
            }
            self.offset += n as u64;
            self.lines += self.buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
        }
        self.lines
    }
}

/// (VmRSS bytes, utime + stime seconds) of a running process.
fn proc_sample(pid: u32) -> Option<(u64, f64)> {
    let rss_kb = process::status_kib(&pid.to_string(), "VmRSS")?;
    Some((rss_kb * 1024, process::cpu_secs(pid)?))
}

/// Samples the daemon until it exits, or until `stop_at` lines came out (then it is sent
/// SIGTERM and waited for).
fn watch(
    mut child: Child,
    out: &Path,
    sample_ms: u64,
    stop_at: Option<u64>,
) -> Result<Vec<Sample>> {
    let start = Instant::now();
    let pid = child.id();
    let mut counter = match child.stdout.take() {
        Some(stdout) => LineCounter::piped(stdout),
        None => LineCounter::new(out.to_path_buf()),
    };
    let mut samples = Vec::new();
    let mut last = (0, 0.0);
    let mut stopping = false;
    loop {
        if let Some(p) = proc_sample(pid) {
            last = p;
        }
        let lines = counter.poll();
        samples.push(Sample {
            t: start.elapsed().as_secs_f64(),
            lines,
            rss: last.0,
            cpu: last.1,
        });
        if let Some(status) = child.try_wait()? {
            let lines = counter.poll();
            samples.push(Sample {
                t: start.elapsed().as_secs_f64(),
                lines,
                rss: last.0,
                cpu: last.1,
            });
            if !status.success() && !stopping {
                bail!("newsriver exited with {status}");
            }
            break;
        }
        if !stopping && stop_at.is_some_and(|n| lines >= n) {
            // SIGTERM: the daemon finishes what is in flight and exits 0.
            let ok = Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status()
                .context("kill -TERM")?;
            if !ok.success() {
                bail!("kill -TERM {pid} failed");
            }
            stopping = true;
        }
        std::thread::sleep(Duration::from_millis(sample_ms));
    }
    Ok(samples)
}

/// When the output reached `k` lines, interpolated between samples.
fn time_at(samples: &[Sample], k: f64) -> f64 {
    value_at(samples, k, |s| s.t)
}

/// The daemon's CPU seconds when the output reached `k` lines, interpolated.
fn cpu_at(samples: &[Sample], k: f64) -> f64 {
    value_at(samples, k, |s| s.cpu)
}

/// `value` of the samples when the output reached `k` lines, interpolated between them.
fn value_at(samples: &[Sample], k: f64, value: impl Fn(&Sample) -> f64) -> f64 {
    for w in samples.windows(2) {
        let (a, b) = (w[0], w[1]);
        if (b.lines as f64) >= k {
            if b.lines == a.lines {
                return value(&b);
            }
            let f = ((k - a.lines as f64) / (b.lines - a.lines) as f64).clamp(0.0, 1.0);
            return value(&a) + f * (value(&b) - value(&a));
        }
    }
    samples.last().map(&value).unwrap_or(0.0)
}

/// Busy and total jiffies of the CPUs this process may run on (from /proc/stat), to tell
/// how much of them other processes took during a run.
fn cores_busy() -> Option<(u64, u64)> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let list = status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))?
        .trim()
        .to_string();
    let mut cpus = Vec::new();
    for part in list.split(',') {
        match part.split_once('-') {
            Some((a, b)) => cpus.extend(a.parse::<usize>().ok()?..=b.parse::<usize>().ok()?),
            None => cpus.push(part.parse::<usize>().ok()?),
        }
    }
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let (mut busy, mut total) = (0, 0);
    for cpu in cpus {
        let line = stat
            .lines()
            .find(|l| l.starts_with(&format!("cpu{cpu} ")))?;
        let v: Vec<u64> = line
            .split_whitespace()
            .skip(1)
            .take(8)
            .filter_map(|x| x.parse().ok())
            .collect();
        // user nice system idle iowait irq softirq steal
        total += v.iter().sum::<u64>();
        busy +=
            v.iter().sum::<u64>() - v.get(3).copied().unwrap_or(0) - v.get(4).copied().unwrap_or(0);
    }
    Some((busy, total))
}

/// utime + stime of this process (the server threads), in seconds.
fn own_cpu() -> f64 {
    proc_sample(std::process::id()).map(|p| p.1).unwrap_or(0.0)
}

fn report_rates(samples: &[Sample], expected: usize) {
    let Some(last) = samples.last() else { return };
    let total = last.lines as f64;
    if total == 0.0 {
        println!("  no article came out");
        return;
    }
    let first = time_at(samples, 1.0);
    let tenth = total / 10.0;
    let t10 = time_at(samples, tenth);
    let t90 = time_at(samples, total - tenth);
    let t100 = time_at(samples, total);
    let early = tenth / (t10 - first).max(1e-9);
    let late = tenth / (t100 - t90).max(1e-9);
    let peak_rss = samples.iter().map(|s| s.rss).max().unwrap_or(0);
    println!(
        "  {} articles out of {} items in {:.1} s: {:.0} articles/s overall (first article after {:.1} s)",
        last.lines, expected, last.t, total / last.t, first
    );
    println!(
        "  first 10%: {:.0} articles/s, last 10%: {:.0} articles/s (last/first {:.2})",
        early,
        late,
        late / early
    );
    // Deciles, so a decay shows where it starts.
    let deciles: Vec<String> = (0..10)
        .map(|d| {
            let a = time_at(samples, (d as f64 * tenth).max(1.0));
            let b = time_at(samples, (d + 1) as f64 * tenth);
            format!("{:.0}", tenth / (b - a).max(1e-9))
        })
        .collect();
    println!("  per tenth (articles/s): {}", deciles.join(" "));
    // CPU per article does not depend on what else runs on the core.
    let cpu_ms: Vec<String> = (0..10)
        .map(|d| {
            let (a, b) = ((d as f64 * tenth).max(1.0), (d + 1) as f64 * tenth);
            format!(
                "{:.2}",
                1e3 * (cpu_at(samples, b) - cpu_at(samples, a)) / (b - a)
            )
        })
        .collect();
    println!(
        "  daemon CPU per article per tenth (ms): {}",
        cpu_ms.join(" ")
    );
    println!(
        "  daemon CPU {:.1} s ({:.0}% of one core), peak sampled RSS {:.0} MB",
        last.cpu,
        100.0 * last.cpu / last.t,
        peak_rss as f64 / 1e6
    );
}

/// Least-squares slope of RSS on articles out, over the samples between two fractions of
/// the run (the start holds one-off costs: runtime, config, first allocations).
fn rss_slope(samples: &[Sample], from: f64, to: f64) -> Option<f64> {
    let total = samples.last()?.lines as f64;
    let pts: Vec<(f64, f64)> = samples
        .iter()
        .filter(|s| s.rss > 0)
        .filter(|s| (s.lines as f64) >= from * total && (s.lines as f64) <= to * total)
        .map(|s| (s.lines as f64, s.rss as f64))
        .collect();
    if pts.len() < 3 {
        return None;
    }
    let n = pts.len() as f64;
    let mx = pts.iter().map(|p| p.0).sum::<f64>() / n;
    let my = pts.iter().map(|p| p.1).sum::<f64>() / n;
    let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let sxx: f64 = pts.iter().map(|p| (p.0 - mx).powi(2)).sum();
    (sxx > 0.0).then(|| sxy / sxx)
}

fn rss_at(samples: &[Sample], k: f64) -> u64 {
    samples
        .iter()
        .find(|s| s.lines as f64 >= k)
        .map(|s| s.rss)
        .unwrap_or(0)
}

fn report_memory(samples: &[Sample]) {
    let Some(last) = samples.last() else { return };
    let total = last.lines as f64;
    let marks: Vec<String> = [0.1, 0.25, 0.5, 0.75, 1.0]
        .iter()
        .map(|f| {
            format!(
                "{:.0}k: {:.1} MB",
                f * total / 1000.0,
                rss_at(samples, f * total) as f64 / 1e6
            )
        })
        .collect();
    println!("  RSS by articles out: {}", marks.join(", "));
    let (a, b) = (rss_at(samples, 0.1 * total), rss_at(samples, total));
    println!(
        "  RSS growth from 10% to the end: {:.0} bytes per article",
        (b as f64 - a as f64) / (0.9 * total)
    );
    if let Some(s) = rss_slope(samples, 0.25, 1.0) {
        println!("  RSS slope (least squares, 25% to the end): {s:.0} bytes per article");
    }
}

fn daemon(bin: &Path, dir: &Path, log: &str, sink: SinkKind, args: &[&str]) -> Result<Child> {
    let stderr = std::fs::File::create(dir.join("daemon.log"))?;
    let (stdout, output) = match sink {
        SinkKind::File => (Stdio::null(), None),
        SinkKind::Stdout => (Stdio::piped(), Some(["--output", "-"])),
    };
    Command::new(bin)
        .arg("--config")
        .arg(dir.join("bench.toml"))
        .args(args)
        .args(output.iter().flatten())
        .env("RUST_LOG", log)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .context("starting newsriver")
}

fn write_config(dir: &Path, feed: &str, live: bool) -> Result<()> {
    // Polite-fetching limits are for other people's sites; this one is ours. The feed body
    // limit is raised for the 200,000-item listing (about 30 MB).
    let poll = if live {
        "[poll]\ninterval_secs = 1\nmin_interval_secs = 1\nmax_interval_secs = 2\njitter = 0.0\n\n"
    } else {
        ""
    };
    std::fs::write(
        dir.join("bench.toml"),
        format!(
            "[feeds]\nurls = [\"{feed}\"]\n\n{poll}[fetch]\nconcurrency = 64\nper_host_concurrency = 64\nper_host_delay_ms = 0\n\
             allow_private_networks = true\nobey_robots = false\nmax_body_bytes = 268435456\n\n\
             [state]\npath = \"{}\"\n\n[output]\npath = \"{}\"\n",
            dir.join("state.sqlite").display(),
            dir.join("out.jsonl").display()
        ),
    )?;
    Ok(())
}

fn main() -> Result<()> {
    let args = Args::parse();
    let bin = process::newsriver_binary()?;
    let (server, base) = process::local_server()?;
    let now = Utc::now();
    let span_secs = match args.mode {
        Mode::Backfill { span_days, .. } => i64::from(span_days) * 86_400,
        _ => 0,
    };
    let (items, rate, listed) = match args.mode {
        Mode::Feed { items } | Mode::Backfill { items, .. } => (items, 0, 0),
        Mode::Soak {
            items,
            rate,
            listed,
        } => (items, rate, listed),
    };
    let feed = match args.mode {
        Mode::Feed { .. } => feed_xml(&base, 0..items, items, 0, now),
        _ => Vec::new(),
    };
    let dir = std::env::temp_dir().join(format!("newsriver-e2e-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let out = dir.join("out.jsonl");
    let mut site = Site {
        base: base.clone(),
        items,
        now,
        feed,
        rate,
        listed,
        span_secs,
        started: Instant::now(),
        pages: AtomicU64::new(0),
    };

    let busy_before = cores_busy();
    let samples = match args.mode {
        Mode::Feed { .. } => {
            println!(
                "feed: one feed listing {items} new items ({:.1} MB), short report pages from a ~200-word vocabulary, {base}",
                site.feed.len() as f64 / 1e6
            );
            let site = Arc::new(site);
            serve(server.clone(), site.clone(), args.threads);
            write_config(&dir, &format!("{base}/feed.xml"), false)?;
            let child = daemon(&bin, &dir, &args.log, args.sink, &["run", "--once"])?;
            let samples = watch(child, &out, args.sample_ms, None)?;
            println!("  pages served: {}", site.pages.load(Ordering::Relaxed));
            report_rates(&samples, items);
            samples
        }
        Mode::Backfill { .. } => {
            println!(
                "backfill: {items} URLs of short report pages, published over {}, {base}",
                if span_secs > 0 {
                    format!("{} days", span_secs / 86_400)
                } else {
                    format!("{items} seconds")
                }
            );
            let urls = dir.join("urls.txt");
            let mut f = std::io::BufWriter::new(std::fs::File::create(&urls)?);
            for i in 0..items {
                writeln!(f, "{base}/r/{i}.html")?;
            }
            f.flush()?;
            drop(f);
            let site = Arc::new(site);
            serve(server.clone(), site.clone(), args.threads);
            write_config(&dir, &format!("{base}/feed.xml"), false)?;
            let urls = urls.to_str().context("utf-8 path")?;
            let child = daemon(
                &bin,
                &dir,
                &args.log,
                args.sink,
                &["backfill", urls, "--no-progress"],
            )?;
            let samples = watch(child, &out, args.sample_ms, None)?;
            println!("  pages served: {}", site.pages.load(Ordering::Relaxed));
            report_rates(&samples, items);
            report_memory(&samples);
            samples
        }
        Mode::Soak { .. } => {
            println!(
                "soak: a live feed gaining {rate} items/s (newest {listed} listed), `run` until {items} articles came out, {base}"
            );
            site.started = Instant::now();
            let site = Arc::new(site);
            serve(server.clone(), site.clone(), args.threads);
            write_config(&dir, &format!("{base}/live.xml"), true)?;
            let child = daemon(&bin, &dir, &args.log, args.sink, &["run"])?;
            let samples = watch(child, &out, args.sample_ms, Some(items as u64))?;
            println!("  pages served: {}", site.pages.load(Ordering::Relaxed));
            report_rates(&samples, items);
            report_memory(&samples);
            samples
        }
    };
    if let (Some((b0, t0)), Some((b1, t1)), Some(last)) =
        (busy_before, cores_busy(), samples.last())
    {
        // Jiffies are 1/100 s; whatever the daemon and this server did not use, others did.
        let busy = (b1 - b0) as f64 / 100.0;
        let capacity = (t1 - t0) as f64 / 100.0;
        let server = own_cpu();
        println!(
            "  server CPU {server:.1} s; the cores this ran on were {:.0}% busy, {:.0}% of them taken by other processes",
            100.0 * busy / capacity.max(1e-9),
            (100.0 * (busy - server - last.cpu) / capacity.max(1e-9)).max(0.0)
        );
    }
    let log = std::fs::read_to_string(dir.join("daemon.log")).unwrap_or_default();
    for line in log
        .lines()
        .filter(|l| l.contains("backfill:") || l.contains("stopped") || l.contains("ERROR"))
        .take(5)
    {
        println!("  daemon: {line}");
    }
    if args.keep {
        let mut f = std::fs::File::create(dir.join("samples.tsv"))?;
        writeln!(f, "t\tlines\trss\tcpu")?;
        for s in &samples {
            writeln!(f, "{:.3}\t{}\t{}\t{:.2}", s.t, s.lines, s.rss, s.cpu)?;
        }
        println!(
            "  kept {} (samples.tsv, daemon.log, out.jsonl)",
            dir.display()
        );
    } else {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(())
}
