//! Kafka output against a real Kafka-protocol broker on 127.0.0.1: tansu, started here.
//! CI installs it (see .ci/run) and sets NEWSRIVER_REQUIRE_KAFKA=1 so a missing broker
//! fails the run. Elsewhere, without a broker, each test reports itself ignored with the
//! reason: this target has its own harness (libtest-mimic, `harness = false`) because
//! libtest can only ignore at compile time, and a test that returns early is counted as
//! passed.

mod support;

use std::collections::HashSet;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::*;

struct Broker {
    child: Child,
    addr: String,
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The broker binary: `$TANSU` when set, else on PATH, else ~/.cargo/bin.
fn tansu() -> Option<PathBuf> {
    let cargo_bin = std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo/bin/tansu"));
    find_program("TANSU", &["tansu"], cargo_bin)
}

fn start_broker() -> Broker {
    start_broker_at(None, None)
}

/// A broker on `port` (or a free one), storing in `dir`/tansu.db when given (so it can be
/// restarted with its data), in memory otherwise.
fn start_broker_at(port: Option<u16>, dir: Option<&std::path::Path>) -> Broker {
    // main() registers the tests only as ignored when there is no broker.
    let bin = tansu().expect("tansu present when the test was started");
    let port = port.unwrap_or_else(|| {
        TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    });
    let addr = format!("127.0.0.1:{port}");
    let url = format!("tcp://{addr}");
    let mut cmd = Command::new(bin);
    let storage = match dir {
        Some(d) => {
            cmd.current_dir(d);
            "sqlite://tansu.db"
        }
        None => "memory://tansu/",
    };
    let child = cmd
        .args([
            "broker",
            "--listener-url",
            &url,
            "--advertised-listener-url",
            &url,
            "--storage-engine",
            storage,
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start tansu");
    let broker = Broker { child, addr };
    let start = Instant::now();
    while std::net::TcpStream::connect(&broker.addr).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "tansu did not start listening"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    broker
}

fn kafka_config(
    dir: &std::path::Path,
    server: &FixtureServer,
    broker: &Broker,
    topic: &str,
) -> PathBuf {
    kafka_config_with(dir, server, broker, topic, "")
}

/// Like [`kafka_config`], with `fetch_extra` lines in the `[fetch]` table.
fn kafka_config_with(
    dir: &std::path::Path,
    server: &FixtureServer,
    broker: &Broker,
    topic: &str,
    fetch_extra: &str,
) -> PathBuf {
    let cfg = write_config_with(dir, server, fetch_extra);
    let mut text = std::fs::read_to_string(&cfg).unwrap();
    text = text.replace("[output]\n", "[output]\nkind = \"kafka\"\n");
    text.push_str(&format!(
        "\n[kafka]\nbrokers = \"{}\"\ntopic = \"{topic}\"\npartitions = 4\nlinger_ms = 5\n",
        broker.addr
    ));
    std::fs::write(&cfg, text).unwrap();
    cfg
}

fn consume(cfg: &str, extra: &[&str]) -> Vec<serde_json::Value> {
    let mut args = vec!["consume", "--config", cfg];
    args.extend_from_slice(extra);
    let out = newsriver(&args, None);
    assert!(
        out.status.success(),
        "consume failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad line {l}: {e}")))
        .collect()
}

fn pipeline_publishes_to_kafka_and_consume_reads_it_back() {
    let broker = start_broker();
    let server = FixtureServer::start();
    let dir = tempfile::tempdir().unwrap();
    let cfg = kafka_config(dir.path(), &server, &broker, "articles");
    let cfg = cfg.to_str().unwrap();
    let out = newsriver(&["run", "--once", "--config", cfg], None);
    assert!(
        out.status.success(),
        "run failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let records = consume(
        cfg,
        &[
            "--from-beginning",
            "--max-messages",
            "5",
            "--idle-timeout",
            "20",
        ],
    );
    assert_eq!(check_articles(&records).len(), 5);
    let ids: HashSet<&str> = records.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 5, "each article once");
    // Nothing more than the five: a second read finds no further message.
    let all = consume(cfg, &["--from-beginning", "--idle-timeout", "8"]);
    assert_eq!(all.len(), 5, "the producer must not duplicate");
}

