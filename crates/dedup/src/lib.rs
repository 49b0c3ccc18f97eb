//! newsriver's dedup stage: decides whether an article was already seen (same canonical
//! URL, same normalized text, or nearly the same text) and which story it belongs to.
//!
//! The [`Deduper`] is an in-memory index; the state store persists its entries and
//! reloads them on start, so decisions survive restarts.

mod canonical;
mod minhash;
mod normalize;
mod stories;

use std::collections::HashMap;

use newsriver_model::DuplicateReason;
use xxhash_rust::xxh3::Xxh3;

pub use canonical::{canonicalize_url, UrlError};
pub use minhash::{Shingler, Signature, BANDS, BINS, SHINGLE_WORDS};
pub use normalize::{for_each_token, normalize_text, normalized_words, Token};
pub use stories::{Assignment, StoryConfig, StoryIndex};

/// What deduplication remembers about one article.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    pub canonical_url: String,
    /// xxh3-128 of the normalized text, hex; empty text has no hash.
    pub content_hash: Option<String>,
    pub signature: Option<Signature>,
}

impl Fingerprint {
    pub fn new(canonical_url: &str, text: &str) -> Fingerprint {
        // One pass over the text feeds both the exact hash (words joined by single
        // spaces, paragraph breaks ignored) and the shingles.
        let mut exact = Xxh3::new();
        let mut words = 0usize;
        let mut shingler = Shingler::default();
        let mut shingles = Vec::with_capacity(text.len() / 5);
        for_each_token(text, |token| match token {
            Token::Word(w) => {
                if words > 0 {
                    exact.update(b" ");
                }
                exact.update(w.as_bytes());
                words += 1;
                shingler.word(w, &mut shingles);
            }
            Token::ParagraphEnd => shingler.paragraph_end(&mut shingles),
        });
        Fingerprint {
            canonical_url: canonical_url.to_string(),
            content_hash: (words > 0).then(|| format!("{:032x}", exact.digest128())),
            signature: Signature::from_shingle_hashes(shingles),
        }
    }
}

/// An earlier article that a new one duplicates.
#[derive(Debug, Clone, PartialEq)]
pub struct Match {
    pub id: String,
    pub story_id: String,
    pub reason: DuplicateReason,
    /// Estimated Jaccard similarity (1.0 for URL and exact-text matches).
    pub similarity: f64,
}

#[derive(Debug, Clone)]
pub struct DedupConfig {
    /// Estimated Jaccard similarity of word shingles at or above which two texts are
    /// near-duplicates.
    pub near_threshold: f64,
}

impl Default for DedupConfig {
    fn default() -> Self {
        Self {
            near_threshold: 0.8,
        }
    }
}

/// Articles sharing an LSH band key: nearly always one, so no allocation for that case.
enum Slots {
    One(usize),
    // A boxed slice is two words, a Vec three: the map's values stay small.
    Many(Box<[usize]>),
}

impl Slots {
    fn as_slice(&self) -> &[usize] {
        match self {
            Slots::One(i) => std::slice::from_ref(i),
            Slots::Many(v) => v,
        }
    }

    fn push(&mut self, idx: usize) {
        match self {
            Slots::One(i) => *self = Slots::Many(Box::new([*i, idx])),
            Slots::Many(v) => {
                let mut grown = std::mem::take(v).into_vec();
                grown.push(idx);
                *v = grown.into_boxed_slice();
            }
        }
    }

    /// Keeps indices at or after `first`; false when none is left.
    fn retain_from(&mut self, first: usize) -> bool {
        match self {
            Slots::One(i) => *i >= first,
            Slots::Many(v) => {
                let kept: Vec<usize> = v.iter().copied().filter(|i| *i >= first).collect();
                *v = kept.into_boxed_slice();
                !v.is_empty()
            }
        }
    }
}

fn key(s: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(s.as_bytes())
}

struct Entry {
    id: String,
    story_id: String,
    signature: Option<Signature>,
    /// Unix seconds when remembered: entries are kept in this order.
    at: i64,
}

/// In-memory duplicate index over the articles of the retention window.
///
/// Entries are appended in time order and addressed by a running number; expiry drops
/// a prefix, so memory follows the window, not the history.
pub struct Deduper {
    config: DedupConfig,
    entries: std::collections::VecDeque<Entry>,
    /// Running number of `entries[0]`.
    first: usize,
    /// Keyed by a 64-bit hash of the canonical URL / content hash: a few bytes per
    /// article instead of the strings (a false match needs a 64-bit collision).
    by_url: HashMap<u64, usize>,
    by_hash: HashMap<u64, usize>,
    by_band: HashMap<u64, Slots>,
}

