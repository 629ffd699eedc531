//! Read-only views for rbgpctl and metrics: Loc-RIB entries with all their
//! paths, longest-prefix match, Adj-RIB-Out, per-peer counters, sizes.

use crate::attrs::RouteAttrs;
use crate::decision::{compare, Reason};
use crate::rib::{fam_idx, Core, PeerCounts, Rib, RibError};
use crate::table::{FamilyTable, Key, PathList, BEST, MULTIPATH, REJECTED, STALE};
use bgp_proto::types::{Family, Prefix};
use std::net::IpAddr;
use std::sync::Arc;

/// One path of a prefix, as rbgpctl shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathView {
    /// The peer's id.
    pub peer: u32,
    /// The peer's address.
    pub peer_addr: IpAddr,
    /// ADD-PATH identifier as received (0 without ADD-PATH).
    pub path_id: u32,
    /// Attributes (after import policy) and next hop.
    pub route: Arc<RouteAttrs>,
    /// The best path.
    pub best: bool,
    /// In the ECMP group (the best path too).
    pub multipath: bool,
    /// Stale (peer restarting).
    pub stale: bool,
    /// Clock value ([`Rib::set_clock`]) when the path arrived or last
    /// changed attributes.
    pub since: u32,
    /// For a path that is not best: the decision step it lost at.
    pub reason: Option<Reason>,
    /// The kernel table of the peer's routes ([`crate::PeerInfo::fib_table`]).
    pub fib_table: u32,
}

/// A Loc-RIB entry: a prefix and its accepted paths, best first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteView {
    /// The prefix.
    pub prefix: Prefix,
    /// Accepted paths, best first, then the multipath group.
    pub paths: Vec<PathView>,
}

/// A host route (/32, /128: a service address) and who announces it, for
/// cluster views and the ECMP width metric.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostRoute {
    /// The prefix.
    pub prefix: Prefix,
    /// The ids of the peers whose paths are candidates (accepted, next hop
    /// reachable), one per path.
    pub announcers: Vec<u32>,
    /// Paths in the ECMP group (the next hops the FIB is given).
    pub ecmp_width: usize,
}

/// Sizes of the RIB, for metrics and the memory benchmark.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RibStats {
    /// IPv4 prefixes with at least one path (accepted or not).
    pub prefixes_v4: usize,
    /// IPv6 prefixes with at least one path.
    pub prefixes_v6: usize,
    /// Paths of all peers.
    pub paths: usize,
    /// Distinct interned attribute sets.
    pub attr_sets: usize,
    /// Estimated heap bytes of the prefix tables (without attribute sets).
    pub table_bytes: usize,
}

impl Core {
    fn view<K: Key>(&self, key: K, list: &PathList) -> Option<RouteView> {
        let entries = list.as_slice();
        let best = entries
            .iter()
            .find(|e| e.has(BEST))
            .map(|e| self.candidate(e));
        let acm = self.decision.always_compare_med;
        let paths: Vec<PathView> = entries
            .iter()
            .filter(|e| !e.has(REJECTED))
            .filter_map(|e| {
                let peer = self.peer(e.peer)?;
                let reason = if e.has(BEST) {
                    None
                } else if self.unreachable.contains(&self.attrs.next_hop(e.attr)) {
                    Some(Reason::Unreachable)
                } else {
                    best.map(|b| compare(&b, &self.candidate(e), acm).1)
                };
                Some(PathView {
                    peer: peer.info.id,
                    peer_addr: peer.info.addr,
                    path_id: e.path_id,
                    route: Arc::new(self.attrs.get(e.attr)?),
                    best: e.has(BEST),
                    multipath: e.has(MULTIPATH),
                    stale: e.has(STALE),
                    since: e.tick,
                    reason,
                    fib_table: peer.info.fib_table,
                })
            })
            .collect();
        (!paths.is_empty()).then(|| RouteView {
            prefix: key.into(),
            paths,
        })
    }

    fn views<K: Key>(&self, t: &FamilyTable<K>) -> Vec<RouteView> {
        let mut routes: Vec<(K, &PathList)> = t.iter().map(|(_, k, l)| (k, l)).collect();
        routes.sort_unstable_by_key(|(k, _)| *k);
        routes
            .into_iter()
            .filter_map(|(k, l)| self.view(k, l))
            .collect()
    }
}

impl Rib {
    /// Loc-RIB entries of `family` (both unicast families when `None`),
    /// sorted by prefix. Prefixes with only rejected paths are left out.
    pub fn routes(&self, family: Option<Family>) -> Vec<RouteView> {
        let mut out = Vec::new();
        if family.is_none_or(|f| f == Family::IPV4_UNICAST) {
            out.extend(self.core.views(&self.v4));
        }
        if family.is_none_or(|f| f == Family::IPV6_UNICAST) {
            out.extend(self.core.views(&self.v6));
        }
        out
    }

    /// The entry of exactly `prefix`.
    pub fn route(&self, prefix: Prefix) -> Option<RouteView> {
        match prefix {
            Prefix::V4(p) => self.v4.get(p).and_then(|l| self.core.view(p, l)),
            Prefix::V6(p) => self.v6.get(p).and_then(|l| self.core.view(p, l)),
        }
    }

