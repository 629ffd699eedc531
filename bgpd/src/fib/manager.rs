//! The FIB manager: desired table, next-hop resolution and reconciliation
//! with a [`Fib`] backend.
//!
//! Invariant: `installed` is our best knowledge of the backend's table (the
//! last dump, updated by every op the backend accepted). Every write is the
//! difference between [`FibManager::target`] and `installed` for a prefix, so
//! re-running reconciliation is idempotent and retries failed ops.

use std::collections::HashMap;
use std::net::IpAddr;

use super::prefix_map::{PrefixMap, PrefixQueue};
use hashbrown::HashSet as FastSet;

use super::lists::{Lists, NONE};

use bgp_proto::Prefix;
use serde::{Deserialize, Serialize};

use super::{Connected, Fib, FibChange, FibError, FibOp, FibRoute, NextHop, OpFailure};
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

/// The FIB in a few numbers plus the routes a previous run left behind:
/// what the core polls (startup phase, metrics) without the cost of a full
/// [`FibStatus`] of every route.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FibSummary {
    /// Whether stale routes of a previous run have been cleaned up.
    pub startup_complete: bool,
    /// Routes in the kernel as far as we know.
    pub installed: usize,
    /// Routes of a previous run that are not wanted now, as installed.
    pub stale: Vec<FibRoute>,
}

/// Most ops handed to the backend at once: bounds the memory of a big load
/// (one op and a few dozen netlink bytes per route in flight, not a
/// million), while each batch is still large enough to fill the socket.
pub const WRITE_BATCH: usize = 16_384;

/// What the manager knows about one prefix. Next-hop lists are interned
/// (a table of a million routes shares a handful of lists), so an entry
/// is two list ids and a flag.
#[derive(Debug, Clone, Copy)]
struct Entry {
    /// Id in `wanted` of the next hops the RIB asked for, or [`NONE`].
    desired: u32,
    /// Id in `kernel` of the next hops in the backend, or [`NONE`].
    installed: u32,
    /// Queued in `dirty`.
    dirty: bool,
}

impl Entry {
    const EMPTY: Entry = Entry {
        desired: NONE,
        installed: NONE,
        dirty: false,
    };
}

/// Owns the desired table and drives a [`Fib`] backend towards it.
///
/// Changes are noted first ([`FibManager::note`]: the desired table and a
/// queue of dirty prefixes) and written in bounded batches
/// ([`FibManager::write_pending`]), so a full table never exists as one
/// batch of owned operations. While the backend writes one batch, the next
/// one is prepared.
#[derive(Debug)]
pub struct FibManager<F: Fib> {
    fib: F,
    t: Table,
}

/// Everything the manager knows, apart from the backend: split out so a
/// batch can be prepared while the backend writes the previous one.
#[derive(Debug)]
struct Table {
    max_paths: usize,
    persist: bool,
    routes: PrefixMap<Entry>,
    /// Next-hop lists asked for by the RIB (deduplicated, in RIB order).
    wanted: Lists<IpAddr>,
    /// Next-hop lists as written to the backend (resolved, sorted).
    kernel: Lists<NextHop>,
    /// `kernel` lists freed since the backend was last told (it may drop
    /// what it keeps for them, see [`Fib::release_next_hops`]).
    freed: Vec<Box<[NextHop]>>,
    /// Per `wanted` id: its resolution for an IPv4 and an IPv6 prefix, as
    /// an id in `kernel` (holding a reference) or [`NONE`] if not computed
    /// since the connected networks last changed.
    resolved: Vec<[u32; 2]>,
    /// Prefixes to reconcile.
    dirty: PrefixQueue,
    installed_count: usize,
    /// Routes found at start, kept until `startup_complete`.
    preserved: FastSet<Prefix>,
    startup_done: bool,
    connected: Vec<Connected>,
    errors: HashMap<Prefix, String>,
}

/// A batch handed to the backend. `entries` are already updated as if
/// every op succeeds; `undo` (one per op) puts back what failed.
#[derive(Debug, Default)]
struct Batch {
    ops: Vec<FibOp>,
    undo: Vec<Undo>,
}

/// What one op changed in its entry: the `kernel` ids before (still
/// referenced by the batch) and after.
#[derive(Debug, Clone, Copy)]
struct Undo {
    prefix: Prefix,
    old: u32,
    new: u32,
}

