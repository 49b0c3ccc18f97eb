//! Scores the stripper on the three development sets of ../shared/eval (aeb, readability,
//! trafilatura), each as its README says, and, given a peer's outputs (trafilatura's, from
//! `crates/bench/scripts/trafilatura_eval.py`), scores those with the same code in the same
//! run: P/R/F1, empty extractions, the worst pages, metadata per field, and speed.
//!
//!     cargo run --release -p newsriver-bench --bin eval -- [--peer FILE] [--worst N]

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Result};
use clap::Parser;
use newsriver_bench::sets::{self, EvalPage, Output, PageScore, SetName, SetScore, META_FIELDS};
use newsriver_bench::Scorer;

#[derive(Parser)]
#[command(about = "Extraction accuracy on the dev sets, newsriver and a peer side by side")]
struct Args {
    /// Folder holding aeb/, readability/ and trafilatura/.
    #[arg(long, default_value = "../shared/eval")]
    eval: PathBuf,
    /// Comma-separated sets to score.
    #[arg(long, default_value = "aeb,readability,trafilatura")]
    sets: String,
    /// A peer's outputs as JSON lines (see crates/bench/scripts/trafilatura_eval.py).
    #[arg(long)]
    peer: Option<PathBuf>,
    /// Name printed for the peer.
    #[arg(long, default_value = "trafilatura")]
    peer_name: String,
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
    /// Timing repetitions over the AEB pages (median per page); 0 skips timing.
    #[arg(long, default_value_t = 3)]
    repeat: usize,
}

struct Scored<'a> {
    page: &'a EvalPage,
    ours: Output,
    our_score: PageScore,
    peer: Option<&'a Output>,
    peer_score: Option<PageScore>,
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

