//! Kafka sink throughput and latency against a running broker, side by side with a plain
//! librdkafka producer with the same settings on the same broker in the same run.
//!
//!     tansu broker --listener-url tcp://127.0.0.1:19092 --advertised-listener-url tcp://127.0.0.1:19092 --storage-engine memory://tansu/ &
//!     cargo run --release -p newsriver-bench --bin kafkabench -- --brokers 127.0.0.1:19092

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use anyhow::Result;
use clap::Parser;
use newsriver_model::{article_id, Article, DedupInfo, DedupStatus, SCHEMA_VERSION};
use newsriver_publisher::{Encoded, KafkaConfig, KafkaSink, Pending, Sink};
use rdkafka::config::ClientConfig;
use rdkafka::producer::{FutureProducer, FutureRecord};

#[derive(Parser)]
#[command(about = "Produce 5 KB articles through the newsriver Kafka sink and a plain producer")]
struct Args {
    #[arg(long, default_value = "127.0.0.1:19092")]
    brokers: String,
    #[arg(long, default_value_t = 20_000)]
    messages: usize,
    /// Articles per sink batch (the pipeline's batch_size).
    #[arg(long, default_value_t = 512)]
    batch: usize,
    /// Sink batches sent and not yet acknowledged, at most (the pipeline's
    /// publish_in_flight); 1 is publishing one batch at a time.
    #[arg(long, default_value_t = 16)]
    in_flight: usize,
    #[arg(long, default_value_t = 5)]
    linger_ms: u64,
}

fn article(i: usize) -> Article {
    let url = format!("https://bench.test/article/{i}");
    let id = article_id(&url);
    Article {
        schema_version: SCHEMA_VERSION.into(),
        id: id.clone(),
        url: url.clone(),
        canonical_url: url,
        title: Some(format!("Benchmark article {i}")),
        text: "The committee met on Tuesday and heard three witnesses before adjourning. "
            .repeat(68),
        published_at: None,
        modified_at: None,
        authors: vec![],
        language: Some("en".into()),
        image: None,
        source: "backfill".into(),
        fetched_at: chrono::Utc::now(),
        dedup: DedupInfo {
            status: DedupStatus::Unique,
            duplicate_of: None,
            reason: None,
            story_id: id,
        },
        paywalled: false,
        keywords: Vec::new(),
    }
}

