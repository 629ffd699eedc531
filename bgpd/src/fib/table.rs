//! The FIB manager's bookkeeping, apart from the backend: the desired and
//! installed next-hop list of every prefix, the dirty queue, next-hop
//! resolution against the connected networks, and the batches of ops that
//! bring the backend to the desired table.
//!
//! Invariant: `installed` is our best knowledge of the backend's table (the
//! last dump, updated by every op the backend accepted). Every write is the
//! difference between [`Table::target`] and `installed` for a prefix, so
//! re-running reconciliation is idempotent and retries failed ops.
//!
//! Reference counts of the resolved (`kernel`) lists: one per route
//! installed with the list, one per op of a batch in flight (its `Undo`),
//! one per cached resolution. A list is freed only when all are gone, and
//! the backend hears of it only then (`freed`).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};

use bgp_proto::Prefix;
use hashbrown::HashSet as FastSet;

use super::lists::{ListId, Lists, NONE};
use super::prefix_map::{PrefixMap, PrefixQueue};
use super::stand_in::StandIn;
use super::{Connected, FibChange, FibError, FibOp, FibRoute, NextHop, OpFailure};

/// Most ops handed to the backend at once: bounds the memory of a big load
/// (one op and a few dozen netlink bytes per route in flight, not a
/// million), while each batch is still large enough to fill the socket.
pub(super) const WRITE_BATCH: usize = 16_384;

/// What the manager knows about one prefix. Next-hop lists are interned
/// (a table of a million routes shares a handful of lists), so an entry
/// is two list ids and a flag.
#[derive(Debug, Clone, Copy)]
pub(super) struct Entry {
    /// Id in `wanted` of the next hops the RIB asked for, or [`NONE`].
    pub(super) desired: u32,
    /// Id in `kernel` of the next hops in the backend, or [`NONE`].
    pub(super) installed: u32,
    /// Queued in `dirty`.
    pub(super) dirty: bool,
}

impl Entry {
    const EMPTY: Entry = Entry {
        desired: NONE,
        installed: NONE,
        dirty: false,
    };
}

/// Everything the manager knows, apart from the backend: split out so a
/// batch can be prepared while the backend writes the previous one.
#[derive(Debug)]
pub(super) struct Table {
    max_paths: usize,
    /// Leave our routes in the kernel at exit.
    pub(super) persist: bool,
    pub(super) routes: PrefixMap<Entry>,
    /// Next-hop lists asked for by the RIB (deduplicated, in RIB order).
    pub(super) wanted: Lists<IpAddr>,
    /// Next-hop lists as written to the backend (resolved, sorted): the one
    /// interning of what we write, whose ids the backend keys its objects
    /// by.
    pub(super) kernel: Lists<NextHop>,
    /// `kernel` lists freed since the backend was last told (it may drop
    /// what it keeps for them, see [`super::Fib::release_next_hops`]);
    /// their ids are retired until then.
    pub(super) freed: Vec<(ListId, Box<[NextHop]>)>,
    /// Per `wanted` id: its resolution for an IPv4 and an IPv6 prefix, as
    /// an id in `kernel` (holding a reference) or [`NONE`] if not computed
    /// since the connected networks last changed.
    resolved: Vec<[u32; 2]>,
    /// Prefixes to reconcile.
    dirty: PrefixQueue,
    pub(super) installed_count: usize,
    /// Route writes handed to the backend since the start.
    pub(super) written: u64,
    /// Routes found at start, kept until `startup_complete`.
    pub(super) preserved: FastSet<Prefix>,
    /// Gateways of those routes that the kernel failed to resolve after we
    /// asked it to (ARP/ND): the node behind them is gone.
    pub(super) gone: FastSet<NextHop>,
    pub(super) startup_done: bool,
    pub(super) connected: Vec<Connected>,
    /// The IPv6 address of the node behind each IPv4 gateway of an IPv6
    /// route (`stand_in.rs`), keyed by the gateway and its interface.
    pub(super) stand_ins: HashMap<NextHop, StandIn>,
    /// The interface of each link-local gateway, from the neighbour
    /// tables (`stand_in.rs`).
    pub(super) link_locals: HashMap<Ipv6Addr, u32>,
    pub(super) errors: HashMap<Prefix, String>,
}

