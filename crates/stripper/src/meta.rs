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
static AUTHOR_MARKUP: LazyLock<Selector> = LazyLock::new(|| {
    selector(
        r#"a[rel~="author"], [itemprop~="author"], [class*="byline"], [class*="author"], [id*="byline"], [id*="author"]"#,
    )
});
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
    /// The publisher marks the article as not free to read.
    pub paywalled: bool,
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
        let raw = unwrap_script_text(&raw);
        let parsed = serde_json::from_str::<Value>(raw)
            .or_else(|_| serde_json::from_str::<Value>(&escape_controls_in_strings(raw)));
        if let Ok(v) = parsed {
            if let Some(found) = find(&v) {
                return Some(found.clone());
            }
        }
    }
    None
}

/// The JSON inside a script element, without the `<![CDATA[ ... ]]>` or `<!-- ... -->`
/// wrappers (optionally behind `//`) that XHTML-era templates put around it.
fn unwrap_script_text(raw: &str) -> &str {
    let mut s = raw.trim();
    for (open, close) in [("<![CDATA[", "]]>"), ("<!--", "-->")] {
        let t = s.trim_start_matches("//").trim_start();
        if let Some(rest) = t.strip_prefix(open) {
            s = rest.trim();
            if let Some(body) = s.trim_end().strip_suffix(close) {
                s = body.trim_end().trim_end_matches("//").trim();
            }
        }
    }
    s
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

    md.site_name = get(&["og:site_name", "application-name"])
        .or_else(|| {
            ld.as_ref()
                .and_then(|v| v.get("publisher"))
                .and_then(ld_string)
        })
        .map(|s| collapse(&s));
    let host = page_url.and_then(|u| u.host_str()).map(str::to_string);
    md.title = title(doc, &ld, &get, md.site_name.as_deref(), host.as_deref());

    md.authors = ld_get("author").map(ld_names).unwrap_or_default();
    if md.authors.is_empty() {
        if let Some(a) = get(&[
            "author",
            "article:author",
            "parsely-author",
            "dc.creator",
            "sailthru.author",
            "byl",
        ]) {
            if !a.starts_with("http") {
                md.authors = a.split([',', ';']).filter_map(clean_byline).collect();
            }
        }
    }
    if md.authors.is_empty() {
        md.authors = byline_from_markup(doc);
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
    md.paywalled = ld.as_ref().is_some_and(marked_not_free)
        || get(&["article:content_tier", "og:article:content_tier"])
            .is_some_and(|tier| tier.eq_ignore_ascii_case("locked"));

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

/// The paywall markup search engines ask publishers for: `isAccessibleForFree` false on
/// the article or on one of its parts (`hasPart`, the section behind the wall).
fn marked_not_free(article: &Value) -> bool {
    let not_free = |v: &Value| match v.get("isAccessibleForFree") {
        Some(Value::Bool(free)) => !free,
        Some(Value::String(s)) => {
            matches!(s.trim().to_ascii_lowercase().as_str(), "false" | "no" | "0")
        }
        _ => false,
    };
    let parts = match article.get("hasPart") {
        Some(Value::Array(parts)) => parts.iter().collect(),
        Some(part) => vec![part],
        None => Vec::new(),
    };
    not_free(article) || parts.into_iter().any(not_free)
}

/// The article's headline: the declared one (JSON-LD, OpenGraph, Twitter), else the page's
/// `<h1>` when the `<title>` repeats it or says nothing more, else the `<title>`; without
/// the site name publishers add around it.
fn title(
    doc: &Html,
    ld: &Option<Value>,
    get: &dyn Fn(&[&str]) -> Option<String>,
    site: Option<&str>,
    host: Option<&str>,
) -> Option<String> {
    let declared = ld
        .as_ref()
        .and_then(|v| v.get("headline"))
        .and_then(ld_string)
        .or_else(|| get(&["og:title", "twitter:title", "title", "dc.title"]))
        .map(|t| without_markup(&collapse(&t)))
        .filter(|t| !t.is_empty());
    if let Some(t) = declared {
        return Some(strip_site_name(&t, site, host));
    }
    let html_title = doc
        .select(&TITLE)
        .next()
        .map(|t| without_markup(&collapse(&t.text().collect::<String>())))
        .filter(|t| !t.is_empty());
    let h1s: Vec<String> = doc
        .select(&H1)
        .map(|h| collapse(&h.text().collect::<String>()))
        .filter(|t| !t.is_empty() && t.chars().count() <= 300)
        .take(8)
        .collect();
    let Some(page_title) = html_title else {
        return h1s.into_iter().next();
    };
    let cleaned = strip_site_suffix(&strip_site_name(&page_title, site, host));
    // The h1 the <title> repeats, if any (a site logo is often an h1 too).
    let title_key = normalize(&page_title);
    let repeated = h1s
        .iter()
        .filter(|h| {
            let k = normalize(h);
            !k.is_empty() && (title_key.contains(&k) || k.contains(&normalize(&cleaned)))
        })
        .max_by_key(|h| h.chars().count());
    if let Some(h) = repeated {
        return Some(h.clone());
    }
    // A <title> that is only the site's name says nothing of the article.
    let says_nothing = cleaned.split_whitespace().count() <= 1
        || site.is_some_and(|s| normalize(s) == normalize(&cleaned));
    match h1s.into_iter().next() {
        Some(h) if says_nothing => Some(h),
        _ => Some(cleaned),
    }
}

/// A title as text: publishers escape their headlines twice ("AT&amp;amp;T") or put
/// inline markup in them ("<em>Breaking</em>"), in JSON-LD, meta tags and `<title>`.
fn without_markup(t: &str) -> String {
    static TAG: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"<[A-Za-z/!]").expect("tag pattern is valid"));
    static ENTITY: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"&(#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z]+);").expect("entity pattern is valid")
    });
    if !TAG.is_match(t) && !ENTITY.is_match(t) {
        return t.to_string();
    }
    let once = crate::content::fragment_text(t);
    // An escaping applied twice leaves entities, never tags (a headline about "<div>"
    // keeps its tag as text).
    if ENTITY.is_match(&once) && !once.contains('<') {
        crate::content::fragment_text(&once)
    } else {
        once
    }
}

