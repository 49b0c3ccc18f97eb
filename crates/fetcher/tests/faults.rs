//! Fault tests: the fetcher against a deliberately misbehaving HTTP server on 127.0.0.1.
//! Every case must end in the right result or a clear error, within bounded time.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use newsriver_fetcher::{FeedRequest, FetchConfig, FetchError, Fetcher, Validators};

const PAGE: &str = "<html><body><article><p>Fine page with enough text to be an article.</p></article></body></html>";
const RSS: &str = r#"<?xml version="1.0"?><rss version="2.0"><channel><title>R</title>
<item><title>A</title><link>http://x.test/a</link></item></channel></rss>"#;
const ATOM: &str = r#"<feed xmlns="http://www.w3.org/2005/Atom"><title>A</title><id>x</id><updated>2024-01-01T00:00:00Z</updated>
<entry><id>1</id><title>A</title><updated>2024-01-01T00:00:00Z</updated><link href="http://x.test/a"/></entry>
<entry><id>2</id><title>B</title><updated>2024-01-01T00:00:00Z</updated><link href="http://x.test/b"/></entry></feed>"#;

struct Server {
    port: u16,
    hits: Arc<Mutex<HashMap<String, usize>>>,
    stop: Arc<AtomicBool>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

impl Server {
    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn hits(&self, path: &str) -> usize {
        self.hits.lock().unwrap().get(path).copied().unwrap_or(0)
    }
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

fn head(status: &str, headers: &[(&str, String)]) -> Vec<u8> {
    let mut s = format!("HTTP/1.1 {status}\r\nConnection: close\r\n");
    for (k, v) in headers {
        s.push_str(&format!("{k}: {v}\r\n"));
    }
    s.push_str("\r\n");
    s.into_bytes()
}

fn respond(status: &str, ctype: &str, body: &[u8]) -> Vec<u8> {
    let mut out = head(
        status,
        &[
            ("Content-Type", ctype.into()),
            ("Content-Length", body.len().to_string()),
        ],
    );
    out.extend_from_slice(body);
    out
}

fn handle(mut stream: TcpStream, hits: &Mutex<HashMap<String, usize>>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let request = String::from_utf8_lossy(&buf);
    let path = request.split_whitespace().nth(1).unwrap_or("/").to_string();
    let n = {
        let mut h = hits.lock().unwrap();
        let c = h.entry(path.clone()).or_default();
        *c += 1;
        *c
    };
    let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
    let html = "text/html; charset=utf-8";
    let out: Vec<u8> = match path.as_str() {
        "/ok.html" | "/private-ok.html" => respond("200 OK", html, PAGE.as_bytes()),
        "/robots.txt" => respond(
            "200 OK",
            "text/plain",
            b"User-agent: *\nDisallow: /private\nCrawl-delay: 1\n",
        ),
        "/slow" => {
            // Slow-loris: headers promptly, then one byte every 300 ms.
            let _ = stream.write_all(&head(
                "200 OK",
                &[
                    ("Content-Type", html.into()),
                    ("Content-Length", "1000".into()),
                ],
            ));
            for _ in 0..40 {
                if stream.write_all(b"x").is_err() {
                    return;
                }
                thread::sleep(Duration::from_millis(300));
            }
            return;
        }
        // A feed behind basic auth, a cookie, a key header and an agent allow-list.
        "/auth.xml" => {
            let lower = request.to_ascii_lowercase();
            let wanted = [
                "authorization: basic dtpw", // "u:p"
                "x-key: k1",
                "user-agent: custom/1",
                "cookie: s=1",
            ];
            if wanted.iter().all(|w| lower.contains(w)) {
                respond("200 OK", "application/rss+xml", RSS.as_bytes())
            } else {
                respond("401 Unauthorized", "text/plain", b"who are you")
            }
        }
        // Asked as a proxy is asked: the absolute URL of a host that does not exist.
        "http://feed.invalid/via-proxy.xml" => {
            respond("200 OK", "application/rss+xml", RSS.as_bytes())
        }
        // The same feed on another host name (localhost, not 127.0.0.1).
        "/auth-elsewhere.xml" => {
            let port = request
                .lines()
                .find_map(|l| {
                    l.strip_prefix("host: ")
                        .or_else(|| l.strip_prefix("Host: "))
                })
                .and_then(|h| h.trim().rsplit(':').next())
                .unwrap_or("80")
                .to_string();
            head(
                "301 Moved Permanently",
                &[
                    ("Location", format!("http://localhost:{port}/auth.xml")),
                    ("Content-Length", "0".into()),
                ],
            )
        }
        "/500" => respond("500 Internal Server Error", html, b"oops"),
        "/429" if n == 1 => {
            let mut out = head(
                "429 Too Many Requests",
                &[("Retry-After", "1".into()), ("Content-Length", "0".into())],
            );
            out.extend_from_slice(b"");
            out
        }
        "/429" => respond("200 OK", html, PAGE.as_bytes()),
        "/gzip-truncated" => {
            let gz = gzip(PAGE.repeat(50).as_bytes());
            let mut out = head(
                "200 OK",
                &[
                    ("Content-Type", html.into()),
                    ("Content-Encoding", "gzip".into()),
                ],
            );
            out.extend_from_slice(&gz[..gz.len() / 2]);
            out
        }
        "/big" | "/big-chunked" => {
            let declared = path == "/big";
            let mut headers = vec![("Content-Type", html.to_string())];
            if declared {
                headers.push(("Content-Length", (50 * 1024 * 1024).to_string()));
            }
            let _ = stream.write_all(&head("200 OK", &headers));
            let block = vec![b'a'; 64 * 1024];
            for _ in 0..800 {
                if stream.write_all(&block).is_err() {
                    return;
                }
            }
            return;
        }
        "/bomb" => {
            let gz = gzip(&vec![b' '; 50 * 1024 * 1024]);
            let mut out = head(
                "200 OK",
                &[
                    ("Content-Type", html.into()),
                    ("Content-Encoding", "gzip".into()),
                    ("Content-Length", gz.len().to_string()),
                ],
            );
            out.extend_from_slice(&gz);
            out
        }
        "/loop" => head(
            "302 Found",
            &[("Location", "/loop".into()), ("Content-Length", "0".into())],
        ),
        "/cp1256" => {
            let (bytes, _, _) = encoding_rs::WINDOWS_1256
                .encode("<html><body><p>الولايات المتحدة والعراق في بيان مشترك</p></body></html>");
            respond("200 OK", "text/html; charset=windows-1256", &bytes)
        }
        "/feed-switch.xml" if n == 1 => respond("200 OK", "application/rss+xml", RSS.as_bytes()),
        "/feed-switch.xml" => respond("200 OK", "application/atom+xml", ATOM.as_bytes()),
        "/gone.xml" => respond("410 Gone", "text/plain", b"gone"),
        // A gzip sitemap index (served as a file, no Content-Encoding) of one news sitemap
        // with a fresh entry, an old one and one without a date.
        "/sitemap_index.xml.gz" => {
            let index = "<sitemapindex xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\
                 <sitemap><loc>/news-sitemap.xml</loc></sitemap></sitemapindex>";
            respond("200 OK", "application/gzip", &gzip(index.as_bytes()))
        }
        "/news-sitemap.xml" => {
            let now = chrono::Utc::now();
            let fresh = (now - chrono::Duration::hours(3)).to_rfc3339();
            let old = (now - chrono::Duration::days(30)).to_rfc3339();
            let body = format!(
                "<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\" \
                 xmlns:news=\"http://www.google.com/schemas/sitemap-news/0.9\">\
                 <url><loc>http://x.test/fresh</loc><news:news><news:publication_date>{fresh}</news:publication_date>\
                 <news:title>Fresh report</news:title></news:news></url>\
                 <url><loc>http://x.test/old</loc><lastmod>{old}</lastmod></url>\
                 <url><loc>http://x.test/undated</loc></url></urlset>"
            );
            respond("200 OK", "application/xml", body.as_bytes())
        }
        "/moved.xml" => head(
            "301 Moved Permanently",
            &[
                ("Location", "/feed.xml".into()),
                ("Content-Length", "0".into()),
            ],
        ),
        "/temporary.xml" => head(
            "302 Found",
            &[
                ("Location", "/feed.xml".into()),
                ("Content-Length", "0".into()),
            ],
        ),
        "/feed.xml" => {
            let mut out = head(
                "200 OK",
                &[
                    ("Content-Type", "application/rss+xml".into()),
                    ("Content-Length", RSS.len().to_string()),
                    ("ETag", "\"v1\"".into()),
                    ("Cache-Control", "public, max-age=1800".into()),
                ],
            );
            out.extend_from_slice(RSS.as_bytes());
            out
        }
        _ => respond("404 Not Found", "text/plain", b"not found"),
    };
    let _ = stream.write_all(&out);
}

fn start() -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let hits: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    {
        let hits = hits.clone();
        let stop = stop.clone();
        thread::spawn(move || {
            for stream in listener.incoming() {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let hits = hits.clone();
                thread::spawn(move || handle(stream, &hits));
            }
        });
    }
    Server { port, hits, stop }
}

fn fetcher(tweak: impl FnOnce(&mut FetchConfig)) -> Fetcher {
    let mut cfg = FetchConfig {
        timeout: Duration::from_secs(2),
        connect_timeout: Duration::from_secs(2),
        per_host_delay: Duration::ZERO,
        per_host_concurrency: 8,
        retries: 1,
        retry_base_delay: Duration::from_millis(20),
        allow_private_networks: true,
        obey_robots: false,
        ..FetchConfig::default()
    };
    tweak(&mut cfg);
    Fetcher::new(cfg).unwrap()
}

#[tokio::test]
async fn slow_loris_times_out() {
    let s = start();
    let t = Instant::now();
    let err = fetcher(|_| {})
        .fetch_page(&s.url("/slow"))
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::Timeout { .. }), "{err}");
    // Two attempts of 2 s each, not the 12 s the server would take.
    assert!(t.elapsed() < Duration::from_secs(8), "{:?}", t.elapsed());
}

