//! The manager's table of neighbors ([`Registry`]): who has an entry, which
//! task runs it, and which dynamic neighbors a range remembers. It spawns
//! nothing and reads no clock (time is passed in), so its bookkeeping is
//! tested on a fake clock (`registry_tests.rs`).
//!
//! A dynamic neighbor (from a `range`) is in one of three states:
//! - **live**: a task runs it (from the accepted connection on);
//! - **remembered**: its session ended and no task runs; its entry (id,
//!   counters, last error) stays for the range's `remember_time`, so that
//!   `show peers` lists it and it gets its id and history back when it
//!   reconnects (as BIRD and FRR keep a dynamic neighbor for a while);
//! - **shut down**: `peer shutdown` or max-prefix stopped it; once its
//!   session closed no task runs, its reconnects are refused until `peer
//!   enable`, and time does not forget it (only a reload that drops or
//!   changes its range).
//!
//! Bounds, per range, whatever the churn of addresses: a connection is
//! admitted only while live + shut-down entries are fewer than `limit`, and
//! at most `limit` entries are remembered (the oldest forgotten first), so
//! a range never holds more than 2 × `limit` entries. Commands only move an
//! existing entry between states, so shutting neighbors down adds none.
//! Forgotten ids are collected ([`Registry::take_gone`]) for the manager to
//! report as [`PeerEvent::Removed`](super::PeerEvent::Removed), so the core
//! frees its side (RIB slot, metric series) too.

use super::mailbox;
use super::spec::{LocalSettings, NeighborSpec};
use super::task::TaskMsg;
use super::{PeerCommand, PeerId, PeerStatus};
use crate::config::NeighborConfig;
use crate::core::log_gate::LogGate;
use ipnetwork::IpNetwork;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

/// The task running a neighbor.
pub(super) struct Task {
    pub tx: mailbox::Sender<TaskMsg>,
    pub handle: Option<JoinHandle<()>>,
    /// Which of the neighbor's tasks this is: a remembered neighbor that
    /// comes back gets a new task under the same id, and only the current
    /// task's exit counts.
    gen: u64,
}

/// One neighbor's entry.
pub(super) struct PeerEntry {
    /// `None`: a remembered or shut-down dynamic neighbor.
    pub task: Option<Task>,
    pub status: Arc<Mutex<PeerStatus>>,
    pub addr: IpAddr,
    /// For a dynamic neighbor, its range.
    pub range: Option<RangeKey>,
    /// For an unnumbered neighbor, the index of its link.
    pub link: Option<u32>,
    /// For an explicit neighbor, its config (to diff on reconfigure).
    pub config: Option<NeighborConfig>,
    /// A dynamic neighbor shut down by a command: reconnects refused.
    admin_down: bool,
    /// A remembered dynamic neighbor: since when (its key in the range's
    /// `down` set).
    down_since: Option<Instant>,
    /// Its range was dropped or changed by a reload: forgotten when its
    /// task ends.
    doomed: bool,
}

/// What a range admits: the addresses of a prefix (`range`), or the
/// router on each link whose name matches a pattern (`interface`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum RangeKey {
    /// A `range`.
    Net(IpNetwork),
    /// An `interface` name or pattern.
    Links(String),
}

impl RangeKey {
    /// The key of a range or interface neighbor entry (`None` for an
    /// explicit neighbor).
    pub fn of(n: &NeighborConfig) -> Option<RangeKey> {
        match (n.address, n.range, &n.interface) {
            (None, Some(net), _) => Some(RangeKey::Net(net)),
            (None, None, Some(p)) => Some(RangeKey::Links(p.clone())),
            _ => None,
        }
    }
}

impl std::fmt::Display for RangeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RangeKey::Net(n) => n.fmt(f),
            RangeKey::Links(p) => write!(f, "interface {p}"),
        }
    }
}

