//! Reading WARC files (ISO 28500, WARC/1.0 and WARC/1.1) as a stream of records, and the
//! archived HTTP responses inside them as pages, for `newsriver backfill --warc`.
//!
//! A small reader of our own rather than the `warc` crate (0.4): that crate reads a
//! compressed file through one multi-member gzip decoder for the whole file, so it cannot
//! tell at which offset a record (its gzip member) starts, and its first error ends the
//! file: one corrupt member, a truncated file or a record whose Content-Length lies loses
//! every record after it. Common Crawl and `wget --warc-file` store one gzip member per
//! record; this reader decodes member by member, names the member's offset in its errors
//! and starts again at the next member (in an uncompressed file, at the next record
//! boundary, `\r\n\r\nWARC/1.`). It streams: one record's block in memory at a time, and
//! blocks over the caller's limit are read past, not kept.

use std::borrow::Cow;
use std::io::{self, BufRead, BufReader, Read};

use chrono::{DateTime, Utc};
use flate2::bufread::GzDecoder;

/// Longest header line (and version line) taken before a record is called malformed.
const MAX_LINE: u64 = 64 * 1024;
/// Most header bytes of one record.
const MAX_HEADER_BYTES: usize = 1024 * 1024;
/// Where a record ends and the next begins in an uncompressed file: the block's end
/// marker, then the next version line.
const BOUNDARY: &[u8] = b"\r\n\r\nWARC/1.";
const GZIP_MAGIC: [u8; 3] = [0x1f, 0x8b, 0x08];

/// A WARC file that cannot be read whole. Every error names the file; those about one
/// record name the offset where it starts (of its gzip member in a compressed file). After
/// an error the reader goes on with the next record it can find, except after
/// [`WarcError::NotWarc`] and [`WarcError::Io`], which end the file.
#[derive(Debug, thiserror::Error)]
pub enum WarcError {
    #[error("{file}: {source}")]
    Io { file: String, source: io::Error },
    #[error("{file}: not a WARC file: {why}")]
    NotWarc { file: String, why: String },
    #[error("{file}: record at offset {offset}: {what}")]
    Record {
        file: String,
        offset: u64,
        what: String,
    },
    #[error("{file}: gzip member at offset {offset} is broken: {source}")]
    Gzip {
        file: String,
        offset: u64,
        source: io::Error,
    },
    #[error("{file}: truncated: the record at offset {offset} {what}")]
    Truncated {
        file: String,
        offset: u64,
        what: String,
    },
}

/// One WARC record.
#[derive(Debug, Clone)]
pub struct Record {
    /// Where the record starts in the file; in a compressed file, where its gzip member
    /// starts (what `zcat`-free tools such as `warcio index` print).
    pub offset: u64,
    /// `WARC/1.0` or `WARC/1.1`.
    pub version: String,
    /// Named fields in file order, names as written.
    pub headers: Vec<(String, String)>,
    /// The block (`Content-Length` bytes), or `None` when it was longer than the limit
    /// and was read past.
    pub block: Option<Vec<u8>>,
    pub content_length: u64,
}

impl Record {
    /// A named field, compared without case (the standard's names are case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// `WARC-Type`: `response`, `request`, `warcinfo`, `metadata`, `revisit`...
    pub fn warc_type(&self) -> Option<&str> {
        self.header("WARC-Type")
    }

    pub fn record_id(&self) -> Option<&str> {
        self.header("WARC-Record-ID")
    }

    /// `WARC-Target-URI`, without the angle brackets WARC/1.0's grammar showed (and some
    /// writers copied).
    pub fn target_uri(&self) -> Option<&str> {
        self.header("WARC-Target-URI")
            .map(|u| u.trim().trim_start_matches('<').trim_end_matches('>'))
            .filter(|u| !u.is_empty())
    }

    /// `WARC-Date` (RFC 3339, seconds or finer in WARC/1.1).
    pub fn date(&self) -> Option<DateTime<Utc>> {
        let d = self.header("WARC-Date")?;
        DateTime::parse_from_rfc3339(d.trim())
            .ok()
            .map(|d| d.with_timezone(&Utc))
    }
}

/// Counts the bytes consumed from the file, for the offsets errors name.
struct Counted {
    inner: Box<dyn BufRead + Send>,
    pos: u64,
}

impl Read for Counted {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl BufRead for Counted {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.fill_buf()
    }
    fn consume(&mut self, amt: usize) {
        self.pos += amt as u64;
        self.inner.consume(amt)
    }
}

