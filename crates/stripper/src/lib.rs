//! newsriver's stripper: article HTML in, clean main text and metadata out.
//!
//! ```
//! let html = r#"<html lang="en"><head><title>Rain - Daily</title></head><body>
//!   <nav><a href="/">Home</a></nav>
//!   <article><h1>Rain</h1><p>It rained all day in the valley, and the river rose by two metres overnight.</p>
//!   <p>Farmers moved their animals to higher ground, officials said on Friday.</p></article>
//!   <div class="comments"><h3>Leave a Reply</h3></div></body></html>"#;
//! let article = newsriver_stripper::extract(html, Some("https://daily.test/rain")).unwrap();
//! assert!(article.text.contains("river rose"));
//! assert!(!article.text.contains("Leave a Reply"));
//! assert_eq!(article.language.as_deref(), Some("en"));
//! ```

mod blocks;
mod content;
mod depth;
mod features;
mod meta;
mod model;
mod rules;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use scraper::Html;
use serde::Serialize;
use url::Url;

pub use meta::parse_date;
pub use model::{Model, ModelError};

/// Pages larger than this are refused rather than parsed (memory stays bounded).
pub const DEFAULT_MAX_HTML_BYTES: usize = 32 * 1024 * 1024;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StripError {
    #[error("page is {size} bytes, over the {limit}-byte limit")]
    TooLarge { size: usize, limit: usize },
    #[error("input does not look like HTML or text (binary content)")]
    Binary,
}

/// What the stripper found in a page.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Extracted {
    pub title: Option<String>,
    /// Main text: paragraphs separated by a blank line. Empty when the page has no article.
    pub text: String,
    pub authors: Vec<String>,
    pub published_at: Option<DateTime<Utc>>,
    pub modified_at: Option<DateTime<Utc>>,
    /// From rel=canonical or og:url, resolved against the page URL.
    pub canonical_url: Option<String>,
    /// ISO 639-1 code where one exists (ISO 639-3 otherwise).
    pub language: Option<String>,
    /// `language` was detected from the text: the page does not declare one, so a
    /// language the feed or sitemap gives is the better guess.
    #[serde(skip)]
    pub language_detected: bool,
    pub image: Option<String>,
    pub description: Option<String>,
    pub site_name: Option<String>,
    /// The publisher marks the article as not free to read (JSON-LD `isAccessibleForFree`
    /// false, on the article or a part of it, or `article:content_tier` locked): the text
    /// may be only what shows before the wall.
    pub paywalled: bool,
}

/// How blocks are judged article text or not.
#[derive(Debug, Clone, Default)]
pub enum Classifier {
    /// The block classifier shipped in the library.
    #[default]
    Builtin,
    /// Container heuristics alone (readability-style scoring), no learned model.
    Heuristic,
    /// A model of one's own, e.g. one trained without some pages to score on them.
    Custom(Arc<Model>),
}

/// Extraction settings.
#[derive(Debug, Clone)]
pub struct Options {
    pub max_html_bytes: usize,
    pub classifier: Classifier,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            max_html_bytes: DEFAULT_MAX_HTML_BYTES,
            classifier: Classifier::Builtin,
        }
    }
}

impl Classifier {
    fn model(&self) -> Option<Arc<Model>> {
        match self {
            Classifier::Builtin => model::builtin(),
            Classifier::Heuristic => None,
            Classifier::Custom(m) => Some(m.clone()),
        }
    }
}

/// Extracts the article from `html` with default options. `page_url` resolves relative
/// links and supplies a date when the page has none.
pub fn extract(html: &str, page_url: Option<&str>) -> Result<Extracted, StripError> {
    extract_with(html, page_url, &Options::default())
}

