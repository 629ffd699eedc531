//! One BFD session in asynchronous mode (RFC 5880 6), sans-IO.
//!
//! Invariant: no I/O, no clock reads, no OS randomness; nothing a peer
//! sends makes the session allocate beyond its fixed event queue or send
//! faster than the rules below allow. The API has quinn's shape:
//!
//! - inputs: [`Session::handle_packet`], [`Session::handle_timeout`];
//! - commands: [`Session::set_admin_down`], [`Session::set_config`];
//! - outputs: [`Session::poll_transmit`], [`Session::poll_event`],
//!   [`Session::poll_timeout`] (when to call `handle_timeout`, then
//!   `poll_transmit`, again);
//! - getters.
//!
//! ```text
//!                             +--+
//!                             |  | UP, ADMIN DOWN, TIMER
//!                             |  V
//!                     DOWN  +------+  INIT
//!              +------------|      |------------+
//!              |            | DOWN |            |
//!              |  +-------->|      |<--------+  |
//!              |  |         +------+         |  |
//!              |  |                          |  |
//!              |  |               ADMIN DOWN,|  |
//!              |  |ADMIN DOWN,          DOWN,|  |
//!              |  |TIMER                TIMER|  |
//!              V  |                          |  V
//!            +------+                      +------+
//!       +----|      |                      |      |----+
//!   DOWN|    | INIT |--------------------->|  UP  |    |INIT, UP
//!       +--->|      | INIT, UP             |      |<---+
//!            +------+                      +------+
//! ```
//! (RFC 5880 6.2; edges are the received state, TIMER the detection time.)
//!
//! Transmission (RFC 5880 6.8.7, 6.8.3, 6.5):
//! - periodic packets every `max(bfd.DesiredMinTxInterval,
//!   bfd.RemoteMinRxInterval)`, cut by 0–25 % of jitter (10–25 % when our
//!   Detect Mult is 1); `bfd.DesiredMinTxInterval` is at least
//!   [`SLOW_TX_INTERVAL`] while not Up;
//! - none while passive and the remote discriminator is unknown, none
//!   while the remote's Required Min RX is 0, none while the remote is in
//!   Demand mode with both sides Up and no poll running;
//! - a packet with F as soon as possible after one with P, whatever the
//!   rules above (RFC 5880 6.5 MUST): one per received P, never more;
//! - a packet at once after a change of state into Up (as FRR does) or an
//!   operator's command; a change into another state caused by the peer
//!   or a timer rides on the next periodic packet (at most 1 s away), so a
//!   peer cannot make a session that is not Up send faster than the slow
//!   rate, Final answers aside.

#[cfg(test)]
mod tests;

use crate::jitter::Jitter;
use crate::packet::{ControlPacket, DecodeError, PACKET_LEN, VERSION};
use crate::{Diag, State};
use std::collections::VecDeque;
use std::time::{Duration, Instant};
use thiserror::Error;

/// The floor of `bfd.DesiredMinTxInterval` while the session is not Up
/// (RFC 5880 6.8.3: "not less than one second").
pub const SLOW_TX_INTERVAL: Duration = Duration::from_secs(1);
const SLOW_TX_US: u32 = 1_000_000;
/// The smallest interval a [`SessionConfig`] may ask for. It keeps the
/// jittered interval above zero, so `poll_transmit` always moves its
/// deadline past `now`.
pub const MIN_INTERVAL: Duration = Duration::from_millis(1);
/// Capacity of the event queue; when full, a new event is merged into the
/// last one (see [`Session::poll_event`]).
pub const EVENT_QUEUE_LEN: usize = 4;

