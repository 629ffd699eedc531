//! # The driver
//!
//! DOC: the tokio edge around the sans-IO [`Core`]. One task feeds the core
//! what happens (neighbor events, rbgpctl requests, FIB answers, signals,
//! time) and carries out what it outputs (commands to neighbor tasks, FIB
//! writes, answers, watch events). It decides nothing itself: every
//! routing decision is the core's, so it can be tested without sockets and
//! a recorded run (`--record`) replays.
//!
//! Besides, it publishes the metrics every few seconds from the core's
//! getters, the neighbor tasks' counters and the FIB, and on SIGTERM shuts
//! the neighbors and the FIB down.

mod connected;
mod metrics_job;
mod notify;

use crate::config::{self, Config};
use crate::core::record::Recorder;
use crate::core::{self, CallId, Core, FibCommand, FibQuery, FibReport, FibView, Input, Output};
use crate::ctl::proto::{Event, Request, Response};
use crate::ctl::server::CtlCall;
use crate::fib::{self, FibTables};
use crate::metrics::Metrics;
use crate::peer::{PeerEvent, PeerManager};
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, mpsc, oneshot};
use tracing::{error, info, warn};

/// Most peer events handled before the outputs are flushed: large enough
/// that a burst of UPDATEs is applied as one batch, small enough that
/// exports and the FIB follow promptly. An event of several UPDATEs
/// counts each.
const EVENT_BATCH: usize = 4096;

/// How often the metrics are published.
const METRICS_PERIOD: Duration = Duration::from_secs(5);

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
    /// The recording file could not be created.
    #[error("recording: {0}")]
    Record(std::io::Error),
    /// A `vrf` names no VRF device.
    #[error("{0}")]
    Vrf(String),
}

/// How the daemon runs besides its config.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Write every input and output of the core to this file (JSON lines).
    pub record: Option<PathBuf>,
    /// Run without the FIB though the config enables it, for this reason
    /// (a capability is missing: [`crate::privileges`]).
    pub fib_off: Option<String>,
}

/// The driver's state: the core and the handles of everything at the edge.
struct Driver {
    core: Core,
    config_path: PathBuf,
    peers: PeerManager,
    fib: Option<FibTables>,
    metrics: Option<Metrics>,
    events: broadcast::Sender<Event>,
    recorder: Option<Recorder>,
    calls: HashMap<CallId, oneshot::Sender<Response>>,
    next_call: CallId,
    watching: bool,
    metric_counts: metrics_job::LastCounts,
    bfd: crate::bfd::task::BfdLink,
    notifier: notify::Notifier,
}

