//! Feed parsing (RSS 0.9x/1.0/2.0, Atom, JSON Feed via feed-rs) and OPML subscription lists.

use std::sync::LazyLock;

use newsriver_model::ItemHints;
use regex::bytes::Regex;
use url::Url;

use crate::FetchError;

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
}

/// Parses a feed document; relative links resolve against `feed_url`.
pub fn parse_feed(bytes: &[u8], feed_url: &str) -> Result<ParsedFeed, FetchError> {
    let parse = |b: &[u8]| {
        feed_rs::parser::Builder::new()
            .base_uri(Some(feed_url))
            .build()
            .parse(b)
    };
    let feed = match parse(bytes) {
        Ok(feed) => feed,
        // feed-rs dispatches RSS on the version attribute; feeds in the wild omit it or
        // invent one ("2.0.1", "2"). Read those as RSS 2.0, the superset of the others.
        Err(first) => match with_rss_version_2(bytes) {
            Some(fixed) => parse(&fixed).map_err(|_| first),
            None => Err(first),
        }
        .map_err(|e| FetchError::Feed {
            url: feed_url.to_string(),
            reason: e.to_string(),
        })?,
    };
    let base = Url::parse(feed_url).ok();
    let mut items = Vec::new();
    for entry in feed.entries {
        let link = entry
            .links
            .iter()
            .find(|l| matches!(l.rel.as_deref(), None | Some("alternate")))
            .or_else(|| entry.links.first())
            .map(|l| l.href.clone())
            // RSS items with only a permalink guid.
            .or_else(|| entry.id.starts_with("http").then(|| entry.id.clone()));
        let Some(link) = link else {
            tracing::debug!(feed = feed_url, id = %entry.id, "feed entry has no link; skipped");
            continue;
        };
        let url = match &base {
            Some(b) => b.join(link.trim()).map(|u| u.to_string()).unwrap_or(link),
            None => link,
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
                title: entry
                    .title
                    .map(|t| t.content.trim().to_string())
                    .filter(|t| !t.is_empty()),
                published_at: entry.published.or(entry.updated),
                authors: entry
                    .authors
                    .into_iter()
                    .map(|p| p.name)
                    .filter(|n| !n.is_empty())
                    .collect(),
            },
        });
    }
    Ok(ParsedFeed {
        title: feed.title.map(|t| t.content.trim().to_string()),
        items,
        ttl_minutes: feed.ttl,
    })
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
