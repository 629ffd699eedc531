//! Connection collision detection (RFC 4271 6.8).
//!
//! When both speakers open a TCP connection at the same time, two sessions
//! race towards OpenConfirm. The neighbor task, which owns both
//! connections, asks [`collision_winner`] which one to keep as soon as the
//! peer's BGP Identifier is known (one connection received an OPEN), and
//! closes the other with Cease / Connection Collision Resolution.

use serde::{Deserialize, Serialize};
use std::net::Ipv4Addr;

/// Who opened a TCP connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Origin {
    /// We dialled it.
    Local,
    /// The peer dialled it and we accepted it.
    Remote,
}

// RFC 4271 6.8:
// "1) The BGP Identifier of the local system is compared to the BGP
//     Identifier of the remote system (as specified in the OPEN message).
//     Comparing BGP Identifiers is done by converting them to host byte
//     order and treating them as 4-octet unsigned integers.
//  2) If the value of the local BGP Identifier is less than the remote
//     one, the local system closes the BGP connection that already exists
//     (the one that is already in the OpenConfirm state), and accepts the
//     BGP connection initiated by the remote system.
//  3) Otherwise, the local system closes the newly created BGP connection
//     (the one associated with the newly received OPEN message), and
//     continues to use the existing one (the one that is already in the
//     OpenConfirm state)."
//
// Put another way, the connection opened by the speaker with the higher
// identifier survives. RFC 6286 2.3: "If the BGP Identifiers of the peers
// involved in the connection collision are identical, then the connection
// initiated by the BGP speaker with the larger AS number is preserved."
/// Which connection survives a collision: the one opened by the side with
/// the larger BGP Identifier (by AS number when the identifiers are equal).
pub fn collision_winner(
    local_id: Ipv4Addr,
    local_asn: u32,
    peer_id: Ipv4Addr,
    peer_asn: u32,
) -> Origin {
    let (l, p) = (u32::from(local_id), u32::from(peer_id));
    if l > p || (l == p && local_asn > peer_asn) {
        Origin::Local
    } else {
        Origin::Remote
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn higher_identifier_keeps_its_connection() {
        let lo = Ipv4Addr::new(10, 0, 0, 1);
        let hi = Ipv4Addr::new(172, 18, 0, 5);
        assert_eq!(collision_winner(hi, 65000, lo, 65100), Origin::Local);
        assert_eq!(collision_winner(lo, 65000, hi, 65100), Origin::Remote);
    }

    #[test]
    fn identifiers_compare_as_host_order_integers() {
        // 9.0.0.1 < 10.0.0.0 numerically; a byte-wise string compare would
        // get this wrong.
        let a = Ipv4Addr::new(9, 0, 0, 1);
        let b = Ipv4Addr::new(10, 0, 0, 0);
        assert_eq!(collision_winner(a, 1, b, 2), Origin::Remote);
    }

    #[test]
    fn equal_identifiers_fall_back_to_as_number() {
        let id = Ipv4Addr::new(1, 1, 1, 1);
        assert_eq!(collision_winner(id, 65200, id, 65100), Origin::Local);
        assert_eq!(collision_winner(id, 65000, id, 65100), Origin::Remote);
    }
}
