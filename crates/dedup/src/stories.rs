//! Story grouping: different articles about the same event get one story id.
//!
//! Online and single-pass: each article becomes a TF-IDF vector over its title (counted
//! twice), its lead (first words of the text) and the numbers it
//! mentions, with document frequencies learned from the stream itself (so no language's
//! stop-word list is needed: words every article uses weigh nothing). The recent stories
//! that share its terms and whose centroid (up to 40 terms) has a cosine similarity with
//! it of at least the scorer's floor are scored ([`StoryScorer`]: a linear score over
//! similarity features, shipped as JSON); it joins the best one scoring 0 or more, else
//! starts one. The shipped scorer is the cosine one: numbers are event evidence both
//! ways, shared ones weigh as terms, and an article whose numbers (years aside) are none
//! of a story's keeps only part of its similarity to it.

use rustc_hash::FxHashMap as HashMap;

use crate::normalize::{for_each_token, for_each_token_in_pieces, Token};
use crate::postings::TermPostings;
use crate::CompactId;

/// Words of the text, after the title, that describe the event.
const LEAD_WORDS: usize = 120;
/// Pseudo-documents in the IDF: until a few hundred articles were seen, document
/// frequencies say little, and without the prior the first articles' shared words
/// (the ones that make them the same story) would weigh nothing.
const IDF_PRIOR_DOCS: f32 = 100.0;
/// Terms kept per article vector.
const TOP_TERMS: usize = 40;
/// Terms kept per story centroid.
const CENTROID_TERMS: usize = 40;
/// Stories examined per term of a new article, the most recently active first. A term
/// that many active stories share (templated news: weather, markets, results written
/// from a few hundred words) has a low IDF and cannot tell them apart; walking all its
/// stories made each article cost time in proportion to the window, and a burst the
/// square. A story still active is reached through its rarer terms.
const POSTINGS_PER_TERM: usize = 16;
/// What a story's similarity loses in the cosine scorer when the article and the story
/// both name numbers (other than years) and share none of them (0.4 of it: it keeps
/// 0.6): two reports of one event agree on its counts (dead, injured, scores, sums),
/// while two events of one kind (two earthquakes, two trials, two fights) written in the
/// same words do not. Years are left out: background ("the 2017 draft") differs between
/// reports of one event.
const CONFLICTING_NUMBERS: f32 = 0.4;

#[derive(Debug, Clone)]
pub struct StoryConfig {
    /// How an article and a story are compared: the shipped learned scorer by default.
    pub scorer: StoryScorer,
    /// Stories idle longer than this (seconds) take no new articles.
    pub window_secs: i64,
}

impl Default for StoryConfig {
    fn default() -> Self {
        Self {
            scorer: StoryScorer::shipped(),
            window_secs: 3 * 24 * 3600,
        }
    }
}

/// What the scorer reads of an article and a candidate story, in [`FEATURES`]' order.
pub type Features = [f32; FEATURE_COUNT];

pub const FEATURE_COUNT: usize = 4;

/// The scorer's features, by name (the names of the scorer's JSON):
/// - `cosine`: of the article's vector and the story's centroid;
/// - `cosine_conflicting_numbers`: the cosine again when both name numbers (years
///   aside) and share none, else 0 (see [`CONFLICTING_NUMBERS`]);
/// - `shared_number`: 1 when they share a number that is not a year;
/// - `entities_unmatched`: the share of the article's entity-like terms (words written
///   with a capital inside a sentence of the lead: names of people, places,
///   organisations, also weekdays and months), by squared weight, that the story's
///   centroid does not hold; 0 without entity-like terms.
pub const FEATURES: [&str; FEATURE_COUNT] = [
    "cosine",
    "cosine_conflicting_numbers",
    "shared_number",
    "entities_unmatched",
];

/// A linear score over [`Features`]: an article joins the best-scoring story whose score
/// is at least 0 (the bias holds the decision threshold), among those whose cosine
/// reaches `floor`; a logistic regression's logit when learned.
#[derive(Debug, Clone, PartialEq)]
pub struct StoryScorer {
    /// Cosine a story needs to be scored at all: stories below it are never read (the
    /// cost bound) and never joined.
    pub floor: f32,
    pub bias: f32,
    pub weights: Features,
}

/// The shipped scorer (see README, "Stories"): fitted by the stories bench
/// (`--fit-scorer`) on the ECB+ development set.
const SHIPPED_SCORER: &str = include_str!("story_scorer.json");

#[derive(serde::Serialize, serde::Deserialize)]
struct ScorerFile {
    floor: f32,
    bias: f32,
    weights: std::collections::BTreeMap<String, f32>,
    /// How it was made (free text, ignored).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    note: Option<String>,
}

impl StoryScorer {
    /// Cosine similarity alone (with the conflicting-numbers penalty), joining at
    /// `threshold`: the scorer before the learned one.
    pub fn cosine(threshold: f32) -> Self {
        let mut weights = [0.0; FEATURE_COUNT];
        weights[0] = 1.0;
        weights[1] = -CONFLICTING_NUMBERS;
        Self {
            floor: threshold,
            bias: -threshold,
            weights,
        }
    }

    /// The scorer built into the binary.
    pub fn shipped() -> Self {
        Self::from_json(SHIPPED_SCORER).expect("the shipped story scorer parses")
    }