/// A batch handed to the backend. `entries` are already updated as if
/// every op succeeds; `undo` (one per op) puts back what failed.
#[derive(Debug, Default)]
pub(super) struct Batch {
    pub(super) ops: Vec<FibOp>,
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

impl Table {
    /// An empty table: ECMP routes of at most `max_paths` next hops.
    pub(super) fn new(max_paths: usize, persist: bool) -> Self {
        Table {
            max_paths,
            persist,
            routes: PrefixMap::default(),
            wanted: Lists::new(),
            kernel: Lists::new(),
            freed: Vec::new(),
            resolved: Vec::new(),
            dirty: PrefixQueue::default(),
            installed_count: 0,
            written: 0,
            preserved: FastSet::default(),
            gone: FastSet::default(),
            startup_done: false,
            connected: Vec::new(),
            stand_ins: HashMap::new(),
            link_locals: HashMap::new(),
            errors: HashMap::new(),
        }
    }

    /// The prefixes installed as far as we know, unordered.
    pub(super) fn installed_prefixes(&self) -> impl Iterator<Item = Prefix> + '_ {
        self.routes
            .iter()
            .filter(|(_, e)| e.installed != NONE)
            .map(|(p, _)| p)
    }

    /// Whether `prefix` is installed as far as we know.
    pub(super) fn is_installed(&self, prefix: &Prefix) -> bool {
        self.routes.get(prefix).is_some_and(|e| e.installed != NONE)
    }

    /// Lets the ids of freed lists the backend has been told of be reused.
    pub(super) fn recycle(&mut self, freed: &[(ListId, Box<[NextHop]>)]) {
        for (id, _) in freed {
            self.kernel.recycle(id.0);
        }
    }