#[tokio::test]
async fn server_errors_are_retried_then_reported() {
    let s = start();
    let err = fetcher(|_| {})
        .fetch_page(&s.url("/500"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, FetchError::Status { status: 500, .. }),
        "{err}"
    );
    assert!(err.is_transient());
    assert_eq!(s.hits("/500"), 2, "one retry");
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let s = start();
    let t = Instant::now();
    let page = fetcher(|_| {}).fetch_page(&s.url("/429")).await.unwrap();
    assert!(page.html.contains("Fine page"));
    assert!(
        t.elapsed() >= Duration::from_millis(900),
        "retried before Retry-After: {:?}",
        t.elapsed()
    );
}

#[tokio::test]
async fn truncated_gzip_is_an_error() {
    let s = start();
    let err = fetcher(|_| {})
        .fetch_page(&s.url("/gzip-truncated"))
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::Network { .. }), "{err}");
}

#[tokio::test]
async fn oversized_bodies_and_decompression_bombs_stop_at_the_limit() {
    let s = start();
    let f = fetcher(|c| c.max_body_bytes = 10 * 1024 * 1024);
    for path in ["/big", "/big-chunked", "/bomb"] {
        let err = f.fetch_page(&s.url(path)).await.unwrap_err();
        assert!(matches!(err, FetchError::TooLarge { .. }), "{path}: {err}");
    }
}

