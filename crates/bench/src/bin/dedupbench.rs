//! Dedup benchmark, one thread: throughput of fingerprint + lookup + insert for 5 KB
//! articles (AEB vocabulary, and Arabic from the seed pages), near-duplicate recall on
//! real article texts (the AEB ground truth) with known edits, MinHash against SimHash on
//! the same pairs, and the index's memory and lookup time at a million articles.
//!
//!     cargo run --release -p newsriver-bench --bin dedupbench -- [--data DIR] [--docs N]
//!         [--index-size N] [--stories N]

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Parser;
use newsriver_dedup::{jaccard, DedupConfig, Deduper, Fingerprint, NoStore};

#[derive(Parser)]
#[command(about = "Throughput and near-duplicate accuracy of newsriver-dedup")]
struct Args {
    #[arg(long, default_value = "../shared/eval/aeb")]
    data: PathBuf,
    /// Arabic pages whose words make the second throughput run.
    #[arg(long, default_value = "../shared/seeds")]
    seeds: PathBuf,
    /// Synthetic 5 KB articles for the throughput run.
    #[arg(long, default_value_t = 100_000)]
    docs: usize,
    #[arg(long, default_value_t = 0.8)]
    threshold: f64,
    /// Instead of the other measurements, fill an index with this many synthetic 1 KB
    /// articles and report RSS and lookup times along the way (a process of its own, so
    /// that RSS counts nothing else).
    #[arg(long, default_value_t = 0)]
    index_size: usize,
    /// With --index-size: keep only the newest this many articles (expiring as the
    /// daemon does, a tenth of the window at a time), to show memory following the
    /// window rather than everything ever inserted. 0 keeps all.
    #[arg(long, default_value_t = 0)]
    window: usize,
    /// Instead of the other measurements, store this many 5 KB articles in a state
    /// database as the daemon does, report its size, and time near-duplicate lookups
    /// verified on shingle sets read back from it.
    #[arg(long, default_value_t = 0)]
    store_size: usize,
    /// With --store-size: articles per transaction (the daemon records up to 512).
    #[arg(long, default_value_t = 512)]
    store_batch: usize,
    /// Instead of the other measurements, run the whole dedup stage (fingerprint, lookup,
    /// insert, story assignment) over this many 1 KB articles spread over the 72-hour
    /// story window, for the AEB vocabulary, the Arabic seed vocabulary and a 200-word
    /// one (templated news); per-article median and p99 in the first and last tenth.
    #[arg(long, default_value_t = 0)]
    stories: usize,
    /// Instead of the other measurements, assign this many templated reports (the
    /// e2ebench pages) to stories, with nothing else in the process, and report the
    /// story state's RSS per article and per story along the way.
    #[arg(long, default_value_t = 0)]
    story_memory: usize,
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
    if args.story_memory > 0 {
        story_memory(args.story_memory);
        return Ok(());
    }
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
    let mut vocabulary: Vec<&str> = corpus.clone();
    vocabulary.sort_unstable();
    vocabulary.dedup();
    if args.index_size > 0 {
        drop(truth);
        big_index(&vocabulary, &args, &mut rng);
        return Ok(());
    }
    if args.store_size > 0 {
        return store_verification(&vocabulary, &args, &mut rng);
    }
    if args.stories > 0 {
        let seed_words = seed_vocabulary(&args.seeds);
        let arabic: Vec<&str> = seed_words.iter().map(String::as_str).collect();
        // The 200 most frequent words of the AEB texts: what templated reports share.
        let mut freq: HashMap<&str, usize> = HashMap::new();
        for w in &corpus {
            *freq.entry(w).or_default() += 1;
        }
        let mut common: Vec<(&str, usize)> = freq.into_iter().collect();
        common.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let small: Vec<&str> = common.iter().take(200).map(|(w, _)| *w).collect();
        for (label, vocab) in [
            ("200-word vocabulary", &small),
            ("AEB vocabulary", &vocabulary),
            ("Arabic seed vocabulary", &arabic),
        ] {
            if vocab.is_empty() {
                println!("dedup stage with stories, {label}: skipped (no words)");
                continue;
            }
            stage_with_stories(label, &args, |_| {
                (
                    random_text(vocab, 60, 60, &mut rng),
                    random_text(vocab, 1024, 60, &mut rng),
                )
            });
        }
        // Whole sentences repeat across these (templates with slots): every article shares
        // MinHash bands and story terms with thousands of others.
        stage_with_stories("templated reports (e2ebench pages)", &args, |i| {
            let (title, paragraphs) = newsriver_bench::reports::report(i);
            (title, paragraphs.join("\n\n"))
        });
        return Ok(());
    }

