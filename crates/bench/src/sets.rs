//! The development sets of `../shared/eval` (aeb, readability, trafilatura), loaded and scored
//! exactly as their READMEs say, for any extractor's output: the `eval` binary scores
//! newsriver and trafilatura with this code in one run, and the accuracy tests keep floors.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result};
use serde_json::Value;

use crate::{aggregate, DocScore, Scorer};

/// Which development set a page belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SetName {
    Aeb,
    Readability,
    Trafilatura,
}

impl SetName {
    pub const ALL: [SetName; 3] = [SetName::Aeb, SetName::Readability, SetName::Trafilatura];

    pub fn as_str(self) -> &'static str {
        match self {
            SetName::Aeb => "aeb",
            SetName::Readability => "readability",
            SetName::Trafilatura => "trafilatura",
        }
    }

    pub fn parse(s: &str) -> Option<SetName> {
        SetName::ALL.into_iter().find(|n| n.as_str() == s)
    }

    /// Sets scored page by page with shingles (the snippet set is scored over all snippets).
    pub fn page_scored(self) -> bool {
        !matches!(self, SetName::Trafilatura)
    }
}

/// What a page is scored against.
#[derive(Debug, Clone)]
pub enum Truth {
    /// The whole article text (shingle scoring).
    Text(String),
    /// Snippets the output must contain and must not contain.
    Snippets {
        with: Vec<String>,
        without: Vec<String>,
    },
}

/// Metadata as the readability set records it (`expected-metadata.json`).
#[derive(Debug, Clone, Default)]
pub struct MetaTruth {
    pub title: Option<String>,
    pub byline: Option<String>,
    pub published: Option<String>,
    pub site_name: Option<String>,
    pub language: Option<String>,
}

#[derive(Debug, Clone)]
pub struct EvalPage {
    pub set: SetName,
    pub id: String,
    pub url: String,
    /// The page as stored (already gunzipped): bytes, so charset handling is part of the test.
    pub html: Vec<u8>,
    pub truth: Truth,
    pub meta: Option<MetaTruth>,
}

fn gunzip(path: &Path) -> Result<Vec<u8>> {
    let gz = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_end(&mut out)
        .with_context(|| format!("gunzipping {}", path.display()))?;
    Ok(out)
}

fn read_json(path: &Path) -> Result<Value> {
    let raw = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_slice(&raw).with_context(|| format!("parsing {}", path.display()))
}

fn opt_string(v: &Value) -> Option<String> {
    v.as_str()
        .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|s| !s.is_empty())
}

/// Loads one set from `eval` (the folder holding aeb/, readability/, trafilatura/).
pub fn load(eval: &Path, set: SetName) -> Result<Vec<EvalPage>> {
    let mut pages = Vec::new();
    match set {
        SetName::Aeb => {
            let dir = eval.join("aeb");
            let truth = read_json(&dir.join("ground-truth.json"))?;
            for (id, v) in truth.as_object().context("ground truth is an object")? {
                pages.push(EvalPage {
                    set,
                    id: id.clone(),
                    url: v["url"].as_str().unwrap_or_default().to_string(),
                    html: gunzip(&dir.join("html").join(format!("{id}.html.gz")))?,
                    truth: Truth::Text(v["articleBody"].as_str().unwrap_or_default().to_string()),
                    meta: None,
                });
            }
        }
        SetName::Readability => {
            let dir = eval.join("readability").join("pages");
            for entry in std::fs::read_dir(&dir).with_context(|| format!("{}", dir.display()))? {
                let page_dir = entry?.path();
                let name = page_dir
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or_default()
                    .to_string();
                let source = page_dir.join("source.html.gz");
                if !source.exists() {
                    continue;
                }
                let expected = gunzip(&page_dir.join("expected.html.gz"))?;
                let m = read_json(&page_dir.join("expected-metadata.json")).unwrap_or_default();
                pages.push(EvalPage {
                    set,
                    id: name.clone(),
                    url: format!("http://fakehost/test/{name}.html"),
                    html: gunzip(&source)?,
                    truth: Truth::Text(text_content(&String::from_utf8_lossy(&expected))),
                    meta: Some(MetaTruth {
                        title: opt_string(&m["title"]),
                        byline: opt_string(&m["byline"]),
                        published: opt_string(&m["publishedTime"]),
                        site_name: opt_string(&m["siteName"]),
                        language: opt_string(&m["lang"]),
                    }),
                });
            }
        }
        SetName::Trafilatura => {
            let dir = eval.join("trafilatura");
            let entries = read_json(&dir.join("evaldata.json"))?;
            for (url, v) in entries.as_object().context("evaldata is an object")? {
                let file = v["file"].as_str().unwrap_or_default();
                let path = dir.join("html").join(format!("{file}.gz"));
                if !path.exists() {
                    continue;
                }
                let list = |key: &str| -> Vec<String> {
                    v[key]
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .filter_map(|s| s.as_str().map(collapse_ws))
                                .collect()
                        })
                        .unwrap_or_default()
                };
                pages.push(EvalPage {
                    set,
                    id: url.clone(),
                    url: url.clone(),
                    html: gunzip(&path)?,
                    truth: Truth::Snippets {
                        with: list("with"),
                        without: list("without"),
                    },
                    meta: None,
                });
            }
        }
    }
    pages.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(pages)
}

