//! Why a prefix is routed the way it is, for `rbgpctl explain`: every path
//! with the import verdict that let it in or kept it out, the decision step
//! that put each other path behind the best and the reason each path is in
//! or out of the ECMP group, and per peer whether the best path is sent and
//! which rule decided. The answers come from the code the RIB runs: the
//! import policy and loop checks of [`Rib::update`], the elimination of
//! [`crate::decision::select_explained`] and the export rules of
//! `Core::export_verdict` (in `export.rs`).

use crate::attrs::RouteAttrs;
use crate::decision::{select_explained, Candidate, Note};
use crate::export::ExportRefusal;
use crate::policy_eval::{DecidedBy, Outcome, RouteCtx};
use crate::rib::{Core, Rib};
use crate::table::{FamilyTable, Key, PathEntry, PathList, BEST, MULTIPATH, REJECTED, STALE};
use bgp_proto::types::Prefix;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

/// What to explain: a prefix, or the most specific prefix holding an
/// address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExplainTarget {
    /// Exactly this prefix.
    Prefix(Prefix),
    /// The most specific prefix with a path (accepted or not) holding it.
    Address(IpAddr),
}

/// How a path got into the RIB, or why it is kept out of the decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportVerdict {
    /// Accepted by the import policy `policy` (evaluated again on the
    /// attributes as accepted).
    Accepted {
        /// The policy's name (`all`, `none` or a name).
        policy: String,
        /// What in it decided.
        by: DecidedBy,
    },
    /// The AS_PATH holds our AS (RFC 4271 9.1.2).
    AsPathLoop,
    /// ORIGINATOR_ID is our router id (RFC 4456 8).
    OriginatorIsUs,
    /// CLUSTER_LIST holds our cluster id (RFC 4456 8).
    ClusterLoop,
    /// Rejected by the import policy `policy`.
    Rejected {
        /// The policy's name.
        policy: String,
        /// What in it decided.
        by: DecidedBy,
    },
    /// Originated by this router (`[[route]]`, redistribution).
    Local,
}

/// One path of the prefix, explained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathExplained {
    /// The peer's id ([`crate::LOCAL_PEER`] for our own routes).
    pub peer: u32,
    /// The peer's address.
    pub peer_addr: IpAddr,
    /// ADD-PATH identifier as received.
    pub path_id: u32,
    /// Attributes (as accepted; as received for a rejected path) and next
    /// hop.
    pub route: Arc<RouteAttrs>,
    /// The RIB clock when the path arrived or last changed.
    pub since: u32,
    /// Kept through a graceful restart.
    pub stale: bool,
    /// Learned over eBGP.
    pub ebgp: bool,
    /// The import verdict.
    pub import: ImportVerdict,
    /// The peer's AS (ours for our own routes).
    pub peer_as: u32,
    /// Its next hop is unreachable: not a candidate.
    pub unreachable: bool,
    /// The best path.
    pub best: bool,
    /// In the ECMP group.
    pub multipath: bool,
    /// For a candidate: the step it lost at and why it is out of ECMP.
    pub note: Option<Note>,
    /// The decision process's view of it (candidates only).
    pub candidate: Option<Candidate>,
    /// The kernel table of its peer's routes.
    pub fib_table: u32,
}

/// Whether the best path goes to one peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExportVerdict {
    /// Sent (or about to be) with these attributes; what in the export
    /// policy let it out.
    Sent(Arc<RouteAttrs>, DecidedBy),
    /// Not sent: the rule.
    Refused(ExportRefusal),
    /// The family was not negotiated with the peer.
    FamilyNotNegotiated,
    /// The peer gets our own default route instead (`default_originate`).
    DefaultOriginate,
    /// There is no best path to send.
    NoBestPath,
}

/// One established peer's side of the prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerExport {
    /// The peer's id.
    pub peer: u32,
    /// The peer's address.
    pub peer_addr: IpAddr,
    /// The peer's AS.
    pub peer_as: u32,
    /// Its export policy's name.
    pub export_policy: String,
    /// What the export rules decide now.
    pub verdict: ExportVerdict,
    /// Whether its Adj-RIB-Out holds the prefix (sent and not withdrawn).
    pub advertised: bool,
    /// It receives several paths (ADD-PATH send).
    pub add_path: bool,
}

/// The whole answer for one prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    /// The prefix.
    pub prefix: Prefix,
    /// Every path: the best first, then the ECMP group, then the rest.
    pub paths: Vec<PathExplained>,
    /// Every established peer, by address.
    pub exports: Vec<PeerExport>,
}

impl Core {
    /// The loop check of [`Rib::update`] on stored attributes.
    fn loop_verdict(&self, route: &RouteAttrs) -> Option<ImportVerdict> {
        let a = &route.attrs;
        if a.as_path.contains(self.local_as) {
            Some(ImportVerdict::AsPathLoop)
        } else if a.originator_id == Some(self.router_id) {
            Some(ImportVerdict::OriginatorIsUs)
        } else if a.cluster_list.contains(&self.cluster_id) {
            Some(ImportVerdict::ClusterLoop)
        } else {
            None
        }
    }

