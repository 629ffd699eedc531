//! The [`Rib`]: peers, route input (UPDATE contents, withdrawals, graceful
//! restart) and the FIB change output.
//!
//! Every input runs the decision process on the prefixes it touches and
//! records two kinds of output for the daemon core to drain:
//! - [`FibChange`]s, when the ECMP next-hop set of a prefix changed;
//! - an entry in the family's export log, when the best path changed; each
//!   peer's [`Rib::drain_exports`] turns the log into UPDATE batches (see
//!   `export.rs`).

use crate::attrs::{AttrTable, RouteAttrs};
use crate::decision::{select, Candidate, DecisionConfig};
use crate::fib_change::FibChange;
use crate::policy::{Policy, PolicyRef, PrefixList};
use crate::policy_eval::{CompiledPolicies, Outcome, PolicyError, PolicyId, RouteCtx};
use crate::table::{
    FamilyTable, Flags, Key, PathEntry, PathList, BEST, MULTIPATH, REJECTED, STALE,
};
use bgp_proto::msg::attributes::PathAttributes;
use bgp_proto::types::{Family, Ipv4Prefix, Ipv6Prefix, Nlri, Prefix};
use hashbrown::{HashMap, HashSet};
use smallvec::SmallVec;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Errors of the RIB layer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RibError {
    /// The policy configuration is invalid.
    #[error(transparent)]
    Policy(#[from] PolicyError),
    /// No peer with this id was added.
    #[error("unknown peer id {0}")]
    UnknownPeer(u32),
    /// `add_peer` for a peer whose session is still up.
    #[error("peer id {0} is already up")]
    PeerExists(u32),
    /// More than 65535 peers.
    #[error("too many peers (at most 65535)")]
    TooManyPeers,
    /// The id of the pseudo-peer of originated routes ([`crate::LOCAL_PEER`]).
    #[error("peer id {0} is reserved for originated routes")]
    ReservedPeerId(u32),
}

/// The RIB's configuration (from `[router]` and the policy sections).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RibConfig {
    /// Local AS.
    pub local_as: u32,
    /// Local BGP Identifier.
    pub router_id: Ipv4Addr,
    /// Most paths in an ECMP group (1: no multipath).
    pub max_paths: usize,
    /// Multipath across different neighbor ASes.
    pub multipath_relax: bool,
    /// Compare MED across neighbor ASes.
    pub always_compare_med: bool,
    /// Route reflection cluster id (RFC 4456); `None`: the router id.
    pub cluster_id: Option<Ipv4Addr>,
    /// Named policies.
    pub policies: Vec<Policy>,
    /// Named prefix lists.
    pub prefix_lists: Vec<PrefixList>,
}

