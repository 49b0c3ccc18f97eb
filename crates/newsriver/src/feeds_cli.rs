//! `newsriver feeds add|remove|pause|resume|poll|discover`: through a running daemon's
//! admin API when one answers (the change then takes effect at once), else directly on
//! the state file, which is possible only while no daemon holds its lock.

use std::collections::HashSet;
use std::time::Duration;

use anyhow::{Context as _, Result};
use newsriver_fetcher::Fetcher;
use newsriver_store::Store;

use crate::config::Config;
use crate::feed_admin::{self, FeedError, FeedKey, FeedView, NewFeed};

/// One change to the feeds.
#[derive(Debug, Clone)]
pub enum Change {
    Add(Box<NewFeed>),
    Remove(FeedKey),
    Pause(FeedKey),
    Resume(FeedKey),
    Poll(FeedKey),
}

impl Change {
    /// The past tense, for the line printed after it.
    pub fn done(&self) -> &'static str {
        match self {
            Change::Add(_) => "added",
            Change::Remove(_) => "removed",
            Change::Pause(_) => "paused",
            Change::Resume(_) => "resumed",
            Change::Poll(_) => "due now:",
        }
    }
}

/// Where a change was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    /// The running daemon's admin API at this base URL.
    Daemon(String),
    /// The state file, no daemon running on it.
    StateFile,
}

/// A change refused, by the daemon or by the state: the command's exit code tells bad
/// input (2) from a refusal (1).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Refused {
    pub message: String,
    /// The request itself was wrong (a URL that is not http(s), invalid settings).
    pub bad_input: bool,
}

impl From<FeedError> for Refused {
    fn from(e: FeedError) -> Refused {
        Refused {
            bad_input: matches!(e, FeedError::InvalidUrl(_) | FeedError::InvalidSettings(_)),
            message: e.to_string(),
        }
    }
}

/// The admin listener's base URL from `address:port` or a URL.
pub fn admin_base(listen: &str) -> String {
    if listen.starts_with("http://") || listen.starts_with("https://") {
        listen.trim_end_matches('/').to_string()
    } else {
        format!("http://{listen}")
    }
}

/// Makes `change`: through the daemon at `admin` (default: `admin.listen`) when it
/// answers, else on the state file.
pub async fn change(
    config: &Config,
    admin: Option<&str>,
    change: Change,
) -> Result<(FeedView, Via)> {
    let mut change = change;
    if let Change::Add(feed) = &mut change {
        if feed.discover {
            feed.url = discover_one(config, &feed.url).await?;
            feed.discover = false;
        }
    }
    let listen = admin.unwrap_or(&config.admin.listen);
    if !listen.is_empty() {
        let base = admin_base(listen);
        if let Some(view) = through_daemon(config, &base, &change).await? {
            return Ok((view, Via::Daemon(base)));
        }
    }
    let view = on_state_file(config, &change).map_err(|e| match listen {
        "" => e,
        listen => e.context(format!(
            "no daemon answered at {} (admin.listen or --admin)",
            admin_base(listen)
        )),
    })?;
    Ok((view, Via::StateFile))
}

/// The first feed discovered at `url`.
async fn discover_one(config: &Config, url: &str) -> Result<String> {
    feed_admin::check_url(url).map_err(Refused::from)?;
    let fetcher = Fetcher::new(config.fetch_config())?;
    let found = crate::discover::discover(&fetcher, url).await?;
    match found.into_iter().next() {
        Some(f) => Ok(f.url),
        None => Err(Refused {
            message: format!("no feed found at {url}"),
            bad_input: false,
        }
        .into()),
    }
}

/// The change through the admin API; `None` when nothing listens there (no daemon).
async fn through_daemon(config: &Config, base: &str, change: &Change) -> Result<Option<FeedView>> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .context("HTTP client")?;
    let key = |k: &FeedKey| {
        url::form_urlencoded::byte_serialize(k.to_string().as_bytes()).collect::<String>()
    };
    let request = match change {
        Change::Add(feed) => client
            .post(format!("{base}/api/feeds"))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(serde_json::to_vec(feed.as_ref())?),
        Change::Remove(k) => client.delete(format!("{base}/api/feeds/{}", key(k))),
        Change::Pause(k) => client.post(format!("{base}/api/feeds/{}/pause", key(k))),
        Change::Resume(k) => client.post(format!("{base}/api/feeds/{}/resume", key(k))),
        Change::Poll(k) => client.post(format!("{base}/api/feeds/{}/poll", key(k))),
    };
    let request = if config.admin.token.is_empty() {
        request
    } else {
        request.bearer_auth(config.admin.token.expose())
    };
    let response = match request.send().await {
        Ok(r) => r,
        Err(e) if e.is_connect() => return Ok(None),
        Err(e) => return Err(anyhow::Error::new(e).context(format!("asking the daemon at {base}"))),
    };
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    if status.is_success() {
        let view = serde_json::from_str(&body)
            .with_context(|| format!("the daemon at {base} answered {status} with {body:?}"))?;
        return Ok(Some(view));
    }
    let message = serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v["error"].as_str().map(str::to_string))
        .unwrap_or(body);
    Err(Refused {
        message: format!("the daemon at {base} refused: {status}: {message}"),
        bad_input: matches!(status.as_u16(), 400 | 413 | 422),
    }
    .into())
}

/// The change on the state file, under its lock (so never beside a running daemon).
fn on_state_file(config: &Config, change: &Change) -> Result<FeedView> {
    let path = &config.state.path;
    let _lock = crate::lock::lock_state(path, "newsriver feeds")?;
    let configured: HashSet<String> = config.feed_urls()?.into_iter().collect();
    let mut store =
        Store::open(path).with_context(|| format!("opening state database {}", path.display()))?;
    let queue = store.queue();
    // Rows for the configured feeds, as the daemon makes at start: a config feed can be
    // paused before the daemon ever ran.
    queue.ensure_feeds(&configured.iter().cloned().collect::<Vec<_>>())?;
    let done = match change {
        Change::Add(feed) => feed_admin::add(&queue, &configured, feed.as_ref()),
        Change::Remove(k) => feed_admin::remove(&queue, &configured, k),
        Change::Pause(k) => feed_admin::set_paused(&queue, &configured, k, true),
        Change::Resume(k) => feed_admin::set_paused(&queue, &configured, k, false),
        Change::Poll(k) => feed_admin::poll_now(&queue, &configured, k),
    };
    Ok(done.map_err(Refused::from)?)
}

/// `newsriver feeds discover URL`: prints the feeds found, one a line (URL, how, title).
pub async fn discover(config: &Config, url: &str) -> Result<usize> {
    feed_admin::check_url(url).map_err(Refused::from)?;
    let fetcher = Fetcher::new(config.fetch_config())?;
    let found = crate::discover::discover(&fetcher, url).await?;
    for f in &found {
        crate::tools::print_line(&format!(
            "{}\t{}\t{}",
            f.url,
            f.how,
            f.title.as_deref().unwrap_or("")
        ))?;
    }
    Ok(found.len())
}