    // Throughput: synthetic 5 KB articles of words drawn from the corpus vocabulary, in
    // paragraphs of about 60 words, so that no two share much text.
    let non_ascii = vocabulary.iter().filter(|w| !w.is_ascii()).count();
    println!(
        "vocabulary: {} distinct words from the AEB texts, {:.0}% with non-ASCII characters",
        vocabulary.len(),
        100.0 * non_ascii as f64 / vocabulary.len() as f64
    );
    let docs = synthetic_docs(&vocabulary, args.docs, &mut rng);
    throughput("AEB vocabulary", &docs, &args);
    let seed_words = seed_vocabulary(&args.seeds);
    if seed_words.is_empty() {
        println!(
            "(no seed pages at {}: Arabic run skipped)",
            args.seeds.display()
        );
    } else {
        let words: Vec<&str> = seed_words.iter().map(String::as_str).collect();
        let arabic = synthetic_docs(&words, args.docs / 2, &mut rng);
        throughput(
            &format!("Arabic, {} distinct words of the seed pages", words.len()),
            &arabic,
            &args,
        );
    }

    // Near-duplicate accuracy on real texts. The map stands in for the state store.
    let mut index = Deduper::new(DedupConfig {
        near_threshold: args.threshold,
        recent_shingles: 0,
    });
    let mut stored: HashMap<String, Vec<u32>> = HashMap::new();
    let originals: Vec<Fingerprint> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| Fingerprint::new(&format!("https://orig.test/{i}"), t))
        .collect();
    for (i, fp) in originals.iter().enumerate() {
        let id = format!("doc{i}");
        index.insert(&id, &id, fp);
        stored.insert(id, fp.shingles.clone());
    }
    let vocab = &vocabulary;
    println!(
        "near-duplicates: {} real article texts (>= 150 words) indexed, threshold {}; each variant queried under a new URL",
        texts.len(),
        args.threshold
    );
    println!(
        "  {:<34} {:>8} {:>9} {:>7} {:>8} {:>8} {:>9} {:>9} {:>9}",
        "variant",
        "recall",
        "wrong id",
        "missed",
        "mean J",
        format!("J>={}", args.threshold),
        "SimH<=3",
        "SimH med",
        "SimH p90"
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
    let sim_originals: Vec<u64> = texts.iter().map(|t| simhash(t)).collect();
    let (mut total_right, mut total_wrong) = (0usize, 0usize);
    for (label, edit) in edits {
        let (mut right, mut wrong, mut missed) = (0, 0, 0);
        let (mut j_sum, mut j_over, mut sim_close) = (0.0, 0, 0);
        let mut distances = Vec::new();
        for (i, text) in texts.iter().enumerate() {
            let variant = edit(text, vocab, &mut rng);
            let fp = Fingerprint::new(&format!("https://copy.test/{i}"), &variant);
            let j = jaccard(&fp.shingles, &originals[i].shingles);
            j_sum += j;
            j_over += usize::from(j >= args.threshold);
            let d = (simhash(&variant) ^ sim_originals[i]).count_ones();
            sim_close += usize::from(d <= 3);
            distances.push(d);
            match index.find(&fp, &mut stored) {
                Some(m) if m.id == format!("doc{i}") => right += 1,
                Some(_) => wrong += 1,
                None => missed += 1,
            }
        }
        distances.sort_unstable();
        total_right += right;
        total_wrong += wrong;
        let n = texts.len() as f64;
        println!(
            "  {label:<34} {:>8.3} {:>9} {:>7} {:>8.3} {:>8.3} {:>9.3} {:>9} {:>9}",
            right as f64 / n,
            wrong,
            missed,
            j_sum / n,
            j_over as f64 / n,
            sim_close as f64 / n,
            distances[distances.len() / 2],
            distances[distances.len() * 9 / 10]
        );
    }
    println!(
        "  (recall: the index found the original; J>=: share of variants whose exact Jaccard \
         reaches the threshold, what a perfect index would find; SimH: 64-bit SimHash over the \
         same shingles, share within Hamming distance 3, median and 90th percentile distance)"
    );
    // SimHash between different articles: how close do unrelated texts come?
    let mut pair_distances = Vec::new();
    for i in 0..sim_originals.len() {
        for j in i + 1..sim_originals.len() {
            pair_distances.push((sim_originals[i] ^ sim_originals[j]).count_ones());
        }
    }
    pair_distances.sort_unstable();
    let pct = |p: f64| pair_distances[((pair_distances.len() - 1) as f64 * p) as usize];
    println!(
        "  SimHash distance between different articles ({} pairs): min {}, 1st percentile {}, median {}",
        pair_distances.len(),
        pair_distances[0],
        pct(0.01),
        pct(0.5)
    );
    let signed = docs.len().min(5_000);
    let t = Instant::now();
    let mut sink = 0u64;
    for d in docs.iter().take(signed) {
        sink ^= simhash(d);
    }
    let simhash_us = t.elapsed().as_secs_f64() * 1e6 / signed as f64;
    let t = Instant::now();
    for d in docs.iter().take(signed) {
        sink ^= Fingerprint::new("https://x.test/", d).shingles.len() as u64;
    }
    println!(
        "  signing a 5 KB article: SimHash {:.1} us, newsriver fingerprint (MinHash + exact hash + shingle set) {:.1} us [{}]",
        simhash_us,
        t.elapsed().as_secs_f64() * 1e6 / signed as f64,
        sink % 2
    );
    // Different articles must not match: every text against an index of all the others.
    let mut false_pos = 0;
    for (i, original) in originals.iter().enumerate() {
        let mut others = Deduper::new(DedupConfig {
            near_threshold: args.threshold,
            ..DedupConfig::default()
        });
        for (j, fp) in originals.iter().enumerate().filter(|(j, _)| *j != i) {
            let id = format!("doc{j}");
            others.insert(&id, &id, fp);
        }
        let query = Fingerprint {
            canonical_url: "https://q.test/".to_string(),
            ..original.clone()
        };
        false_pos += usize::from(others.find(&query, &mut NoStore).is_some());
    }
    println!(
        "  different articles matched ({} texts, each against all the others): {false_pos}; precision over all rows {:.3}",
        texts.len(),
        total_right as f64 / (total_right + total_wrong + false_pos).max(1) as f64
    );

    Ok(())
}

