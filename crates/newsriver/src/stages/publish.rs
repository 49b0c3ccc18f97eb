//! Publish and completion: the end of the path. Publish hands batches to the sink, several
//! in flight, and passes each article on only after the sink acknowledged its batch, batch
//! by batch in order; completion records how every job ended in the state store, which is
//! what makes delivery at-least-once.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{anyhow, Result};
use chrono::{DateTime, Utc};
use newsriver_publisher::{Encoded, Pending, Sink, SinkError};
use newsriver_store::{Completion, Listing, Outcome, WarcRecordDone};
use tokio::sync::mpsc;

use super::send;
use crate::config::{FetchSettings, PipelineConfig};
use crate::dead_letters::{DeadLetter, DeadLetters};
use crate::kill_switch::KillSwitch;
use crate::messages::{Done, Published, Ready};
use crate::shared::{lock, InFlight, SharedStore};
use crate::stats::Stats;

/// Most items the completion stage records in one transaction.
const COMPLETION_BATCH: usize = 512;

/// What the publish stage needs of a sink: [`Sink`] in the pipeline, a scripted one in the
/// tests. `send` hands a batch over, `reported` waits (cancel-safe) until the destination
/// answered for all of it, and `confirm` finishes its acknowledgement (resending what
/// failed): only after `confirm` returned Ok is anything of the batch durable.
pub trait BatchSink: Send {
    type Pending: Send;
    fn send(
        &mut self,
        batch: Vec<Encoded>,
    ) -> impl Future<Output = Result<Self::Pending, SinkError>> + Send;
    fn reported(pending: &mut Self::Pending) -> impl Future<Output = ()> + Send;
    fn confirm(
        &mut self,
        pending: Self::Pending,
    ) -> impl Future<Output = Result<(), SinkError>> + Send;
    fn close(&mut self) -> impl Future<Output = Result<(), SinkError>> + Send;
}

impl BatchSink for Sink {
    type Pending = Pending;
    fn send(
        &mut self,
        batch: Vec<Encoded>,
    ) -> impl Future<Output = Result<Pending, SinkError>> + Send {
        Sink::send(self, batch)
    }
    fn reported(pending: &mut Pending) -> impl Future<Output = ()> + Send {
        pending.reported()
    }
    fn confirm(&mut self, pending: Pending) -> impl Future<Output = Result<(), SinkError>> + Send {
        Sink::confirm(self, pending)
    }
    fn close(&mut self) -> impl Future<Output = Result<(), SinkError>> + Send {
        Sink::close(self)
    }
}

pub struct PublishStage<S = Sink> {
    sink: S,
    batch_size: usize,
    in_flight: usize,
}

impl<S: BatchSink> PublishStage<S> {
    pub fn new(settings: &PipelineConfig, sink: S) -> PublishStage<S> {
        PublishStage {
            sink,
            batch_size: settings.batch_size.max(1),
            in_flight: settings.publish_in_flight.max(1),
        }
    }

