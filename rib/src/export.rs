//! Export: from the Loc-RIB best path to what each peer is sent, with the
//! Adj-RIB-Out per peer so that only differences go out.
//!
//! Rules (RFC 4271 9.1.3 and 5.1, as BIRD 2 and GoBGP behave by default):
//! - only the best path is exported, and never back to the peer it came
//!   from; a route from an iBGP peer is sent to another iBGP peer only when
//!   one of them is a route reflector client (RFC 4456 6), with
//!   ORIGINATOR_ID set (the source's router id, if absent) and our cluster
//!   id prepended to CLUSTER_LIST. Peers of the source's AS do get it (as
//!   BIRD does: they drop it by loop detection);
//! - originated routes (`local.rs`) go to every peer, with our address as
//!   next hop unless they were given one;
//! - to a peer with `default_originate`, the RIB's default route is never
//!   sent: [`Rib::full_export`] sends ours instead;
//! - NO_ADVERTISE routes go nowhere, NO_EXPORT / NO_EXPORT_SUBCONFED ones
//!   not to eBGP peers (RFC 1997);
//! - to eBGP: the local AS is prepended, LOCAL_PREF, ORIGINATOR_ID and
//!   CLUSTER_LIST are removed, a MED received from a neighbor AS is removed
//!   (RFC 4271 5.1.4) though one set by the export policy is sent, and the
//!   next hop is our address on the session unless `next_hop_unchanged`
//!   (for IPv4 routes on a session over IPv6, our IPv6 address when the
//!   extended next hop capability was negotiated, RFC 8950; without it they
//!   are not sent, nor is an IPv4 route with an IPv6 next hop ever sent to a
//!   peer without it);
//! - to iBGP: the next hop is kept and LOCAL_PREF is sent (100 if none);
//! - then the export policy, with `prepend` adding the local AS.

use crate::attrs::{RouteAttrs, DEFAULT_LOCAL_PREF};
use crate::policy_eval::{DecidedBy, Outcome, PolicyId, RouteCtx};
use crate::rib::{Core, PeerState, Rib, RibError};
use crate::table::{FamilyTable, Key, PathEntry, BEST};
use bgp_proto::msg::attributes::{Community, MpNextHop, MpReach, MpUnreach, UpdateMessage};
use bgp_proto::types::{Family, Nlri, Prefix};
use hashbrown::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

/// Routes for one peer, grouped so that one batch can be packed into as few
/// UPDATE messages as the encoder's size limit allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExportBatch {
    /// Withdraw these prefixes.
    Withdraw {
        /// Family of every prefix.
        family: Family,
        /// The prefixes, sorted (path id 0 but to an ADD-PATH peer).
        nlri: Vec<Nlri>,
    },
    /// Announce these prefixes with these attributes and next hop.
    Announce {
        /// Family of every prefix.
        family: Family,
        /// Outgoing attributes (`attrs.next_hop` is `None`) and next hop:
        /// IPv4 for IPv4 unicast (IPv6 to a peer with the extended next hop
        /// capability, RFC 8950), IPv6 (maybe IPv4-mapped) for IPv6.
        route: Arc<RouteAttrs>,
        /// The prefixes, sorted (path id 0 but to an ADD-PATH peer).
        nlri: Vec<Nlri>,
    },
}

impl ExportBatch {
    /// The family of the batch.
    pub fn family(&self) -> Family {
        match self {
            ExportBatch::Withdraw { family, .. } | ExportBatch::Announce { family, .. } => *family,
        }
    }

    /// The prefixes of the batch.
    pub fn nlri(&self) -> &[Nlri] {
        match self {
            ExportBatch::Withdraw { nlri, .. } | ExportBatch::Announce { nlri, .. } => nlri,
        }
    }

