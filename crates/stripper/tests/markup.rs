//! No markup in article text. HTML parsers keep the content of `noembed`, `noframes`,
//! `xmp`, `iframe` and `plaintext` as raw text (an ad's fallback `<a href=...>` is a
//! string to them), broken templates leave comment delimiters in text, and JSON-LD bodies
//! and headlines carry inline tags and entities. None of it is article text; the article
//! around it must survive.

use newsriver_stripper::extract;

const PARAGRAPHS: [&str; 4] = [
    "The city council voted on Tuesday to extend the night bus network to the three northern districts, after a year of petitions from shift workers who had no way home after midnight.",
    "The new routes start in March and will run every twenty minutes between midnight and five in the morning, the transport department said in a statement after the vote.",
    "Opposition members questioned the cost, estimated at four million a year, and asked for a review after six months, which the majority accepted as an amendment to the plan.",
    "Residents who spoke at the public hearing said the change would let them take jobs they had turned down, and several employers in the industrial zone backed the proposal.",
];

fn page(inside_article: &str, elsewhere: &str) -> String {
    let body: String = PARAGRAPHS.iter().map(|p| format!("<p>{p}</p>\n")).collect();
    format!(
        "<!doctype html><html lang=en><head><title>Night buses for the north | City Paper</title></head>\
         <body><header><a href=/>City Paper</a></header>{elsewhere}\
         <article><h1>Night buses for the north</h1>{inside_article}{body}</article>\
         <footer>Contact us</footer></body></html>"
    )
}

/// Tag-like sequences that must never appear in article text taken from markup.
const TAG_LIKE: [&str; 7] = ["<a ", "<a href", "<div", "<img", "<iframe", "<span", "<p>"];

fn assert_clean_article(name: &str, html: &str) {
    let got = extract(html, Some("https://news.test/city/night-buses")).unwrap();
    for p in PARAGRAPHS {
        assert!(
            got.text.contains(p),
            "{name}: paragraph lost: {p}\n---\n{}",
            got.text
        );
    }
    for tag in TAG_LIKE {
        assert!(
            !got.text.contains(tag),
            "{name}: markup {tag:?} in the text:\n{}",
            got.text
        );
    }
    for mark in ["-->", "<!--"] {
        assert!(!got.text.contains(mark), "{name}: {mark:?} in the text");
    }
}

const AD: &str = r#"<a href="https://ads.test/adserver/click?zone=12&amp;cb=99"><img src="https://ads.test/banner.gif" width=728 height=90 alt="Advertisement"></a> <div class="ad-fallback">Sponsored: the best mortgage rates of the season, compare offers from twenty banks in one place today and save on every payment you make this year and next year too.</div>"#;

#[test]
fn raw_text_fallbacks_are_not_text() {
    for (name, wrapper) in [
        ("noembed", format!("<noembed>{AD}</noembed>")),
        ("noframes", format!("<noframes>{AD}</noframes>")),
        ("xmp", format!("<xmp>{AD}</xmp>")),
        ("iframe", format!("<iframe src=/ad>{AD}</iframe>")),
    ] {
        // Inside the article's container, and as a big block beside it: long raw markup
        // must not out-score the article either.
        assert_clean_article(&format!("{name} inside"), &page(&wrapper, ""));
        let big = wrapper.repeat(6);
        assert_clean_article(&format!("{name} beside"), &page("", &big));
    }
}

#[test]
fn stray_comment_delimiters_are_not_text() {
    let html = page(
        "--> <p>--></p><div><!-- a real comment --></div>",
        "<div>--!> <!-- unclosed",
    );
    // The unclosed comment swallows the rest of the page as a comment, so put it last.
    let html = html.replacen("<div>--!> <!-- unclosed", "", 1) + "<!-- unclosed";
    assert_clean_article("comment marks", &html);
}

#[test]
fn noscript_holding_the_article_is_read_as_markup() {
    let body: String = PARAGRAPHS.iter().map(|p| format!("<p>{p}</p>")).collect();
    let html = format!(
        "<html><head><title>Night buses</title></head><body><div id=app></div>\
         <noscript><article><h1>Night buses for the north</h1>{body}</article></noscript></body></html>"
    );
    assert_clean_article("noscript", &html);
}

#[test]
fn noscript_holding_escaped_markup_is_not_text() {
    // An ad's fallback escaped once more by its template: after parsing, the `<noscript>`
    // holds markup as its text. The escape is what a template does to the ad above.
    let escaped = AD
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    let fallback = format!("<div class=leaderboard><noscript>{escaped}</noscript></div>");
    assert_clean_article("escaped noscript inside", &page(&fallback, ""));
    assert_clean_article("escaped noscript beside", &page("", &fallback.repeat(3)));
}

#[test]
fn escaped_markup_is_text() {
    // A page about HTML shows tags as text: that is content, and stays.
    let code = "To embed the map, paste &lt;div class=\"map\"&gt; into the page where it should appear, the guide says.";
    let html = page(&format!("<p>{code}</p>"), "");
    let got = extract(&html, Some("https://news.test/a")).unwrap();
    assert!(
        got.text.contains("paste <div class=\"map\"> into the page"),
        "{}",
        got.text
    );
}

#[test]
fn structured_bodies_and_titles_lose_their_markup() {
    let ld_body = "The city council voted on Tuesday to extend the night bus network to the three northern districts, after a year of <a href=\\\"/petitions\\\">petitions</a> from shift workers who had no way home after midnight.\\nThe new routes start in March and will run every twenty minutes between midnight and five in the morning, the transport department said in a statement after the vote, with <em>no</em> change to fares.\\nOpposition members questioned the cost, estimated at four million a year, and asked for a review after six months, which the majority accepted as an amendment &amp; a condition.\\nResidents who spoke at the public hearing said the change would let them take jobs they had turned down, and several employers in the industrial zone backed the proposal strongly.";
    // The visible page holds only a teaser; the JSON-LD body holds the article.
    let html = format!(
        "<html><head><title>x</title><script type=\"application/ld+json\">\
         {{\"@type\":\"NewsArticle\",\"headline\":\"Night buses &amp;amp; <em>the north</em>\",\"articleBody\":\"{ld_body}\"}}\
         </script></head><body><article><h1>Night buses</h1><p>The city council voted on Tuesday to extend the night bus network.</p>\
         <a href=/subscribe>Subscribe to read more</a></article></body></html>"
    );
    let got = extract(&html, Some("https://news.test/a")).unwrap();
    assert_eq!(got.title.as_deref(), Some("Night buses & the north"));
    assert!(
        got.text
            .contains("after a year of petitions from shift workers"),
        "{}",
        got.text
    );
    assert!(got.text.contains("with no change to fares"), "{}", got.text);
    assert!(
        got.text.contains("an amendment & a condition"),
        "{}",
        got.text
    );
    for tag in TAG_LIKE {
        assert!(!got.text.contains(tag), "{tag:?} in {}", got.text);
    }
}

#[test]
fn nul_characters_do_not_turn_tags_into_text() {
    // Parsers drop NUL from text after tokenizing: "<\0a href=...>" would read as the
    // text "<a href=...>" (found by the extract fuzz target).
    let html = page(
        "<p>see <\0\0a href=\"/x\">this</a> and <\0div>that</div>.</p>",
        "",
    );
    assert_clean_article("nul", &html);
}
