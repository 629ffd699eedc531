//! [`BfdEndpoint`]: the table of BFD sessions behind one set of sockets,
//! sans-IO (datagrams and time in, datagrams and reports out). It finds a
//! received packet's session (by Your Discriminator, else by the sender's
//! address), checks single hop's TTL of 255 (RFC 5881 §5; multihop
//! sessions, RFC 5883, take any TTL but only on their own port), and
//! keeps the sessions' deadlines in order so a thousand sessions cost a
//! lookup, not a scan, per packet.
//!
//! Bounds: one session per neighbor the core watches; drops are counted by
//! reason (a fixed set), never queued; reports are state changes only.

use super::{BfdCommand, BfdReport};
use crate::config::BfdTimers;
use crate::peer::PeerId;
use ::bfd::{
    ControlPacket, Session, SessionConfig, SessionEvent, State, CONTROL_PORT,
    MULTIHOP_CONTROL_PORT, SINGLE_HOP_TTL,
};
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

/// Why received packets were dropped, counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Drops {
    /// Malformed or unsupported (authentication) packets.
    pub malformed: u64,
    /// Single hop with a TTL below 255.
    pub ttl: u64,
    /// No session for the discriminator or sender (or not on the port of
    /// its kind: single hop or multihop).
    pub unknown: u64,
    /// Refused by their session (wrong discriminator, ...).
    pub refused: u64,
    /// Our packets the socket would not take.
    pub send_errors: u64,
}

struct Entry {
    peer: PeerId,
    remote: SocketAddr,
    /// Multihop: the address to send from (the BGP session's), which the
    /// peer demultiplexes on (RFC 5883 §3).
    multihop_from: Option<IpAddr>,
    timers: BfdTimers,
    session: Session,
    deadline: Option<Instant>,
}

/// A packet to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transmit {
    /// Where to.
    pub to: SocketAddr,
    /// The source address a multihop session sends from; `None` lets the
    /// kernel pick (single hop: the link's address).
    pub from: Option<IpAddr>,
    /// The packet.
    pub packet: [u8; 24],
}

/// The BFD sessions of the router; see the module header.
pub struct BfdEndpoint {
    sessions: BTreeMap<u32, Entry>,
    by_peer: HashMap<PeerId, u32>,
    by_addr: HashMap<IpAddr, u32>,
    deadlines: BTreeSet<(Instant, u32)>,
    /// Sessions touched since the last `poll_transmit` drain.
    touched: BTreeSet<u32>,
    reports: VecDeque<BfdReport>,
    discr_state: u64,
    /// Drop counters.
    pub drops: Drops,
}

impl BfdEndpoint {
    /// No sessions; discriminators are drawn from `seed` (the edge gives
    /// something random: RFC 5880 6.8.1 wants them hard to guess).
    pub fn new(seed: u64) -> Self {
        BfdEndpoint {
            sessions: BTreeMap::new(),
            by_peer: HashMap::new(),
            by_addr: HashMap::new(),
            deadlines: BTreeSet::new(),
            touched: BTreeSet::new(),
            reports: VecDeque::new(),
            discr_state: seed | 1,
            drops: Drops::default(),
        }
    }

    /// Carries out a core command.
    pub fn command(&mut self, now: Instant, cmd: BfdCommand) {
        match cmd {
            BfdCommand::Watch {
                peer,
                remote,
                local,
                timers,
                multihop,
            } => {
                let from = multihop.then_some(local);
                if self.retime(now, peer, remote, from, timers) {
                    return;
                }
                self.unwatch(peer);
                self.watch(now, peer, remote, from, timers);
            }
            BfdCommand::Unwatch { peer } => self.unwatch(peer),
        }
    }

    /// The neighbor's session already runs there: new timers go through
    /// a poll sequence (RFC 5880 6.8.3) rather than a new session. True
    /// if nothing more is to be done.
    fn retime(
        &mut self,
        now: Instant,
        peer: PeerId,
        remote: SocketAddr,
        from: Option<IpAddr>,
        timers: BfdTimers,
    ) -> bool {
        let Some(&d) = self.by_peer.get(&peer) else {
            return false;
        };
        let Some(e) = self.sessions.get_mut(&d) else {
            return false;
        };
        if e.remote.ip() != remote.ip() || e.multihop_from != from {
            return false;
        }
        if e.timers != timers {
            if e.session.set_config(now, session_config(timers)).is_err() {
                return false;
            }
            e.timers = timers;
            self.touched.insert(d);
            self.refresh(d);
        }
        true
    }

    fn watch(
        &mut self,
        now: Instant,
        peer: PeerId,
        remote: SocketAddr,
        from: Option<IpAddr>,
        timers: BfdTimers,
    ) {
        let ip = remote.ip().to_canonical();
        if let Some(other) = self.by_addr.get(&ip).and_then(|d| self.sessions.get(d)) {
            // Two neighbors cannot share one address's BFD session.
            let other = other.peer;
            self.unwatch(other);
        }
        let discr = self.new_discriminator();
        let Ok(session) = Session::new(discr, session_config(timers), now) else {
            return; // validated config: unreachable
        };
        let mut remote = remote;
        remote.set_port(match from {
            Some(_) => MULTIHOP_CONTROL_PORT,
            None => CONTROL_PORT,
        });
        self.sessions.insert(
            discr,
            Entry {
                peer,
                remote,
                multihop_from: from,
                timers,
                session,
                deadline: None,
            },
        );
        self.by_peer.insert(peer, discr);
        self.by_addr.insert(ip, discr);
        self.touched.insert(discr);
        self.refresh(discr);
    }

