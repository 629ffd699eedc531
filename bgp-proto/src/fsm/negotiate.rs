//! OPEN validation (RFC 4271 6.2, RFC 6286, RFC 6793, RFC 5492) and
//! capability negotiation: what both sides of a session agreed on.
//!
//! Everything here is a pure function of the two OPEN messages and the
//! local configuration, so each check is unit-tested on its own.

use crate::msg::notification::{code, open_subcode};
use crate::msg::open::AS_TRANS;
use crate::msg::{
    AddPathMode, Capability, ExtendedNextHop, GracefulRestart, Notification, OpenMessage,
    SessionContext,
};
use crate::types::Family;
use serde::{Deserialize, Serialize};
use std::net::Ipv4Addr;
use std::sync::Arc;

/// The BGP version we speak.
pub const BGP_VERSION: u8 = 4;

/// What both sides agreed on, handed to the neighbor task when the session
/// reaches Established.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Negotiated {
    /// What the codec needs to read and write UPDATEs on this session.
    pub context: SessionContext,
    /// Families both sides announced (IPv4 unicast only when a side sent no
    /// multiprotocol capability).
    pub families: Vec<Family>,
    /// The peer's AS (from the 4-octet AS capability when present).
    pub peer_asn: u32,
    /// The peer's BGP Identifier.
    pub peer_id: Ipv4Addr,
    /// Negotiated hold time in seconds (0: no hold timer).
    pub hold_time: u16,
    /// Keepalive interval in seconds (0: no keepalives).
    pub keepalive: u16,
    /// Both sides announced the 4-octet AS capability.
    pub four_octet_as: bool,
    /// Both sides announced route refresh (RFC 2918, or the Cisco code).
    pub route_refresh: bool,
    /// Both sides announced enhanced route refresh (RFC 7313).
    pub enhanced_rr: bool,
    /// Both sides announced extended messages (RFC 8654).
    pub extended_message: bool,
    /// The peer's graceful restart capability, when both sides announced
    /// one (we are always a GR helper when we announce it).
    pub peer_gr: Option<GracefulRestart>,
    /// Both sides set the RFC 8538 N bit: graceful restart also covers
    /// NOTIFICATIONs other than Hard Reset.
    pub gr_notification: bool,
    /// The OPEN we received (shared: a session's negotiated state is
    /// copied to its task, its status and the core, its OPENs are not).
    pub peer_open: Arc<OpenMessage>,
    /// The OPEN we sent (shared with the FSM's).
    pub local_open: Arc<OpenMessage>,
}

impl Negotiated {
    /// Whether a session that ended this way should be handled as a
    /// graceful restart by the helper (keep the peer's routes as stale):
    /// GR was negotiated, and either the TCP connection simply went away
    /// (RFC 4724 4.2) or, with the N bit negotiated (RFC 8538 section 4),
    /// a NOTIFICATION other than a Cease Hard Reset was exchanged.
    pub fn is_graceful(&self, notification: Option<&Notification>) -> bool {
        if self.peer_gr.is_none() {
            return false;
        }
        match notification {
            None => true,
            Some(n) => self.gr_notification && !n.is_hard_reset(),
        }
    }
}

/// The AS a peer may have (RFC 4271 6.2: any other is Bad Peer AS).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PeerAs {
    /// Exactly this one.
    Exact(u32),
    /// Any but ours: an external peer (BIRD's `external`, FRR's
    /// `remote-as external`).
    External,
    /// Ours: an internal peer.
    Internal,
    /// One of these.
    OneOf(Vec<u32>),
}

impl PeerAs {
    /// Whether a peer announcing `asn` is acceptable to a speaker in
    /// `local`.
    pub fn accepts(&self, asn: u32, local: u32) -> bool {
        match self {
            PeerAs::Exact(a) => asn == *a,
            PeerAs::External => asn != local,
            PeerAs::Internal => asn == local,
            PeerAs::OneOf(list) => list.contains(&asn),
        }
    }

    /// The one AS accepted, if there is only one.
    pub fn exact(&self, local: u32) -> Option<u32> {
        match self {
            PeerAs::Exact(a) => Some(*a),
            PeerAs::Internal => Some(local),
            PeerAs::OneOf(list) if list.len() == 1 => list.first().copied(),
            PeerAs::External | PeerAs::OneOf(_) => None,
        }
    }
}