/// What the operator configures for one session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionConfig {
    /// How often we would like to send (bfd.DesiredMinTxInterval while
    /// Up), from [`MIN_INTERVAL`] to 2³² − 1 µs.
    pub desired_min_tx: Duration,
    /// How often we can take packets (bfd.RequiredMinRxInterval), from
    /// [`MIN_INTERVAL`] to 2³² − 1 µs.
    pub required_min_rx: Duration,
    /// Our Detect Mult, non-zero: the peer declares us down after this
    /// many intervals without a packet.
    pub detect_mult: u8,
    /// Our C bit: our BFD does not share fate with our control plane.
    pub control_plane_independent: bool,
    /// Passive role (RFC 5880 6.1): send nothing until the peer has sent.
    pub passive: bool,
}

impl Default for SessionConfig {
    /// FRR's defaults: 300 ms both ways, multiplier 3, active.
    fn default() -> Self {
        SessionConfig {
            desired_min_tx: Duration::from_millis(300),
            required_min_rx: Duration::from_millis(300),
            detect_mult: 3,
            control_plane_independent: false,
            passive: false,
        }
    }
}

/// What the session tells its owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionEvent {
    /// The session changed state. `diag` is our diagnostic for the change
    /// (the one our packets now carry). After coalescing `from == to` is
    /// possible: the session left `to` and came back.
    StateChanged {
        /// State before.
        from: State,
        /// State now.
        to: State,
        /// Reason.
        diag: Diag,
    },
}

/// Counters of one session. They saturate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Packets accepted by [`Session::handle_packet`].
    pub packets_in: u64,
    /// Packets returned by [`Session::poll_transmit`].
    pub packets_out: u64,
    /// Packets [`Session::handle_packet`] refused.
    pub packets_discarded: u64,
    /// Changes of state.
    pub state_changes: u64,
    /// Events merged because the queue was full.
    pub events_coalesced: u64,
}

/// Errors of the session layer: a bad configuration, or a packet the
/// session discards (each reason its own variant, for counting).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum SessionError {
    /// Local discriminators must be non-zero (RFC 5880 6.8.1).
    #[error("the local discriminator must not be zero")]
    ZeroLocalDiscriminator,
    /// The configured Detect Mult is zero.
    #[error("the detect multiplier must not be zero")]
    ZeroDetectMult,
    /// A configured interval is below [`MIN_INTERVAL`] or does not fit
    /// the 32-bit microsecond field.
    #[error("{field} of {value:?} is out of range (1 ms to 4294.967295 s)")]
    IntervalOutOfRange {
        /// Which field.
        field: &'static str,
        /// The value given.
        value: Duration,
    },
    /// The packet's Your Discriminator is another session's.
    #[error("your discriminator {got} is not ours ({ours})")]
    WrongDiscriminator {
        /// Our discriminator.
        ours: u32,
        /// The packet's Your Discriminator.
        got: u32,
    },
    /// A packet with Your Discriminator 0 reached a session that is Up; a
    /// peer that knows the session names it, so this is a peer that
    /// restarted or a blind spoof (dropped as FRR does; detection ends
    /// the session if the peer is really gone).
    #[error("your discriminator is zero while the session is {0}")]
    Unbound(State),
    /// The session is AdminDown and discards every packet (RFC 5880
    /// 6.8.6).
    #[error("the session is administratively down")]
    AdminDown,
    /// The packet breaks a packet-level rule ([`ControlPacket::validate`]).
    #[error("malformed packet: {0}")]
    Malformed(#[from] DecodeError),
}

/// What we know of the remote system (RFC 5880 6.8.1 `bfd.Remote*`).
#[derive(Debug, Clone, Copy)]
struct Remote {
    discr: u32,
    state: State,
    diag: Diag,
    demand: bool,
    min_rx_us: u32,
    desired_tx_us: u32,
    /// 0 until a packet is received: no detection time yet.
    detect_mult: u8,
    cpi: bool,
}

impl Remote {
    // RFC 5880 6.8.1: RemoteDiscr 0, RemoteSessionState Down,
    // RemoteMinRxInterval 1, RemoteDemandMode 0.
    const INITIAL: Remote = Remote {
        discr: 0,
        state: State::Down,
        diag: Diag::NoDiagnostic,
        demand: false,
        min_rx_us: 1,
        desired_tx_us: 0,
        detect_mult: 0,
        cpi: false,
    };
}

