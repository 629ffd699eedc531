//! The BGP session state machine of RFC 4271 section 8, sans-IO.
//!
//! Invariant: this module does no I/O and reads no clock. The neighbor
//! task feeds it [`Event`]s with the current time and carries out the
//! [`Action`]s it returns; timers are deadlines the task sleeps until
//! ([`Fsm::poll_timeout`]) before calling [`Fsm::handle_timeout`]
//! (quinn's shape). One `Fsm` drives one TCP connection at a time; when
//! both sides dial at once the task runs a second `Fsm` for the accepted
//! connection and settles the race with [`collision::collision_winner`].
//!
//! ```text
//!            ManualStart                TcpConnected
//!   Idle ─────────────────► Connect ─────────────────► OpenSent ──OPEN ok──► OpenConfirm
//!    ▲  ◄── IdleHold expiry   │  ▲ TcpFailed / retry       │  (send KEEPALIVE)     │
//!    │      (auto restart)    ▼  │                         │                  KEEPALIVE
//!    │                       Active (passive: wait)        │                       ▼
//!    └────── any error: NOTIFICATION, hold expiry, TCP close ◄──────────── Established
//! ```

pub mod collision;
mod gate;
pub mod negotiate;
pub mod timers;

#[cfg(test)]
mod pair;
#[cfg(test)]
mod tests;

pub use collision::{collision_winner, Origin};
pub use negotiate::{
    check_open, negotiate, negotiate_shared, Negotiated, OpenPolicy, PeerAs, BGP_VERSION,
};
pub use timers::{Jitter, Timer, Timers};

use crate::msg::notification::{cease_subcode, code, fsm_subcode};
use crate::msg::{Capability, Message, Notification, OpenMessage, RouteRefresh, SessionContext};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Session states (RFC 4271 8.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum State {
    /// Refusing connections; waiting for a start (manual or idle hold).
    Idle,
    /// Dialling the peer.
    Connect,
    /// Waiting for the peer to dial us.
    Active,
    /// Our OPEN is sent; waiting for the peer's.
    OpenSent,
    /// OPENs exchanged; waiting for the peer's KEEPALIVE.
    OpenConfirm,
    /// The session is up.
    Established,
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            State::Idle => "Idle",
            State::Connect => "Connect",
            State::Active => "Active",
            State::OpenSent => "OpenSent",
            State::OpenConfirm => "OpenConfirm",
            State::Established => "Established",
        })
    }
}

/// Static configuration of one session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FsmConfig {
    /// Our AS.
    pub local_asn: u32,
    /// Our BGP Identifier.
    pub local_id: Ipv4Addr,
    /// The AS the peer must announce.
    pub peer_as: PeerAs,
    /// Hold time we propose, seconds (0, or 3 and more).
    pub hold_time: u16,
    /// Least hold time accepted from the peer (at least 3); its 0 is
    /// accepted only when `min_hold_time` or our own hold time is 0.
    pub min_hold_time: u16,
    /// Configured keepalive interval (default: a third of the hold time).
    pub keepalive: Option<u16>,
    /// Time between connection attempts.
    pub connect_retry: Duration,
    /// Never dial; only wait for the peer.
    pub passive: bool,
    /// Capabilities of our OPEN, in order. A 4-octet AS capability is
    /// added when missing (RFC 6793: always announce it).
    pub capabilities: Vec<Capability>,
    /// Capability codes the peer must announce (default none).
    pub required_capabilities: Vec<u8>,
    /// Hold timer while waiting for the peer's OPEN (RFC 4271 8.2.2
    /// suggests 4 minutes).
    pub open_hold_time: Duration,
    /// First idle hold after a failed session.
    pub idle_hold_initial: Duration,
    /// Cap of the doubling idle hold.
    pub idle_hold_max: Duration,
    /// A session up this long resets the idle hold to its initial value.
    pub stable_time: Duration,
    /// Seed for timer jitter.
    pub seed: u64,
    /// Hold our OPEN on a new connection until [`Event::OpenAllowed`]
    /// says it may go (BFD strict mode: the session waits for BFD Up).
    pub hold_open: bool,
}

