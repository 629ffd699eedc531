//! What time drives: graceful-restart stale timers, max-prefix restarts,
//! and the end of the FIB's start-up phase.

use super::{Core, FibCommand, FibReport, Output, Session, FIB_STARTUP_POLL};
use crate::ctl::proto::EventKind;
use crate::fib::FibSummary;
use crate::peer::{PeerCommand, PeerId};
use std::collections::HashSet;
use std::net::IpAddr;
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

    /// Ends the FIB's start-up phase once every route left in the kernel
    /// by a previous run is either wanted again or points at a neighbor
    /// that is back and has sent End-of-RIB without it (the FIB's own grace
    /// timer covers neighbors that never come back).
    fn check_fib_startup(&mut self, status: &FibSummary) {
        if self.fib_startup_check.is_none() {
            return;
        }
        if status.startup_complete {
            self.fib_startup_check = None;
            return;
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
                    .any(|s| s.info.addr == a && eor_complete(s))
            });
        if explicit_pending {
            return;
        }
        let done_peers: HashSet<IpAddr> = self
            .sessions
            .values()
            .filter(|s| eor_complete(s))
            .map(|s| s.info.addr)
            .collect();
        let all_accounted = status.stale.iter().all(|r| {
            r.next_hops
                .iter()
                .any(|nh| done_peers.contains(&nh.gateway.to_canonical()))
        });
        if all_accounted && (!done_peers.is_empty() || status.stale.is_empty()) {
            info!(
                stale = status.stale.len(),
                "FIB startup phase over: removing routes no longer wanted"
            );
            self.fib_startup_check = None;
            self.out.push_back(Output::Fib(FibCommand::StartupComplete));
        }
    }
}

fn eor_complete(s: &Session) -> bool {
    s.info
        .negotiated
        .families
        .iter()
        .all(|f| s.eor_received.contains(f))
}
