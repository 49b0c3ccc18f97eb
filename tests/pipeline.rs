//! End-to-end: newsriver against a local fixture site built from the five seed pages
//! (WordPress, Blogger and plain CMS templates, one served in windows-1256). What needs no
//! process of its own (signals, SIGKILL, exit codes, the state lock, the command-line
//! tools) runs the topologies in this process; the rest starts the binary.

mod support;

use std::collections::HashSet;

use newsriver::config::{Config, DuplicatePolicy};
use newsriver::topology::{self, BackfillOptions, BackfillReport, RunOptions};
use support::*;
use tokio_util::sync::CancellationToken;

/// `run --once` in this process, which must succeed.
fn run_once_in_process(cfg: &str, tweak: impl FnOnce(&mut Config)) {
    let options = RunOptions {
        once: true,
        output: None,
        config_file: None,
    };
    runtime()
        .block_on(topology::run(
            config(cfg, tweak),
            options,
            CancellationToken::new(),
        ))
        .expect("run --once");
}

/// `backfill` of the URL list `urls` into `output`, in this process.
fn backfill_in_process(
    cfg: &str,
    output: &str,
    urls: &str,
    tweak: impl FnOnce(&mut Config),
) -> BackfillReport {
    let list = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(list.path(), urls).expect("URL list written");
    backfill_from(
        config(cfg, tweak),
        Some(list.path().to_str().expect("utf-8 path")),
        output,
        Vec::new(),
    )
}

/// `backfill --sitemap` of each of `sitemaps` into `output`, in this process.
fn backfill_sitemaps_in_process(cfg: &str, output: &str, sitemaps: Vec<String>) -> BackfillReport {
    backfill_from(config(cfg, |_| {}), None, output, sitemaps)
}

fn backfill_from(
    config: Config,
    list: Option<&str>,
    output: &str,
    sitemaps: Vec<String>,
) -> BackfillReport {
    let options = BackfillOptions {
        output: Some(output.to_string()),
        progress: false,
        sitemaps,
    };
    runtime()
        .block_on(topology::backfill(
            config,
            list,
            options,
            CancellationToken::new(),
        ))
        .expect("backfill")
}

/// A backfill in this process that handles every URL.
fn backfill_ok(cfg: &str, output: &str, urls: &str, tweak: impl FnOnce(&mut Config)) {
    let report = backfill_in_process(cfg, output, urls, tweak);
    assert!(report.all_handled(), "{report}");
}

fn flag_duplicates(c: &mut Config) {
    c.dedup.policy = DuplicatePolicy::Flag;
}

