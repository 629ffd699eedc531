//! The neighbor task: owns the sockets and timers of one neighbor and
//! drives its [`Fsm`]. It runs a second FSM only while two connections
//! race (RFC 4271 6.8) and keeps the one [`collision_winner`] picks.
//!
//! Graceful restart (helper side) is decided here when an Established
//! session ends: see [`Negotiated::is_graceful`].

use super::conn::{next_input, Conn, Input, WriteQueue};
use super::dial::{dial, dial_opt, DialFuture};
use super::mailbox;
use super::setup_log;
use super::sockopt;
use super::spec::{NeighborSpec, TtlPolicy};
use super::{PeerCommand, PeerEvent, PeerId, PeerStatus, SessionInfo, UPDATE_BURST};
use bgp_proto::fsm::{Action, Event, Fsm, Incoming, Negotiated, Origin, State};
use bgp_proto::msg::notification::cease_subcode;
use bgp_proto::wire::Decoded;
use bgp_proto::{Message, Notification, RouteRefreshSubtype};
use std::io;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

/// Messages to a neighbor task.
#[derive(Debug)]
pub(crate) enum TaskMsg {
    /// A command from the core.
    Command(PeerCommand),
    /// A connection the listener accepted from this neighbor's address.
    Incoming(TcpStream),
    /// Stop the session with this NOTIFICATION (default Cease / Peer
    /// De-configured) and end the task.
    Remove(Option<Notification>),
    /// The neighbor's config changed in its BFD settings only (see
    /// [`crate::config::NeighborConfig::same_but_bfd`]).
    BfdSettings(Box<crate::config::NeighborConfig>),
}

/// Runs when the task ends: the manager notes it and returns the ids of
/// neighbors forgotten meanwhile (this one's, unless its range remembers
/// it), which the task reports to the core after its own last events.
pub(crate) type ExitHook = Box<dyn FnOnce() -> Vec<PeerId> + Send>;

/// One FSM and its connection.
struct Side {
    fsm: Fsm,
    conn: Option<Conn>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Which {
    Main,
    Other,
}

#[allow(clippy::large_enum_variant)] // one at a time, on the stack
enum Wake {
    Msg(Option<TaskMsg>),
    Dialed(io::Result<TcpStream>),
    Input(Which, Input),
    Timer,
    /// The full write queue drained (true), or its writer gave up.
    Drained(bool),
}

/// The task's state.
pub(crate) struct NeighborTask {
    id: PeerId,
    spec: NeighborSpec,
    ttl: TtlPolicy,
    events: mpsc::Sender<PeerEvent>,
    status: Arc<Mutex<PeerStatus>>,
    rx: mailbox::Receiver<TaskMsg>,
    main: Side,
    /// The second connection of a collision (boxed: rarely there).
    other: Option<Box<Side>>,
    dial: Option<DialFuture>,
    session: Option<Negotiated>,
    flushing: Vec<JoinHandle<()>>,
    /// Unregisters the task; returns the neighbors forgotten meanwhile.
    on_exit: Option<ExitHook>,
    /// Removed or shut down: the run loop ends.
    stopped: bool,
    /// UPDATEs received and not yet handed to the core.
    updates: Vec<bgp_proto::wire::update::Update>,
    /// The codec context of the Established session, handed over with
    /// its UPDATEs.
    burst_ctx: std::sync::Arc<bgp_proto::msg::SessionContext>,
    /// The core was told the write queue is full and holds our exports.
    congested: bool,
    /// The neighbor's BFD session is Up, as the core last said.
    bfd_up: bool,
}

fn lock(status: &Mutex<PeerStatus>) -> std::sync::MutexGuard<'_, PeerStatus> {
    status.lock().unwrap_or_else(|p| p.into_inner())
}

async fn drained_opt(queue: Option<WriteQueue>) -> bool {
    match queue {
        Some(q) => q.drained().await,
        None => std::future::pending().await,
    }
}

async fn sleep_opt(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(tokio::time::Instant::from_std(d)).await,
        None => std::future::pending().await,
    }
}

#[path = "task_collision.rs"]
mod collision;
#[path = "task_command.rs"]
mod command;

fn cease(subcode: u8) -> Notification {
    Notification::new(bgp_proto::msg::notification::code::CEASE, subcode, [])
}