impl<F: Fib> FibManager<F> {
    /// A manager writing to `fib` with the limits and exit behaviour of
    /// `cfg`. Call [`FibManager::start`] before anything else.
    pub fn new(fib: F, cfg: &FibConfig) -> Self {
        FibManager {
            fib,
            t: Table {
                max_paths: cfg.max_paths.max(1),
                persist: cfg.persist,
                routes: PrefixMap::default(),
                wanted: Lists::new(),
                kernel: Lists::new(),
                freed: Vec::new(),
                resolved: Vec::new(),
                dirty: PrefixQueue::default(),
                installed_count: 0,
                preserved: FastSet::default(),
                startup_done: false,
                connected: Vec::new(),
                errors: HashMap::new(),
            },
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
        let connected = self.fib.connected().await?;
        self.t.set_connected(connected);
        let routes = self.fib.dump().await?;
        self.t.load_installed(routes);
        self.t.preserved = self
            .t
            .routes
            .iter()
            .filter(|(_, e)| e.installed != NONE)
            .map(|(p, _)| p)
            .collect();
        tracing::info!(
            kept = self.t.preserved.len(),
            connected = self.t.connected.len(),
            "FIB started; keeping routes of a previous run until startup completes"
        );
        Ok(())
    }

    /// Applies desired-state changes from the RIB and writes the resulting
    /// differences to the backend.
    pub async fn update(&mut self, changes: &[FibChange]) -> Result<(), FibError> {
        self.note(changes);
        self.write_all().await.map(|_| ())
    }

    /// Records desired-state changes from the RIB without writing them:
    /// they wait in the dirty queue for [`FibManager::write_pending`].
    pub fn note(&mut self, changes: &[FibChange]) {
        self.t.note(changes);
    }

    /// Whether noted changes wait to be written.
    pub fn has_pending_writes(&self) -> bool {
        self.t.has_pending()
    }

    /// Writes up to `batches` batches of [`WRITE_BATCH`] queued prefixes;
    /// returns how many ops it wrote (refused ones included). On lost
    /// messages the kernel table is re-read and repaired.
    pub async fn write_pending(&mut self, batches: usize) -> Result<usize, FibError> {
        match self.write_batches(batches).await {
            Err(FibError::Desync(why)) => {
                tracing::warn!(%why, "FIB desync; dumping kernel table");
                self.resync().await
            }
            other => other,
        }
    }

    /// Ends the startup phase: routes of a previous run that are not wanted
    /// now are deleted. Call when every peer sent End-of-RIB, or when the
    /// grace time has passed.
    pub async fn startup_complete(&mut self) -> Result<(), FibError> {
        if self.t.startup_done {
            return Ok(());
        }
        self.t.startup_done = true;
        let preserved = std::mem::take(&mut self.t.preserved);
        tracing::info!(
            candidates = preserved.len(),
            "FIB startup complete; removing stale routes"
        );
        for p in preserved {
            self.t.mark_dirty(p);
        }
        self.write_all().await.map(|_| ())
    }

    /// Whether [`FibManager::startup_complete`] has run.
    pub fn is_startup_complete(&self) -> bool {
        self.t.startup_done
    }

    /// Re-reads the connected networks; installs routes whose next hop has
    /// become reachable and removes those whose next hops are all gone.
    /// Returns whether the connected networks changed.
    pub async fn refresh_connected(&mut self) -> Result<bool, FibError> {
        let now = self.fib.connected().await?;
        if !self.t.set_connected(now) {
            return Ok(false);
        }
        tracing::info!(
            networks = self.t.connected.len(),
            "connected networks changed"
        );
        self.t.mark_all_dirty();
        self.write_all().await?;
        Ok(true)
    }

    /// Full reconciliation: re-reads the connected networks and our routes
    /// in the kernel, and repairs every difference (routes deleted or changed
    /// behind our back, ops lost earlier). Returns how many routes differed.
    pub async fn resync(&mut self) -> Result<usize, FibError> {
        let connected = self.fib.connected().await?;
        self.t.set_connected(connected);
        let mut last = None;
        for _ in 0..MAX_DESYNC_RETRIES {
            let routes = self.fib.dump().await?;
            self.t.load_installed(routes);
            self.t.mark_all_dirty();
            match self.write_batches(usize::MAX).await {
                Ok(written) => return Ok(written),
                Err(FibError::Desync(why)) => last = Some(why),
                Err(e) => return Err(e),
            }
        }
        Err(FibError::Desync(last.unwrap_or_default()))
    }

    /// Exit: removes our routes unless `persist` is set.
    pub async fn shutdown(&mut self) -> Result<(), FibError> {
        if self.t.persist {
            tracing::info!(
                routes = self.t.installed_count,
                "FIB persist: leaving routes in kernel"
            );
            return Ok(());
        }
        let mut prefixes: Vec<Prefix> = self
            .t
            .routes
            .iter()
            .filter(|(_, e)| e.installed != NONE)
            .map(|(p, _)| p)
            .collect();
        prefixes.sort_unstable();
        let mut failed = 0;
        let mut first = None;
        for chunk in prefixes.chunks(WRITE_BATCH) {
            let ops: Vec<FibOp> = chunk.iter().map(|p| FibOp::Delete(*p)).collect();
            let failures = self.fib.apply(&ops).await?;
            failed += failures.len();
            if first.is_none() {
                first = failures.into_iter().next().map(|f| f.error);
            }
        }
        if let Some(first) = first {
            tracing::warn!(failed, %first, "FIB cleanup incomplete");
        }
        self.fib.cleanup().await
    }

    /// The route the kernel should hold for `prefix` now, if any.
    pub fn target(&self, prefix: &Prefix) -> Option<Vec<NextHop>> {
        self.t.target(prefix)
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
        self.t.resolve_family(prefix.addr().is_ipv6(), next_hops)
    }

    /// The connected networks in use.
    pub fn connected(&self) -> &[Connected] {
        &self.t.connected
    }

    /// Number of routes installed in the backend as far as we know.
    pub fn installed_count(&self) -> usize {
        self.t.installed_count
    }

    /// Whether `prefix` is installed as far as we know.
    pub fn is_installed(&self, prefix: &Prefix) -> bool {
        self.t
            .routes
            .get(prefix)
            .is_some_and(|e| e.installed != NONE)
    }

    /// Counts and stale routes; cheap next to [`FibManager::status`].
    pub fn summary(&self) -> FibSummary {
        self.t.summary()
    }

    /// A snapshot for `rbgpctl show fib`.
    pub fn status(&self) -> FibStatus {
        self.t.status()
    }

    /// Writes every queued change; on lost messages resyncs.
    async fn write_all(&mut self) -> Result<usize, FibError> {
        let mut written = 0;
        while self.has_pending_writes() {
            written += self.write_pending(usize::MAX).await?;
        }
        Ok(written)
    }

    /// Up to `batches` batches, each prepared while the backend writes the
    /// one before. An error leaves the unwritten prefixes queued.
    async fn write_batches(&mut self, batches: usize) -> Result<usize, FibError> {
        let mut written = 0;
        let mut left = batches;
        // Lists released and not yet seen by the backend's next write.
        let mut unsent = self.release_freed();
        let mut batch = self.t.prepare_next(left);
        while !batch.ops.is_empty() {
            left = left.saturating_sub(1);
            let (result, next) = {
                let mut apply = std::pin::pin!(self.fib.apply(&batch.ops));
                // The first poll hands the batch to the backend (a blocking
                // thread for netlink); then the next batch is prepared.
                let first = futures::poll!(apply.as_mut());
                let next = self.t.prepare_next(left);
                let result = match first {
                    std::task::Poll::Ready(r) => r,
                    std::task::Poll::Pending => apply.await,
                };
                (result, next)
            };
            let settled = self.t.settle(batch, result);
            unsent = self.release_freed();
            match settled {
                Ok(n) => written += n,
                Err(e) => {
                    self.t.abandon(next);
                    let _ = self.release_freed();
                    return Err(e);
                }
            }
            batch = next;
        }
        if unsent {
            // An empty batch: the backend deletes what it kept for them.
            self.fib.apply(&[]).await?;
        }
        Ok(written)
    }

    /// Tells the backend which next-hop lists no route uses any more;
    /// true if there were any.
    fn release_freed(&mut self) -> bool {
        if self.t.freed.is_empty() {
            return false;
        }
        let freed = std::mem::take(&mut self.t.freed);
        self.fib.release_next_hops(&freed);
        true
    }
}

impl Table {
    fn note(&mut self, changes: &[FibChange]) {
        for change in changes {
            let desired = if change.next_hops.is_empty() {
                if !self.errors.is_empty() {
                    self.errors.remove(&change.prefix);
                }
                NONE
            } else if has_duplicates(&change.next_hops) {
                let mut nhs: Vec<IpAddr> = Vec::with_capacity(change.next_hops.len());
                for nh in &change.next_hops {
                    if !nhs.contains(nh) {
                        nhs.push(*nh);
                    }
                }
                self.wanted.intern(&nhs)
            } else {
                self.wanted.intern(&change.next_hops)
            };
            let entry = self.routes.get_or_insert(change.prefix, Entry::EMPTY);
            let old = std::mem::replace(&mut entry.desired, desired);
            if !entry.dirty {
                entry.dirty = true;
                self.dirty.push(change.prefix);
            }
            self.release_wanted(old);
        }
    }