fn assert_record_shape(r: &serde_json::Value) {
    for key in [
        "schema_version",
        "id",
        "url",
        "canonical_url",
        "title",
        "text",
        "published_at",
        "language",
        "source",
        "fetched_at",
        "dedup",
    ] {
        assert!(r.get(key).is_some(), "record lacks {key}: {r}");
    }
    let id = r["id"].as_str().unwrap();
    assert_eq!(id.len(), 32);
    assert!(id.chars().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(r["schema_version"], "1.2.0");
    assert!(r["keywords"].is_array(), "{r}");
    assert_eq!(r["paywalled"], false);
    assert_eq!(r["language"], "ar");
    assert!(
        r["title"].as_str().map(|t| !t.is_empty()).unwrap_or(false),
        "no title: {r}"
    );
    let canonical = r["canonical_url"].as_str().unwrap();
    assert!(
        !canonical.contains("utm_") && !canonical.contains("fbclid") && !canonical.contains('#')
    );
    assert!(r["dedup"]["story_id"].as_str().is_some());
}

#[test]
fn run_once_publishes_each_article_once_and_nothing_after_restart() {
    let server = FixtureServer::start();
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &server);
    let cfg = cfg.to_str().unwrap();
    let out_path = dir.path().join("articles.jsonl");

    run_once_in_process(cfg, |_| {});
    let records = read_jsonl(&out_path);
    let by_name = check_articles(&records);
    assert_eq!(
        by_name.len(),
        5,
        "expected the five articles, got {records:#?}"
    );
    assert_eq!(records.len(), 5, "a duplicate was published");
    for r in &records {
        assert_record_shape(r);
        assert_eq!(r["dedup"]["status"], "unique");
        let source = r["source"].as_str().unwrap();
        assert!(source.ends_with("/feeds/rss.xml") || source.ends_with("/feeds/atom.xml"));
    }
    let ids: HashSet<&str> = records.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 5);

    // The page's rel=canonical (same site) wins over the listed URL, tracking removed.
    let sun = &by_name["sun-coalition"];
    assert_eq!(
        sun["canonical_url"],
        server.url("/world/coalition-mission-iraq-end-2025")
    );
    assert!(sun["url"].as_str().unwrap().contains("utm_source=rss"));
    assert_eq!(sun["published_at"], "2024-09-27T10:30:00Z");
    // JSON-LD metadata.
    let coalition = &by_name["coalition-ends-2025"];
    assert_eq!(coalition["published_at"], "2024-09-27T16:05:00Z");
    assert_eq!(coalition["authors"][0], "مراسل الشؤون العربية");
    // Story grouping: three reports of the 27 September announcement share a story;
    // the January report on the talks that led to it is another story.
    let story = |name: &str| {
        by_name[name]["dedup"]["story_id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(story("sun-coalition"), story("coalition-ends-2025"));
    assert_eq!(story("sun-coalition"), story("monitor-coalition-end"));
    assert_ne!(story("sun-coalition"), story("talks-to-end-presence"));
    // Listed in both feeds (once with fbclid, once plain): fetched once.
    assert_eq!(server.hits("/news/coalition-ends-2025.html"), 1);
    assert_eq!(server.hits("/news/monitor-coalition-end.html"), 1);
    // The syndicated copy was fetched and recognized as the same text.
    assert_eq!(server.hits("/syndicated/talks.html"), 1);

    // Restart: feeds are polled again (RSS answers 304 to its ETag, Atom is re-listed),
    // nothing is fetched or published again.
    run_once_in_process(cfg, |_| {});
    assert_eq!(
        read_jsonl(&out_path).len(),
        5,
        "articles re-published after restart"
    );
    assert_eq!(
        *server.not_modified.lock().unwrap(),
        1,
        "conditional GET not used"
    );
    assert_eq!(server.hits("/feeds/atom.xml"), 2);
    assert_eq!(server.hits("/news/coalition-ends-2025.html"), 1);

    // The feeds command shows both feeds as healthy.
    let out = newsriver(&["feeds", "--config", cfg], None);
    assert!(out.status.success());
    let listing = String::from_utf8_lossy(&out.stdout);
    assert!(
        listing.contains("not_modified") && listing.contains("/feeds/atom.xml"),
        "{listing}"
    );
    // A broken feed is reported with its error and backs off; a gone one is retired and
    // was not polled again.
    let broken = listing
        .lines()
        .find(|l| l.contains("/feeds/broken.xml"))
        .expect("broken feed listed");
    assert!(broken.starts_with("error"), "{listing}");
    assert!(listing.contains("HTTP 500"), "{listing}");
    let gone = listing
        .lines()
        .find(|l| l.contains("/feeds/gone.xml"))
        .expect("gone feed listed");
    assert!(gone.starts_with("retired"), "{listing}");
    assert_eq!(server.hits("/feeds/gone.xml"), 1);
    assert!(listing.contains("articles pending: 0;"), "{listing}");
    // Five articles, one of them under two URLs (listed, and its page's canonical).
    assert!(
        listing.contains("6 published, 1 duplicate, 0 given up"),
        "{listing}"
    );

    // The subscriptions as OPML: every configured feed, titled as its last poll found.
    let out = newsriver(&["feeds", "export", "--config", cfg], None);
    assert!(out.status.success(), "{out:?}");
    let opml = String::from_utf8_lossy(&out.stdout);
    let exported = newsriver_fetcher::parse_opml(&opml).expect("OPML that parses");
    let configured = config(cfg, |_| {}).feed_urls().unwrap();
    assert_eq!(exported, configured);
    assert!(opml.contains("title=\"World desk\""), "{opml}");
}

#[test]
fn flag_policy_publishes_duplicates_marked() {
    let server = FixtureServer::start();
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &server);
    run_once_in_process(cfg.to_str().unwrap(), flag_duplicates);
    let records = read_jsonl(&dir.path().join("articles.jsonl"));
    assert_eq!(records.len(), 6, "{records:#?}");
    let dups: Vec<_> = records
        .iter()
        .filter(|r| r["dedup"]["status"] == "duplicate")
        .collect();
    assert_eq!(dups.len(), 1);
    let dup = dups[0];
    // Pages are fetched concurrently, so either copy may arrive first.
    let talks = ["/news/talks-to-end-presence.html", "/syndicated/talks.html"];
    let dup_url = dup["url"].as_str().unwrap();
    assert!(talks.iter().any(|t| dup_url.ends_with(t)), "{dup_url}");
    assert_eq!(dup["dedup"]["reason"], "text");
    let original = records
        .iter()
        .find(|r| {
            let u = r["url"].as_str().unwrap();
            u != dup_url && talks.iter().any(|t| u.ends_with(t))
        })
        .expect("original published");
    assert_eq!(dup["dedup"]["duplicate_of"], original["id"]);
    assert_eq!(dup["dedup"]["story_id"], original["dedup"]["story_id"]);
}

