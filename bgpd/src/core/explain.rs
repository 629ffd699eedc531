//! The answer to `rbgpctl explain`: the RIB's explanation of a prefix
//! ([`rib::Rib::explain`]) with the peers' descriptions, ages, and the FIB
//! task's state of the route ([`FibView::Routes`]).

use super::answer::route_path;
use super::{Core, CtlContext, FibView};
use crate::ctl::explain::{Explain, ExplainExport, ExplainKernel, ExplainPath};
use crate::ctl::proto::{Response, RouteQuery, RouteTarget};
use crate::fib::{FibRouteState, FibStatusEntry};
use bgp_proto::msg::attributes::Community;
use bgp_proto::Prefix;
use rib::decision::{Candidate, EcmpSplit, Reason};
use rib::explain::{ExportVerdict, ImportVerdict, PathExplained};
use rib::policy_eval::DecidedBy;
use rib::{ExplainTarget, ExportRefusal};
use std::net::IpAddr;

/// Parses an `explain` target: a prefix, or an address.
pub fn parse_target(target: &str) -> Result<ExplainTarget, String> {
    let q = RouteQuery {
        prefix: Some(target.to_string()),
        ..RouteQuery::default()
    };
    match q.target()? {
        Some(RouteTarget::Prefix(p)) => Ok(ExplainTarget::Prefix(p)),
        Some(RouteTarget::LongestMatch(a)) => Ok(ExplainTarget::Address(a)),
        None => Err("nothing to explain".into()),
    }
}

/// The prefixes the FIB is asked about for `target`: the prefix, or every
/// prefix holding the address (the RIB picks the match).
pub fn fib_prefixes(target: &str) -> Vec<Prefix> {
    match parse_target(target) {
        Ok(ExplainTarget::Prefix(p)) => vec![p],
        Ok(ExplainTarget::Address(a)) => {
            let max = if a.is_ipv4() { 32 } else { 128 };
            (0..=max).filter_map(|len| Prefix::new(a, len)).collect()
        }
        Err(_) => Vec::new(),
    }
}

/// What in a policy decided, with the policy's name.
fn decided(policy: &str, by: DecidedBy) -> String {
    match by {
        DecidedBy::All | DecidedBy::None => format!("policy {policy}"),
        DecidedBy::Term(t) => format!("policy {policy} term[{t}]"),
        DecidedBy::Default => format!("policy {policy} (its default)"),
    }
}

fn import_text(v: &ImportVerdict, local_as: u32) -> (String, Option<String>) {
    match v {
        ImportVerdict::Accepted { policy, by } => {
            (format!("accepted by {}", decided(policy, *by)), None)
        }
        ImportVerdict::Local => ("originated by this router".into(), None),
        ImportVerdict::Rejected { policy, by } => (
            format!("rejected by {}", decided(policy, *by)),
            Some("rejected at import".into()),
        ),
        loop_check => {
            let why = match loop_check {
                ImportVerdict::AsPathLoop => format!("AS_PATH holds our AS {local_as} (a loop)"),
                ImportVerdict::OriginatorIsUs => "ORIGINATOR_ID is our router id (RFC 4456)".into(),
                _ => "CLUSTER_LIST holds our cluster id (RFC 4456)".into(),
            };
            (
                format!("rejected: {why}"),
                Some("rejected at import".into()),
            )
        }
    }
}

/// The values of the decision step `step` for the path `c` against the
/// best `b`: "ORIGIN incomplete vs igp (best)".
fn step_values(step: Reason, c: &Candidate, b: &Candidate) -> String {
    let origin = |o: u8| match o {
        0 => "igp",
        1 => "egp",
        _ => "incomplete",
    };
    let side = |x: bool| if x { "eBGP" } else { "iBGP" };
    match step {
        Reason::Local => "learned vs originated here (best)".into(),
        Reason::LocalPref => format!("LOCAL_PREF {} vs {} (best)", c.local_pref, b.local_pref),
        Reason::AsPathLen => format!("AS_PATH length {} vs {} (best)", c.path_len, b.path_len),
        Reason::Origin => format!("ORIGIN {} vs {} (best)", origin(c.origin), origin(b.origin)),
        Reason::Med => format!("MED {} vs {} (best)", c.med, b.med),
        Reason::EbgpOverIbgp => format!("{} vs {} (best)", side(c.ebgp), side(b.ebgp)),
        Reason::RouterId => format!("router id {} vs {} (best)", c.router_id, b.router_id),
        Reason::ClusterListLen => format!(
            "CLUSTER_LIST length {} vs {} (best)",
            c.cluster_len, b.cluster_len
        ),
        Reason::PeerAddr => format!("peer address {} vs {} (best)", c.peer_addr, b.peer_addr),
        other => other.as_str().to_string(),
    }
}