#[tokio::test]
async fn redirect_loops_are_capped() {
    let s = start();
    let err = fetcher(|_| {})
        .fetch_page(&s.url("/loop"))
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::TooManyRedirects { .. }), "{err}");
    assert!(s.hits("/loop") <= 7);
}

#[tokio::test]
async fn windows_1256_pages_decode() {
    let s = start();
    let page = fetcher(|_| {}).fetch_page(&s.url("/cp1256")).await.unwrap();
    assert_eq!(page.encoding, "windows-1256");
    assert!(page.html.contains("الولايات المتحدة والعراق"));
}

#[tokio::test]
async fn feed_switching_from_rss_to_atom_parses_both() {
    let s = start();
    let f = fetcher(|_| {});
    let first = f
        .poll_feed(&s.url("/feed-switch.xml"), &Validators::default())
        .await
        .unwrap();
    assert_eq!(first.feed.unwrap().items.len(), 1);
    let second = f
        .poll_feed(&s.url("/feed-switch.xml"), &Validators::default())
        .await
        .unwrap();
    assert_eq!(second.feed.unwrap().items.len(), 2);
}

#[tokio::test]
async fn feed_moves_and_retirement() {
    let s = start();
    let f = fetcher(|_| {});
    let moved = f
        .poll_feed(&s.url("/moved.xml"), &Validators::default())
        .await
        .unwrap();
    assert_eq!(moved.moved_to.as_deref(), Some(s.url("/feed.xml").as_str()));
    assert_eq!(moved.validators.etag.as_deref(), Some("\"v1\""));
    assert_eq!(moved.max_age, Some(Duration::from_secs(1800)));
    let temporary = f
        .poll_feed(&s.url("/temporary.xml"), &Validators::default())
        .await
        .unwrap();
    assert_eq!(temporary.moved_to, None);
    assert!(temporary.feed.is_some());
    let gone = f
        .poll_feed(&s.url("/gone.xml"), &Validators::default())
        .await
        .unwrap_err();
    assert!(matches!(gone, FetchError::Status { status: 410, .. }));
}

#[tokio::test]
async fn robots_txt_is_obeyed_for_pages() {
    let s = start();
    let f = fetcher(|c| c.obey_robots = true);
    assert!(f.fetch_page(&s.url("/ok.html")).await.is_ok());
    let err = f.fetch_page(&s.url("/private-ok.html")).await.unwrap_err();
    assert!(matches!(err, FetchError::RobotsDisallowed { .. }), "{err}");
    assert_eq!(s.hits("/private-ok.html"), 0);
    // Fetched once for the origin, then cached.
    assert!(f.fetch_page(&s.url("/ok.html")).await.is_ok());
    assert_eq!(s.hits("/robots.txt"), 1);
}

