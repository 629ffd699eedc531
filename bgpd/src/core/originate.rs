//! Routes the router originates: `[[route]]` and, with `[router]
//! redistribute = ["connected"]`, the networks of its interfaces (as the
//! driver last reported them, [`Input::Connected`](super::Input)). Both are
//! the RIB's pseudo-peer paths (`rib::LocalSource`): exported like learned
//! routes, never written to our kernel.

use super::Core;
use crate::config::StaticRoute;
use bgp_proto::msg::attributes::{Origin, PathAttributes};
use bgp_proto::Prefix;
use rib::policy::PolicyRef;
use rib::LocalSource;
use std::collections::BTreeSet;
use std::net::IpAddr;
use tracing::{info, warn};

/// One route to originate: prefix, next hop (`None`: us), attributes.
type Originated = (Prefix, Option<IpAddr>, PathAttributes);

/// Most connected networks taken: a host with more interfaces than this
/// is not a router we are meant for, and each would be a route.
pub(super) const MAX_CONNECTED: usize = 4096;

impl Core {
    /// Brings the RIB's originated routes in line with the config and the
    /// connected networks last reported.
    pub(super) fn originate_all(&mut self) {
        let statics: Vec<Originated> = self.config.routes.iter().filter_map(static_route).collect();
        self.replace_originated(LocalSource::Static, statics, &PolicyRef::All);
        let connected: Vec<Originated> = if self.config.router.redistributes_connected() {
            let incomplete = PathAttributes {
                // FRR and BIRD give redistributed routes ORIGIN INCOMPLETE.
                origin: Some(Origin::Incomplete),
                ..PathAttributes::default()
            };
            self.connected
                .iter()
                .map(|p| (*p, None, incomplete.clone()))
                .collect()
        } else {
            Vec::new()
        };
        let policy = self
            .config
            .router
            .redistribute_policy
            .clone()
            .unwrap_or_default();
        self.replace_originated(LocalSource::Connected, connected, &policy);
        self.dirty = true;
    }

    fn replace_originated(
        &mut self,
        source: LocalSource,
        routes: Vec<Originated>,
        policy: &PolicyRef,
    ) {
        let wanted: BTreeSet<Prefix> = routes.iter().map(|r| r.0).collect();
        let held = self.originated.entry(source).or_default();
        for p in held.iter().filter(|p| !wanted.contains(p)) {
            self.rib.withdraw_originated(source, *p);
        }
        held.retain(|p| wanted.contains(p));
        for (prefix, next_hop, attrs) in routes {
            match self.rib.originate(source, prefix, next_hop, attrs, policy) {
                Ok(true) => {
                    held.insert(prefix);
                }
                Ok(false) => {
                    held.remove(&prefix);
                }
                // The RIB kept what it had: so do we, to withdraw it later.
                Err(e) => {
                    warn!(%prefix, source = source.as_str(), error = %e, "route not originated");
                }
            }
        }
    }

    /// The router's connected networks now (addresses on links that are
    /// up; loopback and link-local networks left out).
    pub(super) fn on_connected(&mut self, networks: Vec<Prefix>) {
        let mut set: BTreeSet<Prefix> = networks.into_iter().filter(worth_announcing).collect();
        if set.len() > MAX_CONNECTED {
            warn!(
                networks = set.len(),
                kept = MAX_CONNECTED,
                "too many connected networks: only the first are redistributed"
            );
            set = set.into_iter().take(MAX_CONNECTED).collect();
        }
        if set == self.connected {
            return;
        }
        self.connected = set;
        // Kept for a reload that turns redistribution on.
        if self.config.router.redistributes_connected() {
            info!(
                networks = self.connected.len(),
                "connected networks changed"
            );
            self.originate_all();
        }
    }
}

/// A `[[route]]` as the RIB takes it (the config was validated).
fn static_route(r: &StaticRoute) -> Option<Originated> {
    let prefix: Prefix = r.prefix.parse().ok()?;
    let mut attrs = PathAttributes {
        origin: Some(Origin::Igp),
        local_pref: r.local_pref,
        med: r.med,
        ..PathAttributes::default()
    };
    for c in &r.communities {
        rib::policy_eval::add_community(&mut attrs, c);
    }
    if r.blackhole {
        rib::policy_eval::add_community(&mut attrs, "blackhole");
    }
    Some((prefix, r.next_hop, attrs))
}

/// Loopback and link-local networks are the host's own business.
fn worth_announcing(p: &Prefix) -> bool {
    match p.addr() {
        IpAddr::V4(a) => !a.is_loopback() && !a.is_link_local(),
        IpAddr::V6(a) => !a.is_loopback() && !a.is_unicast_link_local() && !a.is_multicast(),
    }
}
