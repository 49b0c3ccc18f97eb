//! newsriver's dedup stage: decides whether an article was already seen (same canonical
//! URL, same normalized text, or nearly the same text) and which story it belongs to.
//!
//! The [`Deduper`] is an in-memory index; the state store persists its entries and
//! reloads them on start, so decisions survive restarts.

mod canonical;
mod index;
mod minhash;
mod normalize;
mod postings;
mod stories;

use std::collections::{HashMap, VecDeque};

use index::KeyIndex;
use newsriver_model::DuplicateReason;
use xxhash_rust::xxh3::{xxh3_64, Xxh3};

pub use canonical::{canonicalize_url, use_clearurls, RulesError, UrlError};
pub use minhash::{
    jaccard, u32s_from_bytes, u32s_to_bytes, Shingler, Signature, BANDS, BINS, SHINGLE_WORDS,
};
pub use normalize::{
    for_each_token, for_each_token_in_pieces, normalize_text, normalized_words, Token,
};
pub use stories::{
    Assignment, Features, Scored, StoryConfig, StoryIndex, StoryLead, StoryScorer, FEATURES,
    FEATURE_COUNT,
};

/// What deduplication remembers about one article.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    pub canonical_url: String,
    /// xxh3-128 of the normalized text, hex; empty text has no hash.
    pub content_hash: Option<String>,
    pub signature: Option<Signature>,
    /// The text's shingles as sorted, distinct 32-bit hashes: what near-duplicate
    /// candidates are verified on. Empty for a fingerprint restored from the store, which
    /// keeps them on disk.
    pub shingles: Vec<u32>,
}

impl Fingerprint {
    pub fn new(canonical_url: &str, text: &str) -> Fingerprint {
        Self::of(canonical_url, text, None)
    }

    /// [`Fingerprint::new`], and the text's [`StoryLead`] from the same pass over the
    /// text, for [`StoryIndex::assign_lead`].
    pub fn with_story_lead(canonical_url: &str, text: &str) -> (Fingerprint, StoryLead) {
        let mut lead = StoryLead::start();
        let fingerprint = Self::of(canonical_url, text, Some(&mut lead));
        (fingerprint, lead)
    }

    fn of(canonical_url: &str, text: &str, mut lead: Option<&mut StoryLead>) -> Fingerprint {
        // One pass over the text feeds the exact hash (words joined by single spaces,
        // paragraph breaks ignored), the shingles and, when asked, the story lead.
        let mut exact = Xxh3::new();
        let mut words = 0usize;
        let mut shingler = Shingler::default();
        let mut hashes = Vec::with_capacity(text.len() / 5);
        for_each_token_in_pieces(text, |token, piece| match token {
            Token::Word(w) => {
                if words > 0 {
                    exact.update(b" ");
                }
                exact.update(w.as_bytes());
                words += 1;
                let hash = xxh3_64(w.as_bytes());
                shingler.word_hash(hash, &mut hashes);
                if let Some(lead) = lead.as_deref_mut() {
                    lead.word(text, w, hash, piece);
                }
            }
            Token::ParagraphEnd => shingler.paragraph_end(&mut hashes),
        });
        // The set's 32 bits are the hash's top half; the signature uses the rest.
        let mut shingles: Vec<u32> = hashes.iter().map(|h| (h >> 32) as u32).collect();
        shingles.sort_unstable();
        shingles.dedup();
        Fingerprint {
            canonical_url: canonical_url.to_string(),
            // Big-endian hex of the 128 bits: what `{:032x}` printed, without the formatter.
            content_hash: (words > 0).then(|| hex::encode(exact.digest128().to_be_bytes())),
            signature: Signature::from_shingle_hashes(hashes),
            shingles,
        }
    }
}

/// An earlier article that a new one duplicates.
#[derive(Debug, Clone, PartialEq)]
pub struct Match {
    pub id: String,
    pub story_id: String,
    pub reason: DuplicateReason,
    /// Jaccard similarity of the two texts' shingle sets (1.0 for URL and exact-text
    /// matches).
    pub similarity: f64,
}

#[derive(Debug, Clone)]
pub struct DedupConfig {
    /// Jaccard similarity of word shingles at or above which two texts are
    /// near-duplicates.
    pub near_threshold: f64,
    /// How many of the newest articles keep their shingles in memory: those not yet in
    /// the store (still on their way to the sink) must be among them.
    pub recent_shingles: usize,
}

