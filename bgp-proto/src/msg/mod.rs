//! BGP messages as owned values, and the session context the codec needs.
//! These types carry no wire code: `crate::wire` parses and writes them.

pub mod attributes;
pub mod notification;
pub mod open;
pub mod route_refresh;

use crate::types::Family;
use serde::{Deserialize, Serialize};

pub use attributes::{
    Aggregator, AsPath, AsSegment, AsSegmentType, Community, ExtCommunity, LargeCommunity,
    MpNextHop, MpReach, MpUnreach, Origin, PathAttributes, RawAttribute, UpdateMessage,
};
pub use notification::Notification;
pub use open::{
    AddPathMode, Capability, ExtendedNextHop, GracefulRestart, GracefulRestartFamily, OpenMessage,
};
pub use route_refresh::{RouteRefresh, RouteRefreshSubtype};

/// Message type codes (RFC 4271 4.1, RFC 2918).
pub mod message_type {
    /// 1
    pub const OPEN: u8 = 1;
    /// 2
    pub const UPDATE: u8 = 2;
    /// 3
    pub const NOTIFICATION: u8 = 3;
    /// 4
    pub const KEEPALIVE: u8 = 4;
    /// 5
    pub const ROUTE_REFRESH: u8 = 5;
}

/// Any BGP message, owned. This is what is encoded; decoding an UPDATE
/// gives the zero-copy `wire::update::Update` instead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[allow(clippy::large_enum_variant)] // built once per send, never stored in bulk
pub enum Message {
    /// OPEN.
    Open(OpenMessage),
    /// UPDATE.
    Update(UpdateMessage),
    /// NOTIFICATION.
    Notification(Notification),
    /// KEEPALIVE.
    Keepalive,
    /// ROUTE-REFRESH.
    RouteRefresh(RouteRefresh),
}

/// What the codec must know of the negotiated session to read and write
/// UPDATEs. The default is the state before OPENs are exchanged: 2-octet
/// AS, no ADD-PATH, 4096-octet messages.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionContext {
    /// Both sides announced the 4-octet AS capability (RFC 6793).
    pub four_octet_as: bool,
    /// Both sides announced extended messages (RFC 8654): 65535 octets.
    pub extended_message: bool,
    /// Families for which received NLRI carry a path identifier.
    pub add_path_receive: Vec<Family>,
    /// Families for which sent NLRI carry a path identifier.
    pub add_path_send: Vec<Family>,
    /// Families for which we accept and send an IPv6 next hop for IPv4
    /// NLRI (RFC 8950), as (NLRI family, next hop AFI).
    pub extended_next_hop: Vec<ExtendedNextHop>,
}

impl SessionContext {
    /// Largest message size allowed on this session.
    pub fn max_message_len(&self) -> usize {
        if self.extended_message {
            65535
        } else {
            4096
        }
    }
    /// Whether received NLRI of `family` carry path identifiers.
    pub fn add_path_rx(&self, family: Family) -> bool {
        self.add_path_receive.contains(&family)
    }
    /// Whether sent NLRI of `family` carry path identifiers.
    pub fn add_path_tx(&self, family: Family) -> bool {
        self.add_path_send.contains(&family)
    }
    /// Whether IPv4 NLRI of `family` may carry an IPv6 next hop, in both
    /// directions: both sides announced the Extended Next Hop Encoding
    /// capability for the family with next hop AFI IPv6 (RFC 8950 4).
    pub fn ipv6_next_hop_for(&self, family: Family) -> bool {
        self.extended_next_hop
            .iter()
            .any(|e| e.family == family && e.next_hop_afi == crate::types::Afi::Ipv6.code())
    }
}
