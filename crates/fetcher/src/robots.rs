//! robots.txt for article pages: fetched once per origin, cached for a day, obeyed
//! (texting_robots), with Crawl-delay feeding the host's request spacing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use texting_robots::Robot;
use tokio::time::Instant;
use url::Url;

/// How long a fetched robots.txt is trusted.
const TTL: Duration = Duration::from_secs(24 * 3600);
/// How long an unreachable robots.txt blocks the origin before it is tried again.
const UNAVAILABLE_TTL: Duration = Duration::from_secs(600);

#[derive(Clone)]
pub(crate) enum Rules {
    /// No robots.txt (4xx) or an unparseable one: everything allowed.
    AllowAll,
    Parsed(Arc<Robot>),
    /// 5xx or network failure: RFC 9309 says to assume complete disallow for now.
    Unavailable,
}

struct Entry {
    rules: Rules,
    fetched: Instant,
}

#[derive(Default)]
pub(crate) struct RobotsCache {
    origins: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Option<Entry>>>>>,
}

pub(crate) fn origin(url: &Url) -> String {
    url.origin().ascii_serialization()
}

impl RobotsCache {
    /// The rules for `url`'s origin, calling `fetch` when they are missing or stale.
    pub(crate) async fn rules<F, Fut>(&self, url: &Url, fetch: F) -> Rules
    where
        F: FnOnce(String) -> Fut,
        Fut: std::future::Future<Output = Rules>,
    {
        let key = origin(url);
        let slot = {
            let mut map = self.origins.lock().unwrap_or_else(|p| p.into_inner());
            map.entry(key.clone()).or_default().clone()
        };
        // One fetch per origin at a time; the others wait for its result.
        let mut entry = slot.lock().await;
        let fresh = entry.as_ref().is_some_and(|e| {
            let ttl = if matches!(e.rules, Rules::Unavailable) {
                UNAVAILABLE_TTL
            } else {
                TTL
            };
            e.fetched.elapsed() < ttl
        });
        if !fresh {
            let rules = fetch(format!("{key}/robots.txt")).await;
            *entry = Some(Entry {
                rules,
                fetched: Instant::now(),
            });
        }
        entry
            .as_ref()
            .map(|e| e.rules.clone())
            .unwrap_or(Rules::AllowAll)
    }
}

/// The product token robots.txt groups are matched against: "newsriver/0.1 (+url)" -> "newsriver".
pub(crate) fn agent_token(user_agent: &str) -> String {
    user_agent
        .split(['/', ' '])
        .next()
        .unwrap_or("newsriver")
        .to_string()
}

pub(crate) fn parse(agent: &str, body: &[u8]) -> Rules {
    match Robot::new(agent, body) {
        Ok(robot) => Rules::Parsed(Arc::new(robot)),
        Err(e) => {
            tracing::debug!(error = %e, "unparseable robots.txt treated as allow-all");
            Rules::AllowAll
        }
    }
}

/// Most `Sitemap:` lines taken from one robots.txt.
const MAX_SITEMAPS: usize = 100;

/// The sitemaps a robots.txt lists (`Sitemap:` lines, which belong to no user-agent
/// group: RFC 9309 section 2.2.4), absolute http(s) URLs in file order, each once.
pub(crate) fn sitemaps(body: &[u8]) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for line in String::from_utf8_lossy(body).lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        if !key.trim().eq_ignore_ascii_case("sitemap") {
            continue;
        }
        // A comment may follow; a URL has no space in it.
        let value = value.split_whitespace().next().unwrap_or_default();
        let Ok(url) = url::Url::parse(value) else {
            continue;
        };
        if matches!(url.scheme(), "http" | "https") && !found.iter().any(|f| f == value) {
            found.push(value.to_string());
            if found.len() == MAX_SITEMAPS {
                break;
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sitemap_lines_are_read_whatever_their_case_and_group() {
        let body = b"User-agent: *\nDisallow: /private\n\
            Sitemap: https://a.test/sitemap.xml\n\
            sitemap:https://a.test/news.xml # the news one\n\
            SITEMAP: /relative.xml\nSitemap: ftp://a.test/x.xml\n\
            User-agent: other\nSitemap: https://a.test/sitemap.xml\n";
        assert_eq!(
            sitemaps(body),
            ["https://a.test/sitemap.xml", "https://a.test/news.xml"]
        );
        assert!(sitemaps(b"User-agent: *\nAllow: /\n").is_empty());
    }

    #[test]
    fn agent_token_and_rules() {
        assert_eq!(agent_token("newsriver/0.1 (+https://x)"), "newsriver");
        let Rules::Parsed(robot) = parse(
            "newsriver",
            b"User-agent: *\nDisallow: /private\nCrawl-delay: 2\n",
        ) else {
            panic!("parsed");
        };
        assert!(robot.allowed("https://a.test/news/1"));
        assert!(!robot.allowed("https://a.test/private/1"));
        assert_eq!(robot.delay, Some(2.0));
    }
}
