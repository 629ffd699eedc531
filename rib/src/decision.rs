//! The BGP decision process (RFC 4271 9.1.2) and ECMP multipath.
//!
//! Two forms of the same rules:
//! - [`compare`]: a pairwise comparison that also says which step decided
//!   ([`Reason`]); rbgpctl uses it to explain why a path is not best.
//! - [`select`]: the set-based elimination the RFC describes, which picks
//!   the best path and the multipath group. It does not depend on the order
//!   of the candidates.
//!
//! Why both: when MED is compared only between paths from the same
//! neighbor AS (the default), the pairwise relation is not transitive (A
//! beats B on MED, B beats C on router id, C beats A on router id), so
//! "minimum under `compare`" would depend on arrival order. The elimination
//! of RFC 4271 9.1.2.2 c) removes, per neighbor AS, the paths with a worse
//! MED than another path of that AS, which is order-independent. With
//! `always_compare_med`, `compare` is a total order and both agree.
//!
//! [`select_explained`] is [`select`] telling, for each candidate that is
//! not the best or not in the multipath group, the step that put it out
//! ([`Note`]): the same code runs for both, `select` just ignores the notes.

use std::cmp::Ordering;
use std::net::{IpAddr, Ipv4Addr};

/// The fields of one eligible path the decision process looks at. Paths
/// that are not eligible (rejected by policy, next hop unreachable) are
/// never candidates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate {
    /// LOCAL_PREF (100 when absent).
    pub local_pref: u32,
    /// Originated by this router (`[[route]]`, redistributed): preferred
    /// over any learned path, as FRR (weight 32768) and BIRD (static
    /// preference 200 over BGP's 100) prefer theirs.
    pub local: bool,
    /// AS_PATH length (AS_SET counts 1, confederation segments 0).
    pub path_len: u32,
    /// ORIGIN code: IGP 0, EGP 1, INCOMPLETE 2.
    pub origin: u8,
    /// MULTI_EXIT_DISC, 0 when absent.
    pub med: u32,
    /// The neighbor AS (first AS of the path), `None` for an empty path.
    pub neighbor_as: Option<u32>,
    /// Learned over eBGP.
    pub ebgp: bool,
    /// ORIGINATOR_ID when present, else the peer's BGP Identifier.
    pub router_id: Ipv4Addr,
    /// CLUSTER_LIST length (RFC 4456 9).
    pub cluster_len: u32,
    /// The peer's address.
    pub peer_addr: IpAddr,
    /// ADD-PATH path identifier the peer gave (0 without ADD-PATH).
    pub path_id: u32,
    /// Final tie-break for determinism: the peer's id.
    pub peer_id: u32,
}

/// The decision step that told two paths apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reason {
    /// Not a candidate: the next hop is unreachable.
    Unreachable,
    /// Not a candidate: rejected by import policy or loop detection.
    Rejected,
    /// A route this router originates wins over a learned one.
    Local,
    /// 9.1.2.2 (LOCAL_PREF): higher wins.
    LocalPref,
    /// 9.1.2.2 a): shorter AS_PATH wins.
    AsPathLen,
    /// 9.1.2.2 b): lower ORIGIN wins.
    Origin,
    /// 9.1.2.2 c): lower MED wins (same neighbor AS unless
    /// `always_compare_med`).
    Med,
    /// 9.1.2.2 d): eBGP-learned wins over iBGP-learned.
    EbgpOverIbgp,
    /// 9.1.2.2 f): lower BGP Identifier (ORIGINATOR_ID) wins.
    RouterId,
    /// RFC 4456 9: shorter CLUSTER_LIST wins.
    ClusterListLen,
    /// 9.1.2.2 g): lower peer address wins.
    PeerAddr,
    /// Lower ADD-PATH identifier, then lower peer id: determinism only.
    PathId,
    /// The paths are equal in every step.
    Equal,
}