#[test]
fn a_page_without_an_article_is_reported_not_published() {
    let server = FixtureServer::start();
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &server);
    let out_path = dir.path().join("backfill.jsonl");
    let list = format!(
        "{}\n{}\n",
        server.url("/news/section-index.html"),
        server.url("/news/sun-coalition.html")
    );
    let report = backfill_in_process(
        cfg.to_str().unwrap(),
        out_path.to_str().unwrap(),
        &list,
        |_| {},
    );
    assert_eq!(
        (report.published, report.failed, report.no_article),
        (1, 1, 1),
        "{report}"
    );
    assert!(!report.all_handled());
    let letters = read_jsonl(&dir.path().join("state/dead-letters.jsonl"));
    assert_eq!(letters.len(), 1, "{letters:#?}");
    assert_eq!(letters[0]["reason"], "no article text found on page");
    assert!(letters[0]["url"]
        .as_str()
        .unwrap()
        .ends_with("/news/section-index.html"));
    let records = read_jsonl(&out_path);
    assert_eq!(records.len(), 1);
    assert!(!records[0]["text"].as_str().unwrap().is_empty());
}

#[test]
fn backfill_reports_failures_and_skips_what_was_seen() {
    let server = FixtureServer::start();
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &server);
    let cfg = cfg.to_str().unwrap();
    let out_path = dir.path().join("backfill.jsonl");
    let out_arg = out_path.to_str().unwrap();
    let list = format!(
        "# five articles, two listed twice under tracking parameters, one missing page\n\
         {}\n{}\n{}\n{}\n\n{}\n{}\n{}\n{}\n",
        server.url("/news/sun-coalition.html"),
        server.url("/news/monitor-coalition-end.html?utm_source=newsletter"),
        server.url("/news/wsj-withdrawal-steps.html"),
        server.url("/news/coalition-ends-2025.html"),
        server.url("/news/talks-to-end-presence.html"),
        server.url("/news/monitor-coalition-end.html"),
        server.url("/news/sun-coalition.html?utm_medium=email#top"),
        server.url("/news/missing-page.html"),
    );
    let out = newsriver(
        &["backfill", "-", "--config", cfg, "--output", out_arg],
        Some(&list),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a failed URL must give exit 1: {stderr}"
    );
    assert!(
        stderr.contains("failed 1 (0 without an article)"),
        "{stderr}"
    );
    let records = read_jsonl(&out_path);
    assert_eq!(check_articles(&records).len(), 5);
    assert_eq!(records.len(), 5);
    for r in &records {
        assert_record_shape(r);
        assert_eq!(r["source"], "backfill");
    }

    // Running the good URLs again: all seen before, nothing published, exit 0.
    let good: String = list
        .lines()
        .filter(|l| !l.contains("missing"))
        .map(|l| format!("{l}\n"))
        .collect();
    let list_path = dir.path().join("urls.txt");
    std::fs::write(&list_path, good).unwrap();
    let out = newsriver(
        &[
            "backfill",
            list_path.to_str().unwrap(),
            "--config",
            cfg,
            "--output",
            out_arg,
        ],
        None,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("published 0"), "{stderr}");
    assert_eq!(read_jsonl(&out_path).len(), 5);

    // The missing page is a dead letter, beside the state database, with its reason.
    let letters = read_jsonl(&dir.path().join("state/dead-letters.jsonl"));
    assert_eq!(letters.len(), 1, "{letters:#?}");
    assert!(letters[0]["url"]
        .as_str()
        .unwrap()
        .ends_with("/news/missing-page.html"));
    assert_eq!(letters[0]["source"], "backfill");
    assert_eq!(letters[0]["attempts"], 1);
    assert!(
        letters[0]["reason"].as_str().unwrap().contains("404"),
        "{letters:#?}"
    );
}