/// A peer whose session is established, as the core describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerInfo {
    /// The core's id for the peer (stable across sessions of one neighbor).
    pub id: u32,
    /// Peer address.
    pub addr: IpAddr,
    /// Peer AS (eBGP when it differs from the local AS).
    pub remote_as: u32,
    /// The peer's BGP Identifier (from its OPEN).
    pub router_id: Ipv4Addr,
    /// Our IPv4 address on the session, the next hop we set for IPv4
    /// routes ("next hop self").
    pub local_v4: Option<Ipv4Addr>,
    /// Our IPv6 address for IPv6 routes; without it IPv6 routes get the
    /// IPv4-mapped form of `local_v4`, as GoBGP/Cilium send.
    pub local_v6: Option<Ipv6Addr>,
    /// Import policy.
    pub import: PolicyRef,
    /// Export policy.
    pub export: PolicyRef,
    /// Keep the route's next hop on export to eBGP instead of ourselves.
    pub next_hop_unchanged: bool,
    /// From an external peer, refuse (treat as withdrawn) routes whose
    /// AS_PATH does not start with the peer's AS (RFC 4271 6.3); off for a
    /// route server that does not prepend its AS.
    pub enforce_first_as: bool,
    /// Negotiated families; routes of other families are not exported.
    pub families: Vec<Family>,
    /// The Extended Next Hop Encoding capability (RFC 8950) was negotiated
    /// for IPv4 unicast: IPv4 routes may go to the peer with an IPv6 next
    /// hop (`local_v6` when we set ourselves and have no `local_v4`).
    pub extended_next_hop: bool,
    /// A route reflector client (RFC 4456; iBGP only): routes from other
    /// iBGP peers are reflected to it, and its routes to every iBGP peer.
    pub route_reflector_client: bool,
    /// Send the peer a default route of each negotiated family whether or
    /// not the RIB has one (FRR's `default-originate`); a default route
    /// in the RIB is then not sent to it.
    pub default_originate: bool,
    /// Families for which ADD-PATH send (RFC 7911) was negotiated.
    pub add_path_send: Vec<Family>,
    /// Paths per prefix sent in those families (the best, then the other
    /// multipath members); 0 sends the best path only, as without ADD-PATH.
    pub add_path_max: usize,
    /// Do not send a route whose AS_PATH holds the peer's AS to an
    /// external peer (it would drop it as a loop): FRR's
    /// `sender-as-path-loop-detection`.
    pub sender_as_loop_check: bool,
    /// The kernel table its routes go to when one of them is best (0: the
    /// FIB's own); see [`FibChange::table`].
    pub fib_table: u32,
}

/// Per-peer, per-family route counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PeerCounts {
    /// Prefixes (paths) received and held in Adj-RIB-In, rejected included.
    pub received: usize,
    /// Of those, accepted by loop detection and import policy.
    pub accepted: usize,
    /// Of those, stale (peer restarting).
    pub stale: usize,
    /// Prefixes in the peer's Adj-RIB-Out.
    pub advertised: usize,
}

#[derive(Debug)]
pub(crate) struct PeerState {
    pub info: PeerInfo,
    pub up: bool,
    pub ebgp: bool,
    pub import: PolicyId,
    pub export: PolicyId,
    /// Received/accepted/stale per family index (0 IPv4, 1 IPv6).
    pub counts: [PeerCounts; 2],
}

/// Family-independent state, split from the family tables so that both
/// can be borrowed mutably together.
#[derive(Debug)]
pub(crate) struct Core {
    pub local_as: u32,
    pub router_id: Ipv4Addr,
    pub cluster_id: Ipv4Addr,
    /// The slot of the pseudo-peer that holds originated routes (`local.rs`).
    pub local_slot: Option<u16>,
    /// Peers up with ADD-PATH send: while there are any, a change of a
    /// multipath group is logged for export even when the best path stays.
    pub add_path_peers: usize,
    /// A peer whose routes go to a kernel table of its own was added: from
    /// then on the FIB changes say which table (sticky: such a peer's stale
    /// paths outlive its session).
    pub tables_used: bool,
    pub decision: DecisionConfig,
    pub policies: CompiledPolicies,
    pub attrs: AttrTable,
    pub peers: Vec<Option<PeerState>>,
    pub peer_index: HashMap<u32, u16>,
    pub unreachable: HashSet<IpAddr>,
    pub fib: Vec<FibChange>,
    /// Whether FIB changes are recorded (someone drains them).
    pub fib_output: bool,
    /// Export results shared across peers until the next change.
    pub memo: crate::export::ExportMemo,
    /// Scratch for an export drain: group position + 1 by outgoing
    /// attribute id (all zero between drains).
    pub group_of: Vec<u32>,
    /// Peers sharing their Adj-RIB-Out (`export_group/`).
    pub groups: crate::export_group::Groups,
    pub now: u32,
}

/// The routing information bases: Adj-RIB-In per peer, Loc-RIB with best
/// path and multipath, Adj-RIB-Out per peer. Plain data, owned by one task.
#[derive(Debug)]
pub struct Rib {
    pub(crate) core: Core,
    pub(crate) v4: FamilyTable<Ipv4Prefix>,
    pub(crate) v6: FamilyTable<Ipv6Prefix>,
}