/// What the local side expects of the peer's OPEN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenPolicy {
    /// Our AS.
    pub local_asn: u32,
    /// Our BGP Identifier.
    pub local_id: Ipv4Addr,
    /// The AS the peer must have.
    pub peer_as: PeerAs,
    /// Capability codes the peer must announce (RFC 5492: otherwise
    /// "Unsupported Capability"). Empty by default.
    pub required_capabilities: Vec<u8>,
    /// Least hold time accepted from the peer, seconds (at least 3).
    pub min_hold_time: u16,
    /// Accept a hold time of 0 (no keepalives, so a dead peer is never
    /// noticed) from the peer.
    pub allow_zero_hold: bool,
}

// RFC 4271 6.2:
// "If the version number in the Version field of the received OPEN message
//  is not supported, then the Error Subcode MUST be set to Unsupported
//  Version Number. The Data field is a 2-octet unsigned integer, which
//  indicates the largest, locally-supported version number less than the
//  version the remote BGP peer bid (as indicated in the received OPEN
//  message), or if the smallest, locally-supported version number is
//  greater than the version the remote BGP peer bid, then the smallest,
//  locally-supported version number."
//
// "If the Hold Time field of the OPEN message is unacceptable, then the
//  Error Subcode MUST be set to Unacceptable Hold Time. An implementation
//  MUST reject Hold Time values of one or two seconds."
//
// RFC 6286 2.2:
// "If the BGP Identifier field of the OPEN message is zero, or if it is
//  the same as the BGP Identifier of the local BGP speaker and the message
//  is from an internal peer, then the Error Subcode is set to "Bad BGP
//  Identifier"."
/// Checks a received OPEN; the error is the NOTIFICATION to send.
pub fn check_open(open: &OpenMessage, policy: &OpenPolicy) -> Result<(), Notification> {
    if open.version != BGP_VERSION {
        let data = u16::from(BGP_VERSION).to_be_bytes();
        return Err(Notification::new(
            code::OPEN_MESSAGE,
            open_subcode::UNSUPPORTED_VERSION,
            data,
        ));
    }
    // RFC 6793 4.1: a 4-octet speaker whose AS does not fit sends AS_TRANS
    // in My AS and its real AS in the capability. A 2-octet AS sent with
    // the capability must agree with it.
    let cap_asn = open.capabilities.iter().find_map(|c| match c {
        Capability::FourOctetAs(asn) => Some(*asn),
        _ => None,
    });
    let asn = match cap_asn {
        Some(asn) => {
            if open.my_as != AS_TRANS && u32::from(open.my_as) != asn {
                return Err(bad_peer_as());
            }
            asn
        }
        None => u32::from(open.my_as),
    };
    if !policy.peer_as.accepts(asn, policy.local_asn) {
        return Err(bad_peer_as());
    }
    let internal = asn == policy.local_asn;
    if open.bgp_id.is_unspecified() || (internal && open.bgp_id == policy.local_id) {
        return Err(Notification::new(
            code::OPEN_MESSAGE,
            open_subcode::BAD_BGP_IDENTIFIER,
            [],
        ));
    }
    let unacceptable = match open.hold_time {
        0 => !policy.allow_zero_hold,
        t => t < policy.min_hold_time.max(3),
    };
    if unacceptable {
        return Err(Notification::new(
            code::OPEN_MESSAGE,
            open_subcode::UNACCEPTABLE_HOLD_TIME,
            [],
        ));
    }
    // RFC 5492 3: "...the Data field contains the Capability or
    // Capabilities that cause the speaker to send the message."
    let missing: Vec<u8> = policy
        .required_capabilities
        .iter()
        .filter(|code| !open.capabilities.iter().any(|c| c.code() == **code))
        .flat_map(|code| [*code, 0])
        .collect();
    if !missing.is_empty() {
        return Err(Notification::new(
            code::OPEN_MESSAGE,
            open_subcode::UNSUPPORTED_CAPABILITY,
            missing,
        ));
    }
    Ok(())
}

fn bad_peer_as() -> Notification {
    Notification::new(code::OPEN_MESSAGE, open_subcode::BAD_PEER_AS, [])
}

/// Families announced in multiprotocol capabilities; RFC 4760 8: a speaker
/// that sends none supports IPv4 unicast only.
pub fn announced_families(open: &OpenMessage) -> Vec<Family> {
    let mut out: Vec<Family> = Vec::new();
    for c in &open.capabilities {
        if let Capability::Multiprotocol(f) = c {
            if !out.contains(f) {
                out.push(*f);
            }
        }
    }
    if out.is_empty() {
        out.push(Family::IPV4_UNICAST);
    }
    out
}

fn has(open: &OpenMessage, pred: impl Fn(&Capability) -> bool) -> bool {
    open.capabilities.iter().any(pred)
}