#[test]
fn extract_prints_article_json_and_text() {
    let page = fixtures_dir().join("site/talks-to-end-presence.html");
    let out = newsriver(&["extract", page.to_str().unwrap()], None);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["language"], "ar");
    assert!(v["title"].as_str().unwrap().contains("تبحثان عن خطة"));
    check_articles(&[v]);

    let out = newsriver(&["extract", "--text", "-"], Some("<html><body><article><p>Only one paragraph of body text that is long enough to be kept by the stripper.</p></article></body></html>"));
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("Only one paragraph"));
}

/// `newsriver extract page | head` is a pipe whose reader leaves early: the output ends
/// quietly with exit 0, as other Unix tools do, not with a panic.
#[test]
fn extract_into_a_closed_pipe_ends_quietly() {
    use std::process::{Command, Stdio};
    let page = fixtures_dir().join("site/talks-to-end-presence.html");
    let (reader, writer) = std::io::pipe().unwrap();
    // The reading end is closed before the page is even parsed.
    drop(reader);
    let out = Command::new(env!("CARGO_BIN_EXE_newsriver"))
        .args(["extract", page.to_str().unwrap()])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::from(writer))
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{:?}: {stderr}", out.status);
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn bad_usage_and_bad_config_exit_2() {
    let out = newsriver(&["backfill", "--no-such-flag"], None);
    assert_eq!(out.status.code(), Some(2));
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[dedup]\npolicy = \"sometimes\"\n").unwrap();
    let out = newsriver(&["feeds", "--config", bad.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("policy"));
}