    /// Splits the batch into owned UPDATE messages of at most `max_nlri`
    /// prefixes each (the encoder still checks the 4096-octet limit).
    pub fn to_updates(&self, max_nlri: usize) -> Vec<UpdateMessage> {
        let chunks = self.nlri().chunks(max_nlri.max(1));
        match self {
            ExportBatch::Withdraw { family, .. } => chunks
                .map(|c| {
                    if *family == Family::IPV4_UNICAST {
                        UpdateMessage {
                            withdrawn: c.to_vec(),
                            ..UpdateMessage::default()
                        }
                    } else {
                        UpdateMessage {
                            mp_unreach: Some(MpUnreach {
                                family: *family,
                                withdrawn: c.to_vec(),
                            }),
                            ..UpdateMessage::default()
                        }
                    }
                })
                .collect(),
            ExportBatch::Announce { family, route, .. } => chunks
                .map(|c| {
                    let mut attributes = route.attrs.clone();
                    match (*family == Family::IPV4_UNICAST, route.next_hop) {
                        (true, IpAddr::V4(nh)) => {
                            attributes.next_hop = Some(nh);
                            UpdateMessage {
                                attributes,
                                nlri: c.to_vec(),
                                ..Default::default()
                            }
                        }
                        (_, nh) => {
                            attributes.next_hop = None;
                            let global = match nh {
                                IpAddr::V4(v4) => IpAddr::V6(v4.to_ipv6_mapped()),
                                v6 => v6,
                            };
                            UpdateMessage {
                                attributes,
                                mp_reach: Some(MpReach {
                                    family: *family,
                                    next_hop: MpNextHop {
                                        global,
                                        link_local: None,
                                    },
                                    nlri: c.to_vec(),
                                }),
                                ..Default::default()
                            }
                        }
                    }
                })
                .collect(),
        }
    }
}

/// What the export of a best path depends on besides the prefix, when the
/// target's export policy ignores the prefix: peers of one class (same
/// policy, kind of session and next hop) get the same outgoing attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct ExportClass {
    src_attr: u32,
    src_peer: u16,
    family: Family,
    export: PolicyId,
    ebgp: bool,
    next_hop_unchanged: bool,
    extended_next_hop: bool,
    route_reflector_client: bool,
    /// The receiver's AS when the policy matches on it (`peer_as`) or
    /// the sender-side loop check is on; else 0.
    peer_as: u32,
    sender_as_loop_check: bool,
    local_v4: Option<Ipv4Addr>,
    local_v6: Option<Ipv6Addr>,
}

/// Why a best path is not sent to a peer (`rbgpctl explain`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExportRefusal {
    /// The path was learned from this peer.
    LearnedFromIt,
    /// Learned over iBGP and the peer is iBGP, neither a route reflector
    /// client (RFC 4271 9.2, RFC 4456).
    IbgpToIbgp,
    /// A well-known community forbids it (RFC 1997).
    Community(Community),
    /// The export policy rejected it.
    Policy(DecidedBy),
    /// The AS_PATH already holds the (external) peer's AS: it would drop
    /// the route as a loop (sender-side loop detection).
    PeerAsInPath(u32),
    /// We have no address of the route's family towards the peer to put
    /// as next hop (an IPv4 route over IPv6 without RFC 8950).
    NoNextHop,
    /// The path's peer or attributes are gone (not seen in practice).
    Gone,
}

/// Export results shared by every peer of a class until the RIB changes:
/// the outgoing id (holding one reference) and attributes, or `None` when
/// the route is not exported.
pub(crate) type ExportMemo = HashMap<ExportClass, Option<(u32, Arc<RouteAttrs>)>>;

impl Core {
    /// The outgoing attributes for `target` of the best path `best` of
    /// `key`, or `None` when it must not be sent.
    pub(crate) fn export_route<K: Key>(
        &self,
        target: &PeerState,
        target_slot: u16,
        best: &PathEntry,
        key: K,
    ) -> Option<RouteAttrs> {
        self.export_verdict(target, target_slot, best, key)
            .ok()
            .map(|(r, _)| r)
    }