    /// A scorer from its JSON: `{"floor", "bias", "weights": {feature name: weight}}`,
    /// every feature of [`FEATURES`] named once.
    pub fn from_json(json: &str) -> Result<Self, String> {
        let file: ScorerFile = serde_json::from_str(json).map_err(|e| e.to_string())?;
        let mut weights = [0.0; FEATURE_COUNT];
        for (name, w) in &file.weights {
            let i = FEATURES
                .iter()
                .position(|f| f == name)
                .ok_or_else(|| format!("unknown feature {name:?}"))?;
            weights[i] = *w;
        }
        if let Some(missing) = FEATURES.iter().find(|f| !file.weights.contains_key(**f)) {
            return Err(format!("no weight for {missing:?}"));
        }
        Ok(Self {
            floor: file.floor,
            bias: file.bias,
            weights,
        })
    }

    pub fn to_json(&self, note: Option<String>) -> String {
        let file = ScorerFile {
            floor: self.floor,
            bias: self.bias,
            weights: FEATURES
                .iter()
                .zip(self.weights)
                .map(|(f, w)| (f.to_string(), w))
                .collect(),
            note,
        };
        serde_json::to_string_pretty(&file).unwrap_or_default() + "\n"
    }

    pub fn score(&self, features: &Features) -> f32 {
        self.weights
            .iter()
            .zip(features)
            .fold(self.bias, |acc, (w, f)| acc + w * f)
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

/// A story's top terms, sorted by term, in one allocation: the keys, then the weights as
/// 16-bit fractions two to a word. 6 bytes a term, where (key, f32) pairs took 8 and a
/// hash map of 40 terms 1,100 (64 buckets of 16 bytes and their control bytes):
/// centroids are most of the story state. The weights of a unit vector are at most 1,
/// and a 16-bit fraction is off by less than 8e-6, so a 40-term cosine by less than 4e-4.
#[derive(Clone, Default)]
struct Centroid {
    data: Box<[u32]>,
}

/// One in fixed point.
const WEIGHT_ONE: f32 = u16::MAX as f32;

impl Centroid {
    /// Terms held: `data` is n keys and ceil(n / 2) words of weights, and
    /// floor(2 len / 3) gives n back for every n.
    fn len(&self) -> usize {
        self.data.len() * 2 / 3
    }

    fn keys(&self) -> &[Term] {
        &self.data[..self.len()]
    }

    fn weight_at(&self, i: usize) -> f32 {
        let word = self.data[self.len() + i / 2];
        f32::from((word >> (16 * (i % 2))) as u16) / WEIGHT_ONE
    }

    fn weight(&self, k: Term) -> Option<f32> {
        self.keys()
            .binary_search(&k)
            .ok()
            .map(|i| self.weight_at(i))
    }

    fn iter(&self) -> impl Iterator<Item = (Term, f32)> + '_ {
        self.keys()
            .iter()
            .enumerate()
            .map(|(i, &k)| (k, self.weight_at(i)))
    }

    /// Holds `terms` (sorted by term, weights in [0, 1]), in the allocation it has when
    /// the size is the same.
    fn set(&mut self, terms: &[(Term, f32)]) {
        let n = terms.len();
        let size = n + n.div_ceil(2);
        if self.data.len() != size {
            self.data = vec![0; size].into_boxed_slice();
        }
        let (keys, weights) = self.data.split_at_mut(n);
        weights.fill(0);
        for (i, &(k, w)) in terms.iter().enumerate() {
            keys[i] = k;
            let q = (w.clamp(0.0, 1.0) * WEIGHT_ONE).round() as u32;
            weights[i / 2] |= q << (16 * (i % 2));
        }
    }
}

#[derive(Clone)]
struct Story {
    id: CompactId,
    centroid: Centroid,
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
        self.centroid.weight(k)
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
#[derive(Clone)]
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
    by_term: TermPostings<Term>,
    /// Buffers of one article, kept so that an article allocates only what it returns.
    buffers: Buffers,
}

#[derive(Default, Clone)]
struct Buffers {
    /// (term, count) of every word of title and lead, then summed per term.
    counts: Vec<(u64, f32)>,
    /// The article's weighted terms, before the top ones are returned.
    weighted: Vec<(u64, f32)>,
    /// Stories reached through the article's terms, and their places in `candidates`.
    candidates: Vec<Candidate>,
    places: HashMap<u32, u32>,
    /// (place in `candidates`, place in the article vector) per term a story shares.
    shared: Vec<(u32, u32)>,
    /// The article's terms by their in-memory keys, and a centroid summed with them.
    terms: Vec<(Term, f32)>,
    sum: Vec<(Term, f32)>,
    /// Full keys of the lead's entity-like words; the article vector's entity-like terms.
    entity_keys: Vec<u64>,
    entities: Vec<(Term, f32)>,
    /// The stories the scorer read.
    scored: Vec<Scored>,
}

/// A story the scorer read, for [`StoryIndex::assign_choosing`].
#[derive(Debug, Clone)]
pub struct Scored {
    slot: u32,
    pub features: Features,
    /// [`StoryScorer::score`] of the features: the story can be joined at 0 or more.
    pub score: f32,
}

#[derive(Clone)]
struct Candidate {
    story: u32,
    /// The last of the article's terms through which the story counted (a story can
    /// appear more than once in one term's list).
    last_term: u32,
    /// Sum of the squared article weights of the terms it shares.
    shared_square: f32,
    /// Whether its similarity is computed: not when it cannot reach the threshold.
    scored: bool,
    similarity: f32,
}

/// The low bit of a term key: set for a number that is not a year (see
/// [`CONFLICTING_NUMBERS`]), clear for every other term, so that a story's centroid and a
/// stored vector tell their numbers without the words.
const NUMBER_BIT: u64 = 1;

#[cfg(test)]
fn term_key(word: &str) -> u64 {
    term_key_of_hash(word, xxhash_rust::xxh3::xxh3_64(word.as_bytes()))
}

/// [`term_key`] from the word's xxh3 hash, which fingerprinting computed already.
fn term_key_of_hash(word: &str, hash: u64) -> u64 {
    let hash = hash & !NUMBER_BIT;
    // An ASCII digit byte is only ever an ASCII digit character in UTF-8.
    let number = word.bytes().any(|b| b.is_ascii_digit());
    let year = word.len() == 4
        && (word.starts_with("19") || word.starts_with("20"))
        && word.bytes().all(|b| b.is_ascii_digit());
    if number && !year {
        hash | NUMBER_BIT
    } else {
        hash
    }
}

/// The scorer's [`Features`] of the article (`vector`, its entity-like terms and their
/// squared weight) and a story it shares terms with at cosine `similarity`.
fn features(
    vector: &[(u64, f32)],
    entities: &[(Term, f32)],
    entity_square: f32,
    story: &Story,
    similarity: f32,
) -> Features {
    let keys = story.centroid.keys();
    let held = |k: Term| keys.binary_search(&k).ok();
    let mut article_numbers = false;
    let mut shared_number = false;
    for (k, _) in vector {
        let k = short(*k);
        if is_number(k) {
            article_numbers = true;
            if held(k).is_some() {
                shared_number = true;
                break;
            }
        }
    }
    let story_numbers = keys.iter().any(|t| is_number(*t));
    let conflict = article_numbers && story_numbers && !shared_number;
    let mut matched_square = 0.0;
    for &(k, w) in entities {
        if held(k).is_some() {
            matched_square += w * w;
        }
    }
    let entities_unmatched = if entity_square > 0.0 {
        (1.0 - matched_square / entity_square).max(0.0)
    } else {
        0.0
    };
    [
        similarity,
        if conflict { similarity } else { 0.0 },
        f32::from(u8::from(shared_number)),
        entities_unmatched,
    ]
}

fn is_number(k: Term) -> bool {
    u64::from(k) & NUMBER_BIT != 0
}

/// One word's count: the key, and its weight (numbers count once more); `None` for single
/// letters and one-digit numbers, which carry no event.
fn word_count(w: &str, hash: u64, weight: f32) -> Option<(u64, f32)> {
    w.chars().nth(1)?;
    // An ASCII digit byte is only ever an ASCII digit character in UTF-8.
    let number = w.bytes().any(|b| b.is_ascii_digit());
    let boost = if number { 1.0 } else { 0.0 };
    Some((term_key_of_hash(w, hash), weight + boost))
}

/// What story grouping reads of an article's text: the terms of its lead (the first
/// [`LEAD_WORDS`] words) and which of them look like names. Gathered word by word, so that
/// [`crate::Fingerprint::with_story_lead`] builds it in the pass that fingerprints the text
/// (tokenizing was a third of the dedup stage's time, and the lead was tokenized twice).
#[derive(Debug, Clone, PartialEq)]
pub struct StoryLead {
    /// (term key, count) of each word, in text order, not summed.
    counts: Vec<(u64, f32)>,
    /// Full keys of the entity-like words (see [`is_entity_like`]), in text order.
    entities: Vec<u64>,
    words: usize,
    /// Where the last piece with a word began and where its last letter or digit ended
    /// (offsets in the text): what lies between that and the next piece says whether a
    /// sentence starts there (in tokenized text the full stop is a piece of its own).
    last_piece: usize,
    last_end: Option<usize>,
}

impl StoryLead {
    /// The lead of `text`, tokenized on its own.
    pub fn of(text: &str) -> StoryLead {
        let mut lead = StoryLead::start();
        // Only the lead counts, so the text is tokenized a piece at a time until it is
        // read: a long article cost its whole length. Pieces end at ASCII whitespace,
        // where the tokenizer cuts anyway, so they give the words the whole text gives.
        let mut rest = text;
        while lead.wants_words() && !rest.is_empty() {
            // Room for the words still wanted at 8 bytes each (a word and its space take
            // about 7 in Latin text and 11 in Arabic); a short piece just means another.
            let want = 8 * (LEAD_WORDS - lead.words);
            let cut = if rest.len() <= want {
                rest.len()
            } else {
                rest.as_bytes()[want..]
                    .iter()
                    .position(u8::is_ascii_whitespace)
                    .map_or(rest.len(), |p| want + p)
            };
            let (part, after) = rest.split_at(cut);
            for_each_token_in_pieces(part, |t, piece| {
                if let Token::Word(w) = t {
                    let hash = xxhash_rust::xxh3::xxh3_64(w.as_bytes());
                    lead.word(text, w, hash, piece);
                }
            });
            rest = after;
        }
        lead
    }

