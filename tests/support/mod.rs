//! A fixture web server on 127.0.0.1 and helpers to run the newsriver binary against it.

#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::thread;

use newsriver::config::Config;

pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures")
}

/// Serves the fixture site: feeds (with {{BASE}} filled in), article pages, a syndicated
/// copy of one article, and a 404. The RSS feed supports conditional GET by ETag.
pub struct FixtureServer {
    pub base: String,
    /// Requests per path, and how many of them were answered 304.
    pub hits: Arc<Mutex<HashMap<String, usize>>>,
    pub not_modified: Arc<Mutex<usize>>,
    server: Arc<tiny_http::Server>,
    handle: Option<thread::JoinHandle<()>>,
}

const RSS_ETAG: &str = "\"rss-v1\"";

impl FixtureServer {
    pub fn start() -> FixtureServer {
        Self::start_with_page_delay(std::time::Duration::ZERO)
    }

    /// Article pages answer only after `delay`, so tests can act while work is in flight.
    pub fn start_with_page_delay(delay: std::time::Duration) -> FixtureServer {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("bind fixture server"));
        let port = server.server_addr().to_ip().expect("ip listener").port();
        let base = format!("http://127.0.0.1:{port}");
        let hits: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
        let not_modified: Arc<Mutex<usize>> = Arc::default();
        let handle = {
            let server = server.clone();
            let base = base.clone();
            let hits = hits.clone();
            let not_modified = not_modified.clone();
            thread::spawn(move || {
                for req in server.incoming_requests() {
                    let path = req.url().split('?').next().unwrap_or("/").to_string();
                    *hits.lock().unwrap().entry(path.clone()).or_default() += 1;
                    let if_none_match = req
                        .headers()
                        .iter()
                        .find(|h| h.field.equiv("If-None-Match"))
                        .map(|h| h.value.as_str().to_string());
                    if path.starts_with("/news/") || path.starts_with("/syndicated/") {
                        thread::sleep(delay);
                    }
                    let resp = route(&base, &path, if_none_match.as_deref(), &not_modified);
                    let _ = req.respond(resp);
                }
            })
        };
        FixtureServer {
            base,
            hits,
            not_modified,
            server,
            handle: Some(handle),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn hits(&self, path: &str) -> usize {
        self.hits.lock().unwrap().get(path).copied().unwrap_or(0)
    }
}

impl Drop for FixtureServer {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

fn header(k: &str, v: &str) -> tiny_http::Header {
    tiny_http::Header::from_bytes(k.as_bytes(), v.as_bytes()).expect("valid header")
}

fn route(
    base: &str,
    path: &str,
    if_none_match: Option<&str>,
    not_modified: &Mutex<usize>,
) -> tiny_http::Response<std::io::Cursor<Vec<u8>>> {
    let dir = fixtures_dir();
    let feed = |name: &str| -> Vec<u8> {
        std::fs::read_to_string(dir.join(name))
            .expect("feed fixture")
            .replace("{{BASE}}", base)
            .into_bytes()
    };
    match path {
        "/feeds/rss.xml" => {
            if if_none_match == Some(RSS_ETAG) {
                *not_modified.lock().unwrap() += 1;
                return tiny_http::Response::from_data(Vec::new()).with_status_code(304);
            }
            tiny_http::Response::from_data(feed("rss.xml"))
                .with_header(header("Content-Type", "application/rss+xml; charset=utf-8"))
                .with_header(header("ETag", RSS_ETAG))
        }
        // A feed whose server is broken, and one that was taken down for good.
        "/feeds/broken.xml" => {
            tiny_http::Response::from_data(b"internal error".to_vec()).with_status_code(500)
        }
        "/feeds/gone.xml" => tiny_http::Response::from_data(b"gone".to_vec()).with_status_code(410),
        // Lists the site's sitemap index, as most news sites' robots.txt do.
        "/robots.txt" => tiny_http::Response::from_data(
            format!("User-agent: *\nAllow: /\n\nSitemap: {base}/sitemap.xml\n").into_bytes(),
        )
        .with_header(header("Content-Type", "text/plain")),
        "/feeds/atom.xml" => tiny_http::Response::from_data(feed("atom.xml"))
            .with_header(header("Content-Type", "application/atom+xml")),
        // A sitemap index listing itself, a news sitemap and a child that is missing.
        "/sitemap.xml" => tiny_http::Response::from_data(
            format!(
                "<?xml version=\"1.0\"?><sitemapindex xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\
                 <sitemap><loc>{base}/sitemap.xml</loc></sitemap>\
                 <sitemap><loc>{base}/sitemaps/news.xml</loc></sitemap>\
                 <sitemap><loc>{base}/sitemaps/missing.xml</loc></sitemap></sitemapindex>"
            )
            .into_bytes(),
        )
        .with_header(header("Content-Type", "application/xml")),
        "/sitemaps/news.xml" => tiny_http::Response::from_data(
            format!(
                "<?xml version=\"1.0\"?><urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\" \
                 xmlns:news=\"http://www.google.com/schemas/sitemap-news/0.9\">\
                 <url><loc>{base}/news/sun-coalition.html</loc><news:news>\
                 <news:publication><news:name>Sun</news:name><news:language>ar</news:language></news:publication>\
                 <news:publication_date>2024-09-27T10:30:00Z</news:publication_date>\
                 <news:title>From the sitemap</news:title>\
                 <news:keywords>Iraq, coalition</news:keywords></news:news></url>\
                 <url><loc>{base}/news/wsj-withdrawal-steps.html</loc></url></urlset>"
            )
            .into_bytes(),
        )
        .with_header(header("Content-Type", "application/xml")),
        "/syndicated/talks.html" => {
            // Same article text under another template, as a wire copy would be.
            let page = std::fs::read_to_string(dir.join("site/talks-to-end-presence.html"))
                .expect("fixture");
            let page = page
                .replace("أخبار العالم اليوم", "وكالة الأنباء المستقلة")
                .replace("يتم التشغيل بواسطة Blogger", "جميع الحقوق محفوظة");
            tiny_http::Response::from_data(page.into_bytes())
                .with_header(header("Content-Type", "text/html"))
        }
        // The same copy re-edited: one word of the body changed (Wednesday -> Thursday).
        "/edited/talks.html" => {
            let page = std::fs::read_to_string(dir.join("site/talks-to-end-presence.html"))
                .expect("fixture");
            let page = page
                .replace("أخبار العالم اليوم", "وكالة الأنباء المستقلة")
                .replacen("يوم الأربعاء", "يوم الخميس", 1);
            tiny_http::Response::from_data(page.into_bytes())
                .with_header(header("Content-Type", "text/html"))
        }
        // The multilingual labelled pages, for tests that need many distinct articles.
        p if p.starts_with("/ml/") && !p.contains("..") => {
            match std::fs::read(dir.join("multilingual/pages").join(&p["/ml/".len()..])) {
                Ok(bytes) => tiny_http::Response::from_data(bytes)
                    .with_header(header("Content-Type", "text/html")),
                Err(_) => {
                    tiny_http::Response::from_data(b"not found".to_vec()).with_status_code(404)
                }
            }
        }
        p if p.starts_with("/news/") && !p.contains("..") => {
            match std::fs::read(dir.join("site").join(&p["/news/".len()..])) {
                Ok(bytes) => tiny_http::Response::from_data(bytes)
                    .with_header(header("Content-Type", "text/html")),
                Err(_) => {
                    tiny_http::Response::from_data(b"not found".to_vec()).with_status_code(404)
                }
            }
        }
        _ => tiny_http::Response::from_data(b"not found".to_vec()).with_status_code(404),
    }
}

/// A config for the fixture server, with state and output in `dir`.
pub fn write_config(dir: &Path, server: &FixtureServer) -> PathBuf {
    write_config_with(dir, server, "")
}

/// Like [`write_config`], with `fetch_extra` lines added to the `[fetch]` table.
pub fn write_config_with(dir: &Path, server: &FixtureServer, fetch_extra: &str) -> PathBuf {
    let cfg = format!(
        r#"[feeds]
urls = ["{rss}", "{atom}", "{broken}", "{gone}"]

[fetch]
per_host_delay_ms = 0
per_host_concurrency = 4
retries = 0
# Generous: a loaded CI machine must not turn a slow loopback answer into a retry.
timeout_secs = 30
retry_delay_secs = 0
allow_private_networks = true
{fetch_extra}

[state]
path = "{state}"

[output]
path = "{out}"
"#,
        rss = server.url("/feeds/rss.xml"),
        atom = server.url("/feeds/atom.xml"),
        broken = server.url("/feeds/broken.xml"),
        gone = server.url("/feeds/gone.xml"),
        state = dir.join("state/newsriver.sqlite").display(),
        out = dir.join("articles.jsonl").display(),
    );
    let path = dir.join("newsriver.toml");
    std::fs::write(&path, cfg).expect("write config");
    path
}

pub fn newsriver(args: &[&str], stdin: Option<&str>) -> Output {
    newsriver_with_env(args, stdin, &[])
}

/// [`newsriver`] with these environment overrides (and no others from the caller).
pub fn newsriver_with_env(args: &[&str], stdin: Option<&str>, env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_newsriver"));
    cmd.args(args).env("RUST_LOG", "warn");
    for (k, _) in std::env::vars() {
        if k.starts_with("NEWSRIVER_") {
            cmd.env_remove(k);
        }
    }
    cmd.envs(env.iter().copied());
    match stdin {
        None => cmd.output().expect("run newsriver"),
        Some(input) => {
            use std::io::Write;
            let mut child = cmd
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("spawn newsriver");
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(input.as_bytes())
                .expect("write stdin");
            child.wait_with_output().expect("wait newsriver")
        }
    }
}

pub fn read_jsonl(path: &Path) -> Vec<serde_json::Value> {
    match std::fs::read_to_string(path) {
        Ok(text) => text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l}: {e}")))
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// Distinctive sentences from the start and end of each article's body.
pub const BODIES: &[(&str, &str, &str)] = &[
    (
        "sun-coalition",
        "ستنتهي بحلول سبتمبر 2025 وسيكون هناك انتقال",
        "يوازن بين موقف العراق كحليف",
    ),
    (
        "monitor-coalition-end",
        "بعد عشر سنوات من إنشاء إدارة أوباما",
        "وضغطت الحكومات العراقية المتعاقبة",
    ),
    (
        "wsj-withdrawal-steps",
        "كشفت صحيفة وول ستريت جورنال",
        "أثناء اجتياحه للبلدين",
    ),
    (
        "coalition-ends-2025",
        "لا يقدم المسؤولون الأمريكيون سوى القليل من الوضوح",
        "وتزايدت تلك الهجمات في الأشهر الأولى",
    ),
    (
        "talks-to-end-presence",
        "من المقرر أن تجري الولايات المتحدة محادثات",
        "إعادة تشكيل العلاقة المستقبلية",
    ),
];

/// Page chrome seen on the seed pages: none of it may reach the output.
pub const BOILERPLATE: &[&str] = &[
    "Connect with us",
    "Hi, what are you looking for?",
    "اخر الاخبار",
    "اضف تعليقك",
    "اترك تعليقك",
    "لن يتم نشر عنوان بريدك الإلكتروني",
    "الحقول الإلزامية",
    "مقالات ذات صلة",
    "رالي دكار",
    "مدة القراءة",
    "اقرأ المزيد",
    "إرسال تعليق",
    "تعليقات",
    "الولايات المتحدة | العراق",
    "الميليشيات | الغارات",
    "جميع الحقوق محفوظة",
    "Privacy policy",
    "Most read",
    "الأكثر قراءة",
    "النشرة البريدية",
    "أخبار أخرى",
    "يتم التشغيل بواسطة Blogger",
    "Facebook",
];

/// Which fixture articles appear among `records` (repeats allowed), by their body.
pub fn fixture_names(records: &[serde_json::Value]) -> std::collections::HashSet<&'static str> {
    records
        .iter()
        .filter_map(|r| {
            let text = r["text"].as_str()?;
            BODIES
                .iter()
                .find(|(_, first, _)| text.contains(first))
                .map(|(n, _, _)| *n)
        })
        .collect()
}

/// Checks every record's body and the absence of boilerplate; returns records by fixture name.
pub fn check_articles(records: &[serde_json::Value]) -> HashMap<String, serde_json::Value> {
    let mut by_name = HashMap::new();
    for r in records {
        let text = r["text"].as_str().expect("text is a string");
        for b in BOILERPLATE {
            assert!(
                !text.contains(b),
                "boilerplate {b:?} in {}:\n{text}",
                r["url"]
            );
        }
        let (name, first, last) = BODIES
            .iter()
            .find(|(_, first, _)| text.contains(first))
            .unwrap_or_else(|| panic!("unexpected article {}:\n{text}", r["url"]));
        assert!(text.contains(last), "{name}: end of body missing:\n{text}");
        assert!(
            text.find(first) < text.find(last),
            "{name}: paragraphs out of order"
        );
        assert!(
            by_name.insert(name.to_string(), r.clone()).is_none(),
            "{name} published twice"
        );
    }
    by_name
}

/// The daemon (`run`, no `--once`), quiet on stdout.
pub fn spawn_daemon(cfg: &str) -> std::process::Child {
    spawn_daemon_with(cfg, &[])
}

/// The daemon with more `run` arguments (`--output FILE`, ...).
pub fn spawn_daemon_with(cfg: &str, extra: &[&str]) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_newsriver"))
        .args(["run", "--config", cfg])
        .args(extra)
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn daemon")
}

/// Sends `sig` ("-TERM", "-KILL") to `child`.
pub fn signal(child: &std::process::Child, sig: &str) {
    let status = std::process::Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
}

/// Polls `done` every 100 ms until it holds or `limit` passes.
pub fn wait_until(limit: std::time::Duration, mut done: impl FnMut() -> bool) -> bool {
    let start = std::time::Instant::now();
    while start.elapsed() < limit {
        if done() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    false
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// The configuration in file `cfg`, changed by `tweak` (in place of environment
/// overrides, which would reach every test of this process).
pub fn config(cfg: &str, tweak: impl FnOnce(&mut Config)) -> Config {
    let mut config = Config::load(Some(Path::new(cfg))).expect("config loads");
    tweak(&mut config);
    config
}

/// `GET path` from a listener on loopback: (status code, body).
pub fn http_get(addr: &str, path: &str) -> Option<(u16, String)> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).ok()?;
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    let (head, body) = answer.split_once("\r\n\r\n")?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, body.to_string()))
}