/// A `BufRead` that bytes can be given back to (what a record with a lying Content-Length
/// swallowed of the records after it), counting its position.
struct Pushback<R> {
    back: Vec<u8>,
    at: usize,
    inner: R,
    pos: u64,
}

impl<R: BufRead> Pushback<R> {
    fn new(inner: R, pos: u64) -> Pushback<R> {
        Pushback {
            back: Vec::new(),
            at: 0,
            inner,
            pos,
        }
    }

    fn unread(&mut self, bytes: &[u8]) {
        let mut back = bytes.to_vec();
        back.extend_from_slice(&self.back[self.at..]);
        self.pos -= bytes.len() as u64;
        self.back = back;
        self.at = 0;
    }
}

impl<R: BufRead> Read for Pushback<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = {
            let avail = self.fill_buf()?;
            let n = avail.len().min(buf.len());
            buf[..n].copy_from_slice(&avail[..n]);
            n
        };
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Pushback<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.at < self.back.len() {
            return Ok(&self.back[self.at..]);
        }
        self.inner.fill_buf()
    }
    fn consume(&mut self, amt: usize) {
        self.pos += amt as u64;
        if self.at < self.back.len() {
            self.at += amt;
            if self.at >= self.back.len() {
                self.back.clear();
                self.at = 0;
            }
        } else {
            self.inner.consume(amt)
        }
    }
}

/// Why one record could not be read, before it is given the file's name and offset.
enum Bad {
    /// The source ended cleanly before a record started.
    End,
    /// The source ended inside the record.
    Truncated(String),
    /// Not a record here (a bad version line or header): look for the next one.
    Malformed(String),
    /// The block does not end where Content-Length says; `swallowed` holds the bytes read
    /// after the record's header, to look for the next record in.
    Length {
        what: String,
        swallowed: Vec<u8>,
        /// The source ended before the block did: a lie, or a cut file.
        short: bool,
    },
    Io(io::Error),
}

impl From<io::Error> for Bad {
    fn from(e: io::Error) -> Bad {
        Bad::Io(e)
    }
}

/// Reads one line (through `\n`) of at most [`MAX_LINE`] bytes; empty at the end.
fn read_line(src: &mut impl BufRead, line: &mut Vec<u8>) -> Result<usize, Bad> {
    line.clear();
    let n = src.take(MAX_LINE).read_until(b'\n', line)?;
    if n as u64 == MAX_LINE && !line.ends_with(b"\n") {
        return Err(Bad::Malformed("a header line is longer than 64 KiB".into()));
    }
    Ok(n)
}

/// Reads one record from `src`, keeping its block when it is at most `max_block` bytes.
fn read_record(src: &mut impl BufRead, max_block: u64) -> Result<Record, Bad> {
    let mut line = Vec::new();
    // Blank lines between records are tolerated (some writers add one).
    loop {
        if read_line(src, &mut line)? == 0 {
            return Err(Bad::End);
        }
        if !line.iter().all(|b| b.is_ascii_whitespace()) {
            break;
        }
    }
    let version = String::from_utf8_lossy(&line).trim().to_string();
    if !version.starts_with("WARC/1.") {
        let shown: String = version.chars().take(40).collect();
        return Err(Bad::Malformed(format!(
            "expected a WARC/1.x version line, found {shown:?}"
        )));
    }
    let mut headers: Vec<(String, String)> = Vec::new();
    let mut header_bytes = 0;
    loop {
        let n = read_line(src, &mut line)?;
        if n == 0 {
            return Err(Bad::Truncated("ends inside its header".into()));
        }
        header_bytes += n;
        if header_bytes > MAX_HEADER_BYTES {
            return Err(Bad::Malformed("its header is longer than 1 MiB".into()));
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\r', '\n']);
        if text.is_empty() {
            break;
        }
        if text.starts_with([' ', '\t']) {
            // A folded continuation line (allowed by WARC/1.0).
            match headers.last_mut() {
                Some((_, v)) => {
                    v.push(' ');
                    v.push_str(text.trim());
                }
                None => return Err(Bad::Malformed("a header starts with a space".into())),
            }
            continue;
        }
        let Some((name, value)) = text.split_once(':') else {
            let shown: String = text.chars().take(40).collect();
            return Err(Bad::Malformed(format!("not a header field: {shown:?}")));
        };
        headers.push((name.trim().to_string(), value.trim().to_string()));
    }
    let length = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("Content-Length"))
        .map(|(_, v)| v.clone())
        .ok_or_else(|| Bad::Malformed("no Content-Length".into()))?;
    let content_length: u64 = length
        .parse()
        .map_err(|_| Bad::Malformed(format!("Content-Length {length:?} is not a number")))?;
    let (block, got) = if content_length <= max_block {
        let mut block = Vec::with_capacity(content_length.min(1 << 20) as usize);
        let got = src.take(content_length).read_to_end(&mut block)? as u64;
        (Some(block), got)
    } else {
        (
            None,
            io::copy(&mut src.take(content_length), &mut io::sink())?,
        )
    };
    if got < content_length {
        return Err(Bad::Length {
            what: format!(
                "its Content-Length is {content_length} but only {got} bytes follow its header"
            ),
            swallowed: block.unwrap_or_default(),
            short: true,
        });
    }
    let mut end = Vec::with_capacity(4);
    src.take(4).read_to_end(&mut end)?;
    // A file may stop right after the last block without the end marker: nothing is lost.
    if end != b"\r\n\r\n" && !end.is_empty() {
        let mut swallowed = block.unwrap_or_default();
        swallowed.extend_from_slice(&end);
        return Err(Bad::Length {
            what: format!(
                "its block does not end where its Content-Length ({content_length}) says"
            ),
            swallowed,
            short: false,
        });
    }
    Ok(Record {
        offset: 0,
        version,
        headers,
        block,
        content_length,
    })
}

