//! Interned next-hop lists for the FIB manager: a table of a million
//! routes uses a handful of distinct lists, so a route holds a `u32` id.
//!
//! The manager's table of resolved lists is the one interning of the next
//! hops we write: a backend that keeps a kernel object per list keys it by
//! the list's [`ListId`] and keeps no list of its own. So that an id always
//! means one list to the backend, the id of a freed resolved list is
//! *retired* and reused only after the backend has been told it is free
//! ([`Lists::retire`], [`Lists::recycle`]).

use std::hash::Hash;

use hashbrown::HashMap as FastMap;

/// "No list": a prefix not wanted, or not installed.
pub(super) const NONE: u32 = u32::MAX;

/// The id of one of the FIB manager's interned next-hop lists: every route
/// written with the same (resolved, sorted) next hops names the same id,
/// for as long as a route, a batch in flight or a cached resolution holds
/// the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ListId(pub(super) u32);

impl ListId {
    /// The id as an index (ids are dense, from 0).
    pub(super) fn index(self) -> usize {
        self.0 as usize
    }
}

/// Interned, reference-counted lists.
#[derive(Debug)]
pub(super) struct Lists<T> {
    /// Each id's list and reference count (an empty list when free).
    pub(super) slots: Vec<(Box<[T]>, u32)>,
    /// Ids free for reuse.
    pub(super) free: Vec<u32>,
    /// Ids by list.
    pub(super) index: FastMap<Box<[T]>, u32>,
}

impl<T: Clone + Eq + Hash> Lists<T> {
    /// An empty table.
    pub(super) fn new() -> Self {
        Lists {
            slots: Vec::new(),
            free: Vec::new(),
            index: FastMap::default(),
        }
    }

    /// The id of `items`, with one more reference.
    pub(super) fn intern(&mut self, items: &[T]) -> u32 {
        if let Some(&id) = self.index.get(items) {
            self.slots[id as usize].1 += 1;
            return id;
        }
        let boxed: Box<[T]> = items.into();
        let id = match self.free.pop() {
            Some(id) => {
                self.slots[id as usize] = (boxed.clone(), 1);
                id
            }
            None => {
                self.slots.push((boxed.clone(), 1));
                u32::try_from(self.slots.len() - 1).unwrap_or(NONE)
            }
        };
        self.index.insert(boxed, id);
        id
    }

    /// One more reference to `id` (no-op for [`NONE`]).
    pub(super) fn retain(&mut self, id: u32) {
        if let Some(slot) = self.slots.get_mut(id as usize) {
            slot.1 += 1;
        }
    }

    /// One reference less; the list, when that freed it (its id is free
    /// for reuse at once).
    pub(super) fn release(&mut self, id: u32) -> Option<Box<[T]>> {
        let items = self.retire(id)?;
        self.free.push(id);
        Some(items)
    }

    /// One reference less; the list, when that freed it. The id is not
    /// reused before [`Lists::recycle`].
    pub(super) fn retire(&mut self, id: u32) -> Option<Box<[T]>> {
        let slot = self.slots.get_mut(id as usize)?;
        slot.1 -= 1;
        if slot.1 > 0 {
            return None;
        }
        let items = std::mem::take(&mut slot.0);
        self.index.remove(&items);
        Some(items)
    }

    /// Makes the id of a retired list free for reuse.
    pub(super) fn recycle(&mut self, id: u32) {
        self.free.push(id);
    }

    /// The list (empty for [`NONE`]).
    pub(super) fn get(&self, id: u32) -> &[T] {
        self.slots.get(id as usize).map_or(&[], |s| &s.0)
    }
}
