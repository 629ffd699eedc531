//! What changed between two configs, for `rbgpctl reload`: the daemon
//! applies neighbor additions, removals and changes without touching the
//! sessions that did not change, and reports the rest.

use super::{Config, NeighborConfig};
use ipnetwork::IpNetwork;
use std::fmt;
use std::net::IpAddr;

/// How a neighbor is identified across reloads: its address, its range or
/// its interface pattern.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NeighborKey {
    /// An explicit neighbor.
    Address(IpAddr),
    /// A dynamic neighbor range.
    Range(IpNetwork),
    /// Unnumbered neighbors on the matching links.
    Interface(String),
}

impl fmt::Display for NeighborKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NeighborKey::Address(a) => a.fmt(f),
            NeighborKey::Range(r) => r.fmt(f),
            NeighborKey::Interface(i) => write!(f, "interface {i}"),
        }
    }
}

impl NeighborConfig {
    /// The neighbor's identity (`None` only for a config that failed
    /// validation: no address, range or interface).
    pub fn key(&self) -> Option<NeighborKey> {
        match (self.address, self.range, &self.interface) {
            (Some(a), _, _) => Some(NeighborKey::Address(a)),
            (None, Some(r), _) => Some(NeighborKey::Range(r)),
            (None, None, Some(i)) => Some(NeighborKey::Interface(i.clone())),
            (None, None, None) => None,
        }
    }
}

/// The differences between a running config and a new one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigDiff {
    /// Neighbors only in the new config.
    pub added: Vec<NeighborKey>,
    /// Neighbors only in the old config.
    pub removed: Vec<NeighborKey>,
    /// Neighbors in both whose settings differ.
    pub changed: Vec<NeighborKey>,
    /// `[[policy]]` or `[[prefix_list]]` differ: re-evaluate import and
    /// export of every session that uses a named policy.
    pub policies_changed: bool,
    /// `[fib]` differs.
    pub fib_changed: bool,
    /// `[log]` differs.
    pub log_changed: bool,
    /// `[metrics]` differs.
    pub metrics_changed: bool,
    /// Changed settings a reload does not apply (they need a restart), by
    /// key: most `router.*` keys, `control.socket`, `[fib]`, `[log]`,
    /// `[metrics]`, a neighbor's new kernel table.
    pub restart_required: Vec<&'static str>,
}

impl ConfigDiff {
    /// Nothing differs.
    pub fn is_empty(&self) -> bool {
        *self == ConfigDiff::default()
    }
}

/// Compares two (validated) configs.
pub fn diff(old: &Config, new: &Config) -> ConfigDiff {
    let mut d = ConfigDiff::default();
    let find = |c: &Config, k: &NeighborKey| {
        c.neighbors
            .iter()
            .find(|n| n.key().as_ref() == Some(k))
            .cloned()
    };
    for n in &new.neighbors {
        let Some(k) = n.key() else { continue };
        match find(old, &k) {
            None => d.added.push(k),
            Some(o) if o != *n => d.changed.push(k),
            Some(_) => {}
        }
    }
    for n in &old.neighbors {
        if let Some(k) = n.key() {
            if find(new, &k).is_none() {
                d.removed.push(k);
            }
        }
    }
    d.policies_changed = old.policies != new.policies || old.prefix_lists != new.prefix_lists;
    d.fib_changed = old.fib != new.fib;
    d.log_changed = old.log != new.log;
    d.metrics_changed = old.metrics != new.metrics;
    let (o, n) = (&old.router, &new.router);
    for (changed, key) in [
        (o.asn != n.asn, "router.asn"),
        (o.router_id != n.router_id, "router.router_id"),
        (o.listen != n.listen, "router.listen"),
        (o.max_paths != n.max_paths, "router.max_paths"),
        (
            o.multipath_relax != n.multipath_relax,
            "router.multipath_relax",
        ),
        (
            o.always_compare_med != n.always_compare_med,
            "router.always_compare_med",
        ),
        (
            o.graceful_restart != n.graceful_restart,
            "router.graceful_restart",
        ),
        (o.restart_time != n.restart_time, "router.restart_time"),
        (o.cluster_id != n.cluster_id, "router.cluster_id"),
        (
            new_tables(old, new),
            "a neighbor's table not written before (a FIB task per table)",
        ),
        (old.control != new.control, "control.socket"),
        // The FIB tasks, the log filter and the metrics endpoint are set
        // up once, at start.
        (d.fib_changed, "[fib]"),
        (d.log_changed, "[log]"),
        (d.metrics_changed, "[metrics]"),
    ] {
        if changed {
            d.restart_required.push(key);
        }
    }
    d
}

/// Whether `new` names a kernel table `old` did not write: its FIB task
/// starts only with the daemon.
fn new_tables(old: &Config, new: &Config) -> bool {
    let running = |t: u32| t == old.fib.table || old.neighbors.iter().any(|n| n.table == Some(t));
    new.neighbors
        .iter()
        .filter_map(|n| n.table)
        .any(|t| t != new.fib.table && !running(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(extra: &str) -> Config {
        let text = format!("[router]\nasn = 65000\nrouter_id = \"172.18.0.5\"\n{extra}");
        super::super::parse(&text, "t.toml").unwrap()
    }

    #[test]
    fn neighbors_added_removed_changed() {
        let a = "[[neighbor]]\naddress = \"172.18.0.2\"\nremote_as = 65100\n";
        let b = "[[neighbor]]\nrange = \"172.19.0.0/16\"\nremote_as = 65200\n";
        let b2 = "[[neighbor]]\nrange = \"172.19.0.0/16\"\nremote_as = 65201\n";
        let c = "[[neighbor]]\naddress = \"fd00::2\"\nremote_as = 65300\n";
        let old = cfg(&format!("{a}{b}"));
        assert!(diff(&old, &old).is_empty());
        let new = cfg(&format!("{b2}{c}\n[log]\nlevel = \"debug\"\n"));
        let d = diff(&old, &new);
        assert_eq!(d.added, [NeighborKey::Address("fd00::2".parse().unwrap())]);
        assert_eq!(
            d.removed,
            [NeighborKey::Address("172.18.0.2".parse().unwrap())]
        );
        assert_eq!(
            d.changed,
            [NeighborKey::Range("172.19.0.0/16".parse().unwrap())]
        );
        assert_eq!(d.changed[0].to_string(), "172.19.0.0/16");
        assert!(d.log_changed && !d.fib_changed && !d.policies_changed);
        assert_eq!(d.restart_required, ["[log]"]);
    }

    #[test]
    fn router_identity_needs_restart() {
        let old = cfg("");
        let mut new = old.clone();
        new.router.asn = 65001;
        new.control.socket = "/tmp/x.sock".into();
        assert_eq!(
            diff(&old, &new).restart_required,
            ["router.asn", "control.socket"]
        );
    }
}
