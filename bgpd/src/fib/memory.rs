//! An in-memory FIB for unit tests, behaving like the kernel where it
//! matters: a gateway must be on a connected network, deleting an absent
//! route is harmless, and a test can play "someone else" (delete routes
//! behind our back, refuse prefixes, lose messages).

use std::collections::{BTreeMap, HashSet};
use std::future::{ready, Future};
use std::sync::{Arc, Mutex, MutexGuard};

use bgp_proto::Prefix;

use super::{
    Connected, Fib, FibError, FibOp, FibRoute, ListId, Neighbour, NextHop, OpFailure, Reach,
    Solicit,
};

#[derive(Debug, Default)]
struct State {
    routes: BTreeMap<Prefix, Vec<NextHop>>,
    connected: Vec<Connected>,
    refuse: HashSet<Prefix>,
    lose_next_batch: bool,
    ops: usize,
    batches: usize,
    /// Next-hop lists the manager released, in order.
    released: Vec<Vec<NextHop>>,
    /// Releases of a list some route here still used: what would have cost
    /// the kernel those routes with nexthop objects.
    released_in_use: usize,
    /// What the neighbour table says of gateways (others: unknown).
    reach: BTreeMap<NextHop, Reach>,
    /// Gateways asked about, in order.
    probed: Vec<NextHop>,
    /// The neighbour tables.
    neighbours: Vec<Neighbour>,
    /// Solicitations received, in order.
    solicited: Vec<Solicit>,
    /// Times the neighbour tables were read.
    neighbour_reads: usize,
}

/// A shared in-memory table: clones see the same state, so a test keeps one
/// clone while the manager owns another.
#[derive(Debug, Clone, Default)]
pub struct MemoryFib {
    state: Arc<Mutex<State>>,
}

