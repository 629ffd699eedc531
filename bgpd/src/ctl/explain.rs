//! `rbgpctl explain PREFIX|ADDRESS`: the answer's wire form and its text.
//! One answer, top to bottom: the prefix that matched, every path received
//! for it with the import verdict and the decision step that ranked it, the
//! ECMP group, what the kernel holds, and per peer whether the route is
//! sent and which rule decided.

use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::net::IpAddr;

use super::format::duration;
use super::proto::RoutePath;

/// The answer to `explain`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Explain {
    /// What was asked, as given.
    pub query: String,
    /// The prefix explained: the one asked, or the most specific one
    /// holding the address.
    pub prefix: String,
    /// Every path received for it: the best first, then the rest of the
    /// ECMP group, then the others, then those not in the decision.
    pub paths: Vec<ExplainPath>,
    /// How many next hops the ECMP group has.
    pub ecmp_width: usize,
    /// The kernel's side; absent when the FIB is disabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel: Option<ExplainKernel>,
    /// Every established peer, by address.
    pub exports: Vec<ExplainExport>,
}

/// One path and why it stands where it does.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExplainPath {
    /// Attributes, flags and age, as `show routes` gives them.
    #[serde(flatten)]
    pub path: RoutePath,
    /// The peer's AS (absent for our own routes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer_as: Option<u32>,
    /// The peer's description from the config.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Whether it is in the decision (accepted, next hop reachable).
    pub candidate: bool,
    /// The import verdict, e.g. `accepted by policy all`, `rejected by
    /// policy nodes term[0]`, `rejected: AS_PATH holds our AS 65000`.
    pub import: String,
    /// For a candidate that is not best: the decision step it lost at
    /// (`origin`, `router-id`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lost_at: Option<String>,
    /// For a candidate outside the ECMP group: what split it off, e.g.
    /// `ORIGIN incomplete vs igp`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ecmp_split: Option<String>,
    /// Why it is not a candidate (rejected, next hop unreachable).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excluded: Option<String>,
}

/// What the kernel holds for the prefix.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExplainKernel {
    /// `installed`, `pending`, `error`, `stale` or `absent`.
    pub state: String,
    /// The kernel table.
    pub table: u32,
    /// The next hops written (or wanted, when not installed).
    pub next_hops: Vec<String>,
    /// The kernel nexthop object the route names (`nhid`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nexthop_id: Option<u32>,
    /// The kernel's route equals what we wrote (last check).
    pub matches_kernel: bool,
    /// Why it is pending or refused, how next hops were resolved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Whether one peer gets the route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExplainExport {
    /// The peer.
    pub peer: IpAddr,
    /// Its AS.
    pub peer_as: u32,
    /// Its description from the config.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The export rules send it.
    pub exported: bool,
    /// Its Adj-RIB-Out holds the prefix now (sent, not withdrawn).
    pub advertised: bool,
    /// The rule that decided, e.g. `policy all`, `learned from it`,
    /// `community no-export`.
    pub rule: String,
    /// Next hop sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_hop: Option<String>,
    /// AS_PATH sent (JSON: an array).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::ctl::as_path_json::option"
    )]
    pub as_path: Option<String>,
}