    /// [`Core::export_route`], with what in the export policy let the
    /// route out, or the rule that refused it.
    pub(crate) fn export_verdict<K: Key>(
        &self,
        target: &PeerState,
        target_slot: u16,
        best: &PathEntry,
        key: K,
    ) -> Result<(RouteAttrs, DecidedBy), ExportRefusal> {
        if best.peer == target_slot {
            return Err(ExportRefusal::LearnedFromIt);
        }
        let source = self.peer(best.peer).ok_or(ExportRefusal::Gone)?;
        let local = self.local_slot == Some(best.peer);
        let reflected = !local && !source.ebgp && !target.ebgp;
        if reflected && !(source.info.route_reflector_client || target.info.route_reflector_client)
        {
            return Err(ExportRefusal::IbgpToIbgp);
        }
        let src = self.attrs.get(best.attr).ok_or(ExportRefusal::Gone)?;
        let comms = &src.attrs.communities;
        if comms.contains(&Community::NO_ADVERTISE) {
            return Err(ExportRefusal::Community(Community::NO_ADVERTISE));
        }
        if target.ebgp {
            for c in [Community::NO_EXPORT, Community::NO_EXPORT_SUBCONFED] {
                if comms.contains(&c) {
                    return Err(ExportRefusal::Community(c));
                }
            }
            let peer_as = target.info.remote_as;
            // A group's view (target `NO_SLOT`) holds such routes: each
            // member's view leaves out those with its AS.
            let check = target.info.sender_as_loop_check && target_slot != NO_SLOT;
            if check && src.attrs.as_path.contains(peer_as) {
                return Err(ExportRefusal::PeerAsInPath(peer_as));
            }
        }
        let src_next_hop = src.next_hop;
        let mut attrs = src.attrs;
        if target.ebgp {
            if !local {
                attrs.med = None;
            }
            attrs.originator_id = None;
            attrs.cluster_list.clear();
        } else if reflected {
            // RFC 4456 8: "ORIGINATOR_ID ... created by an RR ... [carrying]
            // the BGP Identifier of the originator of the route in the local
            // AS"; "When an RR reflects a route, it MUST prepend the local
            // CLUSTER_ID to the CLUSTER_LIST."
            attrs.originator_id.get_or_insert(source.info.router_id);
            attrs.cluster_list.insert(0, self.cluster_id);
        }
        let prefix: Prefix = key.into();
        let ctx = RouteCtx {
            prefix: &prefix,
            next_hop: src_next_hop,
            peer_as: target.info.remote_as,
        };
        let (outcome, by) =
            self.policies
                .evaluate_traced(target.export, ctx, &attrs, self.local_as);
        match outcome {
            Outcome::Reject => return Err(ExportRefusal::Policy(by)),
            Outcome::Accept => {}
            Outcome::Modified(m) => attrs = m,
        }
        let v4 = K::FAMILY == Family::IPV4_UNICAST;
        let enh = target.info.extended_next_hop;
        // An originated route without a next hop of its own goes via us.
        let ours = local && src_next_hop.is_unspecified();
        let keep = if target.ebgp {
            // RFC 4271 5.1.2: prepend our own AS towards an external peer.
            attrs.as_path.prepend(self.local_as, 1);
            // RFC 4271 5.1.5: LOCAL_PREF is not sent to external peers.
            attrs.local_pref = None;
            !ours && (local || target.info.next_hop_unchanged)
        } else {
            attrs.local_pref = Some(attrs.local_pref.unwrap_or(DEFAULT_LOCAL_PREF));
            !ours
        };
        let next_hop = if keep {
            unchanged_next_hop(src_next_hop, &target.info, v4, enh)
        } else {
            self_next_hop(&target.info, v4)
        }
        .ok_or(ExportRefusal::NoNextHop)?;
        attrs.next_hop = None;
        Ok((RouteAttrs { attrs, next_hop }, by))
    }

    /// The interned outgoing attribute id for `target` and `key` (one
    /// reference for the caller), from the best path `best`; for an export
    /// `group` led by `target`, as if no peer were its source. With `memo`
    /// (the export policy ignores the prefix) the result is looked up in the
    /// memo shared by peers of the same class, computed only on a miss, and
    /// comes with the outgoing attributes.
    pub(crate) fn export_id<K: Key>(
        &mut self,
        best: Option<PathEntry>,
        slot: u16,
        key: K,
        memo: bool,
        group: bool,
    ) -> Option<(u32, Option<Arc<RouteAttrs>>)> {
        let best = best?;
        let target = self.peer(slot)?;
        // A group's view holds its members' own routes too.
        let slot = if group { NO_SLOT } else { slot };
        if best.peer == slot {
            return None;
        }
        if !memo {
            let r = self.export_route(target, slot, &best, key)?;
            return Some((self.attrs.intern(&r), None));
        }
        let loop_check = target.info.sender_as_loop_check && !group;
        let class = ExportClass {
            src_attr: best.attr,
            src_peer: best.peer,
            family: K::FAMILY,
            export: target.export,
            ebgp: target.ebgp,
            next_hop_unchanged: target.info.next_hop_unchanged,
            extended_next_hop: target.info.extended_next_hop,
            route_reflector_client: target.info.route_reflector_client,
            // Peers of different ASes share results unless the AS matters:
            // one class per neighbor AS would keep an entry per source and
            // neighbor (a cluster of nodes each in its own AS).
            peer_as: if loop_check || self.policies.peer_as_dependent(target.export) {
                target.info.remote_as
            } else {
                0
            },
            sender_as_loop_check: loop_check,
            local_v4: target.info.local_v4,
            local_v6: target.info.local_v6,
        };
        let hit = match self.memo.get(&class) {
            Some(m) => m.clone(),
            None => {
                // The memo keeps the reference `intern` hands out.
                let m = self
                    .export_route(target, slot, &best, key)
                    .map(|r| (self.attrs.intern(&r), Arc::new(r)));
                self.memo.insert(class, m.clone());
                m
            }
        };
        let (id, route) = hit?;
        self.attrs.acquire(id);
        Some((id, Some(route)))
    }

