//! [`Rib::apply`]: one UPDATE from the codec's zero-copy view into the RIB,
//! with the checks that need the session: negotiated families, the first
//! AS of an external peer's AS_PATH, confederation segments.

use crate::rib::{Rib, RibError};
use bgp_proto::msg::attributes::{AsPath, AsSegmentType};
use bgp_proto::types::Family;
use bgp_proto::wire::update::Update;
use std::net::IpAddr;

/// What [`Rib::apply`] made of an UPDATE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// Routes announced and/or withdrawn. `ignored` names a family whose
    /// NLRI were left out because the session did not negotiate it (a
    /// multicast SAFI, or IPv6 on an IPv4-only session).
    Routes {
        /// A family left out, if any.
        ignored: Option<Family>,
    },
    /// Treat-as-withdraw (RFC 7606): every prefix the UPDATE announced was
    /// withdrawn instead.
    Withdrawn(WithdrawReason),
    /// End-of-RIB for this family (RFC 4724).
    EndOfRib(Family),
}

/// Why an UPDATE was treated as a withdrawal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WithdrawReason {
    /// The codec found a malformed attribute (RFC 7606).
    Malformed,
    /// From an external peer, the AS_PATH does not start with the peer's
    /// AS (RFC 4271 6.3, RFC 7606 7.2).
    FirstAs {
        /// The peer's AS.
        expected: u32,
        /// The leftmost AS of the path, if it starts with an AS_SEQUENCE.
        found: Option<u32>,
    },
    /// From an external peer, confederation segments (RFC 5065 5, RFC
    /// 7606 7.2): we are in no confederation.
    Confederation,
}

impl std::fmt::Display for WithdrawReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WithdrawReason::Malformed => f.write_str("malformed attribute (RFC 7606)"),
            WithdrawReason::FirstAs { expected, found } => match found {
                Some(a) => write!(
                    f,
                    "AS_PATH starts with AS {a}, not the peer's AS {expected}"
                ),
                None => write!(f, "AS_PATH does not start with the peer's AS {expected}"),
            },
            WithdrawReason::Confederation => {
                f.write_str("confederation segments in the AS_PATH of an external peer")
            }
        }
    }
}

/// The leftmost AS of a path that starts with an AS_SEQUENCE.
fn first_as(path: &AsPath) -> Option<u32> {
    let s = path.segments.first()?;
    match s.kind {
        AsSegmentType::Sequence => s.asns.first().copied(),
        _ => None,
    }
}

fn has_confederation(path: &AsPath) -> bool {
    path.segments.iter().any(|s| {
        matches!(
            s.kind,
            AsSegmentType::ConfedSequence | AsSegmentType::ConfedSet
        )
    })
}

/// Why an external peer's AS_PATH is refused, if it is.
fn refusal(
    path: &AsPath,
    ebgp: bool,
    enforce_first_as: bool,
    remote_as: u32,
) -> Option<WithdrawReason> {
    if !ebgp {
        return None;
    }
    if has_confederation(path) {
        return Some(WithdrawReason::Confederation);
    }
    let found = first_as(path);
    (enforce_first_as && found != Some(remote_as)).then_some(WithdrawReason::FirstAs {
        expected: remote_as,
        found,
    })
}

impl Rib {
    /// Applies one UPDATE from `peer` straight from its zero-copy view:
    /// End-of-RIB, withdrawals (body and MP_UNREACH), IPv4 NLRI with their
    /// NEXT_HOP, MP_REACH NLRI with its global next hop. NLRI of a family
    /// the session did not negotiate are ignored. An UPDATE that RFC 7606
    /// makes treat-as-withdraw (a malformed attribute; from an external
    /// peer, an AS_PATH that does not start with its AS when the peer
    /// enforces it, or that holds confederation segments) withdraws every
    /// prefix it names.
    pub fn apply(&mut self, peer: u32, update: &Update) -> Result<Applied, RibError> {
        let slot = self.core.slot_of(peer)?;
        let (v4, v6, ebgp, remote_as, enforce_first_as) = match self.core.peer(slot) {
            Some(p) => (
                p.info.families.contains(&Family::IPV4_UNICAST),
                p.info.families.contains(&Family::IPV6_UNICAST),
                p.ebgp,
                p.info.remote_as,
                p.info.enforce_first_as,
            ),
            None => return Err(RibError::UnknownPeer(peer)),
        };
        // The RIB holds unicast only: any other family is never negotiated.
        let negotiated =
            |f: Family| (f == Family::IPV4_UNICAST && v4) || (f == Family::IPV6_UNICAST && v6);
        if let Some(family) = update.end_of_rib() {
            if negotiated(family) {
                self.end_of_rib(peer, family)?;
            }
            return Ok(Applied::EndOfRib(family));
        }
        let mut ignored = None;
        let mut keep = |f: Family| {
            let ok = negotiated(f);
            if !ok {
                ignored = Some(f);
            }
            ok
        };
        let body = keep(Family::IPV4_UNICAST);
        let unreach = update
            .mp_unreach()
            .filter(|u| u.is_supported() && keep(u.family()));
        let reach = update
            .mp_reach()
            .filter(|r| r.is_supported() && keep(r.family()));
        let has_nlri = body && update.nlri().next().is_some();
        if body {
            self.withdraw(peer, update.withdrawn())?;
        }
        if let Some(u) = unreach {
            self.withdraw(peer, u.withdrawn())?;
        }
        if !has_nlri && reach.is_none() {
            return Ok(Applied::Routes { ignored });
        }
        let attrs = (!update.is_treat_as_withdraw()).then(|| update.attributes());
        let refused = match &attrs {
            None => Some(WithdrawReason::Malformed),
            Some(a) => refusal(&a.as_path, ebgp, enforce_first_as, remote_as),
        };
        if let Some(reason) = refused {
            if has_nlri {
                self.withdraw(peer, update.nlri())?;
            }
            if let Some(r) = reach {
                self.withdraw(peer, r.nlri())?;
            }
            return Ok(Applied::Withdrawn(reason));
        }
        let Some(attrs) = attrs else {
            return Ok(Applied::Withdrawn(WithdrawReason::Malformed));
        };
        if has_nlri {
            match attrs.next_hop {
                Some(nh) => self.update(peer, update.nlri(), IpAddr::V4(nh), attrs.clone())?,
                // RFC 7606 3.d makes this treat-as-withdraw; the codec flags
                // it, this is the belt to its braces.
                None => self.withdraw(peer, update.nlri())?,
            }
        }
        if let Some(r) = reach {
            self.update(peer, r.nlri(), r.next_hop().forwarding(), attrs)?;
        }
        Ok(Applied::Routes { ignored })
    }
}
