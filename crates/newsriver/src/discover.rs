//! Feed discovery (`newsriver feeds discover URL`, `POST /api/feeds` with
//! `"discover": true`): the feeds a site's page announces with `<link rel="alternate">`
//! (RSS, Atom, JSON Feed), else those at the paths most sites use, else the sitemaps its
//! robots.txt lists. Every candidate is polled once, so only URLs that answer with a feed
//! (or a sitemap) are returned.

use anyhow::{Context as _, Result};
use newsriver_fetcher::{Fetcher, Validators};
use serde::Serialize;
use url::Url;

/// Paths tried when the page announces no feed (WordPress, Ghost, Hugo, Jekyll and the
/// like put theirs at one of these).
const COMMON_PATHS: &[&str] = &[
    "/feed",
    "/rss",
    "/atom.xml",
    "/feed.xml",
    "/rss.xml",
    "/index.xml",
];

/// Link types that announce a feed.
const FEED_TYPES: &[&str] = &[
    "application/rss+xml",
    "application/atom+xml",
    "application/feed+json",
    "application/json",
];

/// At most this many announced links are tried (a page can list one per category).
const MAX_ANNOUNCED: usize = 10;

/// A feed found on a site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Found {
    pub url: String,
    pub title: Option<String>,
    /// `link` (announced by the page), `path` (a common path), `robots` (a sitemap the
    /// site's robots.txt lists, when it has no feed), or `page` (the URL given is a feed
    /// itself).
    pub how: &'static str,
}

/// The feeds of the site at `url`, announced ones first.
pub async fn discover(fetcher: &Fetcher, url: &str) -> Result<Vec<Found>> {
    let base = newsriver_fetcher::parse_http_url(url)?;
    // The URL may be a feed already: then that is the answer.
    if let Ok(poll) = fetcher.poll_feed(url, &Validators::default()).await {
        if let Some(feed) = poll.feed {
            return Ok(vec![Found {
                url: url.trim().to_string(),
                title: feed.title,
                how: "page",
            }]);
        }
    }
    let page = fetcher
        .fetch_page(url)
        .await
        .with_context(|| format!("fetching {url}"))?;
    let page_url = Url::parse(&page.final_url).unwrap_or(base);
    let mut candidates: Vec<(String, &'static str)> = announced(&page.html, &page_url)
        .into_iter()
        .take(MAX_ANNOUNCED)
        .map(|u| (u, "link"))
        .collect();
    if candidates.is_empty() {
        candidates.extend(
            COMMON_PATHS
                .iter()
                .filter_map(|p| page_url.join(p).ok())
                .map(|u| (u.to_string(), "path")),
        );
    }
    let mut found = poll_candidates(fetcher, candidates).await;
    if found.is_empty() {
        // No feed: the sitemaps robots.txt lists are polled like feeds (recognized by
        // their content), so a site with a news sitemap and no feed can be followed.
        match fetcher.robots_sitemaps(page_url.as_str()).await {
            Ok(sitemaps) => {
                let candidates = sitemaps.into_iter().map(|u| (u, "robots")).collect();
                found = poll_candidates(fetcher, candidates).await;
            }
            Err(e) => tracing::debug!(error = %e, "no robots.txt to list sitemaps"),
        }
    }
    Ok(found)
}

/// The candidates that answer with a feed (or a sitemap), polled once each.
async fn poll_candidates(fetcher: &Fetcher, candidates: Vec<(String, &'static str)>) -> Vec<Found> {
    let mut found = Vec::new();
    for (candidate, how) in candidates {
        match fetcher.poll_feed(&candidate, &Validators::default()).await {
            Ok(poll) => {
                if let Some(feed) = poll.feed {
                    found.push(Found {
                        url: candidate,
                        title: feed.title,
                        how,
                    });
                }
            }
            Err(e) => tracing::debug!(candidate, error = %e, "not a feed"),
        }
    }
    found
}

/// The feed URLs a page announces, absolute, in page order, each once.
pub fn announced(html: &str, page_url: &Url) -> Vec<String> {
    let doc = scraper::Html::parse_document(html);
    let Ok(links) = scraper::Selector::parse("link[rel][href]") else {
        return Vec::new();
    };
    let mut urls: Vec<String> = Vec::new();
    for link in doc.select(&links) {
        let el = link.value();
        let rel = el.attr("rel").unwrap_or_default().to_ascii_lowercase();
        if !rel.split_ascii_whitespace().any(|r| r == "alternate") {
            continue;
        }
        let kind = el
            .attr("type")
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        // `type="application/rss+xml; charset=utf-8"` announces a feed too.
        let kind = kind.split(';').next().unwrap_or_default().trim();
        if !FEED_TYPES.contains(&kind) {
            continue;
        }
        let Some(href) = el.attr("href") else {
            continue;
        };
        let Ok(absolute) = page_url.join(href.trim()) else {
            continue;
        };
        if !matches!(absolute.scheme(), "http" | "https") {
            continue;
        }
        let absolute = absolute.to_string();
        if !urls.contains(&absolute) {
            urls.push(absolute);
        }
    }
    urls
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn announced_feeds_are_read_from_alternate_links() {
        let html = r#"<html><head>
            <link rel="stylesheet" href="/style.css">
            <link rel="alternate" type="application/rss+xml" title="RSS" href="/feed/">
            <link rel="alternate" type="application/atom+xml; charset=utf-8" href="https://other.example/atom.xml">
            <link rel="alternate" type="text/html" hreflang="fr" href="/fr/">
            <link rel="Alternate" type="application/feed+json" href="feed.json">
            <link rel="alternate" type="application/rss+xml" href="/feed/">
            <link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">
            </head><body></body></html>"#;
        let page = Url::parse("https://site.example/news/").unwrap();
        assert_eq!(
            announced(html, &page),
            vec![
                "https://site.example/feed/",
                "https://other.example/atom.xml",
                "https://site.example/news/feed.json",
            ]
        );
        assert!(announced("<p>no head</p>", &page).is_empty());
    }
}