impl Deduper {
    pub fn new(config: DedupConfig) -> Self {
        Self {
            config,
            entries: std::collections::VecDeque::new(),
            first: 0,
            by_url: HashMap::new(),
            by_hash: HashMap::new(),
            by_band: HashMap::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The earlier article `fp` duplicates, if any: URL first, then exact text, then the
    /// most similar near-duplicate at or above the threshold.
    pub fn find(&self, fp: &Fingerprint) -> Option<Match> {
        let exact = |idx: usize, reason| {
            let e = &self.entries[idx - self.first];
            Match {
                id: e.id.clone(),
                story_id: e.story_id.clone(),
                reason,
                similarity: 1.0,
            }
        };
        if let Some(&idx) = self.by_url.get(&key(&fp.canonical_url)) {
            return Some(exact(idx, DuplicateReason::Url));
        }
        if let Some(&idx) = fp
            .content_hash
            .as_ref()
            .and_then(|h| self.by_hash.get(&key(h)))
        {
            return Some(exact(idx, DuplicateReason::Text));
        }
        let sig = fp.signature.as_ref()?;
        let mut best: Option<(usize, f64)> = None;
        for band in sig.band_keys() {
            for &idx in self
                .by_band
                .get(&band)
                .map(Slots::as_slice)
                .unwrap_or_default()
            {
                if best.map(|(b, _)| b == idx).unwrap_or(false) {
                    continue;
                }
                let Some(other) = &self.entries[idx - self.first].signature else {
                    continue;
                };
                let sim = sig.similarity(other);
                if sim >= self.config.near_threshold && best.map(|(_, s)| sim > s).unwrap_or(true) {
                    best = Some((idx, sim));
                }
            }
        }
        best.map(|(idx, similarity)| {
            let e = &self.entries[idx - self.first];
            Match {
                id: e.id.clone(),
                story_id: e.story_id.clone(),
                reason: DuplicateReason::NearText,
                similarity,
            }
        })
    }

    /// Remembers an article so later copies are recognized.
    pub fn insert(&mut self, id: &str, story_id: &str, fp: &Fingerprint) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        self.insert_at(id, story_id, fp, now);
    }

    /// Remembers an article as of `at` (unix seconds; not earlier than the last insert).
    pub fn insert_at(&mut self, id: &str, story_id: &str, fp: &Fingerprint, at: i64) {
        let idx = self.first + self.entries.len();
        self.by_url.entry(key(&fp.canonical_url)).or_insert(idx);
        if let Some(h) = &fp.content_hash {
            self.by_hash.entry(key(h)).or_insert(idx);
        }
        if let Some(sig) = &fp.signature {
            for band in sig.band_keys() {
                self.by_band
                    .entry(band)
                    .and_modify(|s| s.push(idx))
                    .or_insert(Slots::One(idx));
            }
        }
        self.entries.push_back(Entry {
            id: id.to_string(),
            story_id: story_id.to_string(),
            signature: fp.signature.clone(),
            at,
        });
    }

    /// Forgets articles remembered before `cutoff` (unix seconds); returns how many.
    pub fn expire_before(&mut self, cutoff: i64) -> usize {
        let mut dropped = 0;
        while self.entries.front().is_some_and(|e| e.at < cutoff) {
            self.entries.pop_front();
            dropped += 1;
        }
        if dropped == 0 {
            return 0;
        }
        self.first += dropped;
        let first = self.first;
        self.by_url.retain(|_, idx| *idx >= first);
        self.by_hash.retain(|_, idx| *idx >= first);
        self.by_band.retain(|_, slots| slots.retain_from(first));
        dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "The United States and Iraq said in a joint statement on Friday that the \
        military mission of the US-led coalition in Iraq will end by September 2025, with a \
        transition to bilateral security partnerships. The United States has about 2,500 troops \
        in Iraq and 900 in neighbouring Syria as part of the coalition formed in 2014 to fight \
        Islamic State as it rampaged through both countries.";

    #[test]
    fn url_text_and_near_duplicates() {
        let mut d = Deduper::new(DedupConfig::default());
        let a = Fingerprint::new("https://a.test/1", TEXT);
        assert!(d.find(&a).is_none());
        d.insert("a", "a", &a);

        let same_url = Fingerprint::new("https://a.test/1", "other text entirely");
        assert_eq!(d.find(&same_url).unwrap().reason, DuplicateReason::Url);

        let same_text = Fingerprint::new("https://b.test/9", &TEXT.to_uppercase());
        assert_eq!(d.find(&same_text).unwrap().reason, DuplicateReason::Text);

        let edited = TEXT.replace("Friday", "Thursday");
        let near = Fingerprint::new("https://c.test/2", &edited);
        let m = d.find(&near).unwrap();
        assert_eq!(m.reason, DuplicateReason::NearText);
        assert_eq!(m.id, "a");

        // Expiry forgets what is older than the window, and only that.
        let mut window = Deduper::new(DedupConfig::default());
        window.insert_at(
            "old",
            "old",
            &Fingerprint::new("https://a.test/old", TEXT),
            100,
        );
        window.insert_at(
            "new",
            "new",
            &Fingerprint::new("https://a.test/new", "fresh words for a fresh story here"),
            200,
        );
        assert_eq!(window.expire_before(150), 1);
        assert_eq!(window.len(), 1);
        assert!(window
            .find(&Fingerprint::new("https://a.test/old", TEXT))
            .is_none());
        assert_eq!(
            window
                .find(&Fingerprint::new("https://a.test/new", "x"))
                .unwrap()
                .id,
            "new"
        );

        let different = Fingerprint::new(
            "https://d.test/3",
            "Farmers in the valley moved their animals to higher ground after heavy rain on \
             Tuesday raised the river by two metres, officials said, and schools closed.",
        );
        assert!(d.find(&different).is_none());
    }
}
