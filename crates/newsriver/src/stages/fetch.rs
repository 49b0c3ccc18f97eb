//! Fetch stage: up to `fetch.concurrency` page fetches at once over the shared fetcher
//! (the feed poller uses the same one, so per-host limits count both).

use std::sync::Arc;

use anyhow::Result;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use newsriver_fetcher::{FetchError, Fetcher, Page};
use tokio::sync::mpsc;

use super::{forward, next, receiver_stream};
use crate::config::FetchSettings;
use crate::kill_switch::KillSwitch;
use crate::messages::{Done, Fetched, Job};
use crate::shared::FeedRequests;
use crate::stats::Stats;

pub struct FetchStage {
    fetcher: Arc<Fetcher>,
    concurrency: usize,
    stats: Arc<Stats>,
    /// The listing feed's own request settings, for pages on its host.
    feed_requests: FeedRequests,
}

impl FetchStage {
    pub fn new(settings: &FetchSettings, fetcher: Arc<Fetcher>, stats: Arc<Stats>) -> FetchStage {
        FetchStage {
            fetcher,
            concurrency: settings.concurrency,
            stats,
            feed_requests: FeedRequests::default(),
        }
    }

    /// Fetches each page with the settings `requests` holds for the feed listing it.
    pub fn feed_requests(mut self, requests: FeedRequests) -> FetchStage {
        self.feed_requests = requests;
        self
    }

    /// Where a fetch's result goes: the page on to strip, or a failure to completion.
    // Both sides are messages handed on at once, not errors propagated up a stack.
    #[allow(clippy::result_large_err)]
    pub fn outcome(
        &self,
        job: Job,
        result: Result<Page, FetchError>,
        now: DateTime<Utc>,
    ) -> Result<Fetched, Done> {
        match result {
            Ok(page) => {
                Stats::add(&self.stats.fetched);
                Ok(Fetched {
                    job,
                    page,
                    fetched_at: now,
                })
            }
            Err(e) => {
                tracing::warn!(url = %job.page.url, error = %e, "fetch failed");
                Err(Done::Failed {
                    transient: e.is_transient(),
                    error: e.to_string(),
                    job,
                })
            }
        }
    }

    pub async fn run(
        self,
        jobs: mpsc::Receiver<Job>,
        out: mpsc::Sender<Fetched>,
        done: mpsc::Sender<Done>,
        kill: KillSwitch,
    ) -> Result<()> {
        let fetches = receiver_stream(jobs)
            .map(|job| {
                let fetcher = self.fetcher.clone();
                let request = self.feed_requests.for_page(&job.page.source, &job.page.url);
                async move {
                    let started = std::time::Instant::now();
                    let result = match request {
                        Some(request) => fetcher.fetch_page_with(&job.page.url, &request).await,
                        None => fetcher.fetch_page(&job.page.url).await,
                    };
                    record_fetch(&result, started.elapsed());
                    (job, result)
                }
            })
            .buffer_unordered(self.concurrency);
        tokio::pin!(fetches);
        while let Some((job, result)) = next(&kill, fetches.next()).await {
            forward(self.outcome(job, result, Utc::now()), &out, "strip", &done).await?;
        }
        Ok(())
    }
}

/// Fetch metrics: time by outcome, results by HTTP status class or kind of failure
/// (a fixed, small set of label values), bytes.
fn record_fetch(result: &Result<Page, FetchError>, took: std::time::Duration) {
    let (outcome, result_label) = match result {
        Ok(page) => {
            metrics::counter!("newsriver_fetched_bytes_total").increment(page.html.len() as u64);
            ("ok", "2xx")
        }
        Err(e) => (
            "error",
            match e {
                FetchError::Status { status, .. } => match status {
                    300..=399 => "3xx",
                    400..=499 => "4xx",
                    500..=599 => "5xx",
                    _ => "other_status",
                },
                FetchError::Timeout { .. } => "timeout",
                FetchError::TooLarge { .. } => "too_large",
                FetchError::Network { .. } => "network",
                FetchError::Blocked { .. } | FetchError::InvalidUrl { .. } => "refused_url",
                FetchError::RobotsDisallowed { .. } | FetchError::RobotsUnavailable { .. } => {
                    "robots"
                }
                FetchError::TooManyRedirects { .. } => "redirects",
                _ => "other",
            },
        ),
    };
    metrics::histogram!("newsriver_fetch_duration_seconds", "outcome" => outcome)
        .record(took.as_secs_f64());
    metrics::counter!("newsriver_fetch_responses_total", "result" => result_label).increment(1);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::test_job;

    fn stage() -> FetchStage {
        let fetcher = Fetcher::new(Default::default()).expect("fetcher");
        let settings = crate::config::Config::load(None).expect("defaults").fetch;
        FetchStage::new(&settings, Arc::new(fetcher), Arc::default())
    }

    #[test]
    fn a_page_goes_on_and_a_failure_says_whether_a_retry_can_help() {
        let stage = stage();
        let now = Utc::now();
        let page = Page {
            final_url: "https://a.test/x".into(),
            html: "<p>x</p>".into(),
            encoding: "UTF-8",
        };
        let fetched = stage
            .outcome(test_job("https://a.test/x"), Ok(page), now)
            .ok()
            .expect("fetched");
        assert_eq!(fetched.fetched_at, now);
        assert_eq!(stage.stats.get(&stage.stats.fetched), 1);

        let timeout = FetchError::Timeout {
            url: "https://a.test/y".into(),
        };
        match stage.outcome(test_job("https://a.test/y"), Err(timeout), now) {
            Err(Done::Failed { transient, .. }) => assert!(transient),
            _ => panic!("a timeout is a failure"),
        }
        let gone = FetchError::Status {
            url: "https://a.test/z".into(),
            status: 404,
            retry_after: None,
        };
        match stage.outcome(test_job("https://a.test/z"), Err(gone), now) {
            Err(Done::Failed {
                transient, error, ..
            }) => {
                assert!(!transient);
                assert!(error.contains("404"), "{error}");
            }
            _ => panic!("a 404 is a failure"),
        }
    }
}