/// Consumes `src` up to just after the `\r\n\r\n` of the next [`BOUNDARY`]; false when
/// it ended first.
fn skip_to_boundary(src: &mut impl BufRead) -> io::Result<bool> {
    let mut window: Vec<u8> = Vec::with_capacity(BOUNDARY.len());
    loop {
        let buf = src.fill_buf()?;
        if buf.is_empty() {
            return Ok(false);
        }
        let mut used = 0;
        let mut found = false;
        for &b in buf {
            used += 1;
            if window.len() == BOUNDARY.len() {
                window.remove(0);
            }
            window.push(b);
            if window == BOUNDARY {
                found = true;
                break;
            }
        }
        src.consume(used);
        if found {
            // Give back the version line's start: the next record begins there.
            return Ok(true);
        }
    }
}

type Member = Pushback<BufReader<GzDecoder<Counted>>>;

enum Mode {
    /// Not looked at yet.
    Start(Counted),
    Plain(Pushback<Counted>),
    /// Between gzip members; `resyncing` after a broken one, when candidates that turn
    /// out not to be members are passed over quietly.
    Between {
        raw: Counted,
        resyncing: bool,
    },
    InMember {
        member: Box<Member>,
        offset: u64,
    },
    Done,
}

/// Reads the records of one WARC file, gzip-compressed (one member per record, or
/// several records per member, or one member for all) or not, told apart by content.
pub struct WarcReader {
    file: String,
    max_block: u64,
    mode: Mode,
}

impl WarcReader {
    /// `file` names the input in errors; blocks longer than `max_block` are read past.
    pub fn new(file: &str, input: Box<dyn BufRead + Send>, max_block: u64) -> WarcReader {
        WarcReader {
            file: file.to_string(),
            max_block,
            mode: Mode::Start(Counted {
                inner: input,
                pos: 0,
            }),
        }
    }

    /// The file's name as errors give it.
    pub fn file(&self) -> &str {
        &self.file
    }

    fn io(&self, source: io::Error) -> WarcError {
        WarcError::Io {
            file: self.file.clone(),
            source,
        }
    }

    fn named(&self, offset: u64, bad: Bad) -> WarcError {
        let file = self.file.clone();
        match bad {
            Bad::End => WarcError::Truncated {
                file,
                offset,
                what: "is empty".into(),
            },
            Bad::Truncated(what) => WarcError::Truncated { file, offset, what },
            Bad::Malformed(what) | Bad::Length { what, .. } => {
                WarcError::Record { file, offset, what }
            }
            Bad::Io(source) => WarcError::Io { file, source },
        }
    }