/// A `range` (or `interface`) and the dynamic neighbors it holds.
pub(super) struct RangeEntry {
    pub key: RangeKey,
    pub config: NeighborConfig,
    /// Live and shut-down entries (admission stops at `limit`).
    active: usize,
    /// Remembered entries, oldest first.
    down: BTreeSet<(Instant, PeerId)>,
}

impl RangeEntry {
    /// A range with no neighbors yet.
    pub fn new(key: RangeKey, config: NeighborConfig) -> Self {
        RangeEntry {
            key,
            config,
            active: 0,
            down: BTreeSet::new(),
        }
    }

    fn remember_time(&self) -> Duration {
        Duration::from_secs(u64::from(self.config.remember_time))
    }
}

/// A neighbor task to spawn: the entry is registered, its mailbox made.
pub(super) struct Started {
    pub id: PeerId,
    pub gen: u64,
    pub spec: NeighborSpec,
    pub status: Arc<Mutex<PeerStatus>>,
    pub rx: mailbox::Receiver<TaskMsg>,
}

/// What to do with an accepted connection.
pub(super) enum Admit {
    /// Hand it to the neighbor's running task.
    Handover(mailbox::Sender<TaskMsg>),
    /// Start a task for it (a new dynamic neighbor, or a remembered one
    /// back under its id).
    Start(Box<Started>),
    /// Close it (logged, within bounds).
    Refused,
}

/// How many entries of each kind (dynamic neighbors only for the last
/// two).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Entries with a running task (explicit neighbors included).
    pub live: usize,
    /// Remembered dynamic neighbors.
    pub remembered: usize,
    /// Shut-down dynamic neighbors without a task.
    pub shut_down: usize,
}

/// Refusals of connections are logged at most once per period for each
/// reason, with the count left out: a node retrying every few seconds, or
/// a flood of sources, cannot fill a disk.
#[derive(Default)]
struct RefusalLogs {
    shut_down: LogGate,
    limit: LogGate,
    stranger: LogGate,
    /// Unnumbered neighbors replaced or gone with their link: a link's
    /// hosts can advertise from any address.
    retired: LogGate,
}

/// The neighbors of a manager; see the module header.
pub(super) struct Registry {
    pub local: LocalSettings,
    next_id: PeerId,
    next_gen: u64,
    pub peers: BTreeMap<PeerId, PeerEntry>,
    pub by_addr: HashMap<IpAddr, PeerId>,
    pub ranges: Vec<RangeEntry>,
    /// The links `interface` patterns match, by index (see
    /// `registry_links.rs`).
    links: BTreeMap<u32, String>,
    /// Ids forgotten and not yet reported.
    gone: Vec<PeerId>,
    refusals: RefusalLogs,
}

impl Registry {
    /// An empty registry.
    pub fn new(local: LocalSettings) -> Self {
        Registry {
            local,
            next_id: 0,
            next_gen: 0,
            peers: BTreeMap::new(),
            by_addr: HashMap::new(),
            ranges: Vec::new(),
            links: BTreeMap::new(),
            gone: Vec::new(),
            refusals: RefusalLogs::default(),
        }
    }

    pub(super) fn range_mut(&mut self, key: &RangeKey) -> Option<&mut RangeEntry> {
        self.ranges.iter_mut().find(|r| r.key == *key)
    }

    /// A new task (mailbox and generation) for entry `id`.
    fn new_task(&mut self, id: PeerId) -> Option<(u64, mailbox::Receiver<TaskMsg>)> {
        self.next_gen += 1;
        let gen = self.next_gen;
        let (tx, rx) = mailbox::mailbox();
        let e = self.peers.get_mut(&id)?;
        e.task = Some(Task {
            tx,
            handle: None,
            gen,
        });
        Some((gen, rx))
    }

