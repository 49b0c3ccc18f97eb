//! Differential target: the per-chunk, table-driven tokenizer used for fingerprints must
//! give the same words as normalizing the whole text with NFKC and folding it, for any
//! text, and the duplicate index must take whatever it is given.
#![no_main]

use libfuzzer_sys::fuzz_target;
use newsriver_dedup::{
    for_each_token, normalized_words, DedupConfig, Deduper, Fingerprint, NoStore, Token,
};

fuzz_target!(|text: &str| {
    let mut fast = Vec::new();
    for_each_token(text, |t| {
        if let Token::Word(w) = t {
            fast.push(w.to_string());
        }
    });
    // Paragraph breaks only cut words; the reference sees them as separators too.
    let reference: Vec<String> = text.split('\n').flat_map(normalized_words).collect();
    assert_eq!(fast, reference, "{text:?}");

    let fp = Fingerprint::new("https://fuzz.test/", text);
    let mut index = Deduper::new(DedupConfig::default());
    index.insert("0123456789abcdef0123456789abcdef", "s", &fp);
    let again = Fingerprint::new("https://other.test/", text);
    if fp.content_hash.is_some() {
        assert!(index.find(&again, &mut NoStore).is_some());
    }
});
