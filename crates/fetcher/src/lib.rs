//! newsriver's fetcher: polls feeds with conditional GET and fetches article pages,
//! politely (per-host concurrency and spacing), with retries, time and size limits, and
//! charset detection.

mod charset;
mod feed;
mod feed_date;
mod feed_repair;
mod guard;
mod robots;
pub mod sitemap;
pub mod warc;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use futures::StreamExt;
use reqwest::header::{
    HeaderMap, HeaderName, HeaderValue, AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, COOKIE, ETAG,
    IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED, LOCATION, RETRY_AFTER, USER_AGENT,
};
use reqwest::StatusCode;
use tokio::sync::Semaphore;
use tokio::time::Instant;
use url::Url;

pub use charset::{charset_from_content_type, decode};
pub use feed::{
    parse_feed, parse_feed_date, parse_feed_with, parse_opml, FeedItem, FeedRepair, ParsedFeed,
};
pub use guard::is_public;

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
    #[error("{url}: {reason}")]
    Blocked { url: String, reason: String },
    #[error("{url} is disallowed by the site's robots.txt")]
    RobotsDisallowed { url: String },
    #[error("{url}: the site's robots.txt could not be fetched; retrying later")]
    RobotsUnavailable { url: String },
    #[error("{url}: {reason}")]
    InvalidRequest { url: String, reason: String },
    #[error("{url}: more than {limit} redirects")]
    TooManyRedirects { url: String, limit: usize },
}

impl FetchError {
    /// The SSRF guard's refusal, the same whether found before the request or at DNS.
    fn blocked(url: &str) -> FetchError {
        FetchError::Blocked {
            url: url.to_string(),
            reason: "refused to fetch a private, loopback or link-local address \
                     (fetch.allow_private_networks)"
                .into(),
        }
    }

    /// Worth another attempt later (the server or network may recover).
    pub fn is_transient(&self) -> bool {
        match self {
            FetchError::Status { status, .. } => *status == 429 || *status == 408 || *status >= 500,
            FetchError::Timeout { .. }
            | FetchError::Network { .. }
            | FetchError::RobotsUnavailable { .. } => true,
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
    /// Fetch article pages on private, loopback and link-local addresses (intranets,
    /// tests). Off by default: page URLs come from feed content (SSRF).
    pub allow_private_networks: bool,
    /// Fetch and obey robots.txt for article pages.
    pub obey_robots: bool,
    /// Longest robots.txt Crawl-delay honoured.
    pub max_crawl_delay: Duration,
    /// A polled sitemap's entries older than this are not work (news sitemaps list two
    /// days; plain ones list the whole site); `None`: every entry.
    pub sitemap_max_age: Option<Duration>,
    /// How deep sitemap indexes are followed.
    pub sitemap_max_depth: usize,
    /// A polled sitemap takes only entries newer than the feed's last successful poll
    /// ([`Validators::last_success`]) less this much (late indexing, clocks).
    pub sitemap_overlap: Duration,
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
            allow_private_networks: false,
            obey_robots: true,
            max_crawl_delay: Duration::from_secs(30),
            sitemap_max_age: Some(Duration::from_secs(2 * 86_400)),
            sitemap_max_depth: 3,
            sitemap_overlap: Duration::from_secs(3600),
        }
    }
}

/// One feed's own request settings for its polls, beside the fetcher's global ones.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FeedRequest {
    /// Extra request headers (a `User-Agent`, `Cookie` or `Authorization` here wins over
    /// the fields below).
    pub headers: Vec<(String, String)>,
    /// In place of `FetchConfig::user_agent`.
    pub user_agent: Option<String>,
    /// HTTP basic authentication: user name and password.
    pub basic_auth: Option<(String, String)>,
    /// A `Cookie` header value (`name=value; other=value`).
    pub cookie: Option<String>,
    /// An `http://` or `https://` proxy URL (this build has no SOCKS) for this feed's polls, in place of the standard
    /// `HTTP_PROXY`/`HTTPS_PROXY`/`ALL_PROXY`/`NO_PROXY` variables every other request
    /// follows.
    pub proxy: Option<String>,
}

