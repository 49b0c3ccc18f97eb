//! Dead letters: every job that ends for good without an article (given up after
//! `fetch.max_attempts`, refused by robots.txt or the address guard, a page without an
//! article, a page the stripper refused) is written here with its reason, one JSON object
//! a line, so nothing accepted disappears silently: to a file, or to a Kafka topic when
//! the articles go to Kafka (consumers of the river watch one system, not a file on the
//! daemon's disk).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use serde::Serialize;

/// One job that ended without an article.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeadLetter {
    /// As listed (feed link, sitemap entry or backfill line).
    pub url: String,
    pub canonical_url: String,
    /// Feed or sitemap URL, or "backfill".
    pub source: String,
    pub attempts: u32,
    pub reason: String,
    pub failed_at: DateTime<Utc>,
}

/// Where dead letters are written: a file appended to, or a Kafka topic.
pub struct DeadLetters {
    target: Target,
}

enum Target {
    File {
        path: PathBuf,
        file: std::fs::File,
    },
    Kafka {
        sink: Box<newsriver_publisher::KafkaSink>,
        topic: String,
        /// `write` is called from blocking code (the completion stage's commit) and
        /// drives the producer's futures on the runtime that owns it.
        runtime: tokio::runtime::Handle,
    },
}

impl DeadLetters {
    /// Dead letters to `topic` on the brokers of `config` (its other settings, topic
    /// creation included, as for the articles). Must be called inside the runtime that
    /// will drive the writes.
    pub async fn kafka(
        config: &newsriver_publisher::KafkaConfig,
        topic: &str,
    ) -> Result<DeadLetters> {
        let config = newsriver_publisher::KafkaConfig {
            topic: topic.to_string(),
            ..config.clone()
        };
        let sink = newsriver_publisher::KafkaSink::open(&config)
            .await
            .with_context(|| format!("opening dead-letter topic {topic}"))?;
        Ok(DeadLetters {
            target: Target::Kafka {
                sink: Box::new(sink),
                topic: topic.to_string(),
                runtime: tokio::runtime::Handle::current(),
            },
        })
    }

    pub fn open(path: &Path) -> Result<DeadLetters> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("creating dead-letter directory {}", dir.display()))?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("opening dead-letter file {}", path.display()))?;
        Ok(DeadLetters {
            target: Target::File {
                path: path.to_path_buf(),
                file,
            },
        })
    }

    /// Writes `letters` and waits until they are on disk, or acknowledged by the broker:
    /// completion records the jobs as done only after this, so a crash can repeat a dead
    /// letter but never lose one. Blocks; call it from blocking code (`block_in_place`).
    pub fn write(&mut self, letters: &[DeadLetter]) -> Result<()> {
        if letters.is_empty() {
            return Ok(());
        }
        match &mut self.target {
            Target::File { path, file } => {
                let mut buf = Vec::with_capacity(letters.len() * 256);
                for letter in letters {
                    serde_json::to_writer(&mut buf, letter)?;
                    buf.push(b'\n');
                }
                file.write_all(&buf)
                    .and_then(|()| file.sync_data())
                    .with_context(|| format!("writing dead letters to {}", path.display()))
            }
            Target::Kafka {
                sink,
                topic,
                runtime,
            } => {
                let batch = letters
                    .iter()
                    .map(|letter| {
                        Ok(newsriver_publisher::Encoded {
                            id: letter.canonical_url.clone(),
                            story_id: String::new(),
                            source: letter.source.clone(),
                            json: serde_json::to_string(letter)?,
                        })
                    })
                    .collect::<Result<Vec<_>>>()?;
                runtime
                    .block_on(async {
                        let pending = sink.send(batch).await?;
                        sink.confirm(pending).await
                    })
                    .with_context(|| format!("writing dead letters to Kafka topic {topic}"))
            }
        }
    }
}
