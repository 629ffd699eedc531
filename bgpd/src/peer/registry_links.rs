//! Unnumbered neighbors in the [`Registry`]: an `interface` entry is a
//! range whose members are the routers on the links its pattern matches,
//! one per link, each known by its link-local address on that link. A
//! neighbor comes from discovery (its router advertisement) or from its
//! connection; a new address on a link replaces the link's neighbor (the
//! node was replaced or changed its MAC address), and a link that goes
//! away takes its neighbor with it. The bounds of ranges apply unchanged
//! (`limit` links with a session, `limit` remembered).

use super::{Admit, RangeKey, Registry};
use crate::peer::spec::{Link, NeighborSpec};
use crate::peer::task::TaskMsg;
use crate::peer::PeerId;
use bgp_proto::fsm::State;
use bgp_proto::msg::notification::{cease_subcode, code};
use bgp_proto::Notification;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv6Addr, SocketAddr, SocketAddrV6};
use std::time::Instant;
use tracing::info;

/// Who tells us of a link's router.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LinkSource {
    /// Its router advertisement: it is the router there now.
    Advert,
    /// Its connection: it replaces a neighbor only one without a session.
    Connection,
}

impl Registry {
    /// The link with index `ifindex`, if it is one an `interface` entry
    /// matches.
    pub(crate) fn link_of(&self, ifindex: u32) -> Option<Link> {
        self.links.get(&ifindex).map(|name| Link {
            ifindex,
            name: name.clone(),
        })
    }

    /// Whether link `ifindex` has a neighbor that is not going away.
    pub(crate) fn link_has_neighbor(&self, ifindex: u32) -> bool {
        self.peers
            .values()
            .any(|e| e.link == Some(ifindex) && !e.doomed)
    }

    /// Whether `addr` is an explicit neighbor's.
    pub(crate) fn is_explicit(&self, addr: IpAddr) -> bool {
        let addr = addr.to_canonical();
        self.by_addr
            .get(&addr)
            .and_then(|id| self.peers.get(id))
            .is_some_and(|e| e.range.is_none())
    }

    /// Whether some `interface` entry matches the link `name`.
    fn link_range(&self, name: &str) -> Option<RangeKey> {
        self.ranges
            .iter()
            .find(|r| matches!(r.key, RangeKey::Links(_)) && r.config.matches_link(name))
            .map(|r| r.key.clone())
    }

    /// The interface names any `interface` entry could match: the patterns.
    pub(crate) fn link_patterns(&self) -> Vec<String> {
        self.ranges
            .iter()
            .filter_map(|r| match &r.key {
                RangeKey::Links(p) => Some(p.clone()),
                RangeKey::Net(_) => None,
            })
            .collect()
    }

    /// The links now present (index -> name) among those the patterns
    /// match; the neighbors of links gone (or renamed out of their
    /// pattern) go with them.
    pub(crate) fn set_links(&mut self, links: BTreeMap<u32, String>, now: Instant) {
        let kept = |i: u32| {
            let name = links.get(&i);
            name == self.links.get(&i) && name.is_some_and(|n| self.link_range(n).is_some())
        };
        let stale: Vec<PeerId> = self
            .peers
            .iter()
            .filter(|(_, e)| !e.doomed && e.link.is_some_and(|i| !kept(i)))
            .map(|(id, _)| *id)
            .collect();
        for id in stale {
            self.retire(id, "link gone", now);
        }
        self.links = links;
    }

    /// The router on link `ifindex` is at `addr`, as `source` tells:
    /// starts (or brings back) its neighbor, replacing the link's earlier
    /// one. A connection is handed over to a running neighbor of that
    /// address. Refused: an unknown link, one no pattern matches, an
    /// address another link's (or an explicit) neighbor has, a connection
    /// while the link's neighbor has a session, or a full range.
    pub(crate) fn link_neighbor(
        &mut self,
        ifindex: u32,
        addr: Ipv6Addr,
        source: LinkSource,
        now: Instant,
    ) -> Admit {
        let from = SocketAddr::V6(SocketAddrV6::new(addr, 0, 0, ifindex));
        let ip = IpAddr::V6(addr);
        let Some(link) = self.link_of(ifindex) else {
            return Admit::Refused;
        };
        let Some(key) = self.link_range(&link.name) else {
            return Admit::Refused;
        };
        if let Some(&id) = self.by_addr.get(&ip) {
            let here = self.peers.get(&id).is_some_and(|e| e.link == Some(ifindex));
            if !here {
                if let Some(suppressed) = self.refusals.stranger.admit(now) {
                    info!(peer = %addr, link = %link.name, suppressed,
                        "refusing unnumbered neighbor: its address is another neighbor's");
                }
                return Admit::Refused;
            }
            return match (source, self.admit_known(id, from, now)) {
                (LinkSource::Advert, Admit::Handover(_)) => Admit::Refused,
                (_, admit) => admit,
            };
        }
        let others: Vec<PeerId> = self
            .peers
            .iter()
            .filter(|(_, e)| !e.doomed && e.link == Some(ifindex))
            .map(|(id, _)| *id)
            .collect();
        if source == LinkSource::Connection && others.iter().any(|id| self.has_session(*id)) {
            if let Some(suppressed) = self.refusals.stranger.admit(now) {
                info!(peer = %addr, link = %link.name, suppressed,
                    "refusing connection: the link's neighbor has a session");
            }
            return Admit::Refused;
        }
        for id in others {
            self.retire(id, "another router on its link", now);
        }
        let local = self.local.clone();
        let Some(range) = self.range_mut(&key) else {
            return Admit::Refused;
        };
        if range.active >= range.config.limit {
            if let Some(suppressed) = self.refusals.limit.admit(now) {
                tracing::warn!(peer = %addr, range = %key, suppressed,
                    "refusing unnumbered neighbor: range limit reached");
            }
            return Admit::Refused;
        }
        range.active += 1;
        let spec = NeighborSpec {
            addr: ip,
            config: range.config.clone(),
            local,
            dynamic: true,
            link: Some(link),
        };
        Admit::Start(self.add(spec, Some(key)))
    }

    /// Whether `id`'s session is Established.
    fn has_session(&self, id: PeerId) -> bool {
        self.peers.get(&id).is_some_and(|e| {
            e.task.is_some()
                && e.status.lock().unwrap_or_else(|p| p.into_inner()).state == State::Established
        })
    }

    /// Ends the unnumbered neighbor `id` (Cease / Other Configuration
    /// Change): it leaves its range at once and is forgotten when its task
    /// ends.
    fn retire(&mut self, id: PeerId, why: &str, now: Instant) {
        if let Some(e) = self.peers.get(&id) {
            if let Some(suppressed) = self.refusals.retired.admit(now) {
                info!(peer = %e.addr, id, suppressed, "unnumbered neighbor removed: {why}");
            }
            if let Some(t) = &e.task {
                let sub = cease_subcode::OTHER_CONFIGURATION_CHANGE;
                let n = Notification::new(code::CEASE, sub, []);
                let _ = t.tx.send(TaskMsg::Remove(Some(n)));
            }
        }
        self.take_over(id);
    }
}
