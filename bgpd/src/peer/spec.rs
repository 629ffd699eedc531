//! What a neighbor task needs to know about its neighbor: the config
//! entry, our router settings, and what follows from them (the FSM
//! configuration, our OPEN's capabilities, the TTL policy).

use crate::config::{Config, NeighborConfig};
use bgp_proto::fsm::FsmConfig;
use bgp_proto::{AddPathMode, Afi, Safi};
use bgp_proto::{Capability, ExtendedNextHop, Family, GracefulRestart, GracefulRestartFamily};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV6};
use std::time::Duration;

/// Router-wide settings a neighbor task uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalSettings {
    /// Our AS.
    pub asn: u32,
    /// Our BGP Identifier.
    pub router_id: Ipv4Addr,
    /// Announce graceful restart (restarting speaker); helper mode is
    /// always on.
    pub graceful_restart: bool,
    /// Restart time announced, seconds.
    pub restart_time: u16,
    /// Kernel routes survive our restart: set the F bit.
    pub fib_persist: bool,
    /// Least hold time accepted from a peer.
    pub min_hold_time: u16,
}

impl LocalSettings {
    /// The settings of `config`.
    pub fn from_config(config: &Config) -> Self {
        LocalSettings {
            asn: config.router.asn,
            router_id: config.router.router_id,
            graceful_restart: config.router.graceful_restart,
            restart_time: config.router.restart_time,
            fib_persist: config.fib.persist && config.fib.enabled,
            min_hold_time: config.router.min_hold_time,
        }
    }
}

/// One neighbor: its address (for a dynamic neighbor, the address that
/// connected), its config entry and the router settings.
#[derive(Debug, Clone, PartialEq)]
pub struct NeighborSpec {
    /// Peer address.
    pub addr: IpAddr,
    /// The `[[neighbor]]` entry (for a dynamic neighbor, its range's).
    pub config: NeighborConfig,
    /// Router settings.
    pub local: LocalSettings,
    /// Created from a `range` when the peer connected.
    pub dynamic: bool,
    /// For an unnumbered neighbor (`interface`), the link it is on: its
    /// link-local `addr` is dialled with this scope.
    pub link: Option<Link>,
}

/// A network interface an unnumbered neighbor sits on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// Kernel interface index (the scope of link-local addresses).
    pub ifindex: u32,
    /// Interface name.
    pub name: String,
}

/// TTL handling of a session's sockets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TtlPolicy {
    /// TTL (hop limit) of sent packets; `None` keeps the system default.
    pub ttl: Option<u8>,
    /// Least TTL accepted (GTSM, RFC 5082).
    pub min_ttl: Option<u8>,
}

/// Parses a family name as the config writes it ("ipv4-unicast").
pub fn parse_family(s: &str) -> Option<Family> {
    match s.trim().to_ascii_lowercase().as_str() {
        "ipv4-unicast" | "ipv4" => Some(Family::IPV4_UNICAST),
        "ipv6-unicast" | "ipv6" => Some(Family::IPV6_UNICAST),
        "ipv4-multicast" => Some(Family {
            afi: Afi::Ipv4,
            safi: Safi::Multicast,
        }),
        "ipv6-multicast" => Some(Family {
            afi: Afi::Ipv6,
            safi: Safi::Multicast,
        }),
        _ => None,
    }
}

impl NeighborSpec {
    /// The socket address to dial: a link-local address with its link as
    /// scope.
    pub fn remote(&self) -> SocketAddr {
        match (self.addr, &self.link) {
            (IpAddr::V6(a), Some(l)) => {
                SocketAddr::V6(SocketAddrV6::new(a, self.config.port, 0, l.ifindex))
            }
            (a, _) => SocketAddr::new(a, self.config.port),
        }
    }

    /// Whether the session is external.
    pub fn is_ebgp(&self) -> bool {
        self.config.remote_as.is_external(self.local.asn)
    }

    /// Families offered (unknown names are skipped; see config validation).
    pub fn families(&self) -> Vec<Family> {
        let mut out = Vec::new();
        for f in self.config.families.iter().filter_map(|s| parse_family(s)) {
            if !out.contains(&f) {
                out.push(f);
            }
        }
        out
    }

