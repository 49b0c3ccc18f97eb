//! Story grouping: different articles about the same event get one story id.
//!
//! Online and single-pass: each article becomes a TF-IDF vector over its title (counted
//! twice), its lead (first words of the text) and the numbers it mentions, with document
//! frequencies learned from the stream itself (so no language's stop-word list is needed:
//! words every article uses weigh nothing). It joins the most similar recent story when
//! the cosine similarity to the story's centroid reaches the threshold, else starts one.

use rustc_hash::FxHashMap as HashMap;

use crate::normalize::{for_each_token, Token};
use crate::CompactId;

/// Words of the text, after the title, that describe the event.
const LEAD_WORDS: usize = 120;
/// Pseudo-documents in the IDF: until a few hundred articles were seen, document
/// frequencies say little, and without the prior the first articles' shared words
/// (the ones that make them the same story) would weigh nothing.
const IDF_PRIOR_DOCS: f32 = 100.0;
/// Terms kept per article vector and per story centroid.
const TOP_TERMS: usize = 40;
/// Stories examined per term of a new article, the most recently active first. A term
/// that many active stories share (templated news: weather, markets, results written
/// from a few hundred words) has a low IDF and cannot tell them apart; walking all its
/// stories made each article cost time in proportion to the window, and a burst the
/// square. A story still active is reached through its rarer terms.
const POSTINGS_PER_TERM: usize = 16;

#[derive(Debug, Clone)]
pub struct StoryConfig {
    /// Cosine similarity at which an article joins a story.
    pub threshold: f32,
    /// Stories idle longer than this (seconds) take no new articles.
    pub window_secs: i64,
}

impl Default for StoryConfig {
    fn default() -> Self {
        Self {
            threshold: 0.3,
            window_secs: 3 * 24 * 3600,
        }
    }
}

/// Story-term keys in memory: the low 32 bits of the 64-bit term hash (the stored
/// vectors keep all 64). Two terms sharing a key add their weights; among even a million
/// distinct terms in a window a given term shares its key with another with probability
/// about 1 in 4,000, a small error in one weight of a 40-term vector. Half the bytes of
/// every centroid term, postings key and document frequency.
type Term = u32;

fn short(k: u64) -> Term {
    k as u32
}

struct Story {
    id: CompactId,
    /// The top terms, sorted by term: 8 bytes a term, where a hash map of 40 terms held
    /// 1,100 bytes (64 buckets of 16 bytes and their control bytes).
    centroid: Box<[(Term, f32)]>,
    members: u32,
    /// Time span of the story's articles on the story axis (unix seconds).
    first_at: i64,
    last_at: i64,
    /// Wall clock (unix seconds) when it last took an article: expiry frees stories no
    /// article of the retention window belongs to, as a restart would.
    touched_at: i64,
}

impl Story {
    fn weight(&self, k: Term) -> Option<f32> {
        self.centroid
            .binary_search_by_key(&k, |(t, _)| *t)
            .ok()
            .map(|i| self.centroid[i].1)
    }

    fn is_free(&self) -> bool {
        self.members == 0
    }
}

/// Where [`StoryIndex::assign`] put an article.
#[derive(Debug, Clone, PartialEq)]
pub struct Assignment {
    pub story_id: String,
    /// The article's normalized TF-IDF terms (hashed), sorted by term.
    pub terms: Vec<(u64, f32)>,
}

impl Assignment {
    /// 12 bytes a term, for the state store.
    pub fn terms_to_bytes(terms: &[(u64, f32)]) -> Vec<u8> {
        terms
            .iter()
            .flat_map(|(k, w)| k.to_le_bytes().into_iter().chain(w.to_le_bytes()))
            .collect()
    }

    pub fn terms_from_bytes(bytes: &[u8]) -> Vec<(u64, f32)> {
        bytes
            .chunks_exact(12)
            .map(|c| {
                let mut k = [0u8; 8];
                k.copy_from_slice(&c[..8]);
                let mut w = [0u8; 4];
                w.copy_from_slice(&c[8..]);
                (u64::from_le_bytes(k), f32::from_le_bytes(w))
            })
            .collect()
    }
}

