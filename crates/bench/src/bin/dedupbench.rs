//! Dedup benchmark, one thread: throughput of fingerprint + lookup + insert for 5 KB
//! articles, and near-duplicate precision/recall on real article texts (the AEB ground
//! truth) with known edits.
//!
//!     cargo run --release -p newsriver-bench --bin dedupbench -- [--data DIR] [--docs N]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Parser;
use newsriver_dedup::{DedupConfig, Deduper, Fingerprint};

#[derive(Parser)]
#[command(about = "Throughput and near-duplicate accuracy of newsriver-dedup")]
struct Args {
    #[arg(long, default_value = "../shared/eval/aeb")]
    data: PathBuf,
    /// Synthetic 5 KB articles for the throughput run.
    #[arg(long, default_value_t = 100_000)]
    docs: usize,
    #[arg(long, default_value_t = 0.8)]
    threshold: f64,
    /// Also fill an index with this many synthetic 1 KB articles and report RSS.
    #[arg(long, default_value_t = 0)]
    index_size: usize,
}

fn rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<f64>().ok())
        })
        .unwrap_or(0.0)
        / 1024.0
}

/// Deterministic xorshift, so runs are comparable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn replace_words(text: &str, fraction: f64, vocab: &[&str], rng: &mut Rng) -> String {
    text.split(' ')
        .map(|w| {
            if (rng.next() % 10_000) as f64 / 10_000.0 < fraction {
                vocab[rng.below(vocab.len())].to_string()
            } else {
                w.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn shuffle_paragraphs(text: &str, rng: &mut Rng) -> String {
    let mut paras: Vec<&str> = text.split('\n').filter(|p| !p.trim().is_empty()).collect();
    for i in (1..paras.len()).rev() {
        let j = rng.below(i + 1);
        paras.swap(i, j);
    }
    paras.join("\n")
}

const BOILERPLATE: &str = "Home News World Business Sport Share this article Facebook Twitter \
    WhatsApp Email Related articles Leave a reply Your email address will not be published \
    Sign up for our newsletter Most read Copyright 2024 All rights reserved";

fn main() -> Result<()> {
    let args = Args::parse();
    let truth: BTreeMap<String, serde_json::Value> = serde_json::from_slice(
        &std::fs::read(args.data.join("ground-truth.json")).context("reading ground truth")?,
    )?;
    let texts: Vec<String> = truth
        .values()
        .filter_map(|v| v["articleBody"].as_str())
        .filter(|t| t.split_whitespace().count() >= 150)
        .map(str::to_string)
        .collect();
    let corpus: Vec<&str> = texts.iter().flat_map(|t| t.split_whitespace()).collect();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);

    // Throughput: synthetic 5 KB articles of words drawn from the corpus vocabulary, in
    // paragraphs of about 60 words, so that no two share much text.
    let mut vocabulary: Vec<&str> = corpus.clone();
    vocabulary.sort_unstable();
    vocabulary.dedup();
    let non_ascii = vocabulary.iter().filter(|w| !w.is_ascii()).count();
    println!(
        "vocabulary: {} distinct words from the AEB texts, {:.0}% with non-ASCII characters",
        vocabulary.len(),
        100.0 * non_ascii as f64 / vocabulary.len() as f64
    );
    let docs: Vec<String> = (0..args.docs)
        .map(|_| {
            let mut s = String::with_capacity(5300);
            let mut n = 0;
            while s.len() < 5 * 1024 {
                s.push_str(vocabulary[rng.below(vocabulary.len())]);
                n += 1;
                s.push(if n % 60 == 0 { '\n' } else { ' ' });
            }
            s
        })
        .collect();
    let t = Instant::now();
    let fps: Vec<Fingerprint> = docs
        .iter()
        .take(20_000)
        .map(|d| Fingerprint::new("https://x.test/a", d))
        .collect();
    println!(
        "fingerprint alone (normalize, exact hash, MinHash): {:.1} us per 5 KB article",
        t.elapsed().as_secs_f64() * 1e6 / fps.len() as f64
    );
    drop(fps);
    let mut deduper = Deduper::new(DedupConfig {
        near_threshold: args.threshold,
    });
    let t = Instant::now();
    let mut found = 0usize;
    for (i, d) in docs.iter().enumerate() {
        let url = format!("https://site{}.test/article/{i}", i % 500);
        let fp = Fingerprint::new(&url, d);
        if deduper.find(&fp).is_some() {
            found += 1;
        } else {
            let id = format!("{i:032x}");
            deduper.insert(&id, &id, &fp);
        }
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "throughput: {} articles of 5 KB, fingerprint + lookup + insert: {:.0} articles/s ({:.1} us each); {} matched an earlier one",
        docs.len(),
        docs.len() as f64 / secs,
        secs * 1e6 / docs.len() as f64,
        found
    );
    // Lookup alone on a warm index.
    let probe: Vec<Fingerprint> = docs
        .iter()
        .take(10_000)
        .map(|d| Fingerprint::new("https://probe.test/x", d))
        .collect();
    let t = Instant::now();
    let mut hits = 0;
    for fp in &probe {
        hits += usize::from(deduper.find(fp).is_some());
    }
    println!(
        "lookup on an index of {} articles: {:.2} us median-free mean per lookup ({} hits of {})",
        deduper.len(),
        t.elapsed().as_secs_f64() * 1e6 / probe.len() as f64,
        hits,
        probe.len()
    );

    // Near-duplicate accuracy on real texts.
    let mut index = Deduper::new(DedupConfig {
        near_threshold: args.threshold,
    });
    for (i, text) in texts.iter().enumerate() {
        let id = format!("doc{i}");
        index.insert(
            &id,
            &id,
            &Fingerprint::new(&format!("https://orig.test/{i}"), text),
        );
    }
    let vocab = &vocabulary;
    println!(
        "near-duplicates: {} real article texts (>= 150 words) indexed, threshold {}; each variant queried under a new URL",
        texts.len(),
        args.threshold
    );
    println!(
        "  {:<34} {:>8} {:>9} {:>10}",
        "variant", "recall", "wrong id", "missed"
    );
    type Edit = fn(&str, &[&str], &mut Rng) -> String;
    let edits: [(&str, Edit); 7] = [
        ("identical text, other boilerplate", |t, _, _| {
            format!("{BOILERPLATE}\n{t}\n{BOILERPLATE}")
        }),
        ("1% of words changed", |t, v, r| {
            replace_words(t, 0.01, v, r)
        }),
        ("5% of words changed", |t, v, r| {
            replace_words(t, 0.05, v, r)
        }),
        ("20% of words changed", |t, v, r| {
            replace_words(t, 0.20, v, r)
        }),
        ("paragraphs reordered", |t, _, r| shuffle_paragraphs(t, r)),
        ("boilerplate added (~10% of words)", |t, _, _| {
            let extra = t.split_whitespace().count() / 10 / BOILERPLATE.split(' ').count() + 1;
            format!("{}\n{t}", BOILERPLATE.repeat(extra))
        }),
        ("1% changed + reordered", |t, v, r| {
            shuffle_paragraphs(&replace_words(t, 0.01, v, r), r)
        }),
    ];
    for (label, edit) in edits {
        let (mut right, mut wrong, mut missed) = (0, 0, 0);
        for (i, text) in texts.iter().enumerate() {
            let variant = edit(text, vocab, &mut rng);
            match index.find(&Fingerprint::new(
                &format!("https://copy.test/{i}"),
                &variant,
            )) {
                Some(m) if m.id == format!("doc{i}") => right += 1,
                Some(_) => wrong += 1,
                None => missed += 1,
            }
        }
        println!(
            "  {label:<34} {:>8.3} {:>9} {:>10}",
            right as f64 / texts.len() as f64,
            wrong,
            missed
        );
    }
    // Different articles must not match: every text against an index without itself.
    let mut false_pos = 0;
    for (i, text) in texts.iter().enumerate() {
        let mut others = Deduper::new(DedupConfig {
            near_threshold: args.threshold,
        });
        for (j, t) in texts.iter().enumerate().filter(|(j, _)| *j != i) {
            let id = format!("doc{j}");
            others.insert(
                &id,
                &id,
                &Fingerprint::new(&format!("https://o.test/{j}"), t),
            );
        }
        false_pos += usize::from(
            others
                .find(&Fingerprint::new("https://q.test/", text))
                .is_some(),
        );
        if i >= 40 {
            break;
        }
    }
    println!("  different articles matched (first 41 texts against all others): {false_pos}");

    if args.index_size > 0 {
        drop(docs);
        drop(deduper);
        let before = rss_mb();
        let mut big = Deduper::new(DedupConfig {
            near_threshold: args.threshold,
        });
        let t = Instant::now();
        let mut text = String::with_capacity(1100);
        for i in 0..args.index_size {
            text.clear();
            while text.len() < 1024 {
                text.push_str(vocabulary[rng.below(vocabulary.len())]);
                text.push(' ');
            }
            let url = format!("https://site{}.test/{i}", i % 1000);
            let id = format!("{i:032x}");
            big.insert(&id, &id, &Fingerprint::new(&url, &text));
        }
        println!(
            "index of {} articles: RSS {:.0} MB (was {:.0} MB before), {:.0} bytes per article; built in {:.0} s",
            big.len(),
            rss_mb(),
            before,
            (rss_mb() - before) * 1024.0 * 1024.0 / big.len() as f64,
            t.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