/// `textContent` of an HTML document: every text node, in order, nothing added.
pub fn text_content(html: &str) -> String {
    let doc = scraper::Html::parse_document(html);
    doc.root_element().text().collect()
}

/// Words as the scorer counts them: matches of the Unicode `\\w+`.
pub fn word_count(text: &str) -> usize {
    static WORD: std::sync::LazyLock<regex::Regex> =
        std::sync::LazyLock::new(|| regex::Regex::new(r"\w+").expect("valid pattern"));
    WORD.find_iter(text).count()
}

pub fn collapse_ws(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// What an extractor returned for one page.
#[derive(Debug, Clone, Default)]
pub struct Output {
    pub text: String,
    pub title: Option<String>,
    pub byline: Option<String>,
    /// As the extractor gives it (RFC 3339 or a bare date).
    pub published: Option<String>,
    pub site_name: Option<String>,
    pub language: Option<String>,
    /// Extraction time, when the extractor's own harness measured it.
    pub ms: Option<f64>,
}

impl Output {
    pub fn words(&self) -> usize {
        self.text.split_whitespace().count()
    }
}

/// Snippet counts of the trafilatura benchmark.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SnippetScore {
    pub tp: usize,
    pub fp: usize,
    pub tn: usize,
    pub fn_: usize,
}

impl SnippetScore {
    pub fn add(&mut self, o: SnippetScore) {
        self.tp += o.tp;
        self.fp += o.fp;
        self.tn += o.tn;
        self.fn_ += o.fn_;
    }
    pub fn precision(&self) -> f64 {
        self.tp as f64 / (self.tp + self.fp).max(1) as f64
    }
    pub fn recall(&self) -> f64 {
        self.tp as f64 / (self.tp + self.fn_).max(1) as f64
    }
    pub fn f1(&self) -> f64 {
        crate::harmonic(self.precision(), self.recall())
    }
    pub fn accuracy(&self) -> f64 {
        (self.tp + self.tn) as f64 / (self.tp + self.tn + self.fp + self.fn_).max(1) as f64
    }
    /// Share of this page's snippets that came out right.
    pub fn page_accuracy(&self) -> f64 {
        self.accuracy()
    }
}

/// Scores one page: title + "\n" + text against the snippets (whitespace collapsed on both
/// sides, as trafilatura's own evaluation trims its output).
pub fn score_snippets(with: &[String], without: &[String], out: &Output) -> SnippetScore {
    let mut full = String::new();
    if let Some(t) = &out.title {
        full.push_str(t);
        full.push('\n');
    }
    full.push_str(&out.text);
    let full = collapse_ws(&full);
    let mut s = SnippetScore::default();
    for w in with {
        if full.contains(w.as_str()) {
            s.tp += 1;
        } else {
            s.fn_ += 1;
        }
    }
    for w in without {
        if full.contains(w.as_str()) {
            s.fp += 1;
        } else {
            s.tn += 1;
        }
    }
    s
}

/// One page's score under its set's rule.
#[derive(Debug, Clone, Copy)]
pub enum PageScore {
    Text(DocScore),
    Snippets(SnippetScore),
}