/// A running poll sequence (RFC 5880 6.5). It remembers the extremes we
/// advertised since it began: whichever packet the Final answers, the
/// peer holds one of them.
#[derive(Debug, Clone, Copy)]
struct Poll {
    min_tx_us: u32,
    max_rx_us: u32,
    /// Values changed after it began: another sequence follows the Final.
    dirty: bool,
}

/// Why a packet is due before its periodic time; `Local` outranks `Peer`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Urgency {
    Peer,
    Local,
}

/// One BFD session: the state machine of RFC 5880 6.2 with its timers.
#[derive(Debug, Clone)]
pub struct Session {
    local_discr: u32,
    config: SessionConfig,
    cfg_tx_us: u32,
    cfg_rx_us: u32,
    state: State,
    diag: Diag,
    remote: Remote,
    // The largest tx interval and the smallest rx interval the peer has
    // confirmed (or that were in force when not Up); see tx_in_use_us.
    acked_tx_us: u32,
    acked_rx_us: u32,
    poll: Option<Poll>,
    /// When a packet with P arrived that is not answered yet.
    final_due: Option<Instant>,
    urgent: Option<Urgency>,
    next_tx: Option<Instant>,
    /// The interval `next_tx` was drawn for.
    sched_interval_us: u32,
    last_tx: Option<Instant>,
    last_rx: Option<Instant>,
    detect_at: Option<Instant>,
    up_since: Option<Instant>,
    events: VecDeque<SessionEvent>,
    counters: Counters,
    jitter: Jitter,
}

fn config_interval(field: &'static str, value: Duration) -> Result<u32, SessionError> {
    let err = SessionError::IntervalOutOfRange { field, value };
    if value < MIN_INTERVAL {
        return Err(err);
    }
    u32::try_from(value.as_micros()).map_err(|_| err)
}

/// Checks a configuration; gives its intervals in µs.
fn check_config(config: &SessionConfig) -> Result<(u32, u32), SessionError> {
    if config.detect_mult == 0 {
        return Err(SessionError::ZeroDetectMult);
    }
    Ok((
        config_interval("desired_min_tx", config.desired_min_tx)?,
        config_interval("required_min_rx", config.required_min_rx)?,
    ))
}

fn micros(us: u32) -> Duration {
    Duration::from_micros(u64::from(us))
}

/// `t + d`, or `None` past the end of `Instant` (the deadline is dropped
/// rather than fired at once, which could loop).
fn later(t: Instant, d: Duration) -> Option<Instant> {
    t.checked_add(d)
}

impl Session {
    /// A session in state Down. An active session's first packet is due at
    /// `now`; a passive one waits for the peer. The jitter generator is
    /// seeded from the discriminator, which the edge picks at random.
    pub fn new(
        local_discriminator: u32,
        config: SessionConfig,
        now: Instant,
    ) -> Result<Session, SessionError> {
        if local_discriminator == 0 {
            return Err(SessionError::ZeroLocalDiscriminator);
        }
        let (cfg_tx_us, cfg_rx_us) = check_config(&config)?;
        let mut s = Session {
            local_discr: local_discriminator,
            config,
            cfg_tx_us,
            cfg_rx_us,
            state: State::Down,
            diag: Diag::NoDiagnostic,
            remote: Remote::INITIAL,
            acked_tx_us: cfg_tx_us.max(SLOW_TX_US),
            acked_rx_us: cfg_rx_us,
            poll: None,
            final_due: None,
            urgent: None,
            next_tx: None,
            sched_interval_us: 0,
            last_tx: None,
            last_rx: None,
            detect_at: None,
            up_since: None,
            events: VecDeque::with_capacity(EVENT_QUEUE_LEN),
            counters: Counters::default(),
            jitter: Jitter::new(u64::from(local_discriminator)),
        };
        s.plan_tx(now);
        Ok(s)
    }