impl FeedRequest {
    /// The headers these settings add to a request, checked: a name or value HTTP does not
    /// allow is an error naming it, not a silently dropped header.
    pub fn headers(&self, url: &str) -> Result<HeaderMap, FetchError> {
        use base64::Engine as _;
        let invalid = |what: &str| FetchError::InvalidRequest {
            url: url.to_string(),
            reason: what.to_string(),
        };
        let value = |v: &str, what: &str| {
            HeaderValue::from_str(v).map_err(|_| invalid(&format!("invalid {what} value")))
        };
        let mut map = HeaderMap::new();
        if let Some(agent) = &self.user_agent {
            map.insert(USER_AGENT, value(agent, "user agent")?);
        }
        if let Some((user, password)) = &self.basic_auth {
            let token =
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
            let mut v = value(&format!("Basic {token}"), "basic auth")?;
            v.set_sensitive(true);
            map.insert(AUTHORIZATION, v);
        }
        if let Some(cookie) = &self.cookie {
            let mut v = value(cookie, "cookie")?;
            v.set_sensitive(true);
            map.insert(COOKIE, v);
        }
        for (name, v) in &self.headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| invalid(&format!("invalid header name {name:?}")))?;
            map.insert(name.clone(), value(v, name.as_str())?);
        }
        Ok(map)
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

/// What a poll remembers of the one before: the conditional-GET validators, and when the
/// feed last answered (a polled sitemap takes only entries newer than that).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    /// The feed's last successful poll; not sent, and not given back by a poll.
    pub last_success: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FeedPoll {
    /// `None` when the server answered 304 Not Modified.
    pub feed: Option<ParsedFeed>,
    pub validators: Validators,
    /// Where the feed now lives when every redirect on the way was permanent (301/308):
    /// poll that URL from now on.
    pub moved_to: Option<String>,
    /// Cache-Control max-age of the response, a lower bound for the next poll.
    pub max_age: Option<Duration>,
}

struct HostGate {
    permits: Semaphore,
    next_start: tokio::sync::Mutex<Instant>,
    /// Spacing between request starts: the configured delay, or robots.txt Crawl-delay.
    spacing: Mutex<Duration>,
}

impl HostGate {
    fn spacing(&self) -> Duration {
        *self.spacing.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn set_spacing(&self, d: Duration) {
        *self.spacing.lock().unwrap_or_else(|p| p.into_inner()) = d;
    }

    /// A 429/503 with Retry-After holds every request to the host, not just the one.
    async fn hold_until(&self, until: Instant) {
        let mut next = self.next_start.lock().await;
        if until > *next {
            *next = until;
        }
    }
}

struct Response {
    final_url: String,
    headers: HeaderMap,
    status: StatusCode,
    body: Vec<u8>,
}

pub struct Fetcher {
    /// Article pages: redirects followed (and checked), SSRF guard unless disabled.
    page_client: reqwest::Client,
    /// Feeds (configured by the operator): redirects handled by hand to notice moves.
    feed_client: reqwest::Client,
    /// Archives streamed whole (`backfill --warc URL`, CC-NEWS): no limit on the whole
    /// response, a gigabyte WARC takes minutes, only on each read; bodies as sent (a
    /// `.warc.gz` is read member by member, not decoded by the client); guarded as pages.
    archive_client: reqwest::Client,
    config: FetchConfig,
    hosts: Mutex<HashMap<String, Arc<HostGate>>>,
    robots: robots::RobotsCache,
    /// Feed clients through a feed's own proxy, by proxy URL (a client holds its
    /// connection pool, so one per proxy rather than one per poll).
    proxied: Mutex<HashMap<String, reqwest::Client>>,
}

impl Fetcher {
    pub fn new(config: FetchConfig) -> Result<Fetcher, FetchError> {
        let build_err = |e: reqwest::Error| FetchError::Network {
            url: String::new(),
            reason: format!("cannot build HTTP client: {e}"),
        };
        let base = || client_builder(&config);
        let guard = !config.allow_private_networks;
        let mut pages = base().redirect(redirect_policy(config.max_redirects, guard));
        let mut archives = reqwest::Client::builder()
            .user_agent(config.user_agent.clone())
            .connect_timeout(config.connect_timeout)
            .read_timeout(config.timeout)
            .redirect(redirect_policy(config.max_redirects, guard));
        if guard {
            pages = pages.dns_resolver(Arc::new(guard::PublicOnlyResolver));
            archives = archives.dns_resolver(Arc::new(guard::PublicOnlyResolver));
        }
        Ok(Fetcher {
            page_client: pages.build().map_err(build_err)?,
            archive_client: archives.build().map_err(build_err)?,
            feed_client: base()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .map_err(build_err)?,
            config,
            hosts: Mutex::new(HashMap::new()),
            robots: robots::RobotsCache::default(),
            proxied: Mutex::new(HashMap::new()),
        })
    }