impl FsmConfig {
    /// A configuration with the usual defaults: hold 90 s, connect retry
    /// 5 s, 4-minute OPEN hold, idle hold 1 s doubling up to 120 s, reset
    /// after 60 s up; IPv4 and IPv6 unicast, route refresh.
    pub fn new(local_asn: u32, local_id: Ipv4Addr, peer_asn: u32) -> Self {
        Self::with_peer_as(local_asn, local_id, PeerAs::Exact(peer_asn))
    }

    /// As [`FsmConfig::new`], for a peer whose AS is one of a set.
    pub fn with_peer_as(local_asn: u32, local_id: Ipv4Addr, peer_as: PeerAs) -> Self {
        FsmConfig {
            local_asn,
            local_id,
            peer_as,
            hold_time: 90,
            min_hold_time: 3,
            keepalive: None,
            connect_retry: Duration::from_secs(5),
            passive: false,
            capabilities: vec![
                Capability::Multiprotocol(crate::Family::IPV4_UNICAST),
                Capability::Multiprotocol(crate::Family::IPV6_UNICAST),
                Capability::RouteRefresh,
            ],
            required_capabilities: Vec::new(),
            open_hold_time: Duration::from_secs(240),
            idle_hold_initial: Duration::from_secs(1),
            idle_hold_max: Duration::from_secs(120),
            stable_time: Duration::from_secs(60),
            seed: 1,
            hold_open: false,
        }
    }

    /// The OPEN we send.
    pub fn local_open(&self) -> OpenMessage {
        let mut capabilities = self.capabilities.clone();
        if !capabilities
            .iter()
            .any(|c| matches!(c, Capability::FourOctetAs(_)))
        {
            capabilities.push(Capability::FourOctetAs(self.local_asn));
        }
        OpenMessage {
            version: BGP_VERSION,
            my_as: OpenMessage::my_as_for(self.local_asn),
            hold_time: self.hold_time,
            bgp_id: self.local_id,
            capabilities,
            other_params: Vec::new(),
            extended_params: false,
        }
    }

    fn policy(&self) -> OpenPolicy {
        OpenPolicy {
            local_asn: self.local_asn,
            local_id: self.local_id,
            peer_as: self.peer_as.clone(),
            required_capabilities: self.required_capabilities.clone(),
            min_hold_time: self.min_hold_time,
            allow_zero_hold: self.min_hold_time == 0 || self.hold_time == 0,
        }
    }
}

/// A message received on the session's connection, as far as the FSM
/// cares (an UPDATE's body stays with the task).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Incoming {
    /// OPEN.
    Open(OpenMessage),
    /// KEEPALIVE.
    Keepalive,
    /// NOTIFICATION.
    Notification(Notification),
    /// UPDATE.
    Update,
    /// ROUTE-REFRESH.
    RouteRefresh(RouteRefresh),
}

/// An input to the FSM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    /// Start the session (RFC 4271 Event 1, or Event 4 when passive).
    ManualStart,
    /// Stop the session, sending this NOTIFICATION (default Cease /
    /// Administrative Shutdown) if a connection is open (Event 2).
    ManualStop(Option<Notification>),
    /// The TCP connection is up, dialled or accepted (Events 16/17).
    TcpConnected,
    /// Dialling failed (Event 18).
    TcpFailed,
    /// The connection closed or failed (Event 18 after connection).
    TcpClosed,
    /// A message arrived.
    Received(Incoming),
    /// A message could not be decoded; this is the NOTIFICATION to send
    /// (Events 21/22/28).
    DecodeError(Notification),
    /// Nothing could be written to the peer for the send hold time
    /// (RFC 9687): the session ends with Send Hold Timer Expired, as on a
    /// hold timer expiry, and restarts as after any error.
    SendHoldTimerExpired,
    /// A timer fired (the task may also use [`Fsm::handle_timeout`]).
    TimerExpired(Timer),
    /// Whether our OPEN may go out (with [`FsmConfig::hold_open`]: the
    /// link is known live, BFD being Up). A connection made meanwhile
    /// waits in Connect or Active, the peer's OPEN kept, for at most the
    /// OPEN hold time.
    OpenAllowed(bool),
}