impl PageScore {
    /// The figure pages are ranked by (F1 for text, snippet accuracy for snippets).
    pub fn rank(&self) -> f64 {
        match self {
            PageScore::Text(d) => d.f1(),
            PageScore::Snippets(s) => s.page_accuracy(),
        }
    }
}

pub fn score_page(scorer: &Scorer, page: &EvalPage, out: &Output) -> PageScore {
    match &page.truth {
        Truth::Text(expected) => PageScore::Text(scorer.score(expected, &out.text)),
        Truth::Snippets { with, without } => {
            PageScore::Snippets(score_snippets(with, without, out))
        }
    }
}

/// A set's figures for one extractor.
#[derive(Debug, Clone, Copy, Default)]
pub struct SetScore {
    pub pages: usize,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// Pages with no words at all.
    pub empty: usize,
    /// Pages whose text F1 is under 0.1 (text-scored sets only).
    pub unusable: usize,
}

pub fn score_set(scores: &[PageScore], outputs: &[&Output]) -> SetScore {
    let empty = outputs.iter().filter(|o| o.words() == 0).count();
    let texts: Vec<DocScore> = scores
        .iter()
        .filter_map(|s| match s {
            PageScore::Text(d) => Some(*d),
            PageScore::Snippets(_) => None,
        })
        .collect();
    if !texts.is_empty() {
        let (precision, recall, f1) = aggregate(&texts);
        return SetScore {
            pages: scores.len(),
            precision,
            recall,
            f1,
            empty,
            unusable: texts.iter().filter(|d| d.f1() < 0.1).count(),
        };
    }
    let mut total = SnippetScore::default();
    for s in scores {
        if let PageScore::Snippets(p) = s {
            total.add(*p);
        }
    }
    SetScore {
        pages: scores.len(),
        precision: total.precision(),
        recall: total.recall(),
        f1: total.f1(),
        empty,
        unusable: 0,
    }
}

/// The readability set's pages with fewer than 30 words of expected text are not scored.
pub fn scored(page: &EvalPage) -> bool {
    match &page.truth {
        Truth::Text(t) => page.set != SetName::Readability || word_count(t) >= 30,
        Truth::Snippets { .. } => true,
    }
}

/// Runs newsriver on a page the way the pipeline does: decode the bytes (no HTTP header
/// here), then strip.
pub fn newsriver_output(page: &EvalPage, options: &newsriver_stripper::Options) -> Output {
    let (html, _) = newsriver_fetcher::decode(&page.html, None);
    match newsriver_stripper::extract_with(&html, Some(&page.url), options) {
        Ok(e) => Output {
            text: e.text,
            title: e.title,
            byline: (!e.authors.is_empty()).then(|| e.authors.join(", ")),
            published: e.published_at.map(|d| d.to_rfc3339()),
            site_name: e.site_name,
            language: e.language,
            ms: None,
        },
        Err(_) => Output::default(),
    }
}

fn load_model(path: &Path) -> Result<newsriver_stripper::Classifier> {
    let json =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let model = newsriver_stripper::Model::from_json(&json)
        .with_context(|| format!("loading {}", path.display()))?;
    Ok(newsriver_stripper::Classifier::Custom(std::sync::Arc::new(
        model,
    )))
}

/// The classifier each page is scored with.
pub enum PageClassifier {
    One(newsriver_stripper::Classifier),
    /// Cross-validation: every page with the fold model that never saw its site.
    Folds {
        models: Vec<newsriver_stripper::Classifier>,
        fold_of: BTreeMap<(SetName, String), usize>,
    },
}