    fn has_pending(&self) -> bool {
        self.dirty.has_pending()
    }

    /// The next batch of [`WRITE_BATCH`] prefixes that has an op (prefixes
    /// already as wanted make none), or an empty one when the queue runs
    /// dry or no batch is `left`.
    fn prepare_next(&mut self, left: usize) -> Batch {
        let mut batch = Batch::default();
        while left > 0 && batch.ops.is_empty() && self.has_pending() {
            batch = self.prepare(WRITE_BATCH);
        }
        batch
    }

    /// Takes up to `max` prefixes off the dirty queue and makes the ops that
    /// bring the backend to each one's target, updating the entries as if
    /// every op succeeds.
    fn prepare(&mut self, max: usize) -> Batch {
        let mut prefixes = self.dirty.take(max);
        prefixes.sort_unstable();
        let mut batch = Batch::default();
        for p in prefixes {
            let Some(entry) = self.routes.get_mut(&p) else {
                continue;
            };
            entry.dirty = false;
            let entry = *entry;
            let want = self.target_id(&p, entry);
            if want == entry.installed {
                // The kernel holds what we want: any old complaint is moot.
                if !self.errors.is_empty() {
                    self.errors.remove(&p);
                }
                if want == NONE && entry.desired == NONE {
                    self.routes.remove(&p);
                }
                continue;
            }
            batch.ops.push(match want {
                NONE => FibOp::Delete(p),
                id => FibOp::Replace(FibRoute {
                    prefix: p,
                    next_hops: self.kernel.get(id).to_vec(),
                }),
            });
            batch.undo.push(Undo {
                prefix: p,
                old: entry.installed,
                new: want,
            });
            self.kernel.retain(want);
            self.set_installed(p, want);
        }
        batch
    }

