//! Feeds arbitrary bytes through what the pipeline does to a fetched page: charset
//! decoding, extraction, and the dedup fingerprint of the result. Any panic is a bug.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (html, _) = newsriver_fetcher::decode(data, Some("text/html"));
    if let Ok(article) = newsriver_stripper::extract(&html, Some("https://fuzz.test/a/b?c=d")) {
        let _ = newsriver_dedup::Fingerprint::new("https://fuzz.test/a/b", &article.text);
        if let Some(canonical) = article.canonical_url {
            let _ = newsriver_dedup::canonicalize_url(&canonical);
        }
    }
});
