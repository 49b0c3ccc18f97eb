//! `newsriver backfill --warc`: archived responses through strip, dedup and publish with
//! nothing fetched, resuming by WARC-Record-ID, bad files named with their offsets, and a
//! WARC written by a real crawler (Debian's wget) of the fixture site. Its own main
//! (libtest-mimic): without wget that test is reported ignored, decided at run time.

mod support;

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use newsriver::topology::{self, BackfillOptions, WarcReport};
use newsriver_fetcher::warc::response_record;
use support::*;
use tokio_util::sync::CancellationToken;

/// Where every archived URL points: the discard port, so a page that were fetched
/// instead of read from the archive could not be had.
const ARCHIVED: &str = "http://127.0.0.1:9";
const CAPTURED: &str = "2024-09-28T06:00:00Z";

fn http(status: &str, content_type: &str, body: &[u8]) -> Vec<u8> {
    let mut h = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    h.extend_from_slice(body);
    h
}

fn record(path: &str, id: &str, response: &[u8]) -> Vec<u8> {
    response_record(
        &format!("{ARCHIVED}{path}"),
        &format!("<urn:uuid:{id}>"),
        CAPTURED,
        response,
    )
}

fn other_record(kind: &str, id: &str, block: &[u8]) -> Vec<u8> {
    let mut r = format!(
        "WARC/1.0\r\nWARC-Type: {kind}\r\nWARC-Record-ID: <urn:uuid:{id}>\r\n\
         WARC-Date: {CAPTURED}\r\nContent-Length: {}\r\n\r\n",
        block.len()
    )
    .into_bytes();
    r.extend_from_slice(block);
    r.extend_from_slice(b"\r\n\r\n");
    r
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).expect("gzip");
    e.finish().expect("gzip")
}

/// Records gzipped one member each, as Common Crawl stores them.
fn per_record_gzip(records: &[Vec<u8>]) -> Vec<u8> {
    records.iter().flat_map(|r| gz(r)).collect()
}

fn site_page(name: &str) -> Vec<u8> {
    std::fs::read(fixtures_dir().join("site").join(format!("{name}.html"))).expect("fixture")
}

/// A page of words no other page shares (a small pseudo-random vocabulary of made-up
/// words), with no date of its own: every one is a new article.
fn generated_page(i: usize) -> Vec<u8> {
    const SYLLABLES: &[&str] = &[
        "ka", "lo", "mi", "ren", "tas", "vu", "ne", "dor", "pi", "sal", "te", "gru", "an", "bel",
        "cho", "fen", "ix", "jo", "mur", "ost", "qua", "ril", "sy", "ton", "ul", "vex", "wen",
        "yar", "zo", "hem",
    ];
    let mut state = (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut word = || {
        let n = 2 + (next() % 3) as usize;
        (0..n)
            .map(|_| SYLLABLES[(next() % SYLLABLES.len() as u64) as usize])
            .collect::<String>()
    };
    let mut body = String::new();
    for _ in 0..5 {
        let sentence: Vec<String> = (0..45).map(|_| word()).collect();
        body.push_str(&format!("<p>{}.</p>", sentence.join(" ")));
    }
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Report {i} | Archive</title></head>\
         <body><nav><a href=\"/\">Home</a></nav><article><h1>Report {i}</h1>{body}</article>\
         <footer>Archive of reports</footer></body></html>"
    )
    .into_bytes()
}

fn generated_warc(n: usize, offset: usize) -> Vec<Vec<u8>> {
    (offset..offset + n)
        .map(|i| {
            record(
                &format!("/r/{i}.html"),
                &format!("gen-{i}"),
                &http("200 OK", "text/html", &generated_page(i)),
            )
        })
        .collect()
}

/// A config with state and output in `dir`.
fn warc_config(dir: &Path) -> PathBuf {
    let cfg = format!(
        "[state]\npath = \"{}\"\n\n[output]\npath = \"{}\"\n",
        dir.join("state/newsriver.sqlite").display(),
        dir.join("articles.jsonl").display()
    );
    let path = dir.join("newsriver.toml");
    std::fs::write(&path, cfg).expect("config written");
    path
}

