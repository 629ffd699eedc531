//! # The core
//!
//! DOC: the routing core of rbgpd as a sans-IO state machine, in the shape
//! of the session FSM (and of quinn-proto's `Connection`). It owns the RIB
//! and everything the daemon decides: which neighbor gets which UPDATEs,
//! what the kernel should hold, graceful-restart stale timers, max-prefix,
//! route refresh, reloads and the answers to rbgpctl. It reads no clock and
//! does no I/O: time and events come in through [`Core::handle`], and what
//! to do comes out of [`Core::poll_output`]; [`Core::poll_timeout`] says
//! when to call back with [`Input::Tick`]. `bgpd::daemon` is the driver that
//! feeds it from the neighbor tasks, the control socket, the FIB task and
//! signals, and carries out its outputs.
//!
//! Calling order: any number of `handle` calls (a batch of events), each
//! optionally followed by `poll_pending` until it returns `None` (what that
//! input decided), then `poll_output` until it returns `None` (the first
//! call after a batch flushes the RIB's changes: FIB changes, then
//! per-neighbor exports), then `poll_timeout`.
//!
//! Invariants:
//! - only the core touches the RIB;
//! - the RIB peer id of a neighbor is derived from its address, so a
//!   dynamic neighbor that comes back finds its stale paths (GR) under the
//!   same id; it is released (and used again) only when no neighbor of that
//!   address is left ([`PeerEvent::Removed`](crate::peer::PeerEvent) and
//!   no stale paths), so RIB slots stay as few as the neighbors at once;
//! - outputs depend only on the inputs and their times: sessions and timers
//!   are kept in ordered maps, so a replay gives the same outputs.

mod answer;
mod bfd;
mod clusters;
mod encoded_view;
pub mod explain;
mod export;
mod flow;
mod groups;
mod io;
pub(crate) mod log_gate;
mod originate;
pub mod record;
mod reload;
mod session;
mod timers;

#[cfg(test)]
mod tests;

pub use io::{CallId, CtlContext, FibCommand, FibQuery, FibReport, FibView, Input, Output};

use crate::config::Config;
use crate::ctl::proto::{EventKind, Request};
use crate::peer::{PeerId, SessionInfo};
use bgp_proto::fsm::State;
use bgp_proto::Family;
use rib::{PeerCounts, Rib, RibConfig, RibError, RibStats};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// How often the FIB is asked whether its start-up phase can end.
const FIB_STARTUP_POLL: Duration = Duration::from_secs(2);
/// How long the FIB's start-up phase lasts after the last neighbor that came
/// back sent End-of-RIB for all its families, with no other neighbor
/// between OPEN and End-of-RIB: then the routes a previous run left via
/// neighbors not back are removed. Long enough for neighbors restarted
/// together to reconnect (a connect retry is typically 5 s), short next to
/// the FIB's `startup_grace` (120 s), the last resort when none comes back.
const FIB_STARTUP_SETTLE: Duration = Duration::from_secs(5);

/// One established session, as the core knows it.
#[derive(Debug)]
struct Session {
    info: SessionInfo,
    rib_id: u32,
    /// Families for which the peer sent End-of-RIB in this session.
    eor_received: HashSet<Family>,
    /// When End-of-RIB had come for every negotiated family.
    eor_complete_at: Option<Instant>,
    /// Bounds the warnings about what the peer sends.
    log_gate: log_gate::LogGate,
    /// Per family, when a ROUTE-REFRESH may be answered again.
    refresh_next: [Option<Instant>; 2],
    /// The neighbor's write queue is full: no exports until it drains.
    congested: bool,
    /// Its changes are no longer logged (the backlog outgrew the table):
    /// it catches up by comparison with its Adj-RIB-Out when it drains.
    suspended: bool,
    /// Per family, a ROUTE-REFRESH held while congested (one answer
    /// however many came).
    refresh_held: [bool; 2],
    /// Joined its export group before the group had drained every change:
    /// End-of-RIB goes at the end of the round of this number (the next
    /// to start), which brings the rest.
    eor_after_round: Option<u64>,
}

