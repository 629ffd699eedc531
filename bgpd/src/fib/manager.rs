//! The FIB manager: desired table, next-hop resolution and reconciliation
//! with a [`Fib`] backend.
//!
//! Invariant: `installed` is our best knowledge of the backend's table (the
//! last dump, updated by every op the backend accepted). Every write is the
//! difference between [`FibManager::target`] and `installed` for a prefix, so
//! re-running reconciliation is idempotent and retries failed ops.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use bgp_proto::Prefix;
use serde::{Deserialize, Serialize};

use super::{Connected, Fib, FibChange, FibError, FibOp, FibRoute, NextHop};
use crate::config::FibConfig;

/// Why an IPv6 route with only IPv4 next hops stays pending.
const V6_VIA_V4: &str = "IPv6 route via an IPv4 next hop: not supported by the Linux kernel";

/// How many times a batch is retried after a resync when the backend
/// reports lost messages.
const MAX_DESYNC_RETRIES: usize = 3;

/// Where one route stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FibRouteState {
    /// Wanted and in the kernel.
    Installed,
    /// Wanted, but no next hop is on a connected network yet.
    Pending,
    /// Wanted, but the kernel refused it (see `error`).
    Error,
    /// Not wanted, left in the kernel by a previous run and kept until the
    /// startup phase ends.
    Stale,
}

/// One line of `rbgpctl show fib`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FibStatusEntry {
    /// The destination.
    pub prefix: Prefix,
    /// Next hops the RIB asked for.
    pub desired: Vec<IpAddr>,
    /// Next hops in the kernel (empty if not installed).
    pub installed: Vec<NextHop>,
    /// State.
    pub state: FibRouteState,
    /// The kernel's complaint, for [`FibRouteState::Error`].
    pub error: Option<String>,
    /// Whether the kernel holds exactly what we want for this prefix.
    pub in_sync: bool,
}

/// The FIB's state, for `rbgpctl show fib`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FibStatus {
    /// Whether stale routes of a previous run have been cleaned up.
    pub startup_complete: bool,
    /// Routes in the kernel.
    pub installed: usize,
    /// Routes waiting for a reachable next hop.
    pub pending: usize,
    /// Routes the kernel refused.
    pub errors: usize,
    /// Routes of a previous run still kept.
    pub stale: usize,
    /// Every route, sorted by prefix.
    pub routes: Vec<FibStatusEntry>,
}

/// Owns the desired table and drives a [`Fib`] backend towards it.
#[derive(Debug)]
pub struct FibManager<F: Fib> {
    fib: F,
    max_paths: usize,
    persist: bool,
    /// Prefix -> next hops asked for by the RIB (deduplicated, in RIB order).
    desired: HashMap<Prefix, Vec<IpAddr>>,
    /// Prefix -> next hops in the backend (sorted).
    installed: HashMap<Prefix, Vec<NextHop>>,
    /// Routes found at start, kept until `startup_complete`.
    preserved: HashSet<Prefix>,
    startup_done: bool,
    connected: Vec<Connected>,
    errors: HashMap<Prefix, String>,
}

impl<F: Fib> FibManager<F> {
    /// A manager writing to `fib` with the limits and exit behaviour of
    /// `cfg`. Call [`FibManager::start`] before anything else.
    pub fn new(fib: F, cfg: &FibConfig) -> Self {
        FibManager {
            fib,
            max_paths: cfg.max_paths.max(1),
            persist: cfg.persist,
            desired: HashMap::new(),
            installed: HashMap::new(),
            preserved: HashSet::new(),
            startup_done: false,
            connected: Vec::new(),
            errors: HashMap::new(),
        }
    }

    /// The backend.
    pub fn fib(&self) -> &F {
        &self.fib
    }

    /// The backend, mutably.
    pub fn fib_mut(&mut self) -> &mut F {
        &mut self.fib
    }

    /// Reads the connected networks and the routes a previous run left in
    /// the kernel. Those routes are kept (traffic keeps flowing while the
    /// sessions come up) until [`FibManager::startup_complete`].
    pub async fn start(&mut self) -> Result<(), FibError> {
        self.connected = self.fib.connected().await?;
        let routes = self.fib.dump().await?;
        self.installed = routes
            .into_iter()
            .map(|r| (r.prefix, r.next_hops))
            .collect();
        self.preserved = self.installed.keys().copied().collect();
        tracing::info!(
            kept = self.preserved.len(),
            connected = self.connected.len(),
            "FIB started; keeping routes of a previous run until startup completes"
        );
        Ok(())
    }

    /// Applies desired-state changes from the RIB and writes the resulting
    /// differences to the backend.
    pub async fn update(&mut self, changes: &[FibChange]) -> Result<(), FibError> {
        let mut dirty = Vec::with_capacity(changes.len());
        for change in changes {
            if change.next_hops.is_empty() {
                self.desired.remove(&change.prefix);
                self.errors.remove(&change.prefix);
            } else {
                let mut nhs: Vec<IpAddr> = Vec::with_capacity(change.next_hops.len());
                for nh in &change.next_hops {
                    if !nhs.contains(nh) {
                        nhs.push(*nh);
                    }
                }
                self.desired.insert(change.prefix, nhs);
            }
            dirty.push(change.prefix);
        }
        self.flush(dirty).await
    }

