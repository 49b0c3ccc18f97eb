//! Robustness and memory of the stripper on hostile input: a 20 MB page, 100k-deep nesting,
//! binary garbage, malformed markup. Each case runs in its own process so its peak RSS
//! (VmHWM) is its own.
//!
//!     cargo run --release -p newsriver-bench --bin stress

use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};

const CASES: &[&str] = &[
    "baseline",
    "page-20mb",
    "nesting-100k",
    "unclosed-100k",
    "binary",
    "malformed",
    "no-article",
];

fn peak_rss_kib() -> Option<u64> {
    newsriver_bench::process::status_kib("self", "VmHWM")
}

fn paragraph(i: usize) -> String {
    format!(
        "<p>Paragraph {i} of a very long article: the committee met on Tuesday, heard three witnesses, \
         and adjourned without a vote, officials said, adding that a decision was expected next week.</p>\n"
    )
}

fn input(case: &str) -> Vec<u8> {
    match case {
        "baseline" => b"<html><body><p>tiny</p></body></html>".to_vec(),
        "page-20mb" => {
            let mut s = String::from(
                "<html><head><title>Big</title></head><body><nav><a href=/>Home</a></nav><article>",
            );
            let mut i = 0;
            while s.len() < 20 * 1024 * 1024 {
                s.push_str(&paragraph(i));
                i += 1;
            }
            s.push_str("</article></body></html>");
            s.into_bytes()
        }
        "nesting-100k" => format!(
            "{}{}{}",
            "<div>".repeat(100_000),
            paragraph(0),
            "</div>".repeat(100_000)
        )
        .into_bytes(),
        "unclosed-100k" => {
            format!("{}{}", "<div><span><b>".repeat(33_334), paragraph(0)).into_bytes()
        }
        "binary" => (0..1_000_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect(),
        "malformed" => {
            let mut s = String::from(
                "<html><body><p>Unclosed <b>bold <i>italic</p></b> text <table><tr><td>cell<p>",
            );
            for i in 0..2000 {
                s.push_str(&format!("<p class='x{i}'>Malformed paragraph {i}, still readable by people <a href='#'>link"));
            }
            s.push_str("</td></tr></div></span><<<>>>&&&;;</body>");
            s.into_bytes()
        }
        "no-article" => {
            let mut s = String::from("<html><body><nav>");
            for i in 0..500 {
                s.push_str(&format!("<a href='/{i}'>Section {i}</a> "));
            }
            s.push_str("</nav></body></html>");
            s.into_bytes()
        }
        _ => Vec::new(),
    }
}

fn run_case(case: &str) -> Result<()> {
    let bytes = input(case);
    let html = String::from_utf8_lossy(&bytes).into_owned();
    drop(bytes);
    let options = newsriver_stripper::Options {
        max_html_bytes: 64 * 1024 * 1024,
        ..Default::default()
    };
    let t = Instant::now();
    let result = newsriver_stripper::extract_with(&html, Some("https://example.test/a"), &options);
    let ms = t.elapsed().as_secs_f64() * 1e3;
    let outcome = match &result {
        Ok(e) => format!("ok, {} chars of text", e.text.chars().count()),
        Err(e) => format!("error: {e}"),
    };
    println!(
        "{case:<14} input {:>9.2} MB  {ms:>9.1} ms  peak RSS {:>7.1} MB  {outcome}",
        html.len() as f64 / 1e6,
        peak_rss_kib().unwrap_or(0) as f64 / 1024.0
    );
    Ok(())
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if let Some(case) = args.get(1) {
        if !CASES.contains(&case.as_str()) {
            bail!("unknown case {case}; cases: {}", CASES.join(", "));
        }
        return run_case(case);
    }
    let me = std::env::current_exe().context("locating own binary")?;
    for case in CASES {
        let status = Command::new(&me).arg(case).status()?;
        if !status.success() {
            println!("{case:<14} FAILED: {status}");
        }
    }
    Ok(())
}