fn backfill_warc_in_process(cfg: &Path, files: &[&Path]) -> WarcReport {
    let options = BackfillOptions {
        output: None,
        progress: false,
        sitemaps: Vec::new(),
    };
    let files = files.iter().map(|f| f.display().to_string()).collect();
    runtime()
        .block_on(topology::backfill_warc(
            config(cfg.to_str().expect("utf-8"), |_| {}),
            files,
            options,
            CancellationToken::new(),
        ))
        .expect("backfill --warc")
}

fn ids(records: &[serde_json::Value]) -> Vec<String> {
    records
        .iter()
        .map(|r| r["id"].as_str().expect("id").to_string())
        .collect()
}

fn assert_each_once(records: &[serde_json::Value]) {
    let all = ids(records);
    let unique: HashSet<&String> = all.iter().collect();
    assert_eq!(unique.len(), all.len(), "an article was published twice");
}

fn publishes_archived_pages_once_and_a_rerun_skips_every_record() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = warc_config(dir.path());
    let mut records = vec![other_record(
        "warcinfo",
        "info",
        b"software: test\r\nformat: WARC File Format 1.1\r\n",
    )];
    for name in [
        "sun-coalition",
        "monitor-coalition-end",
        "wsj-withdrawal-steps",
        "coalition-ends-2025",
        "talks-to-end-presence",
    ] {
        records.push(other_record(
            "request",
            &format!("req-{name}"),
            format!("GET /news/{name}.html HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").as_bytes(),
        ));
        // As the server sent it: no charset, the windows-1256 page says so in its markup.
        records.push(record(
            &format!("/news/{name}.html"),
            name,
            &http("200 OK", "text/html", &site_page(name)),
        ));
    }
    // The same article under another URL, a page without an article, a page without a
    // date of its own, and what is not a page.
    records.push(record(
        "/syndicated/sun.html",
        "copy",
        &http("200 OK", "text/html", &site_page("sun-coalition")),
    ));
    records.push(record(
        "/news/section-index.html",
        "index",
        &http("200 OK", "text/html", &site_page("section-index")),
    ));
    records.push(record(
        "/r/undated.html",
        "undated",
        &http("200 OK", "text/html; charset=utf-8", &generated_page(1)),
    ));
    records.push(record(
        "/gone.html",
        "gone",
        &http("404 Not Found", "text/html", b"<html>not found</html>"),
    ));
    records.push(record(
        "/logo.png",
        "logo",
        &http("200 OK", "image/png", b"\x89PNG\r\n\x1a\n"),
    ));
    records.push(other_record("metadata", "meta", b"outlinks: none\r\n"));
    let warc = dir.path().join("crawl.warc.gz");
    std::fs::write(&warc, per_record_gzip(&records)).unwrap();

    let report = backfill_warc_in_process(&cfg, &[&warc]);
    assert_eq!(
        (report.records, report.skipped, report.done_before),
        (10, 2, 0),
        "{report}"
    );
    assert_eq!(
        (
            report.published,
            report.duplicates,
            report.failed,
            report.no_article
        ),
        (6, 1, 1, 1),
        "{report}"
    );
    assert_eq!((report.files, report.files_unfinished), (1, 0), "{report}");
    assert!(!report.all_handled(), "a page without an article fails");
    let out = read_jsonl(&dir.path().join("articles.jsonl"));
    assert_eq!(out.len(), 6);
    assert_each_once(&out);
    let fixtures: Vec<serde_json::Value> = out
        .iter()
        .filter(|r| !r["url"].as_str().unwrap().ends_with("/r/undated.html"))
        .cloned()
        .collect();
    assert_eq!(
        check_articles(&fixtures).len(),
        5,
        "the five fixture articles"
    );
    for r in &out {
        assert_eq!(r["source"], "backfill");
        assert!(r["url"].as_str().unwrap().starts_with(ARCHIVED), "{r}");
        assert_eq!(r["fetched_at"], "2024-09-28T06:00:00Z", "capture time");
    }
    let undated = out
        .iter()
        .find(|r| r["url"].as_str().unwrap().ends_with("/r/undated.html"))
        .expect("the undated page");
    assert_eq!(
        undated["published_at"], "2024-09-28T06:00:00Z",
        "WARC-Date stands in for a missing publication date"
    );
    let dated = out
        .iter()
        .find(|r| {
            r["url"]
                .as_str()
                .unwrap()
                .ends_with("/monitor-coalition-end.html")
        })
        .expect("a dated page");
    assert_eq!(dated["published_at"], "2024-09-27T20:00:00Z");

    // Again: every record was done (the failed and duplicate ones too).
    let again = backfill_warc_in_process(&cfg, &[&warc]);
    assert_eq!(
        (
            again.records,
            again.done_before,
            again.skipped,
            again.published,
            again.failed
        ),
        (10, 8, 2, 0, 0),
        "{again}"
    );
    assert!(again.all_handled(), "{again}");
    assert_eq!(read_jsonl(&dir.path().join("articles.jsonl")).len(), 6);
}

