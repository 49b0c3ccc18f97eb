//! Publish and completion: the end of the path. Publish hands batches to the sink and
//! passes each article on only after the sink acknowledged its batch; completion records
//! how every job ended in the state store, which is what makes delivery at-least-once.

use std::sync::Arc;

use anyhow::{anyhow, Result};
use chrono::{DateTime, Utc};
use newsriver_model::Article;
use newsriver_publisher::Sink;
use newsriver_store::{Completion, Listing, Outcome};
use tokio::sync::mpsc;

use super::{next, send};
use crate::config::{FetchSettings, PipelineConfig};
use crate::kill_switch::KillSwitch;
use crate::messages::{Done, ToPublish};
use crate::shared::{lock, InFlight, SharedStore};
use crate::stats::Stats;

/// Most items the completion stage records in one transaction.
const COMPLETION_BATCH: usize = 512;

pub struct PublishStage {
    sink: Sink,
    batch_size: usize,
}

impl PublishStage {
    pub fn new(settings: &PipelineConfig, sink: Sink) -> PublishStage {
        PublishStage {
            sink,
            batch_size: settings.batch_size,
        }
    }

    pub async fn run(
        mut self,
        mut input: mpsc::Receiver<ToPublish>,
        done: mpsc::Sender<Done>,
        kill: KillSwitch,
    ) -> Result<()> {
        let max = self.batch_size;
        let mut batch: Vec<ToPublish> = Vec::with_capacity(max);
        let mut articles: Vec<Article> = Vec::with_capacity(max);
        while let Some(first) = next(&kill, input.recv()).await {
            batch.push(first);
            while batch.len() < max {
                match input.try_recv() {
                    Ok(next) => batch.push(next),
                    Err(_) => break,
                }
            }
            articles.clear();
            articles.extend(batch.iter().map(|b| b.article.clone()));
            if let Err(e) = self.sink.publish(&articles).await {
                // Nothing in this batch was acknowledged: it stays pending in the state
                // store and is processed again on the next start.
                return Err(anyhow!(
                    "sink failed, stopping without acknowledging {} articles: {e}",
                    batch.len()
                ));
            }
            for item in batch.drain(..) {
                send(&done, Done::Published(Box::new(item)), "completion").await?;
            }
        }
        // After another stage's failure nothing more is acknowledged: nothing to flush for.
        if !kill.is_killed() {
            self.sink.close().await?;
        }
        Ok(())
    }
}

pub struct CompletionStage {
    max_attempts: u32,
    retry_delay_secs: u64,
    store: SharedStore,
    in_flight: InFlight,
    stats: Arc<Stats>,
    /// Called once per finished job (progress bars).
    on_done: Option<Box<dyn Fn() + Send + Sync>>,
}

impl CompletionStage {
    pub fn new(
        settings: &FetchSettings,
        store: SharedStore,
        in_flight: InFlight,
        stats: Arc<Stats>,
    ) -> CompletionStage {
        CompletionStage {
            max_attempts: settings.max_attempts,
            retry_delay_secs: settings.retry_delay_secs,
            store,
            in_flight,
            stats,
            on_done: None,
        }
    }

    /// Calls `f` once per finished job.
    pub fn on_done(mut self, f: impl Fn() + Send + Sync + 'static) -> CompletionStage {
        self.on_done = Some(Box::new(f));
        self
    }

    /// Records how each job of `ended` ended, in one transaction: a published article is
    /// remembered and its URLs seen; a duplicate's URLs are seen; a failure is retried
    /// later (transient, attempts left), or given up on and seen. A URL list's failures
    /// are not remembered: running the list again retries them.
    pub fn record(&mut self, ended: &[Done], now: DateTime<Utc>) -> Result<()> {
        let mut store = lock(&self.store);
        let mut queue = store.queue();
        // The host each published article is listed under in `newsriver stories`.
        let sites: Vec<Option<String>> = ended
            .iter()
            .map(|done| match done {
                Done::Published(p) => url::Url::parse(&p.article.canonical_url)
                    .ok()
                    .and_then(|u| u.host_str().map(str::to_string)),
                _ => None,
            })
            .collect();
        let mut completions: Vec<Completion<'_>> = Vec::with_capacity(ended.len());
        for (done, site) in ended.iter().zip(&sites) {
            match done {
                Done::Published(p) => {
                    Stats::add(&self.stats.published);
                    completions.push(Completion {
                        urls: vec![
                            p.job.canonical_url.as_str(),
                            p.article.canonical_url.as_str(),
                        ],
                        outcome: Outcome::Published,
                        article: p.remembered.as_ref(),
                        listing: Listing {
                            title: p.article.title.as_deref(),
                            language: p.article.language.as_deref(),
                            site: site.as_deref(),
                        },
                    });
                }
                Done::Duplicate {
                    job,
                    article_canonical,
                } => completions.push(Completion {
                    urls: vec![job.canonical_url.as_str(), article_canonical.as_str()],
                    outcome: Outcome::Duplicate,
                    article: None,
                    listing: Listing::default(),
                }),
                Done::Failed {
                    job,
                    error,
                    transient,
                } => {
                    let attempts = job.attempts + 1;
                    if job.page.source == newsriver_model::BACKFILL_SOURCE {
                        Stats::add(&self.stats.failed);
                    } else if *transient && attempts < self.max_attempts {
                        let wait = self.retry_delay_secs.saturating_mul(1 << attempts.min(10));
                        let retry_at = now + chrono::Duration::seconds(wait as i64);
                        queue.record_attempt_failure(&job.canonical_url, error, retry_at)?;
                        Stats::add(&self.stats.deferred);
                    } else {
                        tracing::warn!(url = %job.page.url, attempts, error = %error, "giving up on article");
                        Stats::add(&self.stats.failed);
                        completions.push(Completion {
                            urls: vec![job.canonical_url.as_str()],
                            outcome: Outcome::Failed,
                            article: None,
                            listing: Listing::default(),
                        });
                    }
                }
            }
        }
        queue.complete_all(&completions)?;
        Ok(())
    }