    /// Ends the startup phase: routes of a previous run that are not wanted
    /// now are deleted. Call when every peer sent End-of-RIB, or when the
    /// grace time has passed.
    pub async fn startup_complete(&mut self) -> Result<(), FibError> {
        if self.startup_done {
            return Ok(());
        }
        self.startup_done = true;
        let dirty: Vec<Prefix> = self.preserved.drain().collect();
        tracing::info!(
            candidates = dirty.len(),
            "FIB startup complete; removing stale routes"
        );
        self.flush(dirty).await
    }

    /// Whether [`FibManager::startup_complete`] has run.
    pub fn is_startup_complete(&self) -> bool {
        self.startup_done
    }

    /// Re-reads the connected networks; installs routes whose next hop has
    /// become reachable and removes those whose next hops are all gone.
    /// Returns whether the connected networks changed.
    pub async fn refresh_connected(&mut self) -> Result<bool, FibError> {
        let mut now = self.fib.connected().await?;
        now.sort_by_key(|c| (c.ifindex, c.prefix, c.local));
        let mut old = self.connected.clone();
        old.sort_by_key(|c| (c.ifindex, c.prefix, c.local));
        if now == old {
            return Ok(false);
        }
        tracing::info!(networks = now.len(), "connected networks changed");
        self.connected = now;
        let dirty = self.all_prefixes();
        self.flush(dirty).await?;
        Ok(true)
    }

    /// Full reconciliation: re-reads the connected networks and our routes
    /// in the kernel, and repairs every difference (routes deleted or changed
    /// behind our back, ops lost earlier). Returns how many routes differed.
    pub async fn resync(&mut self) -> Result<usize, FibError> {
        self.connected = self.fib.connected().await?;
        let mut last = None;
        for _ in 0..MAX_DESYNC_RETRIES {
            let routes = self.fib.dump().await?;
            let kernel: HashMap<Prefix, Vec<NextHop>> = routes
                .into_iter()
                .map(|r| (r.prefix, r.next_hops))
                .collect();
            let mut dirty = self.all_prefixes();
            dirty.extend(kernel.keys().filter(|p| !self.installed.contains_key(p)));
            self.installed = kernel;
            let differing = dirty
                .iter()
                .filter(|p| self.target(p) != self.current(p))
                .count();
            match self.flush_once(dirty).await {
                Ok(()) => return Ok(differing),
                Err(FibError::Desync(why)) => last = Some(why),
                Err(e) => return Err(e),
            }
        }
        Err(FibError::Desync(last.unwrap_or_default()))
    }

    /// Exit: removes our routes unless `persist` is set.
    pub async fn shutdown(&mut self) -> Result<(), FibError> {
        if self.persist {
            tracing::info!(
                routes = self.installed.len(),
                "FIB persist: leaving routes in kernel"
            );
            return Ok(());
        }
        let ops: Vec<FibOp> = self.installed.keys().map(|p| FibOp::Delete(*p)).collect();
        let failures = self.fib.apply(&ops).await?;
        if let Some(f) = failures.first() {
            tracing::warn!(failed = failures.len(), first = %f.error, "FIB cleanup incomplete");
        }
        Ok(())
    }

    /// The route the kernel should hold for `prefix` now, if any.
    pub fn target(&self, prefix: &Prefix) -> Option<Vec<NextHop>> {
        if let Some(nhs) = self.desired.get(prefix) {
            let resolved = self.resolve(prefix, nhs);
            if !resolved.is_empty() {
                return Some(resolved);
            }
        }
        if !self.startup_done && self.preserved.contains(prefix) {
            return self.installed.get(prefix).cloned();
        }
        None
    }

    /// Resolves the next hops of `prefix` against the connected networks:
    /// unreachable ones are dropped, IPv4-mapped IPv6 ones become IPv4, and
    /// at most `max_paths` remain (sorted).
    ///
    /// An IPv6 route cannot use an IPv4 gateway: Linux refuses it ("IPv6
    /// does not support RTA_VIA attribute"; 5.2 added only the reverse, IPv4
    /// routes via IPv6 gateways, RFC 5549). Such next hops are dropped too,
    /// and [`FibManager::status`] says why.
    pub fn resolve(&self, prefix: &Prefix, next_hops: &[IpAddr]) -> Vec<NextHop> {
        let mut out: Vec<NextHop> = next_hops
            .iter()
            .filter_map(|nh| {
                let gw = unmap(*nh);
                if prefix.addr().is_ipv6() && gw.is_ipv4() {
                    return None;
                }
                self.lookup_connected(gw).map(|c| NextHop {
                    gateway: gw,
                    ifindex: c.ifindex,
                })
            })
            .collect();
        out.truncate(self.max_paths);
        out.sort();
        out.dedup();
        out
    }

