//! A compact multimap from hashed keys to article numbers: what lets the duplicate index
//! hold millions of articles in a few hundred bytes each.
//!
//! Most entries live in one sorted pair of arrays (key, value) with a small radix
//! directory over the keys' top bits: 8 bytes an entry for 32-bit keys, 12 for 64-bit,
//! and a lookup touches the directory and one short run of keys. New entries go to a
//! hash map first and are merged into the arrays when it reaches a sixteenth of them, so
//! inserting stays amortized O(1) and the map never holds more than a fraction.

use std::collections::HashMap;
use std::hash::Hash;

/// Merge at least this many recent entries at a time, so a small index is not
/// re-sorted on every insert.
const MIN_RECENT: usize = 4096;
/// Merge when the recent entries reach this fraction of the merged ones: a merge copies
/// the arrays, so merging more often costs time, less often costs the map's larger
/// per-entry memory.
const MERGE_FRACTION: usize = 16;
/// Aim for about this many keys per directory bucket: 16 u32 keys are one cache line.
const BUCKET: usize = 16;

pub(crate) trait Key: Copy + Ord + Hash {
    /// The key's top `bits` bits (keys are well-mixed hashes, so these are uniform).
    fn top(self, bits: u32) -> usize;
}

impl Key for u32 {
    fn top(self, bits: u32) -> usize {
        if bits == 0 {
            0
        } else {
            (self >> (32 - bits)) as usize
        }
    }
}

impl Key for u64 {
    fn top(self, bits: u32) -> usize {
        if bits == 0 {
            0
        } else {
            (self >> (64 - bits)) as usize
        }
    }
}

pub(crate) struct KeyIndex<K> {
    keys: Vec<K>,
    values: Vec<u32>,
    /// `directory[b]..directory[b + 1]` is the run of keys whose top `bits` bits are `b`.
    directory: Vec<u32>,
    bits: u32,
    /// Entries not merged yet: one value per key here, and the further values of a key
    /// (rare: only similar articles share a band key) in `repeated`.
    recent: HashMap<K, u32>,
    repeated: HashMap<K, Vec<u32>>,
    recent_len: usize,
}

impl<K: Key> Default for KeyIndex<K> {
    fn default() -> Self {
        Self {
            keys: Vec::new(),
            values: Vec::new(),
            directory: vec![0, 0],
            bits: 0,
            recent: HashMap::new(),
            repeated: HashMap::new(),
            recent_len: 0,
        }
    }
}

