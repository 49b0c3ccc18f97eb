//! Article metadata: JSON-LD first (publishers maintain it for search engines), then
//! OpenGraph and other meta tags, then the markup itself, then the URL.

use std::collections::HashMap;
use std::sync::LazyLock;

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use regex::Regex;
use scraper::{Html, Selector};
use serde_json::Value;
use url::Url;

fn selector(css: &str) -> Selector {
    // Only called with the literal selectors below, which are valid CSS.
    Selector::parse(css).unwrap_or_else(|_| panic!("invalid built-in selector {css}"))
}

static META: LazyLock<Selector> = LazyLock::new(|| selector("meta"));
static LINK: LazyLock<Selector> = LazyLock::new(|| selector("link[rel][href]"));
static LD_JSON: LazyLock<Selector> =
    LazyLock::new(|| selector(r#"script[type="application/ld+json"]"#));
static TITLE: LazyLock<Selector> = LazyLock::new(|| selector("title"));
static H1: LazyLock<Selector> = LazyLock::new(|| selector("h1"));
static HTML: LazyLock<Selector> = LazyLock::new(|| selector("html"));
static TIME: LazyLock<Selector> = LazyLock::new(|| selector("time[datetime]"));
static AUTHOR_MARKUP: LazyLock<Selector> =
    LazyLock::new(|| selector(r#"a[rel~="author"], [itemprop~="author"]"#));
static ITEMPROP_NAME: LazyLock<Selector> = LazyLock::new(|| selector(r#"[itemprop~="name"]"#));

#[derive(Debug, Default, Clone)]
pub(crate) struct Metadata {
    pub title: Option<String>,
    pub authors: Vec<String>,
    pub published_at: Option<DateTime<Utc>>,
    pub modified_at: Option<DateTime<Utc>>,
    pub canonical_url: Option<String>,
    pub language: Option<String>,
    pub image: Option<String>,
    pub description: Option<String>,
    pub site_name: Option<String>,
    /// JSON-LD `articleBody`, as the publisher gave it (plain text or HTML).
    pub ld_body: Option<String>,
}

/// The JSON-LD object describing the article, if the page has one.
fn json_ld_article(doc: &Html) -> Option<Value> {
    fn find(v: &Value) -> Option<&Value> {
        match v {
            Value::Array(items) => items.iter().find_map(find),
            Value::Object(map) => {
                let is_article = match map.get("@type") {
                    Some(Value::String(t)) => is_article_type(t),
                    Some(Value::Array(ts)) => ts
                        .iter()
                        .any(|t| t.as_str().map(is_article_type).unwrap_or(false)),
                    _ => false,
                };
                if is_article {
                    return Some(v);
                }
                map.get("@graph").and_then(find)
            }
            _ => None,
        }
    }
    fn is_article_type(t: &str) -> bool {
        t.ends_with("Article")
            || matches!(
                t,
                "BlogPosting" | "NewsArticle" | "Report" | "LiveBlogPosting"
            )
    }
    for script in doc.select(&LD_JSON) {
        let raw: String = script.text().collect();
        let parsed = serde_json::from_str::<Value>(raw.trim())
            .or_else(|_| serde_json::from_str::<Value>(&escape_controls_in_strings(raw.trim())));
        if let Ok(v) = parsed {
            if let Some(found) = find(&v) {
                return Some(found.clone());
            }
        }
    }
    None
}

/// Publishers often emit raw newlines and tabs inside JSON-LD strings, which JSON forbids;
/// escape them so the data is not lost.
fn escape_controls_in_strings(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len() + 64);
    let mut in_string = false;
    let mut escaped = false;
    for c in raw.chars() {
        if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            } else if c.is_control() {
                match c {
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    '\t' => out.push_str("\\t"),
                    _ => {}
                }
                continue;
            }
        } else if c == '"' {
            in_string = true;
        }
        out.push(c);
    }
    out
}

fn ld_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
        Value::Array(items) => items.iter().find_map(ld_string),
        Value::Object(map) => map
            .get("name")
            .or_else(|| map.get("url"))
            .or_else(|| map.get("@id"))
            .and_then(ld_string),
        _ => None,
    }
}

fn ld_names(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.trim().to_string()],
        Value::Array(items) => items.iter().flat_map(ld_names).collect(),
        Value::Object(map) => map.get("name").map(ld_names).unwrap_or_default(),
        _ => Vec::new(),
    }
}