fn ecmp_text(split: EcmpSplit, c: &Candidate, b: &Candidate, max_paths: usize) -> String {
    let asn = |a: Option<u32>| a.map_or_else(|| "none".to_string(), |a| a.to_string());
    match split {
        EcmpSplit::Step(step) => step_values(step, c, b),
        EcmpSplit::NeighborAs => format!(
            "neighbor AS {} vs {} (best; multipath_relax is off)",
            asn(c.neighbor_as),
            asn(b.neighbor_as)
        ),
        EcmpSplit::MaxPaths => format!("the group is full (max_paths {max_paths})"),
    }
}

fn refusal_text(r: ExportRefusal, policy: &str) -> String {
    match r {
        ExportRefusal::LearnedFromIt => "learned from it".into(),
        ExportRefusal::IbgpToIbgp => {
            "iBGP split horizon: learned over iBGP and neither side is a route reflector client"
                .into()
        }
        ExportRefusal::Community(c) => {
            let name = match c {
                Community::NO_EXPORT => "no-export".to_string(),
                Community::NO_ADVERTISE => "no-advertise".to_string(),
                Community::NO_EXPORT_SUBCONFED => "no-export-subconfed".to_string(),
                other => other.to_string(),
            };
            format!("community {name}")
        }
        ExportRefusal::Policy(by) => format!("rejected by export {}", decided(policy, by)),
        ExportRefusal::PeerAsInPath(asn) => {
            format!("its AS {asn} is in the AS_PATH: it would drop it as a loop")
        }
        ExportRefusal::NoNextHop => {
            "no address of ours of the route's family towards it to put as next hop".into()
        }
        ExportRefusal::Gone => "the path is gone".into(),
    }
}

impl Core {
    /// Answers `explain TARGET`.
    pub(super) fn explain(&self, target: &str, ctx: &CtlContext) -> Response {
        let parsed = match parse_target(target) {
            Ok(t) => t,
            Err(e) => return Response::Error { message: e },
        };
        let Some(e) = self.rib.explain(parsed) else {
            return Response::Error {
                message: format!("no path for {target}: no peer announced a prefix holding it"),
            };
        };
        let now = self.now.saturating_duration_since(self.started).as_secs();
        let description = |addr: IpAddr| {
            ctx.peers
                .iter()
                .find(|p| p.addr == addr)
                .and_then(|p| p.description.clone())
        };
        let best = e.paths.iter().find(|p| p.best);
        let best_c = best.and_then(|p| p.candidate);
        let max_paths = self.config.router.max_paths;
        let paths = e
            .paths
            .iter()
            .map(|p| self.explain_path(p, best_c.as_ref(), max_paths, now, &description))
            .collect();
        let exports = e
            .exports
            .iter()
            .map(|x| {
                let (exported, rule, next_hop, as_path) = match &x.verdict {
                    ExportVerdict::Sent(r, by) => (
                        true,
                        format!("export {}", decided(&x.export_policy, *by)),
                        Some(r.next_hop.to_string()),
                        Some(r.attrs.as_path.to_string()),
                    ),
                    ExportVerdict::Refused(why) => {
                        (false, refusal_text(*why, &x.export_policy), None, None)
                    }
                    ExportVerdict::FamilyNotNegotiated => {
                        (false, "the family is not negotiated".into(), None, None)
                    }
                    ExportVerdict::DefaultOriginate => (
                        false,
                        "default_originate: it gets our own default route instead".into(),
                        None,
                        None,
                    ),
                    ExportVerdict::NoBestPath => (false, "no best path".into(), None, None),
                };
                ExplainExport {
                    peer: x.peer_addr,
                    peer_as: x.peer_as,
                    description: description(x.peer_addr),
                    exported,
                    advertised: x.advertised,
                    rule,
                    next_hop,
                    as_path,
                }
            })
            .collect();
        let table = match best.map_or(0, |b| b.fib_table) {
            0 => self.fib_table,
            t => t,
        };
        let kernel = self.fib.then(|| {
            let entry = match &ctx.fib {
                Some(FibView::Routes(rs)) => rs
                    .iter()
                    .find(|r| r.prefix == e.prefix && r.table.unwrap_or(self.fib_table) == table),
                _ => None,
            };
            kernel_view(entry, table, best, &ctx.fib)
        });
        Response::Explain {
            explain: Box::new(Explain {
                query: target.to_string(),
                prefix: e.prefix.to_string(),
                ecmp_width: e.paths.iter().filter(|p| p.multipath).count(),
                paths,
                kernel,
                exports,
            }),
        }
    }

