//! Dead letters: every job that ends for good without an article (given up after
//! `fetch.max_attempts`, refused by robots.txt or the address guard, a page without an
//! article, a page the stripper refused) is written here with its reason, one JSON object
//! a line, so nothing accepted disappears silently.

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

/// The dead-letter file, appended to.
pub struct DeadLetters {
    path: PathBuf,
    file: std::fs::File,
}

impl DeadLetters {
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
            path: path.to_path_buf(),
            file,
        })
    }

    /// Appends `letters` and waits until they are on disk: completion records the jobs
    /// as done only after this, so a crash can repeat a dead letter but never lose one.
    pub fn write(&mut self, letters: &[DeadLetter]) -> Result<()> {
        if letters.is_empty() {
            return Ok(());
        }
        let mut buf = Vec::with_capacity(letters.len() * 256);
        for letter in letters {
            serde_json::to_writer(&mut buf, letter)?;
            buf.push(b'\n');
        }
        self.file
            .write_all(&buf)
            .and_then(|()| self.file.sync_data())
            .with_context(|| format!("writing dead letters to {}", self.path.display()))
    }
}
