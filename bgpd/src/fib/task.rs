//! The FIB task: owns a [`FibManager`], takes commands from the core through
//! a [`FibHandle`], reacts to kernel notifications and rescans periodically.
//!
//! ```text
//!  core --FibHandle--> [ mpsc ] --> fib task --apply/dump--> Fib backend
//!                                     ^   ^
//!                    FibMonitor ------'   '---- scan timer, startup grace,
//!                                                 gateway probes
//! ```

use std::time::Duration;

use bgp_proto::Prefix;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::{sleep_until, Instant};

use super::{
    Fib, FibChange, FibError, FibManager, FibMonitor, FibStatus, FibStatusEntry, FibSummary,
    KernelEvent, NetlinkFib, NetlinkOptions,
};
use crate::config::FibConfig;

/// Batches written back to back before queued commands are looked at
/// again (a batch is [`super::manager::WRITE_BATCH`] routes). Few: what
/// the RIB sends meanwhile waits in the channel as whole `FibChange`s,
/// which take more room than the table's entry for the same prefix.
const BATCHES_BETWEEN_COMMANDS: usize = 2;
/// Debounce after a link/address notification.
const CONNECTED_DEBOUNCE: Duration = Duration::from_millis(100);
/// Debounce after one of our routes vanished.
const RESYNC_DEBOUNCE: Duration = Duration::from_millis(500);
/// Debounce after lost notifications (a big load overflows the monitor).
const OVERRUN_DEBOUNCE: Duration = Duration::from_secs(5);
/// How often, in the startup phase, the gateways of a previous run's
/// routes are looked up in the kernel's neighbour table (and resolution
/// asked for): a gone node shows as FAILED after the kernel's 3 probes,
/// 1 s apart, so a round a second costs little of that time.
const GATEWAY_PROBE_INTERVAL: Duration = Duration::from_secs(1);
/// How often the neighbour tables are read for the IPv6 stand-ins of IPv4
/// gateways and the interfaces of link-local ones (only while routes have
/// such gateways): a new route waits at most this long, and a node whose
/// MAC changed is followed within it once the kernel's ARP entry has the
/// new MAC.
const STAND_IN_INTERVAL: Duration = Duration::from_secs(1);

enum Command {
    Update(Vec<FibChange>),
    StartupComplete,
    RemoveStale(Vec<Prefix>),
    Status(oneshot::Sender<FibStatus>),
    Routes(Vec<Prefix>, oneshot::Sender<Vec<FibStatusEntry>>),
    Summary(oneshot::Sender<FibSummary>),
    Resync(oneshot::Sender<Result<usize, String>>),
    Shutdown(oneshot::Sender<Result<(), String>>),
}

/// The core's handle on the FIB task. Cheap to clone.
#[derive(Debug, Clone)]
pub struct FibHandle {
    tx: mpsc::Sender<CommandBox>,
}

/// Command wrapper sent over the channel.
struct CommandBox(Command);

impl std::fmt::Debug for CommandBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FibCommand")
    }
}

impl FibHandle {
    async fn send(&self, c: Command) -> Result<(), FibError> {
        self.tx
            .send(CommandBox(c))
            .await
            .map_err(|_| FibError::Stopped)
    }

    /// Queues desired-state changes; consecutive updates are merged into one
    /// kernel write.
    pub async fn update(&self, changes: Vec<FibChange>) -> Result<(), FibError> {
        self.send(Command::Update(changes)).await
    }

    /// Every peer sent End-of-RIB (or the grace time passed): remove routes
    /// of a previous run that are not wanted.
    pub async fn startup_complete(&self) -> Result<(), FibError> {
        self.send(Command::StartupComplete).await
    }

    /// Removes these routes of a previous run now (their gateways are
    /// gone); see [`FibManager::remove_stale`].
    pub async fn remove_stale(&self, prefixes: Vec<Prefix>) -> Result<(), FibError> {
        self.send(Command::RemoveStale(prefixes)).await
    }

    /// The state for `rbgpctl show fib`.
    pub async fn status(&self) -> Result<FibStatus, FibError> {
        let (tx, rx) = oneshot::channel();
        self.send(Command::Status(tx)).await?;
        rx.await.map_err(|_| FibError::Stopped)
    }

    /// The state of each of `prefixes` the FIB wants or holds.
    pub async fn routes(&self, prefixes: Vec<Prefix>) -> Result<Vec<FibStatusEntry>, FibError> {
        let (tx, rx) = oneshot::channel();
        self.send(Command::Routes(prefixes, tx)).await?;
        rx.await.map_err(|_| FibError::Stopped)
    }