pub fn extract_with(
    html: &str,
    page_url: Option<&str>,
    options: &Options,
) -> Result<Extracted, StripError> {
    if html.len() > options.max_html_bytes {
        return Err(StripError::TooLarge {
            size: html.len(),
            limit: options.max_html_bytes,
        });
    }
    if looks_binary(html) {
        return Err(StripError::Binary);
    }
    let page = Page::new(html, page_url);
    let model = options.classifier.model();
    let hints = page.hints();
    let mut paragraphs = content::main_text(&page.lin, &hints, model.as_deref());
    if !page.structured.is_empty() {
        if let Some(fuller) = content::fuller_structured_body(&paragraphs, &page.structured) {
            paragraphs = fuller;
        }
    }
    let md = page.md;
    let text = paragraphs.join("\n\n");
    let language_detected = md.language.is_none();
    let language = md.language.clone().or_else(|| detect_language(&text));
    Ok(Extracted {
        title: md.title,
        text,
        authors: md.authors,
        published_at: md.published_at,
        modified_at: md.modified_at,
        canonical_url: md.canonical_url,
        language,
        language_detected,
        image: md.image,
        description: md.description,
        site_name: md.site_name,
        paywalled: md.paywalled,
    })
}

/// One parsed page and what extraction reads of it.
struct Page {
    doc: Html,
    md: meta::Metadata,
    lin: blocks::Linearized,
    /// Paragraphs of the JSON-LD `articleBody`, if any.
    structured: Vec<String>,
    structured_text: String,
}

impl Page {
    fn new(html: &str, page_url: Option<&str>) -> Page {
        let base = page_url.and_then(|u| Url::parse(u).ok());
        let html = without_nul(html);
        let doc = parse(&depth::flatten_deep_nesting(&html));
        let md = meta::extract(&doc, base.as_ref());
        let lin = blocks::linearize(&doc);
        let structured = md
            .ld_body
            .as_deref()
            .map(content::structured_paragraphs)
            .unwrap_or_default();
        let structured_text = structured.join("\n");
        Page {
            doc,
            md,
            lin,
            structured,
            structured_text,
        }
    }

    fn hints(&self) -> content::PageHints<'_> {
        content::PageHints {
            title: self.md.title.as_deref(),
            description: self.md.description.as_deref(),
            structured_body: (!self.structured_text.is_empty())
                .then_some(self.structured_text.as_str()),
        }
    }
}

/// A developer's view of how the article was chosen on one page (candidates, blocks, their
/// probabilities, what was kept). For debugging the stripper; the format is not stable.
#[doc(hidden)]
pub fn explain(html: &str, page_url: Option<&str>, classifier: &Classifier) -> String {
    let page = Page::new(html, page_url);
    let model = classifier.model();
    content::explain(&page.doc, &page.lin, &page.hints(), model.as_deref())
}

/// Training data for the block classifier: every block's text with its feature row.
#[doc(hidden)]
pub mod training {
    pub use crate::features::{CONTEXT_NAMES, NAMES as FEATURE_NAMES};

    pub struct BlockRow {
        pub text: String,
        pub chars: usize,
        pub features: Vec<f32>,
        /// Page-local numbers of the block's container and the one above (-1: none), for
        /// the second stage's context features.
        pub parent: i64,
        pub grand: i64,
    }

    pub fn rows(html: &str, page_url: Option<&str>) -> Vec<BlockRow> {
        let page = crate::Page::new(html, page_url);
        let hints = page.hints();
        let op = crate::content::opinions(&page.lin);
        let heuristic = crate::content::heuristic_keep(&page.lin, &op, &hints);
        // Element indices are already page-local numbers.
        let number = |id: Option<u32>| id.map(i64::from).unwrap_or(-1);
        crate::features::compute(&page.lin, &op, &heuristic, &hints)
            .into_iter()
            .zip(&page.lin.blocks)
            .map(|(row, b)| {
                let (parent, grand) = crate::features::containers(b);
                BlockRow {
                    text: b.text.clone(),
                    chars: b.chars(),
                    features: row.to_vec(),
                    parent: number(parent),
                    grand: number(grand),
                }
            })
            .collect()
    }

    /// The second stage's context rows for `html` given first-stage probabilities, so the
    /// training script can check its own computation of them against this one.
    pub fn context_rows(html: &str, page_url: Option<&str>, p: &[f32]) -> Vec<Vec<f32>> {
        let page = crate::Page::new(html, page_url);
        crate::features::context(&page.lin, p)
            .into_iter()
            .map(|r| r.to_vec())
            .collect()
    }
}

