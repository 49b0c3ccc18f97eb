//! Story grouping accuracy: pairwise and B-cubed precision and recall of `StoryIndex`.
//!
//! Without `--jsonl`, on the built-in labelled set (tests/fixtures/stories/labels.json):
//! the 181 AEB articles and the five seed pages. With `--jsonl FILE`, on that file alone:
//! one article a line, `{"id", "title", "text", "published_at" (RFC 3339 or null),
//! "story"}` (other fields ignored), streamed through the index in order of publication
//! time (ties by id; with `--no-time` all at one time).
//!
//!     cargo run --release -p newsriver-bench --bin stories -- [--threshold 0.3]
//!     cargo run --release -p newsriver-bench --bin stories -- \
//!         --jsonl ../shared/eval/stories-ecbplus/articles.jsonl --no-time [--cv-topics 5]

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Parser;
use newsriver_dedup::{Features, StoryConfig, StoryIndex, StoryScorer, FEATURE_COUNT};
use serde::Deserialize;
use serde_json::Value;

#[derive(Parser)]
#[command(about = "Pairwise precision/recall of story grouping on the labelled set")]
struct Args {
    #[arg(long, default_value = "../shared/eval/aeb")]
    data: PathBuf,
    #[arg(long, default_value = "tests/fixtures")]
    fixtures: PathBuf,
    /// Cosine similarity at which an article joins a story: the cosine scorer instead of
    /// the shipped one.
    #[arg(long)]
    threshold: Option<f32>,
    /// A scorer's JSON (as `--fit-scorer` writes it) instead of the shipped one.
    #[arg(long)]
    scorer: Option<PathBuf>,
    /// Evaluate this labelled JSON-lines file alone instead of the built-in set.
    #[arg(long)]
    jsonl: Option<PathBuf>,
    /// Ignore publication times: every article at one time, no window.
    #[arg(long)]
    no_time: bool,
    /// Write `id<TAB>story id` for every article of `--jsonl` to this file.
    #[arg(long)]
    assignments: Option<PathBuf>,
    /// Also report the scorer fitted out of fold: the file's `topic` field split into
    /// this many folds; each fold is scored with a scorer fitted on the others (the
    /// logistic regression, then its decision threshold: the bias that does best on the
    /// others), and the folds' results are pooled. With `--threshold`, the cosine
    /// threshold that does best on the others (grid 0.05..0.60).
    #[arg(long)]
    cv_topics: Option<usize>,
    /// Fit the scorer on the whole `--jsonl` file and write its JSON here (what
    /// crates/dedup/src/story_scorer.json holds).
    #[arg(long)]
    fit_scorer: Option<PathBuf>,
    /// Cosine a story needs to be scored by a fitted scorer (not fitted: the cost bound).
    #[arg(long, default_value_t = 0.1)]
    floor: f32,
    /// L2 penalty of the logistic regression (on the weights, not the bias).
    #[arg(long, default_value_t = 1.0)]
    l2: f64,
    /// Fit only these features (comma-separated names; the others weigh 0).
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Rounds of fitting: after the first (examples of the labels' choices), each adds
    /// the examples of the last round's scorer's own choices and fits again.
    #[arg(long, default_value_t = 2)]
    rounds: usize,
}

impl Args {
    fn scorer(&self) -> Result<StoryScorer> {
        Ok(match (&self.scorer, self.threshold) {
            (Some(path), _) => StoryScorer::from_json(&std::fs::read_to_string(path)?)
                .map_err(anyhow::Error::msg)?,
            (None, Some(t)) => StoryScorer::cosine(t),
            (None, None) => StoryScorer::shipped(),
        })
    }

    fn describe(&self) -> String {
        match (&self.scorer, self.threshold) {
            (Some(path), _) => format!("scorer {}", path.display()),
            (None, Some(t)) => format!("cosine threshold {t}"),
            (None, None) => "shipped scorer".to_string(),
        }
    }
}

/// One labelled article of a `--jsonl` file.
#[derive(Deserialize)]
struct Labelled {
    id: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    published_at: Option<String>,
    /// A string or a number.
    #[serde(deserialize_with = "label")]
    story: String,
    #[serde(default, deserialize_with = "optional_label")]
    topic: Option<String>,
}

fn label<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    match Value::deserialize(d)? {
        Value::String(s) => Ok(s),
        other => Ok(other.to_string()),
    }
}