    /// The feed client for `request`: the shared one, or one through its proxy.
    fn feed_client_for(
        &self,
        url: &str,
        request: &FeedRequest,
    ) -> Result<reqwest::Client, FetchError> {
        let Some(proxy) = request.proxy.as_deref() else {
            return Ok(self.feed_client.clone());
        };
        let mut proxied = self.proxied.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(client) = proxied.get(proxy) {
            return Ok(client.clone());
        }
        let invalid = |e: reqwest::Error| FetchError::InvalidRequest {
            url: url.to_string(),
            reason: format!("proxy {proxy:?}: {e}"),
        };
        let client = client_builder(&self.config)
            .redirect(reqwest::redirect::Policy::none())
            .proxy(reqwest::Proxy::all(proxy).map_err(invalid)?)
            .build()
            .map_err(invalid)?;
        proxied.insert(proxy.to_string(), client.clone());
        Ok(client)
    }

    fn gate(&self, host: &str) -> Arc<HostGate> {
        let mut hosts = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
        hosts
            .entry(host.to_string())
            .or_insert_with(|| {
                Arc::new(HostGate {
                    permits: Semaphore::new(self.config.per_host_concurrency.max(1)),
                    next_start: tokio::sync::Mutex::new(Instant::now()),
                    spacing: Mutex::new(self.config.per_host_delay),
                })
            })
            .clone()
    }