fn newsriver_cmd(cfg: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_newsriver"));
    cmd.arg("--config").arg(cfg).env("RUST_LOG", "warn");
    for (k, _) in std::env::vars() {
        if k.starts_with("NEWSRIVER_") {
            cmd.env_remove(k);
        }
    }
    cmd
}

fn sigint_midway_then_a_rerun_publishes_each_article_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = warc_config(dir.path());
    let n = 1500;
    let warc = dir.path().join("big.warc.gz");
    std::fs::write(&warc, per_record_gzip(&generated_warc(n, 0))).unwrap();
    let out_path = dir.path().join("articles.jsonl");
    let child = newsriver_cmd(&cfg)
        .args(["backfill", "--no-progress", "--warc"])
        .arg(&warc)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn backfill");
    let started = wait_until(std::time::Duration::from_secs(60), || {
        read_jsonl(&out_path).len() >= 20
    });
    assert!(started, "no articles came out");
    signal(&child, "-INT");
    let first = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&first.stderr);
    let before = read_jsonl(&out_path).len();
    assert!(
        before < n,
        "the interrupt should land midway, all {n} were out"
    );
    assert_eq!(first.status.code(), Some(1), "an unfinished file: {stderr}");
    assert!(stderr.contains("unfinished 1"), "{stderr}");

    let second = newsriver_cmd(&cfg)
        .args(["backfill", "--no-progress", "--warc"])
        .arg(&warc)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains(&format!("done before {before}")),
        "the records done by the first run are skipped: {stderr}"
    );
    let out = read_jsonl(&out_path);
    assert_each_once(&out);
    assert_eq!(
        out.len(),
        n,
        "every article exactly once across the two runs"
    );
}

fn bad_files_are_named_with_offsets_and_the_rest_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = warc_config(dir.path());
    let good = dir.path().join("good.warc.gz");
    std::fs::write(&good, per_record_gzip(&generated_warc(3, 0))).unwrap();
    // Cut inside the third record's gzip member.
    let cut = dir.path().join("cut.warc.gz");
    let members: Vec<Vec<u8>> = generated_warc(3, 10).iter().map(|r| gz(r)).collect();
    let third_at = members[0].len() + members[1].len();
    let mut bytes = members.concat();
    bytes.truncate(third_at + members[2].len() / 2);
    std::fs::write(&cut, bytes).unwrap();
    // Uncompressed, the second record's Content-Length 40 bytes too long.
    let lie = dir.path().join("lie.warc");
    let mut records = generated_warc(3, 20);
    let second_at = records[0].len();
    let text = String::from_utf8(records[1].clone()).unwrap();
    let len: usize = text
        .split("\r\nContent-Length: ")
        .nth(1)
        .and_then(|s| s.split("\r\n").next())
        .and_then(|s| s.parse().ok())
        .unwrap();
    records[1] = text
        .replacen(
            &format!("Content-Length: {len}\r\n\r\nHTTP"),
            &format!("Content-Length: {}\r\n\r\nHTTP", len + 40),
            1,
        )
        .into_bytes();
    std::fs::write(&lie, records.concat()).unwrap();
    let fake = dir.path().join("fake.warc.gz");
    std::fs::write(
        &fake,
        b"<html><body>a web page saved under the wrong name</body></html>",
    )
    .unwrap();
    let missing = dir.path().join("missing.warc");

    let run = newsriver_cmd(&cfg)
        .args(["backfill", "--no-progress", "--warc"])
        .args([&good, &cut, &lie, &fake, &missing])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    let name = |p: &Path| p.display().to_string();
    for expected in [
        format!("{}: truncated: the record at offset {third_at}", name(&cut)),
        format!("{}: record at offset {second_at}", name(&lie)),
        format!("{}: not a WARC file: named .gz but not gzip", name(&fake)),
        format!("{}: cannot open", name(&missing)),
    ] {
        assert!(stderr.contains(&expected), "{expected:?} in {stderr}");
    }
    assert!(
        stderr.contains("files 5, unfinished 4, read errors 4"),
        "{stderr}"
    );
    // All but the cut record and the lying one.
    let out = read_jsonl(&dir.path().join("articles.jsonl"));
    let urls: HashSet<String> = out
        .iter()
        .map(|r| r["url"].as_str().unwrap().to_string())
        .collect();
    let expected: HashSet<String> = [0, 1, 2, 10, 11, 20, 22]
        .iter()
        .map(|i| format!("{ARCHIVED}/r/{i}.html"))
        .collect();
    assert_eq!(urls, expected);

    // Standard input: an uncompressed WARC piped in.
    let mut child = newsriver_cmd(&cfg)
        .args(["backfill", "--no-progress", "--warc", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let piped = generated_warc(2, 30).concat();
    child.stdin.take().unwrap().write_all(&piped).unwrap();
    let run = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("2 records"), "{stderr}");
    assert_eq!(read_jsonl(&dir.path().join("articles.jsonl")).len(), 9);
}