impl PageClassifier {
    /// From a command line: `builtin`, `heuristic`, a model file, or `folds:DIR` (the
    /// site folds of train_blocks.py).
    pub fn parse(arg: &str) -> Result<PageClassifier> {
        use newsriver_stripper::Classifier;
        if let Some(dir) = arg.strip_prefix("folds:") {
            let dir = Path::new(dir);
            let list = std::fs::read_to_string(dir.join("pages.tsv"))
                .with_context(|| format!("reading {}/pages.tsv", dir.display()))?;
            let mut fold_of = BTreeMap::new();
            let mut folds = 0;
            for line in list.lines() {
                let mut parts = line.split('\t');
                let (Some(set), Some(id), Some(k)) = (parts.next(), parts.next(), parts.next())
                else {
                    continue;
                };
                let (Some(set), Ok(k)) = (SetName::parse(set), k.parse::<usize>()) else {
                    continue;
                };
                folds = folds.max(k + 1);
                fold_of.insert((set, id.to_string()), k);
            }
            let models = (0..folds)
                .map(|k| load_model(&dir.join(format!("site-{k}.json"))))
                .collect::<Result<Vec<_>>>()?;
            return Ok(PageClassifier::Folds { models, fold_of });
        }
        Ok(PageClassifier::One(match arg {
            "builtin" => Classifier::Builtin,
            "heuristic" => Classifier::Heuristic,
            path => load_model(Path::new(path))?,
        }))
    }

    /// The classifier for one page (the built-in one for a page no fold lists).
    pub fn for_page(&self, page: &EvalPage) -> newsriver_stripper::Classifier {
        match self {
            PageClassifier::One(c) => c.clone(),
            PageClassifier::Folds { models, fold_of } => fold_of
                .get(&(page.set, page.id.clone()))
                .and_then(|k| models.get(*k))
                .cloned()
                .unwrap_or_default(),
        }
    }
}

/// Reads a peer's outputs (JSON lines with set, id, text, title, byline, published,
/// site_name, language, ms), keyed by (set, id).
pub fn read_peer(path: &Path) -> Result<BTreeMap<(SetName, String), Output>> {
    let raw =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut out = BTreeMap::new();
    for (n, line) in raw.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let v: Value = serde_json::from_str(line)
            .with_context(|| format!("{}:{}: not JSON", path.display(), n + 1))?;
        let Some(set) = v["set"].as_str().and_then(SetName::parse) else {
            continue;
        };
        let s = |k: &str| v[k].as_str().map(str::to_string).filter(|s| !s.is_empty());
        out.insert(
            (set, v["id"].as_str().unwrap_or_default().to_string()),
            Output {
                text: v["text"].as_str().unwrap_or_default().to_string(),
                title: s("title"),
                byline: s("byline"),
                published: s("published"),
                site_name: s("site_name"),
                language: s("language"),
                ms: v["ms"].as_f64(),
            },
        );
    }
    Ok(out)
}

/// Per-field metadata agreement with the readability set's expectations. A field is scored
/// only on pages where the expectation names a value.
#[derive(Debug, Clone, Copy, Default)]
pub struct FieldTally {
    pub right: usize,
    pub scored: usize,
}

/// `title` is the expected title exactly; `headline` also accepts the expected title without
/// a site name the reference kept at either end ("Story | Site", "Story _Section_Site").
pub const META_FIELDS: [&str; 6] = [
    "title",
    "headline",
    "byline",
    "published",
    "site_name",
    "language",
];

/// `ours` is `expected` less a leading or trailing part cut off at a title separator.
fn same_headline(expected: &str, ours: &str) -> bool {
    let (e, o) = (norm_text(expected), norm_text(ours));
    if o.is_empty() {
        return false;
    }
    if e == o {
        return true;
    }
    let separator = |s: &str| {
        s.trim().starts_with([
            '|', '-', '–', '—', '_', '·', ':', '/', '«', '»', '｜', '(', '[',
        ])
    };
    let ends = |s: &str| {
        s.trim()
            .ends_with(['|', '-', '–', '—', '_', '·', ':', '/', '«', '»', '｜'])
    };
    (e.starts_with(&o) && separator(&e[o.len()..]))
        || (e.ends_with(&o) && ends(&e[..e.len() - o.len()]))
}

fn norm_text(s: &str) -> String {
    collapse_ws(s)
        .to_lowercase()
        .trim_matches(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '“' | '”'))
        .to_string()
}

/// Name words of a byline, without the "by"/"par"/"von" that precede names.
fn byline_words(s: &str) -> Vec<String> {
    let mut words: Vec<String> = s
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .filter(|w| {
            !matches!(
                w.as_str(),
                "by" | "par" | "von" | "and" | "und" | "et" | "y"
            )
        })
        .collect();
    words.sort();
    words.dedup();
    words
}