    /// Keeps up to `publish_in_flight` batches sent and unacknowledged, so the sink sends
    /// the next batch while the broker acknowledges the earlier ones (one batch at a time,
    /// the producer idled for a round trip between batches). Acknowledgements are taken
    /// strictly in the order the batches were sent, and a batch's articles go on to
    /// completion only once its own acknowledgement is confirmed: what is marked done is
    /// always a prefix of what was sent, and all of it is at the destination.
    pub async fn run(
        mut self,
        mut input: mpsc::Receiver<Ready>,
        done: mpsc::Sender<Done>,
        kill: KillSwitch,
    ) -> Result<()> {
        let max = self.batch_size;
        // Sent and not yet acknowledged, oldest first, each batch with the items it carries.
        let mut window: VecDeque<(Vec<Published>, S::Pending, Instant)> =
            VecDeque::with_capacity(self.in_flight);
        let mut open = true;
        // A failure leaves what was not acknowledged pending in the state store, to be
        // processed again on the next start.
        let unacked = |window: &VecDeque<(Vec<Published>, S::Pending, Instant)>, more: usize| {
            more + window.iter().map(|(b, _, _)| b.len()).sum::<usize>()
        };
        while open || !window.is_empty() {
            let room = open && window.len() < self.in_flight;
            tokio::select! {
                // After another stage's failure nothing more is acknowledged: what is in
                // flight stays pending, and there is nothing to flush for.
                biased;
                () = kill.killed() => return Ok(()),
                // The oldest batch first: confirming it frees room and lets completion on.
                () = front_reported::<S>(&mut window), if !window.is_empty() => {
                    let Some((batch, pending, sent_at)) = window.pop_front() else { continue };
                    let confirmed = tokio::select! {
                        biased;
                        () = kill.killed() => return Ok(()),
                        r = self.sink.confirm(pending) => r,
                    };
                    if let Err(e) = confirmed {
                        return Err(anyhow!(
                            "sink failed, stopping without acknowledging {} articles: {e}",
                            unacked(&window, batch.len())
                        ));
                    }
                    metrics::histogram!("newsriver_publish_duration_seconds")
                        .record(sent_at.elapsed());
                    for published in batch {
                        send(&done, Done::Published(Box::new(published)), "completion").await?;
                    }
                }
                first = input.recv(), if room => {
                    let Some(first) = first else {
                        open = false;
                        continue;
                    };
                    let mut batch = Vec::with_capacity(max);
                    batch.push(first);
                    while batch.len() < max {
                        match input.try_recv() {
                            Ok(next) => batch.push(next),
                            Err(_) => break,
                        }
                    }
                    let (encoded, batch): (Vec<Encoded>, Vec<Published>) =
                        batch.into_iter().map(|r| (r.encoded, r.published)).unzip();
                    let sent_at = Instant::now();
                    let sent = tokio::select! {
                        biased;
                        () = kill.killed() => return Ok(()),
                        r = self.sink.send(encoded) => r,
                    };
                    metrics::histogram!("newsriver_publish_batch_articles")
                        .record(batch.len() as f64);
                    match sent {
                        Ok(pending) => window.push_back((batch, pending, sent_at)),
                        Err(e) => {
                            return Err(anyhow!(
                                "sink failed, stopping without acknowledging {} articles: {e}",
                                unacked(&window, batch.len())
                            ))
                        }
                    }
                }
            }
        }
        self.sink.close().await?;
        Ok(())
    }
}

