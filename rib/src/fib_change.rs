//! [`FibChange`]: what the RIB tells the FIB about one prefix.

use bgp_proto::types::Prefix;
use std::net::IpAddr;

/// A change of the forwarding entry of a prefix: the ECMP next hops of the
/// best and multipath paths, sorted and without duplicates, at most
/// `max_paths`; empty means delete the route. Apply in order: a prefix may
/// appear more than once, the last one wins.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FibChange {
    /// The prefix.
    pub prefix: Prefix,
    /// Next hops; an IPv4 next hop for an IPv6 prefix means "via inet".
    pub next_hops: Vec<IpAddr>,
    /// The kernel table: that of the peer whose path is best (0: the
    /// FIB's own). A prefix whose best path moves to another table is
    /// deleted from the old one first.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub table: u32,
}

fn is_zero(t: &u32) -> bool {
    *t == 0
}

impl FibChange {
    /// Install or change `prefix` with these next hops.
    pub fn announce(prefix: Prefix, next_hops: Vec<IpAddr>) -> Self {
        FibChange {
            prefix,
            next_hops,
            table: 0,
        }
    }

    /// Remove `prefix`.
    pub fn withdraw(prefix: Prefix) -> Self {
        FibChange {
            prefix,
            next_hops: Vec::new(),
            table: 0,
        }
    }
}