/// Waits (bounded) until `path` holds at least `n` JSON lines.
fn wait_for_lines(path: &std::path::Path, n: usize, limit: std::time::Duration) -> usize {
    let start = std::time::Instant::now();
    loop {
        let have = read_jsonl(path).len();
        if have >= n || start.elapsed() > limit {
            return have;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn daemon_drains_and_exits_0_on_sigterm() {
    let server = FixtureServer::start_with_page_delay(std::time::Duration::from_millis(200));
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config_with(dir.path(), &server, "concurrency = 1");
    let out_path = dir.path().join("articles.jsonl");
    let mut child = spawn_daemon(cfg.to_str().unwrap());
    assert!(wait_for_lines(&out_path, 1, std::time::Duration::from_secs(30)) >= 1);
    signal(&child, "-TERM");
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "graceful shutdown must exit 0");
    // Whatever was in flight was finished or left pending; a restart completes the rest.
    run_once_in_process(cfg.to_str().unwrap(), |_| {});
    let records = read_jsonl(&out_path);
    assert_eq!(check_articles(&records).len(), 5);
    assert_eq!(records.len(), 5, "graceful stop must not cause repeats");
}

#[test]
fn sigkill_mid_run_loses_nothing() {
    let server = FixtureServer::start_with_page_delay(std::time::Duration::from_millis(300));
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config_with(dir.path(), &server, "concurrency = 1");
    let out_path = dir.path().join("articles.jsonl");
    let mut child = spawn_daemon(cfg.to_str().unwrap());
    let before = wait_for_lines(&out_path, 1, std::time::Duration::from_secs(30));
    signal(&child, "-KILL");
    child.wait().unwrap();
    assert!(
        (1..5).contains(&before),
        "kill should land mid-run, saw {before} articles"
    );
    run_once_in_process(cfg.to_str().unwrap(), |_| {});
    let records = read_jsonl(&out_path);
    // At least once: every article arrived; a repeat of an in-flight one is allowed.
    let names = fixture_names(&records);
    assert_eq!(names.len(), 5, "lost articles after SIGKILL: {names:?}");
}

#[test]
fn stories_continue_after_a_restart() {
    let server = FixtureServer::start();
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &server);
    let cfg = cfg.to_str().unwrap();
    let out_path = dir.path().join("stories.jsonl");
    let out_arg = out_path.to_str().unwrap();
    let first = format!("{}\n", server.url("/news/sun-coalition.html"));
    backfill_ok(cfg, out_arg, &first, |_| {});
    // A new process: the story of the first report must be found again.
    let more = format!(
        "{}\n{}\n",
        server.url("/news/monitor-coalition-end.html"),
        server.url("/news/coalition-ends-2025.html")
    );
    backfill_ok(cfg, out_arg, &more, |_| {});
    let records = read_jsonl(&out_path);
    assert_eq!(records.len(), 3);
    let first_story = records[0]["dedup"]["story_id"].as_str().unwrap();
    assert_eq!(first_story, records[0]["id"].as_str().unwrap());
    for r in &records[1..] {
        assert_eq!(r["dedup"]["story_id"], first_story, "{}", r["url"]);
    }

    // `newsriver stories` lists it with its three articles and its first title.
    let out = newsriver(&["stories", "--json", "--config", cfg], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let story = listed
        .iter()
        .find(|s| s["story_id"] == first_story)
        .expect("story listed");
    assert_eq!(story["articles"], 3);
    assert_eq!(story["title"], records[0]["title"]);
    assert_eq!(story["languages"], serde_json::json!(["ar"]));
    assert_eq!(story["sites"], serde_json::json!(["127.0.0.1"]));
    let table = newsriver(&["stories", "--min-articles", "2", "--config", cfg], None);
    let table = String::from_utf8_lossy(&table.stdout);
    assert_eq!(table.matches(first_story).count(), 1, "{table}");
}

#[test]
fn near_duplicate_of_an_article_from_before_a_restart_is_caught() {
    let server = FixtureServer::start();
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &server);
    let cfg = cfg.to_str().unwrap();
    let out_path = dir.path().join("near.jsonl");
    let out_arg = out_path.to_str().unwrap();
    let original = format!("{}\n", server.url("/news/talks-to-end-presence.html"));
    backfill_ok(cfg, out_arg, &original, flag_duplicates);
    // A new process holds no shingles in memory: the candidate is verified on the
    // shingles the store kept.
    let edited = format!("{}\n", server.url("/edited/talks.html"));
    backfill_ok(cfg, out_arg, &edited, flag_duplicates);
    let records = read_jsonl(&out_path);
    assert_eq!(records.len(), 2, "{records:#?}");
    assert_eq!(records[1]["dedup"]["status"], "duplicate");
    assert_eq!(records[1]["dedup"]["reason"], "near_text");
    assert_eq!(records[1]["dedup"]["duplicate_of"], records[0]["id"]);
    assert_eq!(
        records[1]["dedup"]["story_id"],
        records[0]["dedup"]["story_id"]
    );
    assert_ne!(records[1]["text"], records[0]["text"]);
}

/// Waits (bounded) until the lock file beside the state names `pid` as its owner.
fn wait_for_lock_owner(dir: &std::path::Path, pid: u32) -> bool {
    let lock = dir.join("state/newsriver.sqlite.lock");
    wait_until(std::time::Duration::from_secs(30), || {
        std::fs::read_to_string(&lock)
            .map(|t| t.lines().next() == Some(pid.to_string().as_str()))
            .unwrap_or(false)
    })
}

/// Checks a refusal: exit 75 and one stderr line naming the state, the owner and "locked".
fn assert_refused(out: &std::process::Output, state: &std::path::Path, pid: u32) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(75), "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line expected: {stderr}");
    let line = lines[0];
    assert!(line.contains(&state.display().to_string()), "{line}");
    assert!(line.contains(&format!("pid {pid}")), "{line}");
    assert!(line.contains("locked"), "{line}");
    assert!(line.contains("NEWSRIVER_STATE__PATH"), "{line}");
}

#[test]
fn a_second_run_or_backfill_on_a_locked_state_is_refused_and_changes_nothing() {
    let server = FixtureServer::start_with_page_delay(std::time::Duration::from_millis(300));
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config_with(dir.path(), &server, "concurrency = 1");
    let cfg = cfg.to_str().unwrap();
    let state = dir.path().join("state/newsriver.sqlite");
    let mut daemon = spawn_daemon(cfg);
    let pid = daemon.id();
    assert!(
        wait_for_lock_owner(dir.path(), pid),
        "daemon never took the lock"
    );
    assert!(
        wait_for_lines(
            &dir.path().join("articles.jsonl"),
            1,
            std::time::Duration::from_secs(30)
        ) >= 1
    );
    let fetched_before = server.hits("/feeds/rss.xml");

    let second_out = dir.path().join("second.jsonl");
    let out = newsriver(
        &[
            "run",
            "--once",
            "--config",
            cfg,
            "--output",
            second_out.to_str().unwrap(),
        ],
        None,
    );
    assert_refused(&out, &state, pid);
    let urls = format!("{}\n", server.url("/news/sun-coalition.html"));
    let out = newsriver(
        &[
            "backfill",
            "-",
            "--config",
            cfg,
            "--output",
            second_out.to_str().unwrap(),
        ],
        Some(&urls),
    );
    assert_refused(&out, &state, pid);
    assert!(!second_out.exists(), "a refused process published");
    assert_eq!(
        server.hits("/feeds/rss.xml"),
        fetched_before,
        "a refused run polled a feed"
    );

    // Reading the state needs no lock.
    let out = newsriver(&["feeds", "--config", cfg], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains(&server.url("/feeds/rss.xml")));

    signal(&daemon, "-TERM");
    assert_eq!(daemon.wait().unwrap().code(), Some(0));
    let records = read_jsonl(&dir.path().join("articles.jsonl"));
    assert_eq!(
        records.len(),
        fixture_names(&records).len(),
        "an article was published twice"
    );
}

