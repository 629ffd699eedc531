//! [`PeerManager`]: spawns and tracks neighbor tasks and listeners, and
//! routes accepted connections and core commands to them. Its table of
//! neighbors, and which dynamic neighbors a range remembers while they are
//! down, is the [`Registry`], shared with the edge tasks through
//! [`Shared`]; a sweeper task forgets those whose time is up and reports
//! every forgotten neighbor to the core.

use super::listener;
use super::registry::{Counts, RangeEntry, RangeKey, Registry};
use super::shared::{Md5Key, Shared};
use super::spec::{LocalSettings, NeighborSpec};
use super::task::TaskMsg;
use super::{PeerCommand, PeerEvent, PeerId, PeerStatus};
use crate::config::{Config, NeighborConfig};
use bgp_proto::msg::notification::{cease_subcode, code};
use bgp_proto::Notification;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::{error, info, warn};

fn md5_keys(config: &Config) -> Vec<Md5Key> {
    config
        .neighbors
        .iter()
        .filter_map(|n| {
            let key = n.password.clone()?;
            match (n.address, n.range) {
                (Some(addr), _) => Some(Md5Key {
                    addr,
                    prefix_len: None,
                    key,
                }),
                (None, Some(net)) => Some(Md5Key {
                    addr: net.network(),
                    prefix_len: Some(net.prefix()),
                    key,
                }),
                _ => None,
            }
        })
        .collect()
}

/// Forgets the remembered dynamic neighbors whose time is up, and reports
/// every forgotten neighbor to the core, until the manager is gone.
async fn sweep_loop(shared: Weak<Shared>) {
    let mut tick = tokio::time::interval(SWEEP_PERIOD);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(shared) = shared.upgrade() else {
            return;
        };
        let gone = {
            let mut reg = shared.lock();
            reg.expire(Instant::now());
            reg.take_gone()
        };
        let events = shared.events.clone();
        drop(shared);
        for peer in gone {
            if events.send(PeerEvent::Removed { peer }).await.is_err() {
                return;
            }
        }
    }
}

/// How often remembered dynamic neighbors are checked for expiry (their
/// `remember_time` is kept to within this).
const SWEEP_PERIOD: Duration = Duration::from_secs(1);

/// Runs the neighbors of a configuration. Dropping it ends every neighbor
/// task (Cease / Administrative Shutdown) and stops listening.
pub struct PeerManager {
    shared: Arc<Shared>,
    listeners: Vec<(Arc<TcpListener>, JoinHandle<()>)>,
    sweeper: JoinHandle<()>,
    listen: Vec<SocketAddr>,
    keys: Vec<Md5Key>,
    /// Unnumbered peering, while some `interface` neighbor is configured.
    links: Option<JoinHandle<()>>,
}

impl PeerManager {
    /// Starts listeners and one task per explicit neighbor. Must be called
    /// inside a tokio runtime. A listen address that cannot be bound is
    /// logged and skipped (see [`PeerManager::local_addrs`]).
    pub fn spawn(config: &Config, events: mpsc::Sender<PeerEvent>) -> PeerManager {
        let local = LocalSettings::from_config(config);
        let shared = Shared::new(Registry::new(local), events);
        let keys = md5_keys(config);
        let mut listeners = Vec::new();
        for addr in &config.router.listen {
            match listener::bind(*addr) {
                Ok(l) => {
                    listener::install_keys(&l, &keys);
                    info!(listen = %addr, "listening for BGP");
                    let l = Arc::new(l);
                    let h = tokio::spawn(listener::accept_loop(l.clone(), shared.clone()));
                    listeners.push((l, h));
                }
                Err(e) => error!(listen = %addr, "cannot listen: {e}"),
            }
        }
        let sweeper = tokio::spawn(sweep_loop(Arc::downgrade(&shared)));
        let mut mgr = PeerManager {
            shared,
            listeners,
            sweeper,
            links: None,
            listen: config.router.listen.clone(),
            keys: Vec::new(),
        };
        mgr.keys = keys;
        mgr.add_neighbors(config, &config.neighbors);
        mgr.run_links(config);
        mgr
    }

    /// Starts unnumbered peering when an `interface` neighbor is
    /// configured, and stops it when none is left.
    fn run_links(&mut self, config: &Config) {
        let wanted = config.neighbors.iter().any(|n| n.interface.is_some());
        match (&self.links, wanted) {
            (None, true) => {
                let weak = Arc::downgrade(&self.shared);
                self.links = Some(tokio::spawn(super::links::link_loop(weak)));
            }
            (Some(h), false) => {
                h.abort();
                self.links = None;
                self.shared.set_links(Default::default());
            }
            _ => {}
        }
    }

