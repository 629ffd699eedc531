//! [`PeerManager`]: spawns and tracks neighbor tasks and listeners, and
//! routes accepted connections and core commands to them.

use super::listener;
use super::mailbox;
use super::spec::{LocalSettings, NeighborSpec};
use super::task::{NeighborTask, TaskMsg};
use super::{PeerCommand, PeerEvent, PeerId, PeerStatus};
use crate::config::{Config, NeighborConfig};
use bgp_proto::msg::notification::{cease_subcode, code};
use bgp_proto::Notification;
use ipnetwork::IpNetwork;
use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::{error, info, warn};

/// A TCP-MD5 key for an address or prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Md5Key {
    pub addr: IpAddr,
    pub prefix_len: Option<u8>,
    pub key: String,
}

struct PeerEntry {
    tx: mailbox::Sender<TaskMsg>,
    status: Arc<Mutex<PeerStatus>>,
    addr: IpAddr,
    /// For a dynamic neighbor, its range.
    range: Option<IpNetwork>,
    /// For an explicit neighbor, its config (to diff on reconfigure).
    config: Option<NeighborConfig>,
    handle: Option<JoinHandle<()>>,
}

struct RangeEntry {
    net: IpNetwork,
    config: NeighborConfig,
    active: usize,
}

struct Registry {
    local: LocalSettings,
    next_id: PeerId,
    peers: BTreeMap<PeerId, PeerEntry>,
    by_addr: HashMap<IpAddr, PeerId>,
    ranges: Vec<RangeEntry>,
}

/// State shared by the manager, the listeners and the tasks' exit hooks.
pub(crate) struct Shared {
    reg: Mutex<Registry>,
    events: mpsc::Sender<PeerEvent>,
    me: Weak<Shared>,
}

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

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Registry> {
        self.reg.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Spawns a neighbor task (the registry is locked by the caller).
    fn spawn_neighbor(
        &self,
        reg: &mut Registry,
        spec: NeighborSpec,
        range: Option<IpNetwork>,
        first: Option<TcpStream>,
    ) -> PeerId {
        reg.next_id += 1;
        let id = reg.next_id;
        let status = Arc::new(Mutex::new(PeerStatus::new(id, &spec)));
        let (tx, rx) = mailbox::mailbox();
        let weak = self.me.clone();
        let on_exit = Box::new(move || {
            if let Some(shared) = weak.upgrade() {
                shared.unregister(id);
            }
        });
        let addr = spec.addr;
        let config = (!spec.dynamic).then(|| spec.config.clone());
        info!(
            peer = %addr,
            asn = spec.config.remote_as,
            id,
            dynamic = spec.dynamic,
            "neighbor added"
        );
        let task = NeighborTask::new(id, spec, self.events.clone(), status.clone(), rx, on_exit);
        let handle = tokio::spawn(task.run(first));
        reg.peers.insert(
            id,
            PeerEntry {
                tx,
                status,
                addr,
                range,
                config,
                handle: Some(handle),
            },
        );
        reg.by_addr.insert(addr, id);
        id
    }

    fn unregister(&self, id: PeerId) {
        let mut reg = self.lock();
        let Some(entry) = reg.peers.remove(&id) else {
            return;
        };
        if reg.by_addr.get(&entry.addr) == Some(&id) {
            reg.by_addr.remove(&entry.addr);
        }
        if let Some(net) = entry.range {
            if let Some(r) = reg.ranges.iter_mut().find(|r| r.net == net) {
                r.active = r.active.saturating_sub(1);
            }
        }
    }

    /// Hands an accepted connection to its neighbor, creates a dynamic
    /// neighbor for it, or closes it.
    pub(crate) fn dispatch(&self, stream: TcpStream, from: SocketAddr) {
        let ip = from.ip().to_canonical();
        let mut reg = self.lock();
        if let Some(entry) = reg.by_addr.get(&ip).and_then(|id| reg.peers.get(id)) {
            if entry.tx.send(TaskMsg::Incoming(stream)).is_err() {
                info!(peer = %ip, "refusing connection: neighbor is going away");
            }
            return;
        }
        let local = reg.local.clone();
        let Some(range) = reg.ranges.iter_mut().find(|r| r.net.contains(ip)) else {
            info!(peer = %from, "refusing connection: no neighbor or range matches");
            return;
        };
        if range.active >= range.config.limit {
            warn!(peer = %from, range = %range.net, "refusing connection: range limit reached");
            return;
        }
        range.active += 1;
        let net = range.net;
        let spec = NeighborSpec {
            addr: ip,
            config: range.config.clone(),
            local,
            dynamic: true,
        };
        self.spawn_neighbor(&mut reg, spec, Some(net), Some(stream));
    }
}