const WGET_INSTALL: &str = "apt-get install wget (scripts/install-deps.sh --test)";

/// Crawls the fixture site with `wget --warc-file` (one gzip member per record, request
/// and response records, a metadata record with wget's log) and backfills the WARC.
fn a_warc_written_by_wget_is_backfilled(wget: PathBuf) {
    let server = FixtureServer::start();
    let dir = tempfile::tempdir().unwrap();
    let cfg = warc_config(dir.path());
    let mut urls: Vec<String> = [
        "sun-coalition",
        "monitor-coalition-end",
        "wsj-withdrawal-steps",
        "coalition-ends-2025",
        "talks-to-end-presence",
    ]
    .iter()
    .map(|n| server.url(&format!("/news/{n}.html")))
    .collect();
    urls.push(server.url("/news/missing.html"));
    urls.push(server.url("/feeds/rss.xml"));
    let list = dir.path().join("urls.txt");
    std::fs::write(&list, urls.join("\n")).unwrap();
    let prefix = dir.path().join("crawl");
    let status = Command::new(&wget)
        .arg("--quiet")
        .arg("--no-proxy")
        .arg("--tries=1")
        .arg(format!("--warc-file={}", prefix.display()))
        .arg("--no-warc-keep-log")
        .arg("--delete-after")
        .arg("--directory-prefix")
        .arg(dir.path().join("pages"))
        .arg("--input-file")
        .arg(&list)
        .status()
        .expect("run wget");
    // wget exits 8 when a page answered with an error (the 404): the WARC is written.
    assert!(matches!(status.code(), Some(0 | 8)), "wget: {status}");
    let warc = dir.path().join("crawl.warc.gz");
    assert!(warc.is_file(), "wget wrote no WARC");
    let hits_before = server.hits("/news/sun-coalition.html");

    let run = newsriver_cmd(&cfg)
        .args(["backfill", "--no-progress", "--warc"])
        .arg(&warc)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("backfill: 7 records, skipped 2 (not 200 or not HTML), done before 0"),
        "{stderr}"
    );
    let out = read_jsonl(&dir.path().join("articles.jsonl"));
    assert_eq!(
        check_articles(&out).len(),
        5,
        "the five articles of the crawl"
    );
    assert_each_once(&out);
    assert_eq!(
        server.hits("/news/sun-coalition.html"),
        hits_before,
        "nothing is fetched again"
    );
}

/// Serves a CC-NEWS month on 127.0.0.1: its `warc.paths.gz` listing three WARC files,
/// and the files; counts the requests for each path.
fn cc_news_server() -> (
    std::sync::Arc<tiny_http::Server>,
    String,
    std::sync::Arc<std::sync::Mutex<Vec<String>>>,
) {
    let server = std::sync::Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
    let base = format!(
        "http://127.0.0.1:{}/",
        server.server_addr().to_ip().unwrap().port()
    );
    let seen: std::sync::Arc<std::sync::Mutex<Vec<String>>> = Default::default();
    let (srv, log) = (server.clone(), seen.clone());
    std::thread::spawn(move || {
        let dir = "crawl-data/CC-NEWS/2024/09";
        let name = |k: usize| format!("{dir}/CC-NEWS-20240901-{k:05}.warc.gz");
        for req in srv.incoming_requests() {
            let path = req.url().trim_start_matches('/').to_string();
            log.lock().unwrap().push(path.clone());
            let body = if path == format!("{dir}/warc.paths.gz") {
                Some(gz((0..3)
                    .map(|k| name(k) + "\n")
                    .collect::<String>()
                    .as_bytes()))
            } else {
                (0..3)
                    .find(|&k| path == name(k))
                    .map(|k| per_record_gzip(&generated_warc(3, 100 + 10 * k)))
            };
            let resp = match body {
                Some(b) => tiny_http::Response::from_data(b),
                None => tiny_http::Response::from_data(b"not found".to_vec()).with_status_code(404),
            };
            let _ = req.respond(resp);
        }
    });
    (server, base, seen)
}

