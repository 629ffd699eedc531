//! [`Shared`]: the state the neighbor manager shares with its edge tasks
//! (the listeners, unnumbered peering, the sweeper) and with the neighbor
//! tasks' exit hooks: the [`Registry`] behind a lock, and the way to
//! spawn a registered neighbor's task.

use super::registry::{Admit, LinkSource, Registry, Started};
use super::task::{NeighborTask, TaskMsg};
use super::{PeerEvent, PeerId};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Instant;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tracing::info;

/// A TCP-MD5 key for an address or prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Md5Key {
    pub addr: IpAddr,
    pub prefix_len: Option<u8>,
    pub key: String,
}

/// State shared by the manager, the listeners and the tasks' exit hooks.
pub(crate) struct Shared {
    reg: Mutex<Registry>,
    pub(super) events: mpsc::Sender<PeerEvent>,
    me: Weak<Shared>,
}

impl Shared {
    /// The shared state around `reg`, reporting to `events`.
    pub(super) fn new(reg: Registry, events: mpsc::Sender<PeerEvent>) -> Arc<Shared> {
        Arc::new_cyclic(|me| Shared {
            reg: Mutex::new(reg),
            events,
            me: me.clone(),
        })
    }

    /// The registry (a poisoned lock is taken over: its data stays whole
    /// between calls).
    pub(super) fn lock(&self) -> MutexGuard<'_, Registry> {
        self.reg.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Spawns the task of a registered neighbor (the registry is locked
    /// by the caller, so the task cannot end before its handle is noted).
    pub(super) fn start(&self, reg: &mut Registry, s: Box<Started>, first: Option<TcpStream>) {
        let Started {
            id,
            gen,
            spec,
            status,
            rx,
        } = *s;
        let weak = self.me.clone();
        let on_exit = Box::new(move || match weak.upgrade() {
            Some(shared) => shared.task_ended(id, gen),
            None => Vec::new(),
        });
        let task = NeighborTask::new(id, spec, self.events.clone(), status, rx, on_exit);
        let handle = tokio::spawn(task.run(first));
        reg.set_handle(id, gen, handle);
    }

    /// A task ended; returns the ids forgotten meanwhile (its own, unless
    /// its range remembers it), for the task to report as removed.
    fn task_ended(&self, id: PeerId, gen: u64) -> Vec<PeerId> {
        let mut reg = self.lock();
        reg.task_ended(id, gen, Instant::now());
        reg.take_gone()
    }

    /// Hands an accepted connection to its neighbor, creates (or brings
    /// back) a dynamic or unnumbered neighbor for it, or closes it.
    pub(crate) fn dispatch(&self, stream: TcpStream, from: SocketAddr) {
        let mut reg = self.lock();
        let now = Instant::now();
        let admit = match from {
            // From a link an `interface` entry matches, and no explicit
            // neighbor has the address: the link's router.
            SocketAddr::V6(v6)
                if v6.ip().is_unicast_link_local()
                    && reg.link_of(v6.scope_id()).is_some()
                    && !reg.is_explicit(from.ip()) =>
            {
                reg.link_neighbor(v6.scope_id(), *v6.ip(), LinkSource::Connection, now)
            }
            _ => reg.admit(from, now),
        };
        match admit {
            Admit::Handover(tx) => {
                if tx.send(TaskMsg::Incoming(stream)).is_err() {
                    info!(peer = %from, "refusing connection: neighbor is going away");
                }
            }
            Admit::Start(s) => self.start(&mut reg, s, Some(stream)),
            Admit::Refused => {}
        }
    }
}

impl Shared {
    /// The `interface` patterns configured.
    pub(crate) fn link_patterns(&self) -> Vec<String> {
        self.lock().link_patterns()
    }

    /// The links the patterns match now, by index.
    pub(crate) fn set_links(&self, links: std::collections::BTreeMap<u32, String>) {
        self.lock().set_links(links, Instant::now());
    }

    /// The router heard on link `ifindex` at `addr`, offered again when the
    /// link has no neighbor (one refused earlier).
    pub(crate) fn link_neighbor_if_none(&self, ifindex: u32, addr: std::net::Ipv6Addr) {
        let mut reg = self.lock();
        if reg.link_has_neighbor(ifindex) {
            return;
        }
        if let Admit::Start(s) =
            reg.link_neighbor(ifindex, addr, LinkSource::Advert, Instant::now())
        {
            self.start(&mut reg, s, None);
        }
    }

    /// A router found on link `ifindex` at `addr`: its neighbor starts (or
    /// comes back).
    pub(crate) fn link_neighbor(&self, ifindex: u32, addr: std::net::Ipv6Addr, source: LinkSource) {
        let mut reg = self.lock();
        if let Admit::Start(s) = reg.link_neighbor(ifindex, addr, source, Instant::now()) {
            self.start(&mut reg, s, None);
        }
    }
}