/// The page without NUL characters. Parsers drop them from text after tokenizing, so
/// `<` NUL `a href=...>` would become the text "<a href=...>": markup in the article.
/// Read without them, it is the tag its author meant (or a broken one), never text.
fn without_nul(html: &str) -> std::borrow::Cow<'_, str> {
    if memchr::memchr(0, html.as_bytes()).is_some() {
        std::borrow::Cow::Owned(html.replace('\0', ""))
    } else {
        std::borrow::Cow::Borrowed(html)
    }
}

/// Parses as a browser with scripting off would: `<noscript>` content becomes elements.
/// Pages that render their article with JavaScript often carry the same article in a
/// `<noscript>` for crawlers and readers without scripts; with scripting on it is raw text.
fn parse(html: &str) -> Html {
    use html5ever::driver::{parse_document, ParseOpts};
    use html5ever::tendril::TendrilSink;
    use html5ever::tree_builder::TreeBuilderOpts;
    let opts = ParseOpts {
        tree_builder: TreeBuilderOpts {
            scripting_enabled: false,
            ..TreeBuilderOpts::default()
        },
        ..ParseOpts::default()
    };
    parse_document(scraper::HtmlTreeSink::new(Html::new_document()), opts).one(html)
}

/// Control characters are rare in real markup and common in binary files.
fn looks_binary(s: &str) -> bool {
    let sample: Vec<char> = s.chars().take(4096).collect();
    if sample.is_empty() {
        return false;
    }
    let control = sample
        .iter()
        .filter(|c| (c.is_control() && !c.is_whitespace()) || **c == '\u{fffd}')
        .count();
    control * 10 > sample.len()
}

/// Detects the language of plain text, as an ISO 639-1 code where one exists.
pub fn detect_language(text: &str) -> Option<String> {
    let sample: String = text.chars().take(2000).collect();
    let info = whatlang::detect(&sample)?;
    if !info.is_reliable() && sample.chars().count() > 200 {
        return None;
    }
    let code = info.lang().code();
    Some(iso639_1(code).unwrap_or(code).to_string())
}