fn a_cc_news_month_is_streamed_from_its_list_and_resumed() {
    let (server, base, seen) = cc_news_server();
    let dir = tempfile::tempdir().unwrap();
    let cfg = warc_config(dir.path());
    let mut text = std::fs::read_to_string(&cfg).unwrap();
    text.push_str(&format!(
        "\n[fetch]\nallow_private_networks = true\n\n[cc_news]\nbase_url = \"{base}\"\n"
    ));
    std::fs::write(&cfg, text).unwrap();
    let backfill = |extra: &[&str]| {
        newsriver_cmd(&cfg)
            .args(["backfill", "--no-progress", "--cc-news", "2024-09"])
            .args(extra)
            .output()
            .unwrap()
    };
    let first = backfill(&["--limit", "2"]);
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert_eq!(first.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("CC-NEWS 2024-09: 2 WARC files"), "{stderr}");
    assert!(stderr.contains("backfill: 6 records"), "{stderr}");
    assert!(
        !seen
            .lock()
            .unwrap()
            .iter()
            .any(|p| p.ends_with("-00002.warc.gz")),
        "the third file is past the limit"
    );
    let second = backfill(&[]);
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("9 records"), "{stderr}");
    assert!(
        stderr.contains("done before 6, extracted 3, published 3"),
        "{stderr}"
    );
    let out = read_jsonl(&dir.path().join("articles.jsonl"));
    assert_eq!(out.len(), 9);
    assert_each_once(&out);
    let bad = backfill(&["--limit", "x"]);
    assert_eq!(bad.status.code(), Some(2));
    let month = newsriver_cmd(&cfg)
        .args(["backfill", "--cc-news", "2024-13"])
        .output()
        .unwrap();
    assert_eq!(month.status.code(), Some(2), "not a month");
    server.unblock();
}

/// What newsriver's reader reads of `file`, in the form the warcio script prints.
fn records_as_newsriver_reads_them(file: &Path) -> Vec<serde_json::Value> {
    use newsriver_fetcher::warc::{HttpResponse, WarcReader};
    let input = std::io::BufReader::new(std::fs::File::open(file).unwrap());
    let name = file.display().to_string();
    let mut reader = WarcReader::new(&name, Box::new(input), u64::MAX);
    let mut out = Vec::new();
    while let Some(record) = reader.next() {
        let record = record.unwrap_or_else(|e| panic!("{e}"));
        let mut v = serde_json::json!({
            "file": name,
            "offset": record.offset,
            "type": record.warc_type(),
            "id": record.record_id(),
            "uri": record.target_uri(),
            "length": record.content_length,
        });
        if record.warc_type() == Some("response") {
            if let Ok(http) = HttpResponse::parse(record.block.as_deref().unwrap()) {
                let body = http.decoded_body(usize::MAX - 1).unwrap();
                v["status"] = http.status.into();
                v["body"] = body
                    .iter()
                    .map(|&b| char::from(b))
                    .collect::<String>()
                    .into();
            }
        }
        out.push(v);
    }
    out
}