fn add_path_mode(open: &OpenMessage, family: Family) -> Option<AddPathMode> {
    open.capabilities.iter().rev().find_map(|c| match c {
        Capability::AddPath(list) => list
            .iter()
            .rev()
            .find(|(f, _)| *f == family)
            .map(|(_, m)| *m),
        _ => None,
    })
}

fn extended_next_hops(open: &OpenMessage) -> Vec<ExtendedNextHop> {
    open.capabilities
        .iter()
        .filter_map(|c| match c {
            Capability::ExtendedNextHop(v) => Some(v.iter().copied()),
            _ => None,
        })
        .flatten()
        .collect()
}

fn graceful_restart(open: &OpenMessage) -> Option<&GracefulRestart> {
    open.capabilities.iter().find_map(|c| match c {
        Capability::GracefulRestart(gr) => Some(gr),
        _ => None,
    })
}

/// Negotiated keepalive: the configured interval capped at a third of the
/// hold time, or a third of the hold time; 0 when the hold time is 0.
pub fn keepalive_for(hold_time: u16, configured: Option<u16>) -> u16 {
    if hold_time == 0 {
        return 0;
    }
    let third = (hold_time / 3).max(1);
    match configured {
        Some(k) if k > 0 => k.min(third),
        _ => third,
    }
}

/// Computes what both sides agreed on from the two OPENs (both already
/// checked). `keepalive` is the configured keepalive interval, if any.
pub fn negotiate(local: &OpenMessage, peer: &OpenMessage, keepalive: Option<u16>) -> Negotiated {
    negotiate_shared(&Arc::new(local.clone()), &Arc::new(peer.clone()), keepalive)
}

/// [`negotiate`] on OPENs already shared: the result holds them, not
/// copies.
pub fn negotiate_shared(
    local_open: &Arc<OpenMessage>,
    peer_open: &Arc<OpenMessage>,
    keepalive: Option<u16>,
) -> Negotiated {
    let (local, peer) = (&**local_open, &**peer_open);
    let local_families = announced_families(local);
    let peer_families = announced_families(peer);
    let families: Vec<Family> = local_families
        .iter()
        .filter(|f| peer_families.contains(f))
        .copied()
        .collect();

    let four_octet_as = has(local, |c| matches!(c, Capability::FourOctetAs(_)))
        && has(peer, |c| matches!(c, Capability::FourOctetAs(_)));
    let route_refresh = has(local, |c| matches!(c, Capability::RouteRefresh))
        && has(peer, |c| {
            matches!(c, Capability::RouteRefresh | Capability::RouteRefreshCisco)
        });
    let enhanced_rr = has(local, |c| matches!(c, Capability::EnhancedRouteRefresh))
        && has(peer, |c| matches!(c, Capability::EnhancedRouteRefresh));
    let extended_message = has(local, |c| matches!(c, Capability::ExtendedMessage))
        && has(peer, |c| matches!(c, Capability::ExtendedMessage));

    // RFC 7911 4: we receive path identifiers for a family when we said we
    // can receive and the peer said it can send, and the other way round.
    let mut add_path_receive = Vec::new();
    let mut add_path_send = Vec::new();
    for f in &families {
        if let (Some(l), Some(p)) = (add_path_mode(local, *f), add_path_mode(peer, *f)) {
            if l.can_receive() && p.can_send() {
                add_path_receive.push(*f);
            }
            if l.can_send() && p.can_receive() {
                add_path_send.push(*f);
            }
        }
    }

    let peer_enh = extended_next_hops(peer);
    let extended_next_hop: Vec<ExtendedNextHop> = extended_next_hops(local)
        .into_iter()
        .filter(|e| peer_enh.contains(e) && families.contains(&e.family))
        .collect();

    let (peer_gr, gr_notification) = match (graceful_restart(local), graceful_restart(peer)) {
        (Some(l), Some(p)) => (Some(p.clone()), l.notification && p.notification),
        _ => (None, false),
    };

    let hold_time = local.hold_time.min(peer.hold_time);
    Negotiated {
        context: SessionContext {
            four_octet_as,
            extended_message,
            add_path_receive,
            add_path_send,
            extended_next_hop,
        },
        families,
        peer_asn: peer.asn(),
        peer_id: peer.bgp_id,
        hold_time,
        keepalive: keepalive_for(hold_time, keepalive),
        four_octet_as,
        route_refresh,
        enhanced_rr,
        extended_message,
        peer_gr,
        gr_notification,
        peer_open: Arc::clone(peer_open),
        local_open: Arc::clone(local_open),
    }
}
