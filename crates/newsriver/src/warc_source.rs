//! Where a WARC backfill's pages come from: the archived HTTP responses of WARC files
//! (local, standard input, or streamed from an http(s) URL as CC-NEWS serves them), read
//! one record at a time on a blocking thread and handed to the strip stage as pages
//! already fetched (nothing is fetched again).

use std::io::BufRead;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use anyhow::Result;
use chrono::Utc;
use indicatif::ProgressBar;
use newsriver_fetcher::warc::{archived_page, Record, WarcError, WarcReader};
use newsriver_fetcher::{Fetcher, Page};
use newsriver_model::{ItemHints, Job, PageJob, WarcOrigin, BACKFILL_SOURCE};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::messages::Fetched;
use crate::shared::{lock, SharedStore};

/// Room beyond a page's body limit for the HTTP header stored with it in the record.
const HTTP_HEADER_ROOM: u64 = 1024 * 1024;

/// What the reader saw, for the summary line and the exit code.
#[derive(Debug, Default)]
pub struct WarcCounts {
    /// `response` records read (other record types are not counted).
    pub records: AtomicU64,
    /// Responses that are not pages: not status 200, not HTML, too large, no target URI.
    pub skipped: AtomicU64,
    /// Done by an earlier run (their `WARC-Record-ID` is in the state store).
    pub done_before: AtomicU64,
    /// Handed to the pipeline.
    pub sent: AtomicU64,
    /// Target URIs that are not fetchable URLs (counted as failed).
    pub invalid: AtomicU64,
    /// Errors reading the files (a bad record, a broken gzip member, a truncated file).
    pub read_errors: AtomicU64,
    /// Files given.
    pub files: AtomicU64,
    /// Files that could not be read to their end: not opened, not WARC, cut short, or a
    /// bad record inside; and those not reached or left midway when the run was stopped.
    pub files_unfinished: AtomicU64,
}

impl WarcCounts {
    pub fn get(&self, c: &AtomicU64) -> u64 {
        c.load(Ordering::Relaxed)
    }
    fn add(c: &AtomicU64) {
        c.fetch_add(1, Ordering::Relaxed);
    }
}

/// Reads WARC files and sends their pages on.
pub struct WarcSource {
    /// Paths, "-", or http(s) URLs.
    pub files: Vec<String>,
    /// Streams the files given as URLs.
    pub fetcher: Arc<Fetcher>,
    /// A page's body limit (`fetch.max_body_bytes`), as for fetched pages.
    pub max_body: usize,
    pub store: SharedStore,
    pub counts: Arc<WarcCounts>,
    /// Moved by every record that does not enter the pipeline (completion moves it for
    /// those that do).
    pub progress: ProgressBar,
}

impl WarcSource {
    /// Runs on a blocking thread (reading and decompressing is synchronous work) until
    /// every file was read, `stop` is cancelled (between two records), or the pipeline
    /// stopped taking pages.
    pub fn run(self, out: mpsc::Sender<Fetched>, stop: CancellationToken) -> Result<()> {
        let c = &self.counts;
        c.files.store(self.files.len() as u64, Ordering::Relaxed);
        for (i, file) in self.files.iter().enumerate() {
            if stop.is_cancelled() {
                let left = (self.files.len() - i) as u64;
                c.files_unfinished.fetch_add(left, Ordering::Relaxed);
                tracing::warn!(files = left, "stopped before reading every WARC file");
                break;
            }
            match self.read_file(file, &out, &stop)? {
                FileEnd::Finished => tracing::info!(file, "WARC file read"),
                FileEnd::WithErrors(n) => {
                    WarcCounts::add(&c.files_unfinished);
                    tracing::error!(file, errors = n, "WARC file read with errors");
                }
                FileEnd::Stopped => {
                    let left = (self.files.len() - i) as u64;
                    c.files_unfinished.fetch_add(left, Ordering::Relaxed);
                    tracing::warn!(file, "stopped midway through a WARC file");
                    break;
                }
            }
        }
        Ok(())
    }