    /// Registers a new neighbor under a new id; the caller spawns its task.
    pub fn add(&mut self, spec: NeighborSpec, range: Option<RangeKey>) -> Box<Started> {
        self.next_id += 1;
        let id = self.next_id;
        let status = Arc::new(Mutex::new(PeerStatus::new(id, &spec)));
        // A dynamic neighbor is logged when its session is established:
        // one added per connect would let anyone in a range fill the log.
        if spec.dynamic {
            debug!(peer = %spec.addr, asn = %spec.config.remote_as, id, "dynamic neighbor added");
        } else {
            info!(peer = %spec.addr, asn = %spec.config.remote_as, id, "neighbor added");
        }
        self.peers.insert(
            id,
            PeerEntry {
                task: None,
                status: status.clone(),
                addr: spec.addr,
                link: spec.link.as_ref().map(|l| l.ifindex),
                range,
                config: (!spec.dynamic).then(|| spec.config.clone()),
                admin_down: false,
                down_since: None,
                doomed: false,
            },
        );
        self.by_addr.insert(spec.addr, id);
        let (gen, rx) = self.new_task(id).unwrap_or_else(|| {
            // Unreachable: the entry was just inserted.
            let (_, rx) = mailbox::mailbox();
            (0, rx)
        });
        Box::new(Started {
            id,
            gen,
            spec,
            status,
            rx,
        })
    }

    /// Records the join handle of the task `gen` of `id`.
    pub fn set_handle(&mut self, id: PeerId, gen: u64, handle: JoinHandle<()>) {
        if let Some(t) = self.peers.get_mut(&id).and_then(|e| e.task.as_mut()) {
            if t.gen == gen {
                t.handle = Some(handle);
            }
        }
    }

    /// Decides what becomes of a connection accepted from `from` at `now`.
    pub fn admit(&mut self, from: SocketAddr, now: Instant) -> Admit {
        let ip = from.ip().to_canonical();
        if let Some(&id) = self.by_addr.get(&ip) {
            return self.admit_known(id, from, now);
        }
        let local = self.local.clone();
        let Some(range) = self
            .ranges
            .iter_mut()
            .find(|r| matches!(&r.key, RangeKey::Net(net) if net.contains(ip)))
        else {
            if let Some(suppressed) = self.refusals.stranger.admit(now) {
                info!(peer = %from, suppressed, "refusing connection: no neighbor or range matches");
            }
            return Admit::Refused;
        };
        if range.active >= range.config.limit {
            if let Some(suppressed) = self.refusals.limit.admit(now) {
                warn!(peer = %from, range = %range.key, suppressed, "refusing connection: range limit reached");
            }
            return Admit::Refused;
        }
        range.active += 1;
        let key = range.key.clone();
        let spec = NeighborSpec {
            addr: ip,
            config: range.config.clone(),
            local,
            dynamic: true,
            link: None,
        };
        Admit::Start(self.add(spec, Some(key)))
    }

    /// A connection from a neighbor that has an entry.
    pub(super) fn admit_known(&mut self, id: PeerId, from: SocketAddr, now: Instant) -> Admit {
        let Some(e) = self.peers.get(&id) else {
            return Admit::Refused;
        };
        if let Some(t) = &e.task {
            return Admit::Handover(t.tx.clone());
        }
        if e.admin_down {
            if let Some(suppressed) = self.refusals.shut_down.admit(now) {
                info!(
                    peer = %from, id, suppressed,
                    "refusing connection: dynamic neighbor is shut down (rbgpctl peer enable)"
                );
            }
            return Admit::Refused;
        }
        let (Some(key), since) = (e.range.clone(), e.down_since) else {
            return Admit::Refused;
        };
        let link = e.link;
        let local = self.local.clone();
        let Some(range) = self.range_mut(&key) else {
            return Admit::Refused;
        };
        if range.active >= range.config.limit {
            if let Some(suppressed) = self.refusals.limit.admit(now) {
                warn!(peer = %from, range = %key, suppressed, "refusing connection: range limit reached");
            }
            return Admit::Refused;
        }
        range.active += 1;
        if let Some(since) = since {
            range.down.remove(&(since, id));
        }
        let config = range.config.clone();
        let Some((gen, rx)) = self.new_task(id) else {
            return Admit::Refused;
        };
        let Some(e) = self.peers.get_mut(&id) else {
            return Admit::Refused;
        };
        e.down_since = None;
        let status = e.status.clone();
        debug!(peer = %from, id, "remembered dynamic neighbor is back");
        Admit::Start(Box::new(Started {
            id,
            gen,
            spec: NeighborSpec {
                addr: e.addr,
                config,
                local,
                dynamic: true,
                link: link.and_then(|ifindex| self.link_of(ifindex)),
            },
            status,
            rx,
        }))
    }