    /// An empty lead, for [`StoryLead::word`] to fill.
    pub(crate) fn start() -> StoryLead {
        StoryLead {
            counts: Vec::with_capacity(LEAD_WORDS),
            entities: Vec::new(),
            words: 0,
            last_piece: usize::MAX,
            last_end: None,
        }
    }

    pub(crate) fn wants_words(&self) -> bool {
        self.words < LEAD_WORDS
    }

    /// The next word `w` of `text` (its xxh3 `hash`), from `piece`, the run of `text`
    /// between ASCII whitespace it came from; ignored once the lead is full.
    pub(crate) fn word(&mut self, text: &str, w: &str, hash: u64, piece: &str) {
        if !self.wants_words() {
            return;
        }
        let at = piece.as_ptr() as usize - text.as_ptr() as usize;
        let mut entity = false;
        if at != self.last_piece {
            let sentence_start = self
                .last_end
                .is_none_or(|end| text[end..at].contains(SENTENCE_ENDS));
            entity = !sentence_start && is_entity_like(piece);
            self.last_piece = at;
            self.last_end = Some(at + piece.trim_end_matches(|c: char| !c.is_alphanumeric()).len());
        }
        if let Some(count) = word_count(w, hash, 1.0) {
            self.counts.push(count);
            if entity {
                self.entities.push(count.0);
            }
        }
        self.words += 1;
    }
}

/// Term counts of an article: title twice, lead once, numbers once more; into `counts`,
/// sorted by the in-memory key (then the full one), one entry a term. The full keys of
/// the lead's entity-like words (see [`is_entity_like`]) go to `entities`, sorted.
fn term_counts(
    title: &str,
    lead: &StoryLead,
    counts: &mut Vec<(u64, f32)>,
    entities: &mut Vec<u64>,
) {
    counts.clear();
    entities.clear();
    for_each_token(title, |t| {
        if let Token::Word(w) = t {
            counts.extend(word_count(w, xxhash_rust::xxh3::xxh3_64(w.as_bytes()), 2.0));
        }
    });
    counts.extend_from_slice(&lead.counts);
    entities.extend_from_slice(&lead.entities);
    // Counts are sums of small whole numbers, exact in any order, so the unstable sort
    // gives what a map summed in text order gave.
    counts.sort_unstable_by_key(|(k, _)| (short(*k), *k));
    counts.dedup_by(|later, kept| {
        let same = later.0 == kept.0;
        if same {
            kept.1 += later.1;
        }
        same
    });
    entities.sort_unstable();
    entities.dedup();
}

/// A piece of raw text (between whitespace) whose first letter is a capital: inside a
/// sentence, a name (of a person, place, organisation; also weekdays and months, which
/// place an event in time). Scripts without case (Arabic) have none.
fn is_entity_like(piece: &str) -> bool {
    piece
        .chars()
        .find(|c| c.is_alphanumeric())
        .is_some_and(char::is_uppercase)
}

/// What ends a sentence (after it, a capital says nothing): full stops, question and
/// exclamation marks (Arabic's too), colons, semicolons and line breaks.
const SENTENCE_ENDS: [char; 7] = ['.', '!', '?', ':', ';', '\n', '\u{061F}'];

/// Heaviest first, ties broken by term, so that the result does not depend on the order
/// terms came in.
fn heavier<K: Ord>(a: &(K, f32), b: &(K, f32)) -> std::cmp::Ordering {
    b.1.total_cmp(&a.1).then(a.0.cmp(&b.0))
}

/// The `top` heaviest terms of `v` (distinct terms), normalized to unit length,
/// sorted by term; in place.
fn top_normalized<K: Copy + Ord>(v: &mut Vec<(K, f32)>, top: usize) {
    // Selecting the top before sorting them sorts 40 terms instead of all of an
    // article's; the order (a total one, terms being distinct) and the norm's summation
    // order are those of sorting everything.
    if v.len() > top {
        v.select_nth_unstable_by(top - 1, heavier);
        v.truncate(top);
    }
    v.sort_unstable_by(heavier);
    let norm = v.iter().map(|(_, w)| w * w).sum::<f32>().sqrt();
    if norm == 0.0 {
        v.clear();
        return;
    }
    for (_, w) in v.iter_mut() {
        *w /= norm;
    }
    v.sort_unstable_by_key(|(k, _)| *k);
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
            by_term: TermPostings::default(),
            buffers: Buffers::default(),
        }
    }

    /// The story of a new article at `at` (unix seconds): an existing story's id, or
    /// `article_id` when it starts a new one; with the article's term vector, which
    /// [`StoryIndex::restore`] takes back after a restart.
    pub fn assign(&mut self, article_id: &str, title: &str, text: &str, at: i64) -> Assignment {
        self.assign_lead(article_id, title, &StoryLead::of(text), at)
    }

    /// [`StoryIndex::assign`] from the text's lead, gathered beforehand (by
    /// [`crate::Fingerprint::with_story_lead`]): the same decision, without tokenizing the
    /// text again.
    pub fn assign_lead(
        &mut self,
        article_id: &str,
        title: &str,
        lead: &StoryLead,
        at: i64,
    ) -> Assignment {
        self.assign_choosing_lead(article_id, title, lead, at, |scored, _| {
            // The best score; of equals, the lowest slot (they come in slot order).
            scored
                .iter()
                .enumerate()
                .filter(|(_, c)| c.score >= 0.0)
                .fold(None, |best: Option<(usize, f32)>, (i, c)| match best {
                    Some((_, b)) if b >= c.score => best,
                    _ => Some((i, c.score)),
                })
                .map(|(i, _)| i)
        })
    }

    /// [`StoryIndex::assign`] with the choice left to `choose`: it gets every story that
    /// reached the scorer's floor (in slot order), and what gives a scored story's id,
    /// and returns the place of the one to join, or `None` to start a story. For fitting
    /// a scorer (the stories bench lets the labels choose).
    pub fn assign_choosing(
        &mut self,
        article_id: &str,
        title: &str,
        text: &str,
        at: i64,
        choose: impl FnOnce(&[Scored], &dyn Fn(&Scored) -> String) -> Option<usize>,
    ) -> Assignment {
        self.assign_choosing_lead(article_id, title, &StoryLead::of(text), at, choose)
    }

    fn assign_choosing_lead(
        &mut self,
        article_id: &str,
        title: &str,
        lead: &StoryLead,
        at: i64,
        choose: impl FnOnce(&[Scored], &dyn Fn(&Scored) -> String) -> Option<usize>,
    ) -> Assignment {
        if !self.by_id.is_empty() {
            self.by_id = HashMap::default();
        }
        let Self {
            config,
            docs,
            df,
            stories,
            by_term,
            buffers,
            ..
        } = self;
        let Buffers {
            counts,
            weighted,
            candidates,
            places,
            shared,
            entity_keys,
            entities,
            scored,
            ..
        } = buffers;
        term_counts(title, lead, counts, entity_keys);
        *docs += 1;
        let n = *docs as f32;
        // One lookup a term: counts are sorted by in-memory key, so terms sharing one
        // (a collision) are neighbours, and each is counted before any is read, as when
        // all were counted first.
        weighted.clear();
        let mut collision = false;
        let mut i = 0;
        while i < counts.len() {
            let key = short(counts[i].0);
            let run = counts[i..]
                .iter()
                .take_while(|(k, _)| short(*k) == key)
                .count();
            collision |= run > 1;
            let df = df.entry(key).or_default();
            *df += run as u32;
            // The document frequency for now: the weights come in a second loop, so that
            // this one, a cache miss a term in a large vocabulary, stays short enough for
            // the CPU to have several in flight.
            let df = *df as f32;
            weighted.extend(counts[i..i + run].iter().map(|&(k, _)| (k, df)));
            i += run;
        }
        for ((_, weight), (_, tf)) in weighted.iter_mut().zip(counts.iter()) {
            *weight = (1.0 + tf.ln()) * ((n + IDF_PRIOR_DOCS) / (*weight + 1.0)).ln();
        }
        top_normalized(weighted, TOP_TERMS);
        let vector = weighted.as_slice();
        entities.clear();
        entities.extend(
            vector
                .iter()
                .filter(|(k, _)| entity_keys.binary_search(k).is_ok())
                .map(|(k, w)| (short(*k), *w)),
        );
        let entity_square: f32 = entities.iter().map(|(_, w)| w * w).sum();

        // Which stories each term reaches, without reading the stories: the postings of
        // 40 terms reach up to 640 stories, each a cache miss or more in a full window
        // (the story, then a binary search of its centroid), and that was most of an
        // article's time.
        candidates.clear();
        places.clear();
        shared.clear();
        // The postings of all terms first: each is a cache miss or two (the map, then a
        // list on the heap), and found in one tight loop they are in flight together.
        let mut lists: [&[u32]; TOP_TERMS] = [&[]; TOP_TERMS];
        let mut touched = 0u32;
        for ((k, _), list) in vector.iter().zip(lists.iter_mut()) {
            let l = by_term.get(short(*k));
            *list = l;
            // Both ends of the part the walk reads (it may span two cache lines).
            let from = l.len().saturating_sub(POSTINGS_PER_TERM);
            touched ^=
                l.last().copied().unwrap_or_default() ^ l.get(from).copied().unwrap_or_default();
        }
        // Only the loads matter; this keeps the compiler from dropping them.
        std::hint::black_box(touched);
        for (j, ((_, w), list)) in vector.iter().zip(lists).enumerate() {
            let j = j as u32;
            let mut examined = 0;
            for &s in list.iter().rev() {
                if examined == POSTINGS_PER_TERM {
                    break;
                }
                let c = *places.entry(s).or_insert_with(|| {
                    candidates.push(Candidate {
                        story: s,
                        last_term: u32::MAX,
                        shared_square: 0.0,
                        scored: true,
                        similarity: 0.0,
                    });
                    u32::try_from(candidates.len() - 1).unwrap_or(u32::MAX)
                });
                let candidate = &mut candidates[c as usize];
                if candidate.last_term == j {
                    continue;
                }
                candidate.last_term = j;
                examined += 1;
                candidate.shared_square += w * w;
                shared.push((c, j));
            }
        }
        // A story's similarity is at most the norm of the article's weights on the
        // terms it shares (Cauchy-Schwarz; its centroid has unit length), so a story
        // that shares only light terms cannot reach the threshold and is never read:
        // the same decisions, with a margin for rounding. Not when two of the article's
        // terms share an in-memory key (one centroid weight would count twice).
        let scorer = &config.scorer;
        let threshold = scorer.floor;
        let floor = threshold * threshold * (1.0 - 1e-4);
        let prune = threshold > 0.0 && !collision;
        let window = config.window_secs;
        for c in candidates.iter_mut() {
            if prune && c.shared_square < floor {
                c.scored = false;
                continue;
            }
            let story = &stories[c.story as usize];
            // Articles arrive out of order (backfills): the window extends both ways.
            if story.is_free() || at < story.first_at - window || at > story.last_at + window {
                // Similarity 0, as when each of its terms was skipped.
                c.shared_square = f32::NAN;
            }
        }
        // Summed in the order of the article's terms, as before.
        for &(c, j) in shared.iter() {
            let c = &mut candidates[c as usize];
            if !c.scored || c.shared_square.is_nan() {
                continue;
            }
            let (k, w) = vector[j as usize];
            if let Some(cw) = stories[c.story as usize].weight(short(k)) {
                c.similarity += w * cw;
            }
        }
        // Only the stories that reach the floor are scored, in slot order.
        scored.clear();
        for c in candidates.iter().filter(|c| c.scored) {
            let (s, sim) = (c.story as usize, c.similarity);
            if sim < threshold || sim <= 0.0 {
                continue;
            }
            let story = &stories[s];
            let features = features(vector, entities, entity_square, story, sim);
            scored.push(Scored {
                slot: c.story,
                score: scorer.score(&features),
                features,
            });
        }
        scored.sort_unstable_by_key(|c| c.slot);
        let id_of = |c: &Scored| stories[c.slot as usize].id.to_text();
        let best = choose(scored, &id_of).map(|i| scored[i].slot as usize);
        let vector = vector.to_vec();
        let s = match best {
            Some(s) => s,
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
            centroid: Centroid::default(),
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
                // Grown by an eighth at a time, not doubled: the slots are a fifth of the
                // story state, and a doubled vector is a quarter empty on average (large
                // blocks grow by `realloc` in place or by remapping, not by copying).
                if self.stories.len() == self.stories.capacity() {
                    self.stories
                        .reserve_exact((self.stories.len() / 8).max(1024));
                }
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
        let Self {
            stories,
            by_term,
            buffers,
            ..
        } = self;
        let story = &mut stories[s];
        let m = story.members as f32;
        // The vector is sorted by its full keys; sorted by the in-memory ones (stable:
        // keys that collide keep their order) it merges with the centroid in one pass,
        // summing in the order a map filled from the centroid, then the vector, did.
        let terms = &mut buffers.terms;
        terms.clear();
        terms.extend(vector.iter().map(|(k, w)| (short(*k), *w)));
        terms.sort_by_key(|(k, _)| *k);
        let sum = &mut buffers.sum;
        sum.clear();
        let mut old = story.centroid.iter().peekable();
        for &(k, w) in terms.iter() {
            while let Some((ck, cw)) = old.next_if(|(ck, _)| *ck < k) {
                sum.push((ck, cw * m));
            }
            match sum.last_mut() {
                Some(last) if last.0 == k => last.1 += w,
                _ => match old.next_if(|(ck, _)| *ck == k) {
                    Some((_, cw)) => sum.push((k, cw * m + w)),
                    None => sum.push((k, w)),
                },
            }
        }
        sum.extend(old.map(|(k, w)| (k, w * m)));
        top_normalized(sum, CENTROID_TERMS);
        story.centroid.set(sum);
        story.members += 1;
        story.first_at = story.first_at.min(at);
        story.last_at = story.last_at.max(at);
        story.touched_at = story.touched_at.max(now);
        let id = u32::try_from(s).unwrap_or(u32::MAX);
        for &k in story.centroid.keys() {
            // Amortized: cut to the most recent entries once it holds twice as many.
            by_term.push(k, id, POSTINGS_PER_TERM);
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
            story.centroid = Centroid::default();
            story.members = 0;
            self.free.push(u32::try_from(s).unwrap_or(u32::MAX));
            freed += 1;
        }
        if freed > 0 {
            let stories = &self.stories;
            self.by_term.retain(|k, s| {
                stories
                    .get(s as usize)
                    .is_some_and(|st| st.weight(k).is_some())
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

    /// Whether the article (`vector`) and a story's `centroid` both hold numbers and share
    /// none.
    fn numbers_conflict(vector: &[(u64, f32)], centroid: &Centroid) -> bool {
        let mut article_numbers = vector
            .iter()
            .map(|(k, _)| short(*k))
            .filter(|k| is_number(*k));
        let Some(first) = article_numbers.next() else {
            return false;
        };
        if !centroid.keys().iter().any(|t| is_number(*t)) {
            return false;
        }
        let held = |k: Term| centroid.keys().binary_search(&k).is_ok();
        !held(first) && !article_numbers.any(held)
    }

    /// An index that already holds three unrelated stories, so that term frequencies mean
    /// something.
    fn index_of_other_news() -> StoryIndex {
        let mut idx = StoryIndex::new(StoryConfig::default());
        let filler = [
            ("Local council approves budget", "The council approved the city budget on Monday after a long debate about schools and roads."),
            ("Football club signs striker", "The club signed a striker from Spain for a fee of twelve million euros, the manager said."),
            ("Storm closes schools", "Heavy snow closed schools across the region on Tuesday as forecasters warned of more."),
        ];
        for (i, (t, x)) in filler.iter().enumerate() {
            idx.assign(&format!("f{i}"), t, x, 0);
        }
        idx
    }

    #[test]
    fn a_centroid_holds_every_term_and_its_weight_to_a_16_bit_fraction() {
        let mut c = Centroid::default();
        assert_eq!(c.len(), 0);
        for n in 0..=80u32 {
            let terms: Vec<(Term, f32)> = (0..n)
                .map(|i| (i * 7 + 3, (i as f32 + 0.5) / (n as f32 + 1.0)))
                .collect();
            c.set(&terms);
            assert_eq!(c.len(), n as usize);
            assert_eq!(c.data.len(), (n + n.div_ceil(2)) as usize);
            let got: Vec<(Term, f32)> = c.iter().collect();
            for ((k, w), (gk, gw)) in terms.iter().zip(&got) {
                assert_eq!(k, gk);
                assert!(
                    (w - gw).abs() <= 0.5 / WEIGHT_ONE + f32::EPSILON,
                    "{w} {gw}"
                );
                assert_eq!(c.weight(*k), Some(*gw));
            }
            assert_eq!(c.weight(1), None);
        }
        c.set(&[(1, 1.0), (2, 0.0)]);
        assert_eq!(c.weight(1), Some(1.0));
        assert_eq!(c.weight(2), Some(0.0));
    }

    #[test]
    fn the_shipped_scorer_loads_and_decides_as_its_weights_say() {
        let shipped = StoryScorer::shipped();
        assert_eq!(shipped, StoryScorer::cosine(0.3));
        // Its JSON round-trips.
        assert_eq!(
            StoryScorer::from_json(&shipped.to_json(None)).unwrap(),
            shipped
        );
        // A story at cosine 0.35 is joined; with conflicting numbers (0.6 of it) it is not.
        assert!(shipped.score(&[0.35, 0.0, 0.0, 0.0]) >= 0.0);
        assert!(shipped.score(&[0.35, 0.35, 0.0, 0.0]) < 0.0);
        // And the index follows it: see `same_words_with_conflicting_counts_stay_apart`.
    }

    #[test]
    fn a_scorer_names_every_feature_once() {
        let json =
            |weights: &str| format!(r#"{{"floor": 0.1, "bias": -1, "weights": {{{weights}}}}}"#);
        let all = r#""cosine": 5, "cosine_conflicting_numbers": -1, "shared_number": 0.5, "entities_unmatched": -2"#;
        let scorer = StoryScorer::from_json(&json(all)).unwrap();
        assert_eq!(scorer.weights, [5.0, -1.0, 0.5, -2.0]);
        assert_eq!(scorer.score(&[0.4, 0.0, 1.0, 0.5]), -1.0 + 2.0 + 0.5 - 1.0);
        let missing = r#""cosine": 5, "cosine_conflicting_numbers": -1, "shared_number": 0.5"#;
        assert!(StoryScorer::from_json(&json(missing))
            .unwrap_err()
            .contains("entities_unmatched"));
        let unknown = format!(r#"{all}, "title_cosine": 1"#);
        assert!(StoryScorer::from_json(&json(&unknown))
            .unwrap_err()
            .contains("title_cosine"));
    }

    #[test]
    fn capitalized_words_inside_sentences_are_entity_like() {
        let (mut counts, mut entities) = (Vec::new(), Vec::new());
        term_counts(
            "Police Arrest Two Men",
            &StoryLead::of("Police said John Smith was arrested in Memphis on Tuesday. Officers found \"Smith's\" car.\nWitnesses told WMC the men ran."),
            &mut counts,
            &mut entities,
        );
        let is_entity = |w: &str| entities.contains(&term_key(w));
        // Inside a sentence: names, places, days, acronyms.
        for w in ["john", "smith", "memphis", "tuesday", "wmc"] {
            assert!(is_entity(w), "{w}");
        }
        // At a sentence's or a paragraph's start, or lower case; the title's Title Case
        // says nothing.
        for w in [
            "police",
            "officers",
            "witnesses",
            "arrested",
            "men",
            "arrest",
        ] {
            assert!(!is_entity(w), "{w}");
        }
    }

    #[test]
    fn entities_the_story_lacks_are_counted_against_it() {
        let mut idx = StoryIndex::new(StoryConfig {
            scorer: StoryScorer::cosine(0.05),
            ..StoryConfig::default()
        });
        idx.assign(
            "miami",
            "Shooting at holiday event",
            "Gunfire broke out at a holiday celebration in Miami on Monday, police said, and five were hurt at the park.",
            0,
        );
        let features_against_it = |idx: &mut StoryIndex, text: &str| {
            let mut got = None;
            idx.assign_choosing(
                "x",
                "Shooting at holiday event",
                text,
                0,
                |scored, id_of| {
                    got = scored
                        .iter()
                        .find(|c| id_of(c) == "miami")
                        .map(|c| c.features);
                    None
                },
            );
            got.expect("the story was scored")
        };
        // Same event: its only name (Miami) is the story's.
        let same = features_against_it(
            &mut idx,
            "Five were hurt when gunfire broke out at the park celebration in Miami, police said.",
        );
        assert_eq!(same[3], 0.0);
        // Same kind of event elsewhere: Houston is not the story's.
        let other = features_against_it(
            &mut idx,
            "Five were hurt when gunfire broke out at the park celebration in Houston, police said.",
        );
        assert_eq!(other[3], 1.0);
        // Neither names numbers: no conflict, nothing shared.
        assert_eq!((other[1], other[2]), (0.0, 0.0));
        let numbers = features_against_it(
            &mut idx,
            "Police in Miami said 14 shots were fired at the holiday celebration in the park.",
        );
        assert_eq!(numbers[2], 0.0);
    }

    #[test]
    fn same_event_joins_different_event_does_not() {
        let mut idx = index_of_other_news();
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

    fn cosine(a: &[(u64, f32)], b: &[(u64, f32)]) -> f32 {
        a.iter()
            .filter_map(|(k, w)| b.iter().find(|(j, _)| j == k).map(|(_, v)| w * v))
            .sum()
    }

    #[test]
    fn same_words_with_conflicting_counts_stay_apart() {
        let mut idx = index_of_other_news();
        let a = idx.assign(
            "a",
            "Earthquake kills 34 in mountain province",
            "An earthquake struck the mountain province on Sunday, killing 34 people and injuring 120, officials said.",
            10,
        );
        // Another earthquake in much the same words: other counts of dead and injured.
        let b = idx.assign(
            "b",
            "Quake in mountain province kills 112",
            "A strong quake hit the mountain province overnight; 112 were killed and 450 injured.",
            20,
        );
        // Without the numbers it would have joined.
        assert!(cosine(&a.terms, &b.terms) >= 0.3);
        assert_eq!(b.story_id, "b", "conflicting counts should stay apart");
        // A report of the first one, with its counts, joins it.
        let c = idx.assign(
            "c",
            "Mountain province earthquake: 34 dead",
            "The earthquake in the mountain province killed 34 people on Sunday and injured 120.",
            30,
        );
        assert_eq!(c.story_id, "a", "agreeing counts should join");
        // A year is no count: reports naming different years still join.
        let d = idx.assign(
            "d",
            "Earthquake kills 34 in mountain province, worst since 2005",
            "An earthquake struck the mountain province on Sunday, killing 34 people, the worst since 2005.",
            40,
        );
        assert_eq!(d.story_id, "a");
    }

    /// The story the scoring before the candidate bound chose (every reached story
    /// scored through a map), from the state just before `vector`'s article.
    fn unbounded_choice(idx: &StoryIndex, vector: &[(u64, f32)], at: i64) -> Option<usize> {
        let mut scores: HashMap<usize, (f32, usize)> = HashMap::default();
        let window = idx.config.window_secs;
        for (j, (k, w)) in vector.iter().enumerate() {
            let k = short(*k);
            let list = idx.by_term.get(k);
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
                let story = &idx.stories[s];
                if story.is_free() || at < story.first_at - window || at > story.last_at + window {
                    continue;
                }
                if let Some(cw) = story.weight(k) {
                    entry.0 += w * cw;
                }
            }
        }
        let scorer = &idx.config.scorer;
        scores
            .into_iter()
            .filter(|(_, (sim, _))| *sim >= scorer.floor && *sim > 0.0)
            .map(|(s, (sim, _))| {
                let conflict = numbers_conflict(vector, &idx.stories[s].centroid);
                (
                    s,
                    scorer.score(&[sim, if conflict { sim } else { 0.0 }, 0.0, 0.0]),
                )
            })
            .filter(|(_, score)| *score >= 0.0)
            .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))
            .map(|(s, _)| s)
    }

    #[test]
    fn skipping_stories_below_the_bound_changes_no_decision() {
        // At the bound itself: a story of one term, and an article sharing only that
        // term, whose weight in it (0.32) just reaches the threshold.
        let mut idx = StoryIndex::new(StoryConfig {
            scorer: StoryScorer::cosine(0.3),
            ..StoryConfig::default()
        });
        idx.assign("one", "", "zeta", 0);
        let text = "zeta alpha bravo charlie delta echo foxtrot golf";
        let before = idx.clone();
        let got = idx.assign("two", "", text, 1);
        assert_eq!(unbounded_choice(&before, &got.terms, 1), Some(0));
        assert_eq!(got.story_id, "one");

        // Topics of a few words and words drawn from a vocabulary small enough that
        // postings lists fill up and many stories share a term or two; some articles join
        // and some start stories; times spread
        // past the window and expiry frees slots, so every branch is taken.
        let vocabulary: Vec<String> = (0..1000).map(|i| format!("word{i}x")).collect();
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        for threshold in [0.3, 0.15] {
            let mut idx = StoryIndex::new(StoryConfig {
                scorer: StoryScorer::cosine(threshold),
                window_secs: 400,
            });
            let (mut joined, mut started) = (0, 0);
            for i in 0..600 {
                let topic = next(120);
                let words = |n: usize, next: &mut dyn FnMut(usize) -> usize| {
                    (0..n)
                        .map(|w| {
                            if w % 4 == 0 {
                                vocabulary[topic * 8 + next(8)].as_str()
                            } else {
                                vocabulary[next(vocabulary.len())].as_str()
                            }
                        })
                        .collect::<Vec<_>>()
                        .join(" ")
                };
                let title = words(6, &mut next);
                let text = format!("{} {}", words(60, &mut next), i % 7);
                let at = i as i64 * 3;
                if i % 150 == 149 {
                    idx.expire_before(unix_now() + 1, std::iter::empty());
                }
                let before = idx.clone();
                let id = format!("a{i}");
                let got = idx.assign(&id, &title, &text, at);
                match unbounded_choice(&before, &got.terms, at) {
                    Some(s) => {
                        joined += 1;
                        assert_eq!(got.story_id, before.stories[s].id.to_text(), "article {i}");
                    }
                    None => {
                        started += 1;
                        assert_eq!(got.story_id, id, "article {i}");
                    }
                }
            }
            assert!(
                joined > 50 && started > 50,
                "{joined} joined, {started} started"
            );
        }
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
        assert!(idx.by_term.contains(short(term_key("iraq"))));
        assert!(!idx.by_term.contains(short(term_key("harvest"))));
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
