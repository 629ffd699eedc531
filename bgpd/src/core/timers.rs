//! What time drives: graceful-restart stale timers, max-prefix restarts,
//! and the FIB's start-up phase (which routes of a previous run go, and
//! when the phase ends).

use super::{Core, FibCommand, FibReport, Output, Session, FIB_STARTUP_POLL, FIB_STARTUP_SETTLE};
use crate::ctl::proto::EventKind;
use crate::fib::{FibRoute, FibSummary, NextHop};
use crate::peer::{PeerCommand, PeerId};
use bgp_proto::fsm::State;
use std::collections::HashSet;
use std::net::IpAddr;
use std::time::Instant;
use tracing::{error, info, warn};

impl Core {
    /// Runs every deadline that is due.
    pub(super) fn on_timeout(&mut self) {
        let now = self.now;
        let expired: Vec<u32> = self
            .stale_deadlines
            .iter()
            .filter(|(_, d)| **d <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in expired {
            self.stale_deadlines.remove(&id);
            info!(
                rib_peer = id,
                "graceful restart timer expired: stale routes removed"
            );
            if let Err(e) = self.rib.sweep_stale(id) {
                warn!(error = %e, "sweeping stale routes");
            }
            // A neighbor forgotten while its stale routes were kept: its RIB
            // peer goes now.
            let addr = self
                .rib_ids
                .iter()
                .find(|(_, v)| **v == id)
                .map(|(a, _)| *a);
            if let Some(addr) = addr.filter(|a| !self.addr_in_use(*a)) {
                self.release_rib_id(addr);
            }
        }
        let restart: Vec<PeerId> = self
            .max_prefix_restarts
            .iter()
            .filter(|(_, at)| at.is_some_and(|t| t <= now))
            .map(|(p, _)| *p)
            .collect();
        for p in restart {
            self.max_prefix_restarts.remove(&p);
            info!(
                peer = p,
                "max-prefix restart time passed: enabling the neighbor again"
            );
            self.send(p, PeerCommand::Enable);
        }
        let refresh: Vec<(PeerId, usize)> = self
            .refresh_due
            .iter()
            .filter(|(_, t)| **t <= now)
            .map(|(k, _)| *k)
            .collect();
        for (peer, f) in refresh {
            self.refresh_due.remove(&(peer, f));
            let family = if f == 0 {
                bgp_proto::Family::IPV4_UNICAST
            } else {
                bgp_proto::Family::IPV6_UNICAST
            };
            if let Some(next) = self
                .sessions
                .get_mut(&peer)
                .and_then(|s| s.refresh_next.get_mut(f))
            {
                *next = Some(now + super::session::REFRESH_INTERVAL);
                self.answer_refresh(peer, family);
            }
        }
        if self.fib_startup_check.is_some_and(|t| t <= now) {
            self.fib_startup_check = Some(now + FIB_STARTUP_POLL);
            self.out.push_back(Output::Fib(FibCommand::Summary));
        }
    }

    pub(super) fn on_fib_report(&mut self, report: FibReport) {
        match report {
            FibReport::Summary(s) => self.check_fib_startup(&s),
            FibReport::Failed(e) => {
                self.fib_failures += 1;
                error!(error = %e, "FIB update failed");
                self.emit(EventKind::Fib {
                    prefix: "*".into(),
                    op: "update".into(),
                    error: Some(e),
                });
            }
        }
    }

    /// Decides the FIB's start-up phase from its summary. Routes a
    /// previous run left in the kernel wait for their neighbors, with three
    /// ways out:
    /// - a route whose every gateway the kernel failed to resolve (ARP/ND)
    ///   is removed at once: the node behind it is gone;
    /// - the phase ends once every such route is either wanted again or
    ///   points at a neighbor that is back with End-of-RIB, and every
    ///   explicit neighbor is back;
    /// - the phase ends [`FIB_STARTUP_SETTLE`] after the last neighbor that
    ///   came back sent End-of-RIB (none since between OPEN and End-of-RIB):
    ///   the routes of neighbors not back go then.
    ///
    /// The FIB's own grace timer covers the case where none comes back.
    fn check_fib_startup(&mut self, status: &FibSummary) {
        if self.fib_startup_check.is_none() {
            return;
        }
        if status.startup_complete {
            self.fib_startup_check = None;
            return;
        }
        let (gone, left): (Vec<&FibRoute>, Vec<&FibRoute>) = status
            .stale
            .iter()
            .partition(|r| via_gone_gateways(r, &status.unreachable));
        if let Some(why) = self.fib_startup_over(&left) {
            info!(
                stale = status.stale.len(),
                "FIB startup phase over ({why}): removing routes no longer wanted"
            );
            self.fib_startup_check = None;
            self.out.push_back(Output::Fib(FibCommand::StartupComplete));
            return;
        }
        if !gone.is_empty() {
            info!(
                routes = gone.len(),
                gateways = status.unreachable.len(),
                "FIB startup: removing routes of a previous run whose gateways do not answer"
            );
            let prefixes = gone.iter().map(|r| r.prefix).collect();
            self.out
                .push_back(Output::Fib(FibCommand::RemoveStale(prefixes)));
        }
    }

    /// Why the start-up phase can end with `left` kept (stale routes not
    /// via gone gateways), if it can.
    fn fib_startup_over(&self, left: &[&FibRoute]) -> Option<&'static str> {
        if self
            .fib_settled_since()
            .is_some_and(|t| self.now >= t + FIB_STARTUP_SETTLE)
        {
            return Some("neighbors back have sent End-of-RIB");
        }
        let explicit_pending = self
            .config
            .neighbors
            .iter()
            .filter(|n| !n.shutdown)
            .filter_map(|n| n.address)
            .any(|a| {
                !self
                    .sessions
                    .values()
                    .any(|s| s.info.addr == a && s.eor_complete())
            });
        if explicit_pending {
            return None;
        }
        let done_peers: HashSet<IpAddr> = self
            .sessions
            .values()
            .filter(|s| s.eor_complete())
            .map(|s| s.info.addr)
            .collect();
        let all_accounted = left.iter().all(|r| {
            r.next_hops
                .iter()
                .any(|nh| done_peers.contains(&nh.gateway.to_canonical()))
        });
        (all_accounted && (!done_peers.is_empty() || left.is_empty()))
            .then_some("every route left is accounted for")
    }

    /// Since when every neighbor that came back has sent End-of-RIB for
    /// all its families, with none between OPEN and End-of-RIB: `None`
    /// while one is, or none has come back.
    fn fib_settled_since(&self) -> Option<Instant> {
        let opening = self
            .tracks
            .values()
            .any(|t| matches!(t.state, State::OpenSent | State::OpenConfirm));
        if opening {
            return None;
        }
        let mut last = None;
        for s in self.sessions.values() {
            last = last.max(Some(s.eor_complete_at?));
        }
        last
    }
}

impl Session {
    /// End-of-RIB came for every negotiated family.
    pub(super) fn eor_complete(&self) -> bool {
        self.info
            .negotiated
            .families
            .iter()
            .all(|f| self.eor_received.contains(f))
    }
}

/// Whether every next hop of `route` is among `gone` (a route without next
/// hops is not).
fn via_gone_gateways(route: &FibRoute, gone: &[NextHop]) -> bool {
    !gone.is_empty()
        && !route.next_hops.is_empty()
        && route.next_hops.iter().all(|nh| gone.contains(nh))
}
