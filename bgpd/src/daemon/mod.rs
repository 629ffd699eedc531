//! # The core task
//!
//! DOC: one task owns the RIB. Neighbor tasks send it [`PeerEvent`]s; it
//! turns each UPDATE into RIB calls, and after every batch of events it
//! drains the RIB's outputs: FIB changes go to the FIB task, per-peer
//! export batches are packed into UPDATE messages (by `bgp_proto`'s packer)
//! and handed to the neighbor tasks. It also answers rbgpctl, reloads the
//! config on SIGHUP, runs the graceful-restart stale timers, tells the FIB
//! when the startup phase is over, and shuts down cleanly on SIGTERM.
//!
//! Invariants: only this task touches the RIB; the RIB peer id of a
//! neighbor is derived from its address, so a dynamic neighbor that comes
//! back after a restart finds its stale paths (GR) under the same id.

mod answer;
mod export;

use crate::config::{self, Config, MaxPrefixAction};
use crate::ctl::proto::{Event, EventKind, PeerState as CtlPeerState, ReloadResult};
use crate::ctl::server::CtlCall;
use crate::fib::{self, FibHandle, FibSummary};
use crate::metrics::Metrics;
use crate::peer::{PeerCommand, PeerEvent, PeerId, PeerManager, SessionInfo};
use bgp_proto::fsm::State;
use bgp_proto::msg::notification::{cease_subcode, code};
use bgp_proto::{Family, Notification};
use rib::{PeerInfo, Rib, RibConfig};
use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, mpsc};
use tracing::{debug, error, info, warn};

/// Most peer events handled before the outputs are flushed: large enough
/// that a burst of UPDATEs is applied as one batch, small enough that
/// exports and the FIB follow promptly.
const EVENT_BATCH: usize = 4096;