    fn add_neighbors(&self, config: &Config, neighbors: &[NeighborConfig]) {
        let local = LocalSettings::from_config(config);
        let mut reg = self.shared.lock();
        reg.local = local.clone();
        for n in neighbors {
            match (n.address, n.range) {
                (Some(addr), _) => {
                    let addr = addr.to_canonical();
                    // An explicit neighbor takes the address over from a
                    // dynamic neighbor of a range.
                    let dynamic = reg
                        .by_addr
                        .get(&addr)
                        .copied()
                        .filter(|id| reg.peers.get(id).is_some_and(|e| e.range.is_some()));
                    if let Some(id) = dynamic {
                        if let Some(t) = reg.peers.get(&id).and_then(|e| e.task.as_ref()) {
                            let sub = cease_subcode::OTHER_CONFIGURATION_CHANGE;
                            let n = Notification::new(code::CEASE, sub, []);
                            let _ = t.tx.send(TaskMsg::Remove(Some(n)));
                        }
                        reg.take_over(id);
                    }
                    let spec = NeighborSpec {
                        addr,
                        config: n.clone(),
                        local: local.clone(),
                        dynamic: false,
                        link: None,
                    };
                    let started = reg.add(spec, None);
                    self.shared.start(&mut reg, started, None);
                }
                (None, _) => match RangeKey::of(n) {
                    Some(key) => {
                        reg.ranges.retain(|r| r.key != key);
                        reg.ranges.push(RangeEntry::new(key, n.clone()));
                    }
                    None => warn!("neighbor without address, range or interface ignored"),
                },
            }
        }
    }

    /// Sends a command to a neighbor; false if there is no such neighbor.
    /// A dynamic neighbor that is shut down stays listed, with its
    /// reconnects refused, until it is enabled; a command to one without a
    /// session (remembered, or shut down) only changes that.
    pub fn send(&self, peer: PeerId, cmd: PeerCommand) -> bool {
        self.shared.lock().command(peer, cmd, Instant::now())
    }

    /// Whether `peer` is a dynamic neighbor shut down by a command (its
    /// reconnects are refused).
    pub fn is_admin_down(&self, peer: PeerId) -> bool {
        self.shared.lock().is_admin_down(peer)
    }

    /// How many neighbors are running, remembered and shut down (the
    /// registry's size, for tests and diagnostics).
    pub fn counts(&self) -> Counts {
        self.shared.lock().counts()
    }

    /// The address of one neighbor (cheap: no status is copied).
    pub fn addr_of(&self, peer: PeerId) -> Option<IpAddr> {
        self.shared.lock().peers.get(&peer).map(|e| e.addr)
    }

    /// The state of every neighbor, by id.
    pub fn peers(&self) -> Vec<PeerStatus> {
        let reg = self.shared.lock();
        reg.peers
            .values()
            .map(|e| {
                let mut s = e.status.lock().unwrap_or_else(|p| p.into_inner()).clone();
                s.uptime = s.established_at.map(|t| t.elapsed());
                s
            })
            .collect()
    }