pub(crate) fn fam_idx(f: Family) -> usize {
    usize::from(f != Family::IPV4_UNICAST)
}

/// Paths per prefix up to which the decision runs without allocating.
const INLINE: usize = 8;

/// Filler for the inline candidate buffer.
const PLACEHOLDER: Candidate = Candidate {
    local_pref: 0,
    local: false,
    path_len: 0,
    origin: 0,
    med: 0,
    neighbor_as: None,
    ebgp: false,
    router_id: Ipv4Addr::UNSPECIFIED,
    cluster_len: 0,
    peer_addr: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
    path_id: 0,
    peer_id: 0,
};

/// What the export and FIB outputs depend on, before and after a change.
#[derive(Debug, Default, PartialEq, Eq)]
struct Snapshot {
    best: Option<(u16, u32)>,
    /// The multipath group (source slot, path id, attribute id), only while
    /// ADD-PATH peers take it.
    group: SmallVec<[(u16, u32, u32); 2]>,
    // Inline: one snapshot is taken before and after every change.
    next_hops: SmallVec<[IpAddr; 2]>,
    /// The kernel table of the best path's peer (0: the FIB's own).
    table: u32,
}

impl Core {
    pub(crate) fn peer(&self, slot: u16) -> Option<&PeerState> {
        self.peers.get(usize::from(slot)).and_then(Option::as_ref)
    }

    pub(crate) fn peer_mut(&mut self, slot: u16) -> Option<&mut PeerState> {
        self.peers
            .get_mut(usize::from(slot))
            .and_then(Option::as_mut)
    }

    pub(crate) fn slot_of(&self, id: u32) -> Result<u16, RibError> {
        self.peer_index
            .get(&id)
            .copied()
            .ok_or(RibError::UnknownPeer(id))
    }

    pub(crate) fn eligible(&self, e: &PathEntry) -> bool {
        !e.has(REJECTED)
            && (self.unreachable.is_empty()
                || !self.unreachable.contains(&self.attrs.next_hop(e.attr)))
    }

    pub(crate) fn candidate(&self, e: &PathEntry) -> Candidate {
        let m = self.attrs.meta(e.attr);
        let peer = self.peer(e.peer);
        Candidate {
            local_pref: m.local_pref,
            local: self.local_slot == Some(e.peer),
            path_len: m.path_len,
            origin: m.origin,
            med: m.med,
            neighbor_as: m.neighbor_as,
            ebgp: peer.is_some_and(|p| p.ebgp),
            router_id: m
                .originator_id
                .or(peer.map(|p| p.info.router_id))
                .unwrap_or(Ipv4Addr::BROADCAST),
            cluster_len: m.cluster_len,
            peer_addr: peer.map_or(IpAddr::V4(Ipv4Addr::BROADCAST), |p| p.info.addr),
            path_id: e.path_id,
            peer_id: peer.map_or(u32::MAX, |p| p.info.id),
        }
    }

    /// Runs the decision process on `list`: sets BEST/MULTIPATH and moves
    /// the best path first.
    fn decide(&self, list: &mut PathList) {
        let entries = list.as_mut_slice();
        for e in entries.iter_mut() {
            e.clear(BEST | MULTIPATH);
        }
        if let [only] = entries {
            if self.eligible(only) {
                only.set(BEST | MULTIPATH);
            }
            return;
        }
        // Up to INLINE paths (nearly always) the candidates live on the stack.
        let mut idx_buf = [0usize; INLINE];
        let mut cand_buf = [PLACEHOLDER; INLINE];
        let (mut idx_vec, mut cand_vec) = (Vec::new(), Vec::new());
        let inline = entries.len() <= INLINE;
        let mut k = 0;
        for (i, e) in entries.iter().enumerate() {
            if !self.eligible(e) {
                continue;
            }
            let c = self.candidate(e);
            match (idx_buf.get_mut(k), cand_buf.get_mut(k)) {
                (Some(si), Some(sc)) if inline => {
                    *si = i;
                    *sc = c;
                }
                _ => {
                    idx_vec.push(i);
                    cand_vec.push(c);
                }
            }
            k += 1;
        }
        let (idx, cands) = if inline {
            (
                idx_buf.get(..k).unwrap_or_default(),
                cand_buf.get(..k).unwrap_or_default(),
            )
        } else {
            (&idx_vec[..], &cand_vec[..])
        };
        let sel = select(cands, &self.decision);
        for m in sel.multipath {
            if let Some(e) = idx.get(m).and_then(|&i| entries.get_mut(i)) {
                e.set(MULTIPATH);
            }
        }
        if let Some(&b) = sel.best.and_then(|b| idx.get(b)) {
            if let Some(e) = entries.get_mut(b) {
                e.set(BEST);
            }
            if let Some(head) = entries.get_mut(..=b) {
                head.rotate_right(1);
            }
        }
    }

