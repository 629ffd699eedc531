//! What `rbgpctl show fib` and the core see of the FIB manager: the state of
//! every route ([`FibStatus`]) and the cheap summary the core polls
//! ([`FibSummary`]).

use std::net::IpAddr;

use bgp_proto::Prefix;
use serde::{Deserialize, Serialize};

use super::lists::{ListId, NONE};
use super::table::Table;
use super::{FibRoute, NextHop};

/// Why an IPv6 route with only IPv4 next hops stays pending.
const V6_VIA_V4: &str = "IPv6 route via IPv4 next hops, which Linux cannot route: \
     no IPv6 neighbour with the MAC address of any of them on its link yet (or that \
     MAC is shared by several IPv4 neighbours)";

/// Why a route with only link-local next hops stays pending.
const LINK_LOCAL_NO_INTERFACE: &str = "link-local next hops, and no interface's \
     neighbour table holds them yet (with several IPv6 interfaces, the address alone \
     does not say which link)";

fn is_link_local(nh: &IpAddr) -> bool {
    matches!(nh, IpAddr::V6(a) if a.is_unicast_link_local())
}

/// Where one route stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FibRouteState {
    /// Wanted and in the kernel.
    Installed,
    /// Wanted, but no next hop is on a connected network yet.
    Pending,
    /// Wanted, but the kernel refused it (see `error`).
    Error,
    /// Not wanted, left in the kernel by a previous run and kept until the
    /// startup phase ends.
    Stale,
}

/// One line of `rbgpctl show fib`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FibStatusEntry {
    /// The destination.
    pub prefix: Prefix,
    /// Next hops the RIB asked for.
    pub desired: Vec<IpAddr>,
    /// Next hops in the kernel (empty if not installed).
    pub installed: Vec<NextHop>,
    /// State.
    pub state: FibRouteState,
    /// The kernel's complaint, for [`FibRouteState::Error`].
    pub error: Option<String>,
    /// Whether the kernel holds exactly what we want for this prefix.
    pub in_sync: bool,
    /// How next hops the kernel could not take as they are were resolved:
    /// `"172.18.0.2 via fe80::42:acff:fe12:2 (same MAC ...)"` for an IPv4
    /// gateway of an IPv6 route.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub found: Vec<String>,
    /// The kernel table, when it is not `[fib] table` (a neighbor's
    /// `table`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<u32>,
    /// The kernel nexthop object the route names (`ip route`'s `nhid`),
    /// in answers about single routes (`explain`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nexthop_id: Option<u32>,
}

/// The FIB's state, for `rbgpctl show fib`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FibStatus {
    /// Whether stale routes of a previous run have been cleaned up.
    pub startup_complete: bool,
    /// Routes in the kernel.
    pub installed: usize,
    /// Routes waiting for a reachable next hop.
    pub pending: usize,
    /// Routes the kernel refused.
    pub errors: usize,
    /// Routes of a previous run still kept.
    pub stale: usize,
    /// Every route, sorted by prefix.
    pub routes: Vec<FibStatusEntry>,
}

/// The FIB in a few numbers plus the routes a previous run left behind:
/// what the core polls (startup phase, metrics) without the cost of a full
/// [`FibStatus`] of every route.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FibSummary {
    /// Whether stale routes of a previous run have been cleaned up.
    pub startup_complete: bool,
    /// Routes in the kernel as far as we know.
    pub installed: usize,
    /// Routes of a previous run that are not wanted now, as installed.
    pub stale: Vec<FibRoute>,
    /// Next hops of `stale` routes whose gateway the kernel failed to
    /// resolve (ARP/ND) after the FIB asked it to: the node behind them is
    /// gone. Sorted. Absent from recordings made before it existed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unreachable: Vec<NextHop>,
    /// Prefixes whose kernel route waits to be written.
    #[serde(default)]
    pub queued: usize,
    /// Route writes (adds, replaces, deletes) since the start.
    #[serde(default)]
    pub written: u64,
}

impl Table {
    /// Whether `prefix` is a route of a previous run that is not wanted now
    /// and still kept.
    pub(super) fn is_stale(&self, prefix: &Prefix) -> bool {
        !self.startup_done
            && self.preserved.contains(prefix)
            && self
                .routes
                .get(prefix)
                .is_some_and(|e| e.desired == NONE && e.installed != NONE)
    }

