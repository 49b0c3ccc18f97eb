//! Feeds arbitrary bytes through what the pipeline does to a fetched page: charset
//! decoding, extraction, and the dedup fingerprint of the result. Any panic is a bug, and
//! so is markup in the article text: a tag-like sequence may reach the text only when the
//! source writes a `<` as text, escaped (`&lt;div`, `&#60;img`) or bare where no tag can
//! start (`a <<b>div>`, `x < y`), that is when a browser would show it as text too.
#![no_main]

use libfuzzer_sys::fuzz_target;

const TAG_LIKE: [&str; 3] = ["<a href=", "<div", "<img"];

fuzz_target!(|data: &[u8]| {
    let (html, _) = newsriver_fetcher::decode(data, Some("text/html"));
    if let Ok(article) = newsriver_stripper::extract(&html, Some("https://fuzz.test/a/b?c=d")) {
        let text = article.text.to_ascii_lowercase();
        if TAG_LIKE.iter().any(|t| text.contains(t)) {
            let source = html.to_ascii_lowercase();
            let escaped = source.contains("&lt") || source.contains("&#") || source.contains("\\u0026");
            assert!(escaped || has_text_lt(&source), "markup in the article text of a page that does not escape it: {:?}", article.text);
        }
        let _ = newsriver_dedup::Fingerprint::new("https://fuzz.test/a/b", &article.text);
        if let Some(canonical) = article.canonical_url {
            let _ = newsriver_dedup::canonicalize_url(&canonical);
        }
    }
});

/// A `<` the HTML tokenizer emits as text: one not followed by a letter, `!`, `/` or `?`.
fn has_text_lt(html: &str) -> bool {
    let b = html.as_bytes();
    b.iter().enumerate().any(|(i, &c)| {
        c == b'<'
            && !b
                .get(i + 1)
                .is_some_and(|n| n.is_ascii_alphabetic() || matches!(n, b'!' | b'/' | b'?'))
    })
}