    fn snapshot(&self, list: &PathList) -> Snapshot {
        let mut s = Snapshot::default();
        for e in list.as_slice() {
            if e.has(BEST) {
                s.best = Some((e.peer, e.attr));
                if self.tables_used && self.fib_output {
                    s.table = self.peer(e.peer).map_or(0, |p| p.info.fib_table);
                }
            }
            if self.add_path_peers > 0 && e.has(MULTIPATH) {
                s.group.push((e.peer, e.path_id, e.attr));
            }
            // Next hops matter only to a FIB (and reading them is a cache
            // miss per prefix). Originated routes are never installed.
            if self.fib_output && e.has(MULTIPATH) && self.local_slot != Some(e.peer) {
                s.next_hops.push(self.attrs.next_hop(e.attr));
            }
        }
        if s.next_hops.len() > 1 {
            s.next_hops.sort_unstable();
            s.next_hops.dedup();
        }
        s
    }

    fn emit<K: Key>(
        &mut self,
        t: &mut FamilyTable<K>,
        id: u32,
        key: K,
        before: Snapshot,
        after: Snapshot,
    ) {
        if before.best != after.best || before.group != after.group {
            t.log_change(id);
        }
        if !self.fib_output {
            return;
        }
        let moved = before.table != after.table;
        // Out of the old table when the route goes or moves.
        if !before.next_hops.is_empty() && (after.next_hops.is_empty() || moved) {
            self.fib.push(FibChange {
                prefix: key.into(),
                next_hops: Vec::new(),
                table: before.table,
            });
        }
        if !after.next_hops.is_empty() && (moved || before.next_hops != after.next_hops) {
            self.fib.push(FibChange {
                prefix: key.into(),
                next_hops: after.next_hops.into_vec(),
                table: after.table,
            });
        }
    }

    fn count(&mut self, slot: u16, fam: usize, e: &PathEntry, sign: bool) {
        if let Some(c) = self.peer_mut(slot).and_then(|p| p.counts.get_mut(fam)) {
            let adj = |v: &mut usize| {
                *v = if sign {
                    v.saturating_add(1)
                } else {
                    v.saturating_sub(1)
                }
            };
            adj(&mut c.received);
            if !e.has(REJECTED) {
                adj(&mut c.accepted);
            }
            if e.has(STALE) {
                adj(&mut c.stale);
            }
        }
    }

