//! Chrome classes found on real pages the dev sets lack (reading-time badges, section
//! names, tag clouds one word per line, next-article teasers, comment-section fine print)
//! must go, in Arabic as in English, while every paragraph of the article stays. The pages
//! are in tests/fixtures/chrome (see its README).

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

#[test]
fn chrome_classes_go_and_the_article_stays() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/chrome");
    let expected: BTreeMap<String, Value> =
        serde_json::from_slice(&std::fs::read(dir.join("expected.json")).unwrap()).unwrap();
    assert!(expected.len() >= 3);
    for (name, exp) in &expected {
        let html = std::fs::read_to_string(dir.join(format!("{name}.html"))).unwrap();
        let got = newsriver_stripper::extract(&html, exp["url"].as_str()).unwrap();
        for p in exp["paragraphs"].as_array().unwrap() {
            let p = p.as_str().unwrap();
            assert!(
                got.text.contains(p),
                "{name}: paragraph missing: {p}\n---\n{}",
                got.text
            );
        }
        for chrome in exp["absent"].as_array().unwrap() {
            let chrome = chrome.as_str().unwrap();
            assert!(
                !got.text.contains(chrome),
                "{name}: {chrome:?} left in:\n{}",
                got.text
            );
        }
    }
}