/// Why a connection that had reached OpenSent ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum DownReason {
    /// We stopped it (manual stop, reset, de-configuration, collision).
    Stopped(Notification),
    /// We found an error and sent this NOTIFICATION.
    NotificationSent(Notification),
    /// The peer sent this NOTIFICATION.
    NotificationReceived(Notification),
    /// The TCP connection closed without a NOTIFICATION.
    TcpClosed,
}

impl DownReason {
    /// The NOTIFICATION exchanged, if any.
    pub fn notification(&self) -> Option<&Notification> {
        match self {
            DownReason::Stopped(n)
            | DownReason::NotificationSent(n)
            | DownReason::NotificationReceived(n) => Some(n),
            DownReason::TcpClosed => None,
        }
    }
}

impl fmt::Display for DownReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DownReason::Stopped(n) => write!(f, "stopped, sent {}", n.describe()),
            DownReason::NotificationSent(n) => write!(f, "sent {}", n.describe()),
            DownReason::NotificationReceived(n) => write!(f, "received {}", n.describe()),
            DownReason::TcpClosed => f.write_str("connection closed"),
        }
    }
}

/// What the task must do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[allow(clippy::large_enum_variant)] // transient, never stored in bulk
pub enum Action {
    /// Dial the peer (dropping any dial in progress).
    Connect,
    /// Send a message on the connection.
    Send(Message),
    /// Send the NOTIFICATION, if any, then close the connection (and stop
    /// any dial in progress).
    Close(Option<Notification>),
    /// The session is up.
    Established(Box<Negotiated>),
    /// A connection that had reached OpenSent ended.
    Down {
        /// Why.
        reason: DownReason,
        /// Whether the session was Established.
        established: bool,
    },
    /// The state changed.
    StateChange {
        /// Old state.
        from: State,
        /// New state.
        to: State,
    },
}

/// One BGP session.
#[derive(Debug, Clone)]
pub struct Fsm {
    cfg: FsmConfig,
    local_open: Arc<OpenMessage>,
    state: State,
    timers: Timers,
    jitter: Jitter,
    stopped: bool,
    idle_hold: Duration,
    established_at: Option<Instant>,
    negotiated: Option<Negotiated>,
    gate: gate::OpenGate,
}

impl Fsm {
    /// A session in Idle, administratively stopped until
    /// [`Event::ManualStart`].
    pub fn new(cfg: FsmConfig) -> Self {
        Fsm {
            local_open: Arc::new(cfg.local_open()),
            jitter: Jitter::new(cfg.seed),
            idle_hold: cfg.idle_hold_initial,
            gate: gate::OpenGate::new(cfg.hold_open),
            cfg,
            state: State::Idle,
            timers: Timers::default(),
            stopped: true,
            established_at: None,
            negotiated: None,
        }
    }

