//! The FIB manager: drives a [`Fib`] backend towards the desired table.
//!
//! The bookkeeping (desired and installed lists per prefix, resolution,
//! batches) is the [`Table`]; this module is the part that talks to the
//! backend: start-up, the write pipeline (the next batch is prepared while
//! the backend writes the last), resyncs after lost messages, and exit.

use std::collections::HashMap;
use std::net::IpAddr;

use bgp_proto::Prefix;

use super::lists::{ListId, NONE};
use super::stand_in::{self, StandIn};
use super::status::{FibStatus, FibStatusEntry, FibSummary};
use super::table::{Table, WRITE_BATCH};
use super::{Connected, Fib, FibChange, FibError, FibOp, NextHop, Reach, Solicit};
use crate::config::FibConfig;

/// Most rounds of [`FibManager::refresh_neighbours`] (about a second
/// each) between two pings of all nodes on one link.
const ALL_NODES_EVERY: usize = 30;

/// How many times a batch is retried after a resync when the backend
/// reports lost messages.
const MAX_DESYNC_RETRIES: usize = 3;

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
    /// Calls of [`FibManager::refresh_neighbours`] that read the tables.
    neighbour_rounds: usize,
    /// Per interface whose nodes are being pinged: the round of the last
    /// ping and the rounds to wait before the next.
    all_nodes_pinged: HashMap<u32, (usize, usize)>,
}