    // ===== inputs =====

    /// Processes a received packet the edge matched to this session
    /// (RFC 5880 6.8.6 from "If the Your Discriminator field is nonzero").
    /// An error means the packet was discarded and changed nothing.
    pub fn handle_packet(&mut self, now: Instant, pkt: &ControlPacket) -> Result<(), SessionError> {
        let res = self.receive(now, pkt);
        let c = match res {
            Ok(()) => &mut self.counters.packets_in,
            Err(_) => &mut self.counters.packets_discarded,
        };
        *c = c.saturating_add(1);
        res
    }

    fn receive(&mut self, now: Instant, p: &ControlPacket) -> Result<(), SessionError> {
        p.validate()?;
        if p.your_discriminator != 0 && p.your_discriminator != self.local_discr {
            return Err(SessionError::WrongDiscriminator {
                ours: self.local_discr,
                got: p.your_discriminator,
            });
        }
        if p.your_discriminator == 0 && self.state == State::Up {
            return Err(SessionError::Unbound(self.state));
        }
        if self.state == State::AdminDown {
            return Err(SessionError::AdminDown);
        }
        self.remote = Remote {
            discr: p.my_discriminator,
            state: p.state,
            diag: p.diag,
            demand: p.demand,
            min_rx_us: p.required_min_rx,
            desired_tx_us: p.desired_min_tx,
            detect_mult: p.detect_mult,
            cpi: p.control_plane_independent,
        };
        self.last_rx = Some(now);
        if p.final_ {
            self.end_poll();
        }
        match (p.state, self.state) {
            // RFC 5880 6.8.6 sets LocalDiag 3 here. Like FRR we record 7 so
            // the owner sees an administrative shutdown, which RFC 5882 3.2
            // says must not be taken as a path failure.
            (State::AdminDown, State::Init | State::Up) => {
                self.transition(now, State::Down, Diag::AdministrativelyDown, Urgency::Peer)
            }
            (State::Down, State::Down) => {
                self.transition(now, State::Init, Diag::NoDiagnostic, Urgency::Peer)
            }
            (State::Init, State::Down) | (State::Init | State::Up, State::Init) => {
                self.transition(now, State::Up, Diag::NoDiagnostic, Urgency::Peer)
            }
            (State::Down, State::Up) => self.transition(
                now,
                State::Down,
                Diag::NeighborSignaledSessionDown,
                Urgency::Peer,
            ),
            _ => {}
        }
        if p.poll {
            self.final_due = Some(now);
        }
        self.arm_detection();
        self.plan_tx(now);
        Ok(())
    }

