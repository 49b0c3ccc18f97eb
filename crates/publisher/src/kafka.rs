//! Kafka sink: an idempotent producer (acks=all) keyed by article id, so the versions of
//! one article stay ordered in one partition. A batch counts as published only when the
//! broker acknowledged every message of it.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use newsriver_model::SCHEMA_VERSION;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::{ClientContext, DefaultClientContext};
use rdkafka::config::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord, Producer};
use serde::Deserialize;

use crate::{Encoded, SinkError};

/// Kafka settings; `config/newsriver.toml` documents each with its default.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaConfig {
    pub brokers: String,
    pub topic: String,
    /// Create the topic at start when it does not exist.
    pub create_topic: bool,
    pub partitions: i32,
    pub replication_factor: i32,
    /// none, gzip, snappy, lz4 or zstd.
    pub compression: String,
    pub linger_ms: u64,
    /// Maximum bytes of one produce batch (librdkafka batch.size).
    pub batch_bytes: u64,
    /// How long librdkafka keeps trying to deliver a message; 0 = for ever, so a broker
    /// outage makes the pipeline wait instead of dropping anything.
    pub message_timeout_ms: u64,
    /// Further librdkafka producer properties (security.protocol, sasl.*, ...).
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
}

fn kafka_err(context: &str, e: KafkaError) -> SinkError {
    SinkError::Kafka(format!("{context}: {e}"))
}

pub struct KafkaSink {
    config: KafkaConfig,
    producer: FutureProducer<SinkContext>,
    /// The producer's own context, shared: whether it has its producer id.
    context: SinkContext,
}

/// How long opening the sink waits for the producer's id before going on without it.
const READY_WAIT: Duration = Duration::from_secs(5);

/// How often a producer made to replace one (see [`needs_new_producer`]) that still has no
/// id is reported while the sink waits for it. Nothing is sent again before it has one: it
/// is often made while the broker is away, and a message enqueued before the id arrives
/// spends its `message.timeout.ms` waiting for it; with a short timeout it times out again
/// (what undid an earlier attempt, which did not wait), and if the id came just before
/// that, librdkafka would bump the new producer's epoch too.
const RENEWED_READY_WAIT: Duration = Duration::from_secs(30);

/// How often librdkafka reports its statistics, which is how the sink learns that the
/// producer has its id (librdkafka has no call for it). A report is a few KB of JSON.
const STATS_INTERVAL_MS: &str = "100";

/// Notes, from librdkafka's statistics, when the idempotent producer has its producer id.
#[derive(Default, Clone)]
struct SinkContext {
    ready: Arc<AtomicBool>,
}

impl SinkContext {
    fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Relaxed)
    }
}

impl ClientContext for SinkContext {
    fn stats_raw(&self, statistics: &[u8]) {
        const ASSIGNED: &[u8] = br#""idemp_state": "Assigned""#;
        if !self.is_ready() && statistics.windows(ASSIGNED.len()).any(|w| w == ASSIGNED) {
            self.ready.store(true, Ordering::Relaxed);
        }
    }
}

impl KafkaSink {
    fn producer(
        config: &KafkaConfig,
    ) -> Result<(FutureProducer<SinkContext>, SinkContext), SinkError> {
        let mut cc = ClientConfig::new();
        cc.set("bootstrap.servers", &config.brokers)
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("compression.type", &config.compression)
            .set("linger.ms", config.linger_ms.to_string())
            .set("batch.size", config.batch_bytes.to_string())
            .set("message.timeout.ms", config.message_timeout_ms.to_string())
            .set("client.id", "newsriver")
            .set("statistics.interval.ms", STATS_INTERVAL_MS);
        for (k, v) in &config.properties {
            cc.set(k, v);
        }
        let context = SinkContext::default();
        let producer = cc
            .create_with_context(context.clone())
            .map_err(|e| kafka_err("creating producer", e))?;
        Ok((producer, context))
    }

