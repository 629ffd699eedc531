//! Routes this router originates (`[[route]]`, redistributed connected
//! networks): paths of a pseudo-peer that never exports and is never
//! written to the kernel.
//!
//! The pseudo-peer takes a slot like any peer, so originated routes go
//! through the same decision process (where they win over any learned
//! path, [`crate::Reason::Local`]), export log and export policy as
//! learned ones. It is not in the peer index, and its id is refused to
//! sessions.

use crate::attrs::{RouteAttrs, DEFAULT_LOCAL_PREF};
use crate::export::{self_next_hop, ExportBatch};
use crate::policy::PolicyRef;
use crate::policy_eval::{Outcome, PolicyId, RouteCtx};
use crate::rib::{Core, PeerInfo, PeerState, Rib, RibError};
use crate::table::PathList;
use bgp_proto::msg::attributes::{AsPath, Origin, PathAttributes};
use bgp_proto::types::{Family, Nlri, Prefix};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

/// The peer id originated routes carry in views ([`crate::PathView::peer`]).
pub const LOCAL_PEER: u32 = u32::MAX;

/// What originates a route. Each source is its own path of the prefix
/// (its ADD-PATH id in the RIB), so a prefix both configured and
/// connected has two paths and stays while either does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LocalSource {
    /// A `[[route]]` of the configuration.
    Static,
    /// A network of one of the router's interfaces (`redistribute`).
    Connected,
}

impl LocalSource {
    fn path_id(self) -> u32 {
        match self {
            LocalSource::Static => 0,
            LocalSource::Connected => 1,
        }
    }

    /// A short lowercase name for display.
    pub fn as_str(self) -> &'static str {
        match self {
            LocalSource::Static => "static",
            LocalSource::Connected => "connected",
        }
    }

    /// The source of an originated path, from its path id.
    pub fn of_path_id(id: u32) -> Option<LocalSource> {
        match id {
            0 => Some(LocalSource::Static),
            1 => Some(LocalSource::Connected),
            _ => None,
        }
    }
}

/// The next hop an originated route without one is stored with: "this
/// router", replaced on export by our address on each session.
pub fn self_next_hop_of(prefix: &Prefix) -> IpAddr {
    match prefix {
        Prefix::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        Prefix::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    }
}

impl Rib {
    /// Originates `prefix` from `source` with `attrs` (ORIGIN, communities,
    /// LOCAL_PREF, MED as given; the AS_PATH is emptied) and `next_hop`
    /// (`None`: ourselves on each session), after `policy` (reject:
    /// not originated, and withdrawn if it was). Replaces the source's
    /// earlier route for the prefix. Returns whether it is originated.
    pub fn originate(
        &mut self,
        source: LocalSource,
        prefix: Prefix,
        next_hop: Option<IpAddr>,
        mut attrs: PathAttributes,
        policy: &PolicyRef,
    ) -> Result<bool, RibError> {
        let policy = self.core.policies.resolve(policy)?;
        self.core.forget_exports();
        let slot = self.local_slot()?;
        let next_hop = next_hop.map_or_else(|| self_next_hop_of(&prefix), |n| n.to_canonical());
        attrs.next_hop = None;
        let ctx = RouteCtx {
            prefix: &prefix,
            next_hop,
            peer_as: self.core.local_as,
        };
        let local_as = self.core.local_as;
        let mut attrs = match self.core.policies.evaluate(policy, ctx, &attrs, local_as) {
            Outcome::Accept => attrs,
            Outcome::Modified(m) => m,
            Outcome::Reject => {
                self.withdraw_originated(source, prefix);
                return Ok(false);
            }
        };
        // Ours start with an empty path (a policy's `prepend` would put our
        // own AS in it, and iBGP peers would drop the route as a loop).
        attrs.as_path = AsPath::default();
        let id = self.core.attrs.intern(&RouteAttrs { attrs, next_hop });
        let n = Nlri {
            prefix,
            path_id: source.path_id(),
        };
        self.set(slot, n, Some((id, false)));
        Ok(true)
    }