/// At least `bytes` of words drawn from `vocabulary`, a line break after every
/// `paragraph_words` of them (`usize::MAX`: one paragraph).
fn random_text(vocabulary: &[&str], bytes: usize, paragraph_words: usize, rng: &mut Rng) -> String {
    let mut s = String::with_capacity(bytes + 100);
    let mut words = 0;
    while s.len() < bytes {
        s.push_str(vocabulary[rng.below(vocabulary.len())]);
        words += 1;
        s.push(if words % paragraph_words == 0 {
            '\n'
        } else {
            ' '
        });
    }
    s
}

/// 5 KB articles in paragraphs of 60 words.
fn synthetic_docs(vocabulary: &[&str], n: usize, rng: &mut Rng) -> Vec<String> {
    (0..n)
        .map(|_| random_text(vocabulary, 5 * 1024, 60, rng))
        .collect()
}

/// Median, 99th percentile and maximum of `times`.
fn spread(times: &mut [f64]) -> (f64, f64, f64) {
    times.sort_by(f64::total_cmp);
    (
        times[times.len() / 2],
        times[times.len() * 99 / 100],
        times[times.len() - 1],
    )
}

/// Distinct words of the seed pages that contain Arabic letters.
fn seed_vocabulary(dir: &std::path::Path) -> Vec<String> {
    let mut words: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .flat_map(|t| {
            t.split_whitespace()
                .filter(|w| w.chars().any(|c| ('\u{0600}'..='\u{06FF}').contains(&c)))
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect();
    words.sort_unstable();
    words.dedup();
    words
}

/// Fingerprint + lookup + insert of every doc into one index, as the dedup stage does.
/// The dedup stage as the daemon runs it, stories included, over `args.stories` articles
/// generated on the fly (`article(i)` gives title and text) and spread over the story
/// window (so all of them are active).
fn stage_with_stories(
    label: &str,
    args: &Args,
    mut article: impl FnMut(usize) -> (String, String),
) {
    let n = args.stories;
    let config = newsriver_dedup::StoryConfig::default();
    let window = config.window_secs;
    let mut stories = newsriver_dedup::StoryIndex::new(config);
    let mut deduper = Deduper::new(DedupConfig {
        near_threshold: args.threshold,
        ..DedupConfig::default()
    });
    let tenth = (n / 10).max(1);
    let (mut first, mut last) = (Vec::with_capacity(tenth), Vec::with_capacity(tenth));
    let mut busy = 0.0f64;
    let start = 1_700_000_000i64;
    let (mut duplicates, mut bytes) = (0usize, 0usize);
    for i in 0..n {
        let (title, text) = article(i);
        bytes += text.len();
        let at = start + (i as i64 * window) / n as i64;
        let url = format!("https://site{}.test/article/{i}", i % 500);
        let t = Instant::now();
        let (fp, lead) = Fingerprint::with_story_lead(&url, &text);
        if deduper.find(&fp, &mut NoStore).is_some() {
            duplicates += 1;
        } else {
            let id = format!("{i:032x}");
            deduper.insert(&id, &id, &fp);
            std::hint::black_box(stories.assign_lead(&id, &title, &lead, at));
        }
        let us = t.elapsed().as_secs_f64() * 1e6;
        busy += us;
        if i < tenth {
            first.push(us);
        } else if i >= n - tenth {
            last.push(us);
        }
    }
    let (f50, f99, _) = spread(&mut first);
    let (l50, l99, _) = spread(&mut last);
    println!(
        "dedup stage with stories, {label}: {n} articles of {:.0} bytes on average in one 72 h window, {duplicates} near-duplicates, {} stories: {:.0} articles/s; per article median / p99: first tenth {f50:.1} / {f99:.1} us, last tenth {l50:.1} / {l99:.1} us",
        bytes as f64 / n as f64,
        stories.stories(),
        n as f64 / (busy / 1e6),
    );
}

fn throughput(label: &str, docs: &[String], args: &Args) {
    let t = Instant::now();
    let n = docs.len().min(20_000);
    for d in &docs[..n] {
        std::hint::black_box(Fingerprint::new("https://x.test/a", d));
    }
    let sign_us = t.elapsed().as_secs_f64() * 1e6 / n as f64;
    let mut deduper = Deduper::new(DedupConfig {
        near_threshold: args.threshold,
        ..DedupConfig::default()
    });
    let t = Instant::now();
    let mut found = 0usize;
    for (i, d) in docs.iter().enumerate() {
        let url = format!("https://site{}.test/article/{i}", i % 500);
        let fp = Fingerprint::new(&url, d);
        if deduper.find(&fp, &mut NoStore).is_some() {
            found += 1;
        } else {
            let id = format!("{i:032x}");
            deduper.insert(&id, &id, &fp);
        }
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "throughput, {label}: {} articles of 5 KB, fingerprint + lookup + insert: {:.0} articles/s ({:.1} us each, of which fingerprint {:.1} us); {} matched an earlier one",
        docs.len(),
        docs.len() as f64 / secs,
        secs * 1e6 / docs.len() as f64,
        sign_us,
        found
    );
}

/// 64-bit SimHash (Charikar) over the same word shingles the fingerprint uses: the
/// alternative to MinHash that the issue asks to compare with.
fn simhash(text: &str) -> u64 {
    let mut shingler = newsriver_dedup::Shingler::default();
    let mut hashes = Vec::new();
    newsriver_dedup::for_each_token(text, |t| match t {
        newsriver_dedup::Token::Word(w) => shingler.word(w, &mut hashes),
        newsriver_dedup::Token::ParagraphEnd => shingler.paragraph_end(&mut hashes),
    });
    let mut counts = [0i32; 64];
    for h in hashes {
        for (bit, c) in counts.iter_mut().enumerate() {
            *c += if h >> bit & 1 == 1 { 1 } else { -1 };
        }
    }
    counts
        .iter()
        .enumerate()
        .fold(0u64, |acc, (bit, c)| acc | (u64::from(*c > 0) << bit))
}

/// Fills an index with synthetic 1 KB articles; reports RSS and lookup times at
/// checkpoints. The map of shingles stands in for the store, and holds only the
/// articles the probes edit.
/// RSS of a story index filled with `n` templated reports, one a second of story time
/// (all inside the 72-hour window when `n` is at most 259,200).
fn story_memory(n: usize) {
    let before = rss_mb();
    let mut stories = newsriver_dedup::StoryIndex::new(newsriver_dedup::StoryConfig::default());
    let t = Instant::now();
    for i in 0..n {
        let (title, paragraphs) = newsriver_bench::reports::report(i);
        let id = format!("{i:032x}");
        std::hint::black_box(stories.assign(
            &id,
            &title,
            &paragraphs.join("\n\n"),
            1_700_000_000 + i as i64,
        ));
        if [n / 4, n / 2, n * 3 / 4, n].contains(&(i + 1)) {
            let grown = (rss_mb() - before) * 1024.0 * 1024.0;
            println!(
                "story state after {} templated reports, {} stories: RSS +{:.1} MB, {:.0} bytes per article, {:.0} per story ({:.0} articles/s)",
                i + 1,
                stories.stories(),
                grown / 1024.0 / 1024.0,
                grown / (i + 1) as f64,
                grown / stories.stories().max(1) as f64,
                (i + 1) as f64 / t.elapsed().as_secs_f64()
            );
        }
    }
}

fn big_index(vocabulary: &[&str], args: &Args, rng: &mut Rng) {
    let before = rss_mb();
    let mut big = Deduper::new(DedupConfig {
        near_threshold: args.threshold,
        ..DedupConfig::default()
    });
    let mut stored: HashMap<String, Vec<u32>> = HashMap::new();
    let mut kept_texts: Vec<(usize, String)> = Vec::new();
    let t = Instant::now();
    let checkpoints = [
        args.index_size / 4,
        args.index_size / 2,
        args.index_size * 3 / 4,
        args.index_size,
    ];
    let expiry_step = (args.window / 10).max(1);
    for i in 0..args.index_size {
        let text = random_text(vocabulary, 1024, usize::MAX, rng);
        let url = format!("https://site{}.test/{i}", i % 1000);
        let id = format!("{i:032x}");
        let fp = Fingerprint::new(&url, &text);
        // The running number stands in for the time.
        big.insert_at(&id, &id, &fp, i as i64);
        if args.window > 0 && i % expiry_step == 0 && i > args.window {
            big.expire_before((i - args.window) as i64);
        }
        if i % 1000 == 0 {
            stored.insert(id, fp.shingles);
            kept_texts.push((i, text));
        }
        if checkpoints.contains(&(i + 1)) {
            println!(
                "{} articles inserted, {} in the index: RSS {:.0} MB ({:.0} MB before it), {:.0} bytes per indexed article; inserted at {:.0} articles/s",
                i + 1,
                big.len(),
                rss_mb(),
                before,
                (rss_mb() - before) * 1024.0 * 1024.0 / big.len() as f64,
                (i + 1) as f64 / t.elapsed().as_secs_f64()
            );
        }
    }
    // Probe only what the window still holds.
    if args.window > 0 {
        let oldest = args.index_size.saturating_sub(args.window);
        kept_texts.retain(|(i, _)| *i >= oldest);
    }
    // Lookups on the full index: new articles (misses), copies under a new URL (exact
    // text) and 1%-edited copies (near-duplicates, verified through the source).
    let report = |label: &str, probes: Vec<Fingerprint>, stored: &mut HashMap<String, Vec<u32>>| {
        let mut times = Vec::with_capacity(probes.len());
        let mut hits = 0;
        for fp in &probes {
            let t = Instant::now();
            hits += usize::from(big.find(fp, stored).is_some());
            times.push(t.elapsed().as_secs_f64() * 1e6);
        }
        let (median, p99, max) = spread(&mut times);
        println!(
            "  lookup, {label}: median {median:.2} us, p99 {p99:.2} us, max {max:.1} us; {hits} of {} found",
            probes.len()
        );
    };
    let misses: Vec<Fingerprint> = (0..1000)
        .map(|i| {
            let t = random_text(vocabulary, 1024, usize::MAX, rng);
            Fingerprint::new(&format!("https://new.test/{i}"), &t)
        })
        .collect();
    report("new article", misses, &mut stored);
    let copies: Vec<Fingerprint> = kept_texts
        .iter()
        .map(|(i, t)| Fingerprint::new(&format!("https://copy.test/{i}"), t))
        .collect();
    report("same text, other URL", copies, &mut stored);
    let edits: Vec<Fingerprint> = kept_texts
        .iter()
        .map(|(i, t)| {
            Fingerprint::new(
                &format!("https://edit.test/{i}"),
                &replace_words(t, 0.01, vocabulary, rng),
            )
        })
        .collect();
    let reachable = edits
        .iter()
        .zip(&kept_texts)
        .filter(|(fp, (i, _))| {
            stored
                .get(&format!("{i:032x}"))
                .is_some_and(|s| jaccard(&fp.shingles, s) >= args.threshold)
        })
        .count();
    println!(
        "  ({reachable} of the 1%-edited copies are at Jaccard >= {} of their original)",
        args.threshold
    );
    report("1% of words edited", edits, &mut stored);
}

/// The state store as the daemon uses it: articles completed with their fingerprints
/// in transactions of up to 512 (what the completion stage does when they arrive that
/// fast), then near-duplicate lookups whose candidates are verified on sets read from
/// SQLite (no set is held in memory).
fn store_verification(vocabulary: &[&str], args: &Args, rng: &mut Rng) -> Result<()> {
    use newsriver_store::{Completion, Listing, Outcome, Remembered, Store};
    let batch_size = args.store_batch.max(1);
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("state.db");
    let mut store = Store::open(&path)?;
    let mut index = Deduper::new(DedupConfig {
        near_threshold: args.threshold,
        recent_shingles: 0,
    });
    let mut kept: Vec<(usize, String)> = Vec::new();
    let t = Instant::now();
    let mut batch: Vec<(String, Remembered)> = Vec::with_capacity(batch_size);
    let mut store_secs = 0.0;
    for i in 0..args.store_size {
        let text = random_text(vocabulary, 5 * 1024, 60, rng);
        let url = format!("https://site{}.test/{i}", i % 1000);
        let id = format!("{i:032x}");
        let fp = Fingerprint::new(&url, &text);
        index.insert(&id, &id, &fp);
        let remembered = Remembered {
            id: id.clone(),
            story_id: id,
            fingerprint: fp,
            stored_at: 0,
            story_terms: Vec::new(),
            story_at: 0,
        };
        batch.push((url, remembered));
        if batch.len() == batch_size || i + 1 == args.store_size {
            let items: Vec<Completion<'_>> = batch
                .iter()
                .map(|(u, r)| Completion {
                    urls: vec![u.as_str()],
                    outcome: Outcome::Published,
                    article: Some(r),
                    listing: Listing::default(),
                })
                .collect();
            let ts = Instant::now();
            store.queue().complete_all(&items)?;
            store_secs += ts.elapsed().as_secs_f64();
            drop(items);
            batch.clear();
        }
        if i % (args.store_size / 1000).max(1) == 0 {
            kept.push((i, text));
        }
    }
    let secs = t.elapsed().as_secs_f64();
    let size: u64 = std::fs::read_dir(dir.path())?
        .flatten()
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum();
    println!(
        "{} articles of 5 KB fingerprinted, indexed and stored in transactions of {batch_size}: {:.0} articles/s, the store alone {:.0} articles/s; database with WAL {:.0} MB, {:.1} KB per article",
        args.store_size,
        args.store_size as f64 / secs,
        args.store_size as f64 / store_secs,
        size as f64 / 1e6,
        size as f64 / 1024.0 / args.store_size as f64
    );
    let mut times = Vec::new();
    let (mut found, mut reachable) = (0, 0);
    for (i, text) in &kept {
        let fp = Fingerprint::new(
            &format!("https://edit.test/{i}"),
            &replace_words(text, 0.01, vocabulary, rng),
        );
        let original = store
            .memory()
            .shingles(&format!("{i:032x}"))?
            .unwrap_or_default();
        reachable += usize::from(jaccard(&fp.shingles, &original) >= args.threshold);
        let t = Instant::now();
        found += usize::from(index.find(&fp, &mut store).is_some());
        times.push(t.elapsed().as_secs_f64() * 1e6);
    }
    let (median, p99, max) = spread(&mut times);
    println!(
        "  lookup of a 1%-edited copy, verified on the set read from SQLite: median {median:.1} us, p99 {p99:.1} us, max {max:.1} us; {found} of {} found ({reachable} at Jaccard >= {})",
        kept.len(),
        args.threshold
    );
    // A restart: the daemon reads the window back and rebuilds the index from it.
    drop(index);
    drop(store);
    let t = Instant::now();
    let mut store = Store::open(&path)?;
    let rows = store
        .memory()
        .remembered_since(chrono::DateTime::<chrono::Utc>::UNIX_EPOCH)?;
    let mut index = Deduper::new(DedupConfig::default());
    for r in &rows {
        index.insert_at(&r.id, &r.story_id, &r.fingerprint, r.stored_at);
    }
    println!(
        "  restart: {} articles read back and indexed in {:.2} s",
        index.len(),
        t.elapsed().as_secs_f64()
    );
    Ok(())
}
