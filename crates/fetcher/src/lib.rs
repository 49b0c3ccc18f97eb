//! newsriver's fetcher: polls feeds with conditional GET and fetches article pages,
//! politely (per-host concurrency and spacing), with retries, time and size limits, and
//! charset detection.

mod charset;
mod feed;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use futures::StreamExt;
use reqwest::header::{
    HeaderMap, CONTENT_TYPE, ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED, RETRY_AFTER,
};
use reqwest::StatusCode;
use tokio::sync::Semaphore;
use tokio::time::Instant;
use url::Url;

pub use charset::{charset_from_content_type, decode};
pub use feed::{parse_feed, parse_opml, FeedItem, ParsedFeed};

#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum FetchError {
    #[error("invalid URL {url}: {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error("HTTP {status} from {url}")]
    Status {
        url: String,
        status: u16,
        retry_after: Option<Duration>,
    },
    #[error("timed out fetching {url}")]
    Timeout { url: String },
    #[error("{url}: body exceeds the {limit}-byte limit")]
    TooLarge { url: String, limit: usize },
    #[error("network error fetching {url}: {reason}")]
    Network { url: String, reason: String },
    #[error("{url} is not a parseable feed: {reason}")]
    Feed { url: String, reason: String },
    #[error("OPML: {0}")]
    Opml(String),
}