impl NeighborTask {
    /// A task for `spec`; `on_exit` runs when it ends (the manager
    /// unregisters it, or remembers a dynamic neighbor).
    pub(crate) fn new(
        id: PeerId,
        spec: NeighborSpec,
        events: mpsc::Sender<PeerEvent>,
        status: Arc<Mutex<PeerStatus>>,
        rx: mailbox::Receiver<TaskMsg>,
        on_exit: ExitHook,
    ) -> Box<Self> {
        let fsm = Fsm::new(spec.fsm_config(rand::random()));
        Box::new(NeighborTask {
            id,
            ttl: spec.ttl_policy(),
            spec,
            events,
            status,
            rx,
            main: Side { fsm, conn: None },
            other: None,
            dial: None,
            session: None,
            flushing: Vec::new(),
            on_exit: Some(on_exit),
            stopped: false,
            updates: Vec::new(),
            burst_ctx: std::sync::Arc::default(),
            congested: false,
            bfd_up: false,
        })
    }

    fn side(&mut self, which: Which) -> Option<&mut Side> {
        match which {
            Which::Main => Some(&mut self.main),
            Which::Other => self.other.as_deref_mut(),
        }
    }

    /// Runs the neighbor until it is removed (or, for a dynamic neighbor,
    /// until its session ends: its range may remember it, and a new task
    /// runs it when it reconnects). `first` is the accepted connection that
    /// created a dynamic neighbor.
    ///
    /// The task lives boxed and awaits its handlers boxed: a neighbor's
    /// future then stays a few hundred bytes (it was ~9 KB, two copies of
    /// the task plus the largest handler), which counts with a thousand
    /// neighbors.
    pub(crate) async fn run(mut self: Box<Self>, first: Option<TcpStream>) {
        if !self.spec.config.shutdown || self.spec.dynamic {
            Box::pin(self.handle(Which::Main, Event::ManualStart)).await;
        }
        if let Some(stream) = first {
            Box::pin(self.accept(stream)).await;
        }
        loop {
            // A range's neighbor lives as long as its connection; an
            // unnumbered one keeps dialing the router on its link until
            // that router is replaced or the link goes.
            let unconnected = match self.main.fsm.state() {
                State::Idle => true,
                State::Active | State::Connect => self.main.conn.is_none(),
                _ => false,
            };
            let lives_on_connection = self.spec.dynamic && self.spec.link.is_none();
            if lives_on_connection && unconnected && self.other.is_none() {
                break;
            }
            let deadline = match (
                self.main.fsm.poll_timeout(),
                self.other.as_ref().and_then(|o| o.fsm.poll_timeout()),
            ) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let held = match &self.main.conn {
                Some(c) if self.congested => Some(c.queue()),
                _ => None,
            };
            let wake = tokio::select! {
                m = self.rx.recv() => Wake::Msg(m),
                r = dial_opt(&mut self.dial) => Wake::Dialed(r),
                i = next_input(self.main.conn.as_mut()) => Wake::Input(Which::Main, i),
                i = next_input(self.other.as_mut().and_then(|o| o.conn.as_mut())) => {
                    Wake::Input(Which::Other, i)
                }
                _ = sleep_opt(deadline) => Wake::Timer,
                ok = drained_opt(held) => Wake::Drained(ok),
            };
            Box::pin(self.wake(wake)).await;
            if self.stopped {
                break;
            }
            Box::pin(self.check_collision()).await;
            self.flushing.retain(|h| !h.is_finished());
        }
        // Let the last NOTIFICATIONs reach the wire.
        for h in std::mem::take(&mut self.flushing) {
            let _ = tokio::time::timeout(FLUSH_WAIT, h).await;
        }
        let gone = self.on_exit.take().map(|f| f()).unwrap_or_default();
        Box::pin(self.send_updates()).await;
        for peer in gone {
            let _ = self.events.send(PeerEvent::Removed { peer }).await;
        }
        debug!(peer = %self.spec.addr, id = self.id, "neighbor task ended");
    }