    /// The task `gen` of `id` ended at `now`: an explicit neighbor (or a
    /// dynamic one whose range is gone) is forgotten, a shut-down dynamic
    /// neighbor stays as it is, any other dynamic one is remembered.
    pub fn task_ended(&mut self, id: PeerId, gen: u64, now: Instant) {
        let Some(e) = self.peers.get_mut(&id) else {
            return;
        };
        if e.task.as_ref().map(|t| t.gen) != Some(gen) {
            return;
        }
        e.task = None;
        let (range, doomed, admin_down) = (e.range.clone(), e.doomed, e.admin_down);
        let Some(key) = range.filter(|_| !doomed) else {
            self.forget(id);
            return;
        };
        let Some(r) = self.range_mut(&key) else {
            self.forget(id);
            return;
        };
        if admin_down {
            return;
        }
        r.active = r.active.saturating_sub(1);
        self.remember(id, &key, now);
    }

    /// Puts `id` (of range `key`) among the remembered, forgetting the
    /// oldest beyond the range's bound.
    fn remember(&mut self, id: PeerId, key: &RangeKey, now: Instant) {
        let Some(e) = self.peers.get_mut(&id) else {
            return;
        };
        e.down_since = Some(now);
        let Some(r) = self.range_mut(key) else {
            return;
        };
        let mut forget = Vec::new();
        if r.config.remember_time == 0 {
            forget.push(id);
        } else {
            r.down.insert((now, id));
        }
        while r.down.len() > r.config.limit {
            if let Some((_, old)) = r.down.pop_first() {
                forget.push(old);
            }
        }
        for id in forget {
            self.forget(id);
        }
    }

    /// Drops the entry of `id` (already out of its range's `down` set, or
    /// never in it) and notes it for [`Registry::take_gone`].
    fn forget(&mut self, id: PeerId) {
        let Some(e) = self.peers.remove(&id) else {
            return;
        };
        if self.by_addr.get(&e.addr) == Some(&id) {
            self.by_addr.remove(&e.addr);
        }
        if let (Some(key), Some(since)) = (&e.range, e.down_since) {
            if let Some(r) = self.range_mut(key) {
                r.down.remove(&(since, id));
            }
        }
        self.gone.push(id);
    }

    /// Forgets the remembered neighbors whose time is up at `now`.
    pub fn expire(&mut self, now: Instant) {
        let mut forget = Vec::new();
        for r in &mut self.ranges {
            let keep = r.remember_time();
            while let Some(&(since, id)) = r.down.first() {
                if now.saturating_duration_since(since) < keep {
                    break;
                }
                r.down.pop_first();
                forget.push(id);
            }
        }
        for id in forget {
            self.forget(id);
        }
    }

    /// Ids forgotten since the last call.
    pub fn take_gone(&mut self) -> Vec<PeerId> {
        std::mem::take(&mut self.gone)
    }

    /// A command for `id`; false if there is no such neighbor (or its task
    /// is gone). For a dynamic neighbor, shutdown and enable also decide
    /// whether its reconnects are refused; without a task the rest (reset,
    /// UPDATEs) has nothing to act on.
    pub fn command(&mut self, id: PeerId, cmd: PeerCommand, now: Instant) -> bool {
        // Only these change a dynamic neighbor's standing in its range;
        // the rest (UPDATEs above all) go straight to the task.
        if matches!(cmd, PeerCommand::Shutdown(_) | PeerCommand::Enable) {
            self.note_admin(id, &cmd, now);
        }
        match self.peers.get(&id).map(|e| &e.task) {
            Some(Some(t)) => t.tx.send(TaskMsg::Command(cmd)).is_ok(),
            Some(None) => true,
            None => false,
        }
    }