    /// Records the outcome of a written batch: refused ops are put back and
    /// remembered as errors. Returns how many ops were written.
    fn settle(
        &mut self,
        batch: Batch,
        result: Result<Vec<OpFailure>, FibError>,
    ) -> Result<usize, FibError> {
        let failures = match result {
            Ok(f) => f,
            Err(e) => {
                self.abandon(batch);
                return Err(e);
            }
        };
        let mut failed = vec![false; batch.ops.len()];
        if !failures.is_empty() {
            tracing::warn!(
                refused = failures.len(),
                of = batch.ops.len(),
                "FIB writes refused"
            );
        }
        for (n, f) in failures.into_iter().enumerate() {
            let Some(undo) = batch.undo.get(f.index) else {
                continue;
            };
            if n < 10 {
                tracing::warn!(prefix = %undo.prefix, error = %f.error, "FIB write refused");
            }
            if let Some(slot) = failed.get_mut(f.index) {
                *slot = true;
            }
            self.errors.insert(undo.prefix, f.error);
        }
        for (undo, failed) in batch.undo.iter().zip(failed) {
            if failed {
                self.revert(undo);
            } else {
                if !self.errors.is_empty() {
                    self.errors.remove(&undo.prefix);
                }
                self.release_kernel(undo.old);
            }
        }
        Ok(batch.ops.len())
    }

    /// A batch whose outcome is unknown or that was never written: its
    /// entries are put back and queued again.
    fn abandon(&mut self, batch: Batch) {
        for undo in &batch.undo {
            self.revert(undo);
            self.mark_dirty(undo.prefix);
        }
    }

