//! The admin listener's status page in a real headless browser (Debian's chromium): it
//! loads, holds no script (it must work with scripts off), lists the failing fixture feed before the healthy ones, shows
//! the Arabic titles right to left, and leaves a phone-sized screenshot in
//! `$CARGO_TARGET_DIR/ci-artifacts/status-page.png`. CI installs chromium (.ci/run) and
//! sets NEWSRIVER_REQUIRE_BROWSER=1, so a missing browser fails the run there; elsewhere
//! the test reports itself ignored with the reason (libtest-mimic, `harness = false`).

mod support;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use support::*;

const INSTALL: &str = "apt-get install chromium";

/// The browser: `$CHROMIUM` when set, else chromium or chromium-browser on PATH.
fn chromium() -> Option<PathBuf> {
    find_program("CHROMIUM", &["chromium", "chromium-browser"], None)
}

fn headless(browser: &PathBuf, args: &[&str]) -> std::process::Output {
    let profile = tempfile::tempdir().expect("profile dir");
    Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .output()
        .expect("chromium runs")
}

fn artifacts_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    target.join("ci-artifacts")
}

fn status_page_in_a_browser(browser: PathBuf) {
    let server = FixtureServer::start();
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &server);
    let daemon = InProcessDaemon::start_with_admin(cfg.to_str().unwrap());
    let addr = daemon.addr.clone();
    let out = dir.path().join("articles.jsonl");
    assert!(
        wait_until(Duration::from_secs(30), || read_jsonl(&out).len() >= 5),
        "the fixture articles were never published"
    );
    // Feed states are recorded as the polls end: wait until the broken feed counts as failing.
    assert!(wait_until(Duration::from_secs(30), || {
        http_get(&addr, "/").is_some_and(|(_, page)| page.contains(">failing<"))
    }));

    let url = format!("http://{addr}/");
    let dom = headless(&browser, &["--dump-dom", &url]);
    let dom = String::from_utf8_lossy(&dom.stdout).to_string();
    let at = |needle: &str| {
        dom.find(needle)
            .unwrap_or_else(|| panic!("{needle} not on the page: {dom}"))
    };
    // Failing first: the feed answering 500 before the healthy RSS and Atom feeds.
    assert!(at("/feeds/broken.xml") < at("/feeds/rss.xml"));
    assert!(at("/feeds/broken.xml") < at("/feeds/atom.xml"));
    assert!(dom.contains("HTTP 500"), "{dom}");
    // The Arabic articles, marked to read right to left.
    assert!(dom.contains("lang=\"ar\""), "{dom}");
    assert!(dom.contains("dir=\"auto\""), "{dom}");
    assert!(dom.contains("Latest articles"));
    assert!(!dom.contains("<script"), "{dom}");

    let artifacts = artifacts_dir();
    std::fs::create_dir_all(&artifacts).expect("artifacts dir");
    let shot = artifacts.join("status-page.png");
    let _ = std::fs::remove_file(&shot);
    let taken = headless(
        &browser,
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=412,1600",
            "--hide-scrollbars",
            &url,
        ],
    );
    let size = std::fs::metadata(&shot).map(|m| m.len()).unwrap_or(0);
    assert!(
        size > 10_000,
        "no screenshot ({size} bytes): {}",
        String::from_utf8_lossy(&taken.stderr)
    );
    eprintln!("status page screenshot: {}", shot.display());

    daemon.stop().expect("a clean stop");
}

fn main() -> std::process::ExitCode {
    let args = libtest_mimic::Arguments::from_args();
    let trial = trial_needing(
        "status_page_in_a_browser",
        &chromium(),
        "chromium",
        "NEWSRIVER_REQUIRE_BROWSER",
        INSTALL,
        "CHROMIUM",
        status_page_in_a_browser,
    );
    libtest_mimic::run(&args, vec![trial]).exit_code()
}