impl Reason {
    /// A short lowercase name for display.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Unreachable => "next-hop-unreachable",
            Reason::Rejected => "rejected",
            Reason::LocalPref => "local-pref",
            Reason::Local => "locally-originated",
            Reason::AsPathLen => "as-path-length",
            Reason::Origin => "origin",
            Reason::Med => "med",
            Reason::EbgpOverIbgp => "ebgp-over-ibgp",
            Reason::RouterId => "router-id",
            Reason::ClusterListLen => "cluster-list-length",
            Reason::PeerAddr => "peer-address",
            Reason::PathId => "path-id",
            Reason::Equal => "equal",
        }
    }
}

/// Options of the decision process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecisionConfig {
    /// Compare MED between paths from different neighbor ASes.
    pub always_compare_med: bool,
    /// Allow multipath across different neighbor ASes.
    pub multipath_relax: bool,
    /// Most paths in the multipath group (1: best only; 0 counts as 1).
    pub max_paths: usize,
}

/// The result of [`select`]: indexes into the candidate slice.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// The best path, `None` when there is no candidate.
    pub best: Option<usize>,
    /// The multipath group, best first, at most `max_paths` long; empty
    /// when there is no candidate.
    pub multipath: Vec<usize>,
}

/// Why a candidate is not in the multipath group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EcmpSplit {
    /// Put out at this decision step (it is worse than the best there).
    Step(Reason),
    /// Tied with the best, but learned from another neighbor AS (and
    /// `multipath_relax` is off).
    NeighborAs,
    /// Tied with the best, but the group already has `max_paths` members.
    MaxPaths,
}

/// What [`select_explained`] says of one candidate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Note {
    /// Not the best: the step that put it out (`None` for the best).
    pub lost_at: Option<Reason>,
    /// Not in the multipath group: why (`None` for a member).
    pub ecmp: Option<EcmpSplit>,
}

fn med_comparable(a: &Candidate, b: &Candidate, always_compare_med: bool) -> bool {
    always_compare_med || a.neighbor_as == b.neighbor_as
}

/// The tie-break steps after eBGP-over-iBGP, as a key (lower wins).
fn tiebreak_key(c: &Candidate) -> (Ipv4Addr, u32, IpAddr, u32, u32) {
    (
        c.router_id,
        c.cluster_len,
        c.peer_addr,
        c.path_id,
        c.peer_id,
    )
}

/// Compares two candidates: `Less` means `a` is preferred. The [`Reason`]
/// names the step that decided ([`Reason::Equal`] with `Equal`).
pub fn compare(a: &Candidate, b: &Candidate, always_compare_med: bool) -> (Ordering, Reason) {
    // RFC 4271 9.1.1: the degree of preference, here LOCAL_PREF: higher wins.
    let steps: [(Ordering, Reason); 11] = [
        (b.local.cmp(&a.local), Reason::Local),
        (b.local_pref.cmp(&a.local_pref), Reason::LocalPref),
        // 9.1.2.2 a) "Remove from consideration all routes that are not
        // tied for having the smallest number of AS numbers present in
        // their AS_PATH attributes."
        (a.path_len.cmp(&b.path_len), Reason::AsPathLen),
        // b) "... the lowest Origin number ..."
        (a.origin.cmp(&b.origin), Reason::Origin),
        // c) "... MULTI_EXIT_DISC is only comparable between routes
        // learned from the same neighboring AS ... a route that lacks the
        // MULTI_EXIT_DISC attribute [is] considered to have the lowest
        // value"
        (
            if med_comparable(a, b, always_compare_med) {
                a.med.cmp(&b.med)
            } else {
                Ordering::Equal
            },
            Reason::Med,
        ),
        // d) "If at least one of the candidate routes was received via
        // EBGP, remove from consideration all routes that were received via
        // IBGP."
        (b.ebgp.cmp(&a.ebgp), Reason::EbgpOverIbgp),
        // e) interior cost: every next hop is directly connected here.
        // f) "... the lowest BGP Identifier value" (RFC 4456 9: the
        // ORIGINATOR_ID stands in for it when present).
        (a.router_id.cmp(&b.router_id), Reason::RouterId),
        // RFC 4456 9: "a BGP Speaker SHOULD prefer a route with the
        // shorter CLUSTER_LIST length".
        (a.cluster_len.cmp(&b.cluster_len), Reason::ClusterListLen),
        // g) "... the lowest peer address."
        (a.peer_addr.cmp(&b.peer_addr), Reason::PeerAddr),
        (a.path_id.cmp(&b.path_id), Reason::PathId),
        (a.peer_id.cmp(&b.peer_id), Reason::PathId),
    ];
    steps
        .into_iter()
        .find(|(o, _)| *o != Ordering::Equal)
        .unwrap_or((Ordering::Equal, Reason::Equal))
}