    /// Acts on what woke the task; sets `stopped` when it must end.
    async fn wake(&mut self, wake: Wake) {
        match wake {
            Wake::Msg(None) => {
                self.stop_all(cease(cease_subcode::ADMINISTRATIVE_SHUTDOWN))
                    .await;
                self.stopped = true;
            }
            Wake::Msg(Some(TaskMsg::Remove(n))) => {
                let n = n.unwrap_or_else(|| cease(cease_subcode::PEER_DECONFIGURED));
                self.stop_all(n).await;
                self.stopped = true;
            }
            Wake::Msg(Some(TaskMsg::Command(c))) => self.command(c).await,
            Wake::Msg(Some(TaskMsg::Incoming(s))) => self.accept(s).await,
            Wake::Msg(Some(TaskMsg::BfdSettings(c))) => self.bfd_settings(*c).await,
            Wake::Dialed(r) => {
                self.dial = None;
                self.dialed(r).await;
            }
            Wake::Input(which, input) => {
                self.input(which, input).await;
                self.input_burst(which).await;
                self.send_updates().await;
            }
            // A writer that gave up is no drained queue: the session ends
            // (its reader reports why), and the core must not send it a
            // catch-up meanwhile.
            Wake::Drained(false) => self.congested = false,
            Wake::Drained(true) => self.set_congested(false).await,
            Wake::Timer => {
                let now = Instant::now();
                let acts = self.main.fsm.handle_timeout(now);
                self.apply(Which::Main, acts).await;
                if let Some(o) = self.other.as_mut() {
                    let acts = o.fsm.handle_timeout(now);
                    self.apply(Which::Other, acts).await;
                }
            }
        }
    }

    /// Handles the messages an established session already has in its
    /// read buffer (up to [`UPDATE_BURST`] more) without a trip through the
    /// task's `select!` each, so the UPDATEs of one read reach the core
    /// together.
    async fn input_burst(&mut self, which: Which) {
        for _ in 1..UPDATE_BURST {
            if self.stopped {
                return;
            }
            let Some(side) = self.side(which) else { return };
            if side.fsm.state() != State::Established {
                return;
            }
            let Some(input) = side.conn.as_mut().and_then(Conn::try_next) else {
                return;
            };
            self.input(which, input).await;
        }
    }

    /// Tells the core the write queue is full (its exports wait) or
    /// drained again.
    async fn set_congested(&mut self, congested: bool) {
        self.congested = congested;
        let ev = PeerEvent::Congested {
            peer: self.id,
            congested,
        };
        self.send_event(ev).await;
    }

    /// Hands the UPDATEs received so far to the core.
    async fn send_updates(&mut self) {
        if self.updates.is_empty() {
            return;
        }
        let updates = std::mem::take(&mut self.updates);
        let _ = self
            .events
            .send(PeerEvent::Update {
                peer: self.id,
                updates: super::UpdateBurst::new(self.burst_ctx.clone(), updates),
            })
            .await;
    }

    /// Sends an event to the core after the UPDATEs received before it.
    async fn send_event(&mut self, ev: PeerEvent) {
        self.send_updates().await;
        let _ = self.events.send(ev).await;
    }

    async fn handle(&mut self, which: Which, ev: Event) {
        let now = Instant::now();
        let Some(side) = self.side(which) else { return };
        let acts = side.fsm.handle(now, ev);
        self.apply(which, acts).await;
    }

    async fn stop_all(&mut self, n: Notification) {
        if self.other.is_some() {
            self.handle(Which::Other, Event::ManualStop(Some(n.clone())))
                .await;
            self.other = None;
        }
        self.handle(Which::Main, Event::ManualStop(Some(n))).await;
        self.dial = None;
    }