    /// Adds, replaces (`Some`) or removes (`None`) the path of `slot` with
    /// `path_id` for `key`. `new` carries one attribute reference, which
    /// this takes over.
    fn set_path<K: Key>(
        &mut self,
        t: &mut FamilyTable<K>,
        key: K,
        slot: u16,
        path_id: u32,
        new: Option<(u32, bool)>,
    ) {
        let fam = fam_idx(K::FAMILY);
        let entry = new.map(|(attr, rejected)| PathEntry {
            peer: slot,
            flags: Flags::new(if rejected { REJECTED } else { 0 }),
            path_id,
            attr,
            tick: self.now,
        });
        let hash = t.hash(key);
        let found = t.find_hashed(hash, key);
        let Some((id, list)) = found.and_then(|id| Some((id, t.paths_mut(id)?))) else {
            let Some(e) = entry else {
                return;
            };
            self.count(slot, fam, &e, true);
            let mut list = PathList::One(e);
            self.decide(&mut list);
            let after = self.snapshot(&list);
            let id = match found {
                // A dead slot: revived under its id.
                Some(id) => {
                    t.revive(id, list);
                    id
                }
                None => t.insert_new(hash, key, list),
            };
            self.emit(t, id, key, Snapshot::default(), after);
            return;
        };
        let before = self.snapshot(list);
        let pos = list.find(slot, path_id);
        match (pos, entry) {
            (Some(i), Some(mut e)) => {
                let Some(old) = list.as_mut_slice().get_mut(i) else {
                    return;
                };
                let old_copy = *old;
                if old_copy.attr == e.attr && old_copy.has(REJECTED) == e.has(REJECTED) {
                    // Same route again: only refresh (GR: no longer stale).
                    old.clear(STALE);
                    self.attrs.release(e.attr);
                    if old_copy.has(STALE) {
                        if let Some(c) = self.peer_mut(slot).and_then(|p| p.counts.get_mut(fam)) {
                            c.stale = c.stale.saturating_sub(1);
                        }
                    }
                    return;
                }
                e.set(old_copy.bits() & (BEST | MULTIPATH));
                *old = e;
                self.count(slot, fam, &old_copy, false);
                self.count(slot, fam, &e, true);
                self.attrs.release(old_copy.attr);
            }
            (None, Some(e)) => {
                self.count(slot, fam, &e, true);
                list.push(e);
            }
            (Some(i), None) => {
                let Some(old) = list.as_slice().get(i).copied() else {
                    return;
                };
                self.count(slot, fam, &old, false);
                self.attrs.release(old.attr);
                if !list.remove(i) {
                    t.kill(id);
                    self.emit(t, id, key, before, Snapshot::default());
                    return;
                }
            }
            (None, None) => return,
        }
        self.decide(list);
        let after = self.snapshot(list);
        self.emit(t, id, key, before, after);
    }

    /// Re-runs the decision for every prefix with a path for which
    /// `touches` holds, after `mutate` changed that list (removing entries
    /// for which it returns false).
    pub(crate) fn sweep<K: Key>(
        &mut self,
        t: &mut FamilyTable<K>,
        touches: impl Fn(&Core, &PathEntry) -> bool,
        mut keep: impl FnMut(&mut Core, &mut PathEntry) -> bool,
    ) {
        let fam = fam_idx(K::FAMILY);
        for id in 0..t.slot_count() {
            let Some(key) = t.key(id) else { continue };
            let Some(list) = t.paths_mut(id) else {
                continue;
            };
            if !list.as_slice().iter().any(|e| touches(self, e)) {
                continue;
            }
            let before = self.snapshot(list);
            let mut i = 0;
            let mut emptied = false;
            while let Some(e) = list.as_mut_slice().get_mut(i) {
                if !touches(self, e) || keep(self, e) {
                    i += 1;
                    continue;
                }
                let old = *e;
                self.count(old.peer, fam, &old, false);
                self.attrs.release(old.attr);
                if !list.remove(i) {
                    emptied = true;
                    break;
                }
            }
            if emptied {
                t.kill(id);
                self.emit(t, id, key, before, Snapshot::default());
                continue;
            }
            self.decide(list);
            let after = self.snapshot(list);
            self.emit(t, id, key, before, after);
        }
    }

    /// Interns the outcome of the import policy for one family.
    fn import_attr(
        &mut self,
        import: PolicyId,
        remote_as: u32,
        prefix: &Prefix,
        next_hop: IpAddr,
        base: &RouteAttrs,
        base_id: u32,
    ) -> Option<u32> {
        let ctx = RouteCtx {
            prefix,
            next_hop,
            peer_as: remote_as,
        };
        match self.policies.evaluate(import, ctx, &base.attrs, remote_as) {
            Outcome::Reject => None,
            Outcome::Accept => {
                self.attrs.acquire(base_id);
                Some(base_id)
            }
            Outcome::Modified(attrs) => Some(self.attrs.intern(&RouteAttrs { attrs, next_hop })),
        }
    }
}