    /// The capabilities of our OPEN: multiprotocol per family, route
    /// refresh, enhanced route refresh, 4-octet AS, extended message,
    /// graceful restart (with the N bit; the F bit when the FIB persists;
    /// a helper-only capability without families when GR is off),
    /// ADD-PATH receive when configured, and extended next hop (RFC 8950:
    /// IPv4 unicast with IPv6 next hops) when enabled and IPv4 unicast is
    /// offered.
    pub fn capabilities(&self) -> Vec<Capability> {
        let families = self.families();
        let mut caps: Vec<Capability> = families
            .iter()
            .map(|f| Capability::Multiprotocol(*f))
            .collect();
        caps.push(Capability::RouteRefresh);
        caps.push(Capability::EnhancedRouteRefresh);
        caps.push(Capability::FourOctetAs(self.local.asn));
        caps.push(Capability::ExtendedMessage);
        let gr = if self.local.graceful_restart {
            GracefulRestart {
                restart_state: false,
                notification: true,
                restart_time: self.local.restart_time.min(4095),
                families: families
                    .iter()
                    .map(|f| GracefulRestartFamily {
                        family: *f,
                        forwarding_preserved: self.local.fib_persist,
                    })
                    .collect(),
            }
        } else {
            // RFC 4724 3: a speaker "MAY include no <AFI, SAFI>" to say it
            // only helps its peers restart.
            GracefulRestart {
                restart_state: false,
                notification: true,
                restart_time: 0,
                families: Vec::new(),
            }
        };
        caps.push(Capability::GracefulRestart(gr));
        let add_path = match (self.config.add_path_receive, self.config.add_path_send) {
            (true, Some(_)) => Some(AddPathMode::Both),
            (true, None) => Some(AddPathMode::Receive),
            (false, Some(_)) => Some(AddPathMode::Send),
            (false, None) => None,
        };
        if let Some(mode) = add_path {
            caps.push(Capability::AddPath(
                families.iter().map(|f| (*f, mode)).collect(),
            ));
        }
        if self.config.extended_next_hop() && families.contains(&Family::IPV4_UNICAST) {
            caps.push(Capability::ExtendedNextHop(vec![ExtendedNextHop {
                family: Family::IPV4_UNICAST,
                next_hop_afi: Afi::Ipv6.code(),
            }]));
        }
        caps
    }

    /// The FSM configuration. Dynamic neighbors of a `range` are always
    /// passive; unnumbered ones dial as FRR's do (the address is known,
    /// and the peer may wait for us).
    pub fn fsm_config(&self, seed: u64) -> FsmConfig {
        let mut c = FsmConfig::with_peer_as(
            self.local.asn,
            self.local.router_id,
            self.config.remote_as.peer_as(),
        );
        c.hold_time = self.config.hold_time;
        c.min_hold_time = self.local.min_hold_time;
        c.keepalive = self.config.keepalive;
        c.connect_retry = Duration::from_secs(u64::from(self.config.connect_retry.max(1)));
        c.passive = self.config.passive || (self.dynamic && self.link.is_none());
        c.capabilities = self.capabilities();
        c.seed = seed;
        c.hold_open = self.config.bfd_strict();
        c
    }

