//! Per-family containers keyed by prefix for the FIB manager: an IPv4 key
//! takes 8 bytes where a [`Prefix`] takes 20, and a full table holds a
//! million of them (the manager's map and its queue of dirty prefixes).
//!
//! The map is split into [`SHARDS`] hash tables by a few bits of the key's
//! hash. Each grows on its own, so the map never holds an old and a new
//! table of all its entries at once: a hash table grows by allocating one
//! twice its size and moving every entry, and at a million routes that
//! step held ~66 MB for a map of ~44.

use bgp_proto::{Ipv4Prefix, Ipv6Prefix, Prefix};
use hashbrown::hash_table::Entry as TableEntry;
use hashbrown::{DefaultHashBuilder, HashTable};
use std::hash::{BuildHasher, Hash};

/// Hash tables per family.
const SHARDS: usize = 16;

/// Which bits of the hash pick the shard: neither the low ones (a table's
/// bucket index) nor the top seven (its control bytes), so entries spread
/// within a shard as they would in one table.
const SHARD_SHIFT: u32 = 40;

/// A hash map in [`SHARDS`] tables.
#[derive(Debug)]
struct Sharded<K, V> {
    hasher: DefaultHashBuilder,
    shards: [HashTable<(K, V)>; SHARDS],
}

impl<K, V> Default for Sharded<K, V> {
    fn default() -> Self {
        Sharded {
            hasher: DefaultHashBuilder::default(),
            shards: std::array::from_fn(|_| HashTable::new()),
        }
    }
}

impl<K: Hash + Eq, V> Sharded<K, V> {
    /// The key's hash and shard.
    fn locate(&self, k: &K) -> (u64, usize) {
        let h = self.hasher.hash_one(k);
        (h, (h >> SHARD_SHIFT) as usize % SHARDS)
    }

    fn get(&self, k: &K) -> Option<&V> {
        let (h, s) = self.locate(k);
        self.shards[s].find(h, |e| e.0 == *k).map(|e| &e.1)
    }

    fn get_mut(&mut self, k: &K) -> Option<&mut V> {
        let (h, s) = self.locate(k);
        self.shards[s].find_mut(h, |e| e.0 == *k).map(|e| &mut e.1)
    }

    fn get_or_insert(&mut self, k: K, empty: V) -> &mut V {
        let (h, s) = self.locate(&k);
        let hasher = &self.hasher;
        match self.shards[s].entry(h, |e| e.0 == k, |e| hasher.hash_one(&e.0)) {
            TableEntry::Occupied(o) => &mut o.into_mut().1,
            TableEntry::Vacant(v) => &mut v.insert((k, empty)).into_mut().1,
        }
    }

    fn remove(&mut self, k: &K) -> Option<V> {
        let (h, s) = self.locate(k);
        let found = self.shards[s].find_entry(h, |e| e.0 == *k).ok()?;
        Some(found.remove().0 .1)
    }

    #[cfg(test)]
    fn is_empty(&self) -> bool {
        self.shards.iter().all(HashTable::is_empty)
    }

    fn iter(&self) -> impl Iterator<Item = &(K, V)> {
        self.shards.iter().flat_map(HashTable::iter)
    }

    fn iter_mut(&mut self) -> impl Iterator<Item = &mut (K, V)> {
        self.shards.iter_mut().flat_map(HashTable::iter_mut)
    }

    fn retain(&mut self, mut keep: impl FnMut(&mut V) -> bool) {
        for s in &mut self.shards {
            s.retain(|e| keep(&mut e.1));
        }
    }
}

/// A map from prefix to `V`, one sharded hash map per family.
#[derive(Debug)]
pub(super) struct PrefixMap<V> {
    v4: Sharded<Ipv4Prefix, V>,
    v6: Sharded<Ipv6Prefix, V>,
}

impl<V> Default for PrefixMap<V> {
    fn default() -> Self {
        PrefixMap {
            v4: Sharded::default(),
            v6: Sharded::default(),
        }
    }
}