/// Runs rbgpd on `config` until SIGTERM or SIGINT.
pub async fn run(
    mut config: Config,
    config_path: PathBuf,
    opts: Options,
) -> Result<(), DaemonError> {
    if opts.fib_off.is_some() {
        config.fib.enabled = false;
    }
    if config.fib.enabled {
        fib::vrf::resolve(&mut config)
            .await
            .map_err(DaemonError::Vrf)?;
    }
    let started = Instant::now();
    let mut core = Core::new(config.clone(), started)?;
    if let Some(reason) = &opts.fib_off {
        core.set_fib_off(reason.clone());
    }
    let recorder = match &opts.record {
        Some(path) => {
            let file = std::fs::File::create(path).map_err(DaemonError::Record)?;
            let w = Box::new(std::io::BufWriter::new(file));
            info!(file = %path.display(), "recording the core's inputs and outputs");
            Some(Recorder::new(w, &core, started).map_err(DaemonError::Record)?)
        }
        None => None,
    };
    let fib = if config.fib.enabled {
        Some(FibTables::spawn(&config)?)
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
        Some(m) => Some(
            metrics_job::serve(m.listen)
                .await
                .map_err(DaemonError::Metrics)?,
        ),
        None => None,
    };

    let (peer_tx, mut peer_rx) = mpsc::channel::<PeerEvent>(crate::peer::EVENT_QUEUE);
    // State changes only, and the task waits while the queue is full.
    let (bfd_tx, mut bfd_rx) = mpsc::channel::<crate::bfd::BfdReport>(64);
    // Whole sets; the watcher waits while one is unread.
    let (connected_tx, mut connected_rx) = mpsc::channel::<Vec<bgp_proto::Prefix>>(1);
    connected::spawn(connected_tx);
    let peers = PeerManager::spawn(&config, peer_tx);
    info!(
        asn = config.router.asn,
        router_id = %config.router.router_id,
        neighbors = config.neighbors.len(),
        "rbgpd started"
    );
    let mut d = Driver {
        core,
        config_path,
        peers,
        fib,
        metrics,
        events,
        recorder,
        calls: HashMap::new(),
        next_call: 0,
        watching: false,
        metric_counts: metrics_job::LastCounts::default(),
        bfd: crate::bfd::task::BfdLink::new(bfd_tx),
        notifier: notify::Notifier::from_env(),
    };
    // Both sockets are bound: a request queues until the loop below
    // answers it.
    d.notifier.ready(&format!(
        "AS {}, router id {}, {} neighbor entries",
        config.router.asn,
        config.router.router_id,
        config.neighbors.len()
    ));
    let mut watchdog_tick = d.notifier.watchdog_period().map(|p| {
        let mut t = tokio::time::interval(p);
        t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        t
    });

    let mut metrics_tick = tokio::time::interval(METRICS_PERIOD);
    metrics_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut sighup = signal(tokio::signal::unix::SignalKind::hangup());
    let mut sigterm = signal(tokio::signal::unix::SignalKind::terminate());
    let mut sigint = signal(tokio::signal::unix::SignalKind::interrupt());

    loop {
        d.follow_watchers();
        let deadline = d.core.poll_timeout();
        tokio::select! {
            ev = peer_rx.recv() => {
                let Some(ev) = ev else { break };
                let mut n = d.feed(Input::Peer(ev));
                d.carry_out_pending().await;
                while n < EVENT_BATCH {
                    match peer_rx.try_recv() {
                        Ok(ev) => n += d.feed(Input::Peer(ev)),
                        Err(_) => break,
                    }
                    d.carry_out_pending().await;
                }
            }
            report = bfd_rx.recv() => {
                if let Some(report) = report {
                    if let (Some(m), Some(addr)) = (&d.metrics, d.peers.addr_of(report.peer)) {
                        m.set_bfd(addr, report.up);
                    }
                    d.feed(Input::Bfd(report));
                    d.carry_out_pending().await;
                }
            }
            Some(networks) = connected_rx.recv() => { d.feed(Input::Connected(networks)); }
            call = ctl_rx.recv() => {
                if let Some((request, reply)) = call {
                    d.on_ctl(request, reply).await;
                }
            }
            () = sleep_until(deadline) => { d.feed(Input::Tick); }
            _ = metrics_tick.tick() => d.publish_metrics().await,
            _ = tick(&mut watchdog_tick) => d.notifier.watchdog(),
            _ = recv_signal(&mut sighup) => {
                info!("SIGHUP: reloading {}", d.config_path.display());
                d.reload(None).await;
            }
            _ = recv_signal(&mut sigterm) => { info!("SIGTERM: shutting down"); break; }
            _ = recv_signal(&mut sigint) => { info!("SIGINT: shutting down"); break; }
        }
        d.carry_out().await;
    }
    d.shutdown().await;
    Ok(())
}

