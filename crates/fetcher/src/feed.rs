//! Feed parsing (RSS 0.9x/1.0/2.0, Atom, JSON Feed via feed-rs) and OPML subscription lists.

use std::collections::HashSet;
use std::sync::LazyLock;

use feed_rs::parser::{ParseErrorKind, ParseFeedError};
use newsriver_model::ItemHints;
use regex::bytes::Regex;
use url::Url;

pub use crate::feed_date::parse_feed_date;
pub use crate::feed_repair::FeedRepair;
use crate::{charset, feed_repair, FetchError};

/// One entry of a feed, reduced to what the pipeline needs.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedItem {
    /// The article page to fetch, absolute.
    pub url: String,
    /// The feed's own id for the entry (guid, Atom id), or the link when it has none.
    pub guid: String,
    pub hints: ItemHints,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ParsedFeed {
    pub title: Option<String>,
    pub items: Vec<FeedItem>,
    /// RSS `<ttl>` in minutes, when given.
    pub ttl_minutes: Option<u32>,
    /// What the recovery pass had to change to read the feed.
    pub repair: FeedRepair,
}

/// Parses a feed document; relative links resolve against `feed_url`.
pub fn parse_feed(bytes: &[u8], feed_url: &str) -> Result<ParsedFeed, FetchError> {
    parse_feed_with(bytes, feed_url, None)
}

/// Parses a feed document with its HTTP Content-Type (for the charset): decodes it, runs the
/// recovery pass, parses with feed-rs, and reduces the entries (link choice, clean titles,
/// lenient dates).
pub fn parse_feed_with(
    bytes: &[u8],
    feed_url: &str,
    content_type: Option<&str>,
) -> Result<ParsedFeed, FetchError> {
    let mut repair = FeedRepair::default();
    let (text, how) = charset::decode_feed(bytes, content_type);
    if how.repaired {
        repair.note("charset");
    }
    let base = Url::parse(feed_url).ok();
    let is_json = text.trim_start().starts_with('{');
    let (doc, non_permalinks) = if is_json {
        (text, HashSet::new())
    } else {
        let p = feed_repair::prepare(&text, base.as_ref(), &mut repair);
        (p.text, p.non_permalink_guids)
    };
    let parse = |b: &[u8]| {
        feed_rs::parser::Builder::new()
            .base_uri(Some(feed_url))
            .timestamp_parser(parse_feed_date)
            .build()
            .parse(b)
    };
    let mut errors = Vec::new();
    let mut feed = None;
    for attempt in 0..3 {
        let candidate: Option<std::borrow::Cow<[u8]>> = match attempt {
            0 => Some(doc.as_bytes().into()),
            // feed-rs dispatches RSS on the version attribute; feeds in the wild omit it
            // or invent one ("2.0.1", "2"). Read those as RSS 2.0, the superset.
            1 => with_rss_version_2(doc.as_bytes()).map(Into::into),
            // A truncated download keeps its complete entries.
            _ if is_json => None,
            _ => feed_repair::truncate_to_complete(&doc).and_then(|(cut, dropped)| {
                repair.note("truncated");
                repair.dropped_entries += dropped;
                with_rss_version_2(cut.as_bytes())
                    .or(Some(cut.into_bytes()))
                    .map(Into::into)
            }),
        };
        let Some(candidate) = candidate else { continue };
        match parse(&candidate) {
            Ok(f) => {
                feed = Some(f);
                break;
            }
            Err(e) => errors.push(e),
        }
    }
    let Some(feed) = feed else {
        // "no root element" from a retry hides the error that says what is wrong.
        let reason = errors
            .iter()
            .find(|e| !matches!(e, ParseFeedError::ParseError(ParseErrorKind::NoFeedRoot)))
            .or(errors.first())
            .map(|e| e.to_string())
            .unwrap_or_else(|| "empty document".into());
        return Err(FetchError::Feed {
            url: feed_url.to_string(),
            reason,
        });
    };
    let mut items = Vec::new();
    let own = Url::parse(feed_url).ok();
    let own = own.as_ref();
    for entry in feed.entries {
        let link = choose_link(&entry.links, base.as_ref(), own).or_else(|| {
            // An RSS guid is a permalink unless it says otherwise.
            (!non_permalinks.contains(entry.id.trim()))
                .then(|| absolute_http(entry.id.trim(), base.as_ref(), own))
                .flatten()
        });
        let Some(url) = link else {
            tracing::debug!(feed = feed_url, id = %entry.id, "feed entry has no link; skipped");
            continue;
        };
        let guid = if entry.id.is_empty() {
            url.clone()
        } else {
            entry.id.clone()
        };
        items.push(FeedItem {
            url,
            guid,
            hints: ItemHints {
                title: entry.title.and_then(|t| clean_title(&t.content)),
                published_at: entry.published.or(entry.updated),
                authors: entry
                    .authors
                    .into_iter()
                    .map(|p| p.name)
                    .filter(|n| !n.is_empty())
                    .collect(),
                // The item's own language only: a channel's <language> is often a CMS's
                // default ("en-us" on sites in other languages), and detection from the
                // article's text is the better guess than that.
                language: entry.language.as_deref().and_then(language_tag),
                keywords: keywords(&entry.categories),
            },
        });
    }
    if repair.repaired() {
        tracing::info!(feed = feed_url, repairs = ?repair.repairs, dropped = repair.dropped_entries, "feed repaired");
    }
    Ok(ParsedFeed {
        title: feed.title.and_then(|t| clean_title(&t.content)),
        items,
        ttl_minutes: feed.ttl,
        repair,
    })
}