impl MemoryFib {
    /// An empty table with no connected networks.
    pub fn new() -> Self {
        MemoryFib::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock only happens in a failing test.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sets the connected networks (as if addresses appeared or vanished).
    pub fn set_connected(&self, connected: Vec<Connected>) {
        self.lock().connected = connected;
    }

    /// Our routes, sorted by prefix.
    pub fn routes(&self) -> Vec<FibRoute> {
        self.lock()
            .routes
            .iter()
            .map(|(p, nhs)| FibRoute {
                prefix: *p,
                next_hops: nhs.clone(),
            })
            .collect()
    }

    /// The route for `prefix`, if installed.
    pub fn route(&self, prefix: &Prefix) -> Option<Vec<NextHop>> {
        self.lock().routes.get(prefix).cloned()
    }

    /// Puts a route in directly (a previous run's leftovers, or a change
    /// behind our back).
    pub fn insert(&self, route: FibRoute) {
        self.lock().routes.insert(route.prefix, route.next_hops);
    }

    /// Deletes a route behind the manager's back.
    pub fn remove(&self, prefix: &Prefix) -> bool {
        self.lock().routes.remove(prefix).is_some()
    }

    /// Makes every later write of `prefix` fail.
    pub fn refuse(&self, prefix: Prefix, refuse: bool) {
        let mut st = self.lock();
        if refuse {
            st.refuse.insert(prefix);
        } else {
            st.refuse.remove(&prefix);
        }
    }

    /// The next batch applies only its first half and reports lost messages.
    pub fn lose_next_batch(&self) {
        self.lock().lose_next_batch = true;
    }

    /// Ops and batches applied so far.
    pub fn counters(&self) -> (usize, usize) {
        let st = self.lock();
        (st.ops, st.batches)
    }

    /// Next-hop lists released so far (see [`Fib::release_next_hops`]), and
    /// how many of those releases came while a route still used the list.
    pub fn released(&self) -> (Vec<Vec<NextHop>>, usize) {
        let st = self.lock();
        (st.released.clone(), st.released_in_use)
    }

    /// Sets what [`Fib::probe_gateways`] answers for `gateway` (as if the
    /// node behind it answered ARP, or stopped answering).
    pub fn set_reach(&self, gateway: NextHop, reach: Reach) {
        self.lock().reach.insert(gateway, reach);
    }

    /// The gateways asked about so far, in order.
    pub fn probed(&self) -> Vec<NextHop> {
        self.lock().probed.clone()
    }

    /// Sets the neighbour tables (as if nodes answered ARP/ND).
    pub fn set_neighbours(&self, neighbours: Vec<Neighbour>) {
        self.lock().neighbours = neighbours;
    }

    /// How many times the neighbour tables were read.
    pub fn neighbour_reads(&self) -> usize {
        self.lock().neighbour_reads
    }

    /// The solicitations received so far, in order.
    pub fn solicited(&self) -> Vec<Solicit> {
        self.lock().solicited.clone()
    }

    fn apply_now(&self, batch: &[FibOp]) -> Result<Vec<OpFailure>, FibError> {
        let mut st = self.lock();
        st.batches += 1;
        let lose = std::mem::take(&mut st.lose_next_batch);
        let take = if lose { batch.len() / 2 } else { batch.len() };
        let mut failures = Vec::new();
        for (index, op) in batch.iter().enumerate().take(take) {
            st.ops += 1;
            if st.refuse.contains(&op.prefix()) {
                failures.push(OpFailure {
                    index,
                    error: "refused by test".into(),
                });
                continue;
            }
            match op {
                FibOp::Replace(r, _) => {
                    // As the kernel: a gateway on a connected network, or a
                    // link-local one on a given interface.
                    let unreachable = r.next_hops.iter().find(|nh| {
                        !st.connected.iter().any(|c| {
                            let link_local = matches!(nh.gateway, std::net::IpAddr::V6(a)
                                if a.is_unicast_link_local());
                            let on_link = nh.ifindex == c.ifindex;
                            (c.prefix.contains(nh.gateway) && (nh.ifindex == 0 || on_link))
                                || (link_local && on_link)
                        })
                    });
                    if r.next_hops.is_empty() {
                        failures.push(OpFailure {
                            index,
                            error: "no next hop".into(),
                        });
                    } else if let Some(nh) = unreachable {
                        failures.push(OpFailure {
                            index,
                            error: format!("Network is unreachable ({nh})"),
                        });
                    } else {
                        let mut nhs = r.next_hops.clone();
                        nhs.sort();
                        st.routes.insert(r.prefix, nhs);
                    }
                }
                FibOp::Delete(p) => {
                    st.routes.remove(p);
                }
            }
        }
        if lose {
            return Err(FibError::Desync("test lost the batch tail".into()));
        }
        Ok(failures)
    }
}

impl Fib for MemoryFib {
    fn apply(
        &mut self,
        batch: &[FibOp],
    ) -> impl Future<Output = Result<Vec<OpFailure>, FibError>> + Send {
        ready(self.apply_now(batch))
    }

    fn dump(&mut self) -> impl Future<Output = Result<Vec<FibRoute>, FibError>> + Send {
        ready(Ok(self.routes()))
    }

    fn connected(&mut self) -> impl Future<Output = Result<Vec<Connected>, FibError>> + Send {
        ready(Ok(self.lock().connected.clone()))
    }

    fn probe_gateways(
        &mut self,
        gateways: &[NextHop],
    ) -> impl Future<Output = Result<Vec<Reach>, FibError>> + Send {
        let mut st = self.lock();
        st.probed.extend_from_slice(gateways);
        let out = gateways
            .iter()
            .map(|g| st.reach.get(g).copied().unwrap_or(Reach::Unknown))
            .collect();
        ready(Ok(out))
    }

    fn neighbours(&mut self) -> impl Future<Output = Result<Vec<Neighbour>, FibError>> + Send {
        let mut st = self.lock();
        st.neighbour_reads += 1;
        ready(Ok(st.neighbours.clone()))
    }

    fn solicit(&mut self, asks: &[Solicit]) -> impl Future<Output = ()> + Send {
        self.lock().solicited.extend_from_slice(asks);
        ready(())
    }

    fn release_next_hops(&mut self, lists: &[(ListId, Box<[NextHop]>)]) {
        let mut st = self.lock();
        for (_, list) in lists {
            if st.routes.values().any(|nhs| nhs[..] == list[..]) {
                st.released_in_use += 1;
            }
            st.released.push(list.to_vec());
        }
    }
}