impl Default for DedupConfig {
    fn default() -> Self {
        Self {
            near_threshold: 0.8,
            recent_shingles: 4096,
        }
    }
}

/// Where the index reads the shingles of older articles when a new one shares LSH bands
/// with them: the state store in the daemon.
pub trait ShingleSource {
    /// The shingle set remembered for article `id` (see [`Fingerprint::shingles`]), or
    /// `None` when it is not stored.
    fn shingles(&mut self, id: &str) -> Option<Vec<u32>>;
}

/// A source with nothing in it: only the recent articles held in memory are verified.
pub struct NoStore;

impl ShingleSource for NoStore {
    fn shingles(&mut self, _: &str) -> Option<Vec<u32>> {
        None
    }
}

impl ShingleSource for HashMap<String, Vec<u32>> {
    fn shingles(&mut self, id: &str) -> Option<Vec<u32>> {
        self.get(id).cloned()
    }
}

/// Near-duplicate candidates verified per lookup, those sharing most bands first: a
/// band key shared by many articles (a stock paragraph) must not cost a store read each.
const MAX_VERIFIED: usize = 16;
/// Articles read per band key, the newest first. Templated reports (weather, markets,
/// results) share whole sentences, so some band keys are shared by a large part of the
/// window: reading and sorting every article under them made each lookup cost time in
/// proportion to the window (1.3 ms an article at 200,000 in the window, from 0.1 ms at
/// the start). A true near-duplicate shares about 13 of the 32 bands (0.8^4 each), so it
/// is missed only when every one of those keys is shared by this many newer articles (a
/// template copied that often: the newest copies are then the candidates).
const MAX_PER_BAND: usize = 32;

/// Article ids are 32 hex digits (the SHA-256 prefix of the canonical URL): 16 bytes
/// instead of a 56-byte heap string. Any other form is kept as it is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum CompactId {
    Hex([u8; 16]),
    Text(Box<str>),
}

impl CompactId {
    pub(crate) fn new(id: &str) -> CompactId {
        let mut bytes = [0u8; 16];
        let lower_hex = id.len() == 32
            && id
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if lower_hex && hex::decode_to_slice(id, &mut bytes).is_ok() {
            CompactId::Hex(bytes)
        } else {
            CompactId::Text(id.into())
        }
    }

    pub(crate) fn to_text(&self) -> String {
        match self {
            CompactId::Hex(bytes) => hex::encode(bytes),
            CompactId::Text(s) => s.to_string(),
        }
    }
}

fn key(s: &str) -> u64 {
    xxh3_64(s.as_bytes())
}

struct Entry {
    id: CompactId,
    story_id: CompactId,
    /// Unix seconds the retention of this article started at, or [`EXPIRED`].
    at: i64,
}

/// `Entry::at` of an article already forgotten while entries before it are still kept.
const EXPIRED: i64 = i64::MIN;

/// In-memory duplicate index over the articles of the retention window.
///
/// Entries are appended in arrival order and addressed by a running number (32 bits,
/// wrapping). Their retention times are mostly but not always in that order (a backfill
/// places its articles at their publication times, behind the live ones restored at
/// start), so expiry marks expired entries wherever they are, drops the expired prefix,
/// and renumbers the rest when expired entries make up half of what is held: memory
/// follows the window, not the history, in either case. Per
/// article it holds two ids, a time, 8 bytes for each of the [`BANDS`] LSH keys and 12
/// for each of the URL and text hashes; signatures and shingle sets stay in the store.
pub struct Deduper {
    config: DedupConfig,
    entries: VecDeque<Entry>,
    /// Running number of `entries[0]`.
    first: u32,
    /// How many of `entries` are [`EXPIRED`].
    expired: usize,
    /// Keyed by a 64-bit hash of the canonical URL / content hash: a false match needs
    /// a 64-bit collision.
    by_url: KeyIndex<u64>,
    by_hash: KeyIndex<u64>,
    /// One index per band, keyed by 32 bits of the band's hash: a collision only makes a
    /// candidate, which verification rejects.
    by_band: Vec<KeyIndex<u32>>,
    /// Shingles of the newest entries, aligned with the end of `entries`.
    recent: VecDeque<Vec<u32>>,
}

