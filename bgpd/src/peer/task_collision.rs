//! Two connections to one neighbor: RFC 4271 6.8 collisions, and RFC 4724
//! restarts (an OPEN on a new connection while the session is
//! established with graceful restart).

use super::{cease, lock, NeighborTask, Side, Which};
use crate::peer::PeerEvent;
use bgp_proto::fsm::{collision_winner, Event, Origin, State};
use bgp_proto::msg::notification::cease_subcode;
use tracing::info;

impl NeighborTask {
    /// Whether the connection of `which`, whose peer just sent an OPEN with
    /// `peer_id`, is the one to close because the other connection (opened
    /// by the other side) wins the collision. Deciding before the FSM sees
    /// the OPEN means the loser never sends a KEEPALIVE.
    pub(super) fn loses_collision(&self, which: Which, peer_id: std::net::Ipv4Addr) -> bool {
        let Some(other) = &self.other else {
            return false;
        };
        let origin = |side: &Side| side.conn.as_ref().map(|c| c.origin);
        let (mine, theirs) = match which {
            Which::Main => (origin(&self.main), origin(other)),
            Which::Other => (origin(other), origin(&self.main)),
        };
        let (Some(mine), Some(theirs)) = (mine, theirs) else {
            return false;
        };
        if mine == theirs {
            return false;
        }
        let winner = collision_winner(
            self.spec.local.router_id,
            self.spec.local.asn,
            peer_id,
            self.log_asn(),
        );
        winner != mine
    }

    // RFC 4271 6.8, with the decision in `collision_winner`.
    pub(super) async fn check_collision(&mut self) {
        let Some(other) = &self.other else { return };
        // A second connection while established waits for its OPEN
        // (`restarted`, or closed as the loser): a bare connect must not
        // end the session.
        if self.main.fsm.state() == State::Established && other.fsm.state() != State::Idle {
            return;
        }
        if other.conn.is_none() || other.fsm.state() == State::Idle {
            self.other = None;
            return;
        }
        let main_live = self.main.conn.is_some()
            && matches!(self.main.fsm.state(), State::OpenSent | State::OpenConfirm);
        let keep_main = if !main_live {
            false
        } else {
            let main_origin = self.main.conn.as_ref().map_or(Origin::Local, |c| c.origin);
            let other_origin = other.conn.as_ref().map_or(Origin::Remote, |c| c.origin);
            if main_origin == other_origin {
                // The peer dialled again: it gave up on the older one.
                false
            } else {
                let peer_id = self
                    .main
                    .fsm
                    .negotiated()
                    .or(other.fsm.negotiated())
                    .map(|n| n.peer_id);
                let Some(peer_id) = peer_id else { return };
                let winner = collision_winner(
                    self.spec.local.router_id,
                    self.spec.local.asn,
                    peer_id,
                    self.log_asn(),
                );
                info!(
                    peer = %self.spec.addr,
                    asn = self.log_asn(),
                    keep = ?winner,
                    "connection collision"
                );
                winner == main_origin
            }
        };
        if !keep_main {
            self.swap_in_other().await;
        }
        let n = cease(cease_subcode::CONNECTION_COLLISION_RESOLUTION);
        self.handle(Which::Other, Event::ManualStop(Some(n))).await;
        self.other = None;
    }

    /// RFC 4724 4.2: the peer sent an OPEN on a new connection while its
    /// session is established with graceful restart: it restarted. The
    /// old session ends as a restart (the core keeps its routes as stale)
    /// and the new connection goes on as the neighbor's main one; the OPEN
    /// is then handled there.
    pub(super) async fn restarted(&mut self) {
        info!(
            peer = %self.spec.addr,
            asn = self.log_asn(),
            "OPEN on a new connection while established: the peer restarted"
        );
        self.handle(Which::Main, Event::TcpClosed).await;
        self.swap_in_other().await;
        self.other = None;
    }

    /// Makes the second connection the main one (the old main becomes the
    /// second, for the caller to end) and tells the core its state.
    async fn swap_in_other(&mut self) {
        if let Some(other) = self.other.as_mut() {
            std::mem::swap(&mut self.main, other);
        }
        let passive = self.spec.config.passive || self.spec.dynamic;
        self.main.fsm.set_passive(passive);
        if let Some(conn) = self.main.conn.as_ref() {
            let mut st = lock(&self.status);
            st.remote = Some(conn.remote);
            st.local = Some(conn.local);
            st.state = self.main.fsm.state();
        }
        let state = self.main.fsm.state();
        self.send_event(PeerEvent::State {
            peer: self.id,
            addr: self.spec.addr,
            state,
        })
        .await;
    }
}