/// The article link: an alternate (or rel-less) link, text/html before other types; never
/// enclosure, license, self, edit, related, via or any other relation; never the feed itself.
fn choose_link(
    links: &[feed_rs::model::Link],
    base: Option<&Url>,
    own: Option<&Url>,
) -> Option<String> {
    links
        .iter()
        .filter(|l| {
            l.rel
                .as_deref()
                .map(|r| r.trim().eq_ignore_ascii_case("alternate") || r.trim().is_empty())
                .unwrap_or(true)
        })
        .filter_map(|l| {
            let url = absolute_http(&l.href, base, own)?;
            let html = l.media_type.as_deref().is_none_or(|t| {
                let t = t.trim().to_ascii_lowercase();
                t.is_empty() || t.starts_with("text/html") || t.starts_with("application/xhtml")
            });
            Some((!html, url))
        })
        .min_by_key(|(not_html, _)| *not_html)
        .map(|(_, url)| url)
}

/// `href` as an absolute http(s) URL (schemes compared case-insensitively by the URL
/// parser), unless it is blank or the feed's own URL.
fn absolute_http(href: &str, base: Option<&Url>, own: Option<&Url>) -> Option<String> {
    let href = href.trim();
    if href.is_empty() {
        return None;
    }
    let url = match base {
        Some(b) => b.join(href).ok()?,
        None => Url::parse(href).ok()?,
    };
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return None;
    }
    if own == Some(&url) {
        return None;
    }
    Some(url.to_string())
}

static TAG: LazyLock<regex::Regex> =
    LazyLock::new(|| regex::Regex::new(r"</?[A-Za-z!][^>]*>").expect("tag pattern is valid"));

/// A title as plain text: markup removed, entities decoded (also when escaped twice),
/// whitespace collapsed.
fn clean_title(raw: &str) -> Option<String> {
    let mut t = std::borrow::Cow::Borrowed(raw);
    for _ in 0..2 {
        if t.contains('<') {
            t = TAG.replace_all(&t, " ").into_owned().into();
        }
        if t.contains('&') {
            t = html_escape::decode_html_entities(&t).into_owned().into();
        }
    }
    let t = t.split_whitespace().collect::<Vec<_>>().join(" ");
    (!t.is_empty()).then_some(t)
}