    fn import_verdict(&self, e: &PathEntry, prefix: &Prefix, route: &RouteAttrs) -> ImportVerdict {
        if self.local_slot == Some(e.peer) {
            return ImportVerdict::Local;
        }
        if e.has(REJECTED) {
            if let Some(v) = self.loop_verdict(route) {
                return v;
            }
        }
        let Some(peer) = self.peer(e.peer) else {
            return ImportVerdict::Local;
        };
        let ctx = RouteCtx {
            prefix,
            next_hop: route.next_hop,
            peer_as: peer.info.remote_as,
        };
        let policy = self.policies.name(peer.import);
        let (outcome, by) =
            self.policies
                .evaluate_traced(peer.import, ctx, &route.attrs, peer.info.remote_as);
        if e.has(REJECTED) || outcome == Outcome::Reject {
            ImportVerdict::Rejected { policy, by }
        } else {
            ImportVerdict::Accepted { policy, by }
        }
    }

    fn explain_list<K: Key>(&self, t: &FamilyTable<K>, key: K, list: &PathList) -> Explanation {
        let prefix: Prefix = key.into();
        let entries = list.as_slice();
        // The decision over the eligible paths, as `decide` runs it.
        let eligible: Vec<usize> = (0..entries.len())
            .filter(|&i| entries.get(i).is_some_and(|e| self.eligible(e)))
            .collect();
        let cands: Vec<Candidate> = eligible
            .iter()
            .filter_map(|&i| entries.get(i).map(|e| self.candidate(e)))
            .collect();
        let (_, notes) = select_explained(&cands, &self.decision);
        let mut paths: Vec<PathExplained> = entries
            .iter()
            .enumerate()
            .filter_map(|(i, e)| {
                let route = self.attrs.get(e.attr)?;
                let peer = self.peer(e.peer);
                let k = eligible.iter().position(|&j| j == i);
                Some(PathExplained {
                    peer: peer.map_or(crate::LOCAL_PEER, |p| p.info.id),
                    peer_addr: peer.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |p| p.info.addr),
                    path_id: e.path_id,
                    import: self.import_verdict(e, &prefix, &route),
                    peer_as: peer.map_or(self.local_as, |p| p.info.remote_as),
                    unreachable: !e.has(REJECTED) && self.unreachable.contains(&route.next_hop),
                    route: Arc::new(route),
                    since: e.tick,
                    stale: e.has(STALE),
                    ebgp: peer.is_some_and(|p| p.ebgp),
                    best: e.has(BEST),
                    multipath: e.has(MULTIPATH),
                    note: k.and_then(|k| notes.get(k).copied()),
                    candidate: k.and_then(|k| cands.get(k).copied()),
                    fib_table: peer.map_or(0, |p| p.info.fib_table),
                })
            })
            .collect();
        paths.sort_by_key(|p| (!p.best, !p.multipath, p.candidate.is_none()));
        let best = entries.iter().find(|e| e.has(BEST)).copied();
        let id = t.find(key);
        let mut exports: Vec<PeerExport> = self
            .peers
            .iter()
            .enumerate()
            .filter_map(|(slot, p)| {
                let p = p.as_ref()?;
                if !p.up || self.local_slot == u16::try_from(slot).ok() {
                    return None;
                }
                let slot16 = u16::try_from(slot).ok()?;
                let verdict = if !p.info.families.contains(&K::FAMILY) {
                    ExportVerdict::FamilyNotNegotiated
                } else if p.info.default_originate && prefix.is_empty() {
                    ExportVerdict::DefaultOriginate
                } else {
                    match best {
                        None => ExportVerdict::NoBestPath,
                        Some(b) => match self.export_verdict(p, slot16, &b, key) {
                            Ok((r, by)) => ExportVerdict::Sent(Arc::new(r), by),
                            Err(why) => ExportVerdict::Refused(why),
                        },
                    }
                };
                Some(PeerExport {
                    peer: p.info.id,
                    peer_addr: p.info.addr,
                    peer_as: p.info.remote_as,
                    export_policy: self.policies.name(p.export),
                    verdict,
                    advertised: id.is_some_and(|id| self.sent(t, slot16, id)),
                    add_path: p.info.add_path_send.contains(&K::FAMILY),
                })
            })
            .collect();
        exports.sort_by_key(|e| e.peer_addr);
        Explanation {
            prefix,
            paths,
            exports,
        }
    }
}

impl Rib {
    /// Explains `target` (see [`Explanation`]); `None` when no path of any
    /// peer, accepted or not, covers it.
    pub fn explain(&self, target: ExplainTarget) -> Option<Explanation> {
        fn exact<K: Key>(core: &Core, t: &FamilyTable<K>, key: K) -> Option<Explanation> {
            let list = t.get(key)?;
            (!list.as_slice().is_empty()).then(|| core.explain_list(t, key, list))
        }
        fn longest<K: Key>(core: &Core, t: &FamilyTable<K>, ip: IpAddr) -> Option<Explanation> {
            (0..=K::MAX_LEN)
                .rev()
                .filter_map(|len| K::covering(ip, len))
                .find_map(|k| exact(core, t, k))
        }
        match target {
            ExplainTarget::Prefix(Prefix::V4(p)) => exact(&self.core, &self.v4, p),
            ExplainTarget::Prefix(Prefix::V6(p)) => exact(&self.core, &self.v6, p),
            ExplainTarget::Address(ip @ IpAddr::V4(_)) => longest(&self.core, &self.v4, ip),
            ExplainTarget::Address(ip @ IpAddr::V6(_)) => longest(&self.core, &self.v6, ip),
        }
    }
}
