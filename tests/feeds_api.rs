//! The feeds API (`/api/feeds`) against a running daemon on loopback, and `newsriver feeds
//! add|remove|pause|resume` through it and offline on the state file.

mod support;

use std::time::Duration;

use newsriver::config::{Config, Secret};
use support::*;

const TOKEN: &str = "t0ken-for-tests";

/// Adds a feed through the API with the token: (status, body).
fn add_feed(addr: &str, body: &str) -> (u16, String) {
    request(
        addr,
        "POST",
        "/api/feeds",
        Some(TOKEN),
        Some(body.as_bytes()),
    )
}

/// A POST without a body, with the token (pause, resume, poll): (status, body).
fn post_with_token(addr: &str, path: &str) -> (u16, String) {
    request(addr, "POST", path, Some(TOKEN), None)
}

/// One request to the listener at `addr`: (status, body). The body is sent whole with its
/// length; a server answering before reading it all is fine (the answer is read anyway).
fn request(
    addr: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&[u8]>,
) -> (u16, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).expect("connect to the admin listener");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if let Some(t) = token {
        head.push_str(&format!("Authorization: Bearer {t}\r\n"));
    }
    let body = body.unwrap_or_default();
    head.push_str(&format!(
        "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    ));
    stream.write_all(head.as_bytes()).unwrap();
    // A refused large body may be cut short by the server: its answer still counts.
    let _ = stream.write_all(body);
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer).to_string();
    let (head, body) = answer
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP answer to {method} {path}: {answer:?}"));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {head:?}"));
    (status, body.to_string())
}

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

fn encoded(url: &str) -> String {
    url::form_urlencoded::byte_serialize(url.as_bytes()).collect()
}

/// The feeds the daemon lists, by URL.
fn listed(addr: &str) -> Vec<serde_json::Value> {
    let (status, body) = request(addr, "GET", "/api/feeds", None, None);
    assert_eq!(status, 200, "{body}");
    json(&body).as_array().cloned().expect("a list")
}

/// Only the RSS feed in the configuration, polled every second or two.
fn quick_polls(server: &FixtureServer) -> impl FnOnce(&mut Config) {
    let rss = server.url("/feeds/rss.xml");
    move |c: &mut Config| {
        c.feeds.urls = vec![rss];
        c.poll.interval_secs = 1;
        c.poll.min_interval_secs = 1;
        c.poll.max_interval_secs = 2;
        c.poll.jitter = 0.0;
        c.admin.token = Secret::new(TOKEN);
    }
}

fn wait(limit_secs: u64, done: impl FnMut() -> bool) -> bool {
    wait_until(Duration::from_secs(limit_secs), done)
}

