//! Flow control towards neighbors: a neighbor whose write queue is full
//! gets no exports until it drains. Its changes wait in the RIB's log, and
//! once that backlog outgrows the table they are no longer logged at all:
//! the neighbor catches up by comparing the table with its Adj-RIB-Out, so
//! what a peer that does not read costs is bounded by one Adj-RIB-Out of
//! pending changes, coalesced per prefix (as BIRD, FRR and OpenBGPD do),
//! not by the encoded bytes of every change. A ROUTE-REFRESH that comes
//! meanwhile is answered once, when the queue drains.

use super::session::family_index;
use super::{export, Core};
use crate::peer::{PeerCommand, PeerId};
use bgp_proto::Family;
use tracing::{debug, info, warn};

impl Core {
    /// The neighbor's write queue filled up (`congested`) or drained.
    pub(super) fn on_congested(&mut self, peer: PeerId, congested: bool) {
        let Some(s) = self.sessions.get_mut(&peer) else {
            return;
        };
        if s.congested == congested {
            return;
        }
        s.congested = congested;
        let addr = s.info.addr;
        if congested {
            debug!(peer = %addr, "write queue full: exports held");
            return;
        }
        debug!(peer = %addr, "write queue drained: exports resume");
        if std::mem::take(&mut s.suspended) {
            let rib_id = s.rib_id;
            match self.rib.resume_exports(rib_id) {
                Ok(batches) if !batches.is_empty() => {
                    let Some(s) = self.sessions.get(&peer) else {
                        return;
                    };
                    let mut too_big = 0;
                    let msgs =
                        export::encode_batches(&s.info.negotiated.context, &batches, &mut too_big);
                    info!(peer = %addr, messages = msgs.len(), "caught up after a blocked write queue");
                    self.send(peer, PeerCommand::Send(msgs));
                    if too_big > 0 {
                        self.too_big(peer, too_big);
                    }
                }
                Ok(_) => {}
                Err(e) => warn!(peer = %addr, error = %e, "resuming exports failed"),
            }
        }
        for family in [Family::IPV4_UNICAST, Family::IPV6_UNICAST] {
            let held = self
                .sessions
                .get_mut(&peer)
                .and_then(|s| s.refresh_held.get_mut(family_index(family)))
                .is_some_and(std::mem::take);
            if held {
                // Counts as the family's answer for the rate limit.
                let f = family_index(family);
                self.refresh_due.remove(&(peer, f));
                let next = self.now + super::session::REFRESH_INTERVAL;
                if let Some(slot) = self
                    .sessions
                    .get_mut(&peer)
                    .and_then(|s| s.refresh_next.get_mut(f))
                {
                    *slot = Some(next);
                }
                self.answer_refresh(peer, family);
            }
        }
    }

    /// Stops logging changes for congested neighbors whose backlog has
    /// grown past what a comparison with their Adj-RIB-Out costs.
    pub(super) fn hold_backlogs(&mut self) {
        for s in self.sessions.values_mut() {
            if !s.congested || s.suspended {
                continue;
            }
            let (backlog, big) = self.rib.export_backlog(s.rib_id);
            if big {
                debug!(peer = %s.info.addr, backlog, "write queue still full: changes no longer logged");
                match self.rib.suspend_exports(s.rib_id) {
                    Ok(()) => s.suspended = true,
                    Err(e) => warn!(peer = %s.info.addr, error = %e, "suspending exports failed"),
                }
            }
        }
    }
}