fn optional_label<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s)),
        other => Ok(Some(other.to_string())),
    }
}

/// Pairwise and B-cubed precision, recall and F1 of a predicted grouping.
#[derive(Debug, Clone, Copy, Default)]
struct Scores {
    pair_p: f64,
    pair_r: f64,
    bcubed_p: f64,
    bcubed_r: f64,
}

fn f1(p: f64, r: f64) -> f64 {
    if p + r > 0.0 {
        2.0 * p * r / (p + r)
    } else {
        0.0
    }
}

impl Scores {
    /// `truth[i]` and `pred[i]` label article i.
    fn of(truth: &[String], pred: &[String]) -> Scores {
        let mut cell: HashMap<(&str, &str), u64> = HashMap::new();
        let mut t_size: HashMap<&str, u64> = HashMap::new();
        let mut p_size: HashMap<&str, u64> = HashMap::new();
        for (t, p) in truth.iter().zip(pred) {
            *cell.entry((t, p)).or_default() += 1;
            *t_size.entry(t).or_default() += 1;
            *p_size.entry(p).or_default() += 1;
        }
        let pairs = |n: u64| n * n.saturating_sub(1) / 2;
        let tp: u64 = cell.values().map(|&n| pairs(n)).sum();
        let pred_pairs: u64 = p_size.values().map(|&n| pairs(n)).sum();
        let true_pairs: u64 = t_size.values().map(|&n| pairs(n)).sum();
        // B-cubed: per article, the share of its predicted story that is its true story
        // (precision) and of its true story that the predicted one holds (recall).
        let n = truth.len().max(1) as f64;
        let (mut bp, mut br) = (0.0, 0.0);
        for (&(t, p), &c) in &cell {
            let c = c as f64;
            bp += c * c / p_size[p] as f64;
            br += c * c / t_size[t] as f64;
        }
        Scores {
            pair_p: if pred_pairs == 0 {
                1.0
            } else {
                tp as f64 / pred_pairs as f64
            },
            pair_r: if true_pairs == 0 {
                1.0
            } else {
                tp as f64 / true_pairs as f64
            },
            bcubed_p: bp / n,
            bcubed_r: br / n,
        }
    }

    fn pair_f1(&self) -> f64 {
        f1(self.pair_p, self.pair_r)
    }

    fn print(&self, what: &str) {
        println!(
            "{what}: pairwise P {:.3} R {:.3} F1 {:.3}   B-cubed P {:.3} R {:.3} F1 {:.3}",
            self.pair_p,
            self.pair_r,
            self.pair_f1(),
            self.bcubed_p,
            self.bcubed_r,
            f1(self.bcubed_p, self.bcubed_r)
        );
    }
}

/// Streams `docs` (already in arrival order) through a fresh index; the predicted story
/// of each, the stories formed, and each article's assignment time in µs.
fn assign_all(
    docs: &[&Labelled],
    at: &[i64],
    scorer: &StoryScorer,
) -> (Vec<String>, usize, Vec<f64>) {
    let mut index = StoryIndex::new(StoryConfig {
        scorer: scorer.clone(),
        ..StoryConfig::default()
    });
    let mut micros = Vec::with_capacity(docs.len());
    let pred = docs
        .iter()
        .zip(at)
        .map(|(d, &at)| {
            let started = std::time::Instant::now();
            let id = index.assign(&d.id, &d.title, &d.text, at).story_id;
            micros.push(started.elapsed().as_secs_f64() * 1e6);
            id
        })
        .collect();
    (pred, index.stories(), micros)
}

/// The scorer's training examples: `docs` streamed through an index whose choices the
/// labels make (an article joins the story its label's first article started, when the
/// index reaches it; so stories stay pure), one example per story scored: its
/// features, and whether it is the article's story.
fn examples(
    docs: &[&Labelled],
    at: &[i64],
    floor: f32,
    own: Option<&StoryScorer>,
) -> (Vec<Features>, Vec<bool>) {
    let mut scorer = StoryScorer::cosine(floor);
    scorer.weights = [0.0; FEATURE_COUNT];
    let mut index = StoryIndex::new(StoryConfig {
        scorer,
        ..StoryConfig::default()
    });
    let label: HashMap<&str, &str> = docs
        .iter()
        .map(|d| (d.id.as_str(), d.story.as_str()))
        .collect();
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for (d, &at) in docs.iter().zip(at) {
        index.assign_choosing(&d.id, &d.title, &d.text, at, |scored, id_of| {
            let mut join = None;
            let mut best: Option<(usize, f32)> = None;
            for (i, c) in scored.iter().enumerate() {
                let same = label.get(id_of(c).as_str()) == Some(&d.story.as_str());
                if same {
                    join = Some(i);
                }
                if let Some(own) = own {
                    let score = own.score(&c.features);
                    if score >= 0.0 && best.is_none_or(|(_, b)| score > b) {
                        best = Some((i, score));
                    }
                }
                x.push(c.features);
                y.push(same);
            }
            match own {
                Some(_) => best.map(|(i, _)| i),
                None => join,
            }
        });
    }
    (x, y)
}