impl Deduper {
    pub fn new(config: DedupConfig) -> Self {
        Self {
            config,
            entries: VecDeque::new(),
            first: 0,
            expired: 0,
            by_url: KeyIndex::default(),
            by_hash: KeyIndex::default(),
            by_band: (0..BANDS).map(|_| KeyIndex::default()).collect(),
            recent: VecDeque::new(),
        }
    }

    /// How many articles it remembers.
    pub fn len(&self) -> usize {
        self.entries.len() - self.expired
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Position in `entries` of running number `n`, if it is still there.
    fn position(&self, n: u32) -> Option<usize> {
        let pos = n.wrapping_sub(self.first) as usize;
        (pos < self.entries.len()).then_some(pos)
    }

    fn matched(&self, pos: usize, reason: DuplicateReason, similarity: f64) -> Match {
        let e = &self.entries[pos];
        Match {
            id: e.id.to_text(),
            story_id: e.story_id.to_text(),
            reason,
            similarity,
        }
    }

    /// The earlier article `fp` duplicates, if any: URL first, then exact text, then the
    /// most similar near-duplicate whose shingle sets' Jaccard similarity reaches the
    /// threshold. LSH bands only propose candidates; each is verified on its shingles,
    /// from memory for recent articles and from `source` for older ones.
    pub fn find(&self, fp: &Fingerprint, source: &mut dyn ShingleSource) -> Option<Match> {
        let mut found = None;
        self.by_url.get(key(&fp.canonical_url), |n| {
            found = found.or(self.position(n));
        });
        if let Some(pos) = found {
            return Some(self.matched(pos, DuplicateReason::Url, 1.0));
        }
        if let Some(h) = &fp.content_hash {
            self.by_hash
                .get(key(h), |n| found = found.or(self.position(n)));
            if let Some(pos) = found {
                return Some(self.matched(pos, DuplicateReason::Text, 1.0));
            }
        }
        let sig = fp.signature.as_ref()?;
        // Every (article, band) hit, then counted per article. A band key shared by
        // thousands of articles (a stock teaser the stripper kept) must not make this
        // quadratic, so hits are sorted rather than looked up one by one.
        let mut hits: Vec<usize> = Vec::new();
        let mut keys = [0u32; BANDS];
        for (key, k) in keys.iter_mut().zip(sig.band_keys()) {
            *key = k;
        }
        KeyIndex::get_newest_each(&self.by_band, &keys, MAX_PER_BAND, |_, n| {
            hits.extend(self.position(n))
        });
        hits.sort_unstable();
        // (position, bands shared), most shared first, then newest.
        let mut candidates: Vec<(usize, u32)> = Vec::new();
        for pos in hits {
            match candidates.last_mut() {
                Some((p, shared)) if *p == pos => *shared += 1,
                _ => candidates.push((pos, 1)),
            }
        }
        candidates.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(b.0.cmp(&a.0)));
        let recent_from = self.entries.len() - self.recent.len();
        let mut best: Option<(usize, f64)> = None;
        for &(pos, _) in candidates.iter().take(MAX_VERIFIED) {
            let in_memory = pos
                .checked_sub(recent_from)
                .map(|i| &self.recent[i])
                .filter(|s| !s.is_empty());
            let similarity = if let Some(shingles) = in_memory {
                jaccard(&fp.shingles, shingles)
            } else {
                match source.shingles(&self.entries[pos].id.to_text()) {
                    Some(other) => jaccard(&fp.shingles, &other),
                    None => continue,
                }
            };
            if similarity >= self.config.near_threshold && best.is_none_or(|(_, s)| similarity > s)
            {
                best = Some((pos, similarity));
            }
        }
        best.map(|(pos, similarity)| self.matched(pos, DuplicateReason::NearText, similarity))
    }