    /// Drops the export memo (and its references); called before every
    /// change of the RIB, on which the memo's results may depend.
    pub(crate) fn forget_exports(&mut self) {
        if self.memo.is_empty() {
            return;
        }
        for (_, m) in self.memo.drain() {
            if let Some((id, _)) = m {
                self.attrs.release(id);
            }
        }
    }

    /// Compares the desired export of each route id with the Adj-RIB-Out
    /// of `slot` and records the differences; `force` re-announces
    /// unchanged routes too (route refresh, initial table).
    fn export_ids<K: Key>(
        &mut self,
        t: &mut FamilyTable<K>,
        slot: u16,
        ids: impl IntoIterator<Item = u32>,
        force: bool,
        out: &mut Vec<ExportBatch>,
    ) {
        let s = usize::from(slot);
        if t.adj_out.get(s).is_none() {
            return;
        }
        if let Some(limit) = self.add_path_limit(slot, K::FAMILY) {
            self.export_paths(t, slot, ids, force, limit, out);
            return;
        }
        let memo = self
            .peer(slot)
            .is_some_and(|p| !self.policies.prefix_dependent(p.export));
        let mut batcher = Batcher::new(self);
        // Routes arrive in the order they changed, so runs of them share a
        // best path's attributes (one UPDATE's prefixes): while the source
        // is the same, the last result is reused without a lookup (only
        // with the memo: the policy ignores the prefix).
        let mut last: Option<((u32, u16), Option<u32>)> = None;
        // The attributes of the last computed result, for a new group.
        let mut last_route: Option<Arc<RouteAttrs>> = None;
        // Such a peer gets our default route (`default_route`), not the RIB's.
        let own_default = self.peer(slot).is_some_and(|p| p.info.default_originate);
        for id in ids {
            let Some(key) = t.key(id) else { continue };
            let best = t
                .paths(id)
                .and_then(|l| l.as_slice().first())
                .filter(|e| e.has(BEST) && !(own_default && key.into().is_empty()))
                .copied();
            let source = best.map(|e| (e.attr, e.peer));
            let desired = match (last, source) {
                (Some((from, hit)), Some(src)) if from == src && memo => {
                    if let Some(d) = hit {
                        self.attrs.acquire(d);
                    }
                    hit
                }
                _ => {
                    let r = self.export_id(best, slot, key, memo, false);
                    let d = r.as_ref().map(|(d, _)| *d);
                    last_route = r.and_then(|(_, route)| route);
                    last = source.map(|src| (src, d));
                    d
                }
            };
            let current = t.adj_get(s, id);
            match (current, desired) {
                (Some(c), Some(d)) if c == d && !force => self.attrs.release(d),
                (_, Some(d)) => {
                    if let Some(c) = t.adj_set(s, id, Some(d)) {
                        self.attrs.release(c);
                    }
                    // `d` is the last computed result (a reused one has
                    // its group already).
                    batcher.announce(key, d, || last_route.clone());
                }
                (Some(c), None) => {
                    t.adj_set(s, id, None);
                    self.attrs.release(c);
                    batcher.withdraw(key);
                }
                (None, None) => {}
            }
        }
        batcher.finish(self, out);
    }

    /// The changes of one family for `slot` since its last drain.
    fn drain_family<K: Key>(
        &mut self,
        t: &mut FamilyTable<K>,
        slot: u16,
        out: &mut Vec<ExportBatch>,
    ) {
        let s = usize::from(slot);
        let Some(Some(cur)) = t.cursors.get(s).copied() else {
            return;
        };
        let ids = t.pending_ids(cur);
        if let Some(c) = t.cursors.get_mut(s) {
            *c = Some(t.log.len());
        }
        t.compact_log();
        self.export_ids(t, slot, ids, false, out);
    }