    /// An accepted connection from this neighbor.
    async fn accept(&mut self, stream: TcpStream) {
        let v6 = stream.peer_addr().map(|a| a.is_ipv6()).unwrap_or(false);
        if let Err(e) = sockopt::apply_ttl(&stream, v6, self.ttl) {
            // GTSM fails closed, as it does on our own dials: a session
            // without the TTL check is one the operator did not ask for.
            if self.ttl.min_ttl.is_some() {
                warn!(peer = %self.spec.addr, "refusing connection: cannot apply GTSM: {e}");
                return;
            }
            warn!(peer = %self.spec.addr, "cannot set TTL on accepted connection: {e}");
        }
        let conn = match Conn::new(stream, Origin::Remote) {
            Ok(c) => c,
            Err(e) => {
                debug!(peer = %self.spec.addr, "accepted connection unusable: {e}");
                return;
            }
        };
        match self.main.fsm.state() {
            State::Idle if self.main.fsm.is_stopped() => {
                info!(peer = %self.spec.addr, "refusing connection: neighbor is shut down");
            }
            State::Idle | State::Connect | State::Active => {
                if self.main.fsm.state() == State::Idle {
                    self.handle(Which::Main, Event::ManualStart).await;
                }
                self.dial = None;
                // A connection waiting for BFD gives way to the newer one.
                if let Some(old) = self.main.conn.take() {
                    self.flushing.push(old.close());
                }
                self.set_conn(Which::Main, conn);
                self.connected(Which::Main).await;
            }
            State::OpenSent | State::OpenConfirm => {
                if self.other.is_some() {
                    debug!(peer = %self.spec.addr, "refusing a third connection");
                    return;
                }
                self.start_other(conn).await;
            }
            State::Established => {
                // RFC 4724 4.2: "If a BGP speaker receives an OPEN ... for
                // a peer with which it has an established session and
                // graceful restart was negotiated, it MUST close the TCP
                // connection of the old session": on the OPEN, not on the
                // connect (`restarted`). Until then the connection waits
                // as the second one, under its OPEN hold timer.
                if !self.gr_negotiated() {
                    info!(peer = %self.spec.addr, "refusing connection: session established");
                } else if self.other.is_some() {
                    debug!(peer = %self.spec.addr, "refusing a third connection");
                } else {
                    self.start_other(conn).await;
                }
            }
        }
    }

    /// Runs an accepted connection as the second one (a collision, or a
    /// restarting peer's).
    async fn start_other(&mut self, conn: Conn) {
        let mut cfg = self.main.fsm.config().clone();
        cfg.passive = true;
        cfg.seed = rand::random();
        cfg.hold_open = self.spec.config.bfd_strict() && !self.bfd_up;
        let fsm = Fsm::new(cfg);
        self.other = Some(Box::new(Side { fsm, conn: None }));
        self.set_conn(Which::Other, conn);
        self.handle(Which::Other, Event::ManualStart).await;
        self.connected(Which::Other).await;
    }

    /// The peer's AS for logs: the session's, else the one the config
    /// allows, else 0 (an `external` or list neighbor before its OPEN).
    pub(super) fn log_asn(&self) -> u32 {
        self.session
            .as_ref()
            .map(|s| s.peer_asn)
            .or_else(|| self.spec.config.remote_as.exact(self.spec.local.asn))
            .unwrap_or(0)
    }

    /// Whether the established session negotiated graceful restart.
    fn gr_negotiated(&self) -> bool {
        self.session.as_ref().is_some_and(|s| s.peer_gr.is_some())
    }

    fn set_conn(&mut self, which: Which, conn: Conn) {
        if which == Which::Main {
            let mut st = lock(&self.status);
            st.remote = Some(conn.remote);
            st.local = Some(conn.local);
        }
        if let Some(side) = self.side(which) {
            side.conn = Some(conn);
        }
    }

    async fn dialed(&mut self, r: io::Result<TcpStream>) {
        match r {
            Ok(stream) if self.main.fsm.state() == State::Connect => {
                match Conn::new(stream, Origin::Local) {
                    Ok(conn) => {
                        self.set_conn(Which::Main, conn);
                        self.connected(Which::Main).await;
                    }
                    Err(e) => {
                        lock(&self.status).last_error = Some(format!("connect: {e}"));
                        self.handle(Which::Main, Event::TcpFailed).await;
                    }
                }
            }
            Ok(_) => debug!(peer = %self.spec.addr, "dropping late outgoing connection"),
            Err(e) => {
                debug!(peer = %self.spec.addr, "connect failed: {e}");
                lock(&self.status).last_error = Some(format!("connect: {e}"));
                self.handle(Which::Main, Event::TcpFailed).await;
            }
        }
    }

