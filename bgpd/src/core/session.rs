//! Neighbor events: sessions coming up and going down, their UPDATEs,
//! route refresh and max-prefix.

use super::bfd::BfdTarget;
use super::log_gate::LogGate;
use super::{export, Core, Output, PeerTrack, Session};
use crate::config::MaxPrefixAction;
use crate::ctl::proto::{EventKind, PeerState as CtlPeerState};
use crate::peer::{PeerCommand, PeerEvent, PeerId, SessionInfo};
use bgp_proto::fsm::State;
use bgp_proto::msg::notification::{cease_subcode, code};
use bgp_proto::wire::update::Update;
use bgp_proto::{Family, Notification};
use rib::{Applied, PeerInfo};
use std::collections::HashSet;
use std::net::IpAddr;
use std::time::Duration;
use tracing::{debug, error, info, warn};

/// The control protocol's name of an FSM state.
pub(super) fn ctl_state(s: State) -> CtlPeerState {
    match s {
        State::Idle => CtlPeerState::Idle,
        State::Connect => CtlPeerState::Connect,
        State::Active => CtlPeerState::Active,
        State::OpenSent => CtlPeerState::OpenSent,
        State::OpenConfirm => CtlPeerState::OpenConfirm,
        State::Established => CtlPeerState::Established,
    }
}

impl Core {
    pub(super) fn on_peer_event(&mut self, ev: PeerEvent) {
        match ev {
            PeerEvent::State { peer, addr, state } => self.on_state(peer, addr, state),
            PeerEvent::Established { peer, info } => self.on_established(peer, *info),
            PeerEvent::Update { peer, updates } => {
                for update in &updates {
                    self.on_update(peer, update);
                }
            }
            PeerEvent::RouteRefresh { peer, family } => self.on_route_refresh(peer, family),
            PeerEvent::Down {
                peer,
                reason,
                notification,
                graceful,
            } => self.on_down(peer, &reason, notification.as_ref(), graceful),
            PeerEvent::Congested { peer, congested } => self.on_congested(peer, congested),
            PeerEvent::Removed { peer } => self.on_removed(peer),
            PeerEvent::Connected {
                peer,
                remote,
                local,
                bfd,
                multihop,
            } => {
                let target = BfdTarget {
                    remote,
                    local,
                    timers: bfd,
                    multihop,
                };
                self.watch_bfd(peer, target);
            }
        }
    }

    fn on_state(&mut self, peer: PeerId, addr: IpAddr, state: State) {
        let from = self.tracks.get(&peer).map_or(State::Idle, |t| t.state);
        self.tracks.insert(
            peer,
            PeerTrack {
                addr,
                state,
                since: self.now,
            },
        );
        self.out.push_back(Output::PeerState {
            addr,
            state: ctl_state(state),
        });
        self.emit(EventKind::PeerState {
            peer: addr,
            from: ctl_state(from),
            to: ctl_state(state),
            reason: None,
        });
    }

    /// The neighbor's entry is gone for good (de-configured, or a dynamic
    /// neighbor its range forgot): what the core kept of it goes too, and,
    /// unless another neighbor has its address, its RIB peer (slot and id
    /// used again) and metric series. Otherwise every address that ever
    /// connected to a range would hold a RIB slot (65,536 at most) forever.
    fn on_removed(&mut self, peer: PeerId) {
        self.unwatch_bfd(peer);
        let track = self.tracks.remove(&peer);
        self.max_prefix_restarts.remove(&peer);
        self.admin_down.remove(&peer);
        self.refresh_due.retain(|(p, _), _| *p != peer);
        let Some(addr) = track.map(|t| t.addr) else {
            return;
        };
        if self.addr_in_use(addr) {
            return;
        }
        self.release_rib_id(addr);
        self.out.push_back(Output::PeerForgotten { addr });
    }

