//! Story grouping accuracy: pairwise precision and recall of `StoryIndex` on a labelled
//! set (tests/fixtures/stories/labels.json): the 181 AEB articles and the five seed pages.
//!
//!     cargo run --release -p newsriver-bench --bin stories -- [--threshold 0.3]

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Parser;
use newsriver_dedup::{StoryConfig, StoryIndex};
use serde_json::Value;

#[derive(Parser)]
#[command(about = "Pairwise precision/recall of story grouping on the labelled set")]
struct Args {
    #[arg(long, default_value = "../shared/eval/aeb")]
    data: PathBuf,
    #[arg(long, default_value = "tests/fixtures")]
    fixtures: PathBuf,
    #[arg(long, default_value_t = StoryConfig::default().threshold)]
    threshold: f32,
}

struct Doc {
    url: String,
    title: String,
    text: String,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let labels: Value =
        serde_json::from_slice(&std::fs::read(args.fixtures.join("stories/labels.json"))?)?;
    let truth: BTreeMap<String, Value> = serde_json::from_slice(
        &std::fs::read(args.data.join("ground-truth.json")).context("ground truth")?,
    )?;
    let mut docs = Vec::new();
    for (id, v) in &truth {
        let gz = std::fs::read(args.data.join("html").join(format!("{id}.html.gz")))?;
        let mut html = String::new();
        flate2::read::GzDecoder::new(&gz[..]).read_to_string(&mut html)?;
        let url = v["url"].as_str().unwrap_or_default().to_string();
        let title = newsriver_stripper::extract(&html, Some(&url))
            .ok()
            .and_then(|e| e.title)
            .unwrap_or_default();
        docs.push(Doc {
            url,
            title,
            text: v["articleBody"].as_str().unwrap_or_default().to_string(),
        });
    }
    for entry in std::fs::read_dir(args.fixtures.join("site"))? {
        let path = entry?.path();
        let bytes = std::fs::read(&path)?;
        let (html, _) = newsriver_fetcher::decode(&bytes, None);
        let e = newsriver_stripper::extract(&html, None)?;
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        docs.push(Doc {
            url: format!("https://seed.test/news/{name}"),
            title: e.title.unwrap_or_default(),
            text: e.text,
        });
    }
    docs.sort_by(|a, b| a.url.cmp(&b.url));

    let stories = labels["stories"].as_object().context("stories")?;
    let label_of = |url: &str| -> String {
        stories
            .iter()
            .find(|(_, frags)| {
                frags
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .any(|f| url.contains(f))
            })
            .map(|(name, _)| name.clone())
            .unwrap_or_else(|| url.to_string())
    };
    let mut index = StoryIndex::new(StoryConfig {
        threshold: args.threshold,
        ..StoryConfig::default()
    });
    let assigned: Vec<(String, String)> = docs
        .iter()
        .enumerate()
        .map(|(i, d)| {
            (
                label_of(&d.url),
                index
                    .assign(&format!("doc{i}"), &d.title, &d.text, 0)
                    .story_id,
            )
        })
        .collect();
    let (mut tp, mut fp, mut fn_) = (0u64, 0u64, 0u64);
    for i in 0..assigned.len() {
        for j in i + 1..assigned.len() {
            let same_truth = assigned[i].0 == assigned[j].0;
            let same_pred = assigned[i].1 == assigned[j].1;
            match (same_truth, same_pred) {
                (true, true) => tp += 1,
                (false, true) => fp += 1,
                (true, false) => fn_ += 1,
                _ => {}
            }
        }
    }
    let p = tp as f64 / (tp + fp).max(1) as f64;
    let r = tp as f64 / (tp + fn_).max(1) as f64;
    let true_stories: std::collections::HashSet<&String> =
        assigned.iter().map(|(t, _)| t).collect();
    println!(
        "{} articles, {} true stories, {} predicted (threshold {})",
        docs.len(),
        true_stories.len(),
        index.stories(),
        args.threshold
    );
    println!(
        "pairs: precision {p:.3}  recall {r:.3}  F1 {:.3}  (TP {tp}, FP {fp}, FN {fn_})",
        if p + r > 0.0 {
            2.0 * p * r / (p + r)
        } else {
            0.0
        }
    );
    let mut groups: HashMap<&String, Vec<&str>> = HashMap::new();
    for (d, (_, pred)) in docs.iter().zip(&assigned) {
        groups.entry(pred).or_default().push(&d.url);
    }
    println!("seed pages:");
    for (d, (_, pred)) in docs.iter().zip(&assigned) {
        if d.url.starts_with("https://seed.test/") {
            println!("  {:<60} story of {} article(s)", d.url, groups[pred].len());
        }
    }
    let mut multi: Vec<_> = groups.values().filter(|g| g.len() > 1).collect();
    multi.sort();
    println!("predicted multi-article stories:");
    for g in multi {
        println!(
            "  {}",
            g.iter()
                .map(|u| u.rsplit('/').find(|s| !s.is_empty()).unwrap_or(u))
                .collect::<Vec<_>>()
                .join(" | ")
        );
    }
    Ok(())
}