    fn read_file(
        &self,
        file: &str,
        out: &mpsc::Sender<Fetched>,
        stop: &CancellationToken,
    ) -> Result<FileEnd> {
        let c = &self.counts;
        let opened: Result<Box<dyn std::io::Read + Send>, String> =
            if file.starts_with("http://") || file.starts_with("https://") {
                // This thread is the runtime's (spawn_blocking): its handle drives the stream.
                let handle = tokio::runtime::Handle::current();
                match handle.block_on(self.fetcher.open_archive(file)) {
                    Ok(response) => Ok(Box::new(HttpBody {
                        handle,
                        response,
                        chunk: Vec::new(),
                        at: 0,
                    })),
                    Err(e) => Err(e.to_string()),
                }
            } else if file == "-" {
                Ok(Box::new(std::io::stdin()))
            } else {
                match std::fs::File::open(file) {
                    Ok(f) => Ok(Box::new(f)),
                    Err(e) => Err(e.to_string()),
                }
            };
        let input: Box<dyn BufRead + Send> = match opened {
            Ok(raw) => Box::new(std::io::BufReader::with_capacity(256 * 1024, raw)),
            Err(e) => {
                WarcCounts::add(&c.read_errors);
                tracing::error!("{file}: cannot open: {e}");
                return Ok(FileEnd::WithErrors(1));
            }
        };
        let mut reader = WarcReader::new(file, input, self.max_body as u64 + HTTP_HEADER_ROOM);
        let mut errors = 0;
        loop {
            if stop.is_cancelled() {
                return Ok(FileEnd::Stopped);
            }
            let record = match reader.next() {
                None => break,
                Some(Ok(record)) => record,
                Some(Err(e)) => {
                    errors += 1;
                    WarcCounts::add(&c.read_errors);
                    // The reader goes on after a bad record; the error names file and offset.
                    tracing::error!("{e}");
                    if matches!(e, WarcError::NotWarc { .. } | WarcError::Io { .. }) {
                        break;
                    }
                    continue;
                }
            };
            if record.warc_type() != Some("response") {
                continue;
            }
            WarcCounts::add(&c.records);
            match self.page(file, &record)? {
                Some(fetched) => {
                    if out.blocking_send(fetched).is_err() {
                        // The pipeline stopped (a stage failed): its error is the run's.
                        return Ok(FileEnd::Stopped);
                    }
                    WarcCounts::add(&c.sent);
                }
                None => self.progress.inc(1),
            }
        }
        Ok(if errors == 0 {
            FileEnd::Finished
        } else {
            FileEnd::WithErrors(errors)
        })
    }

    /// The page of a response record, or `None` (counted) when it is done already, not a
    /// page, or not at a fetchable URL.
    fn page(&self, file: &str, record: &Record) -> Result<Option<Fetched>> {
        let c = &self.counts;
        let record_id = match record.record_id() {
            Some(id) if !id.is_empty() => id.to_string(),
            // The standard requires one; without it the record is known by its place.
            _ => format!("{file}@{}", record.offset),
        };
        if lock(&self.store).queue().is_warc_record_done(&record_id)? {
            WarcCounts::add(&c.done_before);
            return Ok(None);
        }
        let page = match archived_page(record, self.max_body) {
            Ok(page) => page,
            Err(why) => {
                WarcCounts::add(&c.skipped);
                tracing::debug!(file, offset = record.offset, uri = ?record.target_uri(), %why, "record skipped");
                return Ok(None);
            }
        };
        let canonical_url = match newsriver_dedup::canonicalize_url(&page.url) {
            Ok(u) => u.to_string(),
            Err(e) => {
                WarcCounts::add(&c.invalid);
                tracing::error!(file, offset = record.offset, url = %page.url, error = %e, "not a fetchable URL");
                return Ok(None);
            }
        };
        let job = Job {
            page: PageJob {
                url: page.url.clone(),
                source: BACKFILL_SOURCE.to_string(),
                // The capture time stands in for a publication time the page does not
                // give: an archived page was published by then at the latest.
                hints: ItemHints {
                    published_at: page.captured_at,
                    ..ItemHints::default()
                },
            },
            canonical_url,
            attempts: 0,
            warc: Some(Box::new(WarcOrigin {
                record_id,
                file: file.to_string(),
                offset: record.offset,
            })),
        };
        Ok(Some(Fetched {
            job,
            page: Page {
                final_url: page.url,
                html: page.html,
                encoding: page.encoding,
            },
            // When the archive fetched it.
            fetched_at: page.captured_at.unwrap_or_else(Utc::now),
        }))
    }
}

/// A streamed response body as a blocking reader, for the reader thread.
struct HttpBody {
    handle: tokio::runtime::Handle,
    response: reqwest::Response,
    /// The last chunk, and how much of it was read.
    chunk: Vec<u8>,
    at: usize,
}

impl std::io::Read for HttpBody {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.at == self.chunk.len() {
            match self.handle.block_on(self.response.chunk()) {
                Ok(Some(bytes)) => {
                    self.chunk.clear();
                    self.chunk.extend_from_slice(&bytes);
                    self.at = 0;
                }
                Ok(None) => return Ok(0),
                Err(e) => return Err(std::io::Error::other(e)),
            }
        }
        let n = buf.len().min(self.chunk.len() - self.at);
        buf[..n].copy_from_slice(&self.chunk[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

enum FileEnd {
    Finished,
    /// Read to its end past this many errors, or not opened.
    WithErrors(u64),
    /// The run was stopped before the end.
    Stopped,
}