/// The neighbors an export round has yet to serve.
#[derive(Debug)]
struct ExportRound {
    /// Neighbor ids, the next one last.
    pending: Vec<PeerId>,
    /// Share encoded UPDATEs between sessions (more than two of them).
    share: bool,
    /// Export groups drained in this round (at their first member).
    groups_done: HashSet<u32>,
    /// Rounds started before this one, and this one.
    number: u64,
    /// Messages of group members not yet served, sent as each member's
    /// turn comes (or before anything else sent to it).
    stash: BTreeMap<PeerId, Vec<bytes::Bytes>>,
}

/// What the core tracks of every neighbor it has heard of.
#[derive(Debug, Clone)]
struct PeerTrack {
    addr: IpAddr,
    state: State,
    since: Instant,
}

/// How much per-neighbor state the core holds: bounded by the neighbors
/// known at once (running, or remembered by the manager), not by how many
/// addresses ever connected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerStateSizes {
    /// Neighbor addresses with a RIB id.
    pub rib_ids: usize,
    /// Peers registered with the RIB.
    pub rib_peers: usize,
    /// The RIB's peer slots (its per-peer table state).
    pub rib_slots: usize,
    /// Neighbors whose state the core tracks.
    pub tracks: usize,
}

/// The routing core: RIB, sessions and timers; events in, actions out.
pub struct Core {
    config: Config,
    /// A FIB writer runs (fixed at start: `[fib]` changes need a restart).
    fib: bool,
    /// Why the FIB is off though the config enables it (the daemon lacks
    /// CAP_NET_ADMIN), for `show fib` and `show summary`.
    fib_off: Option<String>,
    /// The kernel table of that FIB writer, as it started (`[fib] table`).
    fib_table: u32,
    rib: Rib,
    sessions: BTreeMap<PeerId, Session>,
    /// Neighbors with a BFD session, and whether it is up.
    bfd: BTreeMap<PeerId, bfd::BfdWatch>,
    tracks: BTreeMap<PeerId, PeerTrack>,
    /// RIB ids by neighbor address (stable across reconnects, released
    /// when no neighbor of that address is left).
    rib_ids: HashMap<IpAddr, u32>,
    /// RIB ids released, to use again (so ids, and the RIB's peer slots,
    /// stay as few as the neighbors at once).
    free_rib_ids: Vec<u32>,
    /// The next RIB id never used.
    next_rib_id: u32,
    /// RIB ids registered with the RIB (up, or down with stale paths).
    rib_known: HashSet<u32>,
    /// GR helper deadlines: stale paths of these RIB ids are swept then.
    stale_deadlines: BTreeMap<u32, Instant>,
    /// Inputs handled since the start (`show summary`, `top`'s event rate).
    inputs: u64,
    /// Neighbors stopped by max-prefix, with when to enable them again.
    max_prefix_restarts: BTreeMap<PeerId, Option<Instant>>,
    /// Neighbors shut down by rbgpctl.
    admin_down: BTreeSet<PeerId>,
    /// ROUTE-REFRESHes held back (neighbor, family index), with when to
    /// answer them.
    refresh_due: BTreeMap<(PeerId, usize), Instant>,
    started: Instant,
    now: Instant,
    watching: bool,
    /// When to ask the FIB again whether its start-up phase can end; `None`
    /// once it has ended (or without a FIB).
    fib_startup_check: Option<Instant>,
    /// Hand-overs to the FIB task that failed.
    fib_failures: u64,
    /// Inputs changed the RIB since the last flush.
    dirty: bool,
    /// The export round being polled out, one neighbor per output.
    round: Option<ExportRound>,
    out: VecDeque<Output>,
    /// UPDATEs encoded in this round (since the last flush), shared by the
    /// sessions that get equal batches: initial tables of sessions coming
    /// up together, and the round's exports.
    encoded: export::RoundEncoder,
    /// Per export group, its view as encoded for the sessions that join it.
    views: HashMap<u32, encoded_view::EncodedView>,
    /// Sessions with End-of-RIB to send after a round (`eor_after_round`).
    eor_waiting: BTreeSet<PeerId>,
    /// Export rounds started.
    rounds: u64,
    /// The router's connected networks, as last reported (redistributed
    /// when the config says so).
    connected: BTreeSet<bgp_proto::Prefix>,
    /// What each source originates now (accepted by its policy).
    originated: BTreeMap<rib::LocalSource, BTreeSet<bgp_proto::Prefix>>,
}