#[test]
fn the_api_adds_pauses_polls_and_removes_feeds_and_refuses_bad_requests() {
    let server = FixtureServer::start();
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &server);
    let daemon = InProcessDaemon::start(cfg.to_str().unwrap(), quick_polls(&server));
    let addr = daemon.addr.clone();
    assert!(wait(30, || http_get(&addr, "/healthz").is_some()));
    let rss = server.url("/feeds/rss.xml");
    let atom = server.url("/feeds/atom.xml");

    let feeds = listed(&addr);
    assert_eq!(feeds.len(), 1, "{feeds:?}");
    assert_eq!(feeds[0]["url"], rss.as_str());
    assert_eq!(feeds[0]["origin"], "config");

    // Refused, changing nothing.
    let add_atom = format!(
        r#"{{"url": "{atom}", "settings": {{"min_interval_secs": 1, "max_interval_secs": 2, "headers": {{"X-Test": "1"}}}}}}"#
    );
    let post =
        |token: Option<&str>, body: &[u8]| request(&addr, "POST", "/api/feeds", token, Some(body));
    assert_eq!(post(None, add_atom.as_bytes()).0, 401);
    assert_eq!(post(Some("wrong"), add_atom.as_bytes()).0, 401);
    let (status, body) = post(Some(TOKEN), b"{\"url\": ");
    assert_eq!(status, 400, "{body}");
    assert!(json(&body)["error"]
        .as_str()
        .unwrap()
        .contains("invalid request body"));
    let (status, body) = post(
        Some(TOKEN),
        format!(r#"{{"url": "{atom}", "colour": "red"}}"#).as_bytes(),
    );
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("colour"), "{body}");
    let (status, body) = post(Some(TOKEN), br#"{"url": "ftp://example.com/feed"}"#);
    assert_eq!(status, 422, "{body}");
    let (status, body) = post(
        Some(TOKEN),
        br#"{"url": "https://example.com/f", "settings": {"headers": {"Bad Name": "x"}}}"#,
    );
    assert_eq!(status, 422, "{body}");
    let (status, body) = post(Some(TOKEN), format!(r#"{{"url": "{rss}"}}"#).as_bytes());
    assert_eq!(status, 409, "{body}");
    let huge = format!(
        r#"{{"url": "{atom}", "padding": "{}"}}"#,
        "x".repeat(2 * 1024 * 1024)
    );
    let (status, body) = post(Some(TOKEN), huge.as_bytes());
    assert_eq!(status, 413, "{body}");
    assert_eq!(listed(&addr).len(), 1);
    assert_eq!(server.hits("/feeds/atom.xml"), 0);

    // Added: 201 with the feed, polled at once.
    let (status, body) = post(Some(TOKEN), add_atom.as_bytes());
    assert_eq!(status, 201, "{body}");
    let added = json(&body);
    assert_eq!(added["url"], atom.as_str());
    assert_eq!(added["origin"], "api");
    // Header values are often keys: shown redacted, like passwords.
    assert_eq!(added["settings"]["headers"]["X-Test"], "<redacted>");
    let id = added["id"].as_i64().expect("an id");
    assert!(
        wait(30, || server.hits("/feeds/atom.xml") >= 1),
        "the added feed was not polled"
    );
    assert_eq!(post(Some(TOKEN), add_atom.as_bytes()).0, 409);
    assert_eq!(listed(&addr).len(), 2);

    // Paused: no longer polled (a poll in flight may still finish), then resumed.
    let by_url = format!("/api/feeds/{}", encoded(&rss));
    let (status, body) = post_with_token(&addr, &format!("{by_url}/pause"));
    assert_eq!(status, 200, "{body}");
    assert_eq!(json(&body)["paused"], true);
    assert_eq!(post_with_token(&addr, &format!("{by_url}/poll")).0, 409);
    std::thread::sleep(Duration::from_millis(1500));
    let before = server.hits("/feeds/rss.xml");
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(
        server.hits("/feeds/rss.xml"),
        before,
        "a paused feed was polled"
    );
    // Meanwhile the other feed goes on (its own bounds: every second or two).
    let atom_hits = server.hits("/feeds/atom.xml");
    assert!(
        atom_hits >= 2,
        "the added feed is polled on its own interval: {atom_hits}"
    );
    assert_eq!(
        request(&addr, "POST", &format!("{by_url}/resume"), None, None).0,
        401
    );
    let (status, body) = post_with_token(&addr, &format!("{by_url}/resume"));
    assert_eq!(status, 200, "{body}");
    assert!(
        wait(10, || server.hits("/feeds/rss.xml") > before),
        "a resumed feed was not polled"
    );
    let (status, _) = post_with_token(&addr, &format!("/api/feeds/{id}/poll"));
    assert_eq!(status, 202);

    // Removed: a config feed is refused, an API feed is gone.
    let (status, body) = request(&addr, "DELETE", &by_url, Some(TOKEN), None);
    assert_eq!(status, 409, "{body}");
    assert!(body.contains("configuration file"), "{body}");
    assert_eq!(
        request(&addr, "DELETE", &format!("/api/feeds/{id}"), None, None).0,
        401
    );
    let (status, body) = request(
        &addr,
        "DELETE",
        &format!("/api/feeds/{id}"),
        Some(TOKEN),
        None,
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        request(
            &addr,
            "DELETE",
            &format!("/api/feeds/{id}"),
            Some(TOKEN),
            None
        )
        .0,
        404
    );
    assert_eq!(request(&addr, "GET", "/api/feeds/999", None, None).0, 404);
    assert_eq!(listed(&addr).len(), 1);
    daemon.stop().expect("the daemon stops cleanly");
}

#[test]
fn added_feeds_survive_a_restart_and_changes_need_a_token_to_be_configured() {
    let server = FixtureServer::start();
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &server);
    let cfg = cfg.to_str().unwrap();
    let atom = server.url("/feeds/atom.xml");
    let daemon = InProcessDaemon::start(cfg, quick_polls(&server));
    let addr = daemon.addr.clone();
    assert!(wait(30, || http_get(&addr, "/healthz").is_some()));
    let body = format!(
        r#"{{"url": "{atom}", "paused": true, "settings": {{"username": "u", "password": "hunter2"}}}}"#
    );
    let (status, answer) = add_feed(&addr, &body);
    assert_eq!(status, 201, "{answer}");
    assert!(
        !answer.contains("hunter2"),
        "the password is shown: {answer}"
    );
    daemon.stop().unwrap();

    // Started again without a token: the feed is still there, still paused.
    let rss = server.url("/feeds/rss.xml");
    let daemon = InProcessDaemon::start(cfg, move |c| c.feeds.urls = vec![rss]);
    let addr = daemon.addr.clone();
    assert!(wait(30, || http_get(&addr, "/healthz").is_some()));
    let feeds = listed(&addr);
    let kept = feeds
        .iter()
        .find(|f| f["url"] == atom.as_str())
        .unwrap_or_else(|| panic!("the added feed is gone after a restart: {feeds:?}"));
    assert_eq!(kept["origin"], "api");
    assert_eq!(kept["paused"], true);
    assert_eq!(kept["settings"]["username"], "u");
    assert_eq!(kept["settings"]["password"], "<redacted>");
    assert_eq!(
        server.hits("/feeds/atom.xml"),
        0,
        "a paused feed was polled"
    );
    let (status, body) = post_with_token(&addr, &format!("/api/feeds/{}/resume", kept["id"]));
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("admin.token"), "{body}");
    daemon.stop().unwrap();
}