/// Lowercase letters and digits only, accents removed, for comparing names and titles
/// ("Aktuálně.cz" and the host "aktualne.cz" are one name).
fn normalize(s: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    s.nfd()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

const TITLE_SEPARATORS: &[&str] = &[
    " | ", " - ", " – ", " — ", " :: ", " · ", " « ", " » ", " / ", "_", "｜", " ｜ ",
];

/// Removes the site's name (as `og:site_name` or the host gives it) from either end of a
/// title: "Story - The Paper" -> "Story", "The Paper | Story" -> "Story".
fn strip_site_name(title: &str, site: Option<&str>, host: Option<&str>) -> String {
    let site_key = site.map(normalize).filter(|s| s.len() >= 2);
    // "www.the-paper.co.uk" -> "thepaper"
    let host_key = host.map(|h| {
        let h = h.trim_start_matches("www.");
        normalize(h.split('.').next().unwrap_or(h))
    });
    let is_site = |segment: &str| {
        let k = normalize(segment);
        if k.is_empty() {
            return false;
        }
        site_key
            .as_deref()
            .is_some_and(|s| s == k || (k.len() >= 4 && s.contains(&k)) || k.contains(s))
            || host_key.as_deref().is_some_and(|h| {
                h.len() >= 3 && (h == k || (k.len() >= 4 && h.contains(&k)) || k.contains(h))
            })
    };
    let mut t = title.trim().to_string();
    for _ in 0..3 {
        let mut changed = false;
        for sep in TITLE_SEPARATORS {
            if let Some((head, tail)) = t.rsplit_once(sep) {
                if is_site(tail) && !head.trim().is_empty() {
                    t = head.trim().to_string();
                    changed = true;
                    break;
                }
            }
            if let Some((head, tail)) = t.split_once(sep) {
                if is_site(head) && !tail.trim().is_empty() {
                    t = tail.trim().to_string();
                    changed = true;
                    break;
                }
            }
        }
        if !changed {
            break;
        }
    }
    t
}

/// "By Jane Doe | 3 May 2024" -> "Jane Doe"; rejects labels and sentences.
fn clean_byline(raw: &str) -> Option<String> {
    static PREFIX: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)^\s*(by|from|par|von|por|di|door|av|af|de|autor(in)?|author|written\s+by|posted\s+by|بقلم|كتب|كتبت|作者|记者|記者|撰文|文|автор|авторы)(\s*[:：]\s*|\s+)")
            .expect("byline prefix pattern is valid")
    });
    static TAIL: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)\s*([|,•·–—-]|\bon\b|\bupdated\b|\bpublished\b)?\s*(\d{1,4}[./-]\d{1,2}|\d{1,2}\s+\p{L}+\s+\d{4}|\p{L}+\s+\d{1,2},?\s+\d{4}|\d{1,2}:\d{2}).*$")
            .expect("byline tail pattern is valid")
    });
    let s = collapse(raw);
    let s = PREFIX.replace(&s, "");
    let s = TAIL.replace(&s, "");
    let s = s
        .trim()
        .trim_matches(|c: char| matches!(c, '|' | ',' | '-' | '–' | '—' | ':' | '·'));
    let s = s.trim();
    let words = s.split_whitespace().count();
    let lower = s.to_lowercase();
    let label = matches!(
        lower.as_str(),
        "author" | "authors" | "by" | "follow author" | "about the author" | "staff" | "admin"
    );
    let sentence = s.ends_with(['.', '!', '?']) && words > 4;
    ((1..=8).contains(&words)
        && s.chars().count() <= 60
        && !label
        && !sentence
        && !s.starts_with("http"))
    .then(|| s.to_string())
}