    fn on_established(&mut self, peer: PeerId, info: SessionInfo) {
        if self.bfd_holds_back(peer, &info) {
            return;
        }
        let rib_id = self.rib_id(info.addr);
        let (local_v4, local_v6) = match info.local.ip().to_canonical() {
            IpAddr::V4(a) => (Some(a), None),
            IpAddr::V6(a) => (None, Some(a)),
        };
        let pi = PeerInfo {
            id: rib_id,
            addr: info.addr,
            remote_as: info.remote_as,
            router_id: info.negotiated.peer_id,
            local_v4,
            local_v6,
            import: info.config.import.clone(),
            export: info.config.export.clone(),
            next_hop_unchanged: info.config.next_hop_unchanged,
            enforce_first_as: info.config.enforce_first_as,
            families: info.negotiated.families.clone(),
            extended_next_hop: info
                .negotiated
                .context
                .ipv6_next_hop_for(Family::IPV4_UNICAST),
            route_reflector_client: info.config.route_reflector_client,
            default_originate: info.config.default_originate,
            add_path_send: info.negotiated.context.add_path_send.clone(),
            add_path_max: info
                .config
                .add_path_send
                .map_or(0, crate::config::AddPathSend::max_paths),
            sender_as_loop_check: info.config.sender_as_path_loop_detection,
            fib_table: info
                .config
                .table
                .filter(|t| *t != self.fib_table)
                .unwrap_or(0),
        };
        if let Err(e) = self.rib.add_peer(pi) {
            error!(peer = %info.addr, error = %e, "RIB refused the peer; resetting the session");
            self.send(peer, PeerCommand::Reset);
            return;
        }
        self.rib_known.insert(rib_id);
        // RFC 4724 4.2: back without graceful restart, the routes kept
        // from its last session go at once.
        if self.stale_deadlines.contains_key(&rib_id) && info.negotiated.peer_gr.is_none() {
            self.stale_deadlines.remove(&rib_id);
            info!(peer = %info.addr, "back without graceful restart: its stale routes are removed");
            if let Err(e) = self.rib.sweep_stale(rib_id) {
                warn!(peer = %info.addr, error = %e, "removing stale routes");
            }
        }
        info!(
            peer = %info.addr, remote_as = info.remote_as,
            families = %Family::join(&info.negotiated.families),
            "session established"
        );
        self.tracks.insert(
            peer,
            PeerTrack {
                addr: info.addr,
                state: State::Established,
                since: self.now,
            },
        );
        // The initial table, then End-of-RIB for every negotiated family,
        // always: GoBGP with GR withholds its routes until it has them all.
        let ctx = &info.negotiated.context;
        let mut too_big = 0;
        let (mut msgs, complete) = match self.initial_from_group(rib_id, ctx, &mut too_big) {
            Some(initial) => initial,
            None => {
                let batches = self.rib.full_export(rib_id).unwrap_or_else(|e| {
                    error!(peer = %info.addr, error = %e, "initial export failed");
                    Vec::new()
                });
                (self.encoded.encode(ctx, batches, &mut too_big), true)
            }
        };
        if complete {
            msgs.extend(export::end_of_ribs(ctx, &info.negotiated.families));
        } else {
            self.eor_waiting.insert(peer);
        }
        self.send(peer, PeerCommand::Send(msgs));
        if let Some(target) = BfdTarget::of_session(&info) {
            self.watch_bfd(peer, target);
        }
        self.sessions.insert(
            peer,
            Session {
                // Nothing to wait for when no family was negotiated.
                eor_complete_at: info.negotiated.families.is_empty().then_some(self.now),
                info,
                rib_id,
                eor_received: HashSet::new(),
                log_gate: LogGate::default(),
                refresh_next: [None; 2],
                congested: false,
                suspended: false,
                refresh_held: [false; 2],
                eor_after_round: (!complete).then_some(self.rounds + 1),
            },
        );
        if too_big > 0 {
            self.too_big(peer, too_big);
        }
    }

    fn on_update(&mut self, peer: PeerId, update: &Update) {
        let Some(s) = self.sessions.get_mut(&peer) else {
            debug!(
                peer,
                "UPDATE from a neighbor that is not established; ignored"
            );
            return;
        };
        let (rib_id, addr) = (s.rib_id, s.info.addr);
        if let Some(family) = update.end_of_rib() {
            s.eor_received.insert(family);
            debug!(peer = %addr, %family, "End-of-RIB received");
            if s.eor_complete_at.is_none() && s.eor_complete() {
                s.eor_complete_at = Some(self.now);
            }
        }
        let issues = update.issues();
        let applied = self.rib.apply(rib_id, update);
        if let Ok(Applied::EndOfRib(_)) = applied {
            return;
        }
        let complaint = match &applied {
            Ok(Applied::Routes { ignored: Some(f) }) => {
                Some(format!("NLRI of {f}, a family not negotiated, ignored"))
            }
            Ok(Applied::Withdrawn(reason)) => Some(format!("treated as withdraw: {reason}")),
            Err(e) => Some(format!("not applied: {e}")),
            Ok(_) => None,
        };
        if complaint.is_some() || !issues.is_empty() {
            // One line per period and session, however many UPDATEs or
            // attributes are wrong: a peer cannot fill the disk.
            let now = self.now;
            if let Some(s) = self.sessions.get_mut(&peer) {
                if let Some(suppressed) = s.log_gate.admit(now) {
                    warn!(
                        peer = %addr,
                        malformed_attributes = issues.len(),
                        first = %issues.first().map_or_else(String::new, |i| i.error.to_string()),
                        outcome = complaint.as_deref().unwrap_or("applied"),
                        suppressed,
                        "bad UPDATE (RFC 7606)"
                    );
                }
            }
        }
        if self.watching {
            self.emit_route_events(addr, update);
        }
        self.check_max_prefix(peer);
    }