impl<K: Key> KeyIndex<K> {
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.keys.len() + self.recent_len
    }

    pub(crate) fn insert(&mut self, key: K, value: u32) {
        if let Some(first) = self.recent.insert(key, value) {
            // Keep the first value in `recent`, the others beside it.
            self.recent.insert(key, first);
            self.repeated.entry(key).or_default().push(value);
        }
        self.recent_len += 1;
        if self.recent_len >= (self.keys.len() / MERGE_FRACTION).max(MIN_RECENT) {
            self.merge();
        }
    }

    /// Calls `f` with every value stored under `key`.
    pub(crate) fn get(&self, key: K, mut f: impl FnMut(u32)) {
        if let Some(&v) = self.recent.get(&key) {
            f(v);
            if !self.repeated.is_empty() {
                if let Some(more) = self.repeated.get(&key) {
                    more.iter().copied().for_each(&mut f);
                }
            }
        }
        let b = key.top(self.bits);
        let (lo, hi) = (self.directory[b] as usize, self.directory[b + 1] as usize);
        let run = &self.keys[lo..hi];
        let start = run.partition_point(|k| *k < key);
        for (i, k) in run[start..].iter().enumerate() {
            if *k != key {
                break;
            }
            f(self.values[lo + start + i]);
        }
    }

    /// Calls `f` with at most `max` of the values stored under `key`, the most recently
    /// inserted first (values keep insertion order within a key, in `repeated` and in the
    /// merged run alike).
    /// One key at a time, for the tests; lookups go through [`KeyIndex::get_newest_each`].
    #[cfg(test)]
    pub(crate) fn get_newest(&self, key: K, max: usize, f: impl FnMut(u32)) {
        let (lo, hi) = self.run(key);
        self.get_newest_recent_first(key, self.recent.get(&key).copied(), lo, hi, max, f);
    }

    /// [`KeyIndex::get_newest`] with `key`'s first value among the recent entries and its
    /// run of the merged arrays already found.
    fn get_newest_recent_first(
        &self,
        key: K,
        recent: Option<u32>,
        lo: usize,
        hi: usize,
        max: usize,
        mut f: impl FnMut(u32),
    ) {
        let mut left = max;
        if left == 0 {
            return;
        }
        if let Some(first) = recent {
            if let Some(more) = self.repeated.get(&key) {
                for &v in more.iter().rev() {
                    f(v);
                    left -= 1;
                    if left == 0 {
                        return;
                    }
                }
            }
            f(first);
            left -= 1;
            if left == 0 {
                return;
            }
        }
        self.get_newest_in(key, lo, hi, left, f);
    }

    /// The range of the merged arrays where `key`'s top bits put it.
    fn run(&self, key: K) -> (usize, usize) {
        let b = key.top(self.bits);
        (self.directory[b] as usize, self.directory[b + 1] as usize)
    }

    /// The merged part of [`KeyIndex::get_newest`]: at most `left` values.
    fn get_newest_in(&self, key: K, lo: usize, hi: usize, left: usize, mut f: impl FnMut(u32)) {
        let run = &self.keys[lo..hi];
        let end = lo + run.partition_point(|k| *k <= key);
        let start = lo + run.partition_point(|k| *k < key);
        for &v in self.values[start.max(end.saturating_sub(left))..end]
            .iter()
            .rev()
        {
            f(v);
        }
    }

    /// [`KeyIndex::get_newest`] of `keys[i]` in `indexes[i]`, for each `i`, `f` told `i`.
    /// In a large index one lookup is a few cache misses, each waiting for the one
    /// before (the directory, then the run of keys); reading every index's directory
    /// entry, then the middle of every run, where its search starts, before the lookups
    /// proper has those misses in flight together instead of one index after another.
    pub(crate) fn get_newest_each(
        indexes: &[KeyIndex<K>],
        keys: &[K],
        max: usize,
        mut f: impl FnMut(usize, u32),
    ) {
        const BATCH: usize = 32;
        for (batch, (indexes, keys)) in indexes.chunks(BATCH).zip(keys.chunks(BATCH)).enumerate() {
            let mut runs = [(0usize, 0usize); BATCH];
            for ((index, key), run) in indexes.iter().zip(keys).zip(runs.iter_mut()) {
                *run = index.run(*key);
            }
            let mut touched = 0usize;
            for (index, &(lo, hi)) in indexes.iter().zip(&runs) {
                if lo < hi {
                    touched ^= index.keys[lo + (hi - lo) / 2].top(1);
                }
            }
            // Only the loads matter; this keeps the compiler from dropping them.
            std::hint::black_box(touched);
            // The maps of recent entries, in a loop of their own for the same reason.
            let mut recent = [None; BATCH];
            for ((index, key), first) in indexes.iter().zip(keys).zip(recent.iter_mut()) {
                *first = index.recent.get(key).copied();
            }
            for (i, (((index, key), &(lo, hi)), first)) in
                indexes.iter().zip(keys).zip(&runs).zip(recent).enumerate()
            {
                let i = batch * BATCH + i;
                index.get_newest_recent_first(*key, first, lo, hi, max, |v| f(i, v));
            }
        }
    }

    /// Keeps only the values `keep` accepts (expiry).
    pub(crate) fn retain(&mut self, keep: impl Fn(u32) -> bool) {
        self.retain_map(|v| keep(v).then_some(v));
    }

    /// Keeps the values `f` maps to `Some`, replaced by what it maps them to. `f` must
    /// keep the order of the values it keeps (a renumbering that closes gaps does), as
    /// values within a key stay in insertion order.
    pub(crate) fn retain_map(&mut self, f: impl Fn(u32) -> Option<u32>) {
        self.merge();
        let mut w = 0;
        for r in 0..self.keys.len() {
            if let Some(v) = f(self.values[r]) {
                self.keys[w] = self.keys[r];
                self.values[w] = v;
                w += 1;
            }
        }
        self.keys.truncate(w);
        self.values.truncate(w);
        self.keys.shrink_to_fit();
        self.values.shrink_to_fit();
        self.rebuild_directory();
    }

    fn merge(&mut self) {
        if self.recent_len == 0 {
            return;
        }
        let mut fresh: Vec<(K, u32)> = Vec::with_capacity(self.recent_len);
        fresh.extend(self.recent.drain());
        for (k, values) in self.repeated.drain() {
            fresh.extend(values.into_iter().map(|v| (k, v)));
        }
        self.recent_len = 0;
        fresh.sort_unstable();
        // Merged from the back into the grown arrays: no second copy of the arrays at
        // any time, and growth by `realloc` of exactly what is added (large blocks are
        // remapped, not copied or left behind as holes in the heap).
        let old = self.keys.len();
        self.keys.reserve_exact(fresh.len());
        self.values.reserve_exact(fresh.len());
        self.keys.extend(fresh.iter().map(|(k, _)| *k));
        self.values.extend(fresh.iter().map(|(_, v)| *v));
        let (mut i, mut j, mut w) = (old, fresh.len(), self.keys.len());
        while j > 0 {
            w -= 1;
            // Ties put the fresh value last: within a key, values stay in insertion order.
            if i > 0 && self.keys[i - 1] > fresh[j - 1].0 {
                i -= 1;
                self.keys[w] = self.keys[i];
                self.values[w] = self.values[i];
            } else {
                j -= 1;
                self.keys[w] = fresh[j].0;
                self.values[w] = fresh[j].1;
            }
        }
        self.rebuild_directory();
    }

    fn rebuild_directory(&mut self) {
        let n = self.keys.len();
        self.bits = if n < 2 * BUCKET {
            0
        } else {
            (n / BUCKET).ilog2().min(24)
        };
        let buckets = 1usize << self.bits;
        let mut directory = Vec::with_capacity(buckets + 1);
        let mut pos = 0usize;
        for b in 0..buckets {
            while pos < n && self.keys[pos].top(self.bits) < b {
                pos += 1;
            }
            directory.push(pos as u32);
        }
        directory.push(n as u32);
        self.directory = directory;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values<K: Key>(index: &KeyIndex<K>, key: K) -> Vec<u32> {
        let mut out = Vec::new();
        index.get(key, |v| out.push(v));
        out.sort_unstable();
        out
    }

    #[test]
    fn finds_every_value_before_and_after_merges_and_expiry() {
        let mut index = KeyIndex::<u32>::default();
        let key = |i: u32| i.wrapping_mul(0x9e37_79b9) ^ (i >> 3);
        // Enough to merge several times; every 10th key is shared by two values.
        for i in 0..50_000u32 {
            index.insert(key(i), i);
            if i % 10 == 0 {
                index.insert(key(i), i + 1_000_000);
            }
        }
        assert_eq!(index.len(), 55_000);
        assert!(index.recent_len < index.len() / 2);
        for i in (0..50_000u32).step_by(7) {
            let mut want = vec![i];
            if i % 10 == 0 {
                want.push(i + 1_000_000);
            }
            assert_eq!(values(&index, key(i)), want, "key of {i}");
        }
        assert!(values(&index, 0xdead_beef).is_empty() || key(0) == 0xdead_beef);

        index.retain(|v| (25_000..1_000_000).contains(&v));
        assert_eq!(index.len(), 25_000);
        assert!(values(&index, key(10)).is_empty());
        assert_eq!(values(&index, key(30_000)), vec![30_000]);

        // Newest first, at most as many as asked, across the map and the merged arrays.
        let mut shared = KeyIndex::<u32>::default();
        for v in 0..10_000u32 {
            shared.insert(7, v);
            shared.insert(key(v) | 8, v);
        }
        assert!(shared.recent_len > 0 && !shared.keys.is_empty());
        let newest = |index: &KeyIndex<u32>, k: u32, max: usize| {
            let mut out = Vec::new();
            index.get_newest(k, max, |v| out.push(v));
            out
        };
        assert_eq!(newest(&shared, 7, 3), vec![9_999, 9_998, 9_997]);
        let all = newest(&shared, 7, usize::MAX);
        assert_eq!(all, (0..10_000).rev().collect::<Vec<_>>());
        assert_eq!(newest(&shared, 7, 0), Vec::<u32>::new());
        // More than are unmerged: the walk goes on into the merged run, newest first.
        let n = shared.recent_len + 2;
        assert_eq!(
            newest(&shared, 7, n),
            (10_000 - n as u32..10_000).rev().collect::<Vec<_>>()
        );
        assert!(newest(&shared, 5, 10).is_empty());
        // Batched over several indexes: each key's values as it alone would give them.
        let indexes = [shared, index];
        let keys = [7, key(30_000)];
        let mut each = [Vec::new(), Vec::new()];
        KeyIndex::get_newest_each(&indexes, &keys, 5, |i, v| each[i].push(v));
        assert_eq!(each[0], newest(&indexes[0], 7, 5));
        assert_eq!(each[1], vec![30_000]);

        let mut wide = KeyIndex::<u64>::default();
        wide.insert(u64::MAX, 1);
        wide.insert(0, 2);
        wide.retain(|_| true);
        assert_eq!(values(&wide, u64::MAX), vec![1]);
        assert_eq!(values(&wide, 0), vec![2]);
    }
}