    /// One GET, respecting the host's concurrency limit and spacing. Redirects come back
    /// as responses only from the feed client (the page client follows them).
    async fn get_once(
        &self,
        client: &reqwest::Client,
        url: &Url,
        headers: HeaderMap,
    ) -> Result<Response, FetchError> {
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
            *next = Instant::now() + gate.spacing();
        }
        let map_err = |e: reqwest::Error| {
            let chain = error_chain(&e);
            if chain.contains(guard::BLOCKED_MARKER) {
                FetchError::blocked(&u)
            } else if e.is_redirect() {
                FetchError::TooManyRedirects {
                    url: u.clone(),
                    limit: self.config.max_redirects,
                }
            } else if e.is_timeout() {
                FetchError::Timeout { url: u.clone() }
            } else {
                FetchError::Network {
                    url: u.clone(),
                    reason: chain,
                }
            }
        };
        let resp = client
            .get(url.clone())
            .headers(headers)
            .send()
            .await
            .map_err(map_err)?;
        let status = resp.status();
        let final_url = resp.url().to_string();
        let headers = resp.headers().clone();
        if status == StatusCode::NOT_MODIFIED || status.is_redirection() {
            return Ok(Response {
                final_url,
                headers,
                status,
                body: Vec::new(),
            });
        }
        if !status.is_success() {
            let retry_after = parse_retry_after(&headers);
            if let Some(wait) = retry_after.filter(|_| matches!(status.as_u16(), 429 | 503)) {
                gate.hold_until(Instant::now() + wait.min(self.config.max_retry_after))
                    .await;
            }
            return Err(FetchError::Status {
                url: u.clone(),
                status: status.as_u16(),
                retry_after,
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
    async fn get(
        &self,
        client: &reqwest::Client,
        url: &Url,
        headers: HeaderMap,
    ) -> Result<Response, FetchError> {
        let backoff = ExponentialBuilder::default()
            .with_min_delay(self.config.retry_base_delay)
            .with_max_times(self.config.retries)
            .with_jitter();
        let max_after = self.config.max_retry_after;
        (|| self.get_once(client, url, headers.clone()))
            .retry(backoff)
            .when(|e: &FetchError| {
                e.is_transient() && e.retry_after().map(|d| d <= max_after).unwrap_or(true)
            })
            .adjust(|e, dur| e.retry_after().or(dur))
            .notify(|e, dur| tracing::debug!(error = %e, retry_in = ?dur, "retrying"))
            .await
    }

    /// Fetches and decodes an article page (after checking robots.txt when enabled).
    pub async fn fetch_page(&self, url: &str) -> Result<Page, FetchError> {
        self.fetch_page_with(url, &FeedRequest::default()).await
    }

    /// [`Fetcher::fetch_page`] with the headers, user agent, basic authentication and
    /// cookie of the feed that listed the page (a paywalled site's subscriber cookie). Its
    /// proxy is not used: article pages go through the shared client and its address
    /// guard. The client drops `Authorization` and `Cookie` when a redirect leaves the
    /// host.
    pub async fn fetch_page_with(
        &self,
        url: &str,
        request: &FeedRequest,
    ) -> Result<Page, FetchError> {
        let headers = request.headers(url)?;
        let parsed = parse_http_url(url)?;
        if !self.config.allow_private_networks && guard::literal_host_blocked(&parsed) {
            return Err(FetchError::blocked(url));
        }
        if self.config.obey_robots {
            self.check_robots(&parsed).await?;
        }
        let resp = self.get(&self.page_client, &parsed, headers).await?;
        let content_type = resp.headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok());
        let (html, enc) = decode(&resp.body, content_type);
        Ok(Page {
            final_url: resp.final_url,
            html,
            encoding: enc.name(),
        })
    }

    async fn check_robots(&self, url: &Url) -> Result<(), FetchError> {
        let agent = robots::agent_token(&self.config.user_agent);
        let rules = self
            .robots
            .rules(url, |robots_url| async move {
                let Ok(robots_url) = Url::parse(&robots_url) else {
                    return robots::Rules::AllowAll;
                };
                match self
                    .get_once(&self.page_client, &robots_url, HeaderMap::new())
                    .await
                {
                    Ok(resp) if resp.status.is_success() => robots::parse(&agent, &resp.body),
                    Ok(_) => robots::Rules::AllowAll,
                    Err(FetchError::Status { status, .. }) if (400..500).contains(&status) => {
                        robots::Rules::AllowAll
                    }
                    Err(FetchError::TooLarge { .. }) => robots::Rules::AllowAll,
                    Err(e) => {
                        tracing::warn!(url = %robots_url, error = %e, "robots.txt unavailable");
                        robots::Rules::Unavailable
                    }
                }
            })
            .await;
        match rules {
            robots::Rules::AllowAll => Ok(()),
            robots::Rules::Unavailable => Err(FetchError::RobotsUnavailable {
                url: url.to_string(),
            }),
            robots::Rules::Parsed(robot) => {
                if let Some(delay) = robot.delay.filter(|d| d.is_finite() && *d > 0.0) {
                    let wanted = Duration::from_secs_f32(delay).min(self.config.max_crawl_delay);
                    let gate = self.gate(url.host_str().unwrap_or_default());
                    if wanted > gate.spacing() {
                        gate.set_spacing(wanted);
                    }
                }
                if robot.allowed(url.as_str()) {
                    Ok(())
                } else {
                    Err(FetchError::RobotsDisallowed {
                        url: url.to_string(),
                    })
                }
            }
        }
    }

    /// Polls a feed with conditional GET, following redirects by hand so a permanent
    /// move can be remembered.
    pub async fn poll_feed(
        &self,
        url: &str,
        validators: &Validators,
    ) -> Result<FeedPoll, FetchError> {
        self.poll_feed_with(url, validators, &FeedRequest::default())
            .await
    }

    /// [`Fetcher::poll_feed`] with one feed's own request settings.
    pub async fn poll_feed_with(
        &self,
        url: &str,
        validators: &Validators,
        request: &FeedRequest,
    ) -> Result<FeedPoll, FetchError> {
        let mut headers = request.headers(url)?;
        let client = self.feed_client_for(url, request)?;
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
        let mut current = parse_http_url(url)?;
        let mut all_permanent = true;
        let mut hops = 0;
        let resp = loop {
            let resp = self.get(&client, &current, headers.clone()).await?;
            if !resp.status.is_redirection() || resp.status == StatusCode::NOT_MODIFIED {
                break resp;
            }
            hops += 1;
            if hops > self.config.max_redirects {
                return Err(FetchError::TooManyRedirects {
                    url: url.to_string(),
                    limit: self.config.max_redirects,
                });
            }
            let location = resp
                .headers
                .get(LOCATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|l| current.join(l).ok())
                .ok_or_else(|| FetchError::Network {
                    url: current.to_string(),
                    reason: format!("redirect {} without a usable Location", resp.status),
                })?;
            all_permanent &= matches!(resp.status.as_u16(), 301 | 308);
            let next = parse_http_url(location.as_str())?;
            // Credentials given for the feed's site are not handed to another site a
            // redirect points at (as browsers and curl do).
            if next.host_str() != current.host_str() || next.port() != current.port() {
                headers.remove(AUTHORIZATION);
                headers.remove(COOKIE);
            }
            current = next;
        };
        let moved_to = (hops > 0 && all_permanent).then(|| current.to_string());
        let header = |name| {
            resp.headers
                .get(name)
                .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
                .map(str::to_string)
        };
        let max_age = header(CACHE_CONTROL).and_then(|cc| parse_max_age(&cc));
        if resp.status == StatusCode::NOT_MODIFIED {
            return Ok(FeedPoll {
                feed: None,
                validators: validators.clone(),
                moved_to,
                max_age,
            });
        }
        let content_type = header(CONTENT_TYPE);
        // A sitemap listed among the feeds is recognized by its content.
        let feed = if sitemap::looks_like_sitemap(&resp.body) {
            let cutoff = sitemap_cutoff(
                chrono::Utc::now(),
                self.config.sitemap_max_age,
                validators.last_success,
                self.config.sitemap_overlap,
            );
            let items = self
                .sitemap_items(&resp.body, &resp.final_url, cutoff)
                .await?;
            ParsedFeed {
                title: None,
                items,
                ttl_minutes: None,
                repair: FeedRepair::default(),
            }
        } else {
            parse_feed_with(&resp.body, &resp.final_url, content_type.as_deref())?
        };
        Ok(FeedPoll {
            feed: Some(feed),
            validators: Validators {
                etag: header(ETAG),
                last_modified: header(LAST_MODIFIED),
                last_success: None,
            },
            moved_to,
            max_age,
        })
    }
}

impl Fetcher {
    /// A GET whose body is read as it arrives (a WARC file of any size), after its
    /// status said 200.
    pub async fn open_archive(&self, url: &str) -> Result<reqwest::Response, FetchError> {
        let parsed = parse_http_url(url)?;
        if !self.config.allow_private_networks && guard::literal_host_blocked(&parsed) {
            return Err(FetchError::blocked(url));
        }
        let resp =
            self.archive_client
                .get(parsed)
                .send()
                .await
                .map_err(|e| FetchError::Network {
                    url: url.to_string(),
                    reason: e.to_string(),
                })?;
        if !resp.status().is_success() {
            return Err(FetchError::Status {
                url: url.to_string(),
                status: resp.status().as_u16(),
                retry_after: None,
            });
        }
        Ok(resp)
    }

    /// The WARC files of a month of Common Crawl's CC-NEWS (`month` as `YYYY-MM`), as
    /// URLs under `base` (`https://data.commoncrawl.org/`), from its `warc.paths.gz`.
    pub async fn cc_news_warcs(&self, base: &str, month: &str) -> Result<Vec<String>, FetchError> {
        let (year, mm) = month
            .split_once('-')
            .ok_or_else(|| FetchError::InvalidUrl {
                url: month.to_string(),
                reason: "not a YYYY-MM month".into(),
            })?;
        let base = parse_http_url(base)?;
        let join = |path: &str| {
            base.join(path).map_err(|e| FetchError::InvalidUrl {
                url: path.to_string(),
                reason: e.to_string(),
            })
        };
        let paths_url = join(&format!("crawl-data/CC-NEWS/{year}/{mm}/warc.paths.gz"))?;
        let resp = self
            .get(&self.page_client, &paths_url, HeaderMap::new())
            .await?;
        // Served as a gzip file; a client or proxy may have decoded it already.
        let text = if resp.body.starts_with(&[0x1f, 0x8b]) {
            let mut out = String::new();
            std::io::Read::read_to_string(
                &mut flate2::read::MultiGzDecoder::new(&resp.body[..]),
                &mut out,
            )
            .map_err(|e| FetchError::Feed {
                url: paths_url.to_string(),
                reason: format!("warc.paths.gz: {e}"),
            })?;
            out
        } else {
            String::from_utf8_lossy(&resp.body).into_owned()
        };
        text.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(|l| join(l).map(|u| u.to_string()))
            .collect()
    }

    /// The sitemaps the robots.txt of `url`'s site lists (its `Sitemap:` lines); none
    /// when it has no robots.txt.
    pub async fn robots_sitemaps(&self, url: &str) -> Result<Vec<String>, FetchError> {
        let parsed = parse_http_url(url)?;
        let robots_url = parsed
            .join("/robots.txt")
            .map_err(|e| FetchError::InvalidUrl {
                url: url.to_string(),
                reason: e.to_string(),
            })?;
        match self
            .get(&self.page_client, &robots_url, HeaderMap::new())
            .await
        {
            Ok(resp) => Ok(robots::sitemaps(&resp.body)),
            Err(FetchError::Status { status, .. }) if (400..500).contains(&status) => {
                Ok(Vec::new())
            }
            Err(e) => Err(e),
        }
    }

    /// The article URLs of the sitemap at `url` (following sitemap indexes), with the
    /// Google News hints; entries older than `max_age` are left out.
    pub async fn read_sitemap(
        &self,
        url: &str,
        max_age: Option<Duration>,
    ) -> Result<Vec<FeedItem>, FetchError> {
        let parsed = parse_http_url(url)?;
        let resp = self
            .get(&self.feed_client, &parsed, HeaderMap::new())
            .await?;
        let cutoff = sitemap_cutoff(chrono::Utc::now(), max_age, None, Duration::ZERO);
        self.sitemap_items(&resp.body, &resp.final_url, cutoff)
            .await
    }

    /// Reads the sitemap `body` fetched from `url`. An index's children are fetched like
    /// article pages (the SSRF guard applies: their URLs come from the document), to
    /// [`FetchConfig::sitemap_max_depth`], each at most once (an index listing itself
    /// ends there). A child that fails is logged and skipped; the others are read.
    async fn sitemap_items(
        &self,
        body: &[u8],
        url: &str,
        cutoff: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<Vec<FeedItem>, FetchError> {
        use sitemap::{parse_sitemap, Sitemap};
        let too_old = |t: Option<chrono::DateTime<chrono::Utc>>| {
            cutoff.is_some_and(|c| t.is_some_and(|t| t < c))
        };
        let as_feed_error = |url: &str, e: sitemap::SitemapError| FetchError::Feed {
            url: url.to_string(),
            reason: e.to_string(),
        };
        let mut items = Vec::new();
        let mut visited = HashSet::from([url.to_string()]);
        let mut todo: Vec<(Vec<u8>, String, usize)> = vec![(body.to_vec(), url.to_string(), 0)];
        while let Some((body, from, depth)) = todo.pop() {
            let base = Url::parse(&from).ok();
            let resolve = |loc: &str| match &base {
                Some(b) => b.join(loc).map(|u| u.to_string()).ok(),
                None => Some(loc.to_string()),
            };
            let parsed = match parse_sitemap(&body) {
                Ok(p) => p,
                // The sitemap asked for: its error is the poll's error.
                Err(e) if depth == 0 => return Err(as_feed_error(&from, e)),
                Err(e) => {
                    tracing::warn!(sitemap = %from, error = %e, "skipping a child sitemap");
                    continue;
                }
            };
            match parsed {
                Sitemap::Urls(entries) => {
                    for entry in entries.iter().filter(|e| !too_old(e.time())) {
                        let Some(loc) = resolve(&entry.loc) else {
                            continue;
                        };
                        items.push(FeedItem {
                            guid: loc.clone(),
                            url: loc,
                            hints: entry.hints(),
                        });
                    }
                }
                Sitemap::Index(children) => {
                    if depth >= self.config.sitemap_max_depth {
                        tracing::warn!(sitemap = %from, depth, "sitemap index nested too deep; not followed");
                        continue;
                    }
                    for child in children.iter().filter(|c| !too_old(c.lastmod)) {
                        let Some(loc) = resolve(&child.loc) else {
                            continue;
                        };
                        if !visited.insert(loc.clone()) {
                            continue;
                        }
                        match self.fetch_sitemap_child(&loc).await {
                            Ok(body) => todo.push((body, loc, depth + 1)),
                            Err(e) => {
                                tracing::warn!(sitemap = %loc, error = %e, "skipping a child sitemap")
                            }
                        }
                    }
                }
            }
        }
        Ok(items)
    }

    async fn fetch_sitemap_child(&self, url: &str) -> Result<Vec<u8>, FetchError> {
        let parsed = parse_http_url(url)?;
        if !self.config.allow_private_networks && guard::literal_host_blocked(&parsed) {
            return Err(FetchError::blocked(url));
        }
        Ok(self
            .get(&self.page_client, &parsed, HeaderMap::new())
            .await?
            .body)
    }
}

/// The oldest time a polled sitemap's entry (or child sitemap) may carry to be taken: the
/// later of `now - max_age` and the last successful poll less `overlap`, so each poll
/// takes what appeared since the one before rather than re-listing days of entries.
/// Entries without a date are always taken (the work queue knows which it has seen).
pub fn sitemap_cutoff(
    now: chrono::DateTime<chrono::Utc>,
    max_age: Option<Duration>,
    last_success: Option<chrono::DateTime<chrono::Utc>>,
    overlap: Duration,
) -> Option<chrono::DateTime<chrono::Utc>> {
    let by_age = max_age
        .and_then(|a| chrono::Duration::from_std(a).ok())
        .map(|a| now - a);
    let overlap = chrono::Duration::from_std(overlap).unwrap_or(chrono::Duration::zero());
    // A last success in the future (a clock set back) says nothing.
    let by_poll = last_success.filter(|t| *t <= now).map(|t| t - overlap);
    by_age.max(by_poll)
}

/// What both clients share: the agent, the time limits, the encodings. reqwest also
/// follows the standard proxy variables (`HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY`,
/// `NO_PROXY`) by default, so every request goes through the proxy they name.
/// Follows at most `max_redirects` redirects, and with `guard` none to a literal private
/// address (names are checked by the resolver).
fn redirect_policy(max_redirects: usize, guard: bool) -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(move |attempt| {
        if attempt.previous().len() > max_redirects {
            attempt.error(format!("more than {max_redirects} redirects"))
        } else if guard && guard::literal_host_blocked(attempt.url()) {
            attempt.error(guard::BLOCKED_MARKER)
        } else {
            attempt.follow()
        }
    })
}

fn client_builder(config: &FetchConfig) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .user_agent(config.user_agent.clone())
        .connect_timeout(config.connect_timeout)
        .timeout(config.timeout)
        .gzip(true)
        .brotli(true)
        .deflate(true)
}

fn parse_max_age(cache_control: &str) -> Option<Duration> {
    cache_control.split(',').find_map(|d| {
        let (k, v) = d.trim().split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("max-age")
            .then(|| v.trim().parse().ok().map(Duration::from_secs))
            .flatten()
    })
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

#[cfg(test)]
mod sitemap_cutoff_tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_later_of_max_age_and_the_last_poll_less_the_overlap() {
        let now = chrono::Utc.with_ymd_and_hms(2024, 9, 27, 12, 0, 0).unwrap();
        let hour = Duration::from_secs(3600);
        let two_days = Some(Duration::from_secs(2 * 86_400));
        let at = |h: i64| now - chrono::Duration::hours(h);
        assert_eq!(sitemap_cutoff(now, two_days, None, hour), Some(at(48)));
        assert_eq!(
            sitemap_cutoff(now, two_days, Some(at(3)), hour),
            Some(at(4))
        );
        // A last poll before the window, or none and no window.
        assert_eq!(
            sitemap_cutoff(now, two_days, Some(at(100)), hour),
            Some(at(48))
        );
        assert_eq!(sitemap_cutoff(now, None, None, hour), None);
        assert_eq!(sitemap_cutoff(now, None, Some(at(2)), hour), Some(at(3)));
        // A last success ahead of the clock is ignored.
        let ahead = now + chrono::Duration::hours(5);
        assert_eq!(
            sitemap_cutoff(now, two_days, Some(ahead), hour),
            Some(at(48))
        );
    }
}