#[tokio::test]
async fn private_addresses_are_refused_by_default() {
    let s = start();
    let f = fetcher(|c| c.allow_private_networks = false);
    for url in [
        s.url("/ok.html"),
        format!("http://localhost:{}/ok.html", s.port),
        "http://10.255.255.1/x".into(),
        "http://[::1]/x".into(),
    ] {
        let err = f.fetch_page(&url).await.unwrap_err();
        assert!(matches!(err, FetchError::Blocked { .. }), "{url}: {err}");
    }
    assert_eq!(s.hits("/ok.html"), 0, "a refused URL must not be requested");
    let err = f.fetch_page("file:///etc/passwd").await.unwrap_err();
    assert!(matches!(err, FetchError::InvalidUrl { .. }));
}

#[tokio::test]
async fn a_sitemap_among_the_feeds_is_polled_as_one() {
    let s = start();
    let f = fetcher(|_| {});
    let poll = f
        .poll_feed(&s.url("/sitemap_index.xml.gz"), &Validators::default())
        .await
        .expect("a sitemap polls like a feed");
    let items = poll.feed.expect("a document").items;
    let urls: Vec<&str> = items.iter().map(|i| i.url.as_str()).collect();
    // The default sitemap_max_age (two days) leaves the month-old entry out; an undated
    // one cannot be judged and stays.
    assert_eq!(urls, ["http://x.test/fresh", "http://x.test/undated"]);
    assert_eq!(items[0].hints.title.as_deref(), Some("Fresh report"));
    assert!(items[0].hints.published_at.is_some());
    // A backfill takes every entry.
    let all = f
        .read_sitemap(&s.url("/sitemap_index.xml.gz"), None)
        .await
        .expect("sitemap read");
    assert_eq!(all.len(), 3);
    // After a poll an hour ago, only what is dated since (less the hour of overlap):
    // the three-hour-old entry was there at the last poll; the undated one stays.
    let polled_at = |hours_ago: i64| Validators {
        last_success: Some(chrono::Utc::now() - chrono::Duration::hours(hours_ago)),
        ..Validators::default()
    };
    let since = |v: Validators| {
        let f = &f;
        let url = s.url("/sitemap_index.xml.gz");
        async move {
            let poll = f.poll_feed(&url, &v).await.expect("polled");
            let items = poll.feed.expect("a document").items;
            items.into_iter().map(|i| i.url).collect::<Vec<String>>()
        }
    };
    assert_eq!(since(polled_at(1)).await, ["http://x.test/undated"]);
    assert_eq!(
        since(polled_at(3)).await,
        ["http://x.test/fresh", "http://x.test/undated"]
    );
}

#[tokio::test]
async fn a_feed_polls_with_its_own_headers_and_keeps_its_credentials_on_its_host() {
    let s = start();
    let f = fetcher(|c| c.retries = 0);
    let request = FeedRequest {
        headers: vec![("X-Key".into(), "k1".into())],
        user_agent: Some("custom/1".into()),
        basic_auth: Some(("u".into(), "p".into())),
        cookie: Some("s=1".into()),
        proxy: None,
    };
    let none = Validators::default();
    let polled = f
        .poll_feed_with(&s.url("/auth.xml"), &none, &request)
        .await
        .unwrap();
    assert_eq!(polled.feed.unwrap().items.len(), 1);
    let plain = f.poll_feed(&s.url("/auth.xml"), &none).await.unwrap_err();
    assert!(
        matches!(plain, FetchError::Status { status: 401, .. }),
        "{plain}"
    );
    // A redirect to another host does not take the password and the cookie along.
    let elsewhere = f
        .poll_feed_with(&s.url("/auth-elsewhere.xml"), &none, &request)
        .await
        .unwrap_err();
    assert!(
        matches!(elsewhere, FetchError::Status { status: 401, .. }),
        "{elsewhere}"
    );
    // Through the feed's own proxy (this server), to a host only the proxy knows.
    let proxied = FeedRequest {
        proxy: Some(s.url("")),
        ..Default::default()
    };
    let polled = f
        .poll_feed_with("http://feed.invalid/via-proxy.xml", &none, &proxied)
        .await
        .unwrap();
    assert_eq!(polled.feed.unwrap().items.len(), 1);
    assert!(f
        .poll_feed("http://feed.invalid/via-proxy.xml", &none)
        .await
        .is_err());
    let bad = FeedRequest {
        headers: vec![("Bad Name".into(), "v".into())],
        ..Default::default()
    };
    let refused = f
        .poll_feed_with(&s.url("/auth.xml"), &none, &bad)
        .await
        .unwrap_err();
    assert!(
        matches!(refused, FetchError::InvalidRequest { .. }),
        "{refused}"
    );
}
