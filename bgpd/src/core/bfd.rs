//! BFD tied to BGP sessions (RFC 5882): a neighbor configured with `bfd`
//! gets a BFD session once its BGP session is up, kept until the neighbor
//! is removed (a BGP restart does not restart BFD). When a BFD session
//! that was Up goes down, the BGP session goes at once: its routes are
//! withdrawn in the same batch, without graceful restart (the forwarding
//! path failed, RFC 5882 §4.3), and the neighbor is reset with Cease / BFD
//! Down (RFC 9384).

use super::{Core, Output};
use crate::bfd::{BfdCommand, BfdReport};
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
    /// Up, as last reported.
    pub up: bool,
}

impl Core {
    /// A BGP session came up: its neighbor gets a BFD session if the
    /// config asks for one (again only when the address changed).
    pub(super) fn watch_bfd(&mut self, peer: PeerId, info: &SessionInfo) {
        let Some(timers) = info.config.bfd() else {
            return;
        };
        if self
            .bfd
            .get(&peer)
            .is_some_and(|w| w.remote.ip() == info.remote.ip())
        {
            return;
        }
        let remote = SocketAddr::new(info.remote.ip().to_canonical(), 0);
        let remote = match (remote, info.remote) {
            (SocketAddr::V6(mut r), SocketAddr::V6(s)) => {
                r.set_scope_id(s.scope_id());
                SocketAddr::V6(r)
            }
            (r, _) => r,
        };
        self.bfd.insert(peer, BfdWatch { remote, up: false });
        self.out.push_back(Output::Bfd(BfdCommand::Watch {
            peer,
            remote,
            local: info.local.ip().to_canonical(),
            timers,
            multihop: info.config.multihop.is_some_and(|ttl| ttl > 1),
        }));
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
            }
            return;
        }
        if !was_up {
            return;
        }
        warn!(peer = %addr, diag = %report.diag, "BFD down: the BGP session goes with it");
        if !self.sessions.contains_key(&report.peer) {
            return;
        }
        let n = Notification::new(code::CEASE, cease_subcode::BFD_DOWN, []);
        self.on_down(report.peer, "BFD down", Some(&n), false);
        self.send(report.peer, PeerCommand::ResetWith(n));
    }
}
