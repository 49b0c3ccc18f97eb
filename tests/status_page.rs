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

use newsriver::topology::{self, RunOptions};
use support::*;
use tokio_util::sync::CancellationToken;

const INSTALL: &str = "apt-get install chromium";

/// The browser: `$CHROMIUM` when set (a path that is not a file means none), else the
/// first of chromium / chromium-browser on PATH.
fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CHROMIUM") {
        let p = PathBuf::from(p);
        return p.is_file().then_some(p);
    }
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .flat_map(|dir| ["chromium", "chromium-browser"].map(|b| dir.join(b)))
        .find(|p| p.is_file())
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
    let addr = free_loopback_addr();
    let listen = addr.clone();
    let config = config(cfg.to_str().unwrap(), move |c| c.admin.listen = listen);
    let shutdown = CancellationToken::new();
    let stop = shutdown.clone();
    let daemon = std::thread::spawn(move || {
        let options = RunOptions {
            once: false,
            output: None,
            config_file: None,
        };
        runtime().block_on(topology::run(config, options, stop))
    });
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

    shutdown.cancel();
    daemon.join().expect("daemon thread").expect("a clean stop");
}

fn main() -> std::process::ExitCode {
    let args = libtest_mimic::Arguments::from_args();
    let required = std::env::var_os("NEWSRIVER_REQUIRE_BROWSER").is_some();
    let name = "status_page_in_a_browser";
    let trial = match chromium() {
        Some(browser) => libtest_mimic::Trial::test(name, move || {
            status_page_in_a_browser(browser);
            Ok(())
        }),
        None if required => libtest_mimic::Trial::test(name, || {
            Err(
                format!("chromium not found but NEWSRIVER_REQUIRE_BROWSER is set ({INSTALL})")
                    .into(),
            )
        }),
        None => libtest_mimic::Trial::ignorable_test(name, || {
            Ok(libtest_mimic::Completion::ignored_with(format!(
                "chromium not found: {INSTALL}, or set CHROMIUM"
            )))
        }),
    };
    libtest_mimic::run(&args, vec![trial]).exit_code()
}