    /// TTL policy: GTSM (`ttl_security = hops`: send 255, accept at least
    /// 256 - hops), else `multihop`, else 1 for eBGP and the system
    /// default for iBGP.
    pub fn ttl_policy(&self) -> TtlPolicy {
        if let Some(hops) = self.config.ttl_security {
            let hops = hops.max(1);
            return TtlPolicy {
                ttl: Some(255),
                min_ttl: Some(255 - (hops - 1)),
            };
        }
        if let Some(ttl) = self.config.multihop {
            return TtlPolicy {
                ttl: Some(ttl.max(1)),
                min_ttl: None,
            };
        }
        if self.is_ebgp() {
            TtlPolicy {
                ttl: Some(1),
                min_ttl: None,
            }
        } else {
            TtlPolicy {
                ttl: None,
                min_ttl: None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(toml_neighbor: &str) -> NeighborSpec {
        let text = format!(
            "[router]\nasn = 65000\nrouter_id = \"172.18.0.5\"\n[[neighbor]]\n{toml_neighbor}\n"
        );
        let config: Config = toml::from_str(&text).unwrap();
        NeighborSpec {
            addr: "172.18.0.2".parse().unwrap(),
            config: config.neighbors[0].clone(),
            local: LocalSettings::from_config(&config),
            dynamic: false,
            link: None,
        }
    }

    #[test]
    fn default_offer_matches_what_cilium_needs() {
        let s = spec("address = \"172.18.0.2\"\nremote_as = 65100");
        let caps = s.capabilities();
        assert!(caps.contains(&Capability::Multiprotocol(Family::IPV4_UNICAST)));
        assert!(caps.contains(&Capability::Multiprotocol(Family::IPV6_UNICAST)));
        assert!(caps.contains(&Capability::RouteRefresh));
        assert!(caps.contains(&Capability::FourOctetAs(65000)));
        let gr = caps
            .iter()
            .find_map(|c| match c {
                Capability::GracefulRestart(g) => Some(g.clone()),
                _ => None,
            })
            .unwrap();
        assert!(gr.notification);
        assert_eq!(gr.restart_time, 120);
        assert_eq!(gr.families.len(), 2);
        assert!(gr.families.iter().all(|f| f.forwarding_preserved));
        let f = s.fsm_config(7);
        assert_eq!((f.hold_time, f.passive), (90, false));
        assert_eq!(f.peer_as, bgp_proto::fsm::PeerAs::Exact(65100));
    }

    #[test]
    fn ttl_policies() {
        assert_eq!(
            spec("address = \"172.18.0.2\"\nremote_as = 65100").ttl_policy(),
            TtlPolicy {
                ttl: Some(1),
                min_ttl: None
            }
        );
        assert_eq!(
            spec("address = \"172.18.0.2\"\nremote_as = 65000").ttl_policy(),
            TtlPolicy {
                ttl: None,
                min_ttl: None
            }
        );
        assert_eq!(
            spec("address = \"172.18.0.2\"\nremote_as = 65100\nmultihop = 3").ttl_policy(),
            TtlPolicy {
                ttl: Some(3),
                min_ttl: None
            }
        );
        assert_eq!(
            spec("address = \"172.18.0.2\"\nremote_as = 65100\nttl_security = 1").ttl_policy(),
            TtlPolicy {
                ttl: Some(255),
                min_ttl: Some(255)
            }
        );
        assert_eq!(
            spec("address = \"172.18.0.2\"\nremote_as = 65100\nttl_security = 2").ttl_policy(),
            TtlPolicy {
                ttl: Some(255),
                min_ttl: Some(254)
            }
        );
    }

    #[test]
    fn extended_next_hop_is_offered_for_ipv6_neighbors_by_default() {
        let enh = |s: &NeighborSpec| {
            s.capabilities()
                .into_iter()
                .filter_map(|c| match c {
                    Capability::ExtendedNextHop(v) => Some(v),
                    _ => None,
                })
                .collect::<Vec<_>>()
        };
        let want = vec![vec![ExtendedNextHop {
            family: Family::IPV4_UNICAST,
            next_hop_afi: 2,
        }]];
        for (toml, offered) in [
            ("address = \"2001:db8::2\"", true),
            ("address = \"fe80::2\"", true),
            ("address = \"172.18.0.2\"", false),
            ("range = \"2001:db8::/64\"", true),
            ("range = \"172.18.0.0/16\"", false),
            ("address = \"172.18.0.2\"\nextended_next_hop = true", true),
            (
                "address = \"2001:db8::2\"\nextended_next_hop = false",
                false,
            ),
            // Not without IPv4 unicast, the only family it is for.
            (
                "address = \"2001:db8::2\"\nfamilies = [\"ipv6-unicast\"]",
                false,
            ),
        ] {
            let s = spec(&format!("{toml}\nremote_as = 65100"));
            let got = enh(&s);
            assert_eq!(got, if offered { want.clone() } else { vec![] }, "{toml}");
        }
    }

    #[test]
    fn dynamic_neighbors_are_passive_and_add_path_is_offered_when_asked() {
        let mut s = spec("range = \"172.18.0.0/16\"\nremote_as = 65100\nadd_path_receive = true");
        s.dynamic = true;
        assert!(s.fsm_config(1).passive);
        s.link = Some(Link {
            ifindex: 3,
            name: "eth1".into(),
        });
        assert!(!s.fsm_config(1).passive, "unnumbered neighbors dial");
        assert!(s
            .capabilities()
            .iter()
            .any(|c| matches!(c, Capability::AddPath(v) if v.len() == 2)));
    }
}