impl Rib {
    /// Builds an empty RIB; fails on an invalid policy or prefix list.
    pub fn new(cfg: RibConfig) -> Result<Rib, RibError> {
        let policies = CompiledPolicies::new(&cfg.policies, &cfg.prefix_lists)?;
        Ok(Rib {
            core: Core {
                local_as: cfg.local_as,
                router_id: cfg.router_id,
                cluster_id: cfg.cluster_id.unwrap_or(cfg.router_id),
                local_slot: None,
                add_path_peers: 0,
                tables_used: false,
                decision: DecisionConfig {
                    always_compare_med: cfg.always_compare_med,
                    multipath_relax: cfg.multipath_relax,
                    max_paths: cfg.max_paths.max(1),
                },
                policies,
                attrs: AttrTable::default(),
                peers: Vec::new(),
                peer_index: HashMap::new(),
                unreachable: HashSet::new(),
                fib: Vec::new(),
                fib_output: true,
                memo: HashMap::new(),
                group_of: Vec::new(),
                groups: Default::default(),
                now: 0,
            },
            v4: FamilyTable::default(),
            v6: FamilyTable::default(),
        })
    }

    /// Sets the clock stamped on paths as they arrive (e.g. seconds since
    /// the daemon started); the RIB never reads a clock itself.
    pub fn set_clock(&mut self, now: u32) {
        self.core.now = now;
    }

    /// Tells whether next hop `ip` is reachable (all are by default); paths
    /// via an unreachable next hop are not candidates for best path.
    pub fn set_next_hop_reachable(&mut self, ip: IpAddr, reachable: bool) {
        self.core.forget_exports();
        let ip = ip.to_canonical();
        let changed = if reachable {
            self.core.unreachable.remove(&ip)
        } else {
            self.core.unreachable.insert(ip)
        };
        if changed {
            let via = move |c: &Core, e: &PathEntry| c.attrs.next_hop(e.attr) == ip;
            self.core.sweep(&mut self.v4, via, |_, _| true);
            self.core.sweep(&mut self.v6, via, |_, _| true);
        }
    }