/// L2-penalized logistic regression by Newton's method: (bias, weights).
#[allow(clippy::needless_range_loop)]
fn logistic(x: &[Features], y: &[bool], l2: f64) -> (f64, [f64; FEATURE_COUNT]) {
    const D: usize = FEATURE_COUNT + 1;
    let mut beta = [0.0f64; D];
    let row = |f: &Features| {
        let mut r = [1.0f64; D];
        for (i, v) in f.iter().enumerate() {
            r[i + 1] = f64::from(*v);
        }
        r
    };
    for _ in 0..50 {
        let mut grad = [0.0f64; D];
        let mut hess = [[0.0f64; D]; D];
        for (f, &yi) in x.iter().zip(y) {
            let r = row(f);
            let z: f64 = r.iter().zip(&beta).map(|(a, b)| a * b).sum();
            let p = 1.0 / (1.0 + (-z).exp());
            let e = p - f64::from(u8::from(yi));
            let w = (p * (1.0 - p)).max(1e-9);
            for i in 0..D {
                grad[i] += e * r[i];
                for j in 0..D {
                    hess[i][j] += w * r[i] * r[j];
                }
            }
        }
        for i in 1..D {
            grad[i] += l2 * beta[i];
            hess[i][i] += l2;
        }
        hess[0][0] += 1e-9;
        let step = solve(hess, grad);
        let mut change = 0.0f64;
        for i in 0..D {
            beta[i] -= step[i];
            change = change.max(step[i].abs());
        }
        if change < 1e-9 {
            break;
        }
    }
    let mut w = [0.0; FEATURE_COUNT];
    w.copy_from_slice(&beta[1..]);
    (beta[0], w)
}

/// Solves `a x = b` by Gaussian elimination with partial pivoting.
#[allow(clippy::needless_range_loop)] // matrix code reads best indexed
fn solve<const D: usize>(mut a: [[f64; D]; D], mut b: [f64; D]) -> [f64; D] {
    for col in 0..D {
        let pivot = (col..D)
            .max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))
            .unwrap_or(col);
        a.swap(col, pivot);
        b.swap(col, pivot);
        let p = a[col][col];
        if p.abs() < 1e-300 {
            continue;
        }
        for r in 0..D {
            if r != col {
                let f = a[r][col] / p;
                if f != 0.0 {
                    for c in col..D {
                        a[r][c] -= f * a[col][c];
                    }
                    b[r] -= f * b[col];
                }
            }
        }
    }
    let mut x = [0.0; D];
    for i in 0..D {
        x[i] = if a[i][i].abs() < 1e-300 {
            0.0
        } else {
            b[i] / a[i][i]
        };
    }
    x
}

/// Fits a scorer on `docs`: the logistic regression on the labels' examples, then the
/// decision threshold (a shift of the bias, grid -3..3 in logits, steps of 0.05) that gives the best
/// pairwise F1 when `docs` are streamed through it.
fn fit(docs: &[&Labelled], at: &[i64], args: &Args) -> (StoryScorer, f64) {
    let (mut x, mut y) = examples(docs, at, args.floor, None);
    let mut fitted = fit_round(docs, at, args, &x, &y);
    for _ in 1..args.rounds {
        let (x2, y2) = examples(docs, at, args.floor, Some(&fitted.0));
        x.extend(x2);
        y.extend(y2);
        fitted = fit_round(docs, at, args, &x, &y);
    }
    fitted
}