    /// The next record, an error about one (after which reading goes on), or `None` at
    /// the end of the file.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Option<Result<Record, WarcError>> {
        loop {
            match std::mem::replace(&mut self.mode, Mode::Done) {
                Mode::Done => return None,
                Mode::Start(mut raw) => {
                    let head = match raw.fill_buf() {
                        Ok(h) => h.to_vec(),
                        Err(e) => return Some(Err(self.io(e))),
                    };
                    if head.is_empty() {
                        return None;
                    }
                    if head.starts_with(&GZIP_MAGIC[..head.len().min(2)]) && head.len() >= 2 {
                        self.mode = Mode::Between {
                            raw,
                            resyncing: false,
                        };
                    } else if head.starts_with(b"WARC/") || b"WARC/".starts_with(&head) {
                        if self.file.ends_with(".gz") {
                            tracing::warn!(file = %self.file, "named .gz but not compressed; reading it as an uncompressed WARC");
                        }
                        self.mode = Mode::Plain(Pushback::new(raw, 0));
                    } else {
                        let why = if self.file.ends_with(".gz") {
                            "named .gz but not gzip, and it does not start with WARC/".to_string()
                        } else {
                            "it starts with neither WARC/ nor gzip's magic bytes".to_string()
                        };
                        return Some(Err(WarcError::NotWarc {
                            file: self.file.clone(),
                            why,
                        }));
                    }
                }
                Mode::Plain(mut src) => {
                    let offset = src.pos;
                    match read_record(&mut src, self.max_block) {
                        Ok(mut record) => {
                            record.offset = offset;
                            self.mode = Mode::Plain(src);
                            return Some(Ok(record));
                        }
                        Err(Bad::End) => return None,
                        Err(Bad::Io(e)) => return Some(Err(self.io(e))),
                        Err(Bad::Truncated(what)) => {
                            return Some(Err(self.named(offset, Bad::Truncated(what))))
                        }
                        Err(bad) => {
                            let error = self.resync(&mut src, offset, bad);
                            self.mode = Mode::Plain(src);
                            return Some(Err(error));
                        }
                    }
                }
                Mode::Between { mut raw, resyncing } => {
                    let at = raw.pos;
                    match raw.fill_buf() {
                        Ok([]) => return None,
                        Ok(_) => {}
                        Err(e) => return Some(Err(self.io(e))),
                    }
                    if resyncing {
                        match skip_to_magic(&mut raw) {
                            Ok(true) => {}
                            Ok(false) => return None,
                            Err(e) => return Some(Err(self.io(e))),
                        }
                    }
                    let offset = raw.pos;
                    let mut decoder = BufReader::with_capacity(64 * 1024, GzDecoder::new(raw));
                    // Look at the member's header (and first bytes) before taking it as one.
                    match decoder.fill_buf() {
                        Ok(_) => {
                            self.mode = Mode::InMember {
                                member: Box::new(Pushback::new(decoder, 0)),
                                offset,
                            };
                        }
                        Err(e) => {
                            let mut raw = decoder.into_inner().into_inner();
                            if resyncing {
                                // A false start inside the broken data: keep looking.
                                skip_one(&mut raw);
                                self.mode = Mode::Between {
                                    raw,
                                    resyncing: true,
                                };
                                continue;
                            }
                            let error = if raw.fill_buf().map(<[u8]>::is_empty).unwrap_or(true)
                                && e.kind() == io::ErrorKind::UnexpectedEof
                            {
                                WarcError::Truncated {
                                    file: self.file.clone(),
                                    offset: at,
                                    what: format!("is cut inside its gzip member: {e}"),
                                }
                            } else {
                                WarcError::Gzip {
                                    file: self.file.clone(),
                                    offset: at,
                                    source: e,
                                }
                            };
                            skip_one(&mut raw);
                            self.mode = Mode::Between {
                                raw,
                                resyncing: true,
                            };
                            return Some(Err(error));
                        }
                    }
                }
                Mode::InMember { mut member, offset } => {
                    match read_record(&mut *member, self.max_block) {
                        Ok(mut record) => {
                            record.offset = offset;
                            self.mode = Mode::InMember { member, offset };
                            return Some(Ok(record));
                        }
                        Err(Bad::End) => {
                            let raw = member.inner.into_inner().into_inner();
                            self.mode = Mode::Between {
                                raw,
                                resyncing: false,
                            };
                        }
                        Err(Bad::Io(e)) => {
                            // The member's compressed data is broken or cut.
                            let mut raw = member.inner.into_inner().into_inner();
                            let at_end = raw.fill_buf().map(<[u8]>::is_empty).unwrap_or(true);
                            let error = if at_end && e.kind() == io::ErrorKind::UnexpectedEof {
                                WarcError::Truncated {
                                    file: self.file.clone(),
                                    offset,
                                    what: format!("is cut inside its gzip member: {e}"),
                                }
                            } else {
                                WarcError::Gzip {
                                    file: self.file.clone(),
                                    offset,
                                    source: e,
                                }
                            };
                            self.mode = Mode::Between {
                                raw,
                                resyncing: true,
                            };
                            return Some(Err(error));
                        }
                        Err(Bad::Truncated(what)) => {
                            let error = WarcError::Record {
                                file: self.file.clone(),
                                offset,
                                what: format!("its gzip member {what}"),
                            };
                            self.mode = Mode::InMember { member, offset };
                            return Some(Err(error));
                        }
                        Err(bad) => {
                            let error = self.resync(&mut *member, offset, bad);
                            self.mode = Mode::InMember { member, offset };
                            return Some(Err(error));
                        }
                    }
                }
            }
        }
    }

    /// After a record that could not be read: positions `src` at the next record (inside
    /// what the bad one swallowed when its Content-Length was too long), and names the
    /// error.
    fn resync(&self, src: &mut Pushback<impl BufRead>, offset: u64, bad: Bad) -> WarcError {
        let error = match &bad {
            Bad::Length { what, .. } | Bad::Malformed(what) => WarcError::Record {
                file: self.file.clone(),
                offset,
                what: what.clone(),
            },
            _ => self.named(offset, Bad::Malformed(String::new())),
        };
        let mut short = false;
        if let Bad::Length {
            swallowed,
            short: cut,
            ..
        } = &bad
        {
            if let Some(i) = memchr::memmem::find(swallowed, BOUNDARY) {
                // The next record starts at i + 4, inside what was read as this block.
                src.unread(&swallowed[i + 4..]);
                return error;
            }
            short = *cut;
        }
        match skip_to_boundary(src) {
            Ok(true) => src.unread(&BOUNDARY[4..]),
            // Nothing after a block cut short: the file itself is truncated.
            Ok(false) if short => {
                if let WarcError::Record { file, offset, what } = error {
                    return WarcError::Truncated {
                        file,
                        offset,
                        what: format!("ends early: {what}"),
                    };
                }
            }
            Ok(false) => {}
            Err(e) => tracing::warn!(file = %self.file, error = %e, "reading past a bad record"),
        }
        error
    }
}