    /// Current state.
    pub fn state(&self) -> State {
        self.state
    }
    /// The configuration.
    pub fn config(&self) -> &FsmConfig {
        &self.cfg
    }
    /// Whether the session is administratively stopped.
    pub fn is_stopped(&self) -> bool {
        self.stopped
    }
    /// What was negotiated (from OpenConfirm on).
    pub fn negotiated(&self) -> Option<&Negotiated> {
        self.negotiated.as_ref()
    }
    /// When the session reached Established, if it is.
    pub fn established_at(&self) -> Option<Instant> {
        self.established_at
    }
    /// The codec context for the current connection: the negotiated one
    /// once OPENs are exchanged, the default before.
    pub fn context(&self) -> SessionContext {
        self.negotiated
            .as_ref()
            .map(|n| n.context.clone())
            .unwrap_or_default()
    }
    /// The OPEN we send.
    pub fn local_open(&self) -> &OpenMessage {
        &self.local_open
    }
    /// Makes the session passive or active from now on (the task uses it
    /// when an accepted connection wins a collision and takes over).
    pub fn set_passive(&mut self, passive: bool) {
        self.cfg.passive = passive;
    }
    /// The current idle hold (grows while the peer keeps failing).
    pub fn idle_hold(&self) -> Duration {
        self.idle_hold
    }
    /// The earliest armed timer deadline.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next()
    }
    /// When `timer` fires, if armed.
    pub fn timer(&self, timer: Timer) -> Option<Instant> {
        self.timers.get(timer)
    }

    /// Fires every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) -> Vec<Action> {
        let mut out = Vec::new();
        for t in self.timers.take_expired(now) {
            out.extend(self.handle(now, Event::TimerExpired(t)));
        }
        out
    }

    /// Processes one event at time `now`.
    pub fn handle(&mut self, now: Instant, ev: Event) -> Vec<Action> {
        let mut out = Vec::new();
        match ev {
            Event::ManualStart => {
                if self.state == State::Idle {
                    self.stopped = false;
                    self.timers.disarm(Timer::IdleHold);
                    self.start(now, &mut out);
                }
            }
            Event::ManualStop(n) => self.stop(n, &mut out),
            Event::TcpConnected => self.tcp_connected(now, &mut out),
            Event::TcpFailed => {
                // RFC 4271 8.2.2, Connect state, Event 18: "restarts the
                // ConnectRetryTimer ... changes its state to Active".
                if self.state == State::Connect {
                    self.goto(State::Active, &mut out);
                }
            }
            Event::TcpClosed => match self.state {
                State::OpenSent | State::OpenConfirm | State::Established => {
                    out.push(Action::Close(None));
                    self.fail(now, DownReason::TcpClosed, &mut out);
                }
                _ if self.gate.is_holding() => self.drop_held(now, &mut out),
                State::Connect => self.goto(State::Active, &mut out),
                State::Idle | State::Active => {}
            },
            Event::Received(msg) => self.received(now, msg, &mut out),
            Event::DecodeError(n) => {
                if self.connected() {
                    self.fail_sending(now, n, &mut out);
                } else {
                    self.drop_held(now, &mut out);
                }
            }
            Event::SendHoldTimerExpired => {
                if self.connected() {
                    let n = Notification::new(code::SEND_HOLD_TIMER_EXPIRED, 0, []);
                    self.fail_sending(now, n, &mut out);
                }
            }
            Event::TimerExpired(t) => self.timer_expired(now, t, &mut out),
            Event::OpenAllowed(allowed) => self.open_allowed(now, allowed, &mut out),
        }
        out
    }

    fn connected(&self) -> bool {
        matches!(
            self.state,
            State::OpenSent | State::OpenConfirm | State::Established
        )
    }

    fn goto(&mut self, to: State, out: &mut Vec<Action>) {
        if to != self.state {
            out.push(Action::StateChange {
                from: self.state,
                to,
            });
            self.state = to;
        }
    }

    fn start(&mut self, now: Instant, out: &mut Vec<Action>) {
        if self.cfg.passive {
            self.goto(State::Active, out);
        } else {
            self.dial(now, out);
            self.goto(State::Connect, out);
        }
    }

    fn dial(&mut self, now: Instant, out: &mut Vec<Action>) {
        let retry = self.jitter.apply(self.cfg.connect_retry);
        self.timers.arm(Timer::ConnectRetry, now + retry);
        out.push(Action::Connect);
    }

    fn stop(&mut self, n: Option<Notification>, out: &mut Vec<Action>) {
        self.stopped = true;
        self.timers.clear();
        match self.state {
            State::Idle => {}
            State::Connect | State::Active => {
                self.gate.release();
                out.push(Action::Close(None));
            }
            State::OpenSent | State::OpenConfirm | State::Established => {
                let n = n.unwrap_or_else(|| {
                    Notification::new(code::CEASE, cease_subcode::ADMINISTRATIVE_SHUTDOWN, [])
                });
                let established = self.state == State::Established;
                out.push(Action::Close(Some(n.clone())));
                out.push(Action::Down {
                    reason: DownReason::Stopped(n),
                    established,
                });
            }
        }
        self.negotiated = None;
        self.established_at = None;
        self.goto(State::Idle, out);
    }

    // RFC 4271 8.2.2, Connect and Active states: "If the TCP connection
    // succeeds (Event 16 or Event 17), the local system: - stops the
    // ConnectRetryTimer and sets the ConnectRetryTimer to zero, - completes
    // BGP initialization, - sends an OPEN message to its peer, - sets the
    // HoldTimer to a large value, and - changes its state to OpenSent."
    // "A HoldTimer value of 4 minutes is suggested."
    fn tcp_connected(&mut self, now: Instant, out: &mut Vec<Action>) {
        match self.state {
            State::Connect | State::Active => {
                self.timers.disarm(Timer::ConnectRetry);
                self.timers.arm(Timer::Hold, now + self.cfg.open_hold_time);
                if self.gate.hold() {
                    return;
                }
                self.send_open(out);
            }
            // Idle refuses connections; later states already have one (the
            // task settles collisions with a second FSM).
            _ => out.push(Action::Close(None)),
        }
    }

    fn received(&mut self, now: Instant, msg: Incoming, out: &mut Vec<Action>) {
        if let Incoming::Notification(n) = msg {
            if self.connected() {
                out.push(Action::Close(None));
                self.fail(now, DownReason::NotificationReceived(n), out);
            } else if self.gate.is_holding() {
                self.drop_held(now, out);
            }
            return;
        }
        match self.state {
            State::Idle => {}
            State::Connect | State::Active => self.received_while_held(now, msg, out),
            State::OpenSent => match msg {
                Incoming::Open(open) => self.open_received(now, open, out),
                _ => self.fsm_error(now, fsm_subcode::UNEXPECTED_IN_OPENSENT, out),
            },
            State::OpenConfirm => match msg {
                Incoming::Keepalive => {
                    self.restart_hold(now);
                    self.established_at = Some(now);
                    self.goto(State::Established, out);
                    if let Some(n) = &self.negotiated {
                        out.push(Action::Established(Box::new(n.clone())));
                    }
                }
                _ => self.fsm_error(now, fsm_subcode::UNEXPECTED_IN_OPENCONFIRM, out),
            },
            State::Established => match msg {
                Incoming::Keepalive | Incoming::Update | Incoming::RouteRefresh(_) => {
                    self.restart_hold(now)
                }
                _ => self.fsm_error(now, fsm_subcode::UNEXPECTED_IN_ESTABLISHED, out),
            },
        }
    }

    // RFC 4271 8.2.2, OpenSent state: "When an OPEN message is received,
    // all fields are checked for correctness. If there are no errors in
    // the OPEN message (Event 19), the local system: - resets the
    // DelayOpenTimer to zero, - sets the BGP ConnectRetryTimer to zero,
    // - sends a KEEPALIVE message, and - sets a KeepaliveTimer (via the
    // text below) - sets the HoldTimer according to the negotiated value
    // (see Section 4.2), - changes its state to OpenConfirm."
    // "If the negotiated hold time value is zero, then the HoldTimer and
    // KeepaliveTimer are not started."
    fn open_received(&mut self, now: Instant, open: OpenMessage, out: &mut Vec<Action>) {
        if let Err(n) = check_open(&open, &self.cfg.policy()) {
            self.fail_sending(now, n, out);
            return;
        }
        let negotiated = negotiate_shared(&self.local_open, &Arc::new(open), self.cfg.keepalive);
        out.push(Action::Send(Message::Keepalive));
        self.negotiated = Some(negotiated);
        self.restart_hold(now);
        self.arm_keepalive(now);
        self.goto(State::OpenConfirm, out);
    }

    fn hold_time(&self) -> u16 {
        self.negotiated.as_ref().map_or(0, |n| n.hold_time)
    }

    fn restart_hold(&mut self, now: Instant) {
        match self.hold_time() {
            0 => self.timers.disarm(Timer::Hold),
            h => self
                .timers
                .arm(Timer::Hold, now + Duration::from_secs(u64::from(h))),
        }
    }

    fn arm_keepalive(&mut self, now: Instant) {
        match self.negotiated.as_ref().map_or(0, |n| n.keepalive) {
            0 => self.timers.disarm(Timer::Keepalive),
            k => {
                let d = self.jitter.apply(Duration::from_secs(u64::from(k)));
                self.timers.arm(Timer::Keepalive, now + d);
            }
        }
    }

    fn timer_expired(&mut self, now: Instant, t: Timer, out: &mut Vec<Action>) {
        match (t, self.state) {
            // RFC 4271 8.2.2, Connect: "In response to the ConnectRetryTimer_
            // Expires event (Event 9), the local system: - drops the TCP
            // connection, - restarts the ConnectRetryTimer, - ... - initiates
            // a TCP connection to the other BGP peer". Active: "... changes
            // its state to Connect".
            (Timer::ConnectRetry, State::Connect) => self.dial(now, out),
            (Timer::ConnectRetry, State::Active) if !self.cfg.passive => {
                self.dial(now, out);
                self.goto(State::Connect, out);
            }
            (Timer::Hold, State::Connect | State::Active) => self.drop_held(now, out),
            (Timer::Hold, State::OpenSent | State::OpenConfirm | State::Established) => {
                let n = Notification::new(code::HOLD_TIMER_EXPIRED, 0, []);
                self.fail_sending(now, n, out);
            }
            (Timer::Keepalive, State::OpenConfirm | State::Established) => {
                out.push(Action::Send(Message::Keepalive));
                self.arm_keepalive(now);
            }
            (Timer::IdleHold, State::Idle) if !self.stopped => self.start(now, out),
            _ => {}
        }
    }

    fn fsm_error(&mut self, now: Instant, subcode: u8, out: &mut Vec<Action>) {
        self.fail_sending(now, Notification::new(code::FSM, subcode, []), out);
    }

    fn fail_sending(&mut self, now: Instant, n: Notification, out: &mut Vec<Action>) {
        out.push(Action::Close(Some(n.clone())));
        self.fail(now, DownReason::NotificationSent(n), out);
    }

    // RFC 4271 8.1.1, DampPeerOscillations: "the BGP peer will be
    // repeatedly stopped and started ... the IdleHoldTimer ... prevents the
    // BGP peer from oscillating." We double the idle hold after each
    // failure, up to a cap, and reset it after a session that was stable.
    fn fail(&mut self, now: Instant, reason: DownReason, out: &mut Vec<Action>) {
        let established = self.state == State::Established;
        if let Some(at) = self.established_at {
            if now.saturating_duration_since(at) >= self.cfg.stable_time {
                self.idle_hold = self.cfg.idle_hold_initial;
            }
        }
        out.push(Action::Down {
            reason,
            established,
        });
        self.timers.clear();
        self.negotiated = None;
        self.established_at = None;
        self.timers.arm(Timer::IdleHold, now + self.idle_hold);
        self.idle_hold = (self.idle_hold * 2).min(self.cfg.idle_hold_max);
        self.goto(State::Idle, out);
    }
}