    /// The whole table of one family for `slot`: every route (`force`),
    /// or only those that differ from its Adj-RIB-Out.
    fn full_family<K: Key>(
        &mut self,
        t: &mut FamilyTable<K>,
        slot: u16,
        force: bool,
        out: &mut Vec<ExportBatch>,
    ) {
        let s = usize::from(slot);
        if !t.cursors.get(s).is_some_and(Option::is_some) {
            return;
        }
        if let Some(c) = t.cursors.get_mut(s) {
            *c = Some(t.log.len());
        }
        t.compact_log();
        // Every route, and what was sent and is no longer in the table
        // (to withdraw it).
        let ids: Vec<u32> = (0..t.slot_count())
            .filter(|&id| t.paths(id).is_some() || t.adj_get(s, id).is_some())
            .collect();
        self.export_ids(t, slot, ids, force, out);
    }

    /// Route-log entries of one family `slot` has yet to drain, and
    /// whether they outnumber what a comparison of the whole table costs.
    fn backlog<K: Key>(t: &FamilyTable<K>, slot: u16) -> (usize, bool) {
        match t.cursors.get(usize::from(slot)) {
            Some(Some(cur)) => {
                let n = t.log.len().saturating_sub(*cur);
                (n, n > (t.slot_count() as usize).max(BACKLOG_MIN))
            }
            _ => (0, false),
        }
    }
}

/// A slot no peer has: the target of an export group's computation.
pub(crate) const NO_SLOT: u16 = u16::MAX;

/// Collects one drain's differences into batches: withdrawals, then
/// announcements grouped by outgoing attribute id, in the order each id
/// first appears.
pub(crate) struct Batcher<K> {
    withdrawn: Vec<K>,
    groups: Vec<(u32, Option<Arc<RouteAttrs>>, Vec<K>)>,
    /// Group position + 1 by attribute id (the core's scratch, all zero
    /// between drains).
    group_of: Vec<u32>,
    last_group: Option<(u32, usize)>,
}

impl<K: Key> Batcher<K> {
    /// Starts a drain with the core's scratch.
    pub(crate) fn new(core: &mut Core) -> Self {
        Batcher {
            withdrawn: Vec::new(),
            groups: Vec::new(),
            group_of: std::mem::take(&mut core.group_of),
            last_group: None,
        }
    }

    /// Announces `key` with attribute id `d`; `route` gives its attributes
    /// when `d` starts a new group (`None`: read from the table at the end).
    /// Returns the group's position among the announcements.
    pub(crate) fn announce(
        &mut self,
        key: K,
        d: u32,
        route: impl FnOnce() -> Option<Arc<RouteAttrs>>,
    ) -> usize {
        let g = match self.last_group {
            Some((of, g)) if of == d => g,
            _ => {
                let at = d as usize;
                if self.group_of.len() <= at {
                    self.group_of.resize(at + 1, 0);
                }
                let g = match self.group_of.get(at).copied() {
                    Some(g) if g > 0 => g as usize - 1,
                    _ => {
                        self.groups.push((d, route(), Vec::new()));
                        if let Some(cell) = self.group_of.get_mut(at) {
                            *cell = u32::try_from(self.groups.len()).unwrap_or(u32::MAX);
                        }
                        self.groups.len() - 1
                    }
                };
                self.last_group = Some((d, g));
                g
            }
        };
        if let Some((_, _, v)) = self.groups.get_mut(g) {
            v.push(key);
        }
        g
    }

    /// Whether a withdrawal batch comes first.
    pub(crate) fn withdraws(&self) -> bool {
        !self.withdrawn.is_empty()
    }

    /// Withdraws `key`.
    pub(crate) fn withdraw(&mut self, key: K) {
        self.withdrawn.push(key);
    }

    /// Appends the batches to `out` and gives the scratch back.
    pub(crate) fn finish(self, core: &mut Core, out: &mut Vec<ExportBatch>) {
        self.finish_with(core, |_, b| out.push(b));
    }

    /// The announcements, each with its outgoing attribute id (no
    /// withdrawals were made), and gives the scratch back.
    pub(crate) fn finish_by_set(self, core: &mut Core) -> Vec<(u32, ExportBatch)> {
        let mut out = Vec::new();
        self.finish_with(core, |id, b| out.push((id, b)));
        out
    }