// Each field is filled from its own fallback chain; one struct literal would bury them.
#[allow(clippy::field_reassign_with_default)]
pub(crate) fn extract(doc: &Html, page_url: Option<&Url>) -> Metadata {
    let mut meta: HashMap<String, String> = HashMap::new();
    for m in doc.select(&META) {
        let el = m.value();
        let key = el
            .attr("property")
            .or_else(|| el.attr("name"))
            .or_else(|| el.attr("itemprop"))
            .or_else(|| el.attr("http-equiv"));
        if let (Some(key), Some(content)) = (key, el.attr("content")) {
            let content = content.trim();
            if !content.is_empty() {
                meta.entry(key.to_ascii_lowercase())
                    .or_insert_with(|| content.to_string());
            }
        }
    }
    let get = |keys: &[&str]| keys.iter().find_map(|k| meta.get(*k).cloned());
    let ld = json_ld_article(doc);
    let ld_get = |key: &str| ld.as_ref().and_then(|v| v.get(key));

    let mut md = Metadata::default();

    md.title = ld_get("headline")
        .and_then(ld_string)
        .or_else(|| get(&["og:title", "twitter:title"]))
        .or_else(|| {
            doc.select(&H1)
                .map(|h| collapse(&h.text().collect::<String>()))
                .find(|t| !t.is_empty())
        })
        .or_else(|| {
            doc.select(&TITLE)
                .next()
                .map(|t| strip_site_suffix(&collapse(&t.text().collect::<String>())))
        })
        .map(|t| collapse(&t))
        .filter(|t| !t.is_empty());

    md.authors = ld_get("author").map(ld_names).unwrap_or_default();
    if md.authors.is_empty() {
        if let Some(a) = get(&[
            "author",
            "article:author",
            "parsely-author",
            "dc.creator",
            "sailthru.author",
        ]) {
            if !a.starts_with("http") {
                md.authors = a.split([',', ';']).map(|s| s.trim().to_string()).collect();
            }
        }
    }
    if md.authors.is_empty() {
        md.authors = doc
            .select(&AUTHOR_MARKUP)
            .map(|a| {
                let name = a.select(&ITEMPROP_NAME).next().unwrap_or(a);
                collapse(&name.text().collect::<String>())
            })
            .filter(|a| !a.is_empty() && a.chars().count() < 80)
            .collect();
    }
    md.authors.retain(|a| !a.is_empty());
    md.authors.dedup();

    md.published_at = ld_get("datePublished")
        .and_then(ld_string)
        .and_then(|s| parse_date(&s))
        .or_else(|| {
            get(&[
                "article:published_time",
                "og:published_time",
                "datepublished",
                "pubdate",
                "publishdate",
                "publish-date",
                "date",
                "dc.date",
                "dc.date.issued",
                "dcterms.created",
                "dcterms.date",
                "dcterms.issued",
                "sailthru.date",
                "parsely-pub-date",
                "article.published",
            ])
            .and_then(|s| parse_date(&s))
        })
        .or_else(|| {
            doc.select(&TIME)
                .find_map(|t| t.value().attr("datetime").and_then(parse_date))
        })
        .or_else(|| page_url.and_then(date_from_url));

    md.modified_at = ld_get("dateModified")
        .and_then(ld_string)
        .and_then(|s| parse_date(&s))
        .or_else(|| {
            get(&[
                "article:modified_time",
                "og:updated_time",
                "datemodified",
                "last-modified",
            ])
            .and_then(|s| parse_date(&s))
        });

    let mut canonical = None;
    for link in doc.select(&LINK) {
        let el = link.value();
        let rel = el.attr("rel").unwrap_or_default().to_ascii_lowercase();
        if rel.split_whitespace().any(|r| r == "canonical") {
            canonical = el.attr("href").map(str::to_string);
            break;
        }
    }
    md.canonical_url = canonical
        .or_else(|| get(&["og:url"]))
        .and_then(|u| resolve(page_url, &u));

    md.image = get(&[
        "og:image",
        "og:image:url",
        "twitter:image",
        "twitter:image:src",
    ])
    .or_else(|| ld_get("image").and_then(ld_string))
    .and_then(|u| resolve(page_url, &u));

    md.ld_body = ld_get("articleBody")
        .and_then(|v| v.as_str())
        .map(str::to_string)
        .filter(|b| !b.trim().is_empty());
    md.description = get(&["og:description", "description", "twitter:description"]);
    md.site_name = get(&["og:site_name", "application-name"]);

    md.language = doc
        .select(&HTML)
        .next()
        .and_then(|h| {
            h.value()
                .attr("lang")
                .or_else(|| h.value().attr("xml:lang"))
        })
        .map(str::to_string)
        .or_else(|| get(&["content-language", "og:locale", "language", "dc.language"]))
        .and_then(|l| normalize_lang_tag(&l));
    md
}

fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// "Story title - Site Name" -> "Story title", when the suffix is clearly shorter.
fn strip_site_suffix(title: &str) -> String {
    for sep in [" | ", " - ", " – ", " — ", " :: ", " « "] {
        if let Some(pos) = title.rfind(sep) {
            let (head, tail) = title.split_at(pos);
            if head.chars().count() > tail.chars().count() {
                return head.trim().to_string();
            }
        }
    }
    title.to_string()
}

fn resolve(base: Option<&Url>, href: &str) -> Option<String> {
    let href = href.trim();
    match base {
        Some(b) => b.join(href).ok().map(|u| u.to_string()),
        None => Url::parse(href).ok().map(|u| u.to_string()),
    }
}

/// `en-US` -> `en`, `ar_EG` -> `ar`; rejects junk.
pub(crate) fn normalize_lang_tag(tag: &str) -> Option<String> {
    let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
    let ok = (2..=3).contains(&primary.len()) && primary.chars().all(|c| c.is_ascii_lowercase());
    ok.then_some(primary)
}

static URL_DATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"/((?:19|20)\d{2})[/-](0?[1-9]|1[0-2])[/-](0?[1-9]|[12]\d|3[01])(?:/|-|$)")
        .expect("URL date pattern is valid")
});

fn date_from_url(url: &Url) -> Option<DateTime<Utc>> {
    let caps = URL_DATE.captures(url.path())?;
    let y = caps[1].parse().ok()?;
    let m = caps[2].parse().ok()?;
    let d = caps[3].parse().ok()?;
    let date = NaiveDate::from_ymd_opt(y, m, d)?;
    Some(Utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0)?))
}

/// Parses the date formats publishers put in metadata.
pub fn parse_date(raw: &str) -> Option<DateTime<Utc>> {
    let s = raw.trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Some(d.with_timezone(&Utc));
    }
    if let Ok(d) = DateTime::parse_from_rfc2822(s) {
        return Some(d.with_timezone(&Utc));
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f%z",
        "%Y-%m-%dT%H:%M%z",
        "%Y-%m-%d %H:%M:%S%.f%z",
    ] {
        if let Ok(d) = DateTime::parse_from_str(s, fmt) {
            return Some(d.with_timezone(&Utc));
        }
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(d) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(Utc.from_utc_datetime(&d));
        }
    }
    let date_part: String = s.chars().take(10).collect();
    for fmt in ["%Y-%m-%d", "%Y/%m/%d", "%Y%m%d"] {
        if let Ok(d) = NaiveDate::parse_from_str(&date_part, fmt) {
            return Some(Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0)?));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_date_formats() {
        for s in [
            "2024-09-27T10:00:00Z",
            "2024-09-27T10:00:00+03:00",
            "2024-09-27T10:00:00+0300",
            "Fri, 27 Sep 2024 10:00:00 GMT",
            "2024-09-27 10:00:00",
            "2024-09-27",
        ] {
            let d = parse_date(s).unwrap_or_else(|| panic!("{s}"));
            assert_eq!(d.format("%Y-%m-%d").to_string(), "2024-09-27", "{s}");
        }
        assert!(parse_date("yesterday").is_none());
    }

    #[test]
    fn title_suffix() {
        assert_eq!(
            strip_site_suffix("US and Iraq agree - The Paper"),
            "US and Iraq agree"
        );
        assert_eq!(
            strip_site_suffix("Short | A much longer site name here"),
            "Short | A much longer site name here"
        );
    }

    #[test]
    fn json_ld_with_raw_newlines() {
        let raw = "{\"articleBody\": \"line one\nline two\", \"x\": 1}";
        let v: Value = serde_json::from_str(&escape_controls_in_strings(raw)).unwrap();
        assert_eq!(v["articleBody"], "line one\nline two");
    }

    #[test]
    fn url_dates() {
        let u = Url::parse("https://x.test/2024/09/27/story").unwrap();
        assert_eq!(
            date_from_url(&u).unwrap().format("%F").to_string(),
            "2024-09-27"
        );
    }
}