impl std::fmt::Debug for Core {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Core")
            .field("sessions", &self.sessions.len())
            .field("pending_outputs", &self.out.len())
            .finish()
    }
}

/// The RIB's settings from a config.
pub fn rib_config(cfg: &Config) -> RibConfig {
    RibConfig {
        local_as: cfg.router.asn,
        router_id: cfg.router.router_id,
        max_paths: cfg.router.max_paths.min(cfg.fib.max_paths).max(1),
        multipath_relax: cfg.router.multipath_relax,
        always_compare_med: cfg.router.always_compare_med,
        cluster_id: cfg.router.cluster_id,
        policies: cfg.policies.clone(),
        prefix_lists: cfg.prefix_lists.clone(),
    }
}

/// What the driver must read before it hands `request` to the core.
pub fn ctl_needs(request: &Request) -> FibQuery {
    match request {
        Request::ShowFib => FibQuery::Status,
        Request::ShowSummary => FibQuery::Summary,
        Request::Explain { target } => FibQuery::Routes(explain::fib_prefixes(target)),
        _ => FibQuery::None,
    }
}

impl Core {
    /// What `request` needs from the FIB task: [`ctl_needs`], and for
    /// `show clusters` the state of the service addresses.
    pub fn fib_query(&self, request: &Request) -> FibQuery {
        match request {
            Request::ShowClusters if self.fib => FibQuery::Routes(self.cluster_service_prefixes()),
            other => ctl_needs(other),
        }
    }

    /// A core for `config`, started at `now`. Fails when the RIB refuses
    /// the policies.
    pub fn new(config: Config, now: Instant) -> Result<Core, RibError> {
        let mut rib = Rib::new(rib_config(&config))?;
        let fib = config.fib.enabled;
        rib.set_fib_output(fib);
        let mut core = Core {
            fib_table: config.fib.table,
            config,
            fib,
            fib_off: None,
            rib,
            sessions: BTreeMap::new(),
            bfd: BTreeMap::new(),
            tracks: BTreeMap::new(),
            rib_ids: HashMap::new(),
            free_rib_ids: Vec::new(),
            next_rib_id: 0,
            rib_known: HashSet::new(),
            stale_deadlines: BTreeMap::new(),
            inputs: 0,
            max_prefix_restarts: BTreeMap::new(),
            admin_down: BTreeSet::new(),
            refresh_due: BTreeMap::new(),
            started: now,
            now,
            watching: false,
            fib_startup_check: fib.then_some(now + FIB_STARTUP_POLL),
            fib_failures: 0,
            dirty: false,
            round: None,
            out: VecDeque::new(),
            encoded: export::RoundEncoder::default(),
            views: HashMap::new(),
            eor_waiting: BTreeSet::new(),
            rounds: 0,
            connected: BTreeSet::new(),
            originated: BTreeMap::new(),
        };
        core.originate_all();
        Ok(core)
    }

    // ===== inputs =====

    /// Applies one input at time `now` (never earlier than the last one's).
    pub fn handle(&mut self, now: Instant, input: Input) {
        self.inputs += 1;
        self.now = now.max(self.now);
        let secs = self.now.saturating_duration_since(self.started).as_secs();
        self.rib.set_clock(u32::try_from(secs).unwrap_or(u32::MAX));
        match input {
            Input::Peer(ev) => {
                self.on_peer_event(ev);
                self.dirty = true;
            }
            Input::Ctl {
                call,
                request,
                context,
            } => {
                let response = self.answer(request, &context);
                self.out.push_back(Output::Answer { call, response });
                self.dirty = true;
            }
            Input::Reload { call, config } => {
                let result = self.reload(config);
                if let Some(call) = call {
                    self.out.push_back(Output::Answer {
                        call,
                        response: crate::ctl::proto::Response::Reload { result },
                    });
                }
                self.dirty = true;
            }
            Input::Fib(report) => self.on_fib_report(report),
            Input::Connected(networks) => self.on_connected(networks),
            Input::Bfd(report) => {
                self.on_bfd(report);
                self.dirty = true;
            }
            Input::Watching(on) => {
                self.watching = on;
                self.rib.set_fib_output(self.fib || on);
            }
            Input::Tick => {
                self.on_timeout();
                self.dirty = true;
            }
        }
    }