/// The admin listener's `/metrics` at `addr`, parsed.
pub fn scrape(addr: &str) -> prometheus_parse::Scrape {
    let (status, body) = http_get(addr, "/metrics").expect("metrics answered");
    assert_eq!(status, 200, "{body}");
    parse_metrics(&body)
}

/// [`scrape`] for a daemon that may not answer yet (or any more): `None` until it answers
/// 200.
pub fn try_scrape(addr: &str) -> Option<prometheus_parse::Scrape> {
    let (status, body) = http_get(addr, "/metrics")?;
    (status == 200).then(|| parse_metrics(&body))
}

fn parse_metrics(body: &str) -> prometheus_parse::Scrape {
    prometheus_parse::Scrape::parse(body.lines().map(|l| Ok(l.to_string())))
        .expect("metrics in the Prometheus text format")
}

/// The value of the sample `name` whose labels include `labels`.
pub fn sample(
    scrape: &prometheus_parse::Scrape,
    name: &str,
    labels: &[(&str, &str)],
) -> Option<f64> {
    use prometheus_parse::Value;
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == name)
        .filter(|s| labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .find_map(|s| match &s.value {
            Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => Some(*v),
            Value::Histogram(buckets) => buckets.last().map(|b| b.count),
            Value::Summary(_) => None,
        })
}

