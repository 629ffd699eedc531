//! ADD-PATH send (RFC 7911): to a peer that negotiated it, each prefix goes
//! out as its best path and the other members of its multipath group, up
//! to the peer's limit, each under a path identifier of its own.
//!
//! Path identifiers are stable: one is derived from where the path came
//! from (its source peer slot and the identifier it arrived with), so a
//! path keeps its identifier while other paths of the prefix come and go,
//! and a changed path is an implicit withdraw of itself (RFC 7911 5).
//!
//! The peer's Adj-RIB-Out cell for the prefix holds the first path sent
//! (so that counts, `adj_rib_out` and the table's bookkeeping work as for
//! any peer); the whole set sent lives in `FamilyTable::adj_paths`, one
//! reference per attribute id held.

use crate::export::ExportBatch;
use crate::rib::Core;
use crate::table::{FamilyTable, Key, PathEntry, BEST, MULTIPATH};
use bgp_proto::types::{Family, Nlri, Prefix};
use hashbrown::HashMap;
use smallvec::SmallVec;
use std::sync::Arc;

/// Paths sent for one prefix: (path identifier, outgoing attribute id).
pub(crate) type SentPaths = SmallVec<[(u32, u32); 4]>;

/// What `slot` was sent per route id, for an ADD-PATH peer.
pub(crate) type AdjPaths = HashMap<u32, SentPaths>;

/// The path identifier of the path of source slot `peer` that arrived with
/// identifier `rx` (0 from a peer without ADD-PATH). While `rx` fits 16
/// bits, as it nearly always does, it is injective and never 0; a larger
/// one may collide with another path of the prefix, and `export_paths`
/// then picks the next free identifier for it.
fn path_id_of(peer: u16, rx: u32) -> u32 {
    ((u32::from(peer) + 1) << 16) ^ rx
}

impl Core {
    /// How many paths of each prefix of `family` go to `slot`, if it
    /// negotiated ADD-PATH send for the family.
    pub(crate) fn add_path_limit(&self, slot: u16, family: Family) -> Option<usize> {
        let p = self.peer(slot)?;
        (p.info.add_path_max > 0 && p.info.add_path_send.contains(&family))
            .then_some(p.info.add_path_max)
    }

    /// [`Core::export_ids`] for a peer with ADD-PATH send: the paths to
    /// send for each route id, compared with those sent.
    pub(crate) fn export_paths<K: Key>(
        &mut self,
        t: &mut FamilyTable<K>,
        slot: u16,
        ids: impl IntoIterator<Item = u32>,
        force: bool,
        limit: usize,
        out: &mut Vec<ExportBatch>,
    ) {
        let s = usize::from(slot);
        let own_default = self.peer(slot).is_some_and(|p| p.info.default_originate);
        let mut sent = std::mem::take(t.adj_paths_mut(s));
        let mut withdrawn: Vec<Nlri> = Vec::new();
        let mut groups: HashMap<u32, Vec<Nlri>> = HashMap::new();
        for id in ids {
            let Some(key) = t.key(id) else { continue };
            let prefix: Prefix = key.into();
            let mut want = SentPaths::new();
            if !(own_default && prefix.is_empty()) {
                // The best path first (the list holds it first), then the
                // other members; those the peer may not have do not count.
                let chosen: SmallVec<[PathEntry; 4]> = t
                    .paths(id)
                    .map(|l| {
                        l.as_slice()
                            .iter()
                            .filter(|e| e.has(BEST) || e.has(MULTIPATH))
                            .copied()
                            .collect()
                    })
                    .unwrap_or_default();
                for e in chosen {
                    if want.len() >= limit {
                        break;
                    }
                    let Some(target) = self.peer(slot) else { break };
                    let Some(r) = self.export_route(target, slot, &e, key) else {
                        continue;
                    };
                    let mut pid = path_id_of(e.peer, e.path_id);
                    // Only an identifier past 16 bits can collide.
                    while want.iter().any(|(p, _)| *p == pid) {
                        pid = pid.wrapping_add(0x0001_0000) | 1;
                    }
                    want.push((pid, self.attrs.intern(&r)));
                }
            }
            let had = sent.remove(&id).unwrap_or_default();
            for &(pid, attr) in &had {
                if !want.iter().any(|(p, _)| *p == pid) {
                    withdrawn.push(Nlri {
                        prefix,
                        path_id: pid,
                    });
                }
                self.attrs.release(attr);
            }
            for &(pid, attr) in &want {
                if force || !had.contains(&(pid, attr)) {
                    groups.entry(attr).or_default().push(Nlri {
                        prefix,
                        path_id: pid,
                    });
                }
            }
            // The cell holds the first path sent, with its own reference.
            let first = want.first().map(|&(_, a)| a);
            if let Some(a) = first {
                self.attrs.acquire(a);
            }
            if let Some(old) = t.adj_set(s, id, first) {
                self.attrs.release(old);
            }
            if !want.is_empty() {
                sent.insert(id, want);
            }
        }
        *t.adj_paths_mut(s) = sent;
        if !withdrawn.is_empty() {
            withdrawn.sort_unstable();
            out.push(ExportBatch::Withdraw {
                family: K::FAMILY,
                nlri: withdrawn,
            });
        }
        let mut groups: Vec<(u32, Vec<Nlri>)> = groups.into_iter().collect();
        groups.sort_unstable_by_key(|(a, _)| *a);
        for (attr, mut nlri) in groups {
            let Some(route) = self.attrs.get(attr) else {
                continue;
            };
            nlri.sort_unstable();
            out.push(ExportBatch::Announce {
                family: K::FAMILY,
                route: Arc::new(route),
                nlri,
            });
        }
    }

    /// Releases every path `slot` was sent (its session ended).
    pub(crate) fn drop_adj_paths<K: Key>(&mut self, t: &mut FamilyTable<K>, slot: u16) {
        for (_, paths) in std::mem::take(t.adj_paths_mut(usize::from(slot))) {
            for (_, attr) in paths {
                self.attrs.release(attr);
            }
        }
    }
}