/// Bylines from the markup: `rel=author` links, `itemprop=author`, elements named like a
/// byline; never from inside a comment thread, whose authors are not the article's.
fn byline_from_markup(doc: &Html) -> Vec<String> {
    let in_comments = |el: &scraper::ElementRef| {
        el.ancestors()
            .filter_map(scraper::ElementRef::wrap)
            .any(|a| {
                [a.value().attr("class"), a.value().attr("id")]
                    .into_iter()
                    .flatten()
                    .any(|v| v.to_ascii_lowercase().contains("comment"))
            })
    };
    let mut out: Vec<String> = Vec::new();
    for a in doc.select(&AUTHOR_MARKUP) {
        if in_comments(&a) {
            continue;
        }
        let name = a.select(&ITEMPROP_NAME).next().unwrap_or(a);
        let text = collapse(&name.text().collect::<String>());
        if text.chars().count() > 120 {
            continue;
        }
        if let Some(n) = clean_byline(&text) {
            if !out.iter().any(|o| normalize(o) == normalize(&n)) {
                out.push(n);
            }
        }
        if out.len() >= 3 {
            break;
        }
    }
    // The first element found is the byline; later ones are often author boxes of other
    // articles. Keep several only when they sit together (one byline naming two people).
    out.truncate(1);
    out
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
    fn bylines() {
        for (raw, name) in [
            ("By Jane Doe | May 3, 2024", "Jane Doe"),
            ("Par Sébastien Farcis", "Sébastien Farcis"),
            ("بقلم: محمد علي", "محمد علي"),
            ("作者： 李明", "李明"),
            ("Erin Cunningham", "Erin Cunningham"),
        ] {
            assert_eq!(clean_byline(raw).as_deref(), Some(name), "{raw}");
        }
        for label in [
            "Author",
            "Follow Author",
            "The long sentence that is not a name at all.",
        ] {
            assert_eq!(clean_byline(label), None, "{label}");
        }
    }

    #[test]
    fn site_names_leave_titles() {
        let t = strip_site_name("Story of the day | The Paper", Some("The Paper"), None);
        assert_eq!(t, "Story of the day");
        let t = strip_site_name("Aktuálně.cz - Story here", None, Some("www.aktualne.cz"));
        assert_eq!(t, "Story here");
        let t = strip_site_name("A title - with a dash inside", Some("Other Site"), None);
        assert_eq!(t, "A title - with a dash inside");
    }

    #[test]
    fn paywall_markup() {
        let md = |head: &str| {
            let html = format!("<html><head>{head}</head><body><p>x</p></body></html>");
            extract(&Html::parse_document(&html), None).paywalled
        };
        let ld = |json: &str| format!("<script type=\"application/ld+json\">{json}</script>");
        assert!(md(&ld(
            r#"{"@type":"NewsArticle","headline":"h","isAccessibleForFree":false}"#
        )));
        assert!(md(&ld(
            r#"{"@type":"NewsArticle","headline":"h","isAccessibleForFree":"False"}"#
        )));
        assert!(md(&ld(
            r#"{"@type":"NewsArticle","headline":"h","isAccessibleForFree":true,
                "hasPart":{"@type":"WebPageElement","isAccessibleForFree":"False","cssSelector":".paywall"}}"#
        )));
        assert!(md(
            r#"<meta property="article:content_tier" content="locked">"#
        ));
        // Free, metered (free up to a quota) and unmarked articles are not flagged.
        assert!(!md(&ld(
            r#"{"@type":"NewsArticle","headline":"h","isAccessibleForFree":"True"}"#
        )));
        assert!(!md(
            r#"<meta property="article:content_tier" content="metered">"#
        ));
        assert!(!md("<title>t</title>"));
    }

    #[test]
    fn json_ld_in_cdata() {
        assert_eq!(
            unwrap_script_text("\n <![CDATA[\n {\"a\": 1}\n ]]>\n"),
            "{\"a\": 1}"
        );
        assert_eq!(unwrap_script_text("//<![CDATA[\n{}\n//]]>"), "{}");
        assert_eq!(unwrap_script_text("<!-- {} -->"), "{}");
        assert_eq!(unwrap_script_text(" {} "), "{}");
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