fn iso639_1(code3: &str) -> Option<&'static str> {
    Some(match code3 {
        "ara" => "ar",
        "eng" => "en",
        "fra" => "fr",
        "deu" => "de",
        "spa" => "es",
        "por" => "pt",
        "ita" => "it",
        "rus" => "ru",
        "cmn" => "zh",
        "jpn" => "ja",
        "kor" => "ko",
        "tur" => "tr",
        "pes" => "fa",
        "urd" => "ur",
        "heb" => "he",
        "hin" => "hi",
        "nld" => "nl",
        "pol" => "pl",
        "ukr" => "uk",
        "ind" => "id",
        "swe" => "sv",
        "dan" => "da",
        "nob" => "no",
        "fin" => "fi",
        "ell" => "el",
        "ces" => "cs",
        "ron" => "ro",
        "hun" => "hu",
        "vie" => "vi",
        "tha" => "th",
        "ben" => "bn",
        "bul" => "bg",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_binary_and_oversized_input() {
        let garbage: String = (0u8..=255).cycle().take(5000).map(char::from).collect();
        assert_eq!(extract(&garbage, None), Err(StripError::Binary));
        let small = Options {
            max_html_bytes: 10,
            ..Options::default()
        };
        assert!(matches!(
            extract_with("<p>hello world</p>", None, &small),
            Err(StripError::TooLarge { .. })
        ));
    }

    #[test]
    fn empty_and_articleless_pages_give_empty_text() {
        assert_eq!(extract("", None).unwrap().text, "");
        let nav_only =
            "<html><body><nav><a href=/>Home</a><a href=/a>About</a></nav></body></html>";
        assert_eq!(extract(nav_only, None).unwrap().text, "");
    }

    #[test]
    fn text_hidden_by_a_framework_class_is_not_text() {
        let para = |n: usize| {
            format!(
                "<p>Paragraph {n} of the report: the council voted on Tuesday to extend the \
                 tram line by four kilometres, a project its members said would cost about \
                 forty million and open in three years, after a long public consultation.</p>"
            )
        };
        let html = format!(
            "<html><head><title>Tram line to grow</title></head><body>\
             <div class=\"article\"><h1>Tram line to grow</h1>{}\
             <p class=\"error hide\">An error has occurred, please try again later.</p>\
             <p><span class=\"screen-reader-text\">Share on Facebook</span></p>\
             <p class=\"d-none\">Thank you, this article has been sent to your friend.</p>\
             <p class=\"lead hidden-xs\">Shown on wide screens: the line's new stations \
             will open one by one from next spring, the first of them by the harbour.</p>\
             {}</div></body></html>",
            (1..=3).map(para).collect::<String>(),
            (4..=6).map(para).collect::<String>(),
        );
        let got = extract(&html, Some("https://city.test/tram")).unwrap();
        assert!(
            got.text.contains("Paragraph 6 of the report"),
            "{}",
            got.text
        );
        for hidden in ["An error has occurred", "Share on Facebook", "Thank you"] {
            assert!(!got.text.contains(hidden), "{hidden}: {}", got.text);
        }
        // A responsive class hides on some screens only: the text is the page's.
        assert!(got.text.contains("Shown on wide screens"), "{}", got.text);
    }

    #[test]
    fn a_section_front_of_linked_headlines_has_no_article() {
        let item = |n: usize| {
            format!(
                "<li><a href=\"/news/{n}.html\">Council votes on the tram line's extension, \
                 part {n}: what the new stations will change for the harbour district</a></li>"
            )
        };
        let html = format!(
            "<html><head><title>Politics | The Courier</title></head><body><nav><a \
             href=\"/\">Home</a></nav><div class=\"section-list\"><h1>Politics</h1><ul>{}</ul>\
             <div class=\"pager\"><a href=\"?page=2\">Next page</a></div></div></body></html>",
            (1..=6).map(item).collect::<String>()
        );
        let got = extract(&html, Some("https://city.test/politics")).unwrap();
        assert_eq!(got.text, "", "a list of links is not an article");
        // One paragraph that says something makes it a page with text.
        let with_text = html.replace(
            "<ul>",
            "<p>The council voted on Tuesday to extend the tram line by four kilometres, a \
             project its members said would cost forty million and open in three years.</p><ul>",
        );
        let got = extract(&with_text, Some("https://city.test/politics")).unwrap();
        assert!(got.text.contains("The council voted"), "{}", got.text);
    }

    #[test]
    fn a_comment_thread_after_the_article_is_not_text() {
        // Readers' comments are long sentences, as the article is; where they sit (in an
        // element named for comments, after the article) is what gives them away.
        let para = |n: usize| {
            format!(
                "<p>Paragraph {n} of the report: the council voted on Tuesday to extend the \
                 tram line by four kilometres, a project its members said would cost about \
                 forty million and open in three years, after a long public consultation.</p>"
            )
        };
        let comment = |who: &str| {
            format!(
                "<div class=\"comment_content\"><b>{who}</b><div class=\"content\">I have \
                 lived next to the old line for twenty years and I honestly think that this \
                 extension is a waste of money, because the buses already do the job. Nobody \
                 asked the people who live along the route what they wanted before the council \
                 decided it, and the consultation was held in August when half of us were away. \
                 The last works closed the street for a year, the shops suffered, and the \
                 council promised then that it would never happen again.</div></div>"
            )
        };
        let html = format!(
            "<html><head><title>Tram line to grow</title></head><body>\
             <div class=\"article\"><h1>Tram line to grow</h1><div class=\"content\">{}</div></div>\
             <div class=\"thread\">{}</div></body></html>",
            (1..=5).map(para).collect::<String>(),
            ["Ann", "Bob", "Cid", "Dee"].map(comment).concat()
        );
        let got = extract(&html, Some("https://city.test/tram")).unwrap();
        assert!(
            got.text.contains("Paragraph 1 of the report"),
            "{}",
            got.text
        );
        assert!(
            got.text.contains("Paragraph 5 of the report"),
            "{}",
            got.text
        );
        assert!(
            !got.text.contains("lived next to the old line"),
            "{}",
            got.text
        );
    }

    #[test]
    fn a_gallery_set_into_the_article_is_not_text() {
        // A slideshow of other news placed between the article's paragraphs: each slide is
        // a headline and a captioned paragraph, prose to the classifier. It sits in the
        // article's span but outside its container, in a widget named for a gallery.
        let para = |n: usize| {
            format!(
                "<p>Paragraph {n} of the report: the council voted on Tuesday to extend the \
                 tram line by four kilometres, a project its members said would cost about \
                 forty million and open in three years, after a long public consultation.</p>"
            )
        };
        let slide = |n: usize| {
            format!(
                "<li><h2>{n}/6 Markets slide</h2><p>Shares in the region's largest retailer \
                 fell by a fifth on Monday, after the company warned that sales over the \
                 winter would be lower than it had forecast, and its chief executive said \
                 that the weak pound and rising wages were both to blame.</p>\
                 <p class=\"credits\">Agency photo</p></li>"
            )
        };
        let html = format!(
            "<html><head><title>Tram line to grow</title></head><body>\
             <div class=\"article\"><h1>Tram line to grow</h1>\
             <div class=\"content\">{}</div>\
             <div class=\"widget gallery\"><h2>Business in pictures</h2><ul>{}</ul></div>\
             <div class=\"content\">{}</div></div></body></html>",
            (1..=3).map(para).collect::<String>(),
            (1..=6).map(slide).collect::<String>(),
            (4..=8).map(para).collect::<String>(),
        );
        let got = extract(&html, Some("https://city.test/tram")).unwrap();
        assert!(
            got.text.contains("Paragraph 1 of the report"),
            "{}",
            got.text
        );
        assert!(
            got.text.contains("Paragraph 8 of the report"),
            "{}",
            got.text
        );
        assert!(!got.text.contains("largest retailer"), "{}", got.text);
    }

    #[test]
    fn a_mathml_formula_stays_in_its_sentence() {
        let para = |n: usize| {
            format!(
                "<p>Paragraph {n} of the lesson: the council's engineers explained how the \
                 new tram timetable was computed from the passenger counts of last year.</p>"
            )
        };
        let html = format!(
            "<html><body><article><h1>Quadratics</h1>{}<p>When <math><mi>a</mi><mo>≠</mo>\
             <mn>0</mn></math>, the equation <math><semantics><mrow><mi>a</mi><msup><mi>x</mi>\
             <mn>2</mn></msup><mo>=</mo><mn>0</mn></mrow><annotation encoding=\"application/x-tex\">\
             a x^{{2}} = 0</annotation></semantics></math> has two solutions, and the council's \
             engineers used it for the timetable.</p>{}</article></body></html>",
            (1..=3).map(para).collect::<String>(),
            (4..=5).map(para).collect::<String>(),
        );
        let got = extract(&html, None).unwrap();
        assert!(
            got.text.contains("When a ≠ 0, the equation a x 2 = 0 has"),
            "{}",
            got.text
        );
        assert!(!got.text.contains("x^"), "{}", got.text);
    }

    #[test]
    fn deep_nesting_does_not_overflow() {
        let depth = 100_000;
        let html = format!(
            "{}<p>deep text that is long enough to count as a paragraph here</p>{}",
            "<div>".repeat(depth),
            "</div>".repeat(depth)
        );
        let out = extract(&html, None).unwrap();
        assert!(out.text.contains("deep text"));
    }

    #[test]
    fn detects_arabic() {
        let text = "قالت الولايات المتحدة والعراق في بيان مشترك يوم الجمعة إن المهمة العسكرية للتحالف ستنتهي";
        assert_eq!(detect_language(text).as_deref(), Some("ar"));
    }
}
