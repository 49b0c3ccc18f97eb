//! Shared pieces of the bench binaries: the extraction-benchmark scorer.

pub mod process;
pub mod reports;
pub mod sets;

use std::collections::HashMap;

use regex::Regex;

/// Per-document shingle counts, scored as the article-extraction-benchmark does.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct DocScore {
    pub tp: f64,
    pub fp: f64,
    pub fn_: f64,
}

impl DocScore {
    pub fn precision(&self) -> f64 {
        ratio(self.tp, self.tp + self.fp)
    }

    pub fn recall(&self) -> f64 {
        ratio(self.tp, self.tp + self.fn_)
    }

    pub fn f1(&self) -> f64 {
        harmonic(self.precision(), self.recall())
    }
}

fn ratio(a: f64, b: f64) -> f64 {
    if b == 0.0 {
        0.0
    } else {
        a / b
    }
}

pub fn harmonic(p: f64, r: f64) -> f64 {
    if p + r == 0.0 {
        0.0
    } else {
        2.0 * p * r / (p + r)
    }
}

/// Tokens are `\w+` (Unicode); shingles are 4 consecutive tokens.
pub struct Scorer {
    word: Regex,
}

const SHINGLE: usize = 4;

impl Default for Scorer {
    fn default() -> Self {
        Self::new()
    }
}

impl Scorer {
    pub fn new() -> Scorer {
        Scorer {
            word: Regex::new(r"\w+").expect("valid"),
        }
    }

    fn shingles<'a>(&self, text: &'a str) -> HashMap<Vec<&'a str>, usize> {
        let tokens: Vec<&str> = self.word.find_iter(text).map(|m| m.as_str()).collect();
        let mut out = HashMap::new();
        if tokens.is_empty() {
            return out;
        }
        if tokens.len() < SHINGLE {
            *out.entry(tokens).or_default() += 1;
            return out;
        }
        for w in tokens.windows(SHINGLE) {
            *out.entry(w.to_vec()).or_default() += 1;
        }
        out
    }

    /// TP/FP/FN of one document, normalized by their sum so every document weighs the same.
    pub fn score(&self, expected: &str, predicted: &str) -> DocScore {
        let e = self.shingles(expected);
        let p = self.shingles(predicted);
        let mut tp = 0usize;
        for (k, pc) in &p {
            tp += (*pc).min(e.get(k).copied().unwrap_or(0));
        }
        let total_p: usize = p.values().sum();
        let total_e: usize = e.values().sum();
        let (tp, fp, fn_) = (tp as f64, (total_p - tp) as f64, (total_e - tp) as f64);
        let sum = tp + fp + fn_;
        if sum == 0.0 {
            return DocScore::default();
        }
        DocScore {
            tp: tp / sum,
            fp: fp / sum,
            fn_: fn_ / sum,
        }
    }
}

/// Mean precision and recall over documents, and F1 of those means.
pub fn aggregate(scores: &[DocScore]) -> (f64, f64, f64) {
    let n = scores.len().max(1) as f64;
    let p = scores.iter().map(DocScore::precision).sum::<f64>() / n;
    let r = scores.iter().map(DocScore::recall).sum::<f64>() / n;
    (p, r, harmonic(p, r))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perfect_partial_and_empty() {
        let s = Scorer::new();
        let text = "one two three four five six seven";
        assert_eq!(s.score(text, text).f1(), 1.0);
        let half = s.score(text, "one two three four five");
        assert_eq!(half.precision(), 1.0);
        assert!((half.recall() - 0.5).abs() < 1e-9);
        assert_eq!(s.score(text, "").f1(), 0.0);
        let (p, r, f) = aggregate(&[s.score(text, text), half]);
        assert!((p - 1.0).abs() < 1e-9 && (r - 0.75).abs() < 1e-9);
        assert!((f - harmonic(1.0, 0.75)).abs() < 1e-9);
    }
}