/// Resolves once the oldest batch in flight has all its delivery reports.
async fn front_reported(window: &mut VecDeque<(Instant, usize, Pending)>) {
    match window.front_mut() {
        Some((_, _, pending)) => pending.reported().await,
        None => std::future::pending().await,
    }
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

fn report(label: &str, n: usize, bytes: usize, wall: Duration, mut lat_ms: Vec<f64>) {
    lat_ms.sort_by(f64::total_cmp);
    println!(
        "  {label:<34} {:>8.0} msg/s {:>7.1} MB/s   latency median {:>7.2} ms  p99 {:>7.2} ms",
        n as f64 / wall.as_secs_f64(),
        bytes as f64 / 1e6 / wall.as_secs_f64(),
        percentile(&lat_ms, 0.5),
        percentile(&lat_ms, 0.99)
    );
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let articles: Vec<Article> = (0..args.messages).map(article).collect();
    // Encoded before either clock starts, as the pipeline's dedup stage does before the
    // publish stage: both producers are handed ready payloads. Timed for the record.
    let serializing = Instant::now();
    let encoded: Vec<Encoded> = articles
        .iter()
        .map(|a| Encoded::new(a).expect("an article encodes"))
        .collect();
    let serialize_ms = serializing.elapsed().as_secs_f64() * 1e3;
    let payloads: Vec<String> = encoded.iter().map(|e| e.json.clone()).collect();
    // The batches the publish stage would hand over, built before the clock as well.
    let mut batches: Vec<Vec<Encoded>> = encoded
        .chunks(args.batch.max(1))
        .map(<[Encoded]>::to_vec)
        .collect();
    batches.reverse();
    let bytes: usize = payloads.iter().map(String::len).sum();
    println!(
        "{} articles, {:.1} KB each as JSON, broker {}",
        args.messages,
        bytes as f64 / args.messages as f64 / 1024.0,
        args.brokers
    );
    let config = KafkaConfig {
        brokers: args.brokers.clone(),
        topic: "bench-sink".into(),
        create_topic: true,
        partitions: 6,
        replication_factor: 1,
        compression: "lz4".into(),
        linger_ms: args.linger_ms,
        batch_bytes: 1_048_576,
        message_timeout_ms: 0,
        properties: Default::default(),
    };

    // newsriver's sink as the publish stage drives it: up to `in_flight` batches sent, the
    // oldest confirmed as soon as the broker answered for all of it, the next sent while
    // there is room. A message's latency is from its batch's send to that batch's confirm.
    // Opening waits until the producer has its producer id, so the clock starts on a
    // ready producer, as it does for the plain one below.
    let opening = Instant::now();
    let mut sink = Sink::Kafka(Box::new(KafkaSink::open(&config).await?));
    let open_ms = opening.elapsed().as_secs_f64() * 1e3;
    let in_flight = args.in_flight.max(1);
    let mut window: VecDeque<(Instant, usize, Pending)> = VecDeque::with_capacity(in_flight);

    let mut lat = Vec::with_capacity(args.messages);
    let mut slowest = (0usize, 0f64);
    let mut confirmed = 0usize;
    // Time in `send`: enqueueing the encoded articles in librdkafka.
    let mut sending = Duration::ZERO;
    let start = Instant::now();
    while !batches.is_empty() || !window.is_empty() {
        let room = window.len() < in_flight && !batches.is_empty();
        tokio::select! {
            biased;
            () = front_reported(&mut window), if !window.is_empty() => {
                let Some((sent, n, pending)) = window.pop_front() else { continue };
                sink.confirm(pending).await?;
                let ms = sent.elapsed().as_secs_f64() * 1e3;
                if ms > slowest.1 {
                    slowest = (confirmed, ms);
                }
                confirmed += 1;
                lat.extend(std::iter::repeat_n(ms, n));
            }
            () = std::future::ready(()), if room => {
                let Some(batch) = batches.pop() else { continue };
                let sent = Instant::now();
                let n = batch.len();
                let pending = sink.send(batch).await?;
                sending += sent.elapsed();
                window.push_back((sent, n, pending));
            }
        }
    }
    sink.close().await?;
    let sink_wall = start.elapsed();
    report(
        &format!("newsriver KafkaSink ({in_flight} in flight)"),
        args.messages,
        bytes,
        sink_wall,
        lat,
    );
    println!(
        "  slowest sink batch: #{} of {confirmed}, {:.1} ms; opening the sink took {open_ms:.0} ms; {:.0} ms of {:.0} in send (enqueueing; encoding beforehand took {serialize_ms:.0} ms)",
        slowest.0,
        slowest.1,
        sending.as_secs_f64() * 1e3,
        sink_wall.as_secs_f64() * 1e3
    );

    // A plain idempotent librdkafka producer, same settings, everything in flight at once.
    newsriver_publisher::create_topic(&KafkaConfig {
        topic: "bench-plain".into(),
        ..config.clone()
    })
    .await?;
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &args.brokers)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("compression.type", "lz4")
        .set("linger.ms", args.linger_ms.to_string())
        .set("batch.size", "1048576")
        .set("message.timeout.ms", "0")
        .create()?;
    // One message delivered before the clock starts: an idempotent producer holds
    // everything until it has its producer id (0.5 to 1 s after start), which is not
    // throughput.
    let warming = Instant::now();
    producer
        .send(
            FutureRecord::<str, str>::to("bench-plain")
                .key("warm-up")
                .payload("{}"),
            Duration::from_secs(60),
        )
        .await
        .map_err(|(e, _)| anyhow::anyhow!("plain producer warm-up: {e}"))?;
    println!(
        "  (plain producer warm-up message delivered in {:.0} ms)",
        warming.elapsed().as_secs_f64() * 1e3
    );
    let start = Instant::now();
    let mut pending = Vec::with_capacity(args.messages);
    for (a, p) in articles.iter().zip(&payloads) {
        let sent = Instant::now();
        let f = producer.send(
            FutureRecord::to("bench-plain")
                .key(a.id.as_str())
                .payload(p.as_str()),
            Duration::from_secs(60),
        );
        pending.push(async move {
            let r = f.await;
            (r.is_ok(), sent.elapsed().as_secs_f64() * 1e3)
        });
    }
    let results = futures::future::join_all(pending).await;
    let wall = start.elapsed();
    let failed = results.iter().filter(|(ok, _)| !ok).count();
    report(
        "plain librdkafka producer",
        args.messages,
        bytes,
        wall,
        results.into_iter().map(|(_, l)| l).collect(),
    );
    if failed > 0 {
        println!("  plain producer: {failed} deliveries failed");
    }
    Ok(())
}