/// An address on loopback with a port free a moment ago.
pub fn free_loopback_addr() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    format!("127.0.0.1:{port}")
}

/// The daemon (`run`, not once) in this process, with its admin listener on a free
/// loopback port, until [`InProcessDaemon::stop`].
pub struct InProcessDaemon {
    /// The admin listener's address.
    pub addr: String,
    shutdown: tokio_util::sync::CancellationToken,
    thread: thread::JoinHandle<anyhow::Result<()>>,
}

impl InProcessDaemon {
    pub fn start_with_admin(cfg: &str) -> InProcessDaemon {
        Self::start(cfg, |_| {})
    }

    /// [`InProcessDaemon::start_with_admin`] with the configuration changed by `tweak`.
    pub fn start(cfg: &str, tweak: impl FnOnce(&mut Config)) -> InProcessDaemon {
        let addr = free_loopback_addr();
        let listen = addr.clone();
        let config = config(cfg, move |c| {
            c.admin.listen = listen;
            tweak(c);
        });
        let shutdown = tokio_util::sync::CancellationToken::new();
        let stop = shutdown.clone();
        let thread = thread::spawn(move || {
            let options = newsriver::topology::RunOptions {
                once: false,
                output: None,
                config_file: None,
            };
            runtime().block_on(newsriver::topology::run(config, options, stop))
        });
        InProcessDaemon {
            addr,
            shutdown,
            thread,
        }
    }