/// The text of an `explain` answer.
pub fn text(e: &Explain) -> String {
    let mut out = String::new();
    if e.query == e.prefix {
        let _ = writeln!(out, "{}", e.prefix);
    } else {
        let _ = writeln!(out, "{} matches {} (longest match)", e.query, e.prefix);
    }
    let candidates = e.paths.iter().filter(|p| p.candidate).count();
    let _ = writeln!(
        out,
        "\nPaths: {} received, {} in the decision, ECMP x{}",
        e.paths.len(),
        candidates,
        e.ecmp_width
    );
    for p in &e.paths {
        path_text(&mut out, p);
    }
    out.push('\n');
    match &e.kernel {
        None => out.push_str("Kernel: the FIB is disabled\n"),
        Some(k) => kernel_text(&mut out, k),
    }
    out.push_str("\nExports:\n");
    if e.exports.is_empty() {
        out.push_str("  no established peer\n");
    }
    for x in &e.exports {
        let who = match &x.description {
            Some(d) => format!("{} ({d}, AS {})", x.peer, x.peer_as),
            None => format!("{} (AS {})", x.peer, x.peer_as),
        };
        if x.exported {
            let nh = x.next_hop.as_deref().unwrap_or("?");
            let path = x
                .as_path
                .as_deref()
                .filter(|p| !p.is_empty())
                .unwrap_or("-");
            let state = if x.advertised { "sent" } else { "to send" };
            let _ = writeln!(
                out,
                "  {who}: {state} by {}, next hop {nh}, path {path}",
                x.rule
            );
        } else {
            let withdraw = if x.advertised {
                " (still advertised: the withdrawal is queued)"
            } else {
                ""
            };
            let _ = writeln!(out, "  {who}: not sent: {}{withdraw}", x.rule);
        }
    }
    out
}

fn path_text(out: &mut String, p: &ExplainPath) {
    let r = &p.path;
    let mark = if r.best {
        ">"
    } else if r.multipath {
        "="
    } else if p.candidate {
        "*"
    } else {
        "x"
    };
    let from = match (r.peer, &p.description, p.peer_as) {
        (None, _, _) => "local".to_string(),
        (Some(a), Some(d), Some(asn)) => format!("{a} ({d}, AS {asn})"),
        (Some(a), None, Some(asn)) => format!("{a} (AS {asn})"),
        (Some(a), _, None) => a.to_string(),
    };
    let path = if r.as_path.is_empty() {
        "-"
    } else {
        &r.as_path
    };
    let mut attrs = format!("via {}, path {path}, origin {}", r.next_hop, r.origin);
    if let Some(m) = r.med {
        let _ = write!(attrs, ", med {m}");
    }
    if let Some(l) = r.local_pref {
        let _ = write!(attrs, ", local-pref {l}");
    }
    if !r.communities.is_empty() || !r.large_communities.is_empty() {
        let all: Vec<&str> = r
            .communities
            .iter()
            .chain(&r.large_communities)
            .map(String::as_str)
            .collect();
        let _ = write!(attrs, ", communities {}", all.join(" "));
    }
    let stale = if r.stale { ", stale" } else { "" };
    let _ = writeln!(
        out,
        "  {mark} {from}: {attrs}, age {}{stale}",
        duration(r.age_secs)
    );
    let _ = writeln!(out, "      import: {}", p.import);
    let decision = if let Some(why) = &p.excluded {
        format!("not in the decision: {why}")
    } else if r.best {
        "best".to_string()
    } else {
        let lost = p.lost_at.as_deref().unwrap_or("?");
        match (&p.ecmp_split, r.multipath) {
            (_, true) => format!("in ECMP, not best (tie-break: {lost})"),
            (Some(split), false) => format!("lost at {lost}; out of ECMP: {split}"),
            (None, false) => format!("lost at {lost}"),
        }
    };
    let _ = writeln!(out, "      decision: {decision}");
}

fn kernel_text(out: &mut String, k: &ExplainKernel) {
    let hops = if k.next_hops.is_empty() {
        "-".to_string()
    } else {
        k.next_hops.join(", ")
    };
    let nhid = k
        .nexthop_id
        .map(|id| format!(" (nhid {id})"))
        .unwrap_or_default();
    let _ = match k.state.as_str() {
        "absent" => writeln!(out, "Kernel: not in table {}", k.table),
        state => writeln!(
            out,
            "Kernel: {state} in table {} via {hops}{nhid}{}",
            k.table,
            if k.matches_kernel || state != "installed" {
                ""
            } else {
                " (differs from the kernel: a resync will repair it)"
            }
        ),
    };
    if let Some(n) = &k.note {
        let _ = writeln!(out, "  {n}");
    }
}
