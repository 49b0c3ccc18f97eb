//! The optional admin listener (`[admin] listen`): a status page for people at `/`,
//! Prometheus metrics at `/metrics`, `/healthz` (the process answers) and `/readyz` (the
//! state store answers, no stage has failed, not shutting down) for probes and
//! `newsriver healthcheck`, and the feeds API ([`crate::feeds_api`]) under `/api/feeds`.
//!
//! Counters the stages already keep for their summaries ([`Stats`]) and the state that
//! only a query can tell (queue depths, pending items, feeds by state) are read when
//! Prometheus scrapes, so the stages pay nothing for them; latencies are histograms the
//! stages record as they go (free when no recorder is installed, that is when the
//! listener is off).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};

use anyhow::{Context, Result};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::kill_switch::KillSwitch;
use crate::shared::{lock, SharedStore};
use crate::stats::Stats;

/// Latency buckets (seconds) for every `_seconds` histogram: from a cached local fetch
/// to a slow page at the fetch timeout.
const SECONDS_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];
/// Buckets for `_bytes` histograms: a short page to the default body limit.
const BYTES_BUCKETS: &[f64] = &[1e3, 4e3, 16e3, 64e3, 256e3, 1e6, 4e6, 16e6];
/// Buckets for the articles in a published batch: one to `pipeline.batch_size`'s default.
const BATCH_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0];

/// The process's Prometheus recorder, installed the first time an admin listener starts
/// (a process has one global recorder; tests may start several topologies).
fn recorder() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS_BUCKETS)
            .and_then(|b| b.set_buckets_for_metric(Matcher::Suffix("_bytes".into()), BYTES_BUCKETS))
            .and_then(|b| {
                b.set_buckets_for_metric(
                    Matcher::Full("newsriver_publish_batch_articles".into()),
                    BATCH_BUCKETS,
                )
            });
        let recorder = match builder {
            Ok(b) => b.build_recorder(),
            // Only an empty bucket list fails, and ours are constants.
            Err(e) => {
                tracing::warn!(error = %e, "histogram buckets refused; using summaries");
                PrometheusBuilder::new().build_recorder()
            }
        };
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("another metrics recorder is installed; /metrics shows only what is read at scrape time");
        }
        describe();
        metrics_process::Collector::default().describe();
        handle
    })
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!(
        "newsriver_pages_fetched_total",
        "Article pages fetched whole."
    );
    describe_counter!(
        "newsriver_articles_extracted_total",
        "Pages on which the stripper found an article."
    );
    describe_counter!(
        "newsriver_articles_published_total",
        "Articles the sink acknowledged."
    );
    describe_counter!(
        "newsriver_duplicates_total",
        "Articles recognized as seen before, by reason (url, text, near_text)."
    );
    describe_counter!(
        "newsriver_items_failed_total",
        "Jobs that failed (fetch, extraction, no article), retried later or given up."
    );
    describe_counter!(
        "newsriver_articles_filtered_total",
        "Articles left out by filter.languages, by reason."
    );
    describe_counter!(
        "newsriver_pages_without_article_total",
        "Pages fetched whole with no article on them."
    );
    describe_counter!(
        "newsriver_items_deferred_total",
        "Transient failures left pending for a later attempt."
    );
    describe_counter!(
        "newsriver_fetch_responses_total",
        "Article page fetches by result: HTTP status class, or the kind of failure."
    );
    describe_counter!(
        "newsriver_fetched_bytes_total",
        Unit::Bytes,
        "Decoded bytes of article pages fetched."
    );
    describe_histogram!(
        "newsriver_publish_duration_seconds",
        Unit::Seconds,
        "From sending a batch to the sink until the sink acknowledged all of it."
    );
    describe_histogram!(
        "newsriver_publish_batch_articles",
        "Articles in each batch sent to the sink."
    );
    describe_counter!(
        "newsriver_kafka_delivery_errors_total",
        "Kafka messages the broker did not take, by kind: transient (sent again) or permanent (the sink stops)."
    );
    describe_counter!(
        "newsriver_kafka_producer_renewals_total",
        "Kafka producers replaced by a new one (new producer id) after message timeouts, a refused producer id or epoch, or a fatal producer error."
    );
    describe_histogram!(
        "newsriver_fetch_duration_seconds",
        Unit::Seconds,
        "Article page fetch time, by outcome (ok, error)."
    );
    describe_histogram!(
        "newsriver_extraction_duration_seconds",
        Unit::Seconds,
        "Stripper time per page."
    );
    describe_gauge!(
        "newsriver_queue_depth",
        "Items waiting in each channel between stages."
    );
    describe_gauge!(
        "newsriver_queue_capacity",
        "Capacity of each channel between stages."
    );
    describe_gauge!(
        "newsriver_pending_items",
        "Accepted items not finished yet (in the state store)."
    );
    describe_gauge!(
        "newsriver_oldest_pending_age_seconds",
        "Age of the oldest accepted item not finished yet (0 with none pending)."
    );
    describe_gauge!(
        "newsriver_feeds",
        "Configured feeds by state: ok, failing, retired."
    );
    describe_gauge!(
        "newsriver_dedup_remembered_articles",
        "Articles the duplicate index holds (the retention window)."
    );
    describe_gauge!(
        "newsriver_ready",
        "1 while the daemon is ready (see /readyz), else 0."
    );
}