fn cli(args: &[&str]) -> std::process::Output {
    newsriver(args, None)
}

fn stdout(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn the_cli_changes_feeds_on_the_state_file_when_no_daemon_runs() {
    let server = FixtureServer::start();
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &server);
    let cfg = cfg.to_str().unwrap();
    let added = server.url("/feeds/added.xml");
    let atom = server.url("/feeds/atom.xml");

    let out = cli(&[
        "feeds", "add", &added, "--config", cfg, "--header", "X-Key: k",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("no daemon running"),
        "{}",
        stdout(&out)
    );
    let out = cli(&["feeds", "add", &added, "--config", cfg]);
    assert_eq!(out.status.code(), Some(1), "a duplicate: {}", stdout(&out));
    let out = cli(&["feeds", "add", "file:///etc/passwd", "--config", cfg]);
    assert_eq!(out.status.code(), Some(2), "not http(s): {}", stdout(&out));
    let out = cli(&[
        "feeds", "add", &added, "--config", cfg, "--header", "no colon",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    // A config feed can be paused before the daemon ever polled it, not removed.
    let out = cli(&["feeds", "pause", &atom, "--config", cfg]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let out = cli(&["feeds", "remove", &atom, "--config", cfg]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let out = cli(&[
        "feeds",
        "remove",
        "https://nowhere.example/feed",
        "--config",
        cfg,
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));

    // The daemon polls what was added and leaves out what was paused.
    let config = config(cfg, |_| {});
    support::runtime()
        .block_on(newsriver::topology::run(
            config.clone(),
            newsriver::topology::RunOptions {
                once: true,
                output: None,
                config_file: None,
            },
            tokio_util::sync::CancellationToken::new(),
        ))
        .expect("run --once");
    assert_eq!(server.hits("/feeds/added.xml"), 1);
    assert_eq!(
        server.hits("/feeds/atom.xml"),
        0,
        "a paused feed was polled"
    );
    assert_eq!(server.hits("/feeds/rss.xml"), 1);
    // The listing tells added and paused feeds; the OPML export includes added ones.
    let out = cli(&["feeds", "--config", cfg]);
    let table = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("paused") && l.contains(&atom)),
        "{table}"
    );
    assert!(table.contains(&format!("{added} (added, id ")), "{table}");
    let out = cli(&["feeds", "export", "--config", cfg]);
    let exported = newsriver_fetcher::parse_opml(&String::from_utf8_lossy(&out.stdout)).unwrap();
    assert!(exported.contains(&added), "{exported:?}");

    let out = cli(&["feeds", "resume", &atom, "--config", cfg]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let out = cli(&["feeds", "remove", &added, "--config", cfg]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).contains("removed feed"), "{}", stdout(&out));
}

#[cfg(unix)]
#[test]
fn the_cli_goes_through_a_running_daemon_and_never_beside_it() {
    let server = FixtureServer::start();
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &server);
    let cfg = cfg.to_str().unwrap();
    let added = server.url("/feeds/added.xml");

    // A daemon without a listener holds the state: the CLI cannot change it (75).
    let mut daemon = spawn_daemon(cfg);
    assert!(wait(30, || server.hits("/feeds/rss.xml") >= 1));
    let out = cli(&["feeds", "add", &added, "--config", cfg]);
    assert_eq!(out.status.code(), Some(75), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("is locked by pid"),
        "{}",
        stdout(&out)
    );
    signal(&daemon, "-TERM");
    assert_eq!(daemon.wait().unwrap().code(), Some(0));

    // With a listener and a token, the same command goes through it.
    let addr = free_loopback_addr();
    let listening = dir.path().join("listening.toml");
    std::fs::write(
        &listening,
        format!(
            "{}\n[admin]\nlisten = \"{addr}\"\ntoken = \"{TOKEN}\"\n",
            std::fs::read_to_string(cfg).unwrap()
        ),
    )
    .unwrap();
    let listening = listening.to_str().unwrap();
    let mut daemon = spawn_daemon(listening);
    assert!(wait(30, || http_get(&addr, "/healthz").is_some()));
    let out = cli(&["feeds", "add", &added, "--config", listening]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("through the daemon"),
        "{}",
        stdout(&out)
    );
    assert!(
        wait(30, || server.hits("/feeds/added.xml") >= 1),
        "the feed added through the daemon was not polled"
    );
    // A wrong token is the daemon's refusal (1), not a fallback to the locked state file.
    let out = newsriver_with_env(
        &["feeds", "pause", &added, "--config", listening],
        None,
        &[("NEWSRIVER_ADMIN__TOKEN", "wrong")],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(stdout(&out).contains("401"), "{}", stdout(&out));
    let out = cli(&[
        "feeds",
        "pause",
        &added,
        "--config",
        listening,
        "--admin",
        &format!("http://{addr}/"),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    signal(&daemon, "-TERM");
    assert_eq!(daemon.wait().unwrap().code(), Some(0));
}

/// A small site for discovery and per-feed settings: `/` announces `/feed.rss`, `/plain/`
/// announces nothing (its feed is at the common path `/feed.xml`), `/private.xml` answers
/// only with the header `X-Key: k1`. Keeps each request's path and headers.
/// Requests a [`Site`] answered: path, and headers with their names in lowercase.
type Requests = std::sync::Arc<std::sync::Mutex<Vec<(String, Vec<(String, String)>)>>>;

struct Site {
    base: String,
    requests: Requests,
    server: std::sync::Arc<tiny_http::Server>,
}

impl Site {
    fn start() -> Site {
        let server = std::sync::Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
        let port = server.server_addr().to_ip().unwrap().port();
        let base = format!("http://127.0.0.1:{port}");
        let requests: Requests = Default::default();
        let (srv, seen, b) = (server.clone(), requests.clone(), base.clone());
        std::thread::spawn(move || {
            for req in srv.incoming_requests() {
                let path = req.url().to_string();
                let headers: Vec<(String, String)> = req
                    .headers()
                    .iter()
                    .map(|h| {
                        (
                            h.field.as_str().to_string().to_ascii_lowercase(),
                            h.value.to_string(),
                        )
                    })
                    .collect();
                let has_key = headers.iter().any(|(k, v)| k == "x-key" && v == "k1");
                seen.lock().unwrap().push((path.clone(), headers));
                let rss = format!(
                    "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Site</title>\
                     <item><title>A</title><link>{b}/a.html</link></item></channel></rss>"
                );
                let html = |body: &str| {
                    tiny_http::Response::from_data(body.as_bytes().to_vec()).with_header(
                        tiny_http::Header::from_bytes("Content-Type", "text/html").unwrap(),
                    )
                };
                let xml = |body: String| {
                    tiny_http::Response::from_data(body.into_bytes()).with_header(
                        tiny_http::Header::from_bytes("Content-Type", "application/rss+xml")
                            .unwrap(),
                    )
                };
                let resp = match path.as_str() {
                    "/" => html(
                        "<html><head><title>Site</title>\
                         <link rel=\"alternate\" type=\"application/rss+xml\" href=\"/feed.rss\">\
                         </head><body><p>Home</p></body></html>",
                    ),
                    "/plain/" => {
                        html("<html><head><title>Plain</title></head><body>x</body></html>")
                    }
                    "/feed.rss" | "/feed.xml" => xml(rss),
                    // Members' feed: its items are on the same host, behind the same key.
                    "/private.xml" if has_key => xml(rss.replace("/a.html", "/members/a.html")),
                    "/private.xml" | "/members/a.html" => html("no key").with_status_code(401),
                    _ => html("not found").with_status_code(404),
                };
                let _ = req.respond(resp);
            }
        });
        Site {
            base,
            requests,
            server,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The headers of the requests for `path` so far.
    fn headers_of(&self, path: &str) -> Vec<Vec<(String, String)>> {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .filter(|(p, _)| p == path)
            .map(|(_, h)| h.clone())
            .collect()
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        self.server.unblock();
    }
}

#[test]
fn feeds_are_discovered_and_polled_with_their_own_settings() {
    let site = Site::start();
    let server = FixtureServer::start();
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &server);
    let cfg = cfg.to_str().unwrap();

    // The CLI lists what a page announces, else what is at the common paths.
    let out = cli(&["feeds", "discover", &site.url("/"), "--config", cfg]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .starts_with(&format!("{}\tlink\tSite", site.url("/feed.rss"))),
        "{}",
        stdout(&out)
    );
    let out = cli(&["feeds", "discover", &site.url("/plain/"), "--config", cfg]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&format!("{}\tpath", site.url("/feed.xml"))),
        "{}",
        stdout(&out)
    );
    assert!(!site.headers_of("/feed.rss").is_empty());

    let daemon = InProcessDaemon::start(cfg, quick_polls(&server));
    let addr = daemon.addr.clone();
    assert!(wait(30, || http_get(&addr, "/healthz").is_some()));
    let body = format!(r#"{{"url": "{}", "discover": true}}"#, site.url("/"));
    let (status, answer) = add_feed(&addr, &body);
    assert_eq!(status, 201, "{answer}");
    assert_eq!(json(&answer)["url"], site.url("/feed.rss").as_str());

    // Polled with its own header and user agent (the site refuses it without the key).
    let body = format!(
        r#"{{"url": "{}", "settings": {{"headers": {{"X-Key": "k1"}}, "user_agent": "private-agent/1"}}}}"#,
        site.url("/private.xml")
    );
    let (status, answer) = add_feed(&addr, &body);
    assert_eq!(status, 201, "{answer}");
    assert!(
        wait(30, || !site.headers_of("/private.xml").is_empty()),
        "the feed with settings was not polled"
    );
    let headers = &site.headers_of("/private.xml")[0];
    assert!(
        headers
            .iter()
            .any(|(k, v)| k == "user-agent" && v == "private-agent/1"),
        "{headers:?}"
    );
    // The article pages it lists on its own host are fetched with the same settings.
    assert!(
        wait(30, || !site.headers_of("/members/a.html").is_empty()),
        "the members' article was not fetched"
    );
    let headers = &site.headers_of("/members/a.html")[0];
    for (name, value) in [("x-key", "k1"), ("user-agent", "private-agent/1")] {
        assert!(
            headers.iter().any(|(k, v)| k == name && v == value),
            "{name}: {headers:?}"
        );
    }
    let feeds = listed(&addr);
    let private = feeds
        .iter()
        .find(|f| f["url"] == site.url("/private.xml").as_str())
        .expect("listed");
    assert!(
        wait(10, || {
            let f = listed(&addr);
            f.iter()
                .any(|f| f["url"] == site.url("/private.xml").as_str() && f["status"] == "ok")
        }),
        "the feed did not poll fine with its key: {private}"
    );
    daemon.stop().unwrap();
}

/// SIGHUP replaces the config feeds and leaves the added ones alone, even when the file
/// then lists no feed at all.
#[cfg(unix)]
#[test]
fn added_feeds_outlive_a_sighup_reload() {
    let server = FixtureServer::start();
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &server);
    let addr = free_loopback_addr();
    let admin = format!("\n[admin]\nlisten = \"{addr}\"\ntoken = \"{TOKEN}\"\n");
    let full = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(&cfg, format!("{full}{admin}")).unwrap();
    let mut daemon = spawn_daemon(cfg.to_str().unwrap());
    assert!(wait(30, || http_get(&addr, "/healthz").is_some()));
    let added = server.url("/feeds/added.xml");
    let body = format!(r#"{{"url": "{added}"}}"#);
    let (status, answer) = add_feed(&addr, &body);
    assert_eq!(status, 201, "{answer}");
    assert_eq!(listed(&addr).len(), 5);

    // The file now lists no feed: the config feeds go, the added one stays.
    let start = full.find("urls = [").expect("the feeds line");
    let end = start + full[start..].find(']').unwrap() + 1;
    let empty = format!("{}urls = []{}{admin}", &full[..start], &full[end..]);
    std::fs::write(&cfg, empty).unwrap();
    signal(&daemon, "-HUP");
    assert!(
        wait(10, || listed(&addr).len() == 1),
        "the reload did not replace the config feeds: {:?}",
        listed(&addr)
    );
    let feeds = listed(&addr);
    assert_eq!(feeds[0]["url"], added.as_str());
    assert_eq!(feeds[0]["origin"], "api");
    assert!(daemon.try_wait().unwrap().is_none());
    signal(&daemon, "-TERM");
    assert_eq!(daemon.wait().unwrap().code(), Some(0));
}