    /// Stops originating `prefix` from `source` (nothing if it was not).
    pub fn withdraw_originated(&mut self, source: LocalSource, prefix: Prefix) {
        let Some(slot) = self.core.local_slot else {
            return;
        };
        self.core.forget_exports();
        let n = Nlri {
            prefix,
            path_id: source.path_id(),
        };
        self.set(slot, n, None);
    }

    /// The prefixes `source` originates now (rejected by its policy or
    /// not), sorted.
    pub fn originated(&self, source: LocalSource) -> Vec<Prefix> {
        let Some(slot) = self.core.local_slot else {
            return Vec::new();
        };
        let id = source.path_id();
        let mine = |l: &PathList| l.find(slot, id).is_some();
        let mut out: Vec<Prefix> = (self.v4.iter().filter(|(_, _, l)| mine(l)))
            .map(|(_, k, _)| k.into())
            .chain(
                self.v6
                    .iter()
                    .filter(|(_, _, l)| mine(l))
                    .map(|(_, k, _)| k.into()),
            )
            .collect();
        out.sort_unstable();
        out
    }

    /// The pseudo-peer's slot, taken on first use.
    fn local_slot(&mut self) -> Result<u16, RibError> {
        if let Some(s) = self.core.local_slot {
            return Ok(s);
        }
        let free = self.core.peers.iter().position(Option::is_none);
        let slot = free.unwrap_or(self.core.peers.len());
        let slot = u16::try_from(slot).map_err(|_| RibError::TooManyPeers)?;
        if free.is_none() {
            self.core.peers.push(None);
        }
        let info = PeerInfo {
            id: LOCAL_PEER,
            addr: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            remote_as: self.core.local_as,
            router_id: self.core.router_id,
            local_v4: None,
            local_v6: None,
            import: PolicyRef::All,
            export: PolicyRef::None,
            next_hop_unchanged: false,
            enforce_first_as: false,
            // No families: nothing is ever exported to it.
            families: Vec::new(),
            extended_next_hop: false,
            route_reflector_client: false,
            default_originate: false,
            add_path_send: Vec::new(),
            add_path_max: 0,
            fib_table: 0,
            sender_as_loop_check: false,
        };
        if let Some(p) = self.core.peers.get_mut(usize::from(slot)) {
            *p = Some(PeerState {
                info,
                up: true,
                ebgp: false,
                import: PolicyId::All,
                export: PolicyId::None,
                counts: Default::default(),
            });
        }
        self.v4.ensure_slot(usize::from(slot));
        self.v6.ensure_slot(usize::from(slot));
        self.core.local_slot = Some(slot);
        Ok(slot)
    }
}

impl Core {
    /// Our default route of `family` for the peer in `slot` when it has
    /// `default_originate` and the family: ORIGIN IGP, our AS as the path
    /// (an empty path and LOCAL_PREF 100 towards iBGP), our address as
    /// next hop. Never held in the Adj-RIB-Out: the RIB's own default
    /// route is kept from such a peer.
    pub(crate) fn default_route(&self, slot: u16, family: Family) -> Option<ExportBatch> {
        let target = self.peer(slot)?;
        if !target.info.default_originate || !target.info.families.contains(&family) {
            return None;
        }
        let v4 = family == Family::IPV4_UNICAST;
        let next_hop = self_next_hop(&target.info, v4)?;
        let mut attrs = PathAttributes {
            origin: Some(Origin::Igp),
            ..PathAttributes::default()
        };
        if target.ebgp {
            attrs.as_path.prepend(self.local_as, 1);
        } else {
            attrs.local_pref = Some(DEFAULT_LOCAL_PREF);
        }
        let prefix = if v4 {
            Prefix::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0)
        } else {
            Prefix::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), 0)
        }?;
        Some(ExportBatch::Announce {
            family,
            route: Arc::new(RouteAttrs { attrs, next_hop }),
            nlri: vec![Nlri { prefix, path_id: 0 }],
        })
    }
}