    /// Puts back the installed list an op replaced.
    fn revert(&mut self, undo: &Undo) {
        let current = self.routes.get(&undo.prefix).map_or(NONE, |e| e.installed);
        if current == undo.new {
            self.routes.get_or_insert(undo.prefix, Entry::EMPTY);
            self.set_installed(undo.prefix, undo.old);
            self.release_kernel(undo.new);
        } else {
            self.release_kernel(undo.old);
        }
    }

    /// Sets the installed list of an existing entry (the reference moves
    /// with the caller), keeping the count, and forgets an entry that is
    /// neither wanted nor installed any more.
    fn set_installed(&mut self, prefix: Prefix, id: u32) {
        let Some(e) = self.routes.get_mut(&prefix) else {
            return;
        };
        let old = std::mem::replace(&mut e.installed, id);
        match (old == NONE, id == NONE) {
            (true, false) => self.installed_count += 1,
            (false, true) => self.installed_count -= 1,
            _ => {}
        }
        if id == NONE && e.desired == NONE && !e.dirty {
            self.routes.remove(&prefix);
        }
    }

    /// The route the kernel should hold for `prefix` now, if any.
    fn target(&self, prefix: &Prefix) -> Option<Vec<NextHop>> {
        let entry = self.routes.get(prefix)?;
        let resolved = self.resolve_family(prefix.addr().is_ipv6(), self.wanted.get(entry.desired));
        if !resolved.is_empty() {
            return Some(resolved);
        }
        if !self.startup_done && entry.installed != NONE && self.preserved.contains(prefix) {
            return Some(self.kernel.get(entry.installed).to_vec());
        }
        None
    }