fn fit_round(
    docs: &[&Labelled],
    at: &[i64],
    args: &Args,
    x: &[Features],
    y: &[bool],
) -> (StoryScorer, f64) {
    let (floor, l2) = (args.floor, args.l2);
    let mut x = x.to_vec();
    if !args.only.is_empty() {
        for f in x.iter_mut() {
            for (v, name) in f.iter_mut().zip(newsriver_dedup::FEATURES) {
                if !args.only.iter().any(|o| o == name) {
                    *v = 0.0;
                }
            }
        }
    }
    let (bias, weights) = logistic(&x, y, l2);
    let mut scorer = StoryScorer::cosine(floor);
    for (s, w) in scorer.weights.iter_mut().zip(weights) {
        *s = w as f32;
    }
    let truth: Vec<String> = docs.iter().map(|d| d.story.clone()).collect();
    let (shift, _) = (-60..=60)
        .map(|i| f64::from(i) * 0.05)
        .map(|shift| {
            scorer.bias = (bias + shift) as f32;
            (
                shift,
                Scores::of(&truth, &assign_all(docs, at, &scorer).0).pair_f1(),
            )
        })
        .fold(
            (0.0, f64::MIN),
            |best, c| if c.1 > best.1 { c } else { best },
        );
    scorer.bias = (bias + shift) as f32;
    (scorer, shift)
}

fn run_jsonl(args: &Args, path: &std::path::Path) -> Result<()> {
    let raw =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut docs: Vec<(i64, Labelled)> = Vec::new();
    for (n, line) in raw.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let d: Labelled = serde_json::from_str(line)
            .with_context(|| format!("{}:{}: not an article", path.display(), n + 1))?;
        let at = match (&d.published_at, args.no_time) {
            (Some(t), false) => chrono::DateTime::parse_from_rfc3339(t)
                .with_context(|| format!("{}:{}: published_at {t:?}", path.display(), n + 1))?
                .timestamp(),
            _ => 0,
        };
        docs.push((at, d));
    }
    docs.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.id.cmp(&b.1.id)));
    let at: Vec<i64> = docs.iter().map(|d| d.0).collect();
    let docs: Vec<&Labelled> = docs.iter().map(|d| &d.1).collect();
    let truth: Vec<String> = docs.iter().map(|d| d.story.clone()).collect();
    let scorer = args.scorer()?;
    let (pred, predicted, mut micros) = assign_all(&docs, &at, &scorer);
    let true_stories: std::collections::HashSet<&String> = truth.iter().collect();
    println!(
        "{}: {} articles, {} true stories, {} predicted ({}, {})",
        path.display(),
        docs.len(),
        true_stories.len(),
        predicted,
        args.describe(),
        if args.no_time {
            "no times"
        } else {
            "by publication time"
        }
    );
    Scores::of(&truth, &pred).print("in one run");
    print_cost(&mut micros);
    if let Some(out) = &args.assignments {
        let mut tsv = String::new();
        for (d, p) in docs.iter().zip(&pred) {
            tsv.push_str(&format!("{}\t{}\n", d.id, p));
        }
        std::fs::write(out, tsv).with_context(|| format!("writing {}", out.display()))?;
    }
    if let Some(k) = args.cv_topics {
        cross_validate(args, &docs, &at, k.max(2))?;
    }
    if let Some(out) = &args.fit_scorer {
        let (scorer, shift) = fit(&docs, &at, args);
        let note = format!(
            "fitted by `stories --jsonl {} {}--fit-scorer` (floor {}, l2 {}, threshold shift {shift}) on {} articles",
            path.file_name().and_then(|n| n.to_str()).unwrap_or_default(),
            if args.no_time { "--no-time " } else { "" },
            args.floor,
            args.l2,
            docs.len()
        );
        std::fs::write(out, scorer.to_json(Some(note)))
            .with_context(|| format!("writing {}", out.display()))?;
        println!("scorer written to {}", out.display());
    }
    Ok(())
}

/// Median, p99 and mean of per-article assignment times.
fn print_cost(micros: &mut [f64]) {
    if micros.is_empty() {
        return;
    }
    micros.sort_by(f64::total_cmp);
    let at = |q: f64| micros[((micros.len() - 1) as f64 * q).round() as usize];
    println!(
        "assignment: median {:.1} µs, p99 {:.1} µs, mean {:.1} µs per article",
        at(0.5),
        at(0.99),
        micros.iter().sum::<f64>() / micros.len() as f64
    );
}