    /// Handles the passing of time: if the detection time ran out the
    /// session goes Down with diag 1 (from Init or Up) and forgets the
    /// remote system. Call it when [`Session::poll_timeout`] passes, then
    /// call [`Session::poll_transmit`].
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.detect_at.is_some_and(|t| t <= now) {
            self.detect_at = None;
            // RFC 5880 6.8.1: bfd.RemoteDiscr "MUST be set to zero" after a
            // Detection Time without packets; the rest goes with it.
            self.remote = Remote::INITIAL;
            self.poll = None;
            self.final_due = None;
            // RFC 5880 6.8.4: only Init and Up sessions go down.
            if matches!(self.state, State::Init | State::Up) {
                self.transition(
                    now,
                    State::Down,
                    Diag::ControlDetectionTimeExpired,
                    Urgency::Peer,
                );
            }
        }
        self.plan_tx(now);
    }

    // ===== commands =====

    /// Takes the session administratively down (it sends AdminDown with
    /// diag 7 and ignores the peer), or back to Down.
    pub fn set_admin_down(&mut self, now: Instant, down: bool) {
        if down && self.state != State::AdminDown {
            self.final_due = None;
            self.detect_at = None;
            self.transition(
                now,
                State::AdminDown,
                Diag::AdministrativelyDown,
                Urgency::Local,
            );
        } else if !down && self.state == State::AdminDown {
            self.transition(now, State::Down, Diag::NoDiagnostic, Urgency::Local);
        }
        self.plan_tx(now);
    }

    /// Changes the configuration. A change of either interval starts a
    /// poll sequence when the peer is known (RFC 5880 6.8.3); while Up a
    /// larger tx interval, or a smaller rx interval, takes effect only
    /// when the peer's Final arrives. Detect Mult, C bit and passive role
    /// take effect at once (6.8.12 needs no poll). On error nothing
    /// changes.
    pub fn set_config(&mut self, now: Instant, config: SessionConfig) -> Result<(), SessionError> {
        let (tx, rx) = check_config(&config)?;
        let old = self.advertised();
        self.config = config;
        self.cfg_tx_us = tx;
        self.cfg_rx_us = rx;
        self.timers_changed(old);
        if self.detect_at.is_some() {
            self.arm_detection();
        }
        self.plan_tx(now);
        Ok(())
    }

    // ===== outputs =====

    /// The next packet to send at `now`, if one is due. Call it after
    /// every input and timeout until it returns `None`: a periodic packet
    /// and a Final answer due together go out as one packet, and a second
    /// call at the same `now` returns `None` (the periodic deadline always
    /// moves past `now`).
    pub fn poll_transmit(&mut self, now: Instant) -> Option<ControlPacket> {
        let periodic = self.next_tx.is_some_and(|t| t <= now);
        let answer = self.final_due.is_some();
        if !periodic && !answer {
            return None;
        }
        let pkt = self.packet(answer);
        self.final_due = None;
        self.last_tx = Some(now);
        self.counters.packets_out = self.counters.packets_out.saturating_add(1);
        // A Final answer alone leaves the periodic schedule alone.
        if periodic {
            self.next_tx = None;
            self.plan_tx(now);
        }
        Some(pkt)
    }

    /// The earliest instant at which the session wants
    /// [`Session::handle_timeout`] and [`Session::poll_transmit`] called:
    /// the next transmission or the detection deadline. It may be in the
    /// past (call at once).
    pub fn poll_timeout(&self) -> Option<Instant> {
        [self.final_due, self.next_tx, self.detect_at]
            .into_iter()
            .flatten()
            .min()
    }

    /// The next event, oldest first. The queue holds
    /// [`EVENT_QUEUE_LEN`] events; beyond that a change of state is merged
    /// into the last one queued (its `from` kept, `to` and `diag`
    /// replaced), so an owner that polls rarely still sees where the
    /// session went.
    pub fn poll_event(&mut self) -> Option<SessionEvent> {
        self.events.pop_front()
    }

    // ===== getters =====

    /// Our discriminator.
    pub fn local_discriminator(&self) -> u32 {
        self.local_discr
    }
    /// The peer's discriminator, 0 while unknown.
    pub fn remote_discriminator(&self) -> u32 {
        self.remote.discr
    }
    /// Our state.
    pub fn state(&self) -> State {
        self.state
    }
    /// The peer's state as last received (Down while unknown).
    pub fn remote_state(&self) -> State {
        self.remote.state
    }
    /// Our diagnostic: why our state last changed.
    pub fn last_diag(&self) -> Diag {
        self.diag
    }
    /// The peer's diagnostic as last received.
    pub fn remote_diag(&self) -> Diag {
        self.remote.diag
    }
    /// The peer's C bit as last received.
    pub fn remote_control_plane_independent(&self) -> bool {
        self.remote.cpi
    }
    /// The configuration in force.
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }
    /// Whether a poll sequence of ours is running.
    pub fn poll_in_progress(&self) -> bool {
        self.poll.is_some()
    }
    /// Since when the session is Up.
    pub fn up_since(&self) -> Option<Instant> {
        self.up_since
    }
    /// The counters.
    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// The negotiated transmit interval before jitter: the larger of the
    /// desired min tx in use and the peer's required min rx.
    pub fn tx_interval(&self) -> Duration {
        micros(self.tx_interval_us())
    }

    /// The detection time (RFC 5880 6.8.4): the peer's Detect Mult times
    /// the larger of our required min rx in use and the peer's desired min
    /// tx. `None` until a packet from the peer is received.
    pub fn detection_time(&self) -> Option<Duration> {
        if self.remote.detect_mult == 0 {
            return None;
        }
        let interval = self.rx_in_use_us().max(self.remote.desired_tx_us);
        Some(Duration::from_micros(
            u64::from(self.remote.detect_mult) * u64::from(interval),
        ))
    }

    // ===== internals =====

    /// bfd.DesiredMinTxInterval and bfd.RequiredMinRxInterval, µs: the
    /// values our packets carry.
    fn advertised(&self) -> (u32, u32) {
        let tx = if self.state == State::Up {
            self.cfg_tx_us
        } else {
            self.cfg_tx_us.max(SLOW_TX_US)
        };
        (tx, self.cfg_rx_us)
    }

    // RFC 5880 6.8.3: "If bfd.DesiredMinTxInterval is increased and
    // bfd.SessionState is Up, the actual transmission interval used MUST
    // NOT change until the Poll Sequence described above has terminated."
    fn tx_in_use_us(&self) -> u32 {
        self.advertised().0.min(self.acked_tx_us)
    }

    // RFC 5880 6.8.3: "If bfd.RequiredMinRxInterval is reduced and
    // bfd.SessionState is Up, the previous value of
    // bfd.RequiredMinRxInterval MUST be used when calculating the Detection
    // Time for the remote system until the Poll Sequence described above
    // has terminated."
    fn rx_in_use_us(&self) -> u32 {
        self.advertised().1.max(self.acked_rx_us)
    }

    fn tx_interval_us(&self) -> u32 {
        self.tx_in_use_us().max(self.remote.min_rx_us)
    }

    /// After our advertised intervals may have changed (`old` were the
    /// values before): update what is in use and start or extend a poll.
    fn timers_changed(&mut self, old: (u32, u32)) {
        let (tx, rx) = self.advertised();
        if self.state == State::Up {
            // Decreases of tx and increases of rx apply at once.
            self.acked_tx_us = self.acked_tx_us.min(tx);
            self.acked_rx_us = self.acked_rx_us.max(rx);
        } else {
            self.acked_tx_us = tx;
            self.acked_rx_us = rx;
        }
        if self.state == State::AdminDown {
            // Nothing would answer: AdminDown discards every packet.
            self.poll = None;
            return;
        }
        if (tx, rx) == old {
            return;
        }
        match &mut self.poll {
            // RFC 5880 6.5: "A new Poll Sequence MUST NOT be initiated
            // while another Poll Sequence is in progress."
            Some(p) => {
                p.min_tx_us = p.min_tx_us.min(tx);
                p.max_rx_us = p.max_rx_us.max(rx);
                p.dirty = true;
            }
            // With no peer known nobody would answer (BIRD does the same).
            None if self.remote.discr != 0 => {
                self.poll = Some(Poll {
                    min_tx_us: tx,
                    max_rx_us: rx,
                    dirty: false,
                });
            }
            None => {}
        }
    }

    /// A packet with F arrived: our poll sequence, if any, is over.
    fn end_poll(&mut self) {
        let Some(p) = self.poll.take() else {
            return;
        };
        if self.state == State::Up {
            self.acked_tx_us = p.min_tx_us;
            self.acked_rx_us = p.max_rx_us;
        }
        if p.dirty {
            let (tx, rx) = self.advertised();
            self.poll = Some(Poll {
                min_tx_us: tx,
                max_rx_us: rx,
                dirty: false,
            });
        }
    }

    fn transition(&mut self, now: Instant, to: State, diag: Diag, why: Urgency) {
        let from = self.state;
        if from == to {
            return;
        }
        let old = self.advertised();
        self.state = to;
        self.diag = diag;
        self.counters.state_changes = self.counters.state_changes.saturating_add(1);
        self.up_since = (to == State::Up).then_some(now);
        self.urgent = self.urgent.max(Some(why));
        self.timers_changed(old);
        self.push_event(SessionEvent::StateChanged { from, to, diag });
    }

    fn push_event(&mut self, ev: SessionEvent) {
        if self.events.len() < EVENT_QUEUE_LEN {
            self.events.push_back(ev);
            return;
        }
        self.counters.events_coalesced = self.counters.events_coalesced.saturating_add(1);
        if let Some(SessionEvent::StateChanged { to, diag, .. }) = self.events.back_mut() {
            let SessionEvent::StateChanged {
                to: new_to,
                diag: new_diag,
                ..
            } = ev;
            *to = new_to;
            *diag = new_diag;
        }
    }

    fn arm_detection(&mut self) {
        self.detect_at = match (self.state, self.last_rx, self.detection_time()) {
            (State::AdminDown, _, _) => None,
            (_, Some(rx), Some(d)) => later(rx, d),
            _ => None,
        };
    }

    // RFC 5880 6.8.7: "A system MUST NOT transmit BFD Control packets if
    // bfd.RemoteDiscr is zero and the system is taking the Passive role."
    // "A system MUST NOT periodically transmit BFD Control packets if
    // bfd.RemoteMinRxInterval is zero." "... if Demand mode is active on
    // the remote system (bfd.RemoteDemandMode is 1, bfd.SessionState is Up,
    // and bfd.RemoteSessionState is Up) and a Poll Sequence is not being
    // transmitted."
    fn may_transmit(&self) -> bool {
        !(self.config.passive && self.remote.discr == 0)
            && self.remote.min_rx_us != 0
            && !(self.remote.demand
                && self.state == State::Up
                && self.remote.state == State::Up
                && self.poll.is_none())
    }

    /// Sets `next_tx` after anything that may change when we send.
    fn plan_tx(&mut self, now: Instant) {
        let urgent = self.urgent.take();
        if !self.may_transmit() {
            self.next_tx = None;
            return;
        }
        let interval = self.tx_interval_us();
        if self.next_tx.is_none() || interval != self.sched_interval_us {
            // A new interval counts from the last packet: a smaller one is
            // honoured at once, as 6.8.3 asks when the peer lowers its rx.
            self.sched_interval_us = interval;
            let jittered = self.jitter.apply(interval, self.config.detect_mult);
            self.next_tx = match self.last_tx {
                None => Some(now),
                Some(t) => later(t, jittered),
            };
        }
        if urgent == Some(Urgency::Local) || (urgent.is_some() && self.state == State::Up) {
            self.next_tx = Some(now);
        }
    }

    /// The packet we send now (RFC 5880 6.8.7 field by field).
    fn packet(&self, final_: bool) -> ControlPacket {
        let (desired_min_tx, required_min_rx) = self.advertised();
        ControlPacket {
            version: VERSION,
            diag: self.diag,
            state: self.state,
            // "A BFD Control packet MUST NOT have both the Poll (P) and
            // Final (F) bits set": the poll goes on in the next packet.
            poll: !final_ && self.poll.is_some(),
            final_,
            control_plane_independent: self.config.control_plane_independent,
            authentication_present: false,
            demand: false,
            multipoint: false,
            detect_mult: self.config.detect_mult,
            length: PACKET_LEN as u8,
            my_discriminator: self.local_discr,
            your_discriminator: self.remote.discr,
            desired_min_tx,
            required_min_rx,
            required_min_echo_rx: 0,
        }
    }
}