    fn unwatch(&mut self, peer: PeerId) {
        let Some(discr) = self.by_peer.remove(&peer) else {
            return;
        };
        if let Some(e) = self.sessions.remove(&discr) {
            if let Some(d) = e.deadline {
                self.deadlines.remove(&(d, discr));
            }
            let ip = e.remote.ip().to_canonical();
            if self.by_addr.get(&ip) == Some(&discr) {
                self.by_addr.remove(&ip);
            }
        }
        self.touched.remove(&discr);
    }

    /// A non-zero discriminator no session has (xorshift over the seed).
    fn new_discriminator(&mut self) -> u32 {
        loop {
            let mut x = self.discr_state;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.discr_state = x;
            let d = (x >> 32) as u32;
            if d != 0 && !self.sessions.contains_key(&d) {
                return d;
            }
        }
    }

    /// A datagram arrived from `from` with TTL `ttl`, on the multihop
    /// port or the single-hop one.
    pub fn datagram_in(
        &mut self,
        now: Instant,
        from: SocketAddr,
        ttl: Option<u8>,
        multihop: bool,
        bytes: &[u8],
    ) {
        if !multihop && ttl != Some(SINGLE_HOP_TTL) {
            self.drops.ttl += 1;
            return;
        }
        let Ok(pkt) = ControlPacket::decode(bytes) else {
            self.drops.malformed += 1;
            return;
        };
        let ip = from.ip().to_canonical();
        let discr = match pkt.your_discriminator {
            0 => self.by_addr.get(&ip).copied(),
            d => Some(d).filter(|d| {
                self.sessions
                    .get(d)
                    .is_some_and(|e| e.remote.ip().to_canonical() == ip)
            }),
        };
        let entry = discr.and_then(|d| self.sessions.get_mut(&d));
        let Some(entry) = entry.filter(|e| e.multihop_from.is_some() == multihop) else {
            self.drops.unknown += 1;
            return;
        };
        if entry.session.handle_packet(now, &pkt).is_err() {
            self.drops.refused += 1;
            return;
        }
        if let Some(d) = discr {
            self.touched.insert(d);
            self.refresh(d);
        }
    }

    /// Runs the sessions whose deadline has passed at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(&(at, discr)) = self.deadlines.first() {
            if at > now {
                break;
            }
            self.deadlines.pop_first();
            if let Some(e) = self.sessions.get_mut(&discr) {
                e.deadline = None;
                e.session.handle_timeout(now);
            }
            self.touched.insert(discr);
        }
        // The touched sessions' deadlines are set again when drained.
    }

    /// The next packet to send, and where.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Transmit> {
        while let Some(&discr) = self.touched.first() {
            let Some(e) = self.sessions.get_mut(&discr) else {
                self.touched.remove(&discr);
                continue;
            };
            if let Some(p) = e.session.poll_transmit(now) {
                return Some(Transmit {
                    to: e.remote,
                    from: e.multihop_from,
                    packet: p.encode(),
                });
            }
            while let Some(SessionEvent::StateChanged { to, diag, .. }) = e.session.poll_event() {
                self.reports.push_back(BfdReport {
                    peer: e.peer,
                    up: to == State::Up,
                    diag: diag.to_string(),
                });
            }
            self.touched.remove(&discr);
            self.refresh(discr);
        }
        None
    }

    /// The next state change to report to the core.
    pub fn poll_report(&mut self) -> Option<BfdReport> {
        self.reports.pop_front()
    }

    /// When [`BfdEndpoint::handle_timeout`] is next due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.deadlines.first().map(|(at, _)| *at)
    }

    /// A packet could not be sent.
    pub fn count_send_error(&mut self) {
        self.drops.send_errors += 1;
    }

    /// How many sessions run.
    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    /// No session runs.
    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }

    /// Every session as `show bfd` lists it, at `now`.
    pub fn sessions(&self, now: Instant) -> Vec<crate::ctl::proto::BfdSession> {
        self.sessions
            .iter()
            .map(|(discr, e)| {
                let s = &e.session;
                let c = s.counters();
                crate::ctl::proto::BfdSession {
                    address: e.remote.ip().to_canonical(),
                    state: s.state().to_string(),
                    local_discriminator: *discr,
                    remote_discriminator: s.remote_discriminator(),
                    tx_interval_ms: millis(s.tx_interval()),
                    detection_ms: s.detection_time().map(millis),
                    uptime_secs: s
                        .up_since()
                        .map(|t| now.saturating_duration_since(t).as_secs()),
                    last_diag: s.last_diag().to_string(),
                    remote_control_plane_independent: s.remote_control_plane_independent(),
                    packets_in: c.packets_in,
                    packets_out: c.packets_out,
                    packets_discarded: c.packets_discarded,
                }
            })
            .collect()
    }

    /// The state of `peer`'s session.
    pub fn state_of(&self, peer: PeerId) -> Option<State> {
        let d = self.by_peer.get(&peer)?;
        self.sessions.get(d).map(|e| e.session.state())
    }

    fn refresh(&mut self, discr: u32) {
        let Some(e) = self.sessions.get_mut(&discr) else {
            return;
        };
        if let Some(old) = e.deadline.take() {
            self.deadlines.remove(&(old, discr));
        }
        if let Some(at) = e.session.poll_timeout() {
            e.deadline = Some(at);
            self.deadlines.insert((at, discr));
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
#[path = "endpoint_tests.rs"]
mod tests;

fn session_config(timers: BfdTimers) -> SessionConfig {
    let interval = Duration::from_millis(u64::from(timers.interval_ms));
    SessionConfig {
        desired_min_tx: interval,
        required_min_rx: interval,
        detect_mult: timers.multiplier.max(1),
        control_plane_independent: false,
        passive: false,
    }
}