    /// Remembers an article so later copies are recognized.
    pub fn insert(&mut self, id: &str, story_id: &str, fp: &Fingerprint) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        self.insert_at(id, story_id, fp, now);
    }

    /// Remembers an article whose retention starts at `at` (unix seconds, in any order).
    pub fn insert_at(&mut self, id: &str, story_id: &str, fp: &Fingerprint, at: i64) {
        // The one time that means "expired" is never a retention start.
        let at = at.max(EXPIRED + 1);
        let n = self.first.wrapping_add(self.entries.len() as u32);
        self.by_url.insert(key(&fp.canonical_url), n);
        if let Some(h) = &fp.content_hash {
            self.by_hash.insert(key(h), n);
        }
        if let Some(sig) = &fp.signature {
            for (band, k) in sig.band_keys().enumerate() {
                self.by_band[band].insert(k, n);
            }
        }
        self.entries.push_back(Entry {
            id: CompactId::new(id),
            story_id: CompactId::new(story_id),
            at,
        });
        // Restored fingerprints have no shingles: an empty set in `recent` keeps it
        // aligned with `entries` and sends verification to the source.
        self.recent.push_back(fp.shingles.clone());
        while self.recent.len() > self.config.recent_shingles {
            self.recent.pop_front();
        }
    }

    /// Forgets articles whose retention started before `cutoff` (unix seconds); returns
    /// how many.
    pub fn expire_before(&mut self, cutoff: i64) -> usize {
        let mut dropped = 0;
        for e in self.entries.iter_mut() {
            if e.at != EXPIRED && e.at < cutoff {
                e.at = EXPIRED;
                dropped += 1;
            }
        }
        if dropped == 0 {
            return 0;
        }
        self.expired += dropped;
        let mut popped = 0u32;
        while self.entries.front().is_some_and(|e| e.at == EXPIRED) {
            self.entries.pop_front();
            popped += 1;
        }
        self.expired -= popped as usize;
        self.first = self.first.wrapping_add(popped);
        while self.recent.len() > self.entries.len() {
            self.recent.pop_front();
        }
        if self.expired * 2 > self.entries.len() {
            self.renumber();
        } else {
            // Expired entries stay in `entries` until those before them go; their shingles
            // and keys go now.
            let recent_from = self.entries.len() - self.recent.len();
            for (i, shingles) in self.recent.iter_mut().enumerate() {
                if self.entries[recent_from + i].at == EXPIRED {
                    *shingles = Vec::new();
                }
            }
            let (first, entries) = (self.first, &self.entries);
            let live = move |n: u32| {
                entries
                    .get(n.wrapping_sub(first) as usize)
                    .is_some_and(|e| e.at != EXPIRED)
            };
            self.by_url.retain(live);
            self.by_hash.retain(live);
            for band in &mut self.by_band {
                band.retain(live);
            }
        }
        dropped
    }

    /// Drops the expired entries from the middle of `entries`, numbering the rest again
    /// from `first` in the same order.
    fn renumber(&mut self) {
        let mut new_offset = Vec::with_capacity(self.entries.len());
        let mut kept = 0u32;
        for e in &self.entries {
            if e.at == EXPIRED {
                new_offset.push(None);
            } else {
                new_offset.push(Some(kept));
                kept += 1;
            }
        }
        let recent_from = self.entries.len() - self.recent.len();
        let recent = std::mem::take(&mut self.recent);
        self.recent = recent
            .into_iter()
            .enumerate()
            .filter(|(i, _)| new_offset[recent_from + i].is_some())
            .map(|(_, s)| s)
            .collect();
        self.entries.retain(|e| e.at != EXPIRED);
        self.entries.shrink_to_fit();
        self.expired = 0;
        let first = self.first;
        let renumbered = |n: u32| {
            new_offset
                .get(n.wrapping_sub(first) as usize)
                .copied()
                .flatten()
                .map(|offset| first.wrapping_add(offset))
        };
        self.by_url.retain_map(renumbered);
        self.by_hash.retain_map(renumbered);
        for band in &mut self.by_band {
            band.retain_map(renumbered);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The story lead gathered while fingerprinting is the one the text gives on its own,
    /// so the daemon's stories are those `StoryIndex::assign` makes from the text.
    #[test]
    fn the_story_lead_from_fingerprinting_is_the_texts_own() {
        let long: String = (0..300).map(|i| format!("Word{i} and More{i}. ")).collect();
        let texts = [
            TEXT.to_string(),
            long,
            "Police said John Smith was arrested in Memphis on Tuesday. Officers found \"Smith's\" car.\nWitnesses told WMC the men ran.".to_string(),
            "قالت الشرطة إن 3 أشخاص أصيبوا، وإن سعيد حسن نُقل إلى المستشفى.\n\nوأضافت: «التحقيق مستمر».".to_string(),
            "  a\n\n  b 7 x   ".to_string(),
            String::new(),
        ];
        for text in &texts {
            let (fp, lead) = Fingerprint::with_story_lead("https://a.test/1", text);
            assert_eq!(fp, Fingerprint::new("https://a.test/1", text));
            assert_eq!(lead, StoryLead::of(text), "{text}");
        }
        // A real difference shows: another text's lead is not this one's.
        let (_, lead) = Fingerprint::with_story_lead("https://a.test/1", &texts[0]);
        assert_ne!(lead, StoryLead::of(&texts[2]));
    }

    const TEXT: &str = "The United States and Iraq said in a joint statement on Friday that the \
        military mission of the US-led coalition in Iraq will end by September 2025, with a \
        transition to bilateral security partnerships. The United States has about 2,500 troops \
        in Iraq and 900 in neighbouring Syria as part of the coalition formed in 2014 to fight \
        Islamic State as it rampaged through both countries.";

    #[test]
    fn url_text_and_near_duplicates() {
        let mut d = Deduper::new(DedupConfig::default());
        let a = Fingerprint::new("https://a.test/1", TEXT);
        assert!(d.find(&a, &mut NoStore).is_none());
        d.insert("a", "a", &a);

        let same_url = Fingerprint::new("https://a.test/1", "other text entirely");
        assert_eq!(
            d.find(&same_url, &mut NoStore).unwrap().reason,
            DuplicateReason::Url
        );

        let same_text = Fingerprint::new("https://b.test/9", &TEXT.to_uppercase());
        assert_eq!(
            d.find(&same_text, &mut NoStore).unwrap().reason,
            DuplicateReason::Text
        );

        let edited = TEXT.replace("Friday", "Thursday");
        let near = Fingerprint::new("https://c.test/2", &edited);
        let m = d.find(&near, &mut NoStore).unwrap();
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
            .find(&Fingerprint::new("https://a.test/old", TEXT), &mut NoStore)
            .is_none());
        assert_eq!(
            window
                .find(&Fingerprint::new("https://a.test/new", "x"), &mut NoStore)
                .unwrap()
                .id,
            "new"
        );

        let different = Fingerprint::new(
            "https://d.test/3",
            "Farmers in the valley moved their animals to higher ground after heavy rain on \
             Tuesday raised the river by two metres, officials said, and schools closed.",
        );
        assert!(d.find(&different, &mut NoStore).is_none());
    }

    /// Article `i`: its own URL and text, different enough from every other one.
    fn numbered_text(i: usize) -> String {
        let words: Vec<String> = (0..60).map(|w| format!("w{i}x{w}")).collect();
        words.join(" ")
    }

    fn numbered(i: usize) -> Fingerprint {
        Fingerprint::new(&format!("https://a.test/{i}"), &numbered_text(i))
    }

    #[test]
    fn expiry_forgets_by_retention_time_whatever_the_arrival_order() {
        // Ten articles restored from a live window (time 1,000) arrive first, then a
        // backfill's forty placed at their publication times (0..40): expiry before 20
        // must forget exactly the backfill's first twenty, behind the live ones.
        let mut d = Deduper::new(DedupConfig::default());
        for i in 0..10 {
            d.insert_at(&format!("live{i}"), "s", &numbered(i), 1000);
        }
        for i in 10..50 {
            d.insert_at(&format!("old{i}"), "s", &numbered(i), (i - 10) as i64);
        }
        assert_eq!(d.expire_before(20), 20);
        assert_eq!(d.len(), 30);
        let found = |d: &Deduper, i: usize| d.find(&numbered(i), &mut NoStore).map(|m| m.id);
        for i in 0..50 {
            let want = match i {
                0..10 => Some(format!("live{i}")),
                10..30 => None,
                _ => Some(format!("old{i}")),
            };
            assert_eq!(found(&d, i), want, "article {i}");
        }
        // Past half expired: the rest is renumbered, and every lookup still lands on the
        // right article, including the text (near-duplicate) path and later inserts.
        assert_eq!(d.expire_before(35), 15);
        assert_eq!(d.len(), 15);
        assert_eq!(d.entries.len(), 15, "expired entries were dropped");
        d.insert_at("later", "s", &numbered(99), 2000);
        for i in (0..50).chain([99]) {
            let want = match i {
                0..10 => Some(format!("live{i}")),
                10..45 => None,
                99 => Some("later".to_string()),
                _ => Some(format!("old{i}")),
            };
            assert_eq!(found(&d, i), want, "article {i} after renumbering");
        }
        let copy = Fingerprint::new("https://b.test/copy", &numbered_text(47));
        let m = d.find(&copy, &mut NoStore).expect("the copy is found");
        assert_eq!((m.id.as_str(), m.reason), ("old47", DuplicateReason::Text));
        let edited = numbered_text(48).replacen("w48x59", "changed", 1);
        let near = Fingerprint::new("https://b.test/edited", &edited);
        let m = d
            .find(&near, &mut NoStore)
            .expect("the edited copy is found");
        assert_eq!(
            (m.id.as_str(), m.reason),
            ("old48", DuplicateReason::NearText)
        );
        // The live ones go when their own time comes.
        assert_eq!(d.expire_before(1500), 15);
        assert_eq!(d.len(), 1);
    }

    #[test]
    fn content_hash_is_the_hex_of_the_128_bit_hash_of_the_words() {
        // Stored hashes from earlier runs must still match: the same text as ever.
        let fp = Fingerprint::new("https://a.test/1", "Some  Words,\n\nhere");
        let want = format!("{:032x}", xxhash_rust::xxh3::xxh3_128(b"some words here"));
        assert_eq!(fp.content_hash.as_deref(), Some(want.as_str()));
    }

    #[test]
    fn a_band_key_shared_by_thousands_still_finds_the_best_match() {
        let mut d = Deduper::new(DedupConfig::default());
        let teaser = "Subscribe to continue reading this article from our newsroom today";
        for i in 0..5000 {
            d.insert(
                &format!("t{i}"),
                "s",
                &Fingerprint::new(&format!("https://p.test/{i}"), teaser),
            );
        }
        d.insert("a", "a", &Fingerprint::new("https://a.test/1", TEXT));
        let edited = Fingerprint::new("https://c.test/2", &TEXT.replace("Friday", "Thursday"));
        assert_eq!(d.find(&edited, &mut NoStore).unwrap().id, "a");
        let copy = Fingerprint::new("https://c.test/3", &format!("{teaser} now"));
        let m = d.find(&copy, &mut NoStore).unwrap();
        assert!(m.id.starts_with('t') && m.similarity >= 0.8, "{m:?}");
    }

    #[test]
    fn candidates_are_verified_on_exact_shingles_from_memory_or_the_source() {
        let mut d = Deduper::new(DedupConfig {
            near_threshold: 0.8,
            recent_shingles: 1,
        });
        let a = Fingerprint::new("https://a.test/1", TEXT);
        let id = "0123456789abcdef0123456789abcdef";
        d.insert(id, id, &a);
        // A newer article pushes `a` out of the in-memory shingles.
        d.insert(
            "b",
            "b",
            &Fingerprint::new("https://a.test/2", "unrelated words here"),
        );
        let edited = Fingerprint::new("https://c.test/2", &TEXT.replace("Friday", "Thursday"));
        assert!(
            d.find(&edited, &mut NoStore).is_none(),
            "nothing to verify on"
        );
        let mut store = HashMap::from([(id.to_string(), a.shingles.clone())]);
        let m = d.find(&edited, &mut store).unwrap();
        assert_eq!((m.id.as_str(), m.reason), (id, DuplicateReason::NearText));
        assert_eq!(m.similarity, jaccard(&edited.shingles, &a.shingles));
        assert!(m.similarity >= 0.8 && m.similarity < 1.0);

        // A candidate below the threshold on its exact shingles is not a duplicate,
        // however many bands it shares: here the source hands back another text's set.
        // Restored from the store: no shingles in memory, even among the newest.
        let mut restored = Deduper::new(DedupConfig::default());
        let without = Fingerprint {
            shingles: Vec::new(),
            ..a.clone()
        };
        restored.insert(id, id, &without);
        assert!(restored.find(&edited, &mut NoStore).is_none());
        assert_eq!(restored.find(&edited, &mut store).unwrap().id, id);

        let other = Fingerprint::new("https://d.test/", "completely different words in it");
        let mut lying = HashMap::from([(id.to_string(), other.shingles)]);
        assert!(d.find(&edited, &mut lying).is_none());
    }
}