#[test]
fn an_owner_killed_by_sigkill_does_not_block_the_next_start() {
    let server = FixtureServer::start_with_page_delay(std::time::Duration::from_millis(300));
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config_with(dir.path(), &server, "concurrency = 1");
    let cfg = cfg.to_str().unwrap();
    let mut daemon = spawn_daemon(cfg);
    assert!(
        wait_for_lock_owner(dir.path(), daemon.id()),
        "daemon never took the lock"
    );
    signal(&daemon, "-KILL");
    daemon.wait().unwrap();
    // The dead owner's pid is still written in the lock file: the kernel lock is what counts.
    run_once_in_process(cfg, |_| {});
    let records = read_jsonl(&dir.path().join("articles.jsonl"));
    assert_eq!(fixture_names(&records).len(), 5);
}

/// The sink refuses every write (`/dev/full`: no space left on device), permanently. The
/// daemon must not go on polling, fetching and throwing the results away: every stage
/// stops, the process exits 1 naming the stage and the sink's error, and what was not
/// acknowledged is still pending for the next start.
#[cfg(target_os = "linux")]
#[test]
fn a_permanent_sink_failure_stops_the_daemon_with_the_reason() {
    let server = FixtureServer::start();
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &server);
    let cfg = cfg.to_str().unwrap();
    let mut daemon = spawn_daemon_with(cfg, &["--output", "/dev/full"]);
    let stopped = wait_until(std::time::Duration::from_secs(60), || {
        daemon.try_wait().expect("wait daemon").is_some()
    });
    if !stopped {
        let _ = daemon.kill();
    }
    let out = daemon.wait_with_output().expect("daemon output");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stopped,
        "the daemon kept running after its sink failed: {stderr}"
    );
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let last = stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("newsriver: publish stage failed: sink failed")
            && last.contains("No space left on device"),
        "{stderr}"
    );

    let listing = newsriver(&["feeds", "--config", cfg], None);
    let listing = String::from_utf8_lossy(&listing.stdout);
    assert!(listing.contains("0 published"), "{listing}");
    assert!(!listing.contains("articles pending: 0;"), "{listing}");
    // Nothing was lost: the next start with a working sink publishes all five.
    run_once_in_process(cfg, |_| {});
    let records = read_jsonl(&dir.path().join("articles.jsonl"));
    let after = newsriver(&["feeds", "--config", cfg], None);
    assert_eq!(
        check_articles(&records).len(),
        5,
        "{listing}\n{}\n{records:#?}",
        String::from_utf8_lossy(&after.stdout)
    );
}

/// The same in this process: the topology itself ends, naming the stage and the sink's
/// error, instead of polling on (a timeout turns a hang into a failure).
#[cfg(target_os = "linux")]
#[test]
fn a_sink_failure_ends_the_topology_in_process() {
    let server = FixtureServer::start();
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &server);
    let options = RunOptions {
        once: false,
        output: Some("/dev/full".into()),
        config_file: None,
    };
    let run = topology::run(
        config(cfg.to_str().unwrap(), |_| {}),
        options,
        CancellationToken::new(),
    );
    let ended = runtime()
        .block_on(async { tokio::time::timeout(std::time::Duration::from_secs(30), run).await })
        .expect("the daemon kept running after its sink failed");
    let reason = format!("{:#}", ended.expect_err("a failed sink is an error"));
    assert!(
        reason.contains("publish stage failed") && reason.contains("No space left on device"),
        "{reason}"
    );
}

