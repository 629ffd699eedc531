//! BFD tied to BGP sessions (RFC 5882): a neighbor configured with `bfd`
//! gets a BFD session when its first connection is up (before OPENs, so
//! that in strict mode BGP can wait for BFD Up), kept until the neighbor
//! is removed (a BGP restart does not restart BFD). When a BFD session
//! that was Up goes down, the BGP session goes at once: its routes are
//! withdrawn in the same batch, without graceful restart (the forwarding
//! path failed, RFC 5882 §4.3), and the neighbor is reset with Cease / BFD
//! Down (RFC 9384).

use super::{Core, Output};
use crate::bfd::{BfdCommand, BfdReport};
use crate::config::BfdTimers;
use crate::peer::{PeerCommand, PeerId, SessionInfo};
use bgp_proto::msg::notification::{cease_subcode, code};
use bgp_proto::Notification;
use std::net::SocketAddr;
use tracing::{info, warn};

/// The core's view of one neighbor's BFD session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct BfdWatch {
    /// Where the session runs.
    pub remote: SocketAddr,
    /// Its timers.
    pub timers: BfdTimers,
    /// Up, as last reported.
    pub up: bool,
}

/// Where a neighbor's BFD session runs, and how.
pub(super) struct BfdTarget {
    /// The connection's remote end.
    pub remote: SocketAddr,
    /// The connection's local end.
    pub local: SocketAddr,
    /// The neighbor's timers.
    pub timers: BfdTimers,
    /// A multihop session.
    pub multihop: bool,
}

impl BfdTarget {
    /// The target of an established session, if its neighbor runs BFD.
    pub fn of_session(info: &SessionInfo) -> Option<Self> {
        Some(BfdTarget {
            remote: info.remote,
            local: info.local,
            timers: info.config.bfd()?,
            multihop: info.config.is_multihop(),
        })
    }
}

impl Core {
    /// A connection of a neighbor with BFD is up (or its session is):
    /// the neighbor gets a BFD session, unless it has one at that address
    /// already; a neighbor task waiting for BFD hears it is up.
    pub(super) fn watch_bfd(&mut self, peer: PeerId, target: BfdTarget) {
        if let Some(w) = self.bfd.get_mut(&peer) {
            if w.remote.ip() == target.remote.ip().to_canonical() {
                let up = w.up;
                if w.timers != target.timers {
                    // New timers for the running session (a poll sequence).
                    w.timers = target.timers;
                    let cmd = BfdCommand::Watch {
                        peer,
                        remote: w.remote,
                        local: target.local.ip().to_canonical(),
                        timers: target.timers,
                        multihop: target.multihop,
                    };
                    self.out.push_back(Output::Bfd(cmd));
                }
                if up {
                    self.send(peer, PeerCommand::Bfd { up: true });
                }
                return;
            }
            if w.up {
                self.send(peer, PeerCommand::Bfd { up: false });
            }
        }
        let remote = SocketAddr::new(target.remote.ip().to_canonical(), 0);
        let remote = match (remote, target.remote) {
            (SocketAddr::V6(mut r), SocketAddr::V6(s)) => {
                r.set_scope_id(s.scope_id());
                SocketAddr::V6(r)
            }
            (r, _) => r,
        };
        self.bfd.insert(
            peer,
            BfdWatch {
                remote,
                timers: target.timers,
                up: false,
            },
        );
        self.out.push_back(Output::Bfd(BfdCommand::Watch {
            peer,
            remote,
            local: target.local.ip().to_canonical(),
            timers: target.timers,
            multihop: target.multihop,
        }));
    }

    /// A strict neighbor's session came up while its BFD is down (BFD went
    /// down after the task let its OPEN go, the reports crossing): it is
    /// reset at once, as a BFD Down would have done, and not taken in.
    pub(super) fn bfd_holds_back(&mut self, peer: PeerId, info: &SessionInfo) -> bool {
        if !info.config.bfd_strict() || self.bfd.get(&peer).is_none_or(|w| w.up) {
            return false;
        }
        warn!(peer = %info.addr, "session up while its BFD is down (bfd strict): reset");
        let n = Notification::new(code::CEASE, cease_subcode::BFD_DOWN, []);
        self.send(peer, PeerCommand::ResetWith(n));
        true
    }

    /// The neighbor is gone: so is its BFD session.
    pub(super) fn unwatch_bfd(&mut self, peer: PeerId) {
        if self.bfd.remove(&peer).is_some() {
            self.out
                .push_back(Output::Bfd(BfdCommand::Unwatch { peer }));
        }
    }

    /// A BFD session changed state.
    pub(super) fn on_bfd(&mut self, report: BfdReport) {
        let Some(watch) = self.bfd.get_mut(&report.peer) else {
            return; // unwatched meanwhile
        };
        let was_up = std::mem::replace(&mut watch.up, report.up);
        let addr = watch.remote.ip();
        if report.up {
            if !was_up {
                info!(peer = %addr, "BFD up");
                self.send(report.peer, PeerCommand::Bfd { up: true });
            }
            return;
        }
        if !was_up {
            return;
        }
        self.send(report.peer, PeerCommand::Bfd { up: false });
        warn!(peer = %addr, diag = %report.diag, "BFD down: the BGP session goes with it");
        if !self.sessions.contains_key(&report.peer) {
            self.sweep_stale_of(addr);
            return;
        }
        let n = Notification::new(code::CEASE, cease_subcode::BFD_DOWN, []);
        self.on_down(report.peer, "BFD down", Some(&n), false);
        self.send(report.peer, PeerCommand::ResetWith(n));
    }

    /// BFD went down while the neighbor's graceful restart runs: its
    /// forwarding failed too, so the stale routes go now (RFC 5882 §4.3).
    fn sweep_stale_of(&mut self, addr: std::net::IpAddr) {
        let Some(&id) = self.rib_ids.get(&addr) else {
            return;
        };
        if self.stale_deadlines.contains_key(&id) {
            info!(peer = %addr, "BFD down during graceful restart: stale routes go now");
            self.stale_deadlines.insert(id, self.now);
            self.on_timeout();
        }
    }
}