async fn tick(t: &mut Option<tokio::time::Interval>) {
    match t {
        Some(t) => {
            t.tick().await;
        }
        None => std::future::pending().await,
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(t) => tokio::time::sleep_until(t.into()).await,
        None => std::future::pending().await,
    }
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

impl Driver {
    /// Hands one input to the core (recording it first); returns its share
    /// of an [`EVENT_BATCH`].
    fn feed(&mut self, input: Input) -> usize {
        let now = Instant::now();
        let weight = input.weight();
        if let Some(r) = &mut self.recorder {
            r.input(now, &input);
        }
        self.core.handle(now, input);
        weight
    }

    /// Tells the core when a watcher comes or goes. The control server
    /// keeps one receiver of its own (to resubscribe each client from), so
    /// only more than one means a watcher.
    fn follow_watchers(&mut self) {
        let watching = self.events.receiver_count() > 1;
        if watching != self.watching {
            self.watching = watching;
            self.feed(Input::Watching(watching));
        }
    }

    async fn on_ctl(&mut self, request: Request, reply: oneshot::Sender<Response>) {
        let call = self.next_call;
        self.next_call += 1;
        self.calls.insert(call, reply);
        if request == Request::Reload {
            self.reload(Some(call)).await;
            return;
        }
        let fib = match (self.core.fib_query(&request), &self.fib) {
            (FibQuery::None, _) | (_, None) => None,
            (FibQuery::Status, Some(f)) => Some(match f.status().await {
                Ok(s) => FibView::Status(s),
                Err(e) => FibView::Unavailable(e.to_string()),
            }),
            (FibQuery::Summary, Some(f)) => Some(match f.summary().await {
                Ok(s) => FibView::Summary(s),
                Err(e) => FibView::Unavailable(e.to_string()),
            }),
            (FibQuery::Routes(prefixes), Some(f)) => Some(match f.routes(&prefixes).await {
                Ok(r) => FibView::Routes(r),
                Err(e) => FibView::Unavailable(e.to_string()),
            }),
        };
        let bfd = match request {
            Request::ShowBfd => self.bfd.sessions(),
            _ => Vec::new(),
        };
        let context = core::CtlContext {
            peers: self.peers.peers(),
            fib,
            rss_bytes: crate::metrics::rss_bytes(),
            bfd,
        };
        self.feed(Input::Ctl {
            call,
            request,
            context,
        });
    }

    /// Reads the config file and hands it to the core.
    async fn reload(&mut self, call: Option<CallId>) {
        self.notifier.reloading();
        let mut config = config::load(&self.config_path)
            .map(Box::new)
            .map_err(|e| crate::ctl::proto::ReloadResult::refused(&e).errors);
        if let Ok(c) = &mut config {
            // The FIB is off for want of a capability: reloads keep it off.
            if self.core.fib_off().is_some() {
                c.fib.enabled = false;
            }
            if c.fib.enabled {
                if let Err(e) = fib::vrf::resolve(c).await {
                    config = Err(vec![e]);
                }
            }
        }
        self.feed(Input::Reload { call, config });
        // Applied or refused, the daemon runs on.
        self.notifier.ready("reloaded");
    }

    /// Carries out everything the core has to say, in order.
    async fn carry_out(&mut self) {
        while let Some(out) = self.poll(false) {
            self.carry_out_one(out).await;
        }
        if let Some(r) = &mut self.recorder {
            r.flush();
        }
    }

    /// Carries out what the inputs so far decided, without flushing the
    /// RIB's changes (between the events of a batch).
    async fn carry_out_pending(&mut self) {
        while let Some(out) = self.poll(true) {
            self.carry_out_one(out).await;
        }
    }

    /// One `poll_pending` (`pending`) or `poll_output` call, recorded.
    fn poll(&mut self, pending: bool) -> Option<Output> {
        let out = if pending {
            self.core.poll_pending()
        } else {
            self.core.poll_output()
        };
        if let Some(r) = &mut self.recorder {
            r.output(out.as_ref(), pending);
        }
        out
    }

    async fn carry_out_one(&mut self, out: Output) {
        {
            match out {
                Output::Peer { peer, command } => {
                    self.peers.send(peer, command);
                }
                Output::Fib(cmd) => self.command_fib(cmd).await,
                Output::Bfd(cmd) => self.bfd.command(cmd),
                Output::Reconfigure(config) => self.peers.reconfigure(&config),
                Output::Answer { call, response } => {
                    if let Some(reply) = self.calls.remove(&call) {
                        let _ = reply.send(response);
                    }
                }
                Output::Event(kind) => {
                    let _ = self.events.send(Event::now(kind));
                }
                Output::PeerState { addr, state } => {
                    if let Some(m) = &self.metrics {
                        m.set_peer_state(addr, state);
                    }
                }
                Output::PeerForgotten { addr } => {
                    if let Some(m) = &self.metrics {
                        m.remove_peer(addr);
                    }
                    self.metric_counts.remove(&addr);
                }
            }
        }
    }

    async fn command_fib(&mut self, cmd: FibCommand) {
        let Some(fib) = &self.fib else { return };
        match cmd {
            FibCommand::Update(changes) => {
                if let Err(e) = fib.update(changes).await {
                    if let Some(m) = &self.metrics {
                        m.inc_fib_errors();
                    }
                    self.feed(Input::Fib(FibReport::Failed(e.to_string())));
                }
            }
            FibCommand::Summary => {
                if let Ok(s) = fib.summary().await {
                    self.feed(Input::Fib(FibReport::Summary(s)));
                }
            }
            FibCommand::StartupComplete => {
                if let Err(e) = fib.startup_complete().await {
                    warn!(error = %e, "FIB: ending the startup phase");
                }
            }
            FibCommand::RemoveStale(prefixes) => {
                if let Err(e) = fib.remove_stale(prefixes).await {
                    warn!(error = %e, "FIB: removing routes whose gateways are gone");
                }
            }
        }
    }

    async fn publish_metrics(&mut self) {
        let Some(m) = &self.metrics else { return };
        let fib = match &self.fib {
            Some(f) => f.summary().await.ok(),
            None => None,
        };
        metrics_job::publish(
            m,
            &self.core,
            &self.peers,
            fib.as_ref(),
            &mut self.metric_counts,
        );
    }

    async fn shutdown(&mut self) {
        self.notifier.stopping();
        let n = bgp_proto::Notification::cease_with_message(
            bgp_proto::msg::notification::cease_subcode::ADMINISTRATIVE_SHUTDOWN,
            "rbgpd shutting down",
        );
        self.peers.shutdown(Some(n)).await;
        if let Some(fib) = &self.fib {
            if let Err(e) = fib.shutdown().await {
                warn!(error = %e, "FIB shutdown");
            }
        }
        if let Some(r) = &mut self.recorder {
            r.flush();
        }
        let _ = std::fs::remove_file(&self.core.config().control.socket);
        info!("rbgpd stopped");
    }
}