fn a_consumer_group_of_two_splits_the_partitions() {
    let broker = start_broker();
    let server = FixtureServer::start();
    let dir = tempfile::tempdir().unwrap();
    let cfg = kafka_config(dir.path(), &server, &broker, "grouped");
    // Publish the multilingual set's copies too (flagged), for many keys over 4 partitions.
    let mut text = std::fs::read_to_string(&cfg).unwrap();
    text.push_str("\n[dedup]\npolicy = \"flag\"\n");
    std::fs::write(&cfg, text).unwrap();
    let cfg_s = cfg.to_str().unwrap().to_string();
    // First publish creates the topic.
    let out = newsriver(&["run", "--once", "--config", &cfg_s], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Two members of one group, started together, read while more articles arrive.
    let spawn_member = || {
        Command::new(env!("CARGO_BIN_EXE_newsriver"))
            .args([
                "consume",
                "--config",
                &cfg_s,
                "--group",
                "readers",
                "--from-beginning",
                "--idle-timeout",
                "25",
            ])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let a = spawn_member();
    let b = spawn_member();
    std::thread::sleep(Duration::from_secs(8));
    let pages = std::fs::read_dir(fixtures_dir().join("multilingual/pages")).unwrap();
    let list: String = pages
        .filter_map(|e| e.ok())
        .map(|e| {
            format!(
                "{}\n",
                server.url(&format!("/ml/{}", e.file_name().to_string_lossy()))
            )
        })
        .collect();
    let out = newsriver(&["backfill", "-", "--config", &cfg_s], Some(&list));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let read = |c: Child| -> Vec<String> {
        let out = c.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["id"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect()
    };
    let (ids_a, ids_b) = (read(a), read(b));
    let published = consume(&cfg_s, &["--from-beginning", "--idle-timeout", "8"]);
    let all: HashSet<String> = published
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    assert!(all.len() >= 30, "expected many articles, got {}", all.len());
    let set_a: HashSet<String> = ids_a.into_iter().collect();
    let set_b: HashSet<String> = ids_b.into_iter().collect();
    assert!(
        !set_a.is_empty() && !set_b.is_empty(),
        "both members must get partitions: {} / {}",
        set_a.len(),
        set_b.len()
    );
    assert!(set_a.is_disjoint(&set_b), "a message went to both members");
    let union: HashSet<String> = set_a.union(&set_b).cloned().collect();
    assert_eq!(union, all, "the group together read every article");
}

fn page_hits(server: &FixtureServer) -> usize {
    server
        .hits
        .lock()
        .unwrap()
        .iter()
        .filter(|(p, _)| p.starts_with("/news/") || p.starts_with("/syndicated/"))
        .map(|(_, n)| n)
        .sum()
}

fn broker_stopped_mid_run_loses_nothing_and_duplicates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker_at(None, Some(dir.path()));
    let port: u16 = broker.addr.rsplit(':').next().unwrap().parse().unwrap();
    let server = FixtureServer::start_with_page_delay(Duration::from_millis(400));
    let cfg = kafka_config_with(dir.path(), &server, &broker, "resilient", "concurrency = 1");
    let cfg = cfg.to_str().unwrap().to_string();
    let mut daemon = spawn_daemon(&cfg);
    assert!(
        wait_until(Duration::from_secs(30), || page_hits(&server) >= 2),
        "daemon did not start fetching"
    );
    drop(broker); // killed mid-run
    std::thread::sleep(Duration::from_secs(3));
    let _broker = start_broker_at(Some(port), Some(dir.path()));
    // The daemon waits for the broker instead of dropping: everything arrives.
    assert!(
        wait_until(Duration::from_secs(60), || page_hits(&server) >= 6),
        "fetching stalled"
    );
    let records = consume(
        &cfg,
        &[
            "--from-beginning",
            "--max-messages",
            "5",
            "--idle-timeout",
            "30",
        ],
    );
    signal(&daemon, "-TERM");
    assert_eq!(daemon.wait().unwrap().code(), Some(0));
    assert_eq!(check_articles(&records).len(), 5);
    let all = consume(&cfg, &["--from-beginning", "--idle-timeout", "6"]);
    let ids: HashSet<&str> = all.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(
        (all.len(), ids.len()),
        (5, 5),
        "the idempotent producer must not duplicate"
    );
}

/// Collects a child's standard error on a thread, so a chatty child never blocks on a
/// full pipe and a failing test can show what it said.
fn collect_stderr(child: &mut Child) -> std::sync::Arc<std::sync::Mutex<String>> {
    use std::io::Read;
    let text = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let mut stderr = child.stderr.take().expect("stderr piped");
    let sink = text.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stderr.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    text
}

/// How `child` ended, or None when it still ran after `limit`.
fn wait_exit(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    None
}

/// A broker away for longer than `message.timeout.ms`: librdkafka gives the messages up
/// (delivery reports with errors), the sink counts them as transient delivery errors and
/// sends them again from a new producer, and once the broker is back every article
/// arrives; then the daemon drains and exits on SIGTERM. Before, the old producer, which
/// had bumped its own epoch after the timeouts, sent that epoch to the restarted broker;
/// tansu 0.6 does not survive it (its storage task panics), every resend came back
/// "Unknown broker error", and SIGTERM could not drain.
fn kafka_delivery_errors_are_counted_and_the_messages_sent_again() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker_at(None, Some(dir.path()));
    let port: u16 = broker.addr.rsplit(':').next().unwrap().parse().unwrap();
    let server = FixtureServer::start_with_page_delay(Duration::from_millis(400));
    let cfg = kafka_config_with(dir.path(), &server, &broker, "outage", "concurrency = 1");
    let admin = free_loopback_addr();
    let mut text = std::fs::read_to_string(&cfg).unwrap();
    // Messages give up after 1 s, and the client looks for the broker again every 200 ms
    // at most, so the outage below is four timeouts long and its end is noticed at once.
    text.push_str(&format!(
        "\n[kafka.properties]\n\"message.timeout.ms\" = \"1000\"\n\
         \"reconnect.backoff.max.ms\" = \"200\"\n\n[admin]\nlisten = \"{admin}\"\n"
    ));
    std::fs::write(&cfg, text).unwrap();
    let cfg = cfg.to_str().unwrap().to_string();
    let mut daemon = spawn_daemon(&cfg);
    let stderr = collect_stderr(&mut daemon);
    let metric = |name: &str, labels: &[(&str, &str)]| -> Option<f64> {
        sample(&try_scrape(&admin)?, name, labels)
    };
    assert!(
        wait_until(Duration::from_secs(30), || page_hits(&server) >= 2),
        "daemon did not start fetching"
    );
    let outage = Instant::now();
    drop(broker);
    std::thread::sleep(Duration::from_secs(4));
    let _broker = start_broker_at(Some(port), Some(dir.path()));
    let back = Instant::now();
    let delivered = wait_until(Duration::from_secs(90), || {
        metric("newsriver_articles_published_total", &[]) >= Some(5.0)
    });
    let transient = metric(
        "newsriver_kafka_delivery_errors_total",
        &[("kind", "transient")],
    );
    if !delivered {
        let _ = daemon.kill();
        let _ = daemon.wait();
        panic!(
            "not every article was acknowledged 90 s after the broker came back \
             (published {:?}, transient delivery errors {transient:?}); daemon said:\n{}",
            metric("newsriver_articles_published_total", &[]),
            stderr.lock().unwrap()
        );
    }
    eprintln!(
        "outage of {:?}: all acknowledged {:?} after the broker came back, \
         {transient:?} transient delivery errors, {:?} producers replaced",
        back - outage,
        back.elapsed(),
        metric("newsriver_kafka_producer_renewals_total", &[]),
    );
    assert!(
        transient > Some(0.0),
        "the messages timed out during the outage: {transient:?}\n{}",
        stderr.lock().unwrap()
    );
    signal(&daemon, "-TERM");
    let status = wait_exit(&mut daemon, Duration::from_secs(60));
    if status.is_none() {
        let _ = daemon.kill();
        let _ = daemon.wait();
    }
    assert_eq!(
        status.and_then(|s| s.code()),
        Some(0),
        "the daemon did not drain on SIGTERM:\n{}",
        stderr.lock().unwrap()
    );
    // At least once: a message that timed out in flight may have been written too.
    let all = consume(&cfg, &["--from-beginning", "--idle-timeout", "8"]);
    let names = fixture_names(&all);
    assert_eq!(
        names.len(),
        5,
        "lost articles: {names:?} of {} records",
        all.len()
    );
}

fn daemon_killed_mid_run_delivers_everything_at_least_once() {
    let broker = start_broker();
    let server = FixtureServer::start_with_page_delay(Duration::from_millis(300));
    let dir = tempfile::tempdir().unwrap();
    let cfg = kafka_config_with(dir.path(), &server, &broker, "killed", "concurrency = 1");
    let cfg = cfg.to_str().unwrap().to_string();
    let mut daemon = spawn_daemon(&cfg);
    assert!(
        wait_until(Duration::from_secs(30), || page_hits(&server) >= 3),
        "daemon did not start fetching"
    );
    signal(&daemon, "-KILL");
    daemon.wait().unwrap();
    let out = newsriver(&["run", "--once", "--config", &cfg], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let all = consume(&cfg, &["--from-beginning", "--idle-timeout", "8"]);
    let names = fixture_names(&all);
    assert_eq!(names.len(), 5, "lost articles after SIGKILL: {names:?}");
}

/// With Kafka output, a page that ends without an article is a message on the
/// dead-letter topic (not a line in a file on the daemon's disk), keyed by its URL.
fn dead_letters_go_to_their_kafka_topic() {
    let broker = start_broker();
    let server = FixtureServer::start();
    let dir = tempfile::tempdir().unwrap();
    let cfg = kafka_config(dir.path(), &server, &broker, "articles");
    let list = format!(
        "{}\n{}\n",
        server.url("/news/sun-coalition.html"),
        server.url("/news/missing-page.html"),
    );
    let out = newsriver(
        &["backfill", "-", "--config", cfg.to_str().unwrap()],
        Some(&list),
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "a failed URL gives exit 1: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !dir.path().join("state/dead-letters.jsonl").exists(),
        "dead letters went to the file instead of Kafka"
    );
    // The same config read from the dead-letter topic (the articles' topic + suffix).
    let letters_cfg = dir.path().join("letters.toml");
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(
        &letters_cfg,
        text.replace("topic = \"articles\"", "topic = \"articles.dead-letters\""),
    )
    .unwrap();
    let letters = consume(
        letters_cfg.to_str().unwrap(),
        &[
            "--from-beginning",
            "--max-messages",
            "1",
            "--idle-timeout",
            "20",
        ],
    );
    assert_eq!(letters.len(), 1, "{letters:#?}");
    assert!(letters[0]["url"]
        .as_str()
        .unwrap()
        .ends_with("/news/missing-page.html"));
    assert_eq!(letters[0]["source"], "backfill");
    assert!(
        letters[0]["reason"].as_str().unwrap().contains("404"),
        "{letters:#?}"
    );
    // The article itself is on the articles' topic, and only it.
    let articles = consume(
        cfg.to_str().unwrap(),
        &["--from-beginning", "--idle-timeout", "8"],
    );
    assert_eq!(articles.len(), 1, "{articles:#?}");
}

const INSTALL: &str = "cargo install tansu --version 0.6.0 --features dynostore,libsql --locked";

fn main() -> std::process::ExitCode {
    let args = libtest_mimic::Arguments::from_args();
    let tests: [(&str, fn()); 6] = [
        (
            "pipeline_publishes_to_kafka_and_consume_reads_it_back",
            pipeline_publishes_to_kafka_and_consume_reads_it_back,
        ),
        (
            "a_consumer_group_of_two_splits_the_partitions",
            a_consumer_group_of_two_splits_the_partitions,
        ),
        (
            "broker_stopped_mid_run_loses_nothing_and_duplicates_nothing",
            broker_stopped_mid_run_loses_nothing_and_duplicates_nothing,
        ),
        (
            "kafka_delivery_errors_are_counted_and_the_messages_sent_again",
            kafka_delivery_errors_are_counted_and_the_messages_sent_again,
        ),
        (
            "daemon_killed_mid_run_delivers_everything_at_least_once",
            daemon_killed_mid_run_delivers_everything_at_least_once,
        ),
        (
            "dead_letters_go_to_their_kafka_topic",
            dead_letters_go_to_their_kafka_topic,
        ),
    ];
    let broker = tansu();
    let trials = tests
        .into_iter()
        .map(|(name, test)| {
            trial_needing(
                name,
                &broker,
                "tansu",
                "NEWSRIVER_REQUIRE_KAFKA",
                INSTALL,
                "TANSU",
                move |_| test(),
            )
        })
        .collect();
    libtest_mimic::run(&args, trials).exit_code()
}