    fn explain_path(
        &self,
        p: &PathExplained,
        best: Option<&Candidate>,
        max_paths: usize,
        now: u64,
        description: &impl Fn(IpAddr) -> Option<String>,
    ) -> ExplainPath {
        let mut path = route_path(p.peer, p.peer_addr, &p.route, now, p.since);
        (path.best, path.multipath, path.stale) = (p.best, p.multipath, p.stale);
        let local = p.peer == rib::LOCAL_PEER;
        let (import, mut excluded) = import_text(&p.import, self.config.router.asn);
        if p.unreachable {
            excluded = Some(format!("next hop {} unreachable", p.route.next_hop));
        }
        let (lost_at, ecmp_split) = match (p.note, p.candidate, best) {
            (Some(n), Some(c), Some(b)) => (
                n.lost_at.map(|r| r.as_str().to_string()),
                n.ecmp.map(|s| ecmp_text(s, &c, b, max_paths)),
            ),
            _ => (None, None),
        };
        ExplainPath {
            path,
            peer_as: (!local).then_some(p.peer_as),
            description: if local {
                None
            } else {
                description(p.peer_addr)
            },
            candidate: p.candidate.is_some(),
            import,
            lost_at,
            ecmp_split,
            excluded,
        }
    }
}

/// The kernel's side of the route: `entry` is the FIB task's state of it
/// in `table`, if it knows it.
fn kernel_view(
    entry: Option<&FibStatusEntry>,
    table: u32,
    best: Option<&PathExplained>,
    fib: &Option<FibView>,
) -> ExplainKernel {
    let Some(r) = entry else {
        let note = match (fib, best) {
            (Some(FibView::Unavailable(e)), _) => Some(format!("the FIB did not answer: {e}")),
            (_, None) => Some("no best path: nothing to install".into()),
            (_, Some(b)) if b.peer == rib::LOCAL_PEER => {
                Some("originated here: never written to our own kernel".into())
            }
            _ => None,
        };
        return ExplainKernel {
            state: "absent".into(),
            table,
            note,
            ..ExplainKernel::default()
        };
    };
    let state = match r.state {
        FibRouteState::Installed => "installed",
        FibRouteState::Pending => "pending",
        FibRouteState::Error => "error",
        FibRouteState::Stale => "stale",
    };
    let note = match (&r.error, r.found.is_empty()) {
        (Some(e), _) => Some(e.clone()),
        (None, false) => Some(r.found.join("; ")),
        (None, true) => None,
    };
    ExplainKernel {
        state: state.into(),
        table,
        next_hops: if r.installed.is_empty() {
            r.desired.iter().map(ToString::to_string).collect()
        } else {
            r.installed.iter().map(|n| n.gateway.to_string()).collect()
        },
        nexthop_id: r.nexthop_id,
        matches_kernel: r.in_sync,
        note,
    }
}
