//! End-to-end speed of `newsriver backfill --warc`: a WARC file of N archived news pages
//! (gzip per record, a request record before each response, as crawlers write them) to
//! JSON lines, once on one core with one strip worker, once on every core with one strip
//! worker a core. Prints records/s, pages/s (responses stripped), articles/s (published),
//! the daemon's CPU time and peak RSS, and how the every-core run compares with the issue's
//! floor of 0.8 x cores x the one-core rate.
//!
//! The pages are report texts (`reports::report`, distinct articles) inside about 40 KB of
//! site chrome (navigation, related headlines, inline JSON and CSS, footer), the size of a
//! news page today, so stripping costs what it does on a real crawl.
//!
//!     cargo build --release -p newsriver -p newsriver-bench
//!     target/release/warcbench --records 5000

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Parser;
use newsriver_bench::process;
use newsriver_bench::reports::report;
use newsriver_fetcher::warc::response_record;

#[derive(Parser)]
#[command(about = "Records/s, pages/s and peak RSS of newsriver backfill --warc, one core and all")]
struct Args {
    /// Response records in the WARC (each with its request record).
    #[arg(long, default_value_t = 5000)]
    records: usize,
    /// Keep the working directory (the WARC, state, output) instead of removing it.
    #[arg(long)]
    keep: bool,
    /// Only this run: `one` (one core, one strip worker) or `all`.
    #[arg(long)]
    only: Option<String>,
}

/// About 40 KB of what surrounds an article on a news site, the same on every page of the
/// site but for the related headlines.
fn page(i: usize) -> String {
    let (title, paragraphs) = report(i);
    let mut s = String::with_capacity(70_000);
    s.push_str(&format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title} | The Daily Archive</title>\
         <meta name=\"viewport\" content=\"width=device-width\"><link rel=\"canonical\" href=\"https://archive.example/r/{i}.html\">"
    ));
    s.push_str("<style>");
    for k in 0..300 {
        s.push_str(&format!(
            ".c{k}{{margin:{}px;padding:{}px;color:#{:06x}}}",
            k % 7,
            k % 5,
            k * 2731 % 0xffffff
        ));
    }
    s.push_str("</style><script type=\"application/json\" id=\"config\">{");
    for k in 0..200 {
        s.push_str(&format!("\"flag{k}\":{},", k % 2 == 0));
    }
    s.push_str(
        "\"end\":true}</script></head><body><header><a href=\"/\">The Daily Archive</a><nav><ul>",
    );
    for k in 0..120 {
        s.push_str(&format!(
            "<li class=\"c{k}\"><a href=\"/section/{k}\">Section {k}</a></li>"
        ));
    }
    s.push_str("</ul></nav></header><main><article><h1>");
    s.push_str(&title);
    s.push_str("</h1><p class=\"byline\">By the desk</p>");
    for p in &paragraphs {
        s.push_str("<p>");
        s.push_str(p);
        s.push_str("</p>");
    }
    s.push_str("</article><aside><h2>Related</h2><ul>");
    for k in 1..=40 {
        let (related, _) = report(i + k * 7919);
        s.push_str(&format!(
            "<li><a href=\"/r/{}.html\">{related}</a></li>",
            i + k * 7919
        ));
    }
    s.push_str("</ul></aside></main><footer><ul>");
    for k in 0..150 {
        s.push_str(&format!(
            "<li><a href=\"/about/{k}\">About page {k}</a> <span>Contact, terms and privacy</span></li>"
        ));
    }
    s.push_str(
        "</ul><p>Copyright The Daily Archive. All rights reserved.</p></footer></body></html>",
    );
    s
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing to a Vec does not fail.
    let _ = e.write_all(bytes);
    e.finish().unwrap_or_default()
}

fn write_warc(path: &Path, records: usize) -> Result<u64> {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    for i in 0..records {
        let uri = format!("https://archive.example/r/{i}.html");
        let get = format!("GET /r/{i}.html HTTP/1.1\r\nHost: archive.example\r\n\r\n");
        let request = format!(
            "WARC/1.1\r\nWARC-Type: request\r\nWARC-Record-ID: <urn:uuid:req-{i}>\r\n\
             WARC-Date: 2024-09-27T10:30:00Z\r\nWARC-Target-URI: {uri}\r\n\
             Content-Type: application/http; msgtype=request\r\nContent-Length: {}\r\n\r\n{get}\r\n\r\n",
            get.len()
        );
        f.write_all(&gz(request.as_bytes()))?;
        let body = page(i);
        let http = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let date = format!("2024-09-{:02}T{:02}:00:00Z", 1 + i % 28, i % 24);
        f.write_all(&gz(&response_record(
            &uri,
            &format!("<urn:uuid:resp-{i}>"),
            &date,
            http.as_bytes(),
        )))?;
    }
    f.flush()?;
    Ok(std::fs::metadata(path)?.len())
}

/// Busy CPU seconds of the whole machine so far (every CPU, /proc/stat at 100 ticks a
/// second): what other processes took during a run is this less newsriver's own.
fn machine_busy_secs() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/stat") else {
        return 0.0;
    };
    let Some(line) = stat.lines().find(|l| l.starts_with("cpu ")) else {
        return 0.0;
    };
    let v: Vec<f64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    // user nice system (idle iowait) irq softirq steal
    let busy: f64 = [0, 1, 2, 5, 6, 7].iter().filter_map(|&i| v.get(i)).sum();
    busy / 100.0
}