    async fn input(&mut self, mut which: Which, input: Input) {
        let (asn, addr) = (self.log_asn(), self.spec.addr);
        let dynamic = self.spec.dynamic;
        match input {
            Input::Message(d) => {
                let mut update = None;
                let ev = {
                    let mut st = lock(&self.status);
                    let c = &mut st.counters;
                    match d {
                        Decoded::Open(o) => {
                            c.opens_in += 1;
                            Incoming::Open(o)
                        }
                        Decoded::Keepalive => {
                            c.keepalives_in += 1;
                            Incoming::Keepalive
                        }
                        Decoded::Notification(n) => {
                            c.notifications_in += 1;
                            if let Some(suppressed) =
                                setup_log::admit(dynamic, self.session.is_some())
                            {
                                warn!(peer = %addr, asn, suppressed, "received NOTIFICATION: {}", n.describe());
                            }
                            st.last_notification = Some(format!("received {}", n.describe()));
                            Incoming::Notification(n)
                        }
                        Decoded::Update(u) => {
                            c.updates_in += 1;
                            update = Some(u);
                            Incoming::Update
                        }
                        Decoded::RouteRefresh(rr) => {
                            c.route_refresh_in += 1;
                            Incoming::RouteRefresh(rr)
                        }
                    }
                };
                if let Incoming::Open(o) = &ev {
                    let established = self.main.fsm.state() == State::Established;
                    if which == Which::Other && established && self.gr_negotiated() {
                        self.restarted().await;
                        which = Which::Main;
                    } else if (which == Which::Other && established)
                        || self.loses_collision(which, o.bgp_id)
                    {
                        let n = cease(cease_subcode::CONNECTION_COLLISION_RESOLUTION);
                        info!(peer = %addr, asn, "connection collision: closing this connection");
                        self.handle(which, Event::ManualStop(Some(n))).await;
                        return;
                    }
                }
                let rr = match &ev {
                    Incoming::RouteRefresh(rr) => Some(*rr),
                    _ => None,
                };
                self.handle(which, Event::Received(ev)).await;
                if which != Which::Main || self.main.fsm.state() != State::Established {
                    return;
                }
                if let Some(update) = update {
                    self.updates.push(update);
                    if self.updates.len() >= UPDATE_BURST {
                        self.send_updates().await;
                    }
                }
                if let Some(rr) = rr.filter(|rr| rr.subtype == RouteRefreshSubtype::Request) {
                    let known = self
                        .session
                        .as_ref()
                        .is_some_and(|s| s.families.contains(&rr.family));
                    if known {
                        let ev = PeerEvent::RouteRefresh {
                            peer: self.id,
                            family: rr.family,
                        };
                        self.send_event(ev).await;
                    }
                }
            }
            Input::DecodeError(n, text) => {
                if let Some(suppressed) = setup_log::admit(dynamic, self.session.is_some()) {
                    warn!(peer = %addr, asn, suppressed, "malformed message: {text}");
                }
                self.handle(which, Event::DecodeError(n)).await;
            }
            Input::SendHoldExpired => {
                warn!(peer = %addr, asn, "send hold timer expired: the peer reads nothing (RFC 9687)");
                if which == Which::Main {
                    lock(&self.status).last_error = Some("send hold timer expired".into());
                }
                self.handle(which, Event::SendHoldTimerExpired).await;
            }
            Input::Closed(reason) => {
                if which == Which::Main {
                    lock(&self.status).last_error = Some(reason.clone());
                }
                debug!(peer = %addr, asn, "{reason}");
                self.handle(which, Event::TcpClosed).await;
            }
        }
    }