impl FetchError {
    /// Worth another attempt later (the server or network may recover).
    pub fn is_transient(&self) -> bool {
        match self {
            FetchError::Status { status, .. } => *status == 429 || *status == 408 || *status >= 500,
            FetchError::Timeout { .. } | FetchError::Network { .. } => true,
            _ => false,
        }
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            FetchError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// Fetcher settings; see `config/newsriver.toml` for what each means and its default.
#[derive(Debug, Clone)]
pub struct FetchConfig {
    pub user_agent: String,
    pub connect_timeout: Duration,
    pub timeout: Duration,
    pub max_body_bytes: usize,
    pub max_redirects: usize,
    pub per_host_concurrency: usize,
    pub per_host_delay: Duration,
    /// Attempts after the first for transient failures, within one fetch.
    pub retries: usize,
    pub retry_base_delay: Duration,
    /// Longest Retry-After honoured inside one fetch; longer ones fail the attempt.
    pub max_retry_after: Duration,
}

impl Default for FetchConfig {
    fn default() -> Self {
        Self {
            user_agent: format!("newsriver/{}", env!("CARGO_PKG_VERSION")),
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(30),
            max_body_bytes: 10 * 1024 * 1024,
            max_redirects: 5,
            per_host_concurrency: 2,
            per_host_delay: Duration::from_millis(1000),
            retries: 2,
            retry_base_delay: Duration::from_millis(500),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

/// A fetched article page, decoded to text.
#[derive(Debug, Clone)]
pub struct Page {
    /// URL after redirects.
    pub final_url: String,
    pub html: String,
    pub encoding: &'static str,
}

/// Conditional-GET validators remembered between polls.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum FeedPoll {
    NotModified,
    Fetched {
        feed: ParsedFeed,
        validators: Validators,
        /// URL after redirects, when it changed.
        final_url: String,
    },
}

struct HostGate {
    permits: Semaphore,
    next_start: tokio::sync::Mutex<Instant>,
}

struct Response {
    final_url: String,
    headers: HeaderMap,
    status: StatusCode,
    body: Vec<u8>,
}

pub struct Fetcher {
    client: reqwest::Client,
    config: FetchConfig,
    hosts: Mutex<HashMap<String, Arc<HostGate>>>,
}

impl Fetcher {
    pub fn new(config: FetchConfig) -> Result<Fetcher, FetchError> {
        let client = reqwest::Client::builder()
            .user_agent(config.user_agent.clone())
            .connect_timeout(config.connect_timeout)
            .timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::limited(config.max_redirects))
            .gzip(true)
            .brotli(true)
            .deflate(true)
            .build()
            .map_err(|e| FetchError::Network {
                url: String::new(),
                reason: format!("cannot build HTTP client: {e}"),
            })?;
        Ok(Fetcher {
            client,
            config,
            hosts: Mutex::new(HashMap::new()),
        })
    }

    fn gate(&self, host: &str) -> Arc<HostGate> {
        let mut hosts = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
        hosts
            .entry(host.to_string())
            .or_insert_with(|| {
                Arc::new(HostGate {
                    permits: Semaphore::new(self.config.per_host_concurrency.max(1)),
                    next_start: tokio::sync::Mutex::new(Instant::now()),
                })
            })
            .clone()
    }

    /// One GET, respecting the host's concurrency limit and spacing.
    async fn get_once(&self, url: &Url, headers: HeaderMap) -> Result<Response, FetchError> {
        let u = url.to_string();
        let gate = self.gate(url.host_str().unwrap_or_default());
        let _permit = gate
            .permits
            .acquire()
            .await
            .map_err(|_| FetchError::Network {
                url: u.clone(),
                reason: "fetcher shut down".into(),
            })?;
        {
            let mut next = gate.next_start.lock().await;
            tokio::time::sleep_until(*next).await;
            *next = Instant::now() + self.config.per_host_delay;
        }
        let map_err = |e: reqwest::Error| {
            if e.is_timeout() {
                FetchError::Timeout { url: u.clone() }
            } else {
                FetchError::Network {
                    url: u.clone(),
                    reason: error_chain(&e),
                }
            }
        };
        let resp = self
            .client
            .get(url.clone())
            .headers(headers)
            .send()
            .await
            .map_err(map_err)?;
        let status = resp.status();
        let final_url = resp.url().to_string();
        let headers = resp.headers().clone();
        if status == StatusCode::NOT_MODIFIED {
            return Ok(Response {
                final_url,
                headers,
                status,
                body: Vec::new(),
            });
        }
        if !status.is_success() {
            return Err(FetchError::Status {
                url: u.clone(),
                status: status.as_u16(),
                retry_after: parse_retry_after(&headers),
            });
        }
        let limit = self.config.max_body_bytes;
        if resp
            .content_length()
            .map(|l| l as usize > limit)
            .unwrap_or(false)
        {
            return Err(FetchError::TooLarge {
                url: u.clone(),
                limit,
            });
        }
        // Counted after decompression: a small gzip bomb stops at the limit too.
        let mut body = Vec::new();
        let mut stream = resp.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(map_err)?;
            if body.len() + chunk.len() > limit {
                return Err(FetchError::TooLarge {
                    url: u.clone(),
                    limit,
                });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Response {
            final_url,
            headers,
            status,
            body,
        })
    }

    /// GET with retries and exponential backoff (with jitter) on transient failures;
    /// a Retry-After up to `max_retry_after` replaces the computed delay.
    async fn get(&self, url: &str, headers: HeaderMap) -> Result<Response, FetchError> {
        let parsed = parse_http_url(url)?;
        let backoff = ExponentialBuilder::default()
            .with_min_delay(self.config.retry_base_delay)
            .with_max_times(self.config.retries)
            .with_jitter();
        let max_after = self.config.max_retry_after;
        (|| self.get_once(&parsed, headers.clone()))
            .retry(backoff)
            .when(|e: &FetchError| {
                e.is_transient() && e.retry_after().map(|d| d <= max_after).unwrap_or(true)
            })
            .adjust(|e, dur| e.retry_after().or(dur))
            .notify(|e, dur| tracing::debug!(error = %e, retry_in = ?dur, "retrying"))
            .await
    }

    /// Fetches and decodes an article page.
    pub async fn fetch_page(&self, url: &str) -> Result<Page, FetchError> {
        let resp = self.get(url, HeaderMap::new()).await?;
        let content_type = resp.headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok());
        let (html, enc) = decode(&resp.body, content_type);
        Ok(Page {
            final_url: resp.final_url,
            html,
            encoding: enc.name(),
        })
    }

    /// Polls a feed with conditional GET.
    pub async fn poll_feed(
        &self,
        url: &str,
        validators: &Validators,
    ) -> Result<FeedPoll, FetchError> {
        let mut headers = HeaderMap::new();
        if let Some(v) = validators.etag.as_deref().and_then(|v| v.parse().ok()) {
            headers.insert(IF_NONE_MATCH, v);
        }
        if let Some(v) = validators
            .last_modified
            .as_deref()
            .and_then(|v| v.parse().ok())
        {
            headers.insert(IF_MODIFIED_SINCE, v);
        }
        let resp = self.get(url, headers).await?;
        if resp.status == StatusCode::NOT_MODIFIED {
            return Ok(FeedPoll::NotModified);
        }
        let header = |name| {
            resp.headers
                .get(name)
                .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
                .map(str::to_string)
        };
        let feed = parse_feed(&resp.body, &resp.final_url)?;
        Ok(FeedPoll::Fetched {
            feed,
            validators: Validators {
                etag: header(ETAG),
                last_modified: header(LAST_MODIFIED),
            },
            final_url: resp.final_url,
        })
    }
}

/// Only absolute http(s) URLs are fetched.
pub fn parse_http_url(url: &str) -> Result<Url, FetchError> {
    let parsed = Url::parse(url.trim()).map_err(|e| FetchError::InvalidUrl {
        url: url.to_string(),
        reason: e.to_string(),
    })?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(FetchError::InvalidUrl {
            url: url.to_string(),
            reason: "only http and https URLs with a host are fetched".into(),
        });
    }
    Ok(parsed)
}

fn parse_retry_after(headers: &HeaderMap) -> Option<Duration> {
    let v = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    let secs = (when.timestamp() - chrono::Utc::now().timestamp()).max(0);
    Some(Duration::from_secs(secs as u64))
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(inner) = cur {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        cur = inner.source();
    }
    s
}