/// A channel between stages as the listener sees it: a weak handle, so watching a channel
/// never keeps it open after its stage finished.
struct WatchedQueue {
    name: &'static str,
    capacity: usize,
    depth: Box<dyn Fn() -> Option<usize> + Send + Sync>,
}

/// What the listener reads: the topology fills it as it builds the stages.
pub struct Observed {
    store: SharedStore,
    stats: Arc<Stats>,
    queues: Mutex<Vec<WatchedQueue>>,
    shutdown: CancellationToken,
    kill: KillSwitch,
    started: std::time::Instant,
}

impl Observed {
    pub fn new(
        store: SharedStore,
        stats: Arc<Stats>,
        shutdown: CancellationToken,
        kill: KillSwitch,
    ) -> Observed {
        Observed {
            store,
            stats,
            queues: Mutex::new(Vec::new()),
            shutdown,
            kill,
            started: std::time::Instant::now(),
        }
    }

    /// Reports the depth of the channel `tx` sends into as queue `name`.
    pub fn watch_queue<T: Send + 'static>(&self, name: &'static str, tx: &mpsc::Sender<T>) {
        let weak = tx.downgrade();
        let capacity = tx.max_capacity();
        let depth = move || weak.upgrade().map(|tx| capacity - tx.capacity());
        lock(&self.queues).push(WatchedQueue {
            name,
            capacity,
            depth: Box::new(depth),
        });
    }

    /// What the status page shows, read now.
    fn snapshot(&self) -> crate::status_page::Snapshot {
        let s = &self.stats;
        let (feeds, retrying) = {
            let mut store = lock(&self.store);
            let queue = store.queue();
            let feeds = queue.feeds().unwrap_or_else(|e| {
                tracing::warn!(error = %e, "status page: reading feeds failed");
                Vec::new()
            });
            let retrying = queue.retrying(50).unwrap_or_default();
            (feeds, retrying)
        };
        crate::status_page::Snapshot {
            uptime: self.started.elapsed(),
            not_ready: self.not_ready(),
            fetched: s.get(&s.fetched),
            published: s.get(&s.published),
            duplicates: s.get(&s.duplicates),
            failed: s.get(&s.failed),
            remembered: s.get(&s.remembered),
            queues: lock(&self.queues)
                .iter()
                .map(|q| (q.name, (q.depth)().unwrap_or(0), q.capacity))
                .collect(),
            feeds,
            recent: s.recent(),
            retrying,
            now: chrono::Utc::now(),
        }
    }

    /// Why the daemon is not ready, if it is not.
    fn not_ready(&self) -> Option<String> {
        self.stopping()
            .or_else(|| not_answering(lock(&self.store).queue().pending_count()))
    }

    /// Why the daemon is on its way out, if it is.
    fn stopping(&self) -> Option<String> {
        if self.kill.is_killed() {
            return Some("a stage failed; the daemon is stopping".into());
        }
        self.shutdown
            .is_cancelled()
            .then(|| "shutting down".to_string())
    }

    /// Sets every metric that is read rather than recorded.
    fn update(&self) {
        use metrics::{counter, gauge};
        let s = &self.stats;
        counter!("newsriver_pages_fetched_total").absolute(s.get(&s.fetched));
        counter!("newsriver_articles_extracted_total").absolute(s.get(&s.extracted));
        counter!("newsriver_articles_published_total").absolute(s.get(&s.published));
        counter!("newsriver_items_failed_total").absolute(s.get(&s.failed));
        counter!("newsriver_pages_without_article_total").absolute(s.get(&s.no_article));
        counter!("newsriver_items_deferred_total").absolute(s.get(&s.deferred));
        gauge!("newsriver_dedup_remembered_articles").set(s.get(&s.remembered) as f64);
        for q in lock(&self.queues).iter() {
            // A finished stage's channel is gone: nothing waits in it.
            let depth = (q.depth)().unwrap_or(0);
            gauge!("newsriver_queue_depth", "queue" => q.name).set(depth as f64);
            gauge!("newsriver_queue_capacity", "queue" => q.name).set(q.capacity as f64);
        }
        {
            let mut store = lock(&self.store);
            let queue = store.queue();
            let pending = queue.pending_count();
            if let Ok(n) = &pending {
                gauge!("newsriver_pending_items").set(*n as f64);
            }
            if let Ok(oldest) = queue.oldest_pending_at() {
                let age = oldest.map_or(0.0, |t| {
                    (chrono::Utc::now() - t).num_milliseconds().max(0) as f64 / 1000.0
                });
                gauge!("newsriver_oldest_pending_age_seconds").set(age);
            }
            // The same query says whether the store answers: readiness needs no second.
            let ready = self.stopping().or_else(|| not_answering(pending)).is_none();
            gauge!("newsriver_ready").set(if ready { 1.0 } else { 0.0 });
            if let Ok(feeds) = queue.feed_counts() {
                gauge!("newsriver_feeds", "state" => "ok").set(feeds.ok as f64);
                gauge!("newsriver_feeds", "state" => "failing").set(feeds.failing as f64);
                gauge!("newsriver_feeds", "state" => "retired").set(feeds.retired as f64);
            }
        }
        metrics_process::Collector::default().collect();
    }
}