/// Keeps the members of `set` whose `key` is the best (`max` or min); the
/// others are noted as put out at `step`.
fn keep_best<T: Ord + Copy>(
    set: &mut Vec<usize>,
    c: &[Candidate],
    max: bool,
    step: Reason,
    note: &mut impl FnMut(usize, Note),
    key: impl Fn(&Candidate) -> T,
) {
    let keys = set.iter().filter_map(|&i| c.get(i).map(&key));
    let Some(best) = (if max { keys.max() } else { keys.min() }) else {
        return;
    };
    set.retain(|&i| {
        let keep = c.get(i).is_some_and(|x| key(x) == best);
        if !keep {
            note(i, out_at(step));
        }
        keep
    });
}

/// The note of a candidate put out at `step`, for best and multipath.
fn out_at(step: Reason) -> Note {
    Note {
        lost_at: Some(step),
        ecmp: Some(EcmpSplit::Step(step)),
    }
}

/// [`select`] for two candidates: with two, the pairwise [`compare`] is
/// the elimination (no third path to make MED intransitive), and both are
/// in the multipath group when they tie through the MED step, are learned
/// the same way and (unless relaxed) from the same neighbor AS.
fn select_two(
    cands: &[Candidate],
    cfg: &DecisionConfig,
    note: &mut impl FnMut(usize, Note),
) -> Selection {
    let (Some(a), Some(b)) = (cands.first(), cands.get(1)) else {
        return Selection::default();
    };
    let (ord, reason) = compare(a, b, cfg.always_compare_med);
    let (best, other) = if ord == Ordering::Greater {
        (1, 0)
    } else {
        (0, 1)
    };
    let tied = matches!(
        reason,
        Reason::RouterId
            | Reason::ClusterListLen
            | Reason::PeerAddr
            | Reason::PathId
            | Reason::Equal
    );
    let mut multipath = vec![best];
    let split = if !tied {
        Some(EcmpSplit::Step(reason))
    } else if cfg.max_paths <= 1 {
        Some(EcmpSplit::MaxPaths)
    } else if !cfg.multipath_relax && a.neighbor_as != b.neighbor_as {
        Some(EcmpSplit::NeighborAs)
    } else {
        multipath.push(other);
        None
    };
    note(
        other,
        Note {
            lost_at: Some(reason),
            ecmp: split,
        },
    );
    Selection {
        best: Some(best),
        multipath,
    }
}

/// Runs the decision process over `cands` and forms the multipath group.
///
/// Multipath: the paths still in the running after the MED step, learned
/// the same way as the best (eBGP or iBGP) and, unless `multipath_relax`,
/// from the same neighbor AS, ordered by the remaining tie-breaks with the
/// best first, at most `max_paths`.
pub fn select(cands: &[Candidate], cfg: &DecisionConfig) -> Selection {
    select_noting(cands, cfg, &mut |_, _| {})
}

/// [`select`], and a [`Note`] per candidate (by index): the step each one
/// that is not the best lost at, and why each one outside the multipath
/// group is out. The notes come from the elimination itself, so with MED
/// compared per neighbor AS a path may be noted out at MED against a path
/// that is not the best.
pub fn select_explained(cands: &[Candidate], cfg: &DecisionConfig) -> (Selection, Vec<Note>) {
    let mut notes = vec![Note::default(); cands.len()];
    let sel = select_noting(cands, cfg, &mut |i, n| {
        if let Some(slot) = notes.get_mut(i) {
            *slot = n;
        }
    });
    (sel, notes)
}

