//! The BFD task: owns the UDP sockets and the [`BfdEndpoint`], takes the
//! core's commands and reports state changes back. Started with the first
//! `Watch`, so a router without `bfd` neighbors opens no BFD socket.
//!
//! Commands travel through a mailbox that keeps one per neighbor (the
//! latest wins: a `Watch` then an `Unwatch` is an `Unwatch`), so the
//! queue is bounded by the number of neighbors however fast the core
//! produces them.

use super::endpoint::BfdEndpoint;
use super::udp::{BfdSockets, MULTIHOP_PORT, SINGLE_HOP_PORT};
use super::{BfdCommand, BfdReport};
use crate::core::log_gate::LogGate;
use crate::ctl::proto::BfdSession;
use crate::peer::PeerId;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, Notify};
use tokio::task::JoinHandle;
use tracing::error;

/// Commands not yet taken by the task, one per neighbor.
#[derive(Default)]
struct Mailbox {
    pending: Mutex<BTreeMap<PeerId, BfdCommand>>,
    wake: Notify,
}

impl Mailbox {
    fn put(&self, cmd: BfdCommand) {
        let peer = match &cmd {
            BfdCommand::Watch { peer, .. } | BfdCommand::Unwatch { peer } => *peer,
        };
        self.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(peer, cmd);
        self.wake.notify_one();
    }

    fn take(&self) -> BTreeMap<PeerId, BfdCommand> {
        std::mem::take(&mut *self.pending.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// What `show bfd` reads: the sessions as the task last published them
/// (on every state change, else at most once a second).
type Snapshot = Arc<Mutex<Vec<BfdSession>>>;

/// How often the task republishes its sessions' counters without a state
/// change.
const PUBLISH_PERIOD: Duration = Duration::from_secs(1);

/// The driver's link to the BFD task.
pub struct BfdLink {
    reports: mpsc::Sender<BfdReport>,
    running: Option<(Arc<Mailbox>, JoinHandle<()>)>,
    snapshot: Snapshot,
    failed: bool,
}

impl BfdLink {
    /// No task yet; reports will go to `reports`.
    pub fn new(reports: mpsc::Sender<BfdReport>) -> Self {
        BfdLink {
            reports,
            running: None,
            snapshot: Snapshot::default(),
            failed: false,
        }
    }

    /// The BFD sessions, as last published by the task.
    pub fn sessions(&self) -> Vec<BfdSession> {
        self.snapshot
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Carries out a core command, starting the task on the first one.
    /// Without sockets (logged once), BFD never comes up: no BGP session is
    /// taken down by it, and none in strict mode comes up.
    pub fn command(&mut self, cmd: BfdCommand) {
        if self.running.is_none() && !self.failed {
            match BfdSockets::open(SINGLE_HOP_PORT, MULTIHOP_PORT) {
                Ok(sockets) => {
                    let mailbox = Arc::new(Mailbox::default());
                    let task = run(
                        sockets,
                        mailbox.clone(),
                        self.reports.clone(),
                        self.snapshot.clone(),
                    );
                    self.running = Some((mailbox, tokio::spawn(task)));
                }
                Err(e) => {
                    error!("BFD: cannot open its UDP sockets ({e}); BFD sessions stay down, and BGP sessions in strict mode with them");
                    self.failed = true;
                }
            }
        }
        if let Some((mailbox, _)) = &self.running {
            mailbox.put(cmd);
        }
    }
}

impl Drop for BfdLink {
    fn drop(&mut self) {
        if let Some((_, task)) = self.running.take() {
            task.abort();
        }
    }
}

async fn run(
    mut sockets: BfdSockets,
    mailbox: Arc<Mailbox>,
    reports: mpsc::Sender<BfdReport>,
    snapshot: Snapshot,
) {
    // Discriminators hard to guess (RFC 5880 6.8.1).
    let mut endpoint = BfdEndpoint::new(rand::random());
    let mut published: Option<Instant> = None;
    let mut recv_errors = LogGate::new();
    loop {
        let wake = endpoint.poll_timeout();
        tokio::select! {
            () = mailbox.wake.notified() => {
                let now = Instant::now();
                for cmd in mailbox.take().into_values() {
                    endpoint.command(now, cmd);
                }
            }
            got = sockets.recv() => match got {
                Ok(d) => {
                    endpoint.datagram_in(Instant::now(), d.from, d.ttl, d.multihop, &d.bytes);
                    drain(&sockets, &mut endpoint);
                }
                Err(e) => {
                    if let Some(suppressed) = recv_errors.admit(Instant::now()) {
                        error!(suppressed, "BFD: receive failed: {e}");
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            },
            () = sleep_until(wake) => {
                drain(&sockets, &mut endpoint);
                endpoint.handle_timeout(Instant::now());
            }
        }
        let now = Instant::now();
        while let Some(t) = endpoint.poll_transmit(now) {
            if sockets.send(t.to, t.from, &t.packet).is_err() {
                endpoint.count_send_error();
            }
        }
        let mut changed = false;
        while let Some(report) = endpoint.poll_report() {
            changed = true;
            if reports.send(report).await.is_err() {
                return;
            }
        }
        if changed || published.is_none_or(|t| now.saturating_duration_since(t) >= PUBLISH_PERIOD) {
            *snapshot.lock().unwrap_or_else(|p| p.into_inner()) = endpoint.sessions(now);
            published = Some(now);
        }
    }
}

/// Most datagrams taken in one go, so that commands and timers are not
/// kept waiting by a flood.
const DRAIN_MAX: usize = 4096;

/// Takes the datagrams already waiting (at most [`DRAIN_MAX`]).
fn drain(sockets: &BfdSockets, endpoint: &mut BfdEndpoint) {
    for _ in 0..DRAIN_MAX {
        let Some(d) = sockets.try_recv() else {
            return;
        };
        endpoint.datagram_in(Instant::now(), d.from, d.ttl, d.multihop, &d.bytes);
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}