/// Every record, its offset, headers, HTTP status and decoded body as warcio reads them,
/// in WARC files of three shapes: gzip per record with chunked and gzip-coded payloads,
/// uncompressed, and (with wget) a real crawl.
fn records_read_the_same_as_warcio_reads_them(python: PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let mut records = vec![other_record(
        "warcinfo",
        "info",
        b"software: test\r\nformat: WARC File Format 1.1\r\n",
    )];
    records.extend(generated_warc(3, 0));
    let chunked =
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n\
        6\r\n<html>\r\nf\r\n<p>chunked body\r\n8\r\n</p></ht\r\n3\r\nml>\r\n0\r\n\r\n";
    records.push(record("/chunked.html", "chunked", chunked));
    let mut zipped =
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Encoding: gzip\r\n\r\n"
            .to_vec();
    zipped.extend_from_slice(&gz("<html><p>gzip coded, é</p></html>".as_bytes()));
    records.push(record("/zipped.html", "zipped", &zipped));
    records.push(record(
        "/gone.html",
        "gone",
        &http("404 Not Found", "text/html", b"<html>gone</html>"),
    ));
    records.push(other_record("metadata", "meta", b"outlinks: none\r\n"));
    let gzipped = dir.path().join("shapes.warc.gz");
    std::fs::write(&gzipped, per_record_gzip(&records)).unwrap();
    let plain = dir.path().join("shapes.warc");
    std::fs::write(&plain, records.concat()).unwrap();
    let mut files = vec![gzipped, plain];
    if let Some(wget) = find_program("WGET", &["wget"], None) {
        let server = FixtureServer::start();
        let prefix = dir.path().join("crawl");
        let status = Command::new(wget)
            .args(["--quiet", "--no-proxy", "--tries=1", "--delete-after"])
            .arg(format!("--warc-file={}", prefix.display()))
            .arg("--directory-prefix")
            .arg(dir.path().join("pages"))
            .arg(server.url("/news/sun-coalition.html"))
            .arg(server.url("/news/missing.html"))
            .arg(server.url("/feeds/rss.xml"))
            .status()
            .expect("run wget");
        assert!(matches!(status.code(), Some(0 | 8)), "wget: {status}");
        files.push(dir.path().join("crawl.warc.gz"));
    }
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/scripts/warcio_records.py");
    let out = Command::new(&python)
        .arg(script)
        .args(&files)
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "warcio: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let ours: Vec<serde_json::Value> = files
        .iter()
        .flat_map(|f| records_as_newsriver_reads_them(f))
        .collect();
    assert!(theirs.len() >= 18, "{} records", theirs.len());
    assert_eq!(ours.len(), theirs.len());
    for (o, t) in ours.iter().zip(&theirs) {
        assert_eq!(o, t);
    }
}

/// The python of a venv with warcio (`scripts/install-deps.sh --test` makes one): `$var`
/// when set, else the default venv's, when it imports warcio.
fn warcio_python() -> Option<PathBuf> {
    let default = std::env::var_os("HOME")
        .map(|h| PathBuf::from(h).join(".cache/newsriver/test-venv/bin/python"));
    let python = find_program("WARCIO_PYTHON", &[], default)?;
    let imports = Command::new(&python)
        .args(["-c", "import warcio"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    imports.then_some(python)
}

fn main() -> std::process::ExitCode {
    let args = libtest_mimic::Arguments::from_args();
    let wget = find_program("WGET", &["wget"], None);
    let tests = vec![
        libtest_mimic::Trial::test(
            "publishes_archived_pages_once_and_a_rerun_skips_every_record",
            || {
                publishes_archived_pages_once_and_a_rerun_skips_every_record();
                Ok(())
            },
        ),
        libtest_mimic::Trial::test(
            "sigint_midway_then_a_rerun_publishes_each_article_exactly_once",
            || {
                sigint_midway_then_a_rerun_publishes_each_article_exactly_once();
                Ok(())
            },
        ),
        libtest_mimic::Trial::test(
            "bad_files_are_named_with_offsets_and_the_rest_is_read",
            || {
                bad_files_are_named_with_offsets_and_the_rest_is_read();
                Ok(())
            },
        ),
        libtest_mimic::Trial::test(
            "a_cc_news_month_is_streamed_from_its_list_and_resumed",
            || {
                a_cc_news_month_is_streamed_from_its_list_and_resumed();
                Ok(())
            },
        ),
        trial_needing(
            "a_warc_written_by_wget_is_backfilled",
            &wget,
            "wget",
            "NEWSRIVER_REQUIRE_WGET",
            WGET_INSTALL,
            "WGET",
            a_warc_written_by_wget_is_backfilled,
        ),
        trial_needing(
            "records_read_the_same_as_warcio_reads_them",
            &warcio_python(),
            "a python with warcio",
            "NEWSRIVER_REQUIRE_WARCIO",
            "scripts/install-deps.sh --test makes ~/.cache/newsriver/test-venv with warcio",
            "WARCIO_PYTHON",
            records_read_the_same_as_warcio_reads_them,
        ),
    ];
    libtest_mimic::run(&args, tests).exit_code()
}