/// Errors that stop the daemon from starting.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The RIB refused the configuration (policy errors).
    #[error("RIB: {0}")]
    Rib(#[from] rib::RibError),
    /// The FIB could not be opened.
    #[error("FIB: {0}")]
    Fib(#[from] fib::FibError),
    /// The control socket could not be set up.
    #[error("control socket: {0}")]
    Ctl(#[from] crate::ctl::server::CtlError),
    /// The metrics endpoint could not be bound.
    #[error("metrics endpoint: {0}")]
    Metrics(std::io::Error),
}

/// One established session, as the core knows it.
#[derive(Debug)]
struct Session {
    info: SessionInfo,
    rib_id: u32,
    /// Families for which the peer sent End-of-RIB in this session.
    eor_received: HashSet<Family>,
}

/// What the core tracks of every neighbor it has heard of.
#[derive(Debug, Clone)]
struct PeerTrack {
    addr: IpAddr,
    state: State,
    since: Instant,
}

/// The core task's state.
pub struct Daemon {
    config: Config,
    config_path: PathBuf,
    rib: Rib,
    peers: PeerManager,
    fib: Option<FibHandle>,
    metrics: Option<Metrics>,
    sessions: HashMap<PeerId, Session>,
    tracks: HashMap<PeerId, PeerTrack>,
    /// RIB ids by neighbor address (stable across reconnects).
    rib_ids: HashMap<IpAddr, u32>,
    /// RIB ids registered with the RIB (up, or down with stale paths).
    rib_known: HashSet<u32>,
    /// GR helper deadlines: stale paths of these RIB ids are swept then.
    stale_deadlines: HashMap<u32, Instant>,
    /// Neighbors stopped by max-prefix, with when to enable them again.
    max_prefix_restarts: HashMap<PeerId, Option<Instant>>,
    /// Message counters last published to the metrics, per neighbor.
    metric_counts: HashMap<IpAddr, crate::peer::Counters>,
    /// Neighbors shut down by rbgpctl.
    admin_down: HashSet<PeerId>,
    events: broadcast::Sender<Event>,
    started: Instant,
    fib_startup_done: bool,
    /// UPDATEs encoded in this round (since the last flush), shared by the
    /// sessions that get equal batches: initial tables of sessions coming
    /// up together, and the round's exports.
    encoded: export::RoundEncoder,
}

impl std::fmt::Debug for Daemon {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Daemon")
            .field("sessions", &self.sessions.len())
            .finish()
    }
}

fn rib_config(cfg: &Config) -> RibConfig {
    RibConfig {
        local_as: cfg.router.asn,
        router_id: cfg.router.router_id,
        max_paths: cfg.router.max_paths.min(cfg.fib.max_paths).max(1),
        multipath_relax: cfg.router.multipath_relax,
        always_compare_med: cfg.router.always_compare_med,
        policies: cfg.policies.clone(),
        prefix_lists: cfg.prefix_lists.clone(),
    }
}

fn ctl_state(s: State) -> CtlPeerState {
    match s {
        State::Idle => CtlPeerState::Idle,
        State::Connect => CtlPeerState::Connect,
        State::Active => CtlPeerState::Active,
        State::OpenSent => CtlPeerState::OpenSent,
        State::OpenConfirm => CtlPeerState::OpenConfirm,
        State::Established => CtlPeerState::Established,
    }
}

/// Runs rbgpd on `config` until SIGTERM or SIGINT.
pub async fn run(config: Config, config_path: PathBuf) -> Result<(), DaemonError> {
    let rib = Rib::new(rib_config(&config))?;

    let fib = if config.fib.enabled {
        Some(fib::spawn_netlink(&config.fib)?.0)
    } else {
        None
    };

    let (ctl_tx, mut ctl_rx) = mpsc::channel::<CtlCall>(64);
    let (events, _) = broadcast::channel(4096);
    let ctl_listener = crate::ctl::server::bind(&config.control.socket)?;
    let ctl_events = events.subscribe();
    tokio::spawn(async move {
        if let Err(e) = crate::ctl::server::serve_listener(ctl_listener, ctl_tx, ctl_events).await {
            error!(error = %e, "control socket stopped");
        }
    });
    info!(socket = %config.control.socket.display(), "control socket ready");

    let metrics = match &config.metrics {
        Some(m) => {
            let listener = crate::metrics::bind_metrics(m.listen)
                .await
                .map_err(DaemonError::Metrics)?;
            let metrics = Metrics::new();
            let served = metrics.clone();
            tokio::spawn(async move {
                if let Err(e) = crate::metrics::serve_metrics_on(listener, served).await {
                    error!(error = %e, "metrics endpoint stopped");
                }
            });
            info!(listen = %m.listen, "metrics endpoint ready");
            Some(metrics)
        }
        None => None,
    };

    let (peer_tx, mut peer_rx) = mpsc::channel::<PeerEvent>(crate::peer::EVENT_QUEUE);
    let peers = PeerManager::spawn(&config, peer_tx);
    info!(
        asn = config.router.asn,
        router_id = %config.router.router_id,
        neighbors = config.neighbors.len(),
        "rbgpd started"
    );

    let mut d = Daemon {
        config,
        config_path,
        rib,
        peers,
        fib,
        metrics,
        sessions: HashMap::new(),
        tracks: HashMap::new(),
        rib_ids: HashMap::new(),
        rib_known: HashSet::new(),
        stale_deadlines: HashMap::new(),
        max_prefix_restarts: HashMap::new(),
        admin_down: HashSet::new(),
        metric_counts: HashMap::new(),
        events,
        started: Instant::now(),
        fib_startup_done: false,
        encoded: export::RoundEncoder::default(),
    };

    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut sighup = signal(tokio::signal::unix::SignalKind::hangup());
    let mut sigterm = signal(tokio::signal::unix::SignalKind::terminate());
    let mut sigint = signal(tokio::signal::unix::SignalKind::interrupt());

    loop {
        // FIB changes cost an allocation per prefix: record them only for
        // a FIB writer or a watcher.
        let wanted = d.fib.is_some() || d.watching();
        d.rib.set_fib_output(wanted);
        tokio::select! {
            ev = peer_rx.recv() => {
                let Some(ev) = ev else { break };
                // Apply a burst as one batch before flushing outputs; an
                // event of several UPDATEs counts each.
                let mut n = d.handle_peer_event(ev);
                while n < EVENT_BATCH {
                    match peer_rx.try_recv() {
                        Ok(ev) => n += d.handle_peer_event(ev),
                        Err(_) => break,
                    }
                }
                d.flush().await;
            }
            call = ctl_rx.recv() => {
                if let Some((req, reply)) = call {
                    let resp = d.answer(req).await;
                    let _ = reply.send(resp);
                    d.flush().await;
                }
            }
            _ = tick.tick() => {
                d.on_tick().await;
                d.flush().await;
            }
            _ = recv_signal(&mut sighup) => {
                info!("SIGHUP: reloading {}", d.config_path.display());
                let result = d.reload();
                if !result.applied {
                    error!(errors = ?result.errors, "reload refused; the running config stays");
                }
                d.flush().await;
            }
            _ = recv_signal(&mut sigterm) => { info!("SIGTERM: shutting down"); break; }
            _ = recv_signal(&mut sigint) => { info!("SIGINT: shutting down"); break; }
        }
    }
    d.shutdown().await;
    Ok(())
}

fn signal(kind: tokio::signal::unix::SignalKind) -> Option<tokio::signal::unix::Signal> {
    match tokio::signal::unix::signal(kind) {
        Ok(s) => Some(s),
        Err(e) => {
            warn!(error = %e, "cannot install a signal handler");
            None
        }
    }
}

async fn recv_signal(s: &mut Option<tokio::signal::unix::Signal>) {
    match s {
        Some(s) => {
            s.recv().await;
        }
        None => std::future::pending().await,
    }
}

impl Daemon {
    fn rib_id(&mut self, addr: IpAddr) -> u32 {
        let next = u32::try_from(self.rib_ids.len()).unwrap_or(u32::MAX);
        *self.rib_ids.entry(addr).or_insert(next)
    }

    /// Whether an rbgpctl `watch` is listening. The control server keeps
    /// one receiver of its own (to resubscribe each client from), so only
    /// more than one means a watcher: events are formatted only then.
    fn watching(&self) -> bool {
        self.events.receiver_count() > 1
    }

    fn emit(&self, kind: EventKind) {
        if self.watching() {
            let _ = self.events.send(Event {
                unix_ms: crate::ctl::server::now_ms(),
                kind,
            });
        }
    }

    /// Applies one event; returns how many messages it carried (its share
    /// of an [`EVENT_BATCH`]).
    fn handle_peer_event(&mut self, ev: PeerEvent) -> usize {
        let mut weight = 1;
        match ev {
            PeerEvent::State { peer, state } => self.on_state(peer, state),
            PeerEvent::Established { peer, info } => self.on_established(peer, *info),
            PeerEvent::Update { peer, updates } => {
                weight = updates.len().max(1);
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
            PeerEvent::Removed { peer } => {
                self.tracks.remove(&peer);
                self.max_prefix_restarts.remove(&peer);
            }
        }
        weight
    }

    fn on_state(&mut self, peer: PeerId, state: State) {
        // Known neighbors first: a state change must not copy the status
        // of every neighbor (1,000 dynamic neighbors connecting at once).
        let known = self.tracks.get(&peer).map(|t| t.addr);
        let Some(addr) = known.or_else(|| self.peers.addr_of(peer)) else {
            return;
        };
        let from = self
            .tracks
            .get(&peer)
            .map(|t| t.state)
            .unwrap_or(State::Idle);
        self.tracks.insert(
            peer,
            PeerTrack {
                addr,
                state,
                since: Instant::now(),
            },
        );
        if let Some(m) = &self.metrics {
            m.set_peer_state(addr, ctl_state(state));
        }
        self.emit(EventKind::PeerState {
            peer: addr,
            from: ctl_state(from),
            to: ctl_state(state),
            reason: None,
        });
    }

    fn on_established(&mut self, peer: PeerId, info: SessionInfo) {
        let rib_id = self.rib_id(info.addr);
        let local = info.local.ip();
        let (local_v4, local_v6) = match local {
            IpAddr::V4(a) => (Some(a), None),
            IpAddr::V6(a) => match a.to_ipv4_mapped() {
                Some(v4) => (Some(v4), None),
                None => (None, Some(a)),
            },
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
            families: info.negotiated.families.clone(),
        };
        if let Err(e) = self.rib.add_peer(pi) {
            error!(peer = %info.addr, error = %e, "RIB refused the peer; resetting the session");
            self.peers.send(peer, PeerCommand::Reset);
            return;
        }
        self.rib_known.insert(rib_id);
        info!(
            peer = %info.addr, remote_as = info.remote_as,
            families = ?info.negotiated.families.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "session established"
        );
        self.tracks.insert(
            peer,
            PeerTrack {
                addr: info.addr,
                state: State::Established,
                since: Instant::now(),
            },
        );
        // The initial table, then End-of-RIB for every negotiated family,
        // always: GoBGP with GR withholds its routes until it has them all.
        let batches = match self.rib.full_export(rib_id) {
            Ok(b) => b,
            Err(e) => {
                error!(peer = %info.addr, error = %e, "initial export failed");
                Vec::new()
            }
        };
        let mut msgs = self
            .encoded
            .encode(&info.negotiated.context, batches, info.addr);
        msgs.extend(export::end_of_ribs(
            &info.negotiated.context,
            &info.negotiated.families,
        ));
        self.peers.send(peer, PeerCommand::Send(msgs));
        self.sessions.insert(
            peer,
            Session {
                info,
                rib_id,
                eor_received: HashSet::new(),
            },
        );
    }

    fn on_update(&mut self, peer: PeerId, update: &bgp_proto::wire::update::Update) {
        let Some(s) = self.sessions.get_mut(&peer) else {
            debug!(
                peer,
                "UPDATE from a neighbor that is not established; ignored"
            );
            return;
        };
        let rib_id = s.rib_id;
        let addr = s.info.addr;
        if let Some(family) = update.end_of_rib() {
            s.eor_received.insert(family);
            debug!(peer = %addr, %family, "End-of-RIB received");
            if let Err(e) = self.rib.end_of_rib(rib_id, family) {
                warn!(peer = %addr, error = %e, "End-of-RIB");
            }
            return;
        }
        for issue in update.issues() {
            warn!(peer = %addr, issue = ?issue, "malformed attribute (RFC 7606)");
        }
        let result = if update.is_treat_as_withdraw() {
            self.treat_as_withdraw(rib_id, update)
        } else {
            self.apply_update(rib_id, update)
        };
        if let Err(e) = result {
            warn!(peer = %addr, error = %e, "UPDATE not applied");
        }
        if self.watching() {
            self.emit_route_events(addr, update);
        }
        self.check_max_prefix(peer);
    }

    fn apply_update(
        &mut self,
        rib_id: u32,
        update: &bgp_proto::wire::update::Update,
    ) -> Result<(), rib::RibError> {
        self.rib.withdraw(rib_id, update.withdrawn())?;
        if let Some(u) = update.mp_unreach() {
            if u.is_supported() {
                self.rib.withdraw(rib_id, u.withdrawn())?;
            }
        }
        let has_nlri = update.nlri().next().is_some();
        let reach = update.mp_reach().filter(|r| r.is_supported());
        if !has_nlri && reach.is_none() {
            return Ok(());
        }
        let attrs = update.attributes();
        if has_nlri {
            match attrs.next_hop {
                Some(nh) => {
                    self.rib
                        .update(rib_id, update.nlri(), IpAddr::V4(nh), attrs.clone())?
                }
                // RFC 7606 3.d would make this treat-as-withdraw; the
                // codec flags it, this is the belt to its braces.
                None => self.rib.withdraw(rib_id, update.nlri())?,
            }
        }
        if let Some(r) = reach {
            self.rib
                .update(rib_id, r.nlri(), r.next_hop().global, attrs)?;
        }
        Ok(())
    }

    fn treat_as_withdraw(
        &mut self,
        rib_id: u32,
        update: &bgp_proto::wire::update::Update,
    ) -> Result<(), rib::RibError> {
        self.rib.withdraw(rib_id, update.withdrawn())?;
        self.rib.withdraw(rib_id, update.nlri())?;
        if let Some(u) = update.mp_unreach().filter(|u| u.is_supported()) {
            self.rib.withdraw(rib_id, u.withdrawn())?;
        }
        if let Some(r) = update.mp_reach().filter(|r| r.is_supported()) {
            self.rib.withdraw(rib_id, r.nlri())?;
        }
        Ok(())
    }

    fn emit_route_events(&self, addr: IpAddr, update: &bgp_proto::wire::update::Update) {
        let withdrawn = update
            .withdrawn()
            .chain(update.mp_unreach().into_iter().flat_map(|u| u.withdrawn()));
        for n in withdrawn {
            self.emit(EventKind::Route {
                peer: addr,
                prefix: n.prefix.to_string(),
                withdrawn: true,
                next_hop: None,
                as_path: None,
            });
        }
        let attrs = update.attributes();
        let v4 = attrs.next_hop.map(|a| a.to_string());
        for n in update.nlri() {
            self.emit(EventKind::Route {
                peer: addr,
                prefix: n.prefix.to_string(),
                withdrawn: false,
                next_hop: v4.clone(),
                as_path: Some(attrs.as_path.to_string()),
            });
        }
        if let Some(r) = update.mp_reach() {
            let nh = r.next_hop().global.to_string();
            for n in r.nlri() {
                self.emit(EventKind::Route {
                    peer: addr,
                    prefix: n.prefix.to_string(),
                    withdrawn: false,
                    next_hop: Some(nh.clone()),
                    as_path: Some(attrs.as_path.to_string()),
                });
            }
        }
    }

    fn check_max_prefix(&mut self, peer: PeerId) {
        let Some(s) = self.sessions.get(&peer) else {
            return;
        };
        let Some(mp) = s.info.config.max_prefixes.clone() else {
            return;
        };
        let accepted: usize = match self.rib.peer_counts(s.rib_id) {
            Ok(c) => c.iter().map(|(_, c)| c.received).sum(),
            Err(_) => return,
        };
        if accepted <= mp.limit {
            return;
        }
        let addr = s.info.addr;
        match mp.action {
            MaxPrefixAction::Warn => {
                warn!(peer = %addr, limit = mp.limit, received = accepted, "max-prefix exceeded")
            }
            MaxPrefixAction::Stop => {
                if self.max_prefix_restarts.contains_key(&peer) {
                    return;
                }
                warn!(
                    peer = %addr, limit = mp.limit, received = accepted,
                    "max-prefix exceeded: closing the session (Cease / Maximum Number of Prefixes Reached)"
                );
                // RFC 4486: AFI, SAFI and the upper bound.
                let mut data = vec![0, 1, 1];
                data.extend_from_slice(&u32::try_from(mp.limit).unwrap_or(u32::MAX).to_be_bytes());
                let n = Notification::new(code::CEASE, cease_subcode::MAX_PREFIXES, data);
                self.peers.send(peer, PeerCommand::Shutdown(Some(n)));
                let again = (mp.restart_after > 0)
                    .then(|| Instant::now() + Duration::from_secs(u64::from(mp.restart_after)));
                self.max_prefix_restarts.insert(peer, again);
            }
        }
    }

    fn on_route_refresh(&mut self, peer: PeerId, family: Family) {
        let Some(s) = self.sessions.get(&peer) else {
            return;
        };
        let ctx = s.info.negotiated.context.clone();
        let addr = s.info.addr;
        let enhanced = s.info.negotiated.enhanced_rr;
        match self.rib.full_export(s.rib_id) {
            Ok(batches) => {
                let batches: Vec<_> = batches
                    .into_iter()
                    .filter(|b| b.family() == family)
                    .collect();
                let mut msgs = Vec::new();
                if enhanced {
                    msgs.extend(export::route_refresh_marker(&ctx, family, true));
                }
                msgs.extend(export::encode_batches(&ctx, &batches, addr));
                if enhanced {
                    msgs.extend(export::route_refresh_marker(&ctx, family, false));
                }
                info!(peer = %addr, %family, messages = msgs.len(), "route refresh answered");
                self.peers.send(peer, PeerCommand::Send(msgs));
            }
            Err(e) => warn!(peer = %addr, error = %e, "route refresh failed"),
        }
    }

    fn on_down(
        &mut self,
        peer: PeerId,
        reason: &str,
        notification: Option<&Notification>,
        graceful: bool,
    ) {
        let Some(s) = self.sessions.remove(&peer) else {
            return;
        };
        let addr = s.info.addr;
        let restart_time = s.info.negotiated.peer_gr.as_ref().map(|g| g.restart_time);
        let keep = graceful && restart_time.is_some();
        match (keep, restart_time) {
            (true, Some(t)) => {
                let t = Duration::from_secs(u64::from(t.max(1)));
                info!(
                    peer = %addr, %reason, restart_time = ?t,
                    "session down; graceful restart helper keeps its routes as stale"
                );
                self.stale_deadlines.insert(s.rib_id, Instant::now() + t);
            }
            _ => {
                info!(
                    peer = %addr, %reason,
                    notification = ?notification.map(Notification::describe),
                    "session down; its routes are withdrawn"
                );
                self.stale_deadlines.remove(&s.rib_id);
            }
        }
        if let Err(e) = self.rib.peer_down(s.rib_id, keep) {
            warn!(peer = %addr, error = %e, "peer down");
        }
        if let Some(m) = &self.metrics {
            m.set_peer_state(addr, CtlPeerState::Idle);
        }
    }

    async fn on_tick(&mut self) {
        let now = Instant::now();
        let expired: Vec<u32> = self
            .stale_deadlines
            .iter()
            .filter(|(_, d)| **d <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in expired {
            self.stale_deadlines.remove(&id);
            info!(
                rib_peer = id,
                "graceful restart timer expired: stale routes removed"
            );
            if let Err(e) = self.rib.sweep_stale(id) {
                warn!(error = %e, "sweeping stale routes");
            }
        }
        let restart: Vec<PeerId> = self
            .max_prefix_restarts
            .iter()
            .filter(|(_, at)| at.is_some_and(|t| t <= now))
            .map(|(p, _)| *p)
            .collect();
        for p in restart {
            self.max_prefix_restarts.remove(&p);
            info!(
                peer = p,
                "max-prefix restart time passed: enabling the neighbor again"
            );
            self.peers.send(p, PeerCommand::Enable);
        }
        let secs = u32::try_from(self.started.elapsed().as_secs()).unwrap_or(u32::MAX);
        self.rib.set_clock(secs);
        if !self.fib_startup_done && secs % 2 == 0 {
            self.check_fib_startup().await;
        }
        if secs % 5 == 0 {
            self.update_metrics().await;
        }
    }

    /// Ends the FIB's startup phase once every route left in the kernel by
    /// a previous run is either wanted again or points at a neighbor that
    /// is back and has sent End-of-RIB without it (the FIB's own grace
    /// timer covers neighbors that never come back).
    async fn check_fib_startup(&mut self) {
        let Some(fib) = &self.fib else {
            self.fib_startup_done = true;
            return;
        };
        let status: FibSummary = match fib.summary().await {
            Ok(s) => s,
            Err(_) => return,
        };
        if status.startup_complete {
            self.fib_startup_done = true;
            return;
        }
        let explicit_pending = self
            .config
            .neighbors
            .iter()
            .filter_map(|n| n.address)
            .any(|a| {
                !n_shutdown(&self.config, a)
                    && !self
                        .sessions
                        .values()
                        .any(|s| s.info.addr == a && eor_complete(s))
            });
        if explicit_pending {
            return;
        }
        let done_peers: HashSet<IpAddr> = self
            .sessions
            .values()
            .filter(|s| eor_complete(s))
            .map(|s| s.info.addr)
            .collect();
        let all_accounted = status.stale.iter().all(|r| {
            r.next_hops
                .iter()
                .any(|nh| done_peers.contains(&nh.gateway.to_canonical()))
        });
        if all_accounted && (!done_peers.is_empty() || status.stale.is_empty()) {
            info!(
                stale = status.stale.len(),
                "FIB startup phase over: removing routes no longer wanted"
            );
            if fib.startup_complete().await.is_ok() {
                self.fib_startup_done = true;
            }
        }
    }

    async fn update_metrics(&mut self) {
        let Some(m) = &self.metrics else { return };
        let stats = self.rib.stats();
        m.set_rib_prefixes("ipv4-unicast", stats.prefixes_v4 as u64);
        m.set_rib_prefixes("ipv6-unicast", stats.prefixes_v6 as u64);
        m.set_rib_paths(stats.paths as u64);
        for p in self.peers.peers() {
            let last = self
                .metric_counts
                .insert(p.addr, p.counters)
                .unwrap_or_default();
            publish_message_counts(m, p.addr, &last, &p.counters);
            if let Some(id) = self.rib_ids.get(&p.addr) {
                if let Ok(counts) = self.rib.peer_counts(*id) {
                    for (f, c) in counts {
                        m.set_prefixes(
                            p.addr,
                            &f.to_string(),
                            c.received as u64,
                            c.accepted as u64,
                            c.advertised as u64,
                        );
                    }
                }
            }
        }
        if let Some(fib) = &self.fib {
            if let Ok(s) = fib.summary().await {
                m.set_fib_routes(s.installed as u64);
            }
        }
    }

    /// Sends what the last batch of events changed: FIB changes to the FIB
    /// task, export batches to every established neighbor.
    async fn flush(&mut self) {
        let changes = self.rib.drain_fib_changes();
        if !changes.is_empty() {
            if self.watching() {
                for c in &changes {
                    self.emit(EventKind::Best {
                        prefix: c.prefix.to_string(),
                        next_hops: c.next_hops.iter().map(ToString::to_string).collect(),
                    });
                }
            }
            if let Some(fib) = &self.fib {
                if let Err(e) = fib.update(changes).await {
                    error!(error = %e, "FIB update failed");
                    if let Some(m) = &self.metrics {
                        m.inc_fib_errors();
                    }
                }
            }
        }
        let pending: Vec<PeerId> = self
            .sessions
            .iter()
            .filter(|(_, s)| self.rib.exports_pending(s.rib_id))
            .map(|(&peer, _)| peer)
            .collect();
        // With two sessions, each gets the other's routes: nothing to share.
        let share = pending.len() > 2;
        for peer in pending {
            let Some(s) = self.sessions.get(&peer) else {
                continue;
            };
            match self.rib.drain_exports(s.rib_id) {
                Ok(batches) if !batches.is_empty() => {
                    let ctx = &s.info.negotiated.context;
                    let msgs = if share {
                        self.encoded.encode(ctx, batches, s.info.addr)
                    } else {
                        export::encode_batches(ctx, &batches, s.info.addr)
                    };
                    self.peers.send(peer, PeerCommand::Send(msgs));
                }
                Ok(_) => {}
                Err(e) => warn!(peer = %s.info.addr, error = %e, "export failed"),
            }
        }
        self.rib.end_export_round();
        self.encoded = export::RoundEncoder::default();
    }

    /// Applies the config file again: new neighbors come up, removed ones
    /// are shut down, unchanged sessions are not touched. A broken file is
    /// refused and the running config stays.
    fn reload(&mut self) -> ReloadResult {
        let new = match config::load(&self.config_path) {
            Ok(c) => c,
            Err(e) => return ReloadResult::refused(&e),
        };
        if let Err(e) = Rib::new(rib_config(&new)) {
            return ReloadResult {
                applied: false,
                errors: vec![e.to_string()],
                ..Default::default()
            };
        }
        let diff = config::diff(&self.config, &new);
        let mut result = ReloadResult::applied(&diff);
        // New policy definitions: recompile them in the RIB (exports are
        // re-evaluated at once) and ask every peer to send its routes
        // again so that import policy applies to them too.
        if diff.policies_changed {
            if let Err(e) = self.rib.set_policies(&new.policies, &new.prefix_lists) {
                return ReloadResult {
                    applied: false,
                    errors: vec![e.to_string()],
                    ..Default::default()
                };
            }
            for (peer, s) in &self.sessions {
                if s.info.negotiated.route_refresh {
                    for f in &s.info.negotiated.families {
                        self.peers.send(*peer, PeerCommand::RequestRefresh(*f));
                    }
                }
            }
        }
        for what in &diff.restart_required {
            result
                .errors
                .push(format!("{what} takes effect at restart"));
        }
        self.peers.reconfigure(&new);
        info!(
            added = ?result.added, removed = ?result.removed, changed = ?result.changed,
            "config reloaded"
        );
        self.emit(EventKind::Reload {
            applied: true,
            message: format!(
                "{} added, {} removed, {} changed",
                result.added.len(),
                result.removed.len(),
                result.changed.len()
            ),
        });
        self.config = new;
        result
    }

    async fn shutdown(&mut self) {
        let n = Notification::cease_with_message(
            cease_subcode::ADMINISTRATIVE_SHUTDOWN,
            "rbgpd shutting down",
        );
        self.peers.shutdown(Some(n)).await;
        if let Some(fib) = &self.fib {
            if let Err(e) = fib.shutdown().await {
                warn!(error = %e, "FIB shutdown");
            }
        }
        let _ = std::fs::remove_file(&self.config.control.socket);
        info!("rbgpd stopped");
    }
}

/// Adds to the message counters what `now` has beyond `last` (a neighbor
/// whose counters went back, a new session of a dynamic neighbor, counts
/// from zero).
fn publish_message_counts(
    m: &Metrics,
    addr: IpAddr,
    last: &crate::peer::Counters,
    now: &crate::peer::Counters,
) {
    use crate::metrics::MessageType as T;
    let pairs = [
        (
            T::Open,
            last.opens_in,
            now.opens_in,
            last.opens_out,
            now.opens_out,
        ),
        (
            T::Update,
            last.updates_in,
            now.updates_in,
            last.updates_out,
            now.updates_out,
        ),
        (
            T::Keepalive,
            last.keepalives_in,
            now.keepalives_in,
            last.keepalives_out,
            now.keepalives_out,
        ),
        (
            T::Notification,
            last.notifications_in,
            now.notifications_in,
            last.notifications_out,
            now.notifications_out,
        ),
        (
            T::RouteRefresh,
            last.route_refresh_in,
            now.route_refresh_in,
            last.route_refresh_out,
            now.route_refresh_out,
        ),
    ];
    let delta = |a: u64, b: u64| if b >= a { b - a } else { b };
    for (t, li, ni, lo, no) in pairs {
        let (i, o) = (delta(li, ni), delta(lo, no));
        if i > 0 {
            m.add_messages_received(addr, t, i);
        }
        if o > 0 {
            m.add_messages_sent(addr, t, o);
        }
    }
}

fn n_shutdown(cfg: &Config, addr: IpAddr) -> bool {
    cfg.neighbors
        .iter()
        .any(|n| n.address == Some(addr) && n.shutdown)
}

fn eor_complete(s: &Session) -> bool {
    s.info
        .negotiated
        .families
        .iter()
        .all(|f| s.eor_received.contains(f))
}