    fn resolve_family(&self, ipv6: bool, next_hops: &[IpAddr]) -> Vec<NextHop> {
        let mut out: Vec<NextHop> = next_hops
            .iter()
            .filter_map(|nh| {
                // `::ffff:a.b.c.d` (Cilium's next hop for IPv6 routes over IPv4
                // sessions) is the IPv4 gateway a.b.c.d.
                let gw = nh.to_canonical();
                if ipv6 && gw.is_ipv4() {
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

    fn summary(&self) -> FibSummary {
        let stale = if self.startup_done {
            Vec::new()
        } else {
            let mut stale: Vec<FibRoute> = self
                .preserved
                .iter()
                .filter_map(|p| {
                    let e = self.routes.get(p)?;
                    (e.desired == NONE && e.installed != NONE).then(|| FibRoute {
                        prefix: *p,
                        next_hops: self.kernel.get(e.installed).to_vec(),
                    })
                })
                .collect();
            stale.sort_unstable_by_key(|r| r.prefix);
            stale
        };
        FibSummary {
            startup_complete: self.startup_done,
            installed: self.installed_count,
            stale,
        }
    }

    fn status(&self) -> FibStatus {
        let mut st = FibStatus {
            startup_complete: self.startup_done,
            ..FibStatus::default()
        };
        let mut prefixes: Vec<Prefix> = self.routes.keys().collect();
        prefixes.sort_unstable();
        for p in prefixes {
            let Some(entry) = self.routes.get(&p) else {
                continue;
            };
            if entry.desired == NONE && entry.installed == NONE {
                continue;
            }
            let installed = self.kernel.get(entry.installed).to_vec();
            let target = self.target(&p);
            let in_sync = target.as_deref() == (entry.installed != NONE).then_some(&installed[..]);
            let mut error = self.errors.get(&p).cloned();
            let desired = self.wanted.get(entry.desired);
            let state = if entry.desired == NONE {
                FibRouteState::Stale
            } else if error.is_some() {
                FibRouteState::Error
            } else if self.resolve_family(p.addr().is_ipv6(), desired).is_empty() {
                if p.addr().is_ipv6() && desired.iter().all(|nh| nh.to_canonical().is_ipv4()) {
                    error = Some(V6_VIA_V4.to_string());
                }
                FibRouteState::Pending
            } else {
                FibRouteState::Installed
            };
            match state {
                FibRouteState::Installed => st.installed += 1,
                FibRouteState::Pending => st.pending += 1,
                FibRouteState::Error => st.errors += 1,
                FibRouteState::Stale => st.stale += 1,
            }
            st.routes.push(FibStatusEntry {
                prefix: p,
                desired: desired.to_vec(),
                installed,
                state,
                error,
                in_sync,
            });
        }
        st
    }

    /// Takes the connected networks; true if they differ from before, in
    /// which case every cached resolution is dropped.
    fn set_connected(&mut self, mut now: Vec<Connected>) -> bool {
        now.sort_by_key(|c| (c.ifindex, c.prefix, c.local));
        if now == self.connected {
            return false;
        }
        self.connected = now;
        // Emptied: `target_id` grows it again as lists are resolved.
        for pair in std::mem::take(&mut self.resolved) {
            for id in pair {
                self.release_kernel(id);
            }
        }
        true
    }

    /// Replaces what we believe the backend holds with `routes` (a dump).
    fn load_installed(&mut self, routes: Vec<FibRoute>) {
        // The old references go only after the dump's are taken, so a list
        // still in the kernel is never freed in between (a backend would
        // drop its kernel object, and the routes with it).
        let mut old: Vec<u32> = self
            .routes
            .iter_mut()
            .map(|(_, e)| std::mem::replace(&mut e.installed, NONE))
            .filter(|id| *id != NONE)
            .collect();
        self.installed_count = 0;
        for r in routes {
            let mut nhs = r.next_hops;
            nhs.sort();
            nhs.dedup();
            let id = self.kernel.intern(&nhs);
            let e = self.routes.get_or_insert(r.prefix, Entry::EMPTY);
            let prev = std::mem::replace(&mut e.installed, id);
            if prev == NONE {
                self.installed_count += 1;
            } else {
                old.push(prev);
            }
        }
        for id in old {
            self.release_kernel(id);
        }
        // Forget prefixes that are neither wanted nor in the kernel.
        self.routes
            .retain(|e| e.dirty || e.desired != NONE || e.installed != NONE);
    }

    /// Drops a reference to a `wanted` list and, when that frees it, its
    /// cached resolutions.
    fn release_wanted(&mut self, id: u32) {
        if self.wanted.release(id).is_some() {
            if let Some(pair) = self.resolved.get_mut(id as usize) {
                for r in std::mem::replace(pair, [NONE; 2]) {
                    self.release_kernel(r);
                }
            }
        }
    }

    /// The `kernel` id the route of `prefix` (with `entry`) should have, or
    /// [`NONE`] for "no route".
    fn target_id(&mut self, prefix: &Prefix, entry: Entry) -> u32 {
        if entry.desired != NONE {
            let family = usize::from(prefix.addr().is_ipv6());
            let idx = entry.desired as usize;
            if self.resolved.len() <= idx {
                self.resolved.resize(idx + 1, [NONE; 2]);
            }
            let mut id = self.resolved[idx][family];
            if id == NONE {
                let list = self.resolve_family(family == 1, self.wanted.get(entry.desired));
                id = self.kernel.intern(&list);
                self.resolved[idx][family] = id;
            }
            if !self.kernel.get(id).is_empty() {
                return id;
            }
        }
        if !self.startup_done
            && entry.installed != NONE
            && !self.preserved.is_empty()
            && self.preserved.contains(prefix)
        {
            return entry.installed;
        }
        NONE
    }

    /// Drops a reference to a `kernel` list, noting it if that freed it.
    fn release_kernel(&mut self, id: u32) {
        if let Some(list) = self.kernel.release(id) {
            self.freed.push(list);
        }
    }

    fn mark_dirty(&mut self, prefix: Prefix) {
        if let Some(e) = self.routes.get_mut(&prefix) {
            if !e.dirty {
                e.dirty = true;
                self.dirty.push(prefix);
            }
        }
    }

    fn mark_all_dirty(&mut self) {
        self.dirty.clear();
        for (p, e) in self.routes.iter_mut() {
            e.dirty = true;
            self.dirty.push(p);
        }
    }
}

/// Whether a short list repeats an element (next-hop lists are tiny).
fn has_duplicates<T: PartialEq>(items: &[T]) -> bool {
    items
        .iter()
        .enumerate()
        .any(|(i, a)| items[i + 1..].contains(a))
}

#[cfg(test)]
#[path = "manager_tests.rs"]
mod tests;