/// The calendar date an expectation names, in its own offset; an output in RFC 3339 is
/// read in that same offset so a UTC instant is not a day off.
fn same_day(expected: &str, got: &str) -> bool {
    let exp_date: String = expected.chars().take(10).collect();
    if got.len() == 10 {
        return got == exp_date;
    }
    let Some(got_dt) = newsriver_stripper::parse_date(got) else {
        return false;
    };
    let offset = chrono::DateTime::parse_from_rfc3339(expected)
        .or_else(|_| chrono::DateTime::parse_from_str(expected, "%Y-%m-%dT%H:%M:%S%.f%z"))
        .map(|d| *d.offset())
        .ok();
    let got_date = match offset {
        Some(off) => got_dt.with_timezone(&off).format("%Y-%m-%d").to_string(),
        None => got_dt.format("%Y-%m-%d").to_string(),
    };
    got_date == exp_date
}

/// Whether one field of `out` agrees with `truth`; `None` when the field is not scored.
pub fn field_right(field: &str, truth: &MetaTruth, out: &Output) -> Option<bool> {
    let (exp, got) = match field {
        "title" | "headline" => (truth.title.as_deref(), out.title.as_deref()),
        "byline" => (truth.byline.as_deref(), out.byline.as_deref()),
        "published" => (truth.published.as_deref(), out.published.as_deref()),
        "site_name" => (truth.site_name.as_deref(), out.site_name.as_deref()),
        "language" => (truth.language.as_deref(), out.language.as_deref()),
        _ => return None,
    };
    let exp = exp?;
    let Some(got) = got else { return Some(false) };
    Some(match field {
        "byline" => {
            let e = byline_words(exp);
            !e.is_empty() && e == byline_words(got)
        }
        "published" => same_day(exp, got),
        "headline" => same_headline(exp, got),
        "language" => {
            let primary = |s: &str| s.split(['-', '_']).next().unwrap_or("").to_lowercase();
            primary(exp) == primary(got)
        }
        _ => norm_text(exp) == norm_text(got),
    })
}

pub fn tally_meta(pairs: &[(&MetaTruth, &Output)]) -> BTreeMap<&'static str, FieldTally> {
    let mut out = BTreeMap::new();
    for field in META_FIELDS {
        let t: &mut FieldTally = out.entry(field).or_default();
        for (truth, o) in pairs {
            if let Some(right) = field_right(field, truth, o) {
                t.scored += 1;
                t.right += usize::from(right);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippets_count_with_and_without() {
        let out = Output {
            title: Some("Headline".into()),
            text: "First   sentence here.\nLast one.".into(),
            ..Output::default()
        };
        let s = score_snippets(
            &[
                "Headline First".into(),
                "sentence here. Last".into(),
                "absent".into(),
            ],
            &["Impressum".into(), "Last one".into()],
            &out,
        );
        assert_eq!((s.tp, s.fn_, s.fp, s.tn), (2, 1, 1, 1));
    }

    #[test]
    fn metadata_fields() {
        let truth = MetaTruth {
            title: Some("A  Headline".into()),
            byline: Some("By Jane Doe and John Roe".into()),
            published: Some("2015-07-24T00:36:09+01:00".into()),
            site_name: None,
            language: Some("en-US".into()),
        };
        let out = Output {
            title: Some("a headline".into()),
            byline: Some("John Roe, Jane Doe".into()),
            // The same instant in UTC falls on the day before.
            published: Some("2015-07-23T23:36:09+00:00".into()),
            language: Some("en".into()),
            ..Output::default()
        };
        for f in ["title", "byline", "published", "language"] {
            assert_eq!(field_right(f, &truth, &out), Some(true), "{f}");
        }
        assert_eq!(field_right("site_name", &truth, &out), None);
        let wrong = Output {
            published: Some("2015-07-25".into()),
            ..Output::default()
        };
        assert_eq!(field_right("published", &truth, &wrong), Some(false));
        assert_eq!(field_right("title", &truth, &wrong), Some(false));
    }

    #[test]
    fn text_content_keeps_every_text_node() {
        assert_eq!(
            text_content("<div><p>One <b>two</b></p>\n<p>three</p></div>"),
            "One two\nthree"
        );
    }
}