    // ===== outputs =====

    /// The next thing to do, in order; `None` when there is nothing left.
    /// The first call after a batch of inputs flushes the RIB's changes:
    /// the FIB's first, then one neighbor's exports per call, so that the
    /// encoded UPDATEs of a thousand sessions are never held at once.
    pub fn poll_output(&mut self) -> Option<Output> {
        loop {
            if let Some(o) = self.out.pop_front() {
                return Some(o);
            }
            if let Some(mut round) = self.round.take() {
                match round.pending.pop() {
                    Some(peer) => {
                        let group = self
                            .sessions
                            .get(&peer)
                            .and_then(|s| self.rib.export_group(s.rib_id));
                        if let Some(g) = group {
                            if round.groups_done.insert(g) {
                                self.export_group(g, &mut round);
                            }
                        }
                        // What its group's drain gave it, before anything
                        // newer (its own drain, if it left the group since).
                        if let Some(msgs) = round.stash.remove(&peer) {
                            self.send(peer, crate::peer::PeerCommand::Send(msgs));
                        }
                        if group.is_none() {
                            self.export_to(peer, round.share);
                        }
                        self.round = Some(round);
                    }
                    None => {
                        for (peer, msgs) in std::mem::take(&mut round.stash) {
                            self.send(peer, crate::peer::PeerCommand::Send(msgs));
                        }
                        self.end_of_rib_after_round(round.number);
                        self.rib.end_export_round();
                        self.regroup();
                        self.encoded = export::RoundEncoder::default();
                    }
                }
                continue;
            }
            if !self.dirty {
                return None;
            }
            self.dirty = false;
            self.start_flush();
        }
    }

    /// The next output already decided, without flushing the RIB's
    /// changes: the driver calls it between the inputs of a batch, so that
    /// what they decided (a new session's table, a command) is carried out
    /// at once and not held until the batch ends.
    pub fn poll_pending(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// When the core wants an [`Input::Tick`] at the latest.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let stale = self.stale_deadlines.values().copied().min();
        let restart = self.max_prefix_restarts.values().flatten().copied().min();
        let refresh = self.refresh_due.values().copied().min();
        [stale, restart, refresh, self.fib_startup_check]
            .into_iter()
            .flatten()
            .min()
    }

    // ===== getters =====

    /// The running config.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Notes that the FIB is off for `reason` though the config enables it
    /// (the daemon runs it with `[fib] enabled = false`).
    pub fn set_fib_off(&mut self, reason: String) {
        self.fib_off = Some(reason);
    }

    /// Why the FIB is off though the config enables it.
    pub fn fib_off(&self) -> Option<&str> {
        self.fib_off.as_deref()
    }

    /// RIB totals (metrics).
    pub fn rib_stats(&self) -> RibStats {
        self.rib.stats()
    }

    /// A neighbor's route counters per family, if it ever had a session.
    pub fn peer_counts(&self, addr: IpAddr) -> Vec<(Family, PeerCounts)> {
        self.rib_ids
            .get(&addr)
            .filter(|id| self.rib_known.contains(id))
            .and_then(|id| self.rib.peer_counts(*id).ok())
            .unwrap_or_default()
    }

    /// Established sessions.
    pub fn established(&self) -> usize {
        self.sessions.len()
    }

    /// Hand-overs to the FIB task that failed so far.
    pub fn fib_failures(&self) -> u64 {
        self.fib_failures
    }

    // ===== helpers =====

    fn send(&mut self, peer: PeerId, command: crate::peer::PeerCommand) {
        // A group member's messages of this round go before anything newer.
        if let Some(msgs) = self.round.as_mut().and_then(|r| r.stash.remove(&peer)) {
            self.out.push_back(Output::Peer {
                peer,
                command: crate::peer::PeerCommand::Send(msgs),
            });
        }
        self.out.push_back(Output::Peer { peer, command });
    }

    fn emit(&mut self, kind: EventKind) {
        if self.watching {
            self.out.push_back(Output::Event(kind));
        }
    }

    fn rib_id(&mut self, addr: IpAddr) -> u32 {
        if let Some(&id) = self.rib_ids.get(&addr) {
            return id;
        }
        let id = self.free_rib_ids.pop().unwrap_or_else(|| {
            self.next_rib_id += 1;
            self.next_rib_id - 1
        });
        self.rib_ids.insert(addr, id);
        id
    }

