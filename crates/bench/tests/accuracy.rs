//! Accuracy floors for the stripper, so a rule change that helps one page and hurts many
//! fails CI. The figures themselves come from the `aeb` and `multilingual` bench binaries.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use newsriver_bench::{aggregate, Scorer};
use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn multilingual_set_text_and_metadata() {
    let dir = repo().join("tests/fixtures/multilingual");
    let expected: BTreeMap<String, Value> =
        serde_json::from_slice(&std::fs::read(dir.join("expected.json")).unwrap()).unwrap();
    assert!(expected.len() >= 30);
    let scorer = Scorer::new();
    let mut scores = Vec::new();
    let mut metadata_ok = 0;
    for (name, exp) in &expected {
        let html = std::fs::read_to_string(dir.join("pages").join(format!("{name}.html"))).unwrap();
        let got = newsriver_stripper::extract(&html, exp["url"].as_str()).unwrap();
        scores.push(scorer.score(exp["text"].as_str().unwrap(), &got.text));
        let title_ok = exp["title"].as_str() == got.title.as_deref();
        let lang_ok = exp["language"].as_str() == got.language.as_deref();
        let canonical_ok = exp["canonical_url"].as_str() == got.canonical_url.as_deref();
        if title_ok && lang_ok && canonical_ok {
            metadata_ok += 1;
        }
        // Chrome of every template, in every language, must be gone.
        for chrome in [
            "Leave a Reply",
            "Laisser un commentaire",
            "اترك تعليقاً",
            "发表评论",
            "コメントを残す",
            "Related Articles",
            "مقالات ذات صلة",
            "相关文章",
            "関連記事",
            "min read",
            "مدة القراءة",
            "Temps de lecture",
            "All rights reserved",
            "جميع الحقوق محفوظة",
            "版权所有",
            "Read more:",
            "Lire aussi",
            "اقرأ أيضا",
            "阅读更多",
            "あわせて読みたい",
        ] {
            assert!(
                !got.text.contains(chrome),
                "{name}: {chrome:?} left in text"
            );
        }
    }
    let (p, r, f1) = aggregate(&scores);
    assert!(
        f1 >= 0.98 && p >= 0.97 && r >= 0.97,
        "P {p:.4} R {r:.4} F1 {f1:.4}"
    );
    assert!(
        metadata_ok * 10 >= expected.len() * 9,
        "metadata right on {metadata_ok} pages"
    );
}

/// Runs where the shared evaluation data sits beside the repository (developers' machines
/// and CI); elsewhere it says so and checks nothing.
#[test]
fn aeb_pages_meet_the_accuracy_target() {
    let dir = repo().join("../shared/eval/aeb");
    let Ok(truth) = std::fs::read(dir.join("ground-truth.json")) else {
        eprintln!("skipped: {} not found", dir.display());
        return;
    };
    let truth: BTreeMap<String, Value> = serde_json::from_slice(&truth).unwrap();
    let scorer = Scorer::new();
    let mut scores = Vec::new();
    for (id, v) in &truth {
        let gz = std::fs::read(dir.join("html").join(format!("{id}.html.gz"))).unwrap();
        let mut html = String::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_string(&mut html)
            .unwrap();
        let text = newsriver_stripper::extract(&html, v["url"].as_str())
            .map(|e| e.text)
            .unwrap_or_default();
        scores.push(scorer.score(v["articleBody"].as_str().unwrap(), &text));
    }
    let (p, r, f1) = aggregate(&scores);
    assert!(
        f1 >= 0.965 && p >= 0.95 && r >= 0.95,
        "P {p:.4} R {r:.4} F1 {f1:.4}"
    );
}