    /// The most specific connected network holding `gw` (never our own
    /// address).
    fn lookup_connected(&self, gw: IpAddr) -> Option<&Connected> {
        if self.connected.iter().any(|c| c.local == gw) {
            return None;
        }
        self.connected
            .iter()
            .filter(|c| c.prefix.contains(gw))
            .max_by_key(|c| c.prefix.len())
    }

    /// The connected networks in use.
    pub fn connected(&self) -> &[Connected] {
        &self.connected
    }

    /// Number of routes installed in the backend as far as we know.
    pub fn installed_count(&self) -> usize {
        self.installed.len()
    }

    /// Whether `prefix` is installed as far as we know.
    pub fn is_installed(&self, prefix: &Prefix) -> bool {
        self.installed.contains_key(prefix)
    }

    /// A snapshot for `rbgpctl show fib`.
    pub fn status(&self) -> FibStatus {
        let mut st = FibStatus {
            startup_complete: self.startup_done,
            ..FibStatus::default()
        };
        let mut prefixes = self.all_prefixes();
        prefixes.sort();
        for p in prefixes {
            let installed = self.installed.get(&p).cloned().unwrap_or_default();
            let target = self.target(&p);
            let in_sync = target.as_ref() == self.installed.get(&p);
            let mut error = self.errors.get(&p).cloned();
            let state = match self.desired.get(&p) {
                None => FibRouteState::Stale,
                Some(_) if error.is_some() => FibRouteState::Error,
                Some(nhs) if self.resolve(&p, nhs).is_empty() => {
                    if p.addr().is_ipv6() && nhs.iter().all(|nh| unmap(*nh).is_ipv4()) {
                        error = Some(V6_VIA_V4.to_string());
                    }
                    FibRouteState::Pending
                }
                Some(_) => FibRouteState::Installed,
            };
            match state {
                FibRouteState::Installed => st.installed += 1,
                FibRouteState::Pending => st.pending += 1,
                FibRouteState::Error => st.errors += 1,
                FibRouteState::Stale => st.stale += 1,
            }
            let desired = self.desired.get(&p).cloned().unwrap_or_default();
            st.routes.push(FibStatusEntry {
                prefix: p,
                desired,
                installed,
                state,
                error,
                in_sync,
            });
        }
        st
    }

    fn current(&self, prefix: &Prefix) -> Option<Vec<NextHop>> {
        self.installed.get(prefix).cloned()
    }

    /// Every prefix we want or hold.
    fn all_prefixes(&self) -> Vec<Prefix> {
        let mut v: Vec<Prefix> = self.desired.keys().copied().collect();
        v.extend(
            self.installed
                .keys()
                .filter(|p| !self.desired.contains_key(p)),
        );
        v
    }

    /// Writes the differences for `dirty`; on lost messages resyncs with a
    /// dump and retries.
    async fn flush(&mut self, dirty: Vec<Prefix>) -> Result<(), FibError> {
        match self.flush_once(dirty).await {
            Err(FibError::Desync(why)) => {
                tracing::warn!(%why, "FIB desync; dumping kernel table");
                self.resync().await.map(|_| ())
            }
            other => other,
        }
    }

    async fn flush_once(&mut self, mut dirty: Vec<Prefix>) -> Result<(), FibError> {
        dirty.sort();
        dirty.dedup();
        let mut ops = Vec::new();
        for p in dirty {
            let want = self.target(&p);
            if want.as_ref() == self.installed.get(&p) {
                // The kernel holds what we want: any old complaint is moot.
                self.errors.remove(&p);
                continue;
            }
            ops.push(match want {
                Some(nhs) => FibOp::Replace(FibRoute {
                    prefix: p,
                    next_hops: nhs,
                }),
                None => FibOp::Delete(p),
            });
        }
        if ops.is_empty() {
            return Ok(());
        }
        let failures = self.fib.apply(&ops).await?;
        let mut failed = vec![false; ops.len()];
        if !failures.is_empty() {
            tracing::warn!(
                refused = failures.len(),
                of = ops.len(),
                "FIB writes refused"
            );
        }
        for (n, f) in failures.into_iter().enumerate() {
            if let Some(slot) = failed.get_mut(f.index) {
                *slot = true;
            }
            if let Some(op) = ops.get(f.index) {
                if n < 10 {
                    tracing::warn!(prefix = %op.prefix(), error = %f.error, "FIB write refused");
                }
                self.errors.insert(op.prefix(), f.error);
            }
        }
        for (op, failed) in ops.into_iter().zip(failed) {
            if failed {
                continue;
            }
            match op {
                FibOp::Replace(r) => {
                    self.errors.remove(&r.prefix);
                    self.installed.insert(r.prefix, r.next_hops);
                }
                FibOp::Delete(p) => {
                    self.errors.remove(&p);
                    self.installed.remove(&p);
                }
            }
        }
        Ok(())
    }
}

/// `::ffff:a.b.c.d` (Cilium's next hop for IPv6 routes over IPv4 sessions)
/// is the IPv4 gateway a.b.c.d.
fn unmap(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
#[path = "manager_tests.rs"]
mod tests;