    /// Whether a neighbor of `addr` is still known (another id: a
    /// reconfigured neighbor, or a dynamic one back after being forgotten).
    fn addr_in_use(&self, addr: IpAddr) -> bool {
        self.sessions.values().any(|s| s.info.addr == addr)
            || self.tracks.values().any(|t| t.addr == addr)
    }

    /// Releases the RIB peer of `addr`: its slot and id are used again.
    /// Not while graceful restart keeps its stale routes: the stale timer
    /// releases it (the neighbor may still come back for them).
    fn release_rib_id(&mut self, addr: IpAddr) {
        let Some(&id) = self.rib_ids.get(&addr) else {
            return;
        };
        if self.stale_deadlines.contains_key(&id) {
            return;
        }
        self.rib_ids.remove(&addr);
        if self.rib_known.remove(&id) {
            if let Err(e) = self.rib.remove_peer(id) {
                tracing::warn!(peer = %addr, error = %e, "removing the RIB peer");
            }
        }
        self.free_rib_ids.push(id);
    }

    /// How much per-neighbor state the core holds (tests and
    /// diagnostics).
    pub fn peer_state_sizes(&self) -> PeerStateSizes {
        PeerStateSizes {
            rib_ids: self.rib_ids.len(),
            rib_peers: self.rib.peer_count(),
            rib_slots: self.rib.peer_slots(),
            tracks: self.tracks.len(),
        }
    }

    /// Starts the flush of what the last batch of inputs changed: FIB
    /// changes for the FIB task now, export batches for every established
    /// neighbor as the outputs are polled.
    fn start_flush(&mut self) {
        self.rounds += 1;
        let changes = self.rib.drain_fib_changes();
        if !changes.is_empty() {
            if self.watching {
                for c in &changes {
                    self.out.push_back(Output::Event(EventKind::Best {
                        prefix: c.prefix.to_string(),
                        next_hops: c.next_hops.iter().map(ToString::to_string).collect(),
                    }));
                }
            }
            if self.fib {
                self.out.push_back(Output::Fib(FibCommand::Update(changes)));
            }
        }
        self.hold_backlogs();
        self.split_congested();
        let mut pending: Vec<PeerId> = self
            .sessions
            .iter()
            .filter(|(_, s)| !s.congested && self.rib.exports_pending(s.rib_id))
            .map(|(&peer, _)| peer)
            .collect();
        // Popped from the end: in order of neighbor id.
        pending.reverse();
        // With two sessions, each gets the other's routes: nothing to share.
        let share = pending.len() > 2;
        self.round = Some(ExportRound {
            pending,
            share,
            groups_done: HashSet::new(),
            stash: BTreeMap::new(),
            number: self.rounds,
        });
    }

    /// Logs (at most once per period and session) that `n` routes were
    /// withdrawn from `peer` because their attributes fit no message.
    fn too_big(&mut self, peer: PeerId, n: usize) {
        let now = self.now;
        if let Some(s) = self.sessions.get_mut(&peer) {
            if let Some(suppressed) = s.log_gate.admit(now) {
                tracing::warn!(
                    peer = %s.info.addr,
                    batches = n,
                    suppressed,
                    "routes withdrawn instead of announced: their attributes exceed the \
                     session's message size (no Extended Message, RFC 8654)"
                );
            }
        }
    }

    /// Queues the exports of one neighbor in the current round.
    fn export_to(&mut self, peer: PeerId, share: bool) {
        let Some(s) = self.sessions.get(&peer) else {
            return;
        };
        match self.rib.drain_exports(s.rib_id) {
            Ok(batches) if !batches.is_empty() => {
                let ctx = &s.info.negotiated.context;
                let mut too_big = 0;
                let msgs = if share {
                    self.encoded.encode(ctx, batches, &mut too_big)
                } else {
                    export::encode_batches(ctx, &batches, &mut too_big)
                };
                self.send(peer, crate::peer::PeerCommand::Send(msgs));
                if too_big > 0 {
                    self.too_big(peer, too_big);
                }
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(peer = %s.info.addr, error = %e, "export failed"),
        }
    }
}