    /// The distinct next hops of the routes [`Table::is_stale`] holds,
    /// sorted.
    pub(super) fn stale_gateways(&self) -> Vec<NextHop> {
        if self.startup_done {
            return Vec::new();
        }
        // Few lists serve many routes: collect list ids first.
        let mut lists: Vec<u32> = self
            .preserved
            .iter()
            .filter_map(|p| self.routes.get(p))
            .filter(|e| e.desired == NONE && e.installed != NONE)
            .map(|e| e.installed)
            .collect();
        lists.sort_unstable();
        lists.dedup();
        let mut out: Vec<NextHop> = lists
            .into_iter()
            .flat_map(|id| self.kernel.get(id).iter().copied())
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Counts and the stale routes of a previous run.
    pub(super) fn summary(&self) -> FibSummary {
        let stale = if self.startup_done {
            Vec::new()
        } else {
            let mut stale: Vec<FibRoute> = self
                .preserved
                .iter()
                .filter_map(|p| {
                    let e = self.routes.get(p)?;
                    (e.desired == NONE && e.installed != NONE).then(|| FibRoute {
                        prefix: *p,
                        next_hops: self.kernel.get(e.installed).to_vec(),
                    })
                })
                .collect();
            stale.sort_unstable_by_key(|r| r.prefix);
            stale
        };
        let mut unreachable: Vec<NextHop> = if self.gone.is_empty() {
            Vec::new()
        } else {
            stale
                .iter()
                .flat_map(|r| r.next_hops.iter())
                .filter(|nh| self.gone.contains(*nh))
                .copied()
                .collect()
        };
        unreachable.sort_unstable();
        unreachable.dedup();
        FibSummary {
            startup_complete: self.startup_done,
            installed: self.installed_count,
            stale,
            unreachable,
            queued: self.dirty_len(),
            written: self.written,
        }
    }

    /// Every route with its state.
    pub(super) fn status(&self) -> FibStatus {
        let mut st = FibStatus {
            startup_complete: self.startup_done,
            ..FibStatus::default()
        };
        let mut prefixes: Vec<Prefix> = self.routes.keys().collect();
        prefixes.sort_unstable();
        for p in prefixes {
            let Some((entry, _)) = self.route_status(&p) else {
                continue;
            };
            match entry.state {
                FibRouteState::Installed => st.installed += 1,
                FibRouteState::Pending => st.pending += 1,
                FibRouteState::Error => st.errors += 1,
                FibRouteState::Stale => st.stale += 1,
            }
            st.routes.push(entry);
        }
        st
    }

    /// The state of the route for `p`, and the id of the next-hop list it
    /// is installed with; `None` when we neither want nor hold one.
    pub(super) fn route_status(&self, p: &Prefix) -> Option<(FibStatusEntry, ListId)> {
        let entry = self.routes.get(p)?;
        if entry.desired == NONE && entry.installed == NONE {
            return None;
        }
        let installed = self.kernel.get(entry.installed).to_vec();
        let target = self.target(p);
        let in_sync = target.as_deref() == (entry.installed != NONE).then_some(&installed[..]);
        let mut error = self.errors.get(p).cloned();
        let desired = self.wanted.get(entry.desired);
        let state = if entry.desired == NONE {
            FibRouteState::Stale
        } else if error.is_some() {
            FibRouteState::Error
        } else if self.resolve_family(p.addr().is_ipv6(), desired).is_empty() {
            if p.addr().is_ipv6() && desired.iter().all(|nh| nh.to_canonical().is_ipv4()) {
                error = Some(V6_VIA_V4.to_string());
            } else if desired.iter().all(is_link_local) {
                error = Some(LINK_LOCAL_NO_INTERFACE.to_string());
            }
            FibRouteState::Pending
        } else {
            FibRouteState::Installed
        };
        let found = if p.addr().is_ipv6() && !self.stand_ins.is_empty() {
            self.stand_ins_of(desired)
        } else {
            Vec::new()
        };
        let status = FibStatusEntry {
            prefix: *p,
            desired: desired.to_vec(),
            installed,
            state,
            error,
            in_sync,
            found,
            table: None,
            nexthop_id: None,
        };
        Some((status, ListId(entry.installed)))
    }

    /// `"GATEWAY via STAND-IN"` for each IPv4 gateway in `next_hops` that
    /// has an IPv6 stand-in.
    fn stand_ins_of(&self, next_hops: &[IpAddr]) -> Vec<String> {
        self.stand_ins
            .iter()
            .filter(|(gw, _)| next_hops.iter().any(|nh| nh.to_canonical() == gw.gateway))
            .map(|(gw, s)| format!("{} via {s}", gw.gateway))
            .collect()
    }
}