    /// `n` as the NOTIFICATION that ends `peer`'s session for good: a
    /// Hard Reset when both sides set RFC 8538's N bit, so that the peer
    /// does not keep our routes as stale (RFC 8538 section 5).
    pub(super) fn hard_reset_for(&self, peer: PeerId, n: Notification) -> Notification {
        match self.sessions.get(&peer) {
            Some(s) if s.info.negotiated.gr_notification => n.into_hard_reset(),
            _ => n,
        }
    }

    fn emit_route_events(&mut self, addr: IpAddr, update: &Update) {
        let withdrawn = update
            .withdrawn()
            .chain(update.mp_unreach().into_iter().flat_map(|u| u.withdrawn()));
        let mut events: Vec<EventKind> = withdrawn
            .map(|n| EventKind::Route {
                peer: addr,
                prefix: n.prefix.to_string(),
                withdrawn: true,
                next_hop: None,
                as_path: None,
            })
            .collect();
        let attrs = update.attributes();
        let as_path = attrs.as_path.to_string();
        let v4 = attrs.next_hop.map(|a| a.to_string());
        let announced = update.nlri().map(|n| (n, v4.clone()));
        let mp = update.mp_reach().into_iter().flat_map(|r| {
            let nh = Some(r.next_hop().forwarding().to_string());
            r.nlri().map(move |n| (n, nh.clone()))
        });
        for (n, next_hop) in announced.chain(mp) {
            events.push(EventKind::Route {
                peer: addr,
                prefix: n.prefix.to_string(),
                withdrawn: false,
                next_hop,
                as_path: Some(as_path.clone()),
            });
        }
        for e in events {
            self.emit(e);
        }
    }

    fn check_max_prefix(&mut self, peer: PeerId) {
        let Some(s) = self.sessions.get(&peer) else {
            return;
        };
        let Some(mp) = s.info.config.max_prefixes.clone() else {
            return;
        };
        let received: usize = match self.rib.peer_counts(s.rib_id) {
            Ok(c) => c.iter().map(|(_, c)| c.received).sum(),
            Err(_) => return,
        };
        if received <= mp.limit {
            return;
        }
        let addr = s.info.addr;
        match mp.action {
            MaxPrefixAction::Warn => {
                warn!(peer = %addr, limit = mp.limit, received, "max-prefix exceeded")
            }
            MaxPrefixAction::Stop => {
                if self.max_prefix_restarts.contains_key(&peer) {
                    return;
                }
                warn!(
                    peer = %addr, limit = mp.limit, received,
                    "max-prefix exceeded: closing the session (Cease / Maximum Number of Prefixes Reached)"
                );
                // RFC 4486: AFI, SAFI and the upper bound.
                let mut data = vec![0, 1, 1];
                data.extend_from_slice(&u32::try_from(mp.limit).unwrap_or(u32::MAX).to_be_bytes());
                let n = Notification::new(code::CEASE, cease_subcode::MAX_PREFIXES, data);
                let n = self.hard_reset_for(peer, n);
                self.send(peer, PeerCommand::Shutdown(Some(n)));
                let again = (mp.restart_after > 0)
                    .then(|| self.now + Duration::from_secs(u64::from(mp.restart_after)));
                self.max_prefix_restarts.insert(peer, again);
            }
        }
    }