    /// Shuts it down as a signal would and returns how the daemon ended.
    pub fn stop(self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        self.thread.join().expect("daemon thread")
    }
}

/// A program a test target needs (a broker, a browser): `$var` when set (a path that is
/// not a file means none, so a machine that has it can still check the skip), else the
/// first of `names` on PATH, else `fallback`.
pub fn find_program(var: &str, names: &[&str], fallback: Option<PathBuf>) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(var) {
        let p = PathBuf::from(p);
        return p.is_file().then_some(p);
    }
    let from_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
            .find(|p| p.is_file())
    });
    from_path.or(fallback.filter(|p| p.is_file()))
}

/// A test that needs `program`: run when it was found; otherwise a failure when
/// `$require` is set (CI must not pass on tests that never ran), else reported ignored
/// with how to get it. libtest itself can only ignore at compile time, and a test that
/// returns early counts as passed.
pub fn trial_needing(
    name: &str,
    program: &Option<PathBuf>,
    what: &str,
    require: &'static str,
    install: &'static str,
    var: &'static str,
    test: impl FnOnce(PathBuf) + Send + 'static,
) -> libtest_mimic::Trial {
    let what = what.to_string();
    match program {
        Some(p) => {
            let p = p.clone();
            libtest_mimic::Trial::test(name, move || {
                test(p);
                Ok(())
            })
        }
        None if std::env::var_os(require).is_some() => {
            libtest_mimic::Trial::test(name, move || {
                Err(format!("{what} not found but {require} is set ({install})").into())
            })
        }
        None => libtest_mimic::Trial::ignorable_test(name, move || {
            Ok(libtest_mimic::Completion::ignored_with(format!(
                "{what} not found: {install}, or set {var}"
            )))
        }),
    }
}
