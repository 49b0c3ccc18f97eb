//! Exports training data for the stripper's block classifier from the dev sets: every block
//! of every page with its feature row and a label from the set's truth.
//!
//!     cargo run --release -p newsriver-bench --bin blockdata -- --out target/blocks
//!
//! Writes `OUT/features.f32` (little-endian float32, one row of `FEATURE_NAMES` per block),
//! `OUT/blocks.tsv` (set, page, site, block index, label, tokens, chars, container numbers,
//! text start) and `OUT/context_probe.f32` (the second stage's context features for made-up
//! probabilities, a cross-check), read by crates/bench/scripts/train_blocks.py. Labels:
//! - text sets (aeb, readability): the share of the block's 4-token shingles found in the
//!   true text (blocks under 4 tokens: 1 when their tokens occur in that order in it);
//! - the snippet set: 1 when the block holds a snippet the output must contain, 0 when it
//!   holds one it must not, -1 (unknown) otherwise.

use std::collections::HashSet;
use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Parser;
use newsriver_bench::sets::{self, EvalPage, SetName, Truth};
use newsriver_stripper::training;
use regex::Regex;

#[derive(Parser)]
#[command(about = "Block features and labels from the dev sets, for training the classifier")]
struct Args {
    #[arg(long, default_value = "../shared/eval")]
    eval: PathBuf,
    #[arg(long, default_value = "target/blocks")]
    out: PathBuf,
}

fn tokens<'a>(word: &Regex, text: &'a str) -> Vec<&'a str> {
    word.find_iter(text).map(|m| m.as_str()).collect()
}

/// The site a page belongs to, for grouping folds: the host's last two labels (three under
/// a second-level suffix such as co.uk, or on blog hosts that give every blog its own
/// subdomain), from the URL or from a file name that starts with the host
/// (`hard::site.example-story.html`).
fn host_site(url: &str) -> String {
    let host = url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_else(|| {
            let name = url.rsplit("::").next().unwrap_or(url);
            name.split('-').next().unwrap_or(name).to_string()
        });
    let labels: Vec<&str> = host.split('.').filter(|l| !l.is_empty()).collect();
    let n = labels.len();
    let second_level = n >= 3
        && matches!(
            labels[n - 2],
            "co" | "com" | "org" | "net" | "gov" | "ac" | "edu" | "wordpress" | "blogspot"
        );
    let keep = if second_level { 3 } else { 2 };
    labels[n.saturating_sub(keep)..].join(".")
}

/// The readability set serves every page from one made-up host; the first word of a page's
/// name says its site (`nytimes-2`) or, for the small synthetic pages, the family of
/// near-identical test pages it belongs to (`base-url-base-element`), kept together.
fn site(page: &EvalPage) -> String {
    let host = host_site(&page.url);
    if host != "fakehost" {
        return host;
    }
    let first = page.id.split('-').next().unwrap_or(&page.id);
    if first.chars().all(|c| c.is_ascii_digit()) {
        "numbered-tests".to_string()
    } else {
        first.to_string()
    }
}

/// The made-up first-stage probability of block `i` in `context_probe.f32` (the training
/// script uses the same formula).
fn probe_probability(i: usize) -> f32 {
    ((i * 37) % 101) as f32 / 100.0
}

fn main() -> Result<()> {
    let args = Args::parse();
    std::fs::create_dir_all(&args.out)?;
    let create = |name: &str| -> Result<std::io::BufWriter<std::fs::File>> {
        let path = args.out.join(name);
        let file =
            std::fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?;
        Ok(std::io::BufWriter::new(file))
    };
    let mut feats = create("features.f32")?;
    let mut meta = create("blocks.tsv")?;
    let mut probe = create("context_probe.f32")?;
    writeln!(
        meta,
        "set\tpage\thost\tblock\tlabel\ttokens\tchars\tparent\tgrand\ttext"
    )?;
    std::fs::write(
        args.out.join("features.txt"),
        training::FEATURE_NAMES.join("\n") + "\n",
    )?;
    std::fs::write(
        args.out.join("context.txt"),
        training::CONTEXT_NAMES.join("\n") + "\n",
    )?;
    let word = Regex::new(r"\w+").context("pattern")?;
    let mut n = 0usize;
    for set in SetName::ALL {
        for page in sets::load(&args.eval, set)?
            .iter()
            .filter(|p| sets::scored(p))
        {
            let (html, _) = newsriver_fetcher::decode(&page.html, None);
            let site = site(page);
            let rows = training::rows(&html, Some(&page.url));
            // Context features for made-up probabilities, so the training script can check
            // that it computes them as the library does.
            let probe_p: Vec<f32> = (0..rows.len()).map(probe_probability).collect();
            for row in training::context_rows(&html, Some(&page.url), &probe_p) {
                for v in row {
                    probe.write_all(&v.to_le_bytes())?;
                }
            }
            // Truth as shingle and n-gram sets, or as snippet lists.
            let (shingles, grams, snippets) = match &page.truth {
                Truth::Text(t) => {
                    let toks = tokens(&word, t);
                    let shingles: HashSet<Vec<&str>> =
                        toks.windows(4).map(|w| w.to_vec()).collect();
                    let mut grams: HashSet<Vec<&str>> = HashSet::new();
                    for k in 1..4 {
                        grams.extend(toks.windows(k).map(|w| w.to_vec()));
                    }
                    (shingles, grams, None)
                }
                Truth::Snippets { with, without } => {
                    (HashSet::new(), HashSet::new(), Some((with, without)))
                }
            };
            for (i, row) in rows.iter().enumerate() {
                let toks = tokens(&word, &row.text);
                let label: f32 = match snippets {
                    None if toks.len() >= 4 => {
                        let w: Vec<_> = toks.windows(4).collect();
                        let hit = w.iter().filter(|s| shingles.contains(**s)).count();
                        hit as f32 / w.len() as f32
                    }
                    None if toks.is_empty() => -1.0,
                    None => f32::from(u8::from(grams.contains(&toks))),
                    Some((with, without)) => {
                        let text = sets::collapse_ws(&row.text);
                        let part = |s: &String| {
                            text.contains(s.as_str())
                                || (toks.len() >= 3 && s.contains(text.as_str()))
                        };
                        match (with.iter().any(part), without.iter().any(part)) {
                            (true, false) => 1.0,
                            (false, true) => 0.0,
                            _ => -1.0,
                        }
                    }
                };
                for v in &row.features {
                    feats.write_all(&v.to_le_bytes())?;
                }
                let start: String = row
                    .text
                    .chars()
                    .take(60)
                    .map(|c| if c.is_whitespace() { ' ' } else { c })
                    .collect();
                writeln!(
                    meta,
                    "{}\t{}\t{site}\t{i}\t{label}\t{}\t{}\t{}\t{}\t{start}",
                    set.as_str(),
                    page.id,
                    toks.len(),
                    row.chars,
                    row.parent,
                    row.grand
                )?;
                n += 1;
            }
        }
    }
    feats.flush()?;
    meta.flush()?;
    probe.flush()?;
    eprintln!(
        "{n} blocks, {} features -> {}",
        training::FEATURE_NAMES.len(),
        args.out.display()
    );
    Ok(())
}
