//! newsriver's publisher: sinks that take batches of articles and acknowledge them.
//!
//! Publishing a batch has two halves: [`Sink::send`] hands it to the destination and
//! returns a [`Pending`] acknowledgement, and [`Sink::confirm`] returns only once the batch
//! is durable there (written and flushed to stdout, written and fsynced to a file, every
//! message acknowledged by the Kafka broker). The pipeline marks articles done only after
//! `confirm`, which is what makes delivery at-least-once; between the two halves it can
//! send further batches, so the destination never idles waiting for the next one.

#[cfg(feature = "kafka")]
mod kafka;

use std::path::{Path, PathBuf};

use newsriver_model::Article;
use tokio::io::{AsyncWrite, AsyncWriteExt};

#[cfg(feature = "kafka")]
pub use kafka::{consume, create_topic, ConsumeOptions, KafkaConfig, KafkaPending, KafkaSink};

#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    #[error("Kafka: {0}")]
    Kafka(String),
    #[error("cannot open output file {path}: {source}")]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("writing output: {0}")]
    Write(#[from] std::io::Error),
    #[error("serializing article {id}: {reason}")]
    Serialize { id: String, reason: String },
}

/// Where JSON lines go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    Stdout,
    /// Appended to; created if missing.
    File(PathBuf),
}

impl Destination {
    /// `-` means standard output.
    pub fn parse(s: &str) -> Destination {
        if s == "-" || s.is_empty() {
            Destination::Stdout
        } else {
            Destination::File(PathBuf::from(s))
        }
    }
}

/// Writes one JSON object per line.
pub struct JsonLinesSink {
    out: Box<dyn AsyncWrite + Send + Unpin>,
    file: Option<tokio::fs::File>,
    buf: Vec<u8>,
}

/// An article as the sinks write it: its JSON, and what a Kafka message carries beside
/// it (the key and two headers). Encoded once, before the publish stage, so that
/// publishing is only handing bytes over.
#[derive(Debug, Clone, PartialEq)]
pub struct Encoded {
    pub id: String,
    pub story_id: String,
    pub source: String,
    pub json: String,
}

impl Encoded {
    pub fn new(article: &Article) -> Result<Encoded, SinkError> {
        let json = serde_json::to_string(article).map_err(|e| SinkError::Serialize {
            id: article.id.clone(),
            reason: e.to_string(),
        })?;
        Ok(Encoded {
            id: article.id.clone(),
            story_id: article.dedup.story_id.clone(),
            source: article.source.clone(),
            json,
        })
    }
}

impl JsonLinesSink {
    pub async fn open(dest: &Destination) -> Result<JsonLinesSink, SinkError> {
        match dest {
            Destination::Stdout => Ok(JsonLinesSink {
                out: Box::new(tokio::io::stdout()),
                file: None,
                buf: Vec::new(),
            }),
            Destination::File(path) => {
                let file = open_append(path).await?;
                Ok(JsonLinesSink {
                    out: Box::new(tokio::io::sink()),
                    file: Some(file),
                    buf: Vec::new(),
                })
            }
        }
    }

    /// Writes the batch and returns once it is flushed (and fsynced, for files).
    pub async fn publish(&mut self, batch: &[Encoded]) -> Result<(), SinkError> {
        self.buf.clear();
        for encoded in batch {
            self.buf.extend_from_slice(encoded.json.as_bytes());
            self.buf.push(b'\n');
        }
        match &mut self.file {
            Some(f) => {
                f.write_all(&self.buf).await?;
                f.flush().await?;
                f.sync_data().await?;
            }
            None => {
                self.out.write_all(&self.buf).await?;
                self.out.flush().await?;
            }
        }
        Ok(())
    }

    pub async fn close(&mut self) -> Result<(), SinkError> {
        match &mut self.file {
            Some(f) => {
                f.flush().await?;
                f.sync_all().await?;
            }
            None => self.out.flush().await?,
        }
        Ok(())
    }
}

async fn open_append(path: &Path) -> Result<tokio::fs::File, SinkError> {
    let open_err = |source| SinkError::Open {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        tokio::fs::create_dir_all(dir).await.map_err(open_err)?;
    }
    tokio::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .await
        .map_err(open_err)
}

