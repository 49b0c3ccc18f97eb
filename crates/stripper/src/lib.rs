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
mod meta;
mod rules;

use chrono::{DateTime, Utc};
use scraper::Html;
use serde::Serialize;
use url::Url;

pub use meta::parse_date;

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
    pub image: Option<String>,
    pub description: Option<String>,
    pub site_name: Option<String>,
}

/// Extraction settings.
#[derive(Debug, Clone)]
pub struct Options {
    pub max_html_bytes: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            max_html_bytes: DEFAULT_MAX_HTML_BYTES,
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
    let base = page_url.and_then(|u| Url::parse(u).ok());
    let doc = parse(&depth::flatten_deep_nesting(html));
    let md = meta::extract(&doc, base.as_ref());
    let lin = blocks::linearize(&doc);
    let mut paragraphs = content::main_text(&lin, md.title.as_deref());
    if let Some(body) = md.ld_body.as_deref() {
        if let Some(fuller) = content::fuller_structured_body(&paragraphs, body) {
            paragraphs = fuller;
        }
    }
    let text = paragraphs.join("\n\n");
    let language = md.language.clone().or_else(|| detect_language(&text));
    Ok(Extracted {
        title: md.title,
        text,
        authors: md.authors,
        published_at: md.published_at,
        modified_at: md.modified_at,
        canonical_url: md.canonical_url,
        language,
        image: md.image,
        description: md.description,
        site_name: md.site_name,
    })
}

/// A developer's view of how the article was chosen on one page (candidates, blocks, what
/// was kept). For debugging the stripper; the format is not stable.
#[doc(hidden)]
pub fn explain(html: &str) -> String {
    let doc = parse(&depth::flatten_deep_nesting(html));
    let md = meta::extract(&doc, None);
    let lin = blocks::linearize(&doc);
    content::explain(&doc, &lin, md.title.as_deref())
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
        let small = Options { max_html_bytes: 10 };
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