    /// Routes announced by `peer` with next hop `next_hop` (the NEXT_HOP
    /// attribute for IPv4 NLRI, the MP_REACH global next hop otherwise) and
    /// attributes `attrs` (its `next_hop` field is ignored). Paths whose
    /// AS_PATH holds the local AS (or whose ORIGINATOR_ID / CLUSTER_LIST
    /// holds our router id) are kept as rejected, as are those the import
    /// policy rejects.
    pub fn update(
        &mut self,
        peer: u32,
        nlri: impl IntoIterator<Item = Nlri>,
        next_hop: IpAddr,
        mut attrs: PathAttributes,
    ) -> Result<(), RibError> {
        self.core.forget_exports();
        let slot = self.core.slot_of(peer)?;
        let (ebgp, import, remote_as) = match self.core.peer(slot) {
            Some(p) => (p.ebgp, p.import, p.info.remote_as),
            None => return Err(RibError::UnknownPeer(peer)),
        };
        let next_hop = next_hop.to_canonical();
        attrs.next_hop = None;
        if ebgp {
            // RFC 4271 5.1.5: LOCAL_PREF from an external peer is ignored.
            attrs.local_pref = None;
            // RFC 7606 7.9, 7.10: ORIGINATOR_ID and CLUSTER_LIST from an
            // external neighbor are discarded (else a peer in another AS
            // could make its routes loops or win the tie-break).
            attrs.originator_id = None;
            attrs.cluster_list.clear();
        }
        // RFC 4271 9.1.2: "If the AS_PATH attribute of a BGP route contains
        // an AS loop, the BGP route should be excluded from the Phase 2
        // decision function." RFC 4456 8: a route whose ORIGINATOR_ID is
        // our router id, or whose CLUSTER_LIST holds our cluster id, is
        // ignored too.
        let looped = attrs.as_path.contains(self.core.local_as)
            || attrs.originator_id == Some(self.core.router_id)
            || attrs.cluster_list.contains(&self.core.cluster_id);
        let base = RouteAttrs { attrs, next_hop };
        let per_prefix = self.core.policies.prefix_dependent(import);
        let base_id = self.core.attrs.intern(&base);
        // Outcome per family when the policy does not look at the prefix.
        let mut cached: [Option<Option<u32>>; 2] = [None, None];
        let nlri: SmallVec<[Nlri; 32]> = nlri.into_iter().collect();
        self.warm(&nlri);
        for n in nlri {
            let result = if looped {
                None
            } else if per_prefix {
                self.core
                    .import_attr(import, remote_as, &n.prefix, next_hop, &base, base_id)
            } else {
                let f = fam_idx(n.prefix.family());
                let slot_cache = cached.get_mut(f);
                match slot_cache {
                    Some(Some(c)) => {
                        if let Some(id) = *c {
                            self.core.attrs.acquire(id);
                        }
                        *c
                    }
                    _ => {
                        let r = self
                            .core
                            .import_attr(import, remote_as, &n.prefix, next_hop, &base, base_id);
                        if let Some(id) = r {
                            self.core.attrs.acquire(id);
                        }
                        if let Some(c) = cached.get_mut(f) {
                            *c = Some(r);
                        }
                        r
                    }
                }
            };
            let new = match result {
                Some(id) => (id, false),
                None => {
                    self.core.attrs.acquire(base_id);
                    (base_id, true)
                }
            };
            self.set(slot, n, Some(new));
        }
        // Drop the references held by the caches and `base_id` itself.
        for id in cached.into_iter().flatten().flatten() {
            self.core.attrs.release(id);
        }
        self.core.attrs.release(base_id);
        Ok(())
    }

    /// Routes withdrawn by `peer` (also for treat-as-withdraw).
    pub fn withdraw(
        &mut self,
        peer: u32,
        nlri: impl IntoIterator<Item = Nlri>,
    ) -> Result<(), RibError> {
        self.core.forget_exports();
        let slot = self.core.slot_of(peer)?;
        let nlri: SmallVec<[Nlri; 32]> = nlri.into_iter().collect();
        self.warm(&nlri);
        for n in nlri {
            self.set(slot, n, None);
        }
        Ok(())
    }

    /// Looks up every prefix of `nlri` once, results unused: the index
    /// probes of different prefixes are independent, so their cache misses
    /// overlap instead of being paid one after the other by the changes.
    pub(crate) fn warm(&self, nlri: &[Nlri]) {
        if nlri.len() < 2 {
            return;
        }
        for n in nlri {
            let found = match n.prefix {
                Prefix::V4(p) => self.v4.find(p),
                Prefix::V6(p) => self.v6.find(p),
            };
            std::hint::black_box(found);
        }
    }

    pub(crate) fn set(&mut self, slot: u16, n: Nlri, new: Option<(u32, bool)>) {
        match n.prefix {
            Prefix::V4(p) => self.core.set_path(&mut self.v4, p, slot, n.path_id, new),
            Prefix::V6(p) => self.core.set_path(&mut self.v6, p, slot, n.path_id, new),
        }
    }

    /// Turns the recording of FIB changes on (the default) or off, for a
    /// daemon that neither writes a FIB nor reports them: a change costs an
    /// allocation per prefix.
    pub fn set_fib_output(&mut self, enabled: bool) {
        self.core.fib_output = enabled;
        if !enabled {
            self.core.fib = Vec::new();
        }
    }

    /// Takes the FIB changes accumulated since the last call.
    pub fn drain_fib_changes(&mut self) -> Vec<FibChange> {
        std::mem::take(&mut self.core.fib)
    }
}
