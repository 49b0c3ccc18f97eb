//! Scores the stripper on the multilingual labelled set (tests/fixtures/multilingual):
//! text P/R/F1 overall, per language and per template, and per-field metadata accuracy.
//!
//!     cargo run --release -p newsriver-bench --bin multilingual -- [--set DIR] [--show NAME]

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Parser;
use newsriver_bench::{aggregate, DocScore, Scorer};
use serde_json::Value;

#[derive(Parser)]
#[command(about = "Accuracy of text and metadata extraction on the multilingual labelled set")]
struct Args {
    #[arg(long, default_value = "tests/fixtures/multilingual")]
    set: PathBuf,
    /// Print the extracted text and metadata of one page.
    #[arg(long)]
    show: Option<String>,
}

fn same_date(expected: &Value, got: Option<chrono::DateTime<chrono::Utc>>) -> bool {
    match (expected.as_str(), got) {
        (None, None) => true,
        // A day-only truth compares days; otherwise instants.
        (Some(e), Some(g)) if e.len() == 10 => g.format("%Y-%m-%d").to_string() == e,
        (Some(e), Some(g)) => newsriver_stripper::parse_date(e) == Some(g),
        _ => false,
    }
}

fn main() -> Result<()> {
    let args = Args::parse();
    let expected: BTreeMap<String, Value> = serde_json::from_slice(
        &std::fs::read(args.set.join("expected.json")).context("reading expected.json")?,
    )?;
    let scorer = Scorer::new();
    let mut all = Vec::new();
    let mut by_lang: BTreeMap<String, Vec<DocScore>> = BTreeMap::new();
    let mut by_template: BTreeMap<String, Vec<DocScore>> = BTreeMap::new();
    let fields = [
        "title",
        "authors",
        "published_at",
        "modified_at",
        "canonical_url",
        "language",
        "image",
    ];
    let mut correct: BTreeMap<&str, usize> = BTreeMap::new();
    let mut misses: Vec<String> = Vec::new();
    for (name, exp) in &expected {
        let html = std::fs::read_to_string(args.set.join("pages").join(format!("{name}.html")))?;
        let url = exp["url"].as_str().unwrap_or_default();
        let got = newsriver_stripper::extract(&html, Some(url)).unwrap_or_default();
        if args.show.as_deref() == Some(name.as_str()) {
            println!("{}", serde_json::to_string_pretty(&got)?);
        }
        let score = scorer.score(exp["text"].as_str().unwrap_or_default(), &got.text);
        all.push(score);
        by_lang
            .entry(exp["language"].as_str().unwrap_or("?").to_string())
            .or_default()
            .push(score);
        by_template
            .entry(exp["template"].as_str().unwrap_or("?").to_string())
            .or_default()
            .push(score);
        let checks = [
            ("title", exp["title"].as_str() == got.title.as_deref()),
            (
                "authors",
                exp["authors"]
                    .as_array()
                    .map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>())
                    == Some(got.authors.iter().map(String::as_str).collect()),
            ),
            (
                "published_at",
                same_date(&exp["published_at"], got.published_at),
            ),
            (
                "modified_at",
                same_date(&exp["modified_at"], got.modified_at),
            ),
            (
                "canonical_url",
                exp["canonical_url"].as_str() == got.canonical_url.as_deref(),
            ),
            (
                "language",
                exp["language"].as_str() == got.language.as_deref(),
            ),
            ("image", exp["image"].as_str() == got.image.as_deref()),
        ];
        for (field, ok) in checks {
            if ok {
                *correct.entry(field).or_default() += 1;
            } else {
                misses.push(format!("{name}: {field}"));
            }
        }
    }
    let line = |label: &str, scores: &[DocScore]| {
        let (p, r, f) = aggregate(scores);
        println!(
            "  {label:<12} {:>3} pages  P {p:.4}  R {r:.4}  F1 {f:.4}",
            scores.len()
        );
    };
    println!("text (shingle scoring of the AEB README)");
    line("all", &all);
    for (lang, s) in &by_lang {
        line(lang, s);
    }
    for (template, s) in &by_template {
        line(template, s);
    }
    println!("metadata: pages with the field exactly right");
    for field in fields {
        let n = correct.get(field).copied().unwrap_or(0);
        println!(
            "  {field:<14} {n:>3}/{}  {:.1}%",
            expected.len(),
            100.0 * n as f64 / expected.len() as f64
        );
    }
    if !misses.is_empty() {
        println!("misses: {}", misses.join(", "));
    }
    Ok(())
}
