//! Story postings: per term, the stories whose centroid holds it, in the order they were
//! last active.
//!
//! Most terms (numbers, names, rare words) are held by one story, so a term's entry in
//! the map is one `u32`: the story itself, or, when a tag bit is set, the place of a list
//! of several stories beside the map. An entry is 8 bytes a bucket, where a map of inline
//! lists (`SmallVec<[u32; 3]>`) took 32: in a window of templated reports, whose numbers
//! make a distinct term or two per article, the map was about half of the story state.

use rustc_hash::FxHashMap as HashMap;

/// Marks a map value as the place of a list in [`TermPostings::lists`].
const LIST: u32 = 1 << 31;

#[derive(Default, Clone)]
pub(crate) struct TermPostings<T> {
    map: HashMap<T, u32>,
    /// Lists of two stories or more; a freed list is empty and its place in `free`.
    lists: Vec<Vec<u32>>,
    free: Vec<u32>,
}

impl<T: Copy + Eq + std::hash::Hash> TermPostings<T> {
    /// The stories of `term`, the most recently active last (a story can appear more
    /// than once: the older entries are stale).
    pub(crate) fn get(&self, term: T) -> &[u32] {
        match self.map.get(&term) {
            None => &[],
            Some(v) if v & LIST != 0 => &self.lists[(v & !LIST) as usize],
            Some(v) => std::slice::from_ref(v),
        }
    }

    #[cfg(test)]
    pub(crate) fn contains(&self, term: T) -> bool {
        self.map.contains_key(&term)
    }

    /// Appends `story` to `term`'s stories (not when it is the last already), and cuts
    /// them to the `keep` most recent once they are twice as many: amortized O(1).
    /// Story slots are below 2^31 (a story takes hundreds of bytes).
    pub(crate) fn push(&mut self, term: T, story: u32, keep: usize) {
        debug_assert!(story & LIST == 0);
        let Self { map, lists, free } = self;
        match map.get_mut(&term) {
            None => {
                map.insert(term, story);
            }
            Some(v) if *v & LIST != 0 => {
                let list = &mut lists[(*v & !LIST) as usize];
                if list.last() != Some(&story) {
                    list.push(story);
                    if list.len() > 2 * keep {
                        list.drain(..list.len() - keep);
                    }
                }
            }
            Some(v) if *v == story => {}
            Some(v) => {
                let pair = vec![*v, story];
                let place = match free.pop() {
                    Some(p) => {
                        lists[p as usize] = pair;
                        p
                    }
                    None => {
                        lists.push(pair);
                        u32::try_from(lists.len() - 1).unwrap_or(u32::MAX) & !LIST
                    }
                };
                *v = place | LIST;
            }
        }
    }

    /// Keeps the (term, story) entries `keep` accepts (expiry).
    pub(crate) fn retain(&mut self, keep: impl Fn(T, u32) -> bool) {
        let Self { map, lists, free } = self;
        map.retain(|&term, v| {
            if *v & LIST == 0 {
                return keep(term, *v);
            }
            let place = *v & !LIST;
            let list = &mut lists[place as usize];
            list.retain(|&s| keep(term, s));
            match list.len() {
                0 | 1 => {
                    let last = list.first().copied();
                    *list = Vec::new();
                    free.push(place);
                    match last {
                        Some(s) => {
                            *v = s;
                            true
                        }
                        None => false,
                    }
                }
                _ => {
                    list.shrink_to_fit();
                    true
                }
            }
        });
    }

    pub(crate) fn shrink_to_fit(&mut self) {
        self.map.shrink_to_fit();
        // Freed lists at the end are dropped; those in the middle stay (empty, 24 bytes)
        // for the next lists to reuse.
        while self.lists.last().is_some_and(Vec::is_empty) {
            self.lists.pop();
            let end = u32::try_from(self.lists.len()).unwrap_or(u32::MAX);
            self.free.retain(|&p| p != end);
        }
        self.lists.shrink_to_fit();
        self.free.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_story_inline_then_a_list_cut_to_the_most_recent() {
        let mut p = TermPostings::<u32>::default();
        assert!(p.get(1).is_empty());
        p.push(1, 10, 4);
        p.push(1, 10, 4);
        assert_eq!(p.get(1), &[10]);
        p.push(1, 11, 4);
        p.push(1, 11, 4);
        assert_eq!(p.get(1), &[10, 11]);
        for s in 12..19 {
            p.push(1, s, 4);
        }
        // Nine entries are more than twice four: cut to the four newest.
        assert_eq!(p.get(1), &[15, 16, 17, 18]);
        p.push(2, 10, 4);
        assert_eq!(p.get(2), &[10]);
        assert!(p.contains(2) && !p.contains(3));
    }

    #[test]
    fn expiry_shrinks_lists_back_to_single_stories_and_reuses_their_places() {
        let mut p = TermPostings::<u32>::default();
        for term in 0..3 {
            p.push(term, 1, 8);
            p.push(term, 2, 8);
        }
        p.push(3, 7, 8);
        // Story 1 leaves term 0, every story term 1, story 7 everything.
        p.retain(|term, s| match term {
            0 => s != 1,
            1 => false,
            _ => s != 7,
        });
        assert_eq!(p.get(0), &[2]);
        assert!(p.get(1).is_empty() && !p.contains(1));
        assert_eq!(p.get(2), &[1, 2]);
        assert!(!p.contains(3));
        p.shrink_to_fit();
        // Two lists were freed; a new one takes a freed place.
        p.push(5, 3, 8);
        p.push(5, 4, 8);
        assert_eq!(p.get(5), &[3, 4]);
        assert_eq!(p.get(2), &[1, 2]);
        assert_eq!(p.lists.iter().filter(|l| !l.is_empty()).count(), 2);
    }
}
