//! # rib
//!
//! BGP routing information bases for rbgpd: Adj-RIB-In per peer, Loc-RIB
//! with the RFC 4271 decision process and ECMP multipath, Adj-RIB-Out per
//! peer, and import/export policy. Plain data: no async, no locks, no I/O,
//! no clock reads; owned by one task.
//!
//! How the daemon core drives it:
//! 1. [`Rib::new`] with the router settings and policies;
//! 2. [`Rib::add_peer`] when a session is established, then
//!    [`Rib::full_export`] for the initial table (then End-of-RIB);
//! 3. per decoded UPDATE: [`Rib::apply`], straight from the codec's
//!    zero-copy view (or [`Rib::update`] / [`Rib::withdraw`]);
//! 4. after a batch of input: [`Rib::drain_fib_changes`] for the kernel;
//!    [`Rib::drain_group`] once per export group and [`Rib::drain_exports`]
//!    for every established peer in none, then [`Rib::regroup`];
//! 5. session down: [`Rib::peer_down`] (graceful keeps stale paths until
//!    [`Rib::end_of_rib`] or [`Rib::sweep_stale`]), [`Rib::remove_peer`];
//! 6. config reload: [`Rib::set_policies`], [`Rib::set_peer_policies`].
//!
//! Memory: attribute sets are interned ([`RouteAttrs`] stored once per
//! distinct value), a path is 16 bytes, a prefix with one path needs no
//! allocation beyond its slab slot and index bucket, and each Adj-RIB-Out
//! costs 2 or 4 bytes per prefix: one per export group (peers of one kind
//! share it, `export_group`) and one per peer on its own. See BENCHMARKS.md (RIB).

#![warn(missing_docs)]

mod add_path;
mod apply;
mod attrs;
mod compact;
pub mod decision;
pub mod explain;
mod export;
mod export_group;
mod fib_change;
mod local;
mod peers;
pub mod policy;
pub mod policy_eval;
mod query;
mod rib;
mod slot_index;
mod table;

pub use apply::{Applied, WithdrawReason};
pub use attrs::{RouteAttrs, DEFAULT_LOCAL_PREF};
pub use decision::Reason;
pub use explain::{ExplainTarget, Explanation};
pub use export::{ExportBatch, ExportRefusal};
pub use export_group::{GroupExport, GroupJoin, MemberBatch};
pub use fib_change::FibChange;
pub use local::{self_next_hop_of, LocalSource, LOCAL_PEER};
pub use query::{HostRoute, PathView, RibStats, RouteView};
pub use rib::{PeerCounts, PeerInfo, Rib, RibConfig, RibError};