impl<F: Fib> FibManager<F> {
    /// A manager writing to `fib` with the limits and exit behaviour of
    /// `cfg`. Call [`FibManager::start`] before anything else.
    pub fn new(fib: F, cfg: &FibConfig) -> Self {
        FibManager {
            fib,
            t: Table::new(cfg.max_paths.max(1), cfg.persist),
            neighbour_rounds: 0,
            all_nodes_pinged: HashMap::new(),
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
        self.t.preserved = self.t.installed_prefixes().collect();
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
        let r = match self.write_batches(batches).await {
            Err(FibError::Desync(why)) => {
                tracing::warn!(%why, "FIB desync; dumping kernel table");
                self.resync().await
            }
            other => other,
        };
        if let Ok(n) = r {
            self.t.written += n as u64;
        }
        r
    }

    /// Ends the startup phase: routes of a previous run that are not wanted
    /// now are deleted. Call when every peer sent End-of-RIB, or when the
    /// grace time has passed.
    pub async fn startup_complete(&mut self) -> Result<(), FibError> {
        if self.t.startup_done {
            return Ok(());
        }
        // IPv6 routes via IPv4 gateways a previous run left are kept only
        // until now: find their stand-ins first, or they would go and come
        // back a round later.
        self.refresh_neighbours().await?;
        self.t.startup_done = true;
        self.t.gone.clear();
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

    /// Removes these routes of a previous run before the startup phase
    /// ends (the core found their gateways gone): exactly those of
    /// `prefixes` that are still kept and not wanted; a prefix the RIB
    /// wants again meanwhile is left as it is. Returns how many went.
    pub async fn remove_stale(&mut self, prefixes: &[Prefix]) -> Result<usize, FibError> {
        let mut removed = 0;
        for p in prefixes {
            if self.t.is_stale(p) {
                // Out of `preserved`, its target is "absent": the write
                // deletes it.
                self.t.preserved.remove(p);
                self.t.mark_dirty(*p);
                removed += 1;
            }
        }
        if removed > 0 {
            tracing::info!(
                removed,
                "FIB: removing routes of a previous run whose gateways are gone"
            );
            self.write_all().await?;
        }
        Ok(removed)
    }

    /// Asks the backend whether the gateways of the routes a previous run
    /// left still answer ARP/ND (making the kernel try), and notes those it
    /// failed to resolve for [`FibManager::summary`]. A gateway stays noted
    /// while resolution is retried (FAILED turned INCOMPLETE again by
    /// traffic) and is forgotten once it answers. Does nothing after the
    /// startup phase.
    pub async fn probe_stale_gateways(&mut self) -> Result<(), FibError> {
        let gateways = self.t.stale_gateways();
        if gateways.is_empty() {
            return Ok(());
        }
        let reach = self.fib.probe_gateways(&gateways).await?;
        for (gw, r) in gateways.iter().zip(reach) {
            match r {
                Reach::Failed => {
                    if self.t.gone.insert(*gw) {
                        tracing::info!(gateway = %gw, "gateway of a previous run's routes does not answer");
                    }
                }
                Reach::Reachable => {
                    self.t.gone.remove(gw);
                }
                Reach::Unknown => {}
            }
        }
        Ok(())
    }

    /// Whether routes of a previous run are still kept unwanted.
    pub fn has_stale(&self) -> bool {
        !self.t.startup_done && !self.t.preserved.is_empty()
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

    /// Reads what the kernel's neighbour tables say of the gateways it
    /// cannot take as they are (`stand_in.rs`): the IPv6 stand-ins of the
    /// IPv4 gateways of IPv6 routes, and the interfaces of link-local
    /// gateways. Asks the kernel for the entries still missing, and
    /// rewrites the routes whose gateways changed. Returns whether any
    /// did. Cheap when there are no such gateways: called about once a
    /// second.
    pub async fn refresh_neighbours(&mut self) -> Result<bool, FibError> {
        // What is wanted is read from the cached resolutions, which a
        // write in progress (or one that failed) may not have rebuilt yet.
        if self.has_pending_writes() {
            return Ok(false);
        }
        let wanted = self.t.stand_in_wanted();
        let link_locals = self.t.link_local_wanted();
        if wanted.is_empty()
            && link_locals.is_empty()
            && self.t.stand_ins.is_empty()
            && self.t.link_locals.is_empty()
        {
            return Ok(false);
        }
        let neighbours = if wanted.is_empty() && link_locals.is_empty() {
            Vec::new()
        } else {
            self.fib.neighbours().await?
        };
        self.neighbour_rounds = self.neighbour_rounds.wrapping_add(1);
        let round = self.neighbour_rounds;
        let mut plan = stand_in::plan(&wanted, &self.t.stand_ins, &neighbours, round);
        // Every node on a link answers a ping of all nodes: while a link
        // needs them, the pings back off (1, 2, 4, ... rounds apart, at
        // most ALL_NODES_EVERY), starting afresh once it needs none.
        let pinged = &mut self.all_nodes_pinged;
        pinged.retain(|ifindex, _| plan.solicits.contains(&Solicit::AllNodes(*ifindex)));
        plan.solicits.retain(|s| match s {
            Solicit::AllNodes(ifindex) => {
                let (last, gap) = pinged.entry(*ifindex).or_insert((round, 0));
                let due = round.wrapping_sub(*last) >= *gap;
                if due {
                    *last = round;
                    *gap = (*gap * 2).clamp(1, ALL_NODES_EVERY);
                }
                due
            }
            Solicit::Resolve(_) => true,
        });
        if !plan.solicits.is_empty() {
            self.fib.solicit(&plan.solicits).await;
        }
        log_stand_in_changes(&wanted, &self.t.stand_ins, &plan.stand_ins);
        let interfaces =
            stand_in::link_local_interfaces(&link_locals, &self.t.link_locals, &neighbours);
        if self.t.set_link_locals(interfaces, &link_locals) {
            // Every resolution is dropped: the stand-ins are taken anew.
            self.t.stand_ins = plan.stand_ins;
            self.t.mark_all_dirty();
        } else if self.t.set_stand_ins(plan.stand_ins, &wanted) {
            self.t.mark_family_dirty(true);
        } else {
            return Ok(false);
        }
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
        let mut prefixes: Vec<Prefix> = self.t.installed_prefixes().collect();
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

    /// Resolves the next hops of `prefix`: each against the connected
    /// networks (IPv4-mapped IPv6 ones as IPv4), a link-local one to the
    /// interface whose neighbour table holds it, an IPv4 one of an IPv6
    /// route to its IPv6 stand-in (Linux has no IPv6 route via IPv4:
    /// "IPv6 does not support RTA_VIA attribute"). Those that resolve to
    /// nothing are dropped ([`FibManager::status`] says why a route has
    /// none left); at most `max_paths` remain (sorted).
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
        self.t.is_installed(prefix)
    }

    /// Counts and stale routes; cheap next to [`FibManager::status`].
    pub fn summary(&self) -> FibSummary {
        self.t.summary()
    }

    /// A snapshot for `rbgpctl show fib`.
    pub fn status(&self) -> FibStatus {
        self.t.status()
    }

    /// The state of each of `prefixes` we want or hold, with the kernel
    /// nexthop object it names.
    pub fn routes(&self, prefixes: &[Prefix]) -> Vec<FibStatusEntry> {
        prefixes
            .iter()
            .filter_map(|p| {
                let (mut entry, list) = self.t.route_status(p)?;
                if list != ListId(NONE) {
                    entry.nexthop_id = self.fib.object_of(list);
                }
                Some(entry)
            })
            .collect()
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

    /// Tells the backend which next-hop lists no route uses any more, then
    /// lets their ids be reused; true if there were any.
    fn release_freed(&mut self) -> bool {
        if self.t.freed.is_empty() {
            return false;
        }
        let freed = std::mem::take(&mut self.t.freed);
        self.fib.release_next_hops(&freed);
        self.t.recycle(&freed);
        true
    }
}

#[cfg(test)]
#[path = "manager_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "manager_stand_in_tests.rs"]
mod stand_in_tests;

/// Logs each gateway whose stand-in appeared, moved or went (a few lines;
/// past that, one count).
fn log_stand_in_changes(
    wanted: &[NextHop],
    before: &HashMap<NextHop, StandIn>,
    now: &HashMap<NextHop, StandIn>,
) {
    const MOST: usize = 8;
    let mut changed = 0;
    for gw in wanted {
        let (old, new) = (before.get(gw), now.get(gw));
        if old == new {
            continue;
        }
        changed += 1;
        if changed > MOST {
            continue;
        }
        match new {
            Some(s) => {
                tracing::info!(gateway = %gw.gateway, ifindex = gw.ifindex, stand_in = %s, "IPv6 routes via IPv4 gateway go via its node's IPv6 address")
            }
            None => {
                tracing::info!(gateway = %gw.gateway, ifindex = gw.ifindex, "IPv4 gateway has no IPv6 stand-in any more")
            }
        }
    }
    if changed > MOST {
        tracing::info!(changed, "IPv6 stand-ins of IPv4 gateways changed");
    }
}
