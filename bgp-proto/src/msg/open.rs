//! The OPEN message and its capabilities (RFC 4271 4.2, RFC 5492), as
//! owned values. Wire encoding lives in `crate::wire::open`.

use crate::types::Family;
use serde::{Deserialize, Serialize};
use std::net::Ipv4Addr;

/// AS_TRANS (RFC 6793): the 2-octet My AS of a speaker whose AS does not fit.
pub const AS_TRANS: u16 = 23456;

/// An OPEN message.
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+
/// |    Version    |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |     My Autonomous System      |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |           Hold Time           |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                         BGP Identifier                        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// | Opt Parm Len  |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |             Optional Parameters (variable)                    |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenMessage {
    /// BGP version (4).
    pub version: u8,
    /// The 2-octet My AS field as sent (AS_TRANS when the AS needs 4 octets).
    pub my_as: u16,
    /// Proposed hold time in seconds (0, or at least 3).
    pub hold_time: u16,
    /// BGP Identifier.
    pub bgp_id: Ipv4Addr,
    /// Capabilities, in the order received (all Capability optional
    /// parameters flattened).
    pub capabilities: Vec<Capability>,
    /// Optional parameters other than Capabilities (type, value), kept raw.
    pub other_params: Vec<(u8, Vec<u8>)>,
    /// Whether the optional parameters were (or are to be) encoded in the
    /// RFC 9072 extended format.
    pub extended_params: bool,
}

impl OpenMessage {
    /// The speaker's real AS: the 4-octet AS capability if present, else My AS.
    pub fn asn(&self) -> u32 {
        self.capabilities
            .iter()
            .find_map(|c| match c {
                Capability::FourOctetAs(asn) => Some(*asn),
                _ => None,
            })
            .unwrap_or(u32::from(self.my_as))
    }

    /// The 2-octet My AS to send for `asn` (AS_TRANS when it does not fit).
    pub fn my_as_for(asn: u32) -> u16 {
        u16::try_from(asn).unwrap_or(AS_TRANS)
    }
}

/// ADD-PATH send/receive mode for one family (RFC 7911).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AddPathMode {
    /// 1: able to receive multiple paths.
    Receive,
    /// 2: able to send multiple paths.
    Send,
    /// 3: both.
    Both,
}

impl AddPathMode {
    /// Code point.
    pub fn code(self) -> u8 {
        match self {
            AddPathMode::Receive => 1,
            AddPathMode::Send => 2,
            AddPathMode::Both => 3,
        }
    }
    /// Parses a code point.
    pub fn from_code(v: u8) -> Option<Self> {
        match v {
            1 => Some(AddPathMode::Receive),
            2 => Some(AddPathMode::Send),
            3 => Some(AddPathMode::Both),
            _ => None,
        }
    }
    /// Whether this side can receive.
    pub fn can_receive(self) -> bool {
        matches!(self, AddPathMode::Receive | AddPathMode::Both)
    }
    /// Whether this side can send.
    pub fn can_send(self) -> bool {
        matches!(self, AddPathMode::Send | AddPathMode::Both)
    }
}

/// One family in the graceful restart capability (RFC 4724).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct GracefulRestartFamily {
    /// The family.
    pub family: Family,
    /// Forwarding state preserved (F bit).
    pub forwarding_preserved: bool,
}

/// The graceful restart capability (RFC 4724, with RFC 8538's N bit).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct GracefulRestart {
    /// Restart State (R bit): the sender has restarted.
    pub restart_state: bool,
    /// Notification (N bit, RFC 8538): GR also covers NOTIFICATIONs.
    pub notification: bool,
    /// Restart time in seconds (12 bits).
    pub restart_time: u16,
    /// Families with their forwarding bits.
    pub families: Vec<GracefulRestartFamily>,
}

/// One entry of the extended next hop capability (RFC 8950).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ExtendedNextHop {
    /// NLRI family.
    pub family: Family,
    /// AFI of the next hop that may be used for it.
    pub next_hop_afi: u16,
}

/// A capability (RFC 5492), decoded when known, raw otherwise.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Capability {
    /// 1: multiprotocol extensions (RFC 4760).
    Multiprotocol(Family),
    /// 2: route refresh (RFC 2918).
    RouteRefresh,
    /// 5: extended next hop encoding (RFC 8950).
    ExtendedNextHop(Vec<ExtendedNextHop>),
    /// 6: extended message (RFC 8654).
    ExtendedMessage,
    /// 64: graceful restart (RFC 4724).
    GracefulRestart(GracefulRestart),
    /// 65: 4-octet AS number (RFC 6793).
    FourOctetAs(u32),
    /// 69: ADD-PATH (RFC 7911).
    AddPath(Vec<(Family, AddPathMode)>),
    /// 70: enhanced route refresh (RFC 7313).
    EnhancedRouteRefresh,
    /// 73: FQDN (draft-walton-bgp-hostname-capability).
    Fqdn {
        /// Host name.
        hostname: String,
        /// Domain name.
        domain: String,
    },
    /// 128: the pre-standard Cisco route refresh code, still sent by some.
    RouteRefreshCisco,
    /// Any other capability, kept raw.
    Unknown {
        /// Capability code.
        code: u8,
        /// Capability value.
        value: Vec<u8>,
    },
}

impl Capability {
    /// The capability code.
    pub fn code(&self) -> u8 {
        match self {
            Capability::Multiprotocol(_) => 1,
            Capability::RouteRefresh => 2,
            Capability::ExtendedNextHop(_) => 5,
            Capability::ExtendedMessage => 6,
            Capability::GracefulRestart(_) => 64,
            Capability::FourOctetAs(_) => 65,
            Capability::AddPath(_) => 69,
            Capability::EnhancedRouteRefresh => 70,
            Capability::Fqdn { .. } => 73,
            Capability::RouteRefreshCisco => 128,
            Capability::Unknown { code, .. } => *code,
        }
    }
}