/// Consumes one byte, so a search for the next gzip member does not find the same one.
fn skip_one(raw: &mut Counted) {
    if raw.fill_buf().map(|b| !b.is_empty()).unwrap_or(false) {
        raw.consume(1);
    }
}

/// Consumes `raw` up to the next byte that may start a gzip member (its first magic
/// byte); false when it ended first. Whether it does start one is for the decoder to say:
/// false starts are passed over one byte at a time.
fn skip_to_magic(raw: &mut Counted) -> io::Result<bool> {
    loop {
        let buf = raw.fill_buf()?;
        if buf.is_empty() {
            return Ok(false);
        }
        match memchr::memchr(GZIP_MAGIC[0], buf) {
            Some(i) => {
                raw.consume(i);
                return Ok(true);
            }
            None => {
                let n = buf.len();
                raw.consume(n);
            }
        }
    }
}

/// An archived HTTP response as a page, or why it is not one.
#[derive(Debug, Clone, PartialEq)]
pub struct ArchivedPage {
    /// `WARC-Target-URI`.
    pub url: String,
    pub record_id: String,
    /// `WARC-Date`: when it was captured.
    pub captured_at: Option<DateTime<Utc>>,
    pub html: String,
    pub encoding: &'static str,
}

/// Why a `response` record is not a page to strip.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Skipped {
    #[error("no WARC-Target-URI")]
    NoTarget,
    #[error("not an HTTP response: {0}")]
    NotHttp(String),
    #[error("HTTP status {0}")]
    Status(u16),
    #[error("not HTML ({0})")]
    NotHtml(String),
    #[error("Content-Encoding {0} is not supported")]
    Encoding(String),
    #[error("longer than the {0}-byte limit")]
    TooLarge(u64),
}