impl<V> PrefixMap<V> {
    /// The value of `prefix`.
    pub fn get(&self, prefix: &Prefix) -> Option<&V> {
        match prefix {
            Prefix::V4(p) => self.v4.get(p),
            Prefix::V6(p) => self.v6.get(p),
        }
    }

    /// The value of `prefix`, mutable.
    pub fn get_mut(&mut self, prefix: &Prefix) -> Option<&mut V> {
        match prefix {
            Prefix::V4(p) => self.v4.get_mut(p),
            Prefix::V6(p) => self.v6.get_mut(p),
        }
    }

    /// The value of `prefix`, inserting `empty` first if there is none.
    pub fn get_or_insert(&mut self, prefix: Prefix, empty: V) -> &mut V {
        match prefix {
            Prefix::V4(p) => self.v4.get_or_insert(p, empty),
            Prefix::V6(p) => self.v6.get_or_insert(p, empty),
        }
    }

    /// Removes `prefix`.
    pub fn remove(&mut self, prefix: &Prefix) -> Option<V> {
        match prefix {
            Prefix::V4(p) => self.v4.remove(p),
            Prefix::V6(p) => self.v6.remove(p),
        }
    }

    /// Whether the map is empty.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.v4.is_empty() && self.v6.is_empty()
    }

    /// Every prefix and its value (IPv4 first, otherwise in no order).
    pub fn iter(&self) -> impl Iterator<Item = (Prefix, &V)> {
        let v4 = self.v4.iter().map(|(p, v)| (Prefix::V4(*p), v));
        let v6 = self.v6.iter().map(|(p, v)| (Prefix::V6(*p), v));
        v4.chain(v6)
    }

    /// Every prefix and its value, mutable.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (Prefix, &mut V)> {
        let v4 = self.v4.iter_mut().map(|(p, v)| (Prefix::V4(*p), v));
        let v6 = self.v6.iter_mut().map(|(p, v)| (Prefix::V6(*p), v));
        v4.chain(v6)
    }

    /// Every prefix.
    pub fn keys(&self) -> impl Iterator<Item = Prefix> + '_ {
        self.iter().map(|(p, _)| p)
    }

    /// Keeps the entries for which `keep` holds.
    pub fn retain(&mut self, mut keep: impl FnMut(&mut V) -> bool) {
        self.v4.retain(&mut keep);
        self.v6.retain(&mut keep);
    }
}

/// A queue of prefixes, one vector per family; taken in batches, IPv4
/// first (each family in the order pushed).
#[derive(Debug, Default)]
pub(super) struct PrefixQueue {
    v4: Vec<Ipv4Prefix>,
    v6: Vec<Ipv6Prefix>,
    /// Taken so far of each.
    next4: usize,
    next6: usize,
}

impl PrefixQueue {
    /// Appends `prefix`.
    pub fn push(&mut self, prefix: Prefix) {
        match prefix {
            Prefix::V4(p) => self.v4.push(p),
            Prefix::V6(p) => self.v6.push(p),
        }
    }

    /// How many prefixes are left to take.
    pub fn len(&self) -> usize {
        self.v4.len().saturating_sub(self.next4) + self.v6.len().saturating_sub(self.next6)
    }

    /// Whether prefixes are left to take.
    pub fn has_pending(&self) -> bool {
        self.next4 < self.v4.len() || self.next6 < self.v6.len()
    }

    /// Takes up to `max` prefixes (at least one, if any is left); the
    /// queue empties itself (keeping its memory) once all are taken.
    pub fn take(&mut self, max: usize) -> Vec<Prefix> {
        let max = max.max(1);
        let end4 = self.v4.len().min(self.next4 + max);
        let v4 = self.v4.get(self.next4..end4).unwrap_or_default();
        let end6 = self.v6.len().min(self.next6 + (max - v4.len()));
        let v6 = self.v6.get(self.next6..end6).unwrap_or_default();
        let out = v4
            .iter()
            .map(|p| Prefix::V4(*p))
            .chain(v6.iter().map(|p| Prefix::V6(*p)))
            .collect();
        (self.next4, self.next6) = (end4, end6);
        if !self.has_pending() {
            self.clear();
        }
        out
    }