/// The online clustering state.
pub struct StoryIndex {
    config: StoryConfig,
    docs: u32,
    df: HashMap<Term, u32>,
    /// Slots; an expired story's slot is free (no members, no centroid) until reused.
    stories: Vec<Story>,
    free: Vec<u32>,
    /// Story slots by id, for [`StoryIndex::restore`] only: restores come first (the
    /// daemon's start), and the first [`StoryIndex::assign`] drops the map, which would
    /// otherwise hold every story's id a second time.
    by_id: HashMap<CompactId, u32>,
    /// Per term, the stories whose centroid held it, in the order they were last active
    /// (a story is appended again when it takes an article, so older entries of it are
    /// stale and skipped); cut to the most recent entries when it grows. An entry whose
    /// slot was freed, or reused by a story without the term, adds nothing: scores come
    /// from the centroid.
    by_term: HashMap<Term, Postings>,
}

/// Up to three stories inline (the 24 bytes a `Vec` header takes anyway).
type Postings = smallvec::SmallVec<[u32; 3]>;

fn term_key(word: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(word.as_bytes())
}

/// Term counts of an article: title twice, lead once, numbers once more.
fn term_counts(title: &str, text: &str) -> HashMap<u64, f32> {
    let mut counts: HashMap<u64, f32> = HashMap::default();
    let mut add = |w: &str, weight: f32| {
        // Single letters and one-digit numbers carry no event.
        if w.chars().count() < 2 {
            return;
        }
        let boost = if w.chars().any(|c| c.is_ascii_digit()) {
            1.0
        } else {
            0.0
        };
        *counts.entry(term_key(w)).or_default() += weight + boost;
    };
    for_each_token(title, |t| {
        if let Token::Word(w) = t {
            add(w, 2.0);
        }
    });
    let mut n = 0;
    for_each_token(text, |t| {
        if let Token::Word(w) = t {
            if n < LEAD_WORDS {
                add(w, 1.0);
            }
            n += 1;
        }
    });
    counts
}