/// The page inside a `response` record: status 200, HTML, its body de-chunked and
/// decompressed, decoded with the charset of its `Content-Type` (else the page's own
/// `<meta charset>`, else detection), as the fetcher decodes what it fetches.
pub fn archived_page(record: &Record, max_body: usize) -> Result<ArchivedPage, Skipped> {
    let url = record.target_uri().ok_or(Skipped::NoTarget)?.to_string();
    let block = record
        .block
        .as_deref()
        .ok_or(Skipped::TooLarge(record.content_length))?;
    let response = HttpResponse::parse(block).map_err(Skipped::NotHttp)?;
    if response.status != 200 {
        return Err(Skipped::Status(response.status));
    }
    let content_type = response.header("Content-Type").map(str::to_string);
    match content_type.as_deref() {
        Some(ct) => {
            let mime = ct
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            if mime != "text/html" && mime != "application/xhtml+xml" {
                return Err(Skipped::NotHtml(mime));
            }
        }
        // No type said: take it when it looks like HTML.
        None => {
            let head = String::from_utf8_lossy(&response.body[..response.body.len().min(1024)])
                .to_ascii_lowercase();
            if !head.contains("<html") && !head.contains("<!doctype html") {
                return Err(Skipped::NotHtml("no Content-Type".into()));
            }
        }
    }
    let body = response.decoded_body(max_body)?;
    let (html, encoding) = crate::decode(&body, content_type.as_deref());
    Ok(ArchivedPage {
        url,
        record_id: record.record_id().unwrap_or_default().to_string(),
        captured_at: record.date(),
        html,
        encoding: encoding.name(),
    })
}

/// The HTTP response a `response` record holds (status line, headers, body as stored),
/// borrowing the body from the record: pages are not copied more than decoding needs.
#[derive(Debug, Clone)]
pub struct HttpResponse<'a> {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: &'a [u8],
}

