//! What the core tells a neighbor task, and the BFD side of its
//! connections: the core learns of each connection of a neighbor with
//! BFD (it starts the BFD session then), and tells the task when BFD
//! comes up or goes down; in strict mode the FSM holds its OPEN until Up.

use super::{cease, lock, NeighborTask, Which};
use crate::peer::{PeerCommand, PeerEvent};
use bgp_proto::fsm::{Event, State};
use bgp_proto::msg::notification::cease_subcode;
use bgp_proto::{Message, RouteRefresh, RouteRefreshSubtype};
use tracing::{debug, info};

impl NeighborTask {
    pub(super) async fn command(&mut self, c: PeerCommand) {
        match c {
            PeerCommand::Send(updates) => {
                let up = self.main.fsm.state() == State::Established;
                match self.main.conn.as_ref().filter(|_| up) {
                    Some(conn) => {
                        let n: u64 = updates
                            .iter()
                            .map(|u| crate::peer::messages(u).count() as u64)
                            .sum();
                        for u in updates {
                            conn.send_raw(u);
                        }
                        let full = conn.queued() >= crate::peer::conn::HIGH_WATER;
                        lock(&self.status).counters.updates_out += n;
                        if full && !self.congested {
                            self.set_congested(true).await;
                        }
                    }
                    None => debug!(
                        peer = %self.spec.addr,
                        "dropping {} UPDATEs: session not established",
                        updates.len()
                    ),
                }
            }
            PeerCommand::Reset => {
                info!(peer = %self.spec.addr, asn = self.log_asn(), "reset");
                self.stop_all(cease(cease_subcode::ADMINISTRATIVE_RESET))
                    .await;
                self.handle(Which::Main, Event::ManualStart).await;
            }
            PeerCommand::ResetWith(n) => {
                info!(peer = %self.spec.addr, asn = self.log_asn(), notification = %n.describe(), "reset");
                self.stop_all(n).await;
                self.handle(Which::Main, Event::ManualStart).await;
            }
            PeerCommand::Shutdown(n) => {
                info!(peer = %self.spec.addr, asn = self.log_asn(), "shutdown");
                let n = n.unwrap_or_else(|| cease(cease_subcode::ADMINISTRATIVE_SHUTDOWN));
                self.stop_all(n).await;
            }
            PeerCommand::Enable => self.handle(Which::Main, Event::ManualStart).await,
            PeerCommand::Bfd { up } => self.bfd_changed(up).await,
            PeerCommand::RequestRefresh(family) => {
                let ok = self
                    .session
                    .as_ref()
                    .is_some_and(|s| s.route_refresh && s.families.contains(&family));
                if let (true, Some(conn)) = (ok, self.main.conn.as_ref()) {
                    let rr = RouteRefresh {
                        family,
                        subtype: RouteRefreshSubtype::Request,
                    };
                    if conn.send(&Message::RouteRefresh(rr)).is_ok() {
                        lock(&self.status).counters.route_refresh_out += 1;
                    }
                }
            }
        }
    }

    /// A connection of `which` is up: the core hears of it first when the
    /// neighbor runs BFD, so that BFD starts while BGP opens.
    pub(super) async fn connected(&mut self, which: Which) {
        self.report_connection(which).await;
        self.handle(which, Event::TcpConnected).await;
        if self.side(which).is_some_and(|s| s.fsm.is_holding_open()) {
            // Once per connection (dynamic neighbors' lines gated); a peer
            // that starts BFD only after BGP (FRR's multihop sessions) waits
            // here until `strict = false`.
            if let Some(suppressed) = super::setup_log::admit(self.spec.dynamic, false) {
                info!(peer = %self.spec.addr, suppressed, "connected; OPEN waits for BFD Up (bfd strict)");
            }
        }
    }

    /// Tells the core of the connection of `which`, if the neighbor runs
    /// BFD.
    async fn report_connection(&mut self, which: Which) {
        let bfd = self.spec.config.bfd();
        let ends = self
            .side(which)
            .and_then(|s| s.conn.as_ref())
            .map(|c| (c.remote, c.local));
        if let (Some(bfd), Some((remote, local))) = (bfd, ends) {
            let ev = PeerEvent::Connected {
                peer: self.id,
                remote,
                local,
                bfd,
                multihop: self.spec.config.is_multihop(),
            };
            self.send_event(ev).await;
        }
    }

    /// New BFD settings for this neighbor: strict or not from now on, and
    /// new timers to the core for the running BFD session.
    pub(super) async fn bfd_settings(&mut self, config: crate::config::NeighborConfig) {
        let retimed = config.bfd() != self.spec.config.bfd();
        self.spec.config = config;
        let bfd = self.spec.config.bfd().map_or_else(
            || "off".into(),
            |t| format!("{} ms x {}", t.interval_ms, t.multiplier),
        );
        info!(peer = %self.spec.addr, %bfd, strict = self.spec.config.bfd_strict(), "BFD settings changed");
        let allowed = !self.spec.config.bfd_strict() || self.bfd_up;
        self.allow_open(allowed).await;
        if retimed && self.main.conn.is_some() {
            self.report_connection(Which::Main).await;
        }
    }

    /// BFD came up or went down: in strict mode, whether OPENs may go.
    async fn bfd_changed(&mut self, up: bool) {
        self.bfd_up = up;
        if !self.spec.config.bfd_strict() {
            return;
        }
        if up && self.main.fsm.is_holding_open() {
            info!(peer = %self.spec.addr, "BFD up: sending OPEN");
        }
        self.allow_open(up).await;
    }

    /// Opens or shuts both connections' OPEN gate.
    async fn allow_open(&mut self, allowed: bool) {
        self.handle(Which::Main, Event::OpenAllowed(allowed)).await;
        self.handle(Which::Other, Event::OpenAllowed(allowed)).await;
    }
}
