//! Scores the stripper on the three development sets of ../shared/eval (aeb, readability,
//! trafilatura), each as its README says, and, given peers' outputs (trafilatura's and
//! resiliparse's, from `crates/bench/scripts/trafilatura_eval.py` and `resiliparse_eval.py`),
//! scores those with the same code in the same run: P/R/F1, empty extractions, the worst
//! pages, metadata per field, and speed.
//!
//! Speed follows one rule on every side: from the page's bytes (charset decoding included),
//! the total wall time of a loop over all scored pages of a set, best of `--repeat` loops.
//! newsriver is timed here; a peer's pages/s is its best loop's per-page times summed over
//! the same pages.
//!
//!     cargo run --release -p newsriver-bench --bin eval -- \
//!         [--peer FILE --peer-name NAME]... [--worst N]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Result};
use clap::Parser;
use newsriver_bench::sets::{self, EvalPage, Output, PageScore, SetName, SetScore, META_FIELDS};
use newsriver_bench::Scorer;

#[derive(Parser)]
#[command(
    about = "Extraction accuracy and speed on the dev sets, newsriver and its peers side by side"
)]
struct Args {
    /// Folder holding aeb/, readability/ and trafilatura/.
    #[arg(long, default_value = "../shared/eval")]
    eval: PathBuf,
    /// Comma-separated sets to score.
    #[arg(long, default_value = "aeb,readability,trafilatura")]
    sets: String,
    /// A peer's outputs as JSON lines (see crates/bench/scripts/trafilatura_eval.py);
    /// repeatable, one row per peer.
    #[arg(long)]
    peer: Vec<PathBuf>,
    /// Name printed for each peer, in the order of the --peer flags (a single peer defaults
    /// to trafilatura).
    #[arg(long)]
    peer_name: Vec<String>,
    /// List the N worst pages of each set.
    #[arg(long, default_value_t = 10)]
    worst: usize,
    /// Write newsriver's text of every page to DIR/<set>/<id>.txt.
    #[arg(long)]
    dump: Option<PathBuf>,
    /// Print newsriver's output for pages whose id contains this string.
    #[arg(long)]
    show: Option<String>,
    /// List the pages where the title is wrong.
    #[arg(long)]
    title_misses: bool,
    /// Write every page's score as TSV (set, id, score, words) to FILE, to compare runs.
    #[arg(long)]
    scores: Option<PathBuf>,
    /// Block classifier: `builtin`, `heuristic` (container scoring alone), a model file, or
    /// `folds:DIR` (each page with the site-fold model of train_blocks.py that never saw it).
    #[arg(long, default_value = "builtin")]
    classifier: String,
    /// Timed loops over each set's pages, from bytes (the best loop's total wall time is
    /// kept); 0 skips timing.
    #[arg(long, default_value_t = 3)]
    repeat: usize,
}

/// One peer's outputs and the name it is printed under.
struct Peer {
    name: String,
    outputs: BTreeMap<(SetName, String), Output>,
}

struct Scored<'a> {
    page: &'a EvalPage,
    ours: Output,
    our_score: PageScore,
    /// Each peer's output and its score, in the order of the --peer flags.
    peers: Vec<Option<(&'a Output, PageScore)>>,
}

/// What a set's accuracy pass keeps for the speed section and the summary.
struct SetResult {
    set: SetName,
    pages: Vec<EvalPage>,
    f1: f64,
    /// Per peer: F1 over the pages it has an output for (None: no output for this set) and
    /// its per-page times when it timed every page of the set.
    peers: Vec<(Option<f64>, Option<Vec<f64>>)>,
    /// newsriver's pages/s, once timed.
    rate: Option<f64>,
}

fn file_name(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(120)
        .collect()
}

fn print_row(name: &str, s: &SetScore, starved: Option<usize>, other: &str) {
    println!(
        "  {name:<12} P {:.4}  R {:.4}  F1 {:.4}   empty {:>3}   F1<0.1 {:>3}{}",
        s.precision,
        s.recall,
        s.f1,
        s.empty,
        s.unusable,
        starved
            .map(|n| format!("   empty where {other} has >= 50 words: {n}"))
            .unwrap_or_default()
    );
}