    /// Counts and stale routes (cheap: no per-route status).
    pub async fn summary(&self) -> Result<FibSummary, FibError> {
        let (tx, rx) = oneshot::channel();
        self.send(Command::Summary(tx)).await?;
        rx.await.map_err(|_| FibError::Stopped)
    }

    /// Dumps the kernel table now and repairs differences; returns how many
    /// routes differed.
    pub async fn resync(&self) -> Result<usize, FibError> {
        let (tx, rx) = oneshot::channel();
        self.send(Command::Resync(tx)).await?;
        rx.await
            .map_err(|_| FibError::Stopped)?
            .map_err(FibError::Worker)
    }

    /// Stops the task: routes stay (persist) or are removed.
    pub async fn shutdown(&self) -> Result<(), FibError> {
        let (tx, rx) = oneshot::channel();
        self.send(Command::Shutdown(tx)).await?;
        rx.await
            .map_err(|_| FibError::Stopped)?
            .map_err(FibError::Worker)
    }
}

/// Starts the FIB task: reads the kernel state ([`FibManager::start`]),
/// then serves the handle. `monitor` (if any) triggers quick repairs,
/// `scan_interval` a periodic full dump-and-diff, and `startup_grace` ends
/// the startup phase if the core has not done so by then.
pub fn spawn<F: Fib>(
    manager: FibManager<F>,
    monitor: Option<FibMonitor>,
    scan_interval: Duration,
    startup_grace: Duration,
) -> (FibHandle, JoinHandle<()>) {
    let (tx, rx) = mpsc::channel(1024);
    let task = tokio::spawn(run(manager, monitor, rx, scan_interval, startup_grace));
    (FibHandle { tx }, task)
}

/// Period of the full dump-and-diff scan of [`spawn_netlink`].
pub const DEFAULT_SCAN_INTERVAL: Duration = Duration::from_secs(30);

/// The daemon's FIB: a [`NetlinkFib`] and, where the kernel lets us
/// subscribe, a [`FibMonitor`] (without one, a warning, and the periodic
/// scans alone repair what others change), both in the current thread's
/// network namespace; table, metric, persist and startup grace from `cfg`;
/// a full scan every [`DEFAULT_SCAN_INTERVAL`]. Call only when
/// `cfg.enabled`, inside a tokio runtime.
pub fn spawn_netlink(cfg: &FibConfig) -> Result<(FibHandle, JoinHandle<()>), FibError> {
    let opts = NetlinkOptions::from_config(cfg);
    let fib = NetlinkFib::new(opts.clone())?;
    let monitor = match FibMonitor::new(&opts) {
        Ok(m) => Some(m),
        Err(e) => {
            tracing::warn!(error = %e, "no kernel route monitor; relying on periodic scans");
            None
        }
    };
    let grace = Duration::from_secs(u64::from(cfg.startup_grace));
    Ok(spawn(
        FibManager::new(fib, cfg),
        monitor,
        DEFAULT_SCAN_INTERVAL,
        grace,
    ))
}

fn log_err<T>(what: &str, r: Result<T, FibError>) {
    if let Err(e) = r {
        tracing::warn!(error = %e, "FIB {what} failed");
    }
}

async fn next_event(monitor: &mut Option<FibMonitor>) -> Result<Vec<KernelEvent>, FibError> {
    match monitor {
        Some(m) => m.next().await,
        None => std::future::pending().await,
    }
}

