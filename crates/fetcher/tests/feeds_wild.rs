//! Feeds as they are in the wild: one fixture per class of malformation or oddity, each with
//! exactly the articles a careful reader would take from it (URL, title, time).

use newsriver_fetcher::{parse_feed_with, ParsedFeed};

const FEED_URL: &str = "http://feeds.example.test/feed";
const DEFAULT_TIME: &str = "2025-01-06T10:00:00Z";

/// Expected entry: URL, title, publication time (RFC 3339, or None).
type Want = (&'static str, &'static str, Option<&'static str>);

fn parse(name: &str, content_type: Option<&str>) -> ParsedFeed {
    let path = format!("{}/tests/fixtures/feeds/{name}", env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    parse_feed_with(&bytes, FEED_URL, content_type).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn check(name: &str, content_type: Option<&str>, want: &[Want]) -> ParsedFeed {
    let feed = parse(name, content_type);
    let got: Vec<(String, String, Option<String>)> = feed
        .items
        .iter()
        .map(|i| {
            (
                i.url.clone(),
                i.hints.title.clone().unwrap_or_default(),
                i.hints
                    .published_at
                    .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            )
        })
        .collect();
    let want: Vec<(String, String, Option<String>)> = want
        .iter()
        .map(|(u, t, d)| (u.to_string(), t.to_string(), d.map(str::to_string)))
        .collect();
    assert_eq!(got, want, "{name}");
    feed
}

fn one(url: &'static str, title: &'static str) -> [Want; 1] {
    [(url, title, Some(DEFAULT_TIME))]
}

#[test]
fn charsets() {
    let f = check(
        "cp1252_in_utf8.xml",
        None,
        &one(
            "http://news.example.test/a1",
            "\u{201C}Quoted\u{201D} budget",
        ),
    );
    assert!(f.repair.repairs.contains(&"charset"), "{:?}", f.repair);
    let f = check(
        "utf8_labelled_latin1.xml",
        None,
        &one("http://news.example.test/a2", "Café crème"),
    );
    assert!(!f.repair.repaired(), "{:?}", f.repair);
    check(
        "header_charset_koi8.xml",
        Some("application/rss+xml; charset=KOI8-R"),
        &one("http://news.example.test/a3", "Новости дня"),
    );
    for name in ["utf16be_nobom.xml", "utf16le_bom.xml", "utf32le.xml"] {
        check(
            name,
            None,
            &one("http://news.example.test/a4", "Zürich vote"),
        );
    }
}

#[test]
fn malformed_xml() {
    let f = check(
        "bare_ampersand.xml",
        None,
        &[
            (
                "http://news.example.test/story?id=5&page=1",
                "AT&T and T-Mobile merge",
                Some(DEFAULT_TIME),
            ),
            (
                "http://news.example.test/qa",
                "Q&A: rates",
                Some(DEFAULT_TIME),
            ),
        ],
    );
    assert!(f.repair.repairs.contains(&"entities"));
    check(
        "html_entities.xml",
        None,
        &[
            (
                "http://news.example.test/e1",
                "testing á entity — again",
                Some(DEFAULT_TIME),
            ),
            (
                "http://news.example.test/e2",
                "Café society © &unknownthing;",
                Some(DEFAULT_TIME),
            ),
        ],
    );
    check(
        "control_chars.xml",
        None,
        &one("http://news.example.test/c1", "Vote count update"),
    );
    let f = check(
        "truncated.xml",
        None,
        &[
            ("http://news.example.test/t1", "First", Some(DEFAULT_TIME)),
            ("http://news.example.test/t2", "Second", Some(DEFAULT_TIME)),
        ],
    );
    assert_eq!(f.repair.dropped_entries, 1);
    assert!(f.repair.repairs.contains(&"truncated"));
    check(
        "atom_text_type.xml",
        None,
        &one("http://news.example.test/p1", "Plain typed title"),
    );
    check(
        "bad_xml_base.xml",
        None,
        &[
            (
                "http://news.example.test/b1",
                "Bad base",
                Some(DEFAULT_TIME),
            ),
            (
                "http://news.example.test/b2",
                "Good base",
                Some("2025-01-06T11:00:00Z"),
            ),
        ],
    );
    check(
        "json_bom.json",
        None,
        &one("http://news.example.test/j1", "JSON item"),
    );
}

#[test]
fn old_formats() {
    check(
        "atom03.xml",
        None,
        &[
            (
                "http://news.example.test/o1",
                "Atom 0.3 entry",
                Some("2025-01-06T09:00:00Z"),
            ),
            (
                "http://news.example.test/o2",
                "Created only",
                Some("2025-01-05T09:00:00Z"),
            ),
        ],
    );
    check(
        "rss090.xml",
        None,
        &[
            ("http://news.example.test/n1", "Ninety one", None),
            ("http://news.example.test/n2", "Ninety two", None),
        ],
    );
    check(
        "rss_userland.xml",
        None,
        &one("http://news.example.test/u1", "Userland item"),
    );
}

#[test]
fn titles() {
    check(
        "title_markup.xml",
        None,
        &[
            (
                "http://news.example.test/m1",
                "Bold move",
                Some(DEFAULT_TIME),
            ),
            (
                "http://news.example.test/m2",
                "Emphasis & more",
                Some(DEFAULT_TIME),
            ),
            (
                "http://news.example.test/m3",
                "Double á escaped",
                Some(DEFAULT_TIME),
            ),
        ],
    );
}

#[test]
fn links() {
    check(
        "links_atom.xml",
        None,
        &[
            (
                "http://news.example.test/l1",
                "Enclosure first",
                Some(DEFAULT_TIME),
            ),
            (
                "http://news.example.test/l2",
                "License first",
                Some(DEFAULT_TIME),
            ),
            (
                "http://news.example.test/l3",
                "PDF alternate first",
                Some(DEFAULT_TIME),
            ),
            (
                "http://news.example.test/l5",
                "Upper-case scheme",
                Some(DEFAULT_TIME),
            ),
        ],
    );
    check(
        "links_rss.xml",
        None,
        &[
            (
                "http://news.example.test/r1",
                "Opaque guid",
                Some(DEFAULT_TIME),
            ),
            (
                "http://news.example.test/r3",
                "Blank link",
                Some(DEFAULT_TIME),
            ),
            (
                "http://news.example.test/r4",
                "Upper guid",
                Some(DEFAULT_TIME),
            ),
        ],
    );
}

#[test]
fn dates() {
    check(
        "dates.xml",
        None,
        &[
            (
                "http://news.example.test/d1",
                "Date d1",
                Some("2004-07-08T23:56:58Z"),
            ),
            (
                "http://news.example.test/d2",
                "Date d2",
                Some("2004-01-01T00:00:00Z"),
            ),
            (
                "http://news.example.test/d3",
                "Date d3",
                Some("2012-08-30T15:26:16Z"),
            ),
            (
                "http://news.example.test/d4",
                "Date d4",
                Some("2004-01-04T16:29:06Z"),
            ),
            (
                "http://news.example.test/d5",
                "Date d5",
                Some("2004-01-01T19:48:21Z"),
            ),
            (
                "http://news.example.test/d6",
                "Date d6",
                Some("2004-01-01T19:48:21Z"),
            ),
            (
                "http://news.example.test/d7",
                "Date d7",
                Some("2004-01-01T18:48:21Z"),
            ),
            (
                "http://news.example.test/d8",
                "Date d8",
                Some("2004-01-01T17:48:21Z"),
            ),
            (
                "http://news.example.test/d9",
                "Date d9",
                Some("2004-01-02T02:48:21Z"),
            ),
        ],
    );
    check(
        "dates_modules.xml",
        None,
        &[
            (
                "http://news.example.test/m1",
                "dc date",
                Some("2025-01-06T07:00:00Z"),
            ),
            (
                "http://news.example.test/m2",
                "dcterms issued",
                Some("2025-01-06T09:00:00Z"),
            ),
        ],
    );
    check(
        "dates_atom_in_rss.xml",
        None,
        &one("http://news.example.test/au1", "atom updated")
            .map(|(u, t, _)| (u, t, Some("2025-01-06T07:00:00Z"))),
    );
}

#[test]
fn every_fixture_is_covered() {
    let dir = format!("{}/tests/fixtures/feeds", env!("CARGO_MANIFEST_DIR"));
    let count = std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0);
    // Each fixture is checked above; a new fixture needs its expectations here too.
    assert_eq!(count, 22);
}
