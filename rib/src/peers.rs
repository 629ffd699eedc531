//! Peer lifecycle: sessions coming up, going down (with or without
//! graceful restart, RFC 4724) and End-of-RIB.
//!
//! Invariant: a peer slot that is not up has no cursor in the export logs
//! and an empty Adj-RIB-Out; its paths are either gone or marked stale.

use crate::policy::{Policy, PolicyRef, PrefixList};
use crate::policy_eval::CompiledPolicies;
use crate::rib::{fam_idx, Core, PeerInfo, PeerState, Rib, RibError};
use crate::table::{FamilyTable, Key, PathEntry, STALE};
use bgp_proto::types::Family;

impl Rib {
    /// Registers a peer whose session just became established. A peer
    /// that went down gracefully keeps its (stale) paths until it sends
    /// them again or [`Rib::end_of_rib`] / [`Rib::sweep_stale`].
    /// Call [`Rib::full_export`] next for the initial table.
    pub fn add_peer(&mut self, info: PeerInfo) -> Result<(), RibError> {
        if info.id == crate::LOCAL_PEER {
            return Err(RibError::ReservedPeerId(info.id));
        }
        self.core.forget_exports();
        let import = self.core.policies.resolve(&info.import)?;
        let export = self.core.policies.resolve(&info.export)?;
        let ebgp = info.remote_as != self.core.local_as;
        let slot = match self.core.peer_index.get(&info.id) {
            Some(&slot) => {
                if self.core.peer(slot).is_some_and(|p| p.up) {
                    return Err(RibError::PeerExists(info.id));
                }
                slot
            }
            None => {
                let free = self.core.peers.iter().position(Option::is_none);
                let slot = free.unwrap_or(self.core.peers.len());
                // `u16::MAX` stands for no slot (`export::NO_SLOT`).
                let slot = u16::try_from(slot)
                    .ok()
                    .filter(|&s| s != u16::MAX)
                    .ok_or(RibError::TooManyPeers)?;
                if free.is_none() {
                    self.core.peers.push(None);
                }
                slot
            }
        };
        // Back with another kernel table: its stale paths go now, from the
        // table they were written to (its fresh ones go to the new one).
        if self
            .core
            .peer(slot)
            .is_some_and(|p| p.info.fib_table != info.fib_table)
        {
            let mine = move |_: &Core, e: &PathEntry| e.peer == slot;
            self.core.sweep(&mut self.v4, mine, |_, _| false);
            self.core.sweep(&mut self.v6, mine, |_, _| false);
        }
        let counts = self.core.peer(slot).map(|p| p.counts).unwrap_or_default();
        let families = info.families.clone();
        if adds_paths(&info) {
            self.core.add_path_peers += 1;
        }
        self.core.tables_used |= info.fib_table != 0;
        self.core.peer_index.insert(info.id, slot);
        if let Some(p) = self.core.peers.get_mut(usize::from(slot)) {
            *p = Some(PeerState {
                info,
                up: true,
                ebgp,
                import,
                export,
                counts,
            });
        }
        let s = usize::from(slot);
        self.v4.ensure_slot(s);
        self.v6.ensure_slot(s);
        let v4 = families
            .contains(&Family::IPV4_UNICAST)
            .then_some(self.v4.log.len());
        self.v4.set_cursor(s, v4);
        let v6 = families
            .contains(&Family::IPV6_UNICAST)
            .then_some(self.v6.log.len());
        self.v6.set_cursor(s, v6);
        Ok(())
    }

    /// The session of `peer` went down. `graceful` (GR helper, RFC 4724
    /// 4.2): keep its paths, marked stale, until it comes back and sends
    /// End-of-RIB or the restart timer fires ([`Rib::sweep_stale`]);
    /// otherwise remove them now. Its Adj-RIB-Out is dropped either way.
    pub fn peer_down(&mut self, peer: u32, graceful: bool) -> Result<(), RibError> {
        self.core.forget_exports();
        let slot = self.core.slot_of(peer)?;
        let mut was_adding = false;
        if let Some(p) = self.core.peer_mut(slot) {
            was_adding = p.up && adds_paths(&p.info);
            p.up = false;
        }
        if was_adding {
            self.core.add_path_peers -= 1;
        }
        self.leave(slot, false);
        self.drop_adj_out(slot);
        let mine = move |_: &Core, e: &PathEntry| e.peer == slot;
        if graceful {
            self.mark_stale(slot);
        } else {
            self.core.sweep(&mut self.v4, mine, |_, _| false);
            self.core.sweep(&mut self.v6, mine, |_, _| false);
        }
        Ok(())
    }

    /// Peer slots allocated: the size of the per-peer state in the tables
    /// (Adj-RIB-Outs, export cursors). A removed peer's slot goes to the
    /// next peer added, so this is the most peers registered at once, not
    /// how many ever were.
    pub fn peer_slots(&self) -> usize {
        self.core.peers.len()
    }

    /// Peers registered (up, or down and not removed).
    pub fn peer_count(&self) -> usize {
        self.core.peer_index.len()
    }

    /// Removes a peer and all its paths (deconfigured, or done for good);
    /// its slot is used again by the next peer added.
    pub fn remove_peer(&mut self, peer: u32) -> Result<(), RibError> {
        self.peer_down(peer, false)?;
        let slot = self.core.slot_of(peer)?;
        self.core.peer_index.remove(&peer);
        if let Some(p) = self.core.peers.get_mut(usize::from(slot)) {
            *p = None;
        }
        Ok(())
    }

