//! The FIB of every kernel table rbgpd writes: `[fib] table` and each
//! neighbor's `table`, as the config named them at start. One FIB task per
//! table, each with its own bookkeeping, scans and start-up phase; the
//! RIB's changes are handed to the task of their table
//! ([`FibChange::table`]; a table without a task, named by a reload, to
//! `[fib] table`'s until a restart), and the answers of all are merged for
//! the core and `rbgpctl`.
//!
//! Kernel nexthop objects are global, not per table: only the task of
//! `[fib] table` uses them (and adopts or cleans up a previous run's), the
//! others write their routes with plain gateways.

use std::collections::BTreeMap;

use bgp_proto::Prefix;

use super::{spawn_netlink, FibChange, FibError, FibHandle, FibStatus, FibStatusEntry, FibSummary};
use crate::config::Config;

/// The FIB tasks by kernel table; table 0 in a change means `[fib] table`.
#[derive(Debug, Clone)]
pub struct FibTables {
    main: u32,
    tasks: BTreeMap<u32, FibHandle>,
}

impl FibTables {
    /// Starts a task for `[fib] table` and one for every other table a
    /// neighbor names.
    pub fn spawn(config: &Config) -> Result<FibTables, FibError> {
        let main = config.fib.table;
        let mut tasks = BTreeMap::new();
        tasks.insert(main, spawn_netlink(&config.fib)?.0);
        for t in config.neighbors.iter().filter_map(|n| n.table) {
            if tasks.contains_key(&t) {
                continue;
            }
            let cfg = crate::config::FibConfig {
                table: t,
                nexthop_objects: false,
                ..config.fib.clone()
            };
            tasks.insert(t, spawn_netlink(&cfg)?.0);
        }
        Ok(FibTables { main, tasks })
    }

    /// The kernel tables written, `[fib] table` among them.
    pub fn tables(&self) -> impl Iterator<Item = u32> + '_ {
        self.tasks.keys().copied()
    }

    /// The task of `table`; that of `[fib] table` for 0 and for a table
    /// with no task (named by a reload: its task starts with the daemon).
    fn task_of(&self, table: u32) -> Option<&FibHandle> {
        self.tasks
            .get(&table)
            .or_else(|| self.tasks.get(&self.main))
    }

    /// Hands each change to the task of its table, in order per table.
    pub async fn update(&self, changes: Vec<FibChange>) -> Result<(), FibError> {
        if self.tasks.len() == 1 {
            return match self.tasks.get(&self.main) {
                Some(f) => f.update(changes).await,
                None => Ok(()),
            };
        }
        let mut by_table: BTreeMap<u32, Vec<FibChange>> = BTreeMap::new();
        for c in changes {
            let t = if self.tasks.contains_key(&c.table) {
                c.table
            } else {
                self.main
            };
            by_table.entry(t).or_default().push(c);
        }
        let mut result = Ok(());
        for (t, changes) in by_table {
            if let Some(f) = self.task_of(t) {
                if let Err(e) = f.update(changes).await {
                    result = Err(e);
                }
            }
        }
        result
    }

    /// Ends the start-up phase of every table.
    pub async fn startup_complete(&self) -> Result<(), FibError> {
        self.each(|f| async move { f.startup_complete().await })
            .await
    }

    /// Removes these routes of a previous run where they are still stale.
    pub async fn remove_stale(&self, prefixes: Vec<Prefix>) -> Result<(), FibError> {
        let p = &prefixes;
        self.each(|f| async move { f.remove_stale(p.clone()).await })
            .await
    }

    /// Stops every task.
    pub async fn shutdown(&self) -> Result<(), FibError> {
        self.each(|f| async move { f.shutdown().await }).await
    }

    /// Every table's routes; those of tables other than `[fib] table` are
    /// marked with theirs.
    pub async fn status(&self) -> Result<FibStatus, FibError> {
        let mut all = FibStatus {
            startup_complete: true,
            ..FibStatus::default()
        };
        for (&t, f) in &self.tasks {
            let mut s = f.status().await?;
            if t != self.main {
                for r in &mut s.routes {
                    r.table = Some(t);
                }
            }
            all.startup_complete &= s.startup_complete;
            all.installed += s.installed;
            all.pending += s.pending;
            all.errors += s.errors;
            all.stale += s.stale;
            all.routes.append(&mut s.routes);
        }
        all.routes.sort_by_key(|r| (r.prefix, r.table));
        Ok(all)
    }

    /// The state of each of `prefixes` in every table (marked with theirs
    /// but `[fib] table`).
    pub async fn routes(&self, prefixes: &[Prefix]) -> Result<Vec<FibStatusEntry>, FibError> {
        let mut all = Vec::new();
        for (&t, f) in &self.tasks {
            let mut r = f.routes(prefixes.to_vec()).await?;
            if t != self.main {
                for e in &mut r {
                    e.table = Some(t);
                }
            }
            all.append(&mut r);
        }
        all.sort_by_key(|r| (r.prefix, r.table));
        Ok(all)
    }

    /// Every table's summary in one: start-up is over when it is over for
    /// all, the stale routes and unreachable gateways of all.
    pub async fn summary(&self) -> Result<FibSummary, FibError> {
        let mut all = FibSummary {
            startup_complete: true,
            ..FibSummary::default()
        };
        for f in self.tasks.values() {
            let mut s = f.summary().await?;
            all.startup_complete &= s.startup_complete;
            all.installed += s.installed;
            all.stale.append(&mut s.stale);
            all.unreachable.append(&mut s.unreachable);
        }
        all.unreachable.sort();
        all.unreachable.dedup();
        Ok(all)
    }

    async fn each<'a, F, Fut>(&'a self, f: F) -> Result<(), FibError>
    where
        F: Fn(&'a FibHandle) -> Fut,
        Fut: std::future::Future<Output = Result<(), FibError>>,
    {
        let mut result = Ok(());
        for h in self.tasks.values() {
            if let Err(e) = f(h).await {
                result = Err(e);
            }
        }
        result
    }
}