/// The `TOP_TERMS` heaviest terms, normalized to unit length, sorted by term.
fn top_normalized<K: Copy + Ord>(mut v: Vec<(K, f32)>) -> Vec<(K, f32)> {
    // Ties broken by term, so the result does not depend on hash-map order.
    v.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    v.truncate(TOP_TERMS);
    let norm = v.iter().map(|(_, w)| w * w).sum::<f32>().sqrt();
    if norm == 0.0 {
        return Vec::new();
    }
    let mut v: Vec<(K, f32)> = v.into_iter().map(|(k, w)| (k, w / norm)).collect();
    v.sort_by_key(|(k, _)| *k);
    v
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl StoryIndex {
    pub fn new(config: StoryConfig) -> Self {
        Self {
            config,
            docs: 0,
            df: HashMap::default(),
            stories: Vec::new(),
            free: Vec::new(),
            by_id: HashMap::default(),
            by_term: HashMap::default(),
        }
    }

    /// The story of a new article at `at` (unix seconds): an existing story's id, or
    /// `article_id` when it starts a new one; with the article's term vector, which
    /// [`StoryIndex::restore`] takes back after a restart.
    pub fn assign(&mut self, article_id: &str, title: &str, text: &str, at: i64) -> Assignment {
        if !self.by_id.is_empty() {
            self.by_id = HashMap::default();
        }
        let counts = term_counts(title, text);
        self.docs += 1;
        for k in counts.keys() {
            *self.df.entry(short(*k)).or_default() += 1;
        }
        let n = self.docs as f32;
        let weighted: Vec<(u64, f32)> = counts
            .into_iter()
            .map(|(k, tf)| {
                let df = self.df.get(&short(k)).copied().unwrap_or(1) as f32;
                (
                    k,
                    (1.0 + tf.ln()) * ((n + IDF_PRIOR_DOCS) / (df + 1.0)).ln(),
                )
            })
            .collect();
        let vector = top_normalized(weighted);

        // Per story: the similarity so far, and the last term that counted (a story can
        // appear more than once in one term's list).
        let mut scores: rustc_hash::FxHashMap<usize, (f32, usize)> = Default::default();
        let window = self.config.window_secs;
        for (j, (k, w)) in vector.iter().enumerate() {
            let k = short(*k);
            let list = self
                .by_term
                .get(&k)
                .map(|l| l.as_slice())
                .unwrap_or_default();
            let mut examined = 0;
            for &s in list.iter().rev() {
                if examined == POSTINGS_PER_TERM {
                    break;
                }
                let s = s as usize;
                let entry = scores.entry(s).or_insert((0.0, usize::MAX));
                if entry.1 == j {
                    continue;
                }
                entry.1 = j;
                examined += 1;
                let story = &self.stories[s];
                if story.is_free() {
                    continue;
                }
                // Articles arrive out of order (backfills): the window extends both ways.
                if at < story.first_at - window || at > story.last_at + window {
                    continue;
                }
                if let Some(cw) = story.weight(k) {
                    entry.0 += w * cw;
                }
            }
        }
        let best = scores
            .into_iter()
            .map(|(s, (sim, _))| (s, sim))
            .filter(|(_, sim)| *sim >= self.config.threshold)
            .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)));
        let s = match best {
            Some((s, _)) => s,
            None => self.new_story(article_id, at),
        };
        self.merge(s, &vector, at, unix_now());
        Assignment {
            story_id: self.stories[s].id.to_text(),
            terms: vector,
        }
    }

    fn new_story(&mut self, id: &str, at: i64) -> usize {
        let story = Story {
            id: CompactId::new(id),
            centroid: Box::default(),
            members: 0,
            first_at: at,
            last_at: at,
            touched_at: 0,
        };
        match self.free.pop() {
            Some(s) => {
                self.stories[s as usize] = story;
                s as usize
            }
            None => {
                self.stories.push(story);
                self.stories.len() - 1
            }
        }
    }

    /// Puts back an article remembered from an earlier run (in the order they were
    /// assigned), so stories continue across restarts; `stored_at` is when it was stored
    /// (unix seconds), for expiry.
    pub fn restore(&mut self, story_id: &str, terms: &[(u64, f32)], at: i64, stored_at: i64) {
        self.docs += 1;
        for (k, _) in terms {
            *self.df.entry(short(*k)).or_default() += 1;
        }
        let s = match self.by_id.get(&CompactId::new(story_id)) {
            Some(&s) => s as usize,
            None => {
                let s = self.new_story(story_id, at);
                self.by_id.insert(
                    CompactId::new(story_id),
                    u32::try_from(s).unwrap_or(u32::MAX),
                );
                s
            }
        };
        self.merge(s, terms, at, stored_at);
    }

    /// Adds an article vector to a story's centroid (a running mean, re-normalized and
    /// cut to the top terms) and indexes the centroid's terms.
    fn merge(&mut self, s: usize, vector: &[(u64, f32)], at: i64, now: i64) {
        let story = &mut self.stories[s];
        let m = story.members as f32;
        let mut sum: HashMap<Term, f32> = story.centroid.iter().map(|(k, w)| (*k, w * m)).collect();
        for (k, w) in vector {
            *sum.entry(short(*k)).or_default() += w;
        }
        story.centroid = top_normalized(sum.into_iter().collect()).into_boxed_slice();
        story.members += 1;
        story.first_at = story.first_at.min(at);
        story.last_at = story.last_at.max(at);
        story.touched_at = story.touched_at.max(now);
        let id = u32::try_from(s).unwrap_or(u32::MAX);
        for (k, _) in story.centroid.iter() {
            let list = self.by_term.entry(*k).or_default();
            if list.last() != Some(&id) {
                list.push(id);
            }
            // Amortized: cut to the most recent entries once it holds twice as many.
            if list.len() > 2 * POSTINGS_PER_TERM {
                list.drain(..list.len() - POSTINGS_PER_TERM);
            }
        }
    }

    /// Stories held (expired ones freed).
    pub fn stories(&self) -> usize {
        self.stories.len() - self.free.len()
    }

    /// Frees the stories that took no article since `cutoff` (unix seconds, wall clock:
    /// the retention window, as for the duplicate index) and the postings only they held,
    /// and forgets the document frequencies of `expired`, the term vectors of the articles
    /// leaving the window. A restart restores stories and frequencies from the articles
    /// of the window alone; this keeps a long-running daemon to the same. Returns how
    /// many stories were freed.
    pub fn expire_before<'a>(
        &mut self,
        cutoff: i64,
        expired: impl IntoIterator<Item = &'a [(u64, f32)]>,
    ) -> usize {
        for terms in expired {
            self.docs = self.docs.saturating_sub(1);
            for (k, _) in terms {
                let k = short(*k);
                if let Some(df) = self.df.get_mut(&k) {
                    *df -= 1;
                    if *df == 0 {
                        self.df.remove(&k);
                    }
                }
            }
        }
        let mut freed = 0;
        for (s, story) in self.stories.iter_mut().enumerate() {
            if story.is_free() || story.touched_at >= cutoff {
                continue;
            }
            story.centroid = Box::default();
            story.members = 0;
            self.free.push(u32::try_from(s).unwrap_or(u32::MAX));
            freed += 1;
        }
        if freed > 0 {
            let stories = &self.stories;
            self.by_term.retain(|k, list| {
                list.retain(|s| {
                    stories
                        .get(*s as usize)
                        .is_some_and(|st| st.weight(*k).is_some())
                });
                list.shrink_to_fit();
                !list.is_empty()
            });
            self.df.shrink_to_fit();
            self.by_term.shrink_to_fit();
        }
        freed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_event_joins_different_event_does_not() {
        let mut idx = StoryIndex::new(StoryConfig::default());
        let filler = [
            ("Local council approves budget", "The council approved the city budget on Monday after a long debate about schools and roads."),
            ("Football club signs striker", "The club signed a striker from Spain for a fee of twelve million euros, the manager said."),
            ("Storm closes schools", "Heavy snow closed schools across the region on Tuesday as forecasters warned of more."),
        ];
        for (i, (t, x)) in filler.iter().enumerate() {
            idx.assign(&format!("f{i}"), t, x, 0);
        }
        let a = idx.assign(
            "a",
            "US and Iraq say coalition mission will end by September 2025",
            "The United States and Iraq said the military mission of the US-led coalition in Iraq will end by September 2025.",
            10,
        );
        let b = idx.assign(
            "b",
            "Coalition mission in Iraq to end by September 2025, US and Iraq say",
            "The US-led coalition mission in Iraq will end by September 2025, with a transition to bilateral security ties.",
            20,
        );
        let c = idx.assign(
            "c",
            "Storm closes schools again",
            "More snow closed schools in the north on Friday.",
            30,
        );
        assert_eq!(a.story_id, "a");
        assert_eq!(b.story_id, "a", "same event should join");
        assert_ne!(c.story_id, "a");
    }

    #[test]
    fn expired_stories_are_freed_and_their_slots_reused() {
        let mut idx = StoryIndex::new(StoryConfig::default());
        let a = idx.assign(
            "a",
            "Coalition mission in Iraq to end by September 2025",
            "The US-led coalition mission in Iraq will end by September 2025.",
            10,
        );
        idx.restore(
            "old",
            &[(term_key("harvest"), 0.8), (term_key("valley"), 0.6)],
            5,
            100,
        );
        assert_eq!(idx.stories(), 2);
        // Only the story nothing joined since 1,000 is freed ("a" was touched now).
        assert_eq!(idx.expire_before(1_000, [a.terms.as_slice()]), 1);
        assert_eq!(idx.stories(), 1);
        assert!(idx.by_term.contains_key(&short(term_key("iraq"))));
        assert!(!idx.by_term.contains_key(&short(term_key("harvest"))));
        // The expired article's document frequencies are gone with it.
        assert!(a
            .terms
            .iter()
            .all(|(k, _)| !idx.df.contains_key(&short(*k))));
        assert!(idx.df.contains_key(&short(term_key("harvest"))));
        assert_eq!(idx.docs, 1);
        // A new story takes the free slot; the freed one no longer attracts its terms.
        let c = idx.assign(
            "c",
            "Harvest in the valley",
            "Harvest starts in the valley.",
            20,
        );
        assert_eq!(c.story_id, "c");
        assert_eq!(idx.stories.len(), 2);
        // The first story still takes its own event.
        let b = idx.assign(
            "b",
            "US and Iraq say coalition mission will end by September 2025",
            "The United States and Iraq said the mission of the coalition in Iraq will end by September 2025.",
            30,
        );
        assert_eq!(b.story_id, "a");
    }
}