    // RFC 4724 4.2: "the Receiving Speaker MUST retain the routes received
    // from the Previous Speaker for all the address families that were
    // previously received in the Graceful Restart Capability and MUST mark
    // them as stale routing information."
    fn mark_stale(&mut self, slot: u16) {
        fn mark<K: Key>(core: &mut Core, t: &mut FamilyTable<K>, slot: u16) {
            let mut n = 0usize;
            for id in 0..t.slot_count() {
                let Some(list) = t.paths_mut(id) else {
                    continue;
                };
                for e in list.as_mut_slice() {
                    if e.peer == slot && !e.has(STALE) {
                        e.set(STALE);
                        n += 1;
                    }
                }
            }
            if let Some(c) = core
                .peer_mut(slot)
                .and_then(|p| p.counts.get_mut(fam_idx(K::FAMILY)))
            {
                c.stale = c.stale.saturating_add(n);
            }
        }
        mark(&mut self.core, &mut self.v4, slot);
        mark(&mut self.core, &mut self.v6, slot);
    }

    fn drop_adj_out(&mut self, slot: u16) {
        fn drop_fam<K: Key>(core: &mut Core, t: &mut FamilyTable<K>, slot: u16) {
            let s = usize::from(slot);
            core.drop_adj_paths(t, slot);
            for id in t.adj_clear(s) {
                core.attrs.release(id);
            }
            t.set_cursor(s, None);
            t.compact_log();
        }
        drop_fam(&mut self.core, &mut self.v4, slot);
        drop_fam(&mut self.core, &mut self.v6, slot);
    }

    /// End-of-RIB from `peer` for `family`: removes its paths of that
    /// family still stale (RFC 4724 4.2).
    // RFC 4724 4.2: "Once the End-of-RIB marker for an address family is
    // received from the peer, it MUST immediately remove any routes from
    // the peer that are still marked as stale for that address family."
    pub fn end_of_rib(&mut self, peer: u32, family: Family) -> Result<(), RibError> {
        let slot = self.core.slot_of(peer)?;
        // Without stale paths (no graceful restart) there is nothing to
        // sweep: a full-table walk per End-of-RIB would be wasted.
        let fam = fam_idx(family);
        if self
            .core
            .peer(slot)
            .and_then(|p| p.counts.get(fam))
            .is_some_and(|c| c.stale == 0)
        {
            return Ok(());
        }
        self.core.forget_exports();
        let stale = move |_: &Core, e: &PathEntry| e.peer == slot && e.has(STALE);
        if family == Family::IPV4_UNICAST {
            self.core.sweep(&mut self.v4, stale, |_, _| false);
        } else if family == Family::IPV6_UNICAST {
            self.core.sweep(&mut self.v6, stale, |_, _| false);
        }
        Ok(())
    }

    /// Removes every stale path of `peer` (restart or stale timer expired).
    pub fn sweep_stale(&mut self, peer: u32) -> Result<(), RibError> {
        self.end_of_rib(peer, Family::IPV4_UNICAST)?;
        self.end_of_rib(peer, Family::IPV6_UNICAST)
    }

    /// Replaces the policy and prefix-list definitions (config reload) and
    /// resolves every known peer's `import` / `export` again; on any error
    /// nothing changes. Export changes take effect at once: every prefix is
    /// queued, so the next [`Rib::drain_exports`] sends the differences.
    /// Import changes apply to routes received from now on; to re-apply
    /// them to routes already held, ask the peers for a ROUTE-REFRESH (no
    /// pre-policy copy of accepted routes is kept).
    pub fn set_policies(
        &mut self,
        policies: &[Policy],
        prefix_lists: &[PrefixList],
    ) -> Result<(), RibError> {
        self.core.forget_exports();
        let compiled = CompiledPolicies::new(policies, prefix_lists)?;
        let mut resolved = Vec::new();
        for (slot, p) in self.core.peers.iter().enumerate() {
            if let Some(p) = p {
                let import = compiled.resolve(&p.info.import)?;
                let export = compiled.resolve(&p.info.export)?;
                resolved.push((slot, import, export));
            }
        }
        self.core.policies = compiled;
        for (slot, import, export) in resolved {
            if let Some(Some(p)) = self.core.peers.get_mut(slot) {
                p.import = import;
                p.export = export;
            }
        }
        self.recheck_groups();
        self.requeue_exports();
        Ok(())
    }

    /// Changes the import and export policy of one peer (its neighbor entry
    /// changed on reload), with the same effect as [`Rib::set_policies`].
    pub fn set_peer_policies(
        &mut self,
        peer: u32,
        import: PolicyRef,
        export: PolicyRef,
    ) -> Result<(), RibError> {
        self.core.forget_exports();
        let slot = self.core.slot_of(peer)?;
        let import_id = self.core.policies.resolve(&import)?;
        let export_id = self.core.policies.resolve(&export)?;
        if let Some(p) = self.core.peer_mut(slot) {
            p.info.import = import;
            p.info.export = export;
            p.import = import_id;
            p.export = export_id;
        }
        self.recheck_groups();
        self.requeue_exports();
        Ok(())
    }

    /// Queues every prefix for export re-evaluation.
    fn requeue_exports(&mut self) {
        fn requeue<K: Key>(t: &mut FamilyTable<K>) {
            // Live routes and dead ones still held by a peer.
            for id in 0..t.slot_count() {
                t.log_change(id);
            }
        }
        requeue(&mut self.v4);
        requeue(&mut self.v6);
    }
}

/// Whether the peer is sent more than its best paths (ADD-PATH send).
pub(crate) fn adds_paths(info: &PeerInfo) -> bool {
    info.add_path_max > 0 && !info.add_path_send.is_empty()
}