    /// Addresses actually listened on (with the real port when 0 was
    /// configured).
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.listeners
            .iter()
            .filter_map(|(l, _)| l.local_addr().ok())
            .collect()
    }

    /// Applies a new configuration: neighbors that disappeared or changed
    /// are removed (Cease / Peer De-configured or Other Configuration
    /// Change) and changed or new ones started; dynamic neighbors of a
    /// range that went away or changed are removed. Listen addresses are
    /// only read at start.
    pub fn reconfigure(&mut self, new: &Config) {
        if new.router.listen != self.listen {
            warn!("listen addresses changed: takes effect at restart");
        }
        let local = LocalSettings::from_config(new);
        let mut to_add = Vec::new();
        {
            let mut reg = self.shared.lock();
            let local_changed = reg.local != local;
            let mut remove: Vec<(PeerId, u8)> = Vec::new();
            let mut bfd_changed: Vec<(PeerId, NeighborConfig)> = Vec::new();
            for (id, e) in &reg.peers {
                let keep = !local_changed
                    && match (&e.config, &e.range) {
                        (Some(old), _) if new.neighbors.contains(old) => true,
                        (Some(old), _) => {
                            match new.neighbors.iter().find(|n| n.same_but_bfd(old)) {
                                Some(n) => {
                                    bfd_changed.push((*id, n.clone()));
                                    true
                                }
                                None => false,
                            }
                        }
                        (None, Some(key)) => new.neighbors.iter().any(|n| {
                            RangeKey::of(n).as_ref() == Some(key)
                                && reg.ranges.iter().any(|r| r.key == *key && r.config == *n)
                        }),
                        (None, None) => true,
                    };
                if !keep {
                    let still = e
                        .config
                        .as_ref()
                        .is_some_and(|old| new.neighbors.iter().any(|n| n.address == old.address));
                    let sub = if still {
                        cease_subcode::OTHER_CONFIGURATION_CHANGE
                    } else {
                        cease_subcode::PEER_DECONFIGURED
                    };
                    remove.push((*id, sub));
                }
            }
            for (id, sub) in remove {
                let Some(e) = reg.peers.get(&id) else {
                    continue;
                };
                if let Some(t) = &e.task {
                    let n = Notification::new(code::CEASE, sub, []);
                    let _ = t.tx.send(TaskMsg::Remove(Some(n)));
                }
                let (addr, dynamic) = (e.addr, e.range.is_some());
                if reg.by_addr.get(&addr) == Some(&id) {
                    reg.by_addr.remove(&addr);
                }
                if dynamic {
                    reg.doom(id);
                }
            }
            // BFD settings apply to the running session.
            for (id, n) in bfd_changed {
                if let Some(e) = reg.peers.get_mut(&id) {
                    if let Some(t) = &e.task {
                        let _ = t.tx.send(TaskMsg::BfdSettings(Box::new(n.clone())));
                    }
                    e.config = Some(n);
                }
            }
            // Explicit neighbors to start: not already running unchanged.
            for n in &new.neighbors {
                let running = n.address.is_some()
                    && !local_changed
                    && reg.peers.values().any(|e| e.config.as_ref() == Some(n));
                if n.address.is_some() && !running {
                    to_add.push(n.clone());
                }
            }
            // Ranges: unchanged ones keep their neighbors, running and
            // remembered.
            let ranges = new
                .neighbors
                .iter()
                .filter_map(|n| Some(RangeEntry::new(RangeKey::of(n)?, n.clone())))
                .collect();
            reg.set_ranges(ranges, !local_changed);
            reg.local = local;
        }
        // MD5 keys: remove stale ones, install the new set.
        let keys = md5_keys(new);
        let stale: Vec<Md5Key> = self
            .keys
            .iter()
            .filter(|k| !keys.contains(k))
            .map(|k| Md5Key {
                key: String::new(),
                ..k.clone()
            })
            .collect();
        for (l, _) in &self.listeners {
            listener::install_keys(l, &stale);
            listener::install_keys(l, &keys);
        }
        self.keys = keys;
        self.add_neighbors(new, &to_add);
        self.run_links(new);
    }

    /// Ends every neighbor (sending `notification`, default Cease /
    /// Administrative Shutdown), stops listening, and waits (up to a few
    /// seconds) for the tasks to flush their last messages.
    pub async fn shutdown(&mut self, notification: Option<Notification>) {
        for (_, h) in self.listeners.drain(..) {
            h.abort();
        }
        let n = notification.unwrap_or_else(|| {
            Notification::new(code::CEASE, cease_subcode::ADMINISTRATIVE_SHUTDOWN, [])
        });
        self.sweeper.abort();
        if let Some(h) = self.links.take() {
            h.abort();
        }
        let handles: Vec<JoinHandle<()>> = {
            let mut reg = self.shared.lock();
            reg.ranges.clear();
            reg.peers
                .values_mut()
                .filter_map(|e| {
                    let t = e.task.as_mut()?;
                    let _ = t.tx.send(TaskMsg::Remove(Some(n.clone())));
                    t.handle.take()
                })
                .collect()
        };
        for h in handles {
            let _ = tokio::time::timeout(Duration::from_secs(5), h).await;
        }
    }
}

impl Drop for PeerManager {
    fn drop(&mut self) {
        for (_, h) in self.listeners.drain(..) {
            h.abort();
        }
        self.sweeper.abort();
        if let Some(h) = self.links.take() {
            h.abort();
        }
        let reg = self.shared.lock();
        for t in reg.peers.values().filter_map(|e| e.task.as_ref()) {
            let n = Notification::new(code::CEASE, cease_subcode::ADMINISTRATIVE_SHUTDOWN, []);
            let _ = t.tx.send(TaskMsg::Remove(Some(n)));
        }
    }
}