/// The configured sink. An enum rather than a trait object: the set of sinks is ours and
/// small, and async methods stay plain.
pub enum Sink {
    JsonLines(JsonLinesSink),
    #[cfg(feature = "kafka")]
    Kafka(Box<KafkaSink>),
}

/// A batch handed to a sink whose acknowledgement is still to be confirmed.
pub enum Pending {
    /// Already durable: the JSON-lines sink writes and flushes before `send` returns.
    Written,
    #[cfg(feature = "kafka")]
    Kafka(KafkaPending),
}

impl Pending {
    /// Resolves once the destination reported on every message of the batch (delivered
    /// or failed); `Sink::confirm` then completes at once unless something is to be sent
    /// again. Cancel-safe: reports already received are kept, so this can be raced against
    /// new input and called again.
    pub async fn reported(&mut self) {
        match self {
            Pending::Written => {}
            #[cfg(feature = "kafka")]
            Pending::Kafka(p) => p.reported().await,
        }
    }
}

impl Sink {
    /// Hands the batch to the destination without waiting for its acknowledgement.
    pub async fn send(&mut self, batch: Vec<Encoded>) -> Result<Pending, SinkError> {
        match self {
            Sink::JsonLines(s) => {
                s.publish(&batch).await?;
                Ok(Pending::Written)
            }
            #[cfg(feature = "kafka")]
            Sink::Kafka(s) => Ok(Pending::Kafka(s.send(batch).await?)),
        }
    }

    /// Returns once every article of the batch behind `pending` is durable, sending again
    /// what failed; an error means some of it may not be (nothing of it is to be marked
    /// done).
    pub async fn confirm(&mut self, pending: Pending) -> Result<(), SinkError> {
        match pending {
            Pending::Written => Ok(()),
            #[cfg(feature = "kafka")]
            Pending::Kafka(p) => match self {
                Sink::Kafka(s) => s.confirm(p).await,
                Sink::JsonLines(_) => Err(SinkError::Kafka(
                    "a Kafka acknowledgement confirmed by the JSON-lines sink".into(),
                )),
            },
        }
    }

    pub async fn close(&mut self) -> Result<(), SinkError> {
        match self {
            Sink::JsonLines(s) => s.close().await,
            #[cfg(feature = "kafka")]
            Sink::Kafka(s) => s.close().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use newsriver_model::{DedupInfo, DedupStatus, SCHEMA_VERSION};

    fn encoded(id: &str) -> Encoded {
        Encoded::new(&article(id)).expect("an article encodes")
    }

    fn article(id: &str) -> Article {
        Article {
            schema_version: SCHEMA_VERSION.into(),
            id: id.into(),
            url: "http://a.test/x".into(),
            canonical_url: "http://a.test/x".into(),
            title: Some("T".into()),
            text: "body".into(),
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
                story_id: id.into(),
            },
            paywalled: false,
            keywords: Vec::new(),
        }
    }

    #[tokio::test]
    async fn file_sink_appends_json_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out/articles.jsonl");
        let dest = Destination::File(path.clone());
        let mut sink = JsonLinesSink::open(&dest).await.unwrap();
        sink.publish(&[encoded("a"), encoded("b")]).await.unwrap();
        sink.close().await.unwrap();
        let mut sink = JsonLinesSink::open(&dest).await.unwrap();
        sink.publish(&[encoded("c")]).await.unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let ids: Vec<String> = text
            .lines()
            .map(|l| serde_json::from_str::<Article>(l).unwrap().id)
            .collect();
        assert_eq!(ids, ["a", "b", "c"]);
    }

    #[tokio::test]
    async fn a_json_lines_batch_is_written_by_send_and_confirmed_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("articles.jsonl");
        let mut sink = Sink::JsonLines(
            JsonLinesSink::open(&Destination::File(path.clone()))
                .await
                .unwrap(),
        );
        let mut pending = sink.send(vec![encoded("a")]).await.unwrap();
        assert!(matches!(pending, Pending::Written));
        // Durable before confirm: the JSON-lines sink has nothing left to wait for.
        assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 1);
        pending.reported().await;
        sink.confirm(pending).await.unwrap();
    }
}