    /// Connects, and creates the topic first when configured to.
    pub async fn open(config: &KafkaConfig) -> Result<KafkaSink, SinkError> {
        if config.create_topic {
            create_topic(config).await?;
        }
        let (producer, context) = Self::producer(config)?;
        let sink = KafkaSink {
            producer,
            context,
            config: config.clone(),
        };
        if !sink.wait_ready(READY_WAIT).await {
            tracing::warn!(
                brokers = %config.brokers,
                "Kafka producer has no producer id yet; the first batch will wait for it"
            );
        }
        Ok(sink)
    }

    /// Waits (`bound` at most) until the producer has its producer id. An
    /// idempotent producer holds every message until it has one, and librdkafka asks for
    /// it on a 500 ms timer once a broker is up (often twice, when the first try finds
    /// the broker not yet connected), so without this the first batch after start
    /// waited 0.5 to 1 s: the p99 stall of kafkabench. A metadata response also makes
    /// librdkafka try again at once, so the wait asks for the topic's metadata until the
    /// id is there. Returns whether the producer has its id. A broker that is away does
    /// not stop the start: after the bound the sink opens anyway and the first batch
    /// waits, as before.
    async fn wait_ready(&self, bound: Duration) -> bool {
        let start = std::time::Instant::now();
        while !self.context.is_ready() {
            if start.elapsed() > bound {
                return false;
            }
            let producer = self.producer.clone();
            let topic = self.config.topic.clone();
            // Blocking in librdkafka; its outcome does not matter, only the response.
            let _ = tokio::task::spawn_blocking(move || {
                producer
                    .client()
                    .fetch_metadata(Some(&topic), Duration::from_secs(1))
                    .map(|_| ())
            })
            .await;
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tracing::debug!(elapsed = ?start.elapsed(), "Kafka producer ready");
        true
    }

    /// Enqueues the batch in librdkafka and returns without waiting for the broker:
    /// [`KafkaSink::confirm`] waits for the acknowledgements. Several batches can be
    /// pending at once; the producer keeps the messages of each partition in order.
    pub async fn send(&mut self, batch: Vec<Encoded>) -> Result<KafkaPending, SinkError> {
        self.enqueue(batch, 0).await
    }

    /// Returns once the broker acknowledged every message of `pending`. Messages that
    /// failed are sent again, with a growing pause between rounds; when librdkafka
    /// reports a fatal error, or the failures are ones that only a new producer id cures
    /// (message timeouts among them, see [`needs_new_producer`]), the producer is
    /// replaced first. Only a permanent refusal by the broker is returned as an error.
    pub async fn confirm(&mut self, mut pending: KafkaPending) -> Result<(), SinkError> {
        loop {
            pending.reported().await;
            let mut failed = Vec::new();
            // Why the producer must be replaced before anything is sent again, if it must.
            let mut renew = None;
            for (message, report) in pending.messages.into_iter().zip(pending.reports) {
                match report {
                    Report::Delivered => {}
                    Report::Failed(Some(e)) if is_permanent(&e) => {
                        metrics::counter!("newsriver_kafka_delivery_errors_total", "kind" => "permanent")
                            .increment(1);
                        return Err(kafka_err(
                            &format!("broker refused article {}", message.id),
                            e,
                        ));
                    }
                    Report::Failed(Some(e)) => {
                        metrics::counter!("newsriver_kafka_delivery_errors_total", "kind" => "transient")
                            .increment(1);
                        tracing::warn!(id = %message.id, error = %e, "delivery failed; will resend");
                        if renew.is_none() && needs_new_producer(&e) {
                            renew = Some(e.to_string());
                        }
                        failed.push(message);
                    }
                    // The producer went away with the message (it was rebuilt): resend.
                    Report::Failed(None) | Report::Waiting(_) => failed.push(message),
                }
            }
            if failed.is_empty() {
                return Ok(());
            }
            if let Some((code, reason)) = self.producer.client().fatal_error() {
                renew = Some(format!("fatal producer error {code:?}: {reason}"));
            }
            let round = pending.round + 1;
            match renew {
                // At once, not after the pause: after a timeout the old producer has to go
                // before the broker is back and sees its self-bumped epoch. Waiting for
                // the new producer's id is the pause.
                Some(reason) => {
                    tracing::warn!(%reason, round, "replacing the Kafka producer");
                    self.renew_producer().await?;
                }
                None => {
                    tokio::time::sleep(Duration::from_millis(200 * u64::from(round.min(25)))).await
                }
            }
            pending = self.enqueue(failed, round).await?;
        }
    }

    /// Replaces the producer by a new one and waits for the new one's producer id, however
    /// long the broker takes to give it (see [`RENEWED_READY_WAIT`]). Dropping the
    /// old producer purges what it still holds: the other batches in flight get failed
    /// reports and are sent again when they are confirmed, in the order they were sent (a
    /// message purged in flight may have been written too: at least once, as after any
    /// timeout).
    async fn renew_producer(&mut self) -> Result<(), SinkError> {
        let (producer, context) = Self::producer(&self.config)?;
        let old = std::mem::replace(&mut self.producer, producer);
        self.context = context;
        // The drop flushes the purged reports for up to 500 ms: not on a runtime thread.
        let _ = tokio::task::spawn_blocking(move || drop(old)).await;
        metrics::counter!("newsriver_kafka_producer_renewals_total").increment(1);
        let start = std::time::Instant::now();
        while !self.wait_ready(RENEWED_READY_WAIT).await {
            tracing::warn!(
                brokers = %self.config.brokers,
                waited = ?start.elapsed(),
                "new Kafka producer has no producer id yet; waiting before sending again"
            );
        }
        tracing::info!(elapsed = ?start.elapsed(), "new Kafka producer ready");
        Ok(())
    }

    async fn enqueue(
        &mut self,
        messages: Vec<Encoded>,
        round: u32,
    ) -> Result<KafkaPending, SinkError> {
        let mut reports = Vec::with_capacity(messages.len());
        for m in &messages {
            let future = loop {
                let record = FutureRecord::to(&self.config.topic)
                    .key(m.id.as_str())
                    .payload(m.json.as_str())
                    .headers(headers(&m.story_id, &m.source));
                match self.producer.send_result(record) {
                    Ok(f) => break f,
                    // The local queue is full: the broker is slow or away. Wait.
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    Err((e, _)) => return Err(kafka_err("enqueueing message", e)),
                }
            };
            reports.push(Report::Waiting(future));
        }
        Ok(KafkaPending {
            messages,
            reports,
            round,
        })
    }

    /// Waits for everything in flight to be acknowledged.
    pub async fn close(&mut self) -> Result<(), SinkError> {
        let producer = self.producer.clone();
        tokio::task::spawn_blocking(move || producer.flush(Duration::from_secs(60)))
            .await
            .map_err(|e| SinkError::Kafka(format!("flush task: {e}")))?
            .map_err(|e| kafka_err("flushing producer", e))
    }
}

/// A batch enqueued in librdkafka, with a delivery report to come for each message.
pub struct KafkaPending {
    /// What each message is sent again from.
    messages: Vec<Encoded>,
    /// One per message, in the same order.
    reports: Vec<Report>,
    /// How many times these messages were sent before (the pause before the next grows).
    round: u32,
}

impl KafkaPending {
    /// Waits for every delivery report. Cancel-safe: a report is stored as it arrives.
    pub async fn reported(&mut self) {
        for report in &mut self.reports {
            if let Report::Waiting(future) = report {
                *report = match future.await {
                    Ok(Ok(_delivery)) => Report::Delivered,
                    Ok(Err((e, _message))) => Report::Failed(Some(e)),
                    Err(_canceled) => Report::Failed(None),
                };
            }
        }
    }
}

enum Report {
    Waiting(DeliveryFuture),
    Delivered,
    /// `None`: the producer was dropped before reporting.
    Failed(Option<KafkaError>),
}

fn headers(story_id: &str, source: &str) -> OwnedHeaders {
    OwnedHeaders::new()
        .insert(Header {
            key: "schema_version",
            value: Some(SCHEMA_VERSION),
        })
        .insert(Header {
            key: "content-type",
            value: Some("application/json"),
        })
        .insert(Header {
            key: "story_id",
            value: Some(story_id),
        })
        .insert(Header {
            key: "source",
            value: Some(source),
        })
}

/// Errors the client recovers from by reconnecting.
fn is_transient(e: &KafkaError) -> bool {
    matches!(
        e.rdkafka_error_code(),
        Some(
            RDKafkaErrorCode::BrokerTransportFailure
                | RDKafkaErrorCode::AllBrokersDown
                | RDKafkaErrorCode::NetworkException
                | RDKafkaErrorCode::RequestTimedOut
                | RDKafkaErrorCode::OperationTimedOut
                | RDKafkaErrorCode::LeaderNotAvailable
                | RDKafkaErrorCode::NotLeaderForPartition
                | RDKafkaErrorCode::NotCoordinator
                | RDKafkaErrorCode::CoordinatorLoadInProgress
                | RDKafkaErrorCode::CoordinatorNotAvailable
        )
    )
}

/// Delivery errors after which the producer is replaced by a new one, with a new producer
/// id, before anything is sent again.
///
/// A message that times out (`message.timeout.ms`) leaves a gap in the idempotent
/// producer's sequence numbers, and librdkafka closes the gap by bumping the producer's
/// epoch itself, without asking the broker ("The idempotent producer can bump its own
/// epoch", rdkafka_idempotence.c), sequences starting again at 0. Apache Kafka takes that
/// from a non-transactional producer. tansu 0.6 does not: its idempotence check finds no
/// row for the epoch and panics ("more or less than one row", lite.rs), which ends its
/// storage task; from then on it answered every produce with UNKNOWN_SERVER_ERROR
/// ("Unknown broker error") and a new producer got no id from it, so the resends were
/// refused for ever. A new producer asks the broker for an id and epoch (InitProducerId),
/// which every broker takes; made as soon as the timeouts are reported, normally while
/// the broker is still away, it also means the self-bumped epoch is never sent. The broker
/// codes are what a broker answers a producer id or epoch it does not know or no longer
/// takes, or a sequence it cannot place: a new producer id cures those too.
fn needs_new_producer(e: &KafkaError) -> bool {
    matches!(
        e.rdkafka_error_code(),
        Some(
            RDKafkaErrorCode::MessageTimedOut
                | RDKafkaErrorCode::Unknown
                | RDKafkaErrorCode::UnknownProducerId
                | RDKafkaErrorCode::InvalidProducerEpoch
                | RDKafkaErrorCode::ProducerFenced
                | RDKafkaErrorCode::OutOfOrderSequenceNumber
                | RDKafkaErrorCode::InvalidProducerIdMapping
        )
    )
}

/// Errors that another attempt will not fix.
fn is_permanent(e: &KafkaError) -> bool {
    matches!(
        e.rdkafka_error_code(),
        Some(
            RDKafkaErrorCode::MessageSizeTooLarge
                | RDKafkaErrorCode::TopicAuthorizationFailed
                | RDKafkaErrorCode::ClusterAuthorizationFailed
                | RDKafkaErrorCode::InvalidMessage
                | RDKafkaErrorCode::InvalidRecord
        )
    )
}

/// Creates the topic with the configured partitions; an existing topic is left as it is.
pub async fn create_topic(config: &KafkaConfig) -> Result<(), SinkError> {
    let mut cc = ClientConfig::new();
    cc.set("bootstrap.servers", &config.brokers);
    for (k, v) in &config.properties {
        cc.set(k, v);
    }
    let admin: AdminClient<DefaultClientContext> = cc
        .create()
        .map_err(|e| kafka_err("creating admin client", e))?;
    let topic = NewTopic::new(
        &config.topic,
        config.partitions,
        TopicReplication::Fixed(config.replication_factor),
    );
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    let results = admin
        .create_topics([&topic], &options)
        .await
        .map_err(|e| kafka_err("creating topic", e))?;
    for r in results {
        match r {
            Ok(name) => {
                tracing::info!(topic = %name, partitions = config.partitions, "created Kafka topic")
            }
            Err((name, RDKafkaErrorCode::TopicAlreadyExists)) => {
                tracing::debug!(topic = %name, "Kafka topic exists")
            }
            Err((name, code)) => {
                return Err(SinkError::Kafka(format!("creating topic {name}: {code}")));
            }
        }
    }
    Ok(())
}

/// What `newsriver consume` reads.
#[derive(Debug, Clone)]
pub struct ConsumeOptions {
    pub brokers: String,
    pub topic: String,
    /// Consumer group; without one, a private group that commits nothing.
    pub group: Option<String>,
    pub from_beginning: bool,
    /// Stop after this many messages.
    pub max_messages: Option<u64>,
    /// Stop when nothing arrived for this long.
    pub idle_timeout: Option<Duration>,
    pub properties: BTreeMap<String, String>,
}

/// Reads the topic and hands each message value to `out`, until a limit is reached or
/// `stop` resolves. Returns how many messages were read.
pub async fn consume(
    options: &ConsumeOptions,
    mut out: impl FnMut(&[u8]) -> std::io::Result<()>,
    stop: impl std::future::Future<Output = ()>,
) -> Result<u64, SinkError> {
    use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
    use rdkafka::Message;

    let (group, commit) = match &options.group {
        Some(g) => (g.clone(), true),
        None => (
            format!(
                "newsriver-consume-{}-{}",
                std::process::id(),
                unique_suffix()
            ),
            false,
        ),
    };
    let mut cc = ClientConfig::new();
    cc.set("bootstrap.servers", &options.brokers)
        .set("group.id", &group)
        .set("enable.auto.commit", commit.to_string())
        .set(
            "auto.offset.reset",
            if options.from_beginning {
                "earliest"
            } else {
                "latest"
            },
        )
        .set("enable.partition.eof", "false");
    for (k, v) in &options.properties {
        cc.set(k, v);
    }
    let consumer: StreamConsumer = cc.create().map_err(|e| kafka_err("creating consumer", e))?;
    consumer
        .subscribe(&[&options.topic])
        .map_err(|e| kafka_err("subscribing", e))?;
    tokio::pin!(stop);
    let mut count = 0u64;
    let mut last_message = std::time::Instant::now();
    loop {
        if options.max_messages.is_some_and(|m| count >= m) {
            break;
        }
        // Idle time counts from the last message, whatever errors came in between.
        let remaining = options
            .idle_timeout
            .map(|t| t.saturating_sub(last_message.elapsed()));
        if remaining == Some(Duration::ZERO) {
            break;
        }
        let next = async {
            match remaining {
                Some(t) => tokio::time::timeout(t, consumer.recv()).await.ok(),
                None => Some(consumer.recv().await),
            }
        };
        let msg = tokio::select! {
            _ = &mut stop => break,
            m = next => m,
        };
        let Some(msg) = msg else { break };
        let msg = match msg {
            Ok(m) => m,
            // librdkafka reconnects by itself; a broker that is away is worth waiting for.
            Err(e) if is_transient(&e) => {
                tracing::warn!(error = %e, "Kafka broker unavailable; waiting");
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
            Err(e) => return Err(kafka_err("reading", e)),
        };
        if let Some(payload) = msg.payload() {
            out(payload).map_err(SinkError::Write)?;
            count += 1;
            last_message = std::time::Instant::now();
        }
    }
    if commit && count > 0 {
        if let Err(e) = consumer.commit_consumer_state(CommitMode::Sync) {
            tracing::warn!(error = %e, "committing consumer offsets failed");
        }
    }
    Ok(count)
}

fn unique_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn produce_error(code: RDKafkaErrorCode) -> KafkaError {
        KafkaError::MessageProduction(code)
    }

    #[test]
    fn timeouts_and_refused_producer_ids_call_for_a_new_producer() {
        for code in [
            RDKafkaErrorCode::MessageTimedOut,
            RDKafkaErrorCode::Unknown,
            RDKafkaErrorCode::UnknownProducerId,
            RDKafkaErrorCode::InvalidProducerEpoch,
            RDKafkaErrorCode::OutOfOrderSequenceNumber,
        ] {
            let e = produce_error(code);
            assert!(needs_new_producer(&e), "{code:?}");
            assert!(!is_permanent(&e), "{code:?} is sent again");
        }
        // What a broker away, or a producer replaced, answers: sent again as they are.
        for code in [
            RDKafkaErrorCode::BrokerTransportFailure,
            RDKafkaErrorCode::AllBrokersDown,
            RDKafkaErrorCode::PurgeQueue,
            RDKafkaErrorCode::PurgeInflight,
            RDKafkaErrorCode::QueueFull,
        ] {
            assert!(!needs_new_producer(&produce_error(code)), "{code:?}");
        }
    }
}