/// Out-of-fold scorer, folds by topic (see `Args::cv_topics`).
fn cross_validate(args: &Args, docs: &[&Labelled], at: &[i64], k: usize) -> Result<()> {
    let mut topics: Vec<&str> = docs
        .iter()
        .map(|d| {
            d.topic
                .as_deref()
                .context("--cv-topics needs a topic on every article")
        })
        .collect::<Result<_>>()?;
    topics.sort();
    topics.dedup();
    let fold_of: HashMap<&str, usize> = topics
        .iter()
        .enumerate()
        .map(|(i, t)| (*t, i % k))
        .collect();
    let grid: Vec<f32> = (2..=24).map(|i| i as f32 * 0.025).collect();
    let (mut truth, mut pred) = (Vec::new(), Vec::new());
    let mut chosen = Vec::new();
    for fold in 0..k {
        let part = |inside: bool| -> (Vec<&Labelled>, Vec<i64>) {
            docs.iter()
                .zip(at)
                .filter(|(d, _)| {
                    (fold_of[d.topic.as_deref().unwrap_or_default()] == fold) == inside
                })
                .map(|(d, a)| (*d, *a))
                .unzip()
        };
        let (train, train_at) = part(false);
        let (test, test_at) = part(true);
        let scorer = if args.threshold.is_some() {
            let train_truth: Vec<String> = train.iter().map(|d| d.story.clone()).collect();
            let best = grid
                .iter()
                .map(|&t| {
                    let scorer = StoryScorer::cosine(t);
                    let f1 = Scores::of(&train_truth, &assign_all(&train, &train_at, &scorer).0)
                        .pair_f1();
                    (t, f1)
                })
                .max_by(|a, b| a.1.total_cmp(&b.1))
                .map(|(t, _)| t)
                .unwrap_or(0.3);
            chosen.push(format!("{best}"));
            StoryScorer::cosine(best)
        } else {
            let (scorer, shift) = fit(&train, &train_at, args);
            chosen.push(format!("shift {shift}"));
            scorer
        };
        let (p, _, _) = assign_all(&test, &test_at, &scorer);
        truth.extend(test.iter().map(|d| format!("{fold}/{}", d.story)));
        pred.extend(p.into_iter().map(|s| format!("{fold}/{s}")));
    }
    Scores::of(&truth, &pred).print(&format!(
        "out of fold ({k} folds by topic, {})",
        chosen.join(", ")
    ));
    Ok(())
}

struct Doc {
    url: String,
    title: String,
    text: String,
}

fn main() -> Result<()> {
    let args = Args::parse();
    if let Some(path) = &args.jsonl {
        return run_jsonl(&args, path);
    }
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
        scorer: args.scorer()?,
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
        "{} articles, {} true stories, {} predicted ({})",
        docs.len(),
        true_stories.len(),
        index.stories(),
        args.describe()
    );
    println!(
        "pairs: precision {p:.3}  recall {r:.3}  F1 {:.3}  (TP {tp}, FP {fp}, FN {fn_})",
        if p + r > 0.0 {
            2.0 * p * r / (p + r)
        } else {
            0.0
        }
    );
    let (truth, pred): (Vec<String>, Vec<String>) = assigned.iter().cloned().unzip();
    Scores::of(&truth, &pred).print("scores");
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

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(s: &str) -> Vec<String> {
        s.chars().map(String::from).collect()
    }

    #[test]
    fn scores_count_pairs_and_per_article_shares() {
        // Truth: {0,1,2} {3,4}; predicted: {0,1} {2,3,4}.
        let s = Scores::of(&labels("aaabb"), &labels("xxyyy"));
        // Predicted pairs: 1 + 3 = 4, of which right: (0,1), (3,4). True pairs: 3 + 1 = 4.
        assert!((s.pair_p - 0.5).abs() < 1e-9);
        assert!((s.pair_r - 0.5).abs() < 1e-9);
        // B-cubed precision: (1 + 1 + 1/3 + 2/3 + 2/3) / 5; recall: (2/3 + 2/3 + 1/3 + 1 + 1) / 5.
        assert!((s.bcubed_p - (11.0 / 3.0) / 5.0).abs() < 1e-9);
        assert!((s.bcubed_r - (11.0 / 3.0) / 5.0).abs() < 1e-9);
        let perfect = Scores::of(&labels("aaabb"), &labels("xxxyy"));
        assert_eq!((perfect.pair_p, perfect.pair_r), (1.0, 1.0));
        let singletons = Scores::of(&labels("aaabb"), &labels("vwxyz"));
        assert_eq!(singletons.pair_r, 0.0);
        assert_eq!(singletons.bcubed_p, 1.0);
    }
}