fn main() -> Result<()> {
    let args = Args::parse();
    let mut wanted = Vec::new();
    for s in args.sets.split(',').filter(|s| !s.is_empty()) {
        match SetName::parse(s) {
            Some(n) => wanted.push(n),
            None => bail!("unknown set {s:?} (aeb, readability, trafilatura)"),
        }
    }
    if args.peer_name.len() > args.peer.len()
        || (args.peer.len() > 1 && args.peer_name.len() != args.peer.len())
    {
        bail!(
            "{} --peer-name for {} --peer: give one name per peer, in the same order",
            args.peer_name.len(),
            args.peer.len()
        );
    }
    let peers = args
        .peer
        .iter()
        .enumerate()
        .map(|(i, path)| {
            Ok(Peer {
                name: args
                    .peer_name
                    .get(i)
                    .cloned()
                    .unwrap_or_else(|| "trafilatura".to_string()),
                outputs: sets::read_peer(path)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    // Who "the other" is in the rows' empty-page counts: with one peer the rows read as
    // before; with several, name who.
    let (other_than_ours, other_than_a_peer) = if peers.len() > 1 {
        ("a peer", "newsriver")
    } else {
        ("the other", "the other")
    };
    let scorer = Scorer::new();
    let classifier = sets::PageClassifier::parse(&args.classifier)?;
    let options = |page: &EvalPage| newsriver_stripper::Options {
        classifier: classifier.for_page(page),
        ..newsriver_stripper::Options::default()
    };
    let mut results: Vec<SetResult> = Vec::new();
    let mut tsv = String::new();

    for set in wanted {
        let pages = sets::load(&args.eval, set)?;
        let pages: Vec<EvalPage> = pages.into_iter().filter(sets::scored).collect();
        let mut rows: Vec<Scored> = Vec::new();
        for page in &pages {
            let ours = sets::newsriver_output(page, &options(page));
            if let Some(dir) = &args.dump {
                let d = dir.join(set.as_str());
                std::fs::create_dir_all(&d)?;
                std::fs::write(d.join(format!("{}.txt", file_name(&page.id))), &ours.text)?;
            }
            if let Some(pat) = &args.show {
                if page.id.contains(pat.as_str()) {
                    println!("=== {} {}\n{:#?}", set.as_str(), page.id, ours);
                    let (html, _) = newsriver_fetcher::decode(&page.html, None);
                    println!(
                        "{}",
                        newsriver_stripper::explain(
                            &html,
                            Some(&page.url),
                            &classifier.for_page(page)
                        )
                    );
                }
            }
            let our_score = sets::score_page(&scorer, page, &ours);
            let theirs = peers
                .iter()
                .map(|peer| {
                    peer.outputs
                        .get(&(set, page.id.clone()))
                        .map(|o| (o, sets::score_page(&scorer, page, o)))
                })
                .collect();
            rows.push(Scored {
                page,
                ours,
                our_score,
                peers: theirs,
            });
        }
        for r in &rows {
            tsv.push_str(&format!(
                "{}\t{}\t{:.4}\t{}\n",
                set.as_str(),
                r.page.id,
                r.our_score.rank(),
                r.ours.words()
            ));
        }
        let ours: Vec<PageScore> = rows.iter().map(|r| r.our_score).collect();
        let our_out: Vec<&Output> = rows.iter().map(|r| &r.ours).collect();
        let our_set = sets::score_set(&ours, &our_out);
        println!("\n{} ({} pages)", set.as_str(), rows.len());
        let starved_ours = rows
            .iter()
            .filter(|r| {
                r.ours.words() == 0 && r.peers.iter().flatten().any(|(p, _)| p.words() >= 50)
            })
            .count();
        print_row(
            "newsriver",
            &our_set,
            (!peers.is_empty()).then_some(starved_ours),
            other_than_ours,
        );
        let mut peer_results = Vec::new();
        for (i, peer) in peers.iter().enumerate() {
            let with: Vec<(&Scored, &Output, PageScore)> = rows
                .iter()
                .filter_map(|r| r.peers[i].map(|(o, s)| (r, o, s)))
                .collect();
            if with.len() != rows.len() {
                println!(
                    "  ({} of {} pages have a {} output)",
                    with.len(),
                    rows.len(),
                    peer.name
                );
            }
            if with.is_empty() {
                peer_results.push((None, None));
                continue;
            }
            let ps: Vec<PageScore> = with.iter().map(|w| w.2).collect();
            let po: Vec<&Output> = with.iter().map(|w| w.1).collect();
            let peer_set = sets::score_set(&ps, &po);
            let starved_peer = with
                .iter()
                .filter(|(r, o, _)| o.words() == 0 && r.ours.words() >= 50)
                .count();
            print_row(&peer.name, &peer_set, Some(starved_peer), other_than_a_peer);
            println!(
                "  F1 difference newsriver - {}: {:+.4}",
                peer.name,
                our_set.f1 - peer_set.f1
            );
            let ms: Option<Vec<f64>> = rows
                .iter()
                .map(|r| r.peers[i].and_then(|(o, _)| o.ms))
                .collect();
            peer_results.push((Some(peer_set.f1), ms));
        }
        if args.worst > 0 {
            let mut ranked: Vec<&Scored> = rows.iter().collect();
            ranked.sort_by(|a, b| a.our_score.rank().total_cmp(&b.our_score.rank()));
            let names: String = peers.iter().map(|p| format!(" / {}", p.name)).collect();
            println!("  worst pages (newsriver{names}):");
            for r in ranked.iter().take(args.worst) {
                let detail = match r.our_score {
                    PageScore::Text(d) => format!(
                        "F1 {:.3} (P {:.3} R {:.3})",
                        d.f1(),
                        d.precision(),
                        d.recall()
                    ),
                    PageScore::Snippets(s) => {
                        format!(
                            "right {:.2} (tp {} fn {} fp {})",
                            s.page_accuracy(),
                            s.tp,
                            s.fn_,
                            s.fp
                        )
                    }
                };
                let theirs: String = r
                    .peers
                    .iter()
                    .map(|p| match p {
                        Some((_, s)) => format!(" / {:.3}", s.rank()),
                        None => " / -".to_string(),
                    })
                    .collect();
                println!(
                    "    {detail}{theirs}  {} words  {}",
                    r.ours.words(),
                    r.page.id
                );
            }
        }
        if set == SetName::Readability {
            print_metadata(&rows, &peers, args.title_misses);
        }
        drop(rows);
        results.push(SetResult {
            set,
            pages,
            f1: our_set.f1,
            peers: peer_results,
            rate: None,
        });
    }

    if let Some(path) = &args.scores {
        std::fs::write(path, tsv)?;
    }
    if args.repeat > 0 && results.iter().any(|r| !r.pages.is_empty()) {
        let timing = newsriver_stripper::Options {
            classifier: match &classifier {
                sets::PageClassifier::One(c) => c.clone(),
                sets::PageClassifier::Folds { .. } => Default::default(),
            },
            ..newsriver_stripper::Options::default()
        };
        println!(
            "\nspeed, one thread, from bytes (charset decoding included): a set's pages over \
             the total wall time of a loop over them, best of {} loop{}",
            args.repeat,
            if args.repeat == 1 { "" } else { "s" }
        );
        for r in results.iter_mut().filter(|r| !r.pages.is_empty()) {
            r.rate = Some(time_set(r, &timing, args.repeat, &peers));
        }
    }
    if !peers.is_empty() {
        print_summary(&results, &peers);
    }
    Ok(())
}

/// Metadata per field, newsriver's and that of each peer giving any (resiliparse's
/// html2text gives text only: it is named as giving none).
fn print_metadata(rows: &[Scored], peers: &[Peer], misses: bool) {
    let ours: Vec<_> = rows
        .iter()
        .filter_map(|r| r.page.meta.as_ref().map(|m| (m, &r.ours)))
        .collect();
    let our_tally = sets::tally_meta(&ours);
    let mut peer_tallies = Vec::new();
    let mut without = Vec::new();
    for (i, peer) in peers.iter().enumerate() {
        let pairs: Vec<_> = rows
            .iter()
            .filter_map(|r| Some((r.page.meta.as_ref()?, r.peers[i]?.0)))
            .collect();
        let any = pairs.iter().any(|(_, o)| {
            o.title.is_some()
                || o.byline.is_some()
                || o.published.is_some()
                || o.site_name.is_some()
                || o.language.is_some()
        });
        if any {
            peer_tallies.push((peer.name.as_str(), sets::tally_meta(&pairs)));
        } else {
            without.push(peer.name.as_str());
        }
    }
    println!("  metadata against expected-metadata.json (pages where it names a value):");
    for field in META_FIELDS {
        let o = our_tally[field];
        let pct = |right: usize, n: usize| 100.0 * right as f64 / n.max(1) as f64;
        let mut line = format!(
            "    {field:<10} {:>3} pages   newsriver {:>3} ({:>5.1}%)",
            o.scored,
            o.right,
            pct(o.right, o.scored)
        );
        for (name, tally) in &peer_tallies {
            let p = tally[field];
            line.push_str(&format!(
                "   {name} {:>3} ({:>5.1}%)",
                p.right,
                pct(p.right, p.scored)
            ));
        }
        println!("{line}");
    }
    if !without.is_empty() {
        println!("    (no metadata from {})", without.join(", "));
    }
    if misses {
        for r in rows {
            let Some(m) = &r.page.meta else { continue };
            for field in ["headline", "byline", "published", "site_name"] {
                if sets::field_right(field, m, &r.ours) == Some(false) {
                    let (exp, got) = match field {
                        "headline" => (&m.title, &r.ours.title),
                        "byline" => (&m.byline, &r.ours.byline),
                        "published" => (&m.published, &r.ours.published),
                        _ => (&m.site_name, &r.ours.site_name),
                    };
                    println!(
                        "    {field} miss {}: expected {:?}, got {:?}",
                        r.page.id, exp, got
                    );
                }
            }
        }
    }
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

/// newsriver as the pipeline runs it, from the page's bytes: decode, then strip.
fn extract_from_bytes(page: &EvalPage, options: &newsriver_stripper::Options) {
    let (html, _) = newsriver_fetcher::decode(&page.html, None);
    let out = newsriver_stripper::extract_with(&html, Some(&page.url), options);
    std::hint::black_box(out.ok());
}

/// The same decode, then html5ever's parse alone (what a parser costs on these pages).
fn parse_from_bytes(page: &EvalPage) {
    let (html, _) = newsriver_fetcher::decode(&page.html, None);
    std::hint::black_box(scraper::Html::parse_document(&html));
}

/// `repeat` loops over the pages, each of extraction then of decode + parse alone, one
/// thread; the best loop's total wall time of each is kept (per-page times from the best
/// extraction loop). Prints newsriver's figures and the peers' on the same pages; returns
/// newsriver's pages/s.
fn time_set(
    result: &SetResult,
    options: &newsriver_stripper::Options,
    repeat: usize,
    peers: &[Peer],
) -> f64 {
    let pages = &result.pages;
    let mut best: Option<(f64, Vec<f64>)> = None;
    let mut best_parse = f64::INFINITY;
    for _ in 0..repeat {
        let mut ms = Vec::with_capacity(pages.len());
        let start = Instant::now();
        for page in pages {
            let t = Instant::now();
            extract_from_bytes(page, options);
            ms.push(t.elapsed().as_secs_f64() * 1e3);
        }
        let total = start.elapsed().as_secs_f64();
        if best.as_ref().is_none_or(|(b, _)| total < *b) {
            best = Some((total, ms));
        }
        let start = Instant::now();
        for page in pages {
            parse_from_bytes(page);
        }
        best_parse = best_parse.min(start.elapsed().as_secs_f64());
    }
    let (total, mut ms) = best.unwrap_or_default();
    ms.sort_by(f64::total_cmp);
    let bytes: usize = pages.iter().map(|p| p.html.len()).sum();
    let n = pages.len() as f64;
    let ours = n / total;
    println!(
        "  {} ({} pages, {:.1} MB)",
        result.set.as_str(),
        pages.len(),
        bytes as f64 / 1e6
    );
    println!(
        "    newsriver extract: {ours:.0} pages/s, median {:.2} ms, p99 {:.2} ms, {:.1} MB/s",
        percentile(&ms, 0.5),
        percentile(&ms, 0.99),
        bytes as f64 / 1e6 / total
    );
    println!(
        "    html5ever parse only (decode + parse): {:.0} pages/s; extract / parse-only time {:.2}",
        n / best_parse,
        total / best_parse
    );
    for (peer, (_, peer_ms)) in peers.iter().zip(&result.peers) {
        let Some(peer_ms) = peer_ms else {
            println!("    {}: not timed on every page of this set", peer.name);
            continue;
        };
        let mut sorted = peer_ms.clone();
        sorted.sort_by(f64::total_cmp);
        let rate = pages_per_second(&sorted);
        println!(
            "    {}: {rate:.0} pages/s, median {:.2} ms, p99 {:.2} ms (its best loop, its own \
             timer); newsriver is {:.2}x",
            peer.name,
            percentile(&sorted, 0.5),
            percentile(&sorted, 0.99),
            ours / rate
        );
    }
    ours
}

/// A peer's pages/s from its per-page times in ms (of its best loop): the speed section and
/// the summary give the same figure.
fn pages_per_second(ms: &[f64]) -> f64 {
    ms.len() as f64 / (ms.iter().sum::<f64>() / 1e3)
}

/// One line per set: F1 and pages/s of newsriver and of each peer.
fn print_summary(results: &[SetResult], peers: &[Peer]) {
    let cell = |f1: Option<f64>, rate: Option<f64>| {
        format!(
            "F1 {}  {:>5} pages/s",
            f1.map(|f| format!("{f:.4}"))
                .unwrap_or_else(|| "  -   ".into()),
            rate.map(|r| format!("{r:.0}"))
                .unwrap_or_else(|| "-".into())
        )
    };
    let names: String = peers.iter().map(|p| format!("   {:<26}", p.name)).collect();
    println!("\nsummary (one core, from bytes, best loop):");
    println!(
        "{}",
        format!("  {:<20}{:<26}{names}", "set", "newsriver").trim_end()
    );
    for r in results {
        let theirs: String = r
            .peers
            .iter()
            .map(|(f1, ms)| {
                let rate = ms.as_ref().map(|ms| pages_per_second(ms));
                format!("   {:<26}", cell(*f1, rate))
            })
            .collect();
        let line = format!(
            "  {:<20}{:<26}{theirs}",
            format!("{} ({})", r.set.as_str(), r.pages.len()),
            cell(Some(r.f1), r.rate)
        );
        println!("{}", line.trim_end());
    }
}