static RSS_ROOT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?s)<rss\b([^>]*?)\s*(/?)>"#).expect("rss root pattern is valid")
});
static VERSION_ATTR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"\s+version\s*=\s*("[^"]*"|'[^']*')"#).expect("version pattern is valid")
});

/// The document with its `<rss>` root's version set to 2.0, if it has an `<rss>` root.
fn with_rss_version_2(bytes: &[u8]) -> Option<Vec<u8>> {
    let head_len = bytes.len().min(4096);
    let m = RSS_ROOT.captures(&bytes[..head_len])?;
    let whole = m.get(0)?;
    let attrs = VERSION_ATTR.replace_all(&m[1], &b""[..]);
    let mut out = Vec::with_capacity(bytes.len() + 16);
    out.extend_from_slice(&bytes[..whole.start()]);
    out.extend_from_slice(b"<rss version=\"2.0\"");
    out.extend_from_slice(&attrs);
    out.extend_from_slice(&m[2]);
    out.push(b'>');
    out.extend_from_slice(&bytes[whole.end()..]);
    Some(out)
}

/// Feed URLs listed in an OPML document (nested outlines included).
pub fn parse_opml(xml: &str) -> Result<Vec<String>, FetchError> {
    let doc = opml::OPML::from_str(xml).map_err(|e| FetchError::Opml(e.to_string()))?;
    let mut out = Vec::new();
    let mut stack: Vec<&opml::Outline> = doc.body.outlines.iter().collect();
    while let Some(o) = stack.pop() {
        if let Some(u) = &o.xml_url {
            out.push(u.clone());
        }
        stack.extend(o.outlines.iter());
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// A feed's or item's declared language, trimmed, with `_` written as BCP 47's `-`
/// (`en_GB` -> `en-GB`); `None` when empty or too long to be a tag.
fn language_tag(raw: &str) -> Option<String> {
    let tag = raw.trim();
    // Feeds in the wild write "en_US" as well as "en-us"; BCP 47 uses hyphens.
    (!tag.is_empty() && tag.len() <= 35).then(|| tag.replace('_', "-"))
}

/// An item's categories as keywords: the label when there is one, else the term; trimmed,
/// without empty or repeated ones, at most 32 (a feed listing hundreds of tags per item
/// is not describing this item).
fn keywords(categories: &[feed_rs::model::Category]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for c in categories {
        let word = c.label.as_deref().unwrap_or(&c.term).trim();
        if word.is_empty() || out.iter().any(|k| k.eq_ignore_ascii_case(word)) {
            continue;
        }
        out.push(word.to_string());
        if out.len() == 32 {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rss_atom_and_json_feed() {
        let rss = br#"<?xml version="1.0"?><rss version="2.0"><channel><title>T</title><ttl>30</ttl>
            <item><title>A</title><link>/a</link><pubDate>Fri, 27 Sep 2024 10:00:00 GMT</pubDate></item>
            <item><title>No guid</title><link>http://x.test/b</link></item></channel></rss>"#;
        let f = parse_feed(rss, "http://x.test/feed").unwrap();
        assert_eq!(f.items.len(), 2);
        assert_eq!(f.items[0].url, "http://x.test/a");
        assert!(f.items[0].hints.published_at.is_some());
        assert_eq!(f.ttl_minutes, Some(30));
        // feed-rs synthesizes a stable id for items without a guid.
        let again = parse_feed(rss, "http://x.test/feed").unwrap();
        assert_eq!(f.items[1].guid, again.items[1].guid);

        let atom = br#"<feed xmlns="http://www.w3.org/2005/Atom"><title>T</title><id>x</id><updated>2024-09-27T10:00:00Z</updated>
            <entry><id>urn:1</id><title>A</title><updated>2024-09-27T10:00:00Z</updated><link rel="alternate" href="http://x.test/a"/></entry></feed>"#;
        assert_eq!(
            parse_feed(atom, "http://x.test/atom").unwrap().items[0].url,
            "http://x.test/a"
        );

        let json = br#"{"version":"https://jsonfeed.org/version/1.1","title":"J","items":[{"id":"1","url":"http://x.test/j","title":"J1"}]}"#;
        assert_eq!(
            parse_feed(json, "http://x.test/j.json").unwrap().items[0].url,
            "http://x.test/j"
        );
    }

    #[test]
    fn categories_are_keywords_and_a_channel_s_language_is_not_an_item_s() {
        let rss = br#"<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>
            <language>en-us</language>
            <item><title>A</title><link>http://x.test/a</link>
              <category>Politics</category><category> politics </category><category>World/Europe</category><category></category></item>
            <item><title>B</title><link>http://x.test/b</link></item></channel></rss>"#;
        let f = parse_feed(rss, "http://x.test/feed").unwrap();
        assert_eq!(f.items[0].hints.keywords, ["Politics", "World/Europe"]);
        assert!(f.items[1].hints.keywords.is_empty());
        assert!(f.items.iter().all(|i| i.hints.language.is_none()));
        // Atom: a category's label before its term.
        let atom = br#"<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en"><title>T</title><id>x</id><updated>2024-09-27T10:00:00Z</updated>
            <entry><id>urn:1</id><title>A</title><updated>2024-09-27T10:00:00Z</updated><link rel="alternate" href="http://x.test/a"/>
              <category term="pol" label="Politique"/><category term="eu"/></entry></feed>"#;
        let f = parse_feed(atom, "http://x.test/atom").unwrap();
        assert_eq!(f.items[0].hints.keywords, ["Politique", "eu"]);
        assert_eq!(language_tag(" en_GB "), Some("en-GB".into()));
        assert_eq!(language_tag(""), None);
    }

    #[test]
    fn odd_or_missing_versions_parse_leniently() {
        for doc in [
            &br#"<rss><channel><title>No version</title><item><link>http://x.test/1</link></item></channel></rss>"#[..],
            br#"<rss version="2.0.1-draft"><channel><title>Odd</title><item><link>http://x.test/1</link></item></channel></rss>"#,
            br#"<rss version="0.91"><channel><title>Old</title><item><title>t</title><link>http://x.test/1</link></item></channel></rss>"#,
            br#"<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"><channel><title>RSS 1.0</title></channel><item><title>t</title><link>http://x.test/1</link></item></rdf:RDF>"#,
        ] {
            let f = parse_feed(doc, "http://x.test/feed").unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(f.items.len(), 1, "{}", String::from_utf8_lossy(doc));
            assert_eq!(f.items[0].url, "http://x.test/1");
        }
    }

    #[test]
    fn broken_feed_is_an_error() {
        assert!(matches!(
            parse_feed(b"<html>not a feed", "http://x"),
            Err(FetchError::Feed { .. })
        ));
    }

    #[test]
    fn repair_is_reported() {
        let truncated = b"<rss version=\"2.0\"><channel><title>T</title><item><link>http://x.test/1</link></item><item><link>http://x.test/2";
        let f = parse_feed(truncated, "http://x.test/feed").unwrap();
        assert_eq!(f.items.len(), 1);
        assert!(f.repair.repaired());
        assert_eq!(f.repair.dropped_entries, 1);
        let clean = br#"<rss version="2.0"><channel><title>T</title><item><link>http://x.test/1</link></item></channel></rss>"#;
        assert!(!parse_feed(clean, "http://x.test/feed")
            .unwrap()
            .repair
            .repaired());
    }

    #[test]
    fn opml_outlines() {
        let xml = r#"<opml version="2.0"><head><title>s</title></head><body>
            <outline text="news"><outline text="a" type="rss" xmlUrl="http://a.test/rss"/></outline>
            <outline text="b" type="rss" xmlUrl="http://b.test/atom"/></body></opml>"#;
        assert_eq!(
            parse_opml(xml).unwrap(),
            vec!["http://a.test/rss", "http://b.test/atom"]
        );
    }
}