    /// Hands each batch to `emit` (with its attribute id, `u32::MAX` for
    /// the withdrawals) and gives the scratch back.
    fn finish_with(self, core: &mut Core, mut emit: impl FnMut(u32, ExportBatch)) {
        let Batcher {
            withdrawn,
            groups,
            mut group_of,
            ..
        } = self;
        // Sorted by key (cheaper to compare than `Nlri`), then converted.
        let to_nlri = |mut keys: Vec<K>| -> Vec<Nlri> {
            keys.sort_unstable();
            keys.into_iter().map(|k| Nlri::new(k.into())).collect()
        };
        if !withdrawn.is_empty() {
            emit(
                u32::MAX,
                ExportBatch::Withdraw {
                    family: K::FAMILY,
                    nlri: to_nlri(withdrawn),
                },
            );
        }
        for (id, route, keys) in groups {
            if let Some(cell) = group_of.get_mut(id as usize) {
                *cell = 0;
            }
            let route = route.or_else(|| core.attrs.get(id).map(Arc::new));
            if let Some(route) = route {
                emit(
                    id,
                    ExportBatch::Announce {
                        family: K::FAMILY,
                        route,
                        nlri: to_nlri(keys),
                    },
                );
            }
        }
        core.group_of = group_of;
    }
}

/// Below this many entries a peer's backlog is always kept (a full-table
/// comparison of a small table is cheap, but so is the log).
const BACKLOG_MIN: usize = 4096;

/// The next hop `nh` in the form a family needs: IPv4 for IPv4 unicast
/// (IPv6 only to a peer with the extended next hop capability, `enh`: RFC
/// 8950 4; else `None`), IPv6 or IPv4 (sent IPv4-mapped) for IPv6.
fn family_next_hop(nh: IpAddr, v4: bool, enh: bool) -> Option<IpAddr> {
    match (v4, nh) {
        (true, IpAddr::V6(_)) if !enh => None,
        _ => Some(nh),
    }
}

/// The next hop passed on unchanged, in the family's form: a link-local
/// one means nothing on another link (RFC 2545 3), so ours goes instead.
fn unchanged_next_hop(
    nh: IpAddr,
    info: &crate::rib::PeerInfo,
    v4: bool,
    enh: bool,
) -> Option<IpAddr> {
    match nh {
        IpAddr::V6(a) if a.is_unicast_link_local() => self_next_hop(info, v4),
        _ => family_next_hop(nh, v4, enh),
    }
}

/// Our own address towards the peer for the family: for IPv4 unicast our
/// IPv4 address on the session, or, on a session over IPv6 that negotiated
/// the extended next hop capability, our IPv6 address (RFC 8950).
pub(crate) fn self_next_hop(info: &crate::rib::PeerInfo, v4: bool) -> Option<IpAddr> {
    if v4 {
        info.local_v4.map(IpAddr::V4).or_else(|| {
            info.local_v6
                .filter(|_| info.extended_next_hop)
                .map(IpAddr::V6)
        })
    } else {
        info.local_v6
            .map(IpAddr::V6)
            .or(info.local_v4.map(IpAddr::V4))
    }
}

impl Rib {
    /// The UPDATE batches `peer` needs since its last drain: withdrawals
    /// first, then announcements grouped by identical attributes. The
    /// Adj-RIB-Out is updated as if they were sent.
    /// A member of an export group leaves it (see [`Rib::drain_group`]).
    pub fn drain_exports(&mut self, peer: u32) -> Result<Vec<ExportBatch>, RibError> {
        let slot = self.core.slot_of(peer)?;
        self.leave(slot, true);
        let mut out = Vec::new();
        self.core.drain_family(&mut self.v4, slot, &mut out);
        self.core.drain_family(&mut self.v6, slot, &mut out);
        Ok(out)
    }

    /// The whole table for `peer` (after Established, or for a route
    /// refresh): every route it should have, plus withdrawals of routes
    /// sent earlier and gone since. Pending changes are included. The core
    /// sends End-of-RIB for each family after these.
    pub fn full_export(&mut self, peer: u32) -> Result<Vec<ExportBatch>, RibError> {
        let slot = self.core.slot_of(peer)?;
        self.leave(slot, true);
        let mut out = Vec::new();
        self.core.full_family(&mut self.v4, slot, true, &mut out);
        self.core.full_family(&mut self.v6, slot, true, &mut out);
        out.extend(self.core.default_route(slot, Family::IPV4_UNICAST));
        out.extend(self.core.default_route(slot, Family::IPV6_UNICAST));
        Ok(out)
    }