    /// Empties the queue.
    pub fn clear(&mut self) {
        self.v4.clear();
        self.v6.clear();
        (self.next4, self.next6) = (0, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Prefix {
        let (a, l) = s.split_once('/').unwrap();
        Prefix::new(a.parse().unwrap(), l.parse().unwrap()).unwrap()
    }

    #[test]
    fn map_keeps_both_families_apart_and_together() {
        let mut m: PrefixMap<u32> = PrefixMap::default();
        *m.get_or_insert(p("10.0.0.0/24"), 0) += 1;
        *m.get_or_insert(p("10.0.0.0/24"), 0) += 1;
        *m.get_or_insert(p("2001:db8::/48"), 7) += 1;
        assert_eq!(m.get(&p("10.0.0.0/24")), Some(&2));
        assert_eq!(m.get(&p("2001:db8::/48")), Some(&8));
        assert_eq!(m.get(&p("10.0.0.0/25")), None);
        let mut keys: Vec<Prefix> = m.keys().collect();
        keys.sort_unstable();
        assert_eq!(keys, vec![p("10.0.0.0/24"), p("2001:db8::/48")]);
        for (_, v) in m.iter_mut() {
            *v *= 10;
        }
        m.retain(|v| *v > 50);
        assert_eq!(m.get(&p("10.0.0.0/24")), None);
        assert_eq!(m.remove(&p("2001:db8::/48")), Some(80));
        assert_eq!(m.iter().count(), 0);
    }

    /// Many entries over the shards: each is found, changed and removed
    /// by its own key, and every shard takes some.
    #[test]
    fn a_large_map_spreads_over_its_shards_and_finds_every_entry() {
        let mut m: PrefixMap<u32> = PrefixMap::default();
        let key = |i: u32| Prefix::new(std::net::Ipv4Addr::from(i << 8).into(), 24).unwrap();
        for i in 0..20_000 {
            *m.get_or_insert(key(i), i) += 1;
        }
        assert!(m.v4.shards.iter().all(|s| s.len() > 20_000 / SHARDS / 2));
        assert_eq!(m.iter().count(), 20_000);
        for i in 0..20_000 {
            assert_eq!(m.get(&key(i)), Some(&(i + 1)));
        }
        for i in (0..20_000).step_by(2) {
            assert_eq!(m.remove(&key(i)), Some(i + 1));
        }
        assert_eq!(m.get(&key(2)), None);
        assert_eq!(m.get_mut(&key(3)).copied(), Some(4));
        m.retain(|v| *v % 4 == 0);
        assert_eq!(m.iter().count(), 5_000);
        assert!(m.keys().all(|p| m.get(&p).is_some_and(|v| v % 4 == 0)));
    }

    #[test]
    fn queue_hands_out_batches_ipv4_first_then_resets() {
        let mut q = PrefixQueue::default();
        assert!(!q.has_pending());
        assert!(q.take(10).is_empty());
        for s in [
            "2001:db8:1::/48",
            "10.0.1.0/24",
            "2001:db8:2::/48",
            "10.0.2.0/24",
            "10.0.3.0/24",
        ] {
            q.push(p(s));
        }
        assert_eq!(q.take(2), vec![p("10.0.1.0/24"), p("10.0.2.0/24")]);
        // A batch straddling the families.
        assert_eq!(q.take(2), vec![p("10.0.3.0/24"), p("2001:db8:1::/48")]);
        // Pushed while being taken: still taken, IPv4 first.
        q.push(p("10.0.4.0/24"));
        assert!(q.has_pending());
        assert_eq!(q.take(0), vec![p("10.0.4.0/24")]);
        assert_eq!(q.take(5), vec![p("2001:db8:2::/48")]);
        assert!(!q.has_pending());
        assert!(q.take(5).is_empty());
        // Emptied: starts again from the beginning.
        q.push(p("10.0.5.0/24"));
        assert_eq!(q.take(5), vec![p("10.0.5.0/24")]);
    }
}