    /// Not stopped by the kill switch: it ends when every stage before it has dropped its
    /// sender, so whatever was acknowledged before a failure is still recorded.
    pub async fn run(mut self, mut input: mpsc::Receiver<Done>) -> Result<()> {
        let mut ended: Vec<Done> = Vec::with_capacity(COMPLETION_BATCH);
        // Whatever has arrived is recorded in one transaction: at a commit per article the
        // store, not the sink, would set the pace.
        while input.recv_many(&mut ended, COMPLETION_BATCH).await > 0 {
            // A commit waits for the disk (seconds on a busy one): the runtime's other
            // tasks (fetches with their timeouts) move to another worker meanwhile.
            tokio::task::block_in_place(|| self.record(&ended, Utc::now()))?;
            for done in ended.drain(..) {
                let job = match &done {
                    Done::Published(p) => &p.job,
                    Done::Duplicate { job, .. } | Done::Failed { job, .. } => job,
                };
                self.in_flight.remove(&job.canonical_url);
                if let Some(f) = &self.on_done {
                    f();
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::test_job;
    use newsriver_store::{FeedState, PendingItem, Store};

    fn pending(store: &mut Store, urls: &[&str]) {
        let items: Vec<PendingItem> = urls
            .iter()
            .map(|u| PendingItem {
                canonical_url: u.to_string(),
                url: u.to_string(),
                source: "https://a.test/feed".into(),
                hints: Default::default(),
                attempts: 0,
            })
            .collect();
        let mut feed = FeedState {
            url: "https://a.test/feed".into(),
            ..Default::default()
        };
        store
            .queue()
            .record_poll(&mut feed, &items, |_, _| {})
            .unwrap();
    }

    #[test]
    fn a_failure_is_retried_while_attempts_last_then_given_up_and_a_list_forgets_it() {
        let mut store = Store::open_in_memory().unwrap();
        pending(&mut store, &["https://a.test/1", "https://a.test/2"]);
        let store = Arc::new(std::sync::Mutex::new(store));
        let settings = crate::config::Config::load(None).unwrap().fetch;
        let in_flight = InFlight::default();
        let mut completion =
            CompletionStage::new(&settings, store.clone(), in_flight, Arc::default());
        let failed = |url: &str, attempts: u32, transient: bool, source: &str| {
            let mut job = test_job(url);
            job.attempts = attempts;
            job.page.source = source.into();
            Done::Failed {
                job,
                error: "timed out".into(),
                transient,
            }
        };
        let feed = "https://a.test/feed";
        let now = Utc::now();
        completion
            .record(
                &[
                    failed("https://a.test/1", 0, true, feed),
                    failed("https://a.test/2", settings.max_attempts - 1, true, feed),
                    failed(
                        "https://b.test/x",
                        0,
                        false,
                        newsriver_model::BACKFILL_SOURCE,
                    ),
                ],
                now,
            )
            .unwrap();
        let mut s = lock(&store);
        let s = s.queue();
        assert!(s.is_pending("https://a.test/1").unwrap(), "retried later");
        let retrying = s.retrying(10).unwrap();
        assert_eq!(retrying.len(), 1);
        assert_eq!(retrying[0].attempts, 1, "one failed attempt recorded");
        assert!(s.is_seen("https://a.test/2").unwrap(), "given up");
        assert!(!s.is_pending("https://a.test/2").unwrap());
        assert!(
            !s.is_seen("https://b.test/x").unwrap(),
            "a list remembers nothing"
        );
        let stats = &completion.stats;
        assert_eq!(
            (stats.get(&stats.deferred), stats.get(&stats.failed)),
            (1, 2)
        );
    }
}