    /// The whole table of one family for `peer` (a route refresh of that
    /// family); the other family's pending changes stay pending.
    pub fn full_export_family(
        &mut self,
        peer: u32,
        family: Family,
    ) -> Result<Vec<ExportBatch>, RibError> {
        let slot = self.core.slot_of(peer)?;
        self.leave(slot, true);
        let mut out = Vec::new();
        if family == Family::IPV4_UNICAST {
            self.core.full_family(&mut self.v4, slot, true, &mut out);
        } else if family == Family::IPV6_UNICAST {
            self.core.full_family(&mut self.v6, slot, true, &mut out);
        }
        out.extend(self.core.default_route(slot, family));
        Ok(out)
    }

    /// Route-log entries `peer` has yet to drain, and whether they are so
    /// many that [`Rib::suspend_exports`] is the cheaper way to hold them.
    pub fn export_backlog(&self, peer: u32) -> (usize, bool) {
        let Ok(slot) = self.core.slot_of(peer) else {
            return (0, false);
        };
        let slot = self.exporting_slot(slot);
        let (a, big_a) = Core::backlog(&self.v4, slot);
        let (b, big_b) = Core::backlog(&self.v6, slot);
        (a + b, big_a || big_b)
    }

    /// Stops recording changes for `peer`, whose output is blocked: what
    /// it misses is found again at [`Rib::resume_exports`] by comparing the
    /// table with its Adj-RIB-Out, so a peer that does not read costs at
    /// most one Adj-RIB-Out of pending changes, coalesced per prefix, and
    /// never a log that grows with every change.
    pub fn suspend_exports(&mut self, peer: u32) -> Result<(), RibError> {
        let slot = self.core.slot_of(peer)?;
        self.leave(slot, true);
        let slot = usize::from(slot);
        self.v4.set_cursor(slot, None);
        self.v4.compact_log();
        self.v6.set_cursor(slot, None);
        self.v6.compact_log();
        Ok(())
    }

    /// Records changes for a suspended `peer` again and returns what its
    /// Adj-RIB-Out lacks: each route that differs from what was sent, once.
    pub fn resume_exports(&mut self, peer: u32) -> Result<Vec<ExportBatch>, RibError> {
        let slot = self.core.slot_of(peer)?;
        self.leave(slot, true);
        let families = self
            .core
            .peer(slot)
            .map(|p| p.info.families.clone())
            .unwrap_or_default();
        let s = usize::from(slot);
        let mut out = Vec::new();
        if families.contains(&Family::IPV4_UNICAST) {
            self.v4.set_cursor(s, Some(self.v4.log.len()));
            self.core.full_family(&mut self.v4, slot, false, &mut out);
        }
        if families.contains(&Family::IPV6_UNICAST) {
            self.v6.set_cursor(s, Some(self.v6.log.len()));
            self.core.full_family(&mut self.v6, slot, false, &mut out);
        }
        Ok(out)
    }

    /// Ends an export round: drops the results shared between the peers
    /// drained since the last change (they would be dropped at the next
    /// change anyway, but keep a decoded attribute set per outgoing set
    /// alive until then). Call after draining every peer.
    pub fn end_export_round(&mut self) {
        self.core.forget_exports();
    }

    /// The slot whose cursors hold `slot`'s exports: its group's leader.
    fn exporting_slot(&self, slot: u16) -> u16 {
        self.core.groups.exporting_slot(slot)
    }

    /// Whether any peer has export work pending (cheap; for the core's
    /// scheduling); for a group member, whether its group has.
    pub fn exports_pending(&self, peer: u32) -> bool {
        let Ok(slot) = self.core.slot_of(peer) else {
            return false;
        };
        let s = usize::from(self.exporting_slot(slot));
        let pending = |log_len: usize, c: Option<&Option<usize>>| matches!(c, Some(Some(cur)) if *cur < log_len);
        pending(self.v4.log.len(), self.v4.cursors.get(s))
            || pending(self.v6.log.len(), self.v6.cursors.get(s))
    }
}