#[test]
fn the_admin_listener_serves_metrics_health_and_readiness() {
    let server = FixtureServer::start();
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &server);
    let daemon = InProcessDaemon::start_with_admin(cfg.to_str().unwrap());
    let addr = daemon.addr.clone();

    let limit = std::time::Duration::from_secs(30);
    assert!(
        wait_until(limit, || http_get(&addr, "/readyz")
            .is_some_and(|(s, _)| s == 200)),
        "never ready"
    );
    assert_eq!(http_get(&addr, "/healthz").map(|(s, _)| s), Some(200));
    // The five fixture articles, published: then every metric has been through a cycle.
    assert!(wait_until(limit, || {
        sample(&scrape(&addr), "newsriver_articles_published_total", &[]) >= Some(5.0)
    }));
    let m = scrape(&addr);
    assert!(sample(&m, "newsriver_pages_fetched_total", &[]) >= Some(6.0));
    for queue in ["jobs", "fetched", "stripped", "publish", "done"] {
        let capacity = sample(&m, "newsriver_queue_capacity", &[("queue", queue)]);
        assert!(capacity > Some(0.0), "queue {queue}: {capacity:?}");
        assert!(sample(&m, "newsriver_queue_depth", &[("queue", queue)]).is_some());
    }
    // The fixture site has a feed answering 500 and one answering 410.
    assert!(sample(&m, "newsriver_feeds", &[("state", "failing")]) >= Some(1.0));
    assert!(sample(&m, "newsriver_feeds", &[("state", "retired")]) >= Some(1.0));
    assert!(sample(&m, "newsriver_feeds", &[("state", "ok")]) >= Some(2.0));
    assert_eq!(sample(&m, "newsriver_pending_items", &[]), Some(0.0));
    // Nothing pending: the oldest pending item is 0 s old.
    assert_eq!(
        sample(&m, "newsriver_oldest_pending_age_seconds", &[]),
        Some(0.0)
    );
    // Every published article went out in a batch the sink acknowledged.
    let batches = sample(&m, "newsriver_publish_duration_seconds_count", &[]);
    assert!(batches >= Some(1.0), "{batches:?}");
    // A batch is counted when sent and timed when acknowledged.
    assert!(sample(&m, "newsriver_publish_batch_articles_count", &[]) >= batches);
    assert!(sample(&m, "newsriver_publish_batch_articles_sum", &[]) >= Some(5.0));
    assert!(sample(&m, "newsriver_dedup_remembered_articles", &[]) >= Some(5.0));
    // The syndicated copy of one article.
    assert!(sample(&m, "newsriver_duplicates_total", &[("reason", "text")]) >= Some(1.0));
    let fetch_count = "newsriver_fetch_duration_seconds_count";
    assert!(sample(&m, fetch_count, &[("outcome", "ok")]) >= Some(6.0));
    assert!(sample(&m, "newsriver_extraction_duration_seconds_count", &[]) >= Some(6.0));
    assert!(sample(&m, "newsriver_fetch_responses_total", &[("result", "2xx")]) >= Some(6.0));
    assert!(sample(&m, "process_resident_memory_bytes", &[]) > Some(0.0));
    assert_eq!(sample(&m, "newsriver_ready", &[]), Some(1.0));

    // What a container probe runs.
    let probe = newsriver(&["healthcheck", "--listen", &addr], None);
    assert!(probe.status.success(), "{probe:?}");
    assert_eq!(String::from_utf8_lossy(&probe.stdout).trim(), "ready");

    daemon.stop().expect("a clean stop");
    let probe = newsriver(&["healthcheck", "--listen", &addr], None);
    assert_eq!(probe.status.code(), Some(1), "{probe:?}");
}

#[test]
fn backfill_reads_a_sitemap_index_and_its_news_sitemap() {
    let server = FixtureServer::start();
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &server);
    let out_path = dir.path().join("sitemap.jsonl");
    let sitemap = server.url("/sitemap.xml");
    let report = backfill_sitemaps_in_process(
        cfg.to_str().unwrap(),
        out_path.to_str().unwrap(),
        vec![sitemap.clone()],
    );
    // The index lists itself (read once) and a missing child (skipped): the two
    // articles of the news sitemap remain.
    assert_eq!((report.urls, report.published), (2, 2), "{report}");
    assert_eq!(server.hits("/sitemap.xml"), 1);
    assert_eq!(server.hits("/sitemaps/missing.xml"), 1);
    let records = read_jsonl(&out_path);
    assert_eq!(fixture_names(&records).len(), 2);
    for r in &records {
        assert_eq!(r["source"], sitemap.as_str());
        // The news sitemap's keywords reach the record of the entry that has them.
        let keywords = if r["url"]
            .as_str()
            .unwrap_or_default()
            .contains("sun-coalition")
        {
            serde_json::json!(["Iraq", "coalition"])
        } else {
            serde_json::json!([])
        };
        assert_eq!(r["keywords"], keywords, "{r}");
    }
}

