//! Scores the stripper on the article-extraction-benchmark pages (../shared/eval/aeb)
//! exactly as that benchmark's README describes, and times it, one core.
//!
//!     cargo run --release -p newsriver-bench --bin aeb -- [--data DIR] [--worst N] [--dump DIR]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Parser;
use newsriver_bench::{aggregate, DocScore, Scorer};

#[derive(Parser)]
#[command(about = "Accuracy (shingle P/R/F1) and speed of the stripper on the AEB pages")]
struct Args {
    /// Folder with ground-truth.json and html/<id>.html.gz.
    #[arg(long, default_value = "../shared/eval/aeb")]
    data: PathBuf,
    /// List the N lowest-F1 pages.
    #[arg(long, default_value_t = 0)]
    worst: usize,
    /// Write each page's extracted text to DIR/<id>.txt.
    #[arg(long)]
    dump: Option<PathBuf>,
    /// Timing repetitions over the whole set (the median of each page is reported).
    #[arg(long, default_value_t = 3)]
    repeat: usize,
}

struct Page {
    id: String,
    url: String,
    html: String,
    expected: String,
}

fn load(dir: &Path) -> Result<Vec<Page>> {
    let truth: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.join("ground-truth.json"))
            .with_context(|| format!("reading {}/ground-truth.json", dir.display()))?,
    )?;
    let mut pages = Vec::new();
    for (id, v) in truth.as_object().context("ground truth is an object")? {
        let gz = std::fs::read(dir.join("html").join(format!("{id}.html.gz")))?;
        let mut html = String::new();
        flate2::read::GzDecoder::new(&gz[..]).read_to_string(&mut html)?;
        pages.push(Page {
            id: id.clone(),
            url: v["url"].as_str().unwrap_or_default().to_string(),
            html,
            expected: v["articleBody"].as_str().unwrap_or_default().to_string(),
        });
    }
    pages.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(pages)
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[idx]
}

fn main() -> Result<()> {
    let args = Args::parse();
    let pages = load(&args.data)?;
    let scorer = Scorer::new();
    let mut scores: Vec<(DocScore, &Page)> = Vec::new();
    for page in &pages {
        let text = newsriver_stripper::extract(&page.html, Some(&page.url))
            .map(|e| e.text)
            .unwrap_or_default();
        if let Some(dir) = &args.dump {
            std::fs::create_dir_all(dir)?;
            std::fs::write(dir.join(format!("{}.txt", page.id)), &text)?;
        }
        scores.push((scorer.score(&page.expected, &text), page));
    }
    let only: Vec<DocScore> = scores.iter().map(|(s, _)| *s).collect();
    let (p, r, f1) = aggregate(&only);
    println!(
        "accuracy over {} pages (shingle scoring of the AEB README)",
        pages.len()
    );
    println!("  precision {p:.4}  recall {r:.4}  F1 {f1:.4}");

    if args.worst > 0 {
        scores.sort_by(|a, b| a.0.f1().total_cmp(&b.0.f1()));
        println!("lowest F1:");
        for (s, page) in scores.iter().take(args.worst) {
            println!(
                "  {:.3} (P {:.3} R {:.3}) {} {}",
                s.f1(),
                s.precision(),
                s.recall(),
                &page.id[..12],
                page.url
            );
        }
    }

    // Speed: per-page median over repetitions, extraction and html5ever parse alone.
    let repeat = args.repeat.max(1);
    let mut extract_ms = vec![Vec::with_capacity(repeat); pages.len()];
    let mut parse_ms = vec![Vec::with_capacity(repeat); pages.len()];
    let total_bytes: usize = pages.iter().map(|p| p.html.len()).sum();
    for _ in 0..repeat {
        for (i, page) in pages.iter().enumerate() {
            let t = Instant::now();
            let out = newsriver_stripper::extract(&page.html, Some(&page.url));
            extract_ms[i].push(t.elapsed().as_secs_f64() * 1e3);
            std::hint::black_box(out.ok());
            let t = Instant::now();
            let doc = scraper::Html::parse_document(&page.html);
            parse_ms[i].push(t.elapsed().as_secs_f64() * 1e3);
            std::hint::black_box(doc);
        }
    }
    let medians = |v: &mut Vec<Vec<f64>>| -> Vec<f64> {
        let mut out: Vec<f64> = v
            .iter_mut()
            .map(|runs| {
                runs.sort_by(f64::total_cmp);
                runs[runs.len() / 2]
            })
            .collect();
        out.sort_by(f64::total_cmp);
        out
    };
    let ex = medians(&mut extract_ms);
    let pa = medians(&mut parse_ms);
    let ex_total: f64 = ex.iter().sum();
    let pa_total: f64 = pa.iter().sum();
    println!(
        "speed, one thread, {} pages, {:.1} MB of HTML (median of {repeat} runs per page)",
        pages.len(),
        total_bytes as f64 / 1e6
    );
    println!(
        "  extract:    total {:.0} ms, median {:.2} ms/page, p99 {:.2} ms/page, {:.0} pages/s, {:.1} MB/s",
        ex_total,
        percentile(&ex, 0.5),
        percentile(&ex, 0.99),
        pages.len() as f64 / (ex_total / 1e3),
        total_bytes as f64 / 1e6 / (ex_total / 1e3)
    );
    println!(
        "  parse only: total {:.0} ms, median {:.2} ms/page, p99 {:.2} ms/page, {:.0} pages/s",
        pa_total,
        percentile(&pa, 0.5),
        percentile(&pa, 0.99),
        pages.len() as f64 / (pa_total / 1e3)
    );
    println!("  extract / parse-only time: {:.2}", ex_total / pa_total);
    Ok(())
}