async fn run<F: Fib>(
    mut m: FibManager<F>,
    mut monitor: Option<FibMonitor>,
    mut rx: mpsc::Receiver<CommandBox>,
    scan_interval: Duration,
    startup_grace: Duration,
) {
    if let Err(e) = m.start().await {
        tracing::error!(error = %e, "FIB start: could not read the kernel table");
    }
    let far = Instant::now() + Duration::from_secs(86_400 * 365);
    let mut grace_at = Instant::now() + startup_grace;
    let mut scan_at = Instant::now() + scan_interval;
    let mut connected_at = far;
    let mut resync_at = far;
    let mut probe_at = Instant::now();
    let mut stand_in_at = Instant::now();
    loop {
        tokio::select! {
            cmd = rx.recv() => {
                let Some(CommandBox(cmd)) = cmd else {
                    tracing::info!("FIB handle dropped; stopping");
                    log_err("shutdown", m.shutdown().await);
                    return;
                };
                match cmd {
                    Command::Update(changes) => {
                        // Note this and whatever else is queued, then write in
                        // bounded batches, noting what arrives in between:
                        // the queue never holds a full table.
                        m.note(&changes);
                        loop {
                            loop {
                                match rx.try_recv() {
                                    Ok(CommandBox(Command::Update(more))) => m.note(&more),
                                    Ok(CommandBox(other)) => {
                                        if !handle_other(&mut m, other).await {
                                            return;
                                        }
                                    }
                                    Err(_) => break,
                                }
                            }
                            if !m.has_pending_writes() {
                                break;
                            }
                            log_err("update", m.write_pending(BATCHES_BETWEEN_COMMANDS).await);
                        }
                    }
                    other => {
                        if !handle_other(&mut m, other).await {
                            return;
                        }
                    }
                }
            }
            ev = next_event(&mut monitor) => match ev {
                Ok(events) => {
                    for ev in events {
                        match ev {
                            KernelEvent::Connected => {
                                connected_at = connected_at.min(Instant::now() + CONNECTED_DEBOUNCE);
                            }
                            KernelEvent::LinkDown(index) => {
                                connected_at = connected_at.min(Instant::now() + CONNECTED_DEBOUNCE);
                                // Even if it is up again by the time we look,
                                // the routes through it are gone: read the
                                // table (only for a link our next hops use).
                                if m.connected().iter().any(|c| c.ifindex == index) {
                                    resync_at = resync_at.min(Instant::now() + RESYNC_DEBOUNCE);
                                }
                            }
                            KernelEvent::RouteDeleted(p) if m.is_installed(&p) => {
                                resync_at = resync_at.min(Instant::now() + RESYNC_DEBOUNCE);
                            }
                            KernelEvent::Overrun => {
                                resync_at = resync_at.min(Instant::now() + OVERRUN_DEBOUNCE);
                            }
                            KernelEvent::NexthopDeleted(id) if m.fib().holds_object(id) => {
                                resync_at = resync_at.min(Instant::now() + RESYNC_DEBOUNCE);
                            }
                            KernelEvent::RouteDeleted(_) | KernelEvent::NexthopDeleted(_) => {}
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "FIB monitor failed; relying on periodic scans");
                    monitor = None;
                }
            },
            () = sleep_until(connected_at) => {
                connected_at = far;
                log_err("connected refresh", m.refresh_connected().await);
            }
            () = sleep_until(resync_at.min(scan_at)) => {
                resync_at = far;
                scan_at = Instant::now() + scan_interval;
                match m.resync().await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(repaired = n, "FIB scan repaired routes"),
                    Err(e) => tracing::warn!(error = %e, "FIB scan failed"),
                }
            }
            () = sleep_until(probe_at), if m.has_stale() => {
                probe_at = Instant::now() + GATEWAY_PROBE_INTERVAL;
                log_err("gateway probe", m.probe_stale_gateways().await);
            }
            () = sleep_until(stand_in_at) => {
                stand_in_at = Instant::now() + STAND_IN_INTERVAL;
                log_err("neighbour refresh", m.refresh_neighbours().await.map(drop));
            }
            () = sleep_until(grace_at), if !m.is_startup_complete() => {
                grace_at = far;
                tracing::info!("FIB startup grace time over");
                log_err("startup complete", m.startup_complete().await);
            }
        }
    }
}

/// Handles a non-update command; false when the task must stop.
async fn handle_other<F: Fib>(m: &mut FibManager<F>, cmd: Command) -> bool {
    match cmd {
        Command::Update(changes) => log_err("update", m.update(&changes).await),
        Command::StartupComplete => log_err("startup complete", m.startup_complete().await),
        Command::RemoveStale(prefixes) => {
            log_err("stale removal", m.remove_stale(&prefixes).await.map(|_| ()));
        }
        Command::Status(tx) => {
            let _ = tx.send(m.status());
        }
        Command::Routes(prefixes, tx) => {
            let _ = tx.send(m.routes(&prefixes));
        }
        Command::Summary(tx) => {
            let _ = tx.send(m.summary());
        }
        Command::Resync(tx) => {
            let _ = tx.send(m.resync().await.map_err(|e| e.to_string()));
        }
        Command::Shutdown(tx) => {
            let _ = tx.send(m.shutdown().await.map_err(|e| e.to_string()));
            return false;
        }
    }
    true
}