/// Resolves once the oldest batch in flight has all its reports (never, with none).
async fn front_reported<S: BatchSink>(
    window: &mut VecDeque<(Vec<Published>, S::Pending, Instant)>,
) {
    match window.front_mut() {
        Some((_, pending, _)) => S::reported(pending).await,
        None => std::future::pending().await,
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
    dead_letters: Option<DeadLetters>,
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
            dead_letters: None,
        }
    }

    /// Writes every job that ends without an article to `letters`.
    pub fn dead_letters(mut self, letters: DeadLetters) -> CompletionStage {
        self.dead_letters = Some(letters);
        self
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
                Done::Published(p) => url::Url::parse(&p.canonical_url)
                    .ok()
                    .and_then(|u| u.host_str().map(str::to_string)),
                _ => None,
            })
            .collect();
        let mut completions: Vec<Completion<'_>> = Vec::with_capacity(ended.len());
        let mut dead_letters: Vec<DeadLetter> = Vec::new();
        for (done, site) in ended.iter().zip(&sites) {
            match done {
                Done::Published(p) => {
                    Stats::add(&self.stats.published);
                    completions.push(Completion {
                        urls: vec![p.job.canonical_url.as_str(), p.canonical_url.as_str()],
                        outcome: Outcome::Published,
                        article: p.remembered.as_ref(),
                        listing: Listing {
                            title: p.title.as_deref(),
                            language: p.language.as_deref(),
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
                Done::Filtered { job, .. } => completions.push(Completion {
                    urls: vec![job.canonical_url.as_str()],
                    outcome: Outcome::Filtered,
                    article: None,
                    listing: Listing::default(),
                }),
                Done::Failed {
                    job,
                    error,
                    transient,
                } => {
                    let attempts = job.attempts + 1;
                    let dead = || DeadLetter {
                        url: job.page.url.clone(),
                        canonical_url: job.canonical_url.clone(),
                        source: job.page.source.clone(),
                        attempts,
                        reason: error.clone(),
                        failed_at: now,
                    };
                    if job.page.source == newsriver_model::BACKFILL_SOURCE {
                        Stats::add(&self.stats.failed);
                        dead_letters.push(dead());
                    } else if *transient && attempts < self.max_attempts {
                        let wait = self.retry_delay_secs.saturating_mul(1 << attempts.min(10));
                        let retry_at = now + chrono::Duration::seconds(wait as i64);
                        queue.record_attempt_failure(&job.canonical_url, error, retry_at)?;
                        Stats::add(&self.stats.deferred);
                    } else {
                        tracing::warn!(url = %job.page.url, attempts, error = %error, "giving up on article");
                        Stats::add(&self.stats.failed);
                        dead_letters.push(dead());
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
        // An archived record is done however its page ended (a failure there is no
        // fetch to retry: reading the record again would end the same way).
        let records: Vec<WarcRecordDone<'_>> = ended
            .iter()
            .filter_map(|done| {
                let (job, outcome) = match done {
                    Done::Published(p) => (&p.job, Outcome::Published),
                    Done::Duplicate { job, .. } => (job, Outcome::Duplicate),
                    Done::Filtered { job, .. } => (job, Outcome::Filtered),
                    Done::Failed { job, .. } => (job, Outcome::Failed),
                };
                let warc = job.warc.as_ref()?;
                Some(WarcRecordDone {
                    record_id: &warc.record_id,
                    file: &warc.file,
                    offset: warc.offset,
                    outcome,
                })
            })
            .collect();
        // On disk before the jobs count as done.
        if let Some(letters) = &mut self.dead_letters {
            letters.write(&dead_letters)?;
        }
        queue.complete_all_with_records(&completions, &records)?;
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
                    Done::Duplicate { job, .. }
                    | Done::Failed { job, .. }
                    | Done::Filtered { job, .. } => job,
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
    use crate::messages::{test_job, Job, ToPublish};
    use newsriver_model::Article;
    use newsriver_store::{FeedState, Store};

    fn pending(store: &mut Store, urls: &[&str]) {
        let items: Vec<Job> = urls
            .iter()
            .map(|u| Job {
                page: newsriver_model::PageJob {
                    url: u.to_string(),
                    source: "https://a.test/feed".into(),
                    hints: Default::default(),
                },
                canonical_url: u.to_string(),
                attempts: 0,
                warc: None,
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

    fn to_publish(url: &str) -> ToPublish {
        let id = newsriver_model::article_id(url);
        ToPublish {
            job: test_job(url),
            article: Article {
                schema_version: newsriver_model::SCHEMA_VERSION.into(),
                id: id.clone(),
                url: url.into(),
                canonical_url: url.into(),
                title: None,
                text: "body".into(),
                published_at: None,
                modified_at: None,
                authors: vec![],
                language: None,
                image: None,
                source: "https://a.test/feed".into(),
                fetched_at: Utc::now(),
                dedup: newsriver_model::DedupInfo {
                    status: newsriver_model::DedupStatus::Unique,
                    duplicate_of: None,
                    reason: None,
                    story_id: id,
                },
                paywalled: false,
                keywords: Vec::new(),
            },
            remembered: None,
        }
    }

    /// A sink whose acknowledgements the test gives, batch by batch, in any order: each
    /// `send` hands the test the batch's URLs and the sender of its outcome.
    struct ScriptedSink {
        sent: mpsc::UnboundedSender<(Vec<String>, tokio::sync::oneshot::Sender<bool>)>,
    }

    struct ScriptedPending {
        outcome: tokio::sync::oneshot::Receiver<bool>,
        reported: Option<bool>,
    }

    impl BatchSink for ScriptedSink {
        type Pending = ScriptedPending;
        async fn send(&mut self, batch: Vec<Encoded>) -> Result<ScriptedPending, SinkError> {
            let (tx, rx) = tokio::sync::oneshot::channel();
            let url = |e: &Encoded| {
                let record: serde_json::Value = serde_json::from_str(&e.json).expect("JSON");
                record["url"].as_str().expect("a url").to_string()
            };
            let urls = batch.iter().map(url).collect();
            self.sent.send((urls, tx)).expect("test listening");
            Ok(ScriptedPending {
                outcome: rx,
                reported: None,
            })
        }
        async fn reported(pending: &mut ScriptedPending) {
            if pending.reported.is_none() {
                pending.reported = Some((&mut pending.outcome).await.unwrap_or(false));
            }
        }
        async fn confirm(&mut self, mut pending: ScriptedPending) -> Result<(), SinkError> {
            Self::reported(&mut pending).await;
            match pending.reported {
                Some(true) => Ok(()),
                _ => Err(SinkError::Kafka("refused".into())),
            }
        }
        async fn close(&mut self) -> Result<(), SinkError> {
            Ok(())
        }
    }

    fn published_url(done: Done) -> String {
        match done {
            Done::Published(p) => p.job.canonical_url,
            Done::Duplicate { job, .. } | Done::Failed { job, .. } | Done::Filtered { job, .. } => {
                panic!("{} did not end as published", job.canonical_url)
            }
        }
    }

    const QUIET: std::time::Duration = std::time::Duration::from_millis(200);

    #[tokio::test]
    async fn batches_in_flight_are_acknowledged_in_order_and_only_after_their_own_ack() {
        let mut pipeline = crate::config::Config::load(None).unwrap().pipeline;
        pipeline.batch_size = 2;
        pipeline.publish_in_flight = 3;
        let (sent_tx, mut sent) = mpsc::unbounded_channel();
        let stage = PublishStage::new(&pipeline, ScriptedSink { sent: sent_tx });
        let (input_tx, input) = mpsc::channel(16);
        let urls: Vec<String> = (1..=8).map(|i| format!("https://a.test/{i}")).collect();
        for u in &urls {
            let item = to_publish(u);
            let ready = Ready {
                encoded: Encoded::new(&item.article).unwrap(),
                published: Published::from(item),
            };
            input_tx.send(ready).await.unwrap();
        }
        drop(input_tx);
        let (done_tx, mut done) = mpsc::channel(16);
        let run = tokio::spawn(stage.run(input, done_tx, KillSwitch::new()));

        // Three batches go out before any is acknowledged, and no fourth: the window is full.
        let mut acks = Vec::new();
        for want in [&urls[0..2], &urls[2..4], &urls[4..6]] {
            let (batch, ack) = tokio::time::timeout(QUIET, sent.recv())
                .await
                .expect("a batch sent while the earlier ones are unacknowledged")
                .unwrap();
            assert_eq!(batch, want);
            acks.push(Some(ack));
        }
        assert!(tokio::time::timeout(QUIET, sent.recv()).await.is_err());

        // The second batch's ack comes first: nothing is done until the first's.
        acks[1].take().unwrap().send(true).unwrap();
        assert!(
            tokio::time::timeout(QUIET, done.recv()).await.is_err(),
            "a batch was passed on before the one sent before it"
        );
        // The third fails, before the first is acknowledged.
        acks[2].take().unwrap().send(false).unwrap();
        assert!(tokio::time::timeout(QUIET, done.recv()).await.is_err());
        acks[0].take().unwrap().send(true).unwrap();

        // Until the stage stops (bounded, so a stage that went on instead fails the test).
        let mut ended = Vec::new();
        let stopped = tokio::time::timeout(std::time::Duration::from_secs(5), async {
            while let Some(d) = done.recv().await {
                ended.push(published_url(d));
            }
        })
        .await;
        assert!(stopped.is_ok(), "still running after {ended:?}");
        assert_eq!(
            ended,
            &urls[0..4],
            "the first two batches, in order, and no more"
        );
        let err = run
            .await
            .unwrap()
            .expect_err("the failed batch stops the stage");
        assert!(
            err.to_string().contains("without acknowledging 2 articles"),
            "{err}"
        );
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
