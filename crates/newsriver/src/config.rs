//! Configuration: embedded defaults (config/newsriver.toml), then an optional file, then
//! NEWSRIVER_SECTION__KEY environment variables.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use figment::providers::{Env, Format, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

pub const DEFAULT_CONFIG: &str = include_str!("../../../config/newsriver.toml");

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub feeds: FeedsConfig,
    pub poll: PollConfig,
    pub fetch: FetchSettings,
    pub strip: StripSettings,
    pub dedup: DedupSettings,
    pub output: OutputConfig,
    pub kafka: newsriver_publisher::KafkaConfig,
    pub state: StateConfig,
    pub pipeline: PipelineConfig,
    pub admin: AdminConfig,
    pub sitemaps: SitemapsConfig,
    pub cc_news: CcNewsConfig,
    pub filter: FilterConfig,
    pub dead_letters: DeadLettersConfig,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FeedsConfig {
    pub urls: Vec<String>,
    pub opml: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PollConfig {
    pub interval_secs: u64,
    pub min_interval_secs: u64,
    pub max_interval_secs: u64,
    pub jitter: f64,
    pub max_error_backoff_secs: u64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FetchSettings {
    pub user_agent: String,
    pub connect_timeout_secs: u64,
    pub timeout_secs: u64,
    pub max_body_bytes: usize,
    pub max_redirects: usize,
    pub concurrency: usize,
    pub per_host_concurrency: usize,
    pub per_host_delay_ms: u64,
    pub obey_robots: bool,
    pub max_crawl_delay_secs: u64,
    pub allow_private_networks: bool,
    pub retries: usize,
    pub max_attempts: u32,
    pub retry_delay_secs: u64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StripSettings {
    pub workers: usize,
    pub max_html_bytes: usize,
    pub classifier: BlockClassifier,
}

/// How the stripper decides which blocks of a page are the article.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BlockClassifier {
    /// The learned block classifier built into the binary.
    Model,
    /// Container scoring alone (readability-style), without the classifier.
    Heuristic,
}

impl StripSettings {
    /// `workers`, where 0 means one per core.
    pub fn worker_count(&self) -> usize {
        if self.workers == 0 {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        } else {
            self.workers
        }
    }

    pub fn options(&self) -> newsriver_stripper::Options {
        newsriver_stripper::Options {
            max_html_bytes: self.max_html_bytes,
            classifier: match self.classifier {
                BlockClassifier::Model => newsriver_stripper::Classifier::Builtin,
                BlockClassifier::Heuristic => newsriver_stripper::Classifier::Heuristic,
            },
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DuplicatePolicy {
    Drop,
    Flag,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DedupSettings {
    pub policy: DuplicatePolicy,
    pub near_threshold: f64,
    pub window_days: u32,
    /// Cosine similarity at which an article joins a story, with the cosine scorer
    /// instead of the learned one built in; unset for the built-in one.
    #[serde(default)]
    pub story_threshold: Option<f32>,
    pub story_window_hours: u32,
    /// Also apply the ClearURLs rules (needs a build with `--features clearurls`).
    pub clearurls: bool,
    /// A ClearURLs `data.min.json` to use instead of the copy built in; empty for that copy.
    pub clearurls_rules: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OutputConfig {
    pub kind: OutputKind,
    pub path: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputKind {
    Jsonl,
    Kafka,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StateConfig {
    pub path: PathBuf,
}

/// Where jobs that end without an article are written; `config/newsriver.toml`
/// documents it.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DeadLettersConfig {
    /// A JSON-lines file, appended to; empty: `dead-letters.jsonl` beside the state file.
    pub path: String,
    /// The Kafka topic dead letters go to when the output is Kafka; empty: the articles'
    /// topic followed by `.dead-letters`.
    pub topic: String,
}

/// What is left out of the river; `config/newsriver.toml` documents it.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FilterConfig {
    /// Languages (ISO 639-1, as `language` is published) to keep; empty: all.
    pub languages: Vec<String>,
}

/// Common Crawl's CC-NEWS as a source (`backfill --cc-news`); `config/newsriver.toml`
/// documents it.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CcNewsConfig {
    /// Where `crawl-data/CC-NEWS/YYYY/MM/warc.paths.gz` and the WARC files are.
    pub base_url: String,
}

/// Sitemaps as sources; `config/newsriver.toml` documents it.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SitemapsConfig {
    /// Entries older than this are not work when a sitemap is polled; 0: every entry.
    pub max_age_days: u32,
    /// How deep sitemap indexes are followed.
    pub max_depth: usize,
    /// A polled sitemap takes only entries newer than its last successful poll less this
    /// many minutes.
    pub overlap_minutes: u32,
}

/// The admin listener (metrics, health, the feeds API); `config/newsriver.toml`
/// documents it.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AdminConfig {
    /// `address:port` to serve on; empty: no listener.
    pub listen: String,
    /// The bearer token every state-changing request of the API must carry; empty: the
    /// API only reads.
    pub token: Secret,
}

/// A setting that must never reach a log: `Debug` and `Serialize` show only whether it is
/// set, so printing a whole [`Config`] is safe.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }

    /// The secret itself, for the one place that compares or sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn shown(&self) -> &'static str {
        if self.0.is_empty() {
            ""
        } else {
            "<redacted>"
        }
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secret({:?})", self.shown())
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.shown())
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Secret, D::Error> {
        // The environment provider reads `NEWSRIVER_ADMIN__TOKEN=123456` as a number: a
        // token of digits is still a token.
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Secret;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E>(self, v: &str) -> std::result::Result<Secret, E> {
                Ok(Secret(v.to_string()))
            }
            fn visit_u64<E>(self, v: u64) -> std::result::Result<Secret, E> {
                Ok(Secret(v.to_string()))
            }
            fn visit_i64<E>(self, v: i64) -> std::result::Result<Secret, E> {
                Ok(Secret(v.to_string()))
            }
            fn visit_bool<E>(self, v: bool) -> std::result::Result<Secret, E> {
                Ok(Secret(v.to_string()))
            }
        }
        d.deserialize_any(Visitor)
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineConfig {
    pub channel_capacity: usize,
    pub batch_size: usize,
    /// Batches handed to the sink and not yet acknowledged, at most (default 4): the sink
    /// sends the next batches while the broker acknowledges the earlier ones, which are
    /// still marked done one by one, in order.
    pub publish_in_flight: usize,
}

impl Config {
    /// Loads defaults, then `file` if given, then the environment.
    pub fn load(file: Option<&Path>) -> Result<Config> {
        let mut fig = Figment::from(Toml::string(DEFAULT_CONFIG));
        if let Some(path) = file {
            if !path.exists() {
                bail!("config file {} does not exist", path.display());
            }
            fig = fig.merge(Toml::file(path));
        }
        // Only SECTION__KEY variables are settings; NEWSRIVER_CONFIG and others are not.
        fig = fig.merge(
            Env::prefixed("NEWSRIVER_")
                .filter(|k| k.as_str().contains("__"))
                .split("__"),
        );
        let cfg: Config = fig.extract().context("invalid configuration")?;
        cfg.validate()?;
        Ok(cfg)
    }

    fn validate(&self) -> Result<()> {
        if self.dedup.clearurls && !cfg!(feature = "clearurls") {
            bail!(
                "dedup.clearurls needs a binary built with `--features clearurls` \
                 (ClearURLs' code and rules are LGPL-3.0, so the default build leaves them out)"
            );
        }
        if !self.dedup.clearurls_rules.is_empty()
            && !Path::new(&self.dedup.clearurls_rules).is_file()
        {
            bail!(
                "dedup.clearurls_rules: no such file {:?}",
                self.dedup.clearurls_rules
            );
        }
        if !(0.0..=1.0).contains(&self.dedup.near_threshold) {
            bail!("dedup.near_threshold must be between 0 and 1");
        }
        let pl = &self.pipeline;
        if pl.channel_capacity == 0 || pl.batch_size == 0 || pl.publish_in_flight == 0 {
            bail!("pipeline.channel_capacity, pipeline.batch_size and pipeline.publish_in_flight must be at least 1");
        }
        let p = &self.poll;
        if p.min_interval_secs == 0 || p.min_interval_secs > p.max_interval_secs {
            bail!("poll.min_interval_secs must be at least 1 and at most poll.max_interval_secs");
        }
        if !(0.0..1.0).contains(&p.jitter) {
            bail!("poll.jitter must be in [0, 1)");
        }
        if self.fetch.concurrency == 0 || self.fetch.per_host_concurrency == 0 {
            bail!("fetch.concurrency and fetch.per_host_concurrency must be at least 1");
        }
        Ok(())
    }

    pub fn fetch_config(&self) -> newsriver_fetcher::FetchConfig {
        let f = &self.fetch;
        newsriver_fetcher::FetchConfig {
            user_agent: f.user_agent.clone(),
            connect_timeout: Duration::from_secs(f.connect_timeout_secs),
            timeout: Duration::from_secs(f.timeout_secs),
            max_body_bytes: f.max_body_bytes,
            max_redirects: f.max_redirects,
            per_host_concurrency: f.per_host_concurrency,
            per_host_delay: Duration::from_millis(f.per_host_delay_ms),
            retries: f.retries,
            obey_robots: f.obey_robots,
            max_crawl_delay: Duration::from_secs(f.max_crawl_delay_secs),
            allow_private_networks: f.allow_private_networks,
            sitemap_max_age: (self.sitemaps.max_age_days > 0)
                .then(|| Duration::from_secs(u64::from(self.sitemaps.max_age_days) * 86_400)),
            sitemap_max_depth: self.sitemaps.max_depth,
            sitemap_overlap: Duration::from_secs(u64::from(self.sitemaps.overlap_minutes) * 60),
            ..Default::default()
        }
    }

    /// Where dead letters go: `dead_letters.path`, or beside the state database.
    pub fn dead_letters_path(&self) -> PathBuf {
        if self.dead_letters.path.is_empty() {
            self.state
                .path
                .parent()
                .unwrap_or_else(|| Path::new(""))
                .join("dead-letters.jsonl")
        } else {
            PathBuf::from(&self.dead_letters.path)
        }
    }

    /// The Kafka topic of dead letters when the output is Kafka: `dead_letters.topic`, or
    /// the articles' topic followed by `.dead-letters`.
    pub fn dead_letters_topic(&self) -> String {
        if self.dead_letters.topic.is_empty() {
            format!("{}.dead-letters", self.kafka.topic)
        } else {
            self.dead_letters.topic.clone()
        }
    }

    /// Configured feeds plus those of the OPML file, deduplicated.
    pub fn feed_urls(&self) -> Result<Vec<String>> {
        let mut urls = self.feeds.urls.clone();
        if !self.feeds.opml.is_empty() {
            let xml = std::fs::read_to_string(&self.feeds.opml)
                .with_context(|| format!("reading OPML file {}", self.feeds.opml))?;
            urls.extend(newsriver_fetcher::parse_opml(&xml)?);
        }
        urls.sort();
        urls.dedup();
        Ok(urls)
    }
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment::Jail's closure signature, not ours
mod tests {
    use super::*;

    #[test]
    fn embedded_defaults_load_and_env_overrides() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("NEWSRIVER_FETCH__TIMEOUT_SECS", "7");
            jail.set_env("NEWSRIVER_DEDUP__POLICY", "flag");
            jail.set_env("NEWSRIVER_CONFIG", "ignored-here.toml");
            let cfg = Config::load(None).expect("defaults load");
            assert_eq!(cfg.fetch.timeout_secs, 7);
            assert_eq!(cfg.dedup.policy, DuplicatePolicy::Flag);
            assert!(!cfg.feeds.urls.is_empty());
            Ok(())
        });
    }

    #[test]
    fn the_admin_token_comes_from_the_environment_and_is_never_shown() {
        figment::Jail::expect_with(|jail| {
            assert!(Config::load(None).expect("defaults").admin.token.is_empty());
            jail.set_env("NEWSRIVER_ADMIN__TOKEN", "123456");
            let cfg = Config::load(None).expect("loads");
            assert_eq!(cfg.admin.token.expose(), "123456");
            jail.set_env("NEWSRIVER_ADMIN__TOKEN", "s3cr3t-t0ken");
            let cfg = Config::load(None).expect("loads");
            assert_eq!(cfg.admin.token.expose(), "s3cr3t-t0ken");
            let shown = format!("{cfg:?} {}", serde_json::to_string(&cfg).unwrap());
            assert!(!shown.contains("s3cr3t"), "{shown}");
            assert!(shown.contains("<redacted>"));
            Ok(())
        });
    }

    #[test]
    fn file_overrides_defaults_and_unknown_keys_fail() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("a.toml", "[output]\npath = \"x.jsonl\"\n")?;
            let cfg = Config::load(Some(Path::new("a.toml"))).expect("loads");
            assert_eq!(cfg.output.path, "x.jsonl");
            assert_eq!(cfg.poll.interval_secs, 900);
            jail.create_file("b.toml", "[output]\npaht = \"typo\"\n")?;
            assert!(Config::load(Some(Path::new("b.toml"))).is_err());
            Ok(())
        });
    }
}