    async fn apply(&mut self, which: Which, actions: Vec<Action>) {
        let (asn, addr) = (self.log_asn(), self.spec.addr);
        let dynamic = self.spec.dynamic;
        for action in actions {
            match action {
                Action::Connect => {
                    if which == Which::Main {
                        let remote = self.spec.remote();
                        self.dial = Some(Box::pin(dial(
                            remote,
                            self.spec.config.local_address,
                            self.ttl,
                            self.spec.config.password.clone(),
                        )));
                    }
                }
                Action::Send(msg) => {
                    let Some(conn) = self.side(which).and_then(|s| s.conn.as_ref()) else {
                        continue;
                    };
                    if let Err(e) = conn.send(&msg) {
                        warn!(peer = %addr, asn, "cannot encode message: {e}");
                        continue;
                    }
                    let mut st = lock(&self.status);
                    match msg {
                        Message::Open(_) => st.counters.opens_out += 1,
                        Message::Keepalive => st.counters.keepalives_out += 1,
                        Message::Update(_) => st.counters.updates_out += 1,
                        Message::Notification(_) => st.counters.notifications_out += 1,
                        Message::RouteRefresh(_) => st.counters.route_refresh_out += 1,
                    }
                }
                Action::Close(n) => {
                    if which == Which::Main {
                        self.dial = None;
                    }
                    let Some(conn) = self.side(which).and_then(|s| s.conn.take()) else {
                        continue;
                    };
                    if let Some(n) = n {
                        if let Some(suppressed) = setup_log::admit(dynamic, self.session.is_some())
                        {
                            warn!(peer = %addr, asn, suppressed, "sending NOTIFICATION: {}", n.describe());
                        }
                        if conn.send(&Message::Notification(n.clone())).is_ok() {
                            let mut st = lock(&self.status);
                            st.counters.notifications_out += 1;
                            st.last_notification = Some(format!("sent {}", n.describe()));
                        }
                    }
                    self.flushing.push(conn.close());
                }
                Action::Established(neg) => {
                    if which != Which::Main {
                        continue;
                    }
                    let Some(conn) = self.main.conn.as_mut() else {
                        continue;
                    };
                    conn.ctx = neg.context.clone();
                    conn.set_send_hold(Duration::from_secs(u64::from(neg.hold_time)));
                    if neg.hold_time == 0 {
                        // Without KEEPALIVEs, only TCP notices a dead peer.
                        if let Err(e) = conn.set_tcp_keepalive() {
                            warn!(peer = %addr, asn, "cannot enable TCP keepalive: {e}");
                        }
                    }
                    self.congested = false;
                    self.burst_ctx = std::sync::Arc::new(neg.context.clone());
                    let (remote, local) = (conn.remote, conn.local);
                    info!(
                        peer = %addr,
                        asn,
                        peer_id = %neg.peer_id,
                        hold = neg.hold_time,
                        families = %bgp_proto::Family::join(&neg.families),
                        graceful_restart = neg.peer_gr.is_some(),
                        "session established"
                    );
                    {
                        let mut st = lock(&self.status);
                        st.counters.established += 1;
                        st.established_at = Some(Instant::now());
                        st.negotiated = Some((*neg).clone());
                        st.remote_as = neg.peer_asn;
                        st.last_error = None;
                    }
                    self.session = Some((*neg).clone());
                    let info = SessionInfo {
                        addr,
                        remote,
                        local,
                        remote_as: neg.peer_asn,
                        local_as: self.spec.local.asn,
                        ebgp: self.spec.is_ebgp(),
                        negotiated: *neg,
                        description: self.spec.config.description.clone(),
                        dynamic: self.spec.dynamic,
                        config: self.spec.config.clone(),
                    };
                    self.send_event(PeerEvent::Established {
                        peer: self.id,
                        info: Box::new(info),
                    })
                    .await;
                }
                Action::Down {
                    reason,
                    established,
                } => {
                    if which != Which::Main {
                        debug!(peer = %addr, asn, "second connection closed: {reason}");
                        continue;
                    }
                    self.congested = false;
                    {
                        let mut st = lock(&self.status);
                        st.last_error = Some(reason.to_string());
                        st.established_at = None;
                        st.negotiated = None;
                    }
                    let session = self.session.take();
                    if !established {
                        if let Some(suppressed) = setup_log::admit(dynamic, false) {
                            info!(peer = %addr, asn, suppressed, "session failed: {reason}");
                        }
                        continue;
                    }
                    let stopped = matches!(reason, bgp_proto::fsm::DownReason::Stopped(_));
                    let graceful = !stopped
                        && session
                            .as_ref()
                            .is_some_and(|s| s.is_graceful(reason.notification()));
                    warn!(peer = %addr, asn, graceful, "session down: {reason}");
                    let ev = PeerEvent::Down {
                        peer: self.id,
                        reason: reason.to_string(),
                        notification: reason.notification().cloned(),
                        graceful,
                    };
                    self.send_event(ev).await;
                }
                Action::StateChange { from, to } => {
                    if let Some(side) = self.side(which) {
                        if matches!(to, State::OpenConfirm | State::Established) {
                            let ctx = side.fsm.context();
                            if let Some(c) = side.conn.as_mut() {
                                c.ctx = ctx;
                            }
                        }
                    }
                    if which != Which::Main {
                        debug!(peer = %addr, asn, %from, %to, "second connection state change");
                        continue;
                    }
                    if !dynamic || from == State::Established || to == State::Established {
                        info!(peer = %addr, asn, %from, %to, "state change");
                    } else {
                        debug!(peer = %addr, asn, %from, %to, "state change");
                    }
                    lock(&self.status).state = to;
                    self.send_event(PeerEvent::State {
                        peer: self.id,
                        addr,
                        state: to,
                    })
                    .await;
                }
            }
        }
    }
}

/// Upper bound on how long an ending task waits for its writers.
const FLUSH_WAIT: Duration = Duration::from_secs(2);