    /// A ROUTE-REFRESH: answered at once, or, when the last answer for
    /// this family is less than [`REFRESH_INTERVAL`] old, once that time
    /// has passed (however many more came meanwhile): a storm of requests
    /// costs one full export per interval, not one each.
    fn on_route_refresh(&mut self, peer: PeerId, family: Family) {
        let now = self.now;
        let Some(s) = self.sessions.get_mut(&peer) else {
            return;
        };
        if s.congested {
            // Answered when the queue drains: one full export in flight.
            if let Some(held) = s.refresh_held.get_mut(family_index(family)) {
                *held = true;
            }
            return;
        }
        let Some(next) = s.refresh_next.get_mut(family_index(family)) else {
            return;
        };
        if let Some(t) = next.filter(|t| now < *t) {
            self.refresh_due.insert((peer, family_index(family)), t);
            return;
        }
        *next = Some(now + REFRESH_INTERVAL);
        self.answer_refresh(peer, family);
    }

    /// Sends `peer` the whole table of `family` again (RFC 2918, framed by
    /// the RFC 7313 markers when enhanced route refresh was negotiated).
    pub(super) fn answer_refresh(&mut self, peer: PeerId, family: Family) {
        let Some(s) = self.sessions.get_mut(&peer) else {
            return;
        };
        if s.congested {
            if let Some(held) = s.refresh_held.get_mut(family_index(family)) {
                *held = true;
            }
            return;
        }
        let ctx = s.info.negotiated.context.clone();
        let addr = s.info.addr;
        let enhanced = s.info.negotiated.enhanced_rr;
        match self.rib.full_export_family(s.rib_id, family) {
            Ok(batches) => {
                let mut msgs = Vec::new();
                if enhanced {
                    msgs.extend(export::route_refresh_marker(&ctx, family, true));
                }
                let mut too_big = 0;
                msgs.extend(export::encode_batches(&ctx, &batches, &mut too_big));
                if enhanced {
                    msgs.extend(export::route_refresh_marker(&ctx, family, false));
                }
                info!(peer = %addr, %family, messages = msgs.len(), "route refresh answered");
                self.send(peer, PeerCommand::Send(msgs));
                if too_big > 0 {
                    self.too_big(peer, too_big);
                }
            }
            Err(e) => warn!(peer = %addr, error = %e, "route refresh failed"),
        }
    }

    pub(super) fn on_down(
        &mut self,
        peer: PeerId,
        reason: &str,
        notification: Option<&Notification>,
        graceful: bool,
    ) {
        let Some(s) = self.sessions.remove(&peer) else {
            return;
        };
        self.refresh_due.retain(|(p, _), _| *p != peer);
        let addr = s.info.addr;
        let gr = s.info.negotiated.peer_gr.as_ref().filter(|_| graceful);
        match gr {
            Some(gr) => {
                // The peer's restart time, but no longer than we allow: a
                // peer must not make us keep its routes for an hour.
                let max = self.config.router.max_restart_time.max(1);
                let t = Duration::from_secs(u64::from(gr.restart_time.clamp(1, max)));
                info!(
                    peer = %addr, %reason, restart_time_s = t.as_secs(),
                    "session down; graceful restart helper keeps its routes as stale"
                );
                self.stale_deadlines.insert(s.rib_id, self.now + t);
                if let Err(e) = self.rib.peer_down(s.rib_id, true) {
                    warn!(peer = %addr, error = %e, "peer down");
                }
                // RFC 4724 4.2: only the families of the peer's capability
                // are kept; the others go at once.
                for f in &s.info.negotiated.families {
                    if !gr.families.iter().any(|g| g.family == *f) {
                        if let Err(e) = self.rib.end_of_rib(s.rib_id, *f) {
                            warn!(peer = %addr, error = %e, "removing stale routes");
                        }
                    }
                }
            }
            None => {
                info!(
                    peer = %addr, %reason,
                    notification = %notification.map_or_else(|| "none".into(), Notification::describe),
                    "session down; its routes are withdrawn"
                );
                self.stale_deadlines.remove(&s.rib_id);
                if let Err(e) = self.rib.peer_down(s.rib_id, false) {
                    warn!(peer = %addr, error = %e, "peer down");
                }
            }
        }
        self.out.push_back(Output::PeerState {
            addr,
            state: CtlPeerState::Idle,
        });
    }
}

/// Least time between two answers to one neighbor's ROUTE-REFRESHes of
/// one family.
pub(super) const REFRESH_INTERVAL: Duration = Duration::from_secs(5);

/// The index of a unicast family in per-family arrays (0 IPv4, 1 IPv6; 2,
/// out of range, for anything else).
pub(super) fn family_index(f: Family) -> usize {
    if f == Family::IPV4_UNICAST {
        0
    } else if f == Family::IPV6_UNICAST {
        1
    } else {
        2
    }
}