struct Run {
    secs: f64,
    cpu_secs: f64,
    /// Cores other processes kept busy on average during the run.
    others: f64,
    peak_rss_kib: u64,
    records: u64,
    pages: u64,
    published: u64,
    summary: String,
}

/// A number of the summary line after `label` ("published 12" -> 12).
fn field(summary: &str, label: &str) -> Option<u64> {
    let at = summary.find(label)? + label.len();
    summary[at..]
        .trim_start()
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

fn run(bin: &Path, dir: &Path, warc: &Path, one_core: bool) -> Result<Run> {
    let state = dir.join(if one_core { "one" } else { "all" });
    let _ = std::fs::remove_dir_all(&state);
    std::fs::create_dir_all(&state)?;
    let mut cmd = if one_core {
        let mut c = Command::new("taskset");
        c.args(["-c", "0"]).arg(bin);
        c
    } else {
        Command::new(bin)
    };
    cmd.args(["backfill", "--no-progress", "--warc"])
        .arg(warc)
        .arg("-o")
        .arg(state.join("out.jsonl"))
        .env("NEWSRIVER_STATE__PATH", state.join("state.sqlite"))
        .env("NEWSRIVER_STRIP__WORKERS", if one_core { "1" } else { "0" })
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let machine_before = machine_busy_secs();
    let mut child = cmd.spawn().context("starting newsriver")?;
    // With taskset, newsriver is taskset's child: it execs, so the pid is the same.
    let pid = child.id().to_string();
    let (mut peak, mut cpu) = (0, 0.0);
    let stderr = loop {
        if let Some(status) = child.try_wait()? {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                std::io::Read::read_to_string(&mut e, &mut err)?;
            }
            if !status.success() {
                bail!("newsriver failed ({status}): {err}");
            }
            break err;
        }
        if let Some(hwm) = process::status_kib(&pid, "VmHWM") {
            peak = peak.max(hwm);
        }
        if let Some(c) = process::cpu_secs(child.id()) {
            cpu = c;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let secs = started.elapsed().as_secs_f64();
    let others = ((machine_busy_secs() - machine_before - cpu) / secs).max(0.0);
    let summary = stderr
        .lines()
        .find(|l| l.starts_with("backfill:"))
        .unwrap_or_default()
        .to_string();
    let records = field(&summary, "backfill:").context("no summary line")?;
    let skipped = field(&summary, "skipped").unwrap_or(0);
    Ok(Run {
        secs,
        cpu_secs: cpu,
        others,
        peak_rss_kib: peak,
        records,
        pages: records - skipped,
        published: field(&summary, "published").unwrap_or(0),
        summary,
    })
}

fn print(name: &str, r: &Run) {
    println!(
        "  {name}: {:.1} s, {:.0} records/s, {:.0} pages/s, {:.0} articles/s, CPU {:.1} s ({:.2} cores busy; other processes {:.2}), peak RSS {:.0} MB",
        r.secs,
        r.records as f64 / r.secs,
        r.pages as f64 / r.secs,
        r.published as f64 / r.secs,
        r.cpu_secs,
        r.cpu_secs / r.secs,
        r.others,
        r.peak_rss_kib as f64 / 1024.0
    );
    println!("    {}", r.summary);
}

fn main() -> Result<()> {
    let args = Args::parse();
    let bin = process::newsriver_binary()?;
    let dir: PathBuf = std::env::temp_dir().join(format!("newsriver-warc-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let warc = dir.join("bench.warc.gz");
    let t = Instant::now();
    let bytes = write_warc(&warc, args.records)?;
    println!(
        "warc: {} response records (and their requests), {:.1} MB gzipped per record, {:.1} KB a page, written in {:.1} s",
        args.records,
        bytes as f64 / 1e6,
        page(0).len() as f64 / 1e3,
        t.elapsed().as_secs_f64()
    );
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let one = match args.only.as_deref() {
        None | Some("one") => {
            let r = run(&bin, &dir, &warc, true)?;
            print("one core, 1 strip worker", &r);
            Some(r)
        }
        _ => None,
    };
    let all = match args.only.as_deref() {
        None | Some("all") => {
            let r = run(&bin, &dir, &warc, false)?;
            print(&format!("{cores} cores, {cores} strip workers"), &r);
            Some(r)
        }
        _ => None,
    };
    if let (Some(one), Some(all)) = (&one, &all) {
        let speedup = (all.pages as f64 / all.secs) / (one.pages as f64 / one.secs);
        let floor = 0.8 * cores as f64;
        println!(
            "  pages/s on {cores} cores / on one: {speedup:.2} (floor 0.8 x {cores} = {floor:.2}): {}",
            if speedup >= floor { "met" } else { "NOT met" }
        );
        if all.others > 0.2 || one.others > 0.2 {
            println!(
                "  (other processes kept {:.2} / {:.2} cores busy during the runs: measure on a quiet machine)",
                one.others, all.others
            );
        }
    }
    if args.keep {
        println!("  kept {}", dir.display());
    } else {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(())
}