impl<'a> HttpResponse<'a> {
    pub fn parse(block: &'a [u8]) -> Result<HttpResponse<'a>, String> {
        let end = memchr::memmem::find(block, b"\r\n\r\n")
            .map(|i| (i, i + 4))
            .or_else(|| memchr::memmem::find(block, b"\n\n").map(|i| (i, i + 2)))
            .ok_or_else(|| "no end of the HTTP header".to_string())?;
        let head = String::from_utf8_lossy(&block[..end.0]);
        let mut lines = head.lines();
        let status_line = lines.next().unwrap_or_default();
        let mut parts = status_line.split_whitespace();
        let proto = parts.next().unwrap_or_default();
        if !proto.starts_with("HTTP/") {
            let shown: String = status_line.chars().take(40).collect();
            return Err(format!("status line {shown:?}"));
        }
        let status = parts
            .next()
            .and_then(|s| s.parse::<u16>().ok())
            .ok_or_else(|| format!("no status code in {status_line:?}"))?;
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
            .collect();
        Ok(HttpResponse {
            status,
            headers,
            body: &block[end.1..],
        })
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as the server meant it: chunked transfer coding undone (archives keep
    /// what came over the wire), then gzip or deflate content coding, at most `max`
    /// bytes.
    pub fn decoded_body(&self, max: usize) -> Result<Cow<'a, [u8]>, Skipped> {
        let chunked = self
            .header("Transfer-Encoding")
            .is_some_and(|t| t.to_ascii_lowercase().contains("chunked"));
        let body = if chunked {
            // A body whose chunking is broken is kept as it is: better than nothing.
            dechunk(self.body).map_or(Cow::Borrowed(self.body), Cow::Owned)
        } else {
            Cow::Borrowed(self.body)
        };
        let coding = self
            .header("Content-Encoding")
            .map(|c| c.trim().to_ascii_lowercase())
            .unwrap_or_default();
        let limit = max as u64 + 1;
        let decoded = match coding.as_str() {
            "" | "identity" => body,
            "gzip" | "x-gzip" => {
                let mut out = Vec::new();
                flate2::read::MultiGzDecoder::new(&body[..])
                    .take(limit)
                    .read_to_end(&mut out)
                    .map_err(|e| Skipped::Encoding(format!("gzip ({e})")))?;
                Cow::Owned(out)
            }
            "deflate" => {
                let mut out = Vec::new();
                let zlib = flate2::read::ZlibDecoder::new(&body[..])
                    .take(limit)
                    .read_to_end(&mut out);
                if zlib.is_err() {
                    // Some servers send raw deflate under this name.
                    out.clear();
                    flate2::read::DeflateDecoder::new(&body[..])
                        .take(limit)
                        .read_to_end(&mut out)
                        .map_err(|e| Skipped::Encoding(format!("deflate ({e})")))?;
                }
                Cow::Owned(out)
            }
            other => return Err(Skipped::Encoding(other.to_string())),
        };
        if decoded.len() > max {
            return Err(Skipped::TooLarge(max as u64));
        }
        Ok(decoded)
    }
}

/// Undoes chunked transfer coding; `None` when the chunks do not add up.
fn dechunk(mut body: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(body.len());
    loop {
        let eol = memchr::memmem::find(body, b"\r\n")?;
        let size_text = std::str::from_utf8(&body[..eol]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        body = &body[eol + 2..];
        if size == 0 {
            return Some(out);
        }
        if body.len() < size {
            return None;
        }
        out.extend_from_slice(&body[..size]);
        body = body.get(size..)?;
        body = body.strip_prefix(b"\r\n").unwrap_or(body);
    }
}

/// One WARC/1.1 `response` record holding `http` (an HTTP response as it came over the
/// wire), uncompressed: gzip it alone for a per-record member. For tests and benchmarks
/// that need WARC files of their own.
pub fn response_record(uri: &str, record_id: &str, date: &str, http: &[u8]) -> Vec<u8> {
    let mut r = format!(
        "WARC/1.1\r\nWARC-Type: response\r\nWARC-Record-ID: {record_id}\r\n\
         WARC-Date: {date}\r\nWARC-Target-URI: {uri}\r\n\
         Content-Type: application/http; msgtype=response\r\nContent-Length: {}\r\n\r\n",
        http.len()
    )
    .into_bytes();
    r.extend_from_slice(http);
    r.extend_from_slice(b"\r\n\r\n");
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn response(uri: &str, id: &str, http: &[u8]) -> Vec<u8> {
        response_record(
            uri,
            &format!("<urn:uuid:{id}>"),
            "2024-09-27T10:30:00Z",
            http,
        )
    }

    fn page(body: &str) -> Vec<u8> {
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    }

    fn gz(bytes: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    fn read_all(name: &str, bytes: Vec<u8>) -> Vec<Result<Record, WarcError>> {
        let mut r = WarcReader::new(name, Box::new(io::Cursor::new(bytes)), 1 << 20);
        std::iter::from_fn(|| r.next()).collect()
    }

    fn ids(results: &[Result<Record, WarcError>]) -> Vec<String> {
        results
            .iter()
            .filter_map(|r| r.as_ref().ok())
            .map(|r| r.record_id().unwrap_or_default().to_string())
            .collect()
    }

    fn three() -> Vec<Vec<u8>> {
        (1..=3)
            .map(|i| {
                response(
                    &format!("https://a.test/{i}"),
                    &format!("id-{i}"),
                    &page(&format!("<html><p>page {i}</p></html>")),
                )
            })
            .collect()
    }

    #[test]
    fn plain_and_per_record_gzip_files_read_the_same() {
        let plain: Vec<u8> = three().concat();
        let records = read_all("a.warc", plain);
        assert_eq!(
            ids(&records),
            ["<urn:uuid:id-1>", "<urn:uuid:id-2>", "<urn:uuid:id-3>"]
        );
        let members: Vec<Vec<u8>> = three().iter().map(|r| gz(r)).collect();
        let second_at = members[0].len() as u64;
        let records = read_all("a.warc.gz", members.concat());
        assert_eq!(ids(&records).len(), 3);
        let second = records[1].as_ref().unwrap();
        assert_eq!(second.offset, second_at);
        assert_eq!(second.target_uri(), Some("https://a.test/2"));
        let p = archived_page(second, 1 << 20).unwrap();
        assert_eq!(p.html, "<html><p>page 2</p></html>");
        assert_eq!(
            p.captured_at.unwrap().to_rfc3339(),
            "2024-09-27T10:30:00+00:00"
        );
        // One member for the whole file reads too.
        assert_eq!(ids(&read_all("b.warc.gz", gz(&three().concat()))).len(), 3);
    }

    #[test]
    fn a_truncated_file_keeps_what_came_before_and_names_the_offset() {
        let records = three();
        let mut plain = records.concat();
        let cut = plain.len() - 10;
        plain.truncate(cut);
        let read = read_all("cut.warc", plain);
        assert_eq!(ids(&read).len(), 2);
        let err = read.last().unwrap().as_ref().unwrap_err().to_string();
        let third_at = records[0].len() + records[1].len();
        assert!(
            err.contains(&format!(
                "cut.warc: truncated: the record at offset {third_at}"
            )),
            "{err}"
        );

        let members: Vec<Vec<u8>> = three().iter().map(|r| gz(r)).collect();
        let mut gzipped = members.concat();
        gzipped.truncate(gzipped.len() - 20);
        let read = read_all("cut.warc.gz", gzipped);
        assert_eq!(ids(&read).len(), 2);
        let err = read.last().unwrap().as_ref().unwrap_err().to_string();
        let third_at = members[0].len() + members[1].len();
        assert!(
            err.contains("truncated") && err.contains(&format!("offset {third_at}")),
            "{err}"
        );
    }

    #[test]
    fn a_lying_content_length_costs_only_its_own_record() {
        for delta in [-7i64, 25, 4000] {
            let mut records = three();
            let text = String::from_utf8_lossy(&records[1]).to_string();
            let len: i64 = text
                .split("Content-Length: ")
                .nth(1)
                .and_then(|s| s.split("\r\n").next())
                .unwrap()
                .parse()
                .unwrap();
            records[1] = text
                .replacen(
                    &format!("Content-Length: {len}\r\n\r\nHTTP"),
                    &format!("Content-Length: {}\r\n\r\nHTTP", len + delta),
                    1,
                )
                .into_bytes();
            let read = read_all("lie.warc", records.concat());
            assert_eq!(
                ids(&read),
                ["<urn:uuid:id-1>", "<urn:uuid:id-3>"],
                "delta {delta}: {:?}",
                read.iter()
                    .filter_map(|r| r.as_ref().err())
                    .collect::<Vec<_>>()
            );
            let err = read[1].as_ref().unwrap_err().to_string();
            assert!(
                err.contains(&format!("offset {}", records[0].len())),
                "{err}"
            );
            // Gzipped per record, the lie stays inside its member.
            let members: Vec<Vec<u8>> = records.iter().map(|r| gz(r)).collect();
            let read = read_all("lie.warc.gz", members.concat());
            assert_eq!(
                ids(&read),
                ["<urn:uuid:id-1>", "<urn:uuid:id-3>"],
                "gz delta {delta}"
            );
        }
    }

    #[test]
    fn a_file_that_is_not_a_warc_says_so_and_a_broken_member_is_passed_over() {
        let read = read_all("fake.warc.gz", b"<html>not a warc</html>".to_vec());
        assert_eq!(read.len(), 1);
        let err = read[0].as_ref().unwrap_err().to_string();
        assert!(
            err.contains("fake.warc.gz") && err.contains("named .gz but not gzip"),
            "{err}"
        );
        // A plain WARC named .gz is read all the same.
        assert_eq!(ids(&read_all("plain.warc.gz", three().concat())).len(), 3);
        // The middle member's deflate data corrupted: the others are read.
        let mut members: Vec<Vec<u8>> = three().iter().map(|r| gz(r)).collect();
        let m = &mut members[1];
        for b in &mut m[12..30] {
            *b ^= 0x5a;
        }
        let read = read_all("bad.warc.gz", members.concat());
        assert_eq!(ids(&read), ["<urn:uuid:id-1>", "<urn:uuid:id-3>"]);
        let errors: Vec<String> = read
            .iter()
            .filter_map(|r| r.as_ref().err())
            .map(|e| e.to_string())
            .collect();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0].contains(&format!("offset {}", members[0].len())),
            "{errors:?}"
        );
    }

    #[test]
    fn pages_are_status_200_html_decoded_by_their_charset() {
        let rec = |http: Vec<u8>| {
            let mut r = WarcReader::new(
                "x.warc",
                Box::new(io::Cursor::new(response("https://a.test/x", "x", &http))),
                1 << 20,
            );
            r.next().unwrap().unwrap()
        };
        let (arabic, _, _) = encoding_rs::WINDOWS_1256.encode("<html><p>مرحبا</p></html>");
        let mut http =
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=windows-1256\r\n\r\n".to_vec();
        http.extend_from_slice(&arabic);
        let p = archived_page(&rec(http), 1 << 20).unwrap();
        assert!(p.html.contains("مرحبا"));
        assert_eq!(p.encoding, "windows-1256");
        let not_found = b"HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\n\r\nx".to_vec();
        assert_eq!(
            archived_page(&rec(not_found), 1 << 20),
            Err(Skipped::Status(404))
        );
        let image = b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\n\r\n\x89PNG".to_vec();
        assert!(matches!(
            archived_page(&rec(image), 1 << 20),
            Err(Skipped::NotHtml(_))
        ));
        let chunked = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n<p>ab\r\n6\r\ncd</p>\r\n0\r\n\r\n".to_vec();
        assert_eq!(
            archived_page(&rec(chunked), 1 << 20).unwrap().html,
            "<p>abcd</p>"
        );
        let mut zipped =
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Encoding: gzip\r\n\r\n"
                .to_vec();
        zipped.extend_from_slice(&gz(b"<p>zipped</p>"));
        assert_eq!(
            archived_page(&rec(zipped), 1 << 20).unwrap().html,
            "<p>zipped</p>"
        );
    }
}