    /// A dynamic neighbor shut down or enabled: its range's counts and
    /// memory follow.
    fn note_admin(&mut self, id: PeerId, cmd: &PeerCommand, now: Instant) {
        let Some(e) = self.peers.get_mut(&id) else {
            return;
        };
        let Some(key) = e.range.clone() else {
            return;
        };
        let taskless = e.task.is_none();
        match cmd {
            PeerCommand::Shutdown(_) if !e.admin_down => {
                e.admin_down = true;
                let since = e.down_since.take();
                if taskless {
                    // Remembered -> shut down: it holds a range slot
                    // (and is no longer forgotten by time).
                    if let Some(r) = self.range_mut(&key) {
                        if let Some(since) = since {
                            r.down.remove(&(since, id));
                        }
                        r.active += 1;
                    }
                }
            }
            PeerCommand::Enable if e.admin_down => {
                e.admin_down = false;
                if taskless {
                    // Shut down -> remembered, for a full
                    // `remember_time` to come back in.
                    if let Some(r) = self.range_mut(&key) {
                        r.active = r.active.saturating_sub(1);
                    }
                    self.remember(id, &key, now);
                }
            }
            _ => {}
        }
    }

    /// Whether `id` is a dynamic neighbor shut down by a command.
    pub fn is_admin_down(&self, id: PeerId) -> bool {
        self.peers.get(&id).is_some_and(|e| e.admin_down)
    }

    /// An explicit neighbor takes the address of the dynamic neighbor `id`
    /// over: the entry leaves its range at once (the range's slot is free
    /// for other nodes) and is forgotten when its task ends (the caller
    /// tells it to stop), or now if it has none.
    pub fn take_over(&mut self, id: PeerId) {
        let Some(e) = self.peers.get_mut(&id) else {
            return;
        };
        let Some(key) = e.range.take() else {
            return;
        };
        let since = e.down_since.take();
        // Counted in `active`: a running task, or shut down without one.
        let counted = since.is_none() && (e.task.is_some() || e.admin_down);
        if let Some(r) = self.range_mut(&key) {
            if counted {
                r.active = r.active.saturating_sub(1);
            }
            if let Some(since) = since {
                r.down.remove(&(since, id));
            }
        }
        self.doom(id);
    }

    /// Marks the dynamic neighbor `id` as going away with its range (a
    /// reload dropped or changed it): a running task is told to stop by the
    /// caller and forgotten when it ends; an entry without a task is
    /// forgotten now.
    pub fn doom(&mut self, id: PeerId) {
        let Some(e) = self.peers.get_mut(&id) else {
            return;
        };
        e.doomed = true;
        if e.task.is_none() {
            self.forget(id);
        }
    }

    /// Replaces the ranges. With `keep`, a range whose prefix and config
    /// did not change keeps its state (counts, remembered neighbors): its
    /// neighbors stay.
    pub fn set_ranges(&mut self, new: Vec<RangeEntry>, keep: bool) {
        let mut old = std::mem::take(&mut self.ranges);
        self.ranges = new
            .into_iter()
            .map(|n| {
                let same = old
                    .iter()
                    .position(|r| keep && r.key == n.key && r.config == n.config);
                match same {
                    Some(i) => old.swap_remove(i),
                    None => n,
                }
            })
            .collect();
    }

    /// Entries by kind.
    pub fn counts(&self) -> Counts {
        let mut c = Counts::default();
        for e in self.peers.values() {
            match (&e.task, e.admin_down) {
                (Some(_), _) => c.live += 1,
                (None, true) => c.shut_down += 1,
                (None, false) => c.remembered += 1,
            }
        }
        c
    }
}

#[path = "registry_links.rs"]
mod links;
pub(super) use links::LinkSource;

#[cfg(test)]
#[path = "registry_tests.rs"]
mod tests;