fn print_row(name: &str, s: &SetScore, starved: Option<usize>) {
    println!(
        "  {name:<12} P {:.4}  R {:.4}  F1 {:.4}   empty {:>3}   F1<0.1 {:>3}{}",
        s.precision,
        s.recall,
        s.f1,
        s.empty,
        s.unusable,
        starved
            .map(|n| format!("   empty where the other has >= 50 words: {n}"))
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
    let peer = match &args.peer {
        Some(p) => Some(sets::read_peer(p)?),
        None => None,
    };
    let scorer = Scorer::new();
    let classifier = sets::PageClassifier::parse(&args.classifier)?;
    let options = |page: &EvalPage| newsriver_stripper::Options {
        classifier: classifier.for_page(page),
        ..newsriver_stripper::Options::default()
    };
    let mut aeb_pages: Vec<EvalPage> = Vec::new();
    let mut peer_aeb_rate: Option<f64> = None;
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
            let p = peer.as_ref().and_then(|m| m.get(&(set, page.id.clone())));
            let peer_score = p.map(|o| sets::score_page(&scorer, page, o));
            rows.push(Scored {
                page,
                ours,
                our_score,
                peer: p,
                peer_score,
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
        let with_peer: Vec<&Scored> = rows.iter().filter(|r| r.peer.is_some()).collect();
        let starved_ours = with_peer
            .iter()
            .filter(|r| r.ours.words() == 0 && r.peer.map(|p| p.words() >= 50).unwrap_or(false))
            .count();
        print_row("newsriver", &our_set, peer.as_ref().map(|_| starved_ours));
        if peer.is_some() {
            if with_peer.len() != rows.len() {
                println!(
                    "  ({} of {} pages have a {} output)",
                    with_peer.len(),
                    rows.len(),
                    args.peer_name
                );
            }
            let ps: Vec<PageScore> = with_peer.iter().filter_map(|r| r.peer_score).collect();
            let po: Vec<&Output> = with_peer.iter().filter_map(|r| r.peer).collect();
            let peer_set = sets::score_set(&ps, &po);
            let starved_peer = with_peer
                .iter()
                .filter(|r| r.peer.map(|p| p.words() == 0).unwrap_or(false) && r.ours.words() >= 50)
                .count();
            print_row(&args.peer_name, &peer_set, Some(starved_peer));
            println!(
                "  F1 difference newsriver - {}: {:+.4}",
                args.peer_name,
                our_set.f1 - peer_set.f1
            );
        }
        if args.worst > 0 {
            let mut ranked: Vec<&Scored> = rows.iter().collect();
            ranked.sort_by(|a, b| a.our_score.rank().total_cmp(&b.our_score.rank()));
            println!(
                "  worst pages (newsriver{}):",
                if peer.is_some() { " / peer" } else { "" }
            );
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
                let peer = r
                    .peer_score
                    .map(|p| format!(" / {:.3}", p.rank()))
                    .unwrap_or_default();
                println!(
                    "    {detail}{peer}  {} words  {}",
                    r.ours.words(),
                    r.page.id
                );
            }
        }
        if set == SetName::Readability {
            print_metadata(&rows, &args.peer_name, peer.is_some(), args.title_misses);
        }
        if set == SetName::Aeb {
            aeb_pages = pages.clone();
            if let Some(m) = &peer {
                let ms: Vec<f64> = pages
                    .iter()
                    .filter_map(|p| m.get(&(set, p.id.clone())).and_then(|o| o.ms))
                    .collect();
                if ms.len() == pages.len() && !ms.is_empty() {
                    let total: f64 = ms.iter().sum();
                    peer_aeb_rate = Some(ms.len() as f64 / (total / 1e3));
                }
            }
        }
    }

    if let Some(path) = &args.scores {
        std::fs::write(path, tsv)?;
    }
    if args.repeat > 0 && !aeb_pages.is_empty() {
        let timing = newsriver_stripper::Options {
            classifier: match &classifier {
                sets::PageClassifier::One(c) => c.clone(),
                sets::PageClassifier::Folds { .. } => Default::default(),
            },
            ..newsriver_stripper::Options::default()
        };
        time_aeb(
            &aeb_pages,
            &timing,
            args.repeat,
            &args.peer_name,
            peer_aeb_rate,
        );
    }
    Ok(())
}

fn print_metadata(rows: &[Scored], peer_name: &str, with_peer: bool, misses: bool) {
    let ours: Vec<_> = rows
        .iter()
        .filter_map(|r| r.page.meta.as_ref().map(|m| (m, &r.ours)))
        .collect();
    let our_tally = sets::tally_meta(&ours);
    let peer_pairs: Vec<_> = rows
        .iter()
        .filter_map(|r| Some((r.page.meta.as_ref()?, r.peer?)))
        .collect();
    let peer_tally = sets::tally_meta(&peer_pairs);
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
        if with_peer {
            let p = peer_tally[field];
            line.push_str(&format!(
                "   {peer_name} {:>3} ({:>5.1}%)",
                p.right,
                pct(p.right, p.scored)
            ));
        }
        println!("{line}");
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

/// Per-page median over `repeat` runs of extraction (from decoded text) and of html5ever's
/// parse alone, one thread.
fn time_aeb(
    pages: &[EvalPage],
    options: &newsriver_stripper::Options,
    repeat: usize,
    peer_name: &str,
    peer_rate: Option<f64>,
) {
    let decoded: Vec<(String, &str)> = pages
        .iter()
        .map(|p| (newsriver_fetcher::decode(&p.html, None).0, p.url.as_str()))
        .collect();
    let mut extract_ms = vec![Vec::with_capacity(repeat); pages.len()];
    let mut parse_ms = vec![Vec::with_capacity(repeat); pages.len()];
    for _ in 0..repeat {
        for (i, (html, url)) in decoded.iter().enumerate() {
            let t = Instant::now();
            let out = newsriver_stripper::extract_with(html, Some(url), options);
            extract_ms[i].push(t.elapsed().as_secs_f64() * 1e3);
            std::hint::black_box(out.ok());
            let t = Instant::now();
            let doc = scraper::Html::parse_document(html);
            parse_ms[i].push(t.elapsed().as_secs_f64() * 1e3);
            std::hint::black_box(doc);
        }
    }
    let medians = |v: &mut [Vec<f64>]| -> Vec<f64> {
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
    let bytes: usize = decoded.iter().map(|(h, _)| h.len()).sum();
    let ours = pages.len() as f64 / (ex_total / 1e3);
    println!(
        "\nspeed on the {} AEB pages ({:.1} MB), one thread, median of {repeat} runs per page",
        pages.len(),
        bytes as f64 / 1e6
    );
    println!(
        "  newsriver extract: {ours:.0} pages/s, median {:.2} ms, p99 {:.2} ms, {:.1} MB/s",
        percentile(&ex, 0.5),
        percentile(&ex, 0.99),
        bytes as f64 / 1e6 / (ex_total / 1e3)
    );
    println!(
        "  html5ever parse only: {:.0} pages/s; extract / parse-only time {:.2}",
        pages.len() as f64 / (pa_total / 1e3),
        ex_total / pa_total
    );
    if let Some(peer) = peer_rate {
        println!(
            "  {peer_name}: {peer:.0} pages/s (one run, its own timer); newsriver is {:.1}x",
            ours / peer
        );
    }
}