#[test]
fn a_site_s_root_stands_for_the_sitemaps_its_robots_txt_lists() {
    let server = FixtureServer::start();
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &server);
    let out_path = dir.path().join("site.jsonl");
    let report = backfill_sitemaps_in_process(
        cfg.to_str().unwrap(),
        out_path.to_str().unwrap(),
        vec![server.url("/")],
    );
    assert_eq!((report.urls, report.published), (2, 2), "{report}");
    let records = read_jsonl(&out_path);
    for r in &records {
        assert_eq!(r["source"], server.url("/sitemap.xml").as_str());
    }
    // A page of a site without feeds: discovery falls back on robots.txt's sitemap.
    let page = server.url("/news/section-index.html");
    let out = newsriver(
        &[
            "--config",
            cfg.to_str().unwrap(),
            "feeds",
            "discover",
            &page,
        ],
        None,
    );
    let listed = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{listed}");
    assert!(
        listed.starts_with(&format!("{}\trobots", server.url("/sitemap.xml"))),
        "{listed}"
    );
}

#[test]
fn articles_outside_the_language_filter_are_done_not_published() {
    let server = FixtureServer::start();
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &server);
    let out_path = dir.path().join("filtered.jsonl");
    let list = format!(
        "{}\n{}\n",
        server.url("/news/sun-coalition.html"),
        server.url("/news/wsj-withdrawal-steps.html")
    );
    let english_only = |c: &mut Config| c.filter.languages = vec!["en".into()];
    let report = backfill_in_process(
        cfg.to_str().unwrap(),
        out_path.to_str().unwrap(),
        &list,
        english_only,
    );
    assert_eq!(
        (report.published, report.filtered, report.failed),
        (0, 2, 0),
        "{report}"
    );
    assert!(
        report.all_handled(),
        "filtered is handled, not failed: {report}"
    );
    assert!(report.to_string().ends_with(", filtered 2"), "{report}");
    assert!(read_jsonl(&out_path).is_empty());
    // Done: a second run has nothing left to do, and without the filter they are still
    // seen (the filter decided; it is not retried).
    let again = backfill_in_process(
        cfg.to_str().unwrap(),
        out_path.to_str().unwrap(),
        &list,
        |_| {},
    );
    assert_eq!((again.seen_before, again.published), (2, 0), "{again}");
}

/// SIGHUP re-reads the feeds of the config file: a feed added is polled at once, and a
/// file that does not load changes nothing (the daemon goes on, saying why).
#[cfg(unix)]
#[test]
fn sighup_reloads_the_feeds_and_a_broken_file_changes_nothing() {
    let server = FixtureServer::start();
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &server);
    let full = std::fs::read_to_string(&cfg).unwrap();
    let atom = format!("\"{}\", ", server.url("/feeds/atom.xml"));
    assert!(full.contains(&atom));
    std::fs::write(&cfg, full.replace(&atom, "")).unwrap();
    let cfg_arg = cfg.to_str().unwrap();
    let mut daemon = spawn_daemon(cfg_arg);
    let limit = std::time::Duration::from_secs(30);
    assert!(wait_until(limit, || server.hits("/feeds/rss.xml") >= 1));
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(
        server.hits("/feeds/atom.xml"),
        0,
        "a feed not configured was polled"
    );

    std::fs::write(&cfg, "[feeds\nurls = ").unwrap();
    signal(&daemon, "-HUP");
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(
        daemon.try_wait().unwrap().is_none(),
        "a broken file stopped the daemon"
    );
    assert_eq!(server.hits("/feeds/atom.xml"), 0);

    std::fs::write(&cfg, &full).unwrap();
    signal(&daemon, "-HUP");
    assert!(
        wait_until(limit, || server.hits("/feeds/atom.xml") >= 1),
        "the feed added to the file was not polled after SIGHUP"
    );
    signal(&daemon, "-TERM");
    let out = daemon.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("reloading the configuration failed; keeping the current one"),
        "{stderr}"
    );
}