    pub(super) fn note(&mut self, changes: &[FibChange]) {
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

    pub(super) fn has_pending(&self) -> bool {
        self.dirty.has_pending()
    }

    /// Prefixes queued for writing.
    pub(super) fn dirty_len(&self) -> usize {
        self.dirty.len()
    }

    /// The next batch of [`WRITE_BATCH`] prefixes that has an op (prefixes
    /// already as wanted make none), or an empty one when the queue runs
    /// dry or no batch is `left`.
    pub(super) fn prepare_next(&mut self, left: usize) -> Batch {
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
                id => FibOp::Replace(
                    FibRoute {
                        prefix: p,
                        next_hops: self.kernel.get(id).to_vec(),
                    },
                    Some(ListId(id)),
                ),
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
    pub(super) fn settle(
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
    pub(super) fn abandon(&mut self, batch: Batch) {
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
    pub(super) fn target(&self, prefix: &Prefix) -> Option<Vec<NextHop>> {
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

    pub(super) fn resolve_family(&self, ipv6: bool, next_hops: &[IpAddr]) -> Vec<NextHop> {
        let mut out: Vec<NextHop> = next_hops
            .iter()
            .filter_map(|nh| {
                // `::ffff:a.b.c.d` (Cilium's next hop for IPv6 routes over IPv4
                // sessions) is the IPv4 gateway a.b.c.d.
                let gw = nh.to_canonical();
                if let IpAddr::V6(a) = gw {
                    if a.is_unicast_link_local() {
                        let ifindex = self.link_local_interface(a)?;
                        return Some(NextHop {
                            gateway: gw,
                            ifindex,
                        });
                    }
                }
                let c = self.lookup_connected(gw)?;
                let hop = NextHop {
                    gateway: gw,
                    ifindex: c.ifindex,
                };
                if ipv6 && gw.is_ipv4() {
                    // Linux routes IPv6 via an IPv6 gateway only.
                    return self.stand_ins.get(&hop).map(|s| s.gateway);
                }
                Some(hop)
            })
            .collect();
        out.truncate(self.max_paths);
        out.sort();
        out.dedup();
        out
    }

    /// The interface of link-local gateway `a`: the one whose neighbour
    /// table holds it, else the only interface with a link-local network
    /// (never for our own address).
    fn link_local_interface(&self, a: Ipv6Addr) -> Option<u32> {
        let gw = IpAddr::V6(a);
        if self.connected.iter().any(|c| c.local == gw) {
            return None;
        }
        if let Some(i) = self.link_locals.get(&a) {
            return Some(*i);
        }
        let mut links = self
            .connected
            .iter()
            .filter(|c| c.prefix.contains(gw))
            .map(|c| c.ifindex);
        let first = links.next()?;
        links.all(|i| i == first).then_some(first)
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

    /// Takes the connected networks; true if they differ from before, in
    /// which case every cached resolution is dropped.
    pub(super) fn set_connected(&mut self, mut now: Vec<Connected>) -> bool {
        now.sort_by_key(|c| (c.ifindex, c.prefix, c.local));
        if now == self.connected {
            return false;
        }
        self.connected = now;
        self.drop_resolutions(&[0, 1]);
        true
    }

    /// The next hops (canonical) of the lists resolved for the families
    /// `resolved_for` picks (index 0: IPv4 routes, 1: IPv6), unsorted.
    fn resolved_next_hops<'a>(
        &'a self,
        resolved_for: impl Fn(&[u32; 2]) -> bool + 'a,
    ) -> impl Iterator<Item = IpAddr> + 'a {
        self.resolved
            .iter()
            .enumerate()
            .filter(move |(_, pair)| resolved_for(pair))
            .filter_map(|(id, _)| u32::try_from(id).ok())
            .flat_map(|id| self.wanted.get(id).iter())
            .map(IpAddr::to_canonical)
    }

    /// The IPv4 gateways (with their interface) of the next-hop lists of
    /// IPv6 routes: those that need an IPv6 stand-in. Sorted.
    pub(super) fn stand_in_wanted(&self) -> Vec<NextHop> {
        let mut out: Vec<NextHop> = self
            .resolved_next_hops(|pair| pair[1] != NONE)
            .filter(IpAddr::is_ipv4)
            .filter_map(|gw| {
                self.lookup_connected(gw).map(|c| NextHop {
                    gateway: gw,
                    ifindex: c.ifindex,
                })
            })
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The link-local gateways of every resolved next-hop list. Sorted.
    pub(super) fn link_local_wanted(&self) -> Vec<Ipv6Addr> {
        let mut out: Vec<Ipv6Addr> = self
            .resolved_next_hops(|pair| pair.iter().any(|id| *id != NONE))
            .filter_map(|nh| match nh {
                IpAddr::V6(a) if a.is_unicast_link_local() => Some(a),
                _ => None,
            })
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Takes the interfaces of link-local gateways; true if they differ
    /// from before, in which case every resolution is dropped (an IPv4
    /// route may have one too) and the caller marks every route dirty.
    /// Only a change for a gateway in `wanted` counts: the others are no
    /// longer used by any list.
    pub(super) fn set_link_locals(
        &mut self,
        now: HashMap<Ipv6Addr, u32>,
        wanted: &[Ipv6Addr],
    ) -> bool {
        let changed = wanted.iter().any(|a| self.link_locals.get(a) != now.get(a));
        self.link_locals = now;
        if changed {
            self.drop_resolutions(&[0, 1]);
        }
        changed
    }

    /// Takes the stand-ins of IPv4 gateways; true if they differ from
    /// before, in which case the resolutions for IPv6 routes are dropped
    /// (and the caller marks IPv6 routes dirty).
    /// Only a change for a gateway in `wanted` counts.
    pub(super) fn set_stand_ins(
        &mut self,
        now: HashMap<NextHop, StandIn>,
        wanted: &[NextHop],
    ) -> bool {
        let changed = wanted
            .iter()
            .any(|gw| self.stand_ins.get(gw) != now.get(gw));
        self.stand_ins = now;
        if changed {
            self.drop_resolutions(&[1]);
        }
        changed
    }

    /// Forgets the cached resolutions for the route families `families`
    /// (0: IPv4, 1: IPv6); `target_id` computes them again as needed.
    fn drop_resolutions(&mut self, families: &[usize]) {
        for idx in 0..self.resolved.len() {
            for &f in families {
                let id = std::mem::replace(&mut self.resolved[idx][f], NONE);
                self.release_kernel(id);
            }
        }
    }

    /// Replaces what we believe the backend holds with `routes` (a dump).
    pub(super) fn load_installed(&mut self, routes: Vec<FibRoute>) {
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
        if let Some(list) = self.kernel.retire(id) {
            self.freed.push((ListId(id), list));
        }
    }

    pub(super) fn mark_dirty(&mut self, prefix: Prefix) {
        if let Some(e) = self.routes.get_mut(&prefix) {
            if !e.dirty {
                e.dirty = true;
                self.dirty.push(prefix);
            }
        }
    }

    /// Queues every route of one family.
    pub(super) fn mark_family_dirty(&mut self, ipv6: bool) {
        for (p, e) in self.routes.iter_mut() {
            if p.addr().is_ipv6() == ipv6 && !e.dirty {
                e.dirty = true;
                self.dirty.push(p);
            }
        }
    }

    pub(super) fn mark_all_dirty(&mut self) {
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