/// Why the state store keeps the daemon from being ready, from a query's result.
fn not_answering<T>(query: newsriver_store::Result<T>) -> Option<String> {
    query.err().map(|e| format!("state store: {e}"))
}

/// Binds `listen` (a failure to bind is an error at start, not a silent daemon without
/// its probes) and serves until `stop` is cancelled.
pub async fn serve(
    listen: &str,
    observed: Arc<Observed>,
    api: Option<Router>,
    stop: CancellationToken,
) -> Result<tokio::task::JoinHandle<()>> {
    let addr: SocketAddr = listen
        .parse()
        .with_context(|| format!("admin.listen {listen:?} is not an address:port"))?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("admin listener: cannot bind {addr}"))?;
    let handle = recorder();
    let app = Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .route("/", get(status_page))
        .with_state((observed, handle));
    let app = match api {
        Some(api) => app.merge(api),
        None => app,
    };
    tracing::info!(%addr, "admin listener: /metrics, /healthz, /readyz, /api/feeds");
    Ok(tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async move { stop.cancelled().await })
            .await;
        if let Err(e) = served {
            tracing::error!(error = %e, "admin listener failed");
        }
    }))
}

type AdminState = (Arc<Observed>, &'static PrometheusHandle);

async fn readyz(State((observed, _)): State<AdminState>) -> impl IntoResponse {
    let reason = tokio::task::spawn_blocking(move || observed.not_ready())
        .await
        .unwrap_or_else(|e| Some(format!("readiness check failed: {e}")));
    match reason {
        None => (StatusCode::OK, "ready\n".to_string()),
        Some(why) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {why}\n"),
        ),
    }
}

async fn metrics_text(State((observed, handle)): State<AdminState>) -> impl IntoResponse {
    // The store is locked briefly: off the async workers.
    let updated = tokio::task::spawn_blocking(move || observed.update()).await;
    if let Err(e) = updated {
        tracing::warn!(error = %e, "reading metrics failed");
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        handle.render(),
    )
}

async fn status_page(State((observed, _)): State<AdminState>) -> impl IntoResponse {
    let page =
        tokio::task::spawn_blocking(move || crate::status_page::render(&observed.snapshot()))
            .await
            .unwrap_or_else(|e| format!("status page failed: {e}"));
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page)
}

/// `newsriver healthcheck`: asks a running daemon's `/readyz`; Ok when it is ready.
pub async fn healthcheck(listen: &str) -> Result<String> {
    let base = if listen.starts_with("http://") || listen.starts_with("https://") {
        listen.trim_end_matches('/').to_string()
    } else {
        format!("http://{listen}")
    };
    let url = format!("{base}/readyz");
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(5))
        .build()
        .context("HTTP client")?;
    let response = client
        .get(&url)
        .send()
        .await
        .with_context(|| format!("{url}: no answer"))?;
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    if status.is_success() {
        Ok(body.trim().to_string())
    } else {
        anyhow::bail!("{url}: {status}: {}", body.trim())
    }
}