/// Runs the neighbors of a configuration. Dropping it ends every neighbor
/// task (Cease / Administrative Shutdown) and stops listening.
pub struct PeerManager {
    shared: Arc<Shared>,
    listeners: Vec<(Arc<TcpListener>, JoinHandle<()>)>,
    listen: Vec<SocketAddr>,
    keys: Vec<Md5Key>,
}

impl PeerManager {
    /// Starts listeners and one task per explicit neighbor. Must be called
    /// inside a tokio runtime. A listen address that cannot be bound is
    /// logged and skipped (see [`PeerManager::local_addrs`]).
    pub fn spawn(config: &Config, events: mpsc::Sender<PeerEvent>) -> PeerManager {
        let local = LocalSettings::from_config(config);
        let shared = Arc::new_cyclic(|me| Shared {
            reg: Mutex::new(Registry {
                local: local.clone(),
                next_id: 0,
                peers: BTreeMap::new(),
                by_addr: HashMap::new(),
                ranges: Vec::new(),
            }),
            events,
            me: me.clone(),
        });
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
        let mut mgr = PeerManager {
            shared,
            listeners,
            listen: config.router.listen.clone(),
            keys: Vec::new(),
        };
        mgr.keys = keys;
        mgr.add_neighbors(config, &config.neighbors);
        mgr
    }

    fn add_neighbors(&self, config: &Config, neighbors: &[NeighborConfig]) {
        let local = LocalSettings::from_config(config);
        let mut reg = self.shared.lock();
        reg.local = local.clone();
        for n in neighbors {
            match (n.address, n.range) {
                (Some(addr), _) => {
                    let spec = NeighborSpec {
                        addr: addr.to_canonical(),
                        config: n.clone(),
                        local: local.clone(),
                        dynamic: false,
                    };
                    self.shared.spawn_neighbor(&mut reg, spec, None, None);
                }
                (None, Some(net)) => {
                    reg.ranges.retain(|r| r.net != net);
                    reg.ranges.push(RangeEntry {
                        net,
                        config: n.clone(),
                        active: 0,
                    });
                }
                (None, None) => warn!("neighbor without address or range ignored"),
            }
        }
    }

    /// Sends a command to a neighbor; false if there is no such neighbor.
    pub fn send(&self, peer: PeerId, cmd: PeerCommand) -> bool {
        let reg = self.shared.lock();
        reg.peers
            .get(&peer)
            .is_some_and(|e| e.tx.send(TaskMsg::Command(cmd)).is_ok())
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
            for (id, e) in &reg.peers {
                let keep = !local_changed
                    && match (&e.config, e.range) {
                        (Some(old), _) => new.neighbors.iter().any(|n| n == old),
                        (None, Some(net)) => new.neighbors.iter().any(|n| {
                            n.range == Some(net)
                                && reg.ranges.iter().any(|r| r.net == net && r.config == *n)
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
                if let Some(e) = reg.peers.get(&id) {
                    let _ = e.tx.send(TaskMsg::Remove(Some(Notification::new(
                        code::CEASE,
                        sub,
                        [],
                    ))));
                    let addr = e.addr;
                    if reg.by_addr.get(&addr) == Some(&id) {
                        reg.by_addr.remove(&addr);
                    }
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
            // Ranges: keep the counts of unchanged ones.
            let mut ranges = Vec::new();
            for n in new.neighbors.iter().filter(|n| n.address.is_none()) {
                let Some(net) = n.range else { continue };
                let active = reg
                    .ranges
                    .iter()
                    .find(|r| r.net == net && r.config == *n && !local_changed)
                    .map_or(0, |r| r.active);
                ranges.push(RangeEntry {
                    net,
                    config: n.clone(),
                    active,
                });
            }
            reg.ranges = ranges;
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
        let handles: Vec<JoinHandle<()>> = {
            let mut reg = self.shared.lock();
            reg.ranges.clear();
            reg.peers
                .values_mut()
                .filter_map(|e| {
                    let _ = e.tx.send(TaskMsg::Remove(Some(n.clone())));
                    e.handle.take()
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
        let reg = self.shared.lock();
        for e in reg.peers.values() {
            let n = Notification::new(code::CEASE, cease_subcode::ADMINISTRATIVE_SHUTDOWN, []);
            let _ = e.tx.send(TaskMsg::Remove(Some(n)));
        }
    }
}