    /// The first `limit` host routes (IPv4 then IPv6, by prefix) with at
    /// least one candidate path.
    pub fn host_routes(&self, limit: usize) -> Vec<HostRoute> {
        fn hosts<K: Key>(core: &Core, t: &FamilyTable<K>, limit: usize, out: &mut Vec<HostRoute>) {
            let want = limit.saturating_sub(out.len());
            // Host routes with a candidate; only the first `want` by
            // prefix are sorted (the rest is cut off unsorted, O(n)).
            let mut hosts: Vec<(K, &PathList)> = t
                .iter()
                .filter(|(_, k, l)| {
                    let p: Prefix = (*k).into();
                    p.len() == K::MAX_LEN && l.as_slice().iter().any(|e| core.eligible(e))
                })
                .map(|(_, k, l)| (k, l))
                .collect();
            if hosts.len() > want {
                hosts.select_nth_unstable_by_key(want, |(k, _)| *k);
                hosts.truncate(want);
            }
            hosts.sort_unstable_by_key(|(k, _)| *k);
            for (k, list) in hosts {
                let entries = list.as_slice();
                out.push(HostRoute {
                    prefix: k.into(),
                    announcers: entries
                        .iter()
                        .filter(|e| core.eligible(e))
                        .filter_map(|e| core.peer(e.peer).map(|p| p.info.id))
                        .collect(),
                    ecmp_width: entries.iter().filter(|e| e.has(MULTIPATH)).count(),
                });
            }
        }
        let mut out = Vec::new();
        if limit == 0 {
            return out;
        }
        hosts(&self.core, &self.v4, limit, &mut out);
        hosts(&self.core, &self.v6, limit, &mut out);
        out
    }

    /// Longest-prefix match: the most specific entry covering `ip` that has
    /// a best path.
    pub fn lookup(&self, ip: IpAddr) -> Option<RouteView> {
        fn lpm<K: Key>(core: &Core, t: &FamilyTable<K>, ip: IpAddr) -> Option<RouteView> {
            (0..=K::MAX_LEN)
                .rev()
                .filter_map(|len| K::covering(ip, len))
                .find_map(|k| {
                    let list = t.get(k)?;
                    if !list.as_slice().iter().any(|e| e.has(BEST)) {
                        return None;
                    }
                    core.view(k, list)
                })
        }
        match ip {
            IpAddr::V4(_) => lpm(&self.core, &self.v4, ip),
            IpAddr::V6(_) => lpm(&self.core, &self.v6, ip),
        }
    }

    /// What `peer` was sent and not withdrawn: prefix and outgoing
    /// attributes, sorted by prefix.
    pub fn adj_rib_out(&self, peer: u32) -> Result<Vec<(Prefix, Arc<RouteAttrs>)>, RibError> {
        let slot = self.core.slot_of(peer)?;
        fn fam<K: Key>(
            core: &Core,
            t: &FamilyTable<K>,
            slot: u16,
        ) -> Vec<(Prefix, Arc<RouteAttrs>)> {
            let view = core.groups.view(core, slot, K::FAMILY);
            let holder = view.as_ref().map_or(slot, |v| v.leader);
            let cells = t.adj_ids(usize::from(holder));
            let cells = match &view {
                Some(v) => v.split(core, cells, true),
                None => cells.collect(),
            };
            let mut v: Vec<(Prefix, Arc<RouteAttrs>)> = cells
                .into_iter()
                .filter_map(|(id, attr)| Some((t.key(id)?.into(), Arc::new(core.attrs.get(attr)?))))
                .collect();
            v.sort_unstable_by_key(|(p, _)| *p);
            v
        }
        let mut out = fam(&self.core, &self.v4, slot);
        out.extend(fam(&self.core, &self.v6, slot));
        Ok(out)
    }

    /// Counters of `peer` for IPv4 and IPv6 unicast.
    pub fn peer_counts(&self, peer: u32) -> Result<Vec<(Family, PeerCounts)>, RibError> {
        let slot = self.core.slot_of(peer)?;
        let state = self.core.peer(slot).ok_or(RibError::UnknownPeer(peer))?;
        let mut out = Vec::with_capacity(2);
        for (family, advertised) in [
            (Family::IPV4_UNICAST, self.core.advertised(&self.v4, slot)),
            (Family::IPV6_UNICAST, self.core.advertised(&self.v6, slot)),
        ] {
            let mut c = state
                .counts
                .get(fam_idx(family))
                .copied()
                .unwrap_or_default();
            c.advertised = advertised;
            out.push((family, c));
        }
        Ok(out)
    }

    /// Whether `peer` is known and its session up.
    pub fn peer_up(&self, peer: u32) -> bool {
        self.core
            .slot_of(peer)
            .ok()
            .and_then(|s| self.core.peer(s))
            .is_some_and(|p| p.up)
    }

    /// Sizes of the RIB.
    pub fn stats(&self) -> RibStats {
        RibStats {
            prefixes_v4: self.v4.len(),
            prefixes_v6: self.v6.len(),
            paths: self
                .v4
                .iter()
                .map(|(_, _, l)| l.as_slice().len())
                .sum::<usize>()
                + self
                    .v6
                    .iter()
                    .map(|(_, _, l)| l.as_slice().len())
                    .sum::<usize>(),
            attr_sets: self.core.attrs.len(),
            table_bytes: self.v4.heap_bytes() + self.v6.heap_bytes(),
        }
    }
}