fn select_noting(
    cands: &[Candidate],
    cfg: &DecisionConfig,
    note: &mut impl FnMut(usize, Note),
) -> Selection {
    match cands.len() {
        0 => return Selection::default(),
        1 => {
            return Selection {
                best: Some(0),
                multipath: vec![0],
            }
        }
        2 => return select_two(cands, cfg, note),
        _ => {}
    }
    let mut set: Vec<usize> = (0..cands.len()).collect();
    keep_best(&mut set, cands, true, Reason::Local, note, |c| c.local);
    keep_best(&mut set, cands, true, Reason::LocalPref, note, |c| {
        c.local_pref
    });
    keep_best(&mut set, cands, false, Reason::AsPathLen, note, |c| {
        c.path_len
    });
    keep_best(&mut set, cands, false, Reason::Origin, note, |c| c.origin);
    let acm = cfg.always_compare_med;
    if acm {
        keep_best(&mut set, cands, false, Reason::Med, note, |c| c.med);
    } else if set.len() > 1 {
        // Per neighbor AS: drop a path when a path of the same AS has a
        // lower MED.
        let worse = |i: usize| {
            let Some(x) = cands.get(i) else { return true };
            set.iter().any(|&j| {
                cands
                    .get(j)
                    .is_some_and(|y| y.neighbor_as == x.neighbor_as && y.med < x.med)
            })
        };
        let kept: Vec<usize> = set.iter().copied().filter(|&i| !worse(i)).collect();
        for &i in set.iter().filter(|i| !kept.contains(i)) {
            note(i, out_at(Reason::Med));
        }
        set = kept;
    }
    // `set` is now the multipath candidates; the best also needs d) and f-g).
    let any_ebgp = set.iter().any(|&i| cands.get(i).is_some_and(|c| c.ebgp));
    let best = set
        .iter()
        .copied()
        .filter(|&i| cands.get(i).is_some_and(|c| c.ebgp || !any_ebgp))
        .min_by_key(|&i| cands.get(i).map(tiebreak_key));
    let Some(best_c) = best.and_then(|b| cands.get(b)) else {
        return Selection::default();
    };
    let mut multipath: Vec<usize> = Vec::with_capacity(set.len());
    for i in set {
        let Some(c) = cands.get(i) else { continue };
        let split = if c.ebgp != best_c.ebgp {
            Some(EcmpSplit::Step(Reason::EbgpOverIbgp))
        } else if !cfg.multipath_relax && c.neighbor_as != best_c.neighbor_as {
            Some(EcmpSplit::NeighborAs)
        } else {
            multipath.push(i);
            None
        };
        if Some(i) != best {
            // Past MED the pairwise step is the elimination's: eBGP over
            // iBGP, then the tie-breaks.
            let lost_at = Some(compare(best_c, c, acm).1);
            note(
                i,
                Note {
                    lost_at,
                    ecmp: split,
                },
            );
        }
    }
    multipath.sort_by_key(|&i| cands.get(i).map(tiebreak_key));
    let max = cfg.max_paths.max(1);
    for &i in multipath.get(max..).unwrap_or_default() {
        let lost_at = cands.get(i).map(|c| compare(best_c, c, acm).1);
        note(
            i,
            Note {
                lost_at,
                ecmp: Some(EcmpSplit::MaxPaths),
            },
        );
    }
    multipath.truncate(max);
    Selection { best, multipath }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(peer: u8) -> Candidate {
        Candidate {
            local_pref: 100,
            local: false,
            path_len: 1,
            origin: 0,
            med: 0,
            neighbor_as: Some(65100),
            ebgp: true,
            router_id: Ipv4Addr::new(10, 0, 0, peer),
            cluster_len: 0,
            peer_addr: IpAddr::V4(Ipv4Addr::new(172, 18, 0, peer)),
            path_id: 0,
            peer_id: u32::from(peer),
        }
    }

    const CFG: DecisionConfig = DecisionConfig {
        always_compare_med: false,
        multipath_relax: false,
        max_paths: 8,
    };

    /// `better` must win against `worse` at step `reason`, both ways round.
    fn check(better: Candidate, worse: Candidate, reason: Reason) {
        assert_eq!(compare(&better, &worse, false), (Ordering::Less, reason));
        assert_eq!(compare(&worse, &better, false), (Ordering::Greater, reason));
        for pair in [[better, worse], [worse, better]] {
            let s = select(
                &pair,
                &DecisionConfig {
                    max_paths: 1,
                    ..CFG
                },
            );
            assert_eq!(s.best.map(|i| pair[i]), Some(better), "{reason:?}");
        }
    }

    #[test]
    fn step_local_pref() {
        let (mut a, mut b) = (cand(2), cand(1));
        a.local_pref = 200;
        a.path_len = 5;
        b.local_pref = 100;
        check(a, b, Reason::LocalPref);
    }

    #[test]
    fn step_local() {
        // An originated route beats a learned one with a higher
        // LOCAL_PREF, a shorter path and a better origin.
        let (mut a, mut b) = (cand(2), cand(1));
        a.local = true;
        b.local_pref = 300;
        a.path_len = 3;
        a.origin = 2;
        b.path_len = 0;
        check(a, b, Reason::Local);
    }

    #[test]
    fn step_as_path_len() {
        let (a, mut b) = (cand(2), cand(1));
        b.path_len = 2;
        check(a, b, Reason::AsPathLen);
    }

    #[test]
    fn step_origin() {
        let (a, mut b) = (cand(2), cand(1));
        b.origin = 2;
        check(a, b, Reason::Origin);
    }

    #[test]
    fn step_med_same_neighbor_as() {
        let (mut a, mut b) = (cand(2), cand(1));
        a.med = 5;
        b.med = 10;
        check(a, b, Reason::Med);
    }

    #[test]
    fn med_ignored_across_neighbor_as_unless_always_compare() {
        let (mut a, mut b) = (cand(2), cand(1));
        a.med = 5;
        a.neighbor_as = Some(65200);
        b.med = 10;
        // Without always_compare_med the router id decides: b (10.0.0.1).
        check(b, a, Reason::RouterId);
        assert_eq!(compare(&a, &b, true), (Ordering::Less, Reason::Med));
        let cfg = DecisionConfig {
            always_compare_med: true,
            ..CFG
        };
        assert_eq!(select(&[b, a], &cfg).best, Some(1));
    }

    #[test]
    fn step_ebgp_over_ibgp() {
        let (a, mut b) = (cand(2), cand(1));
        b.ebgp = false;
        check(a, b, Reason::EbgpOverIbgp);
    }

    #[test]
    fn step_router_id_and_originator() {
        let (a, b) = (cand(1), cand(2));
        check(a, b, Reason::RouterId);
    }

    #[test]
    fn step_cluster_list_len() {
        let (a, mut b) = (cand(2), cand(1));
        b.router_id = a.router_id;
        b.cluster_len = 1;
        check(a, b, Reason::ClusterListLen);
    }

    #[test]
    fn step_peer_addr() {
        let (a, mut b) = (cand(1), cand(2));
        b.router_id = a.router_id;
        check(a, b, Reason::PeerAddr);
    }

    #[test]
    fn step_path_id() {
        let (a, mut b) = (cand(1), cand(1));
        b.path_id = 7;
        check(a, b, Reason::PathId);
        assert_eq!(compare(&a, &a, false), (Ordering::Equal, Reason::Equal));
    }

    #[test]
    fn lab_three_equal_nodes_form_one_group() {
        let c = [cand(4), cand(2), cand(3)];
        let s = select(&c, &CFG);
        assert_eq!(s.best, Some(1));
        assert_eq!(s.multipath, vec![1, 2, 0]);
        let s = select(
            &c,
            &DecisionConfig {
                max_paths: 2,
                ..CFG
            },
        );
        assert_eq!(s.multipath, vec![1, 2]);
    }

    #[test]
    fn multipath_needs_same_neighbor_as_unless_relaxed() {
        let mut other = cand(3);
        other.neighbor_as = Some(65200);
        let mut worse = cand(4);
        worse.path_len = 2;
        let mut ibgp = cand(5);
        ibgp.ebgp = false;
        let c = [cand(2), other, worse, ibgp];
        assert_eq!(select(&c, &CFG).multipath, vec![0]);
        let relaxed = DecisionConfig {
            multipath_relax: true,
            ..CFG
        };
        assert_eq!(select(&c, &relaxed).multipath, vec![0, 1]);
    }

    #[test]
    fn med_elimination_is_per_neighbor_as() {
        // a (AS1, MED 10) loses to b (AS1, MED 0) on MED; c (AS2) is
        // compared with b on router id. Pairwise, c beats a on router id
        // only if MED is not compared: the classic intransitive triple.
        let mut a = cand(1);
        a.med = 10;
        let mut b = cand(3);
        b.med = 0;
        let mut c = cand(2);
        c.neighbor_as = Some(65200);
        let cands = [a, b, c];
        let best = select(&cands, &CFG).best.map(|i| cands[i]);
        for perm in [
            [0, 1, 2],
            [0, 2, 1],
            [1, 0, 2],
            [1, 2, 0],
            [2, 0, 1],
            [2, 1, 0],
        ] {
            let p = perm.map(|i| cands[i]);
            assert_eq!(select(&p, &CFG).best.map(|i| p[i]), best);
        }
        assert_eq!(best, Some(c));
    }

    #[test]
    fn empty_and_single() {
        assert_eq!(select(&[], &CFG), Selection::default());
        assert_eq!(select(&[cand(1)], &CFG).multipath, vec![0]);
        assert_eq!(Reason::Med.as_str(), "med");
    }

    #[test]
    fn notes_name_the_step_and_the_ecmp_split() {
        // Three equal nodes, a fourth with ORIGIN incomplete, a fifth from
        // another AS, a sixth with a higher MED than its AS's others.
        let mut c: Vec<Candidate> = (1..=6).map(cand).collect();
        c[3].origin = 2;
        c[4].neighbor_as = Some(65200);
        c[5].med = 10;
        let (sel, notes) = select_explained(&c, &CFG);
        assert_eq!(sel, select(&c, &CFG), "the same selection");
        assert_eq!(sel.best, Some(0));
        assert_eq!(sel.multipath, vec![0, 1, 2]);
        assert_eq!(notes[0], Note::default());
        let tied = Note {
            lost_at: Some(Reason::RouterId),
            ecmp: None,
        };
        assert_eq!((notes[1], notes[2]), (tied, tied));
        assert_eq!(notes[3], out_at(Reason::Origin));
        assert_eq!(
            notes[4],
            Note {
                lost_at: Some(Reason::RouterId),
                ecmp: Some(EcmpSplit::NeighborAs),
            }
        );
        assert_eq!(notes[5], out_at(Reason::Med));
        // max_paths 2: the third node is out for the cap.
        let cfg = DecisionConfig {
            max_paths: 2,
            ..CFG
        };
        let (_, notes) = select_explained(&c, &cfg);
        assert_eq!(notes[2].ecmp, Some(EcmpSplit::MaxPaths));
        // Two candidates take the pairwise path: the same notes.
        let (sel, notes) = select_explained(&c[2..4], &CFG);
        assert_eq!(sel.best, Some(0));
        assert_eq!(notes[1], out_at(Reason::Origin));
        let (_, notes) = select_explained(&[c[0], c[4]], &CFG);
        assert_eq!(notes[1].ecmp, Some(EcmpSplit::NeighborAs));
    }
}
