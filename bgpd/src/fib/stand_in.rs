//! IPv6 stand-ins for IPv4 gateways.
//!
//! An IPv6 route learned over an IPv4 session comes with an IPv4-mapped
//! next hop (`::ffff:172.18.0.2`: Cilium's GoBGP gives its IPv6 routes no
//! other), and Linux cannot route IPv6 via an IPv4 gateway. The node
//! behind that gateway has an IPv6 address on the same link, though, and
//! the same MAC address for both families: its IPv4 neighbour entry (ARP)
//! names the MAC, and an IPv6 neighbour entry (ND) on the same interface
//! with that MAC is the node's IPv6 address. The route goes via that
//! address (its link-local one first: every IPv6 interface has one, and
//! it does not change with the addressing of the link).
//!
//! A link-local gateway (an IPv6 route or, with RFC 8950, an IPv4 one
//! learned from a neighbor that gave no global next hop) needs its
//! interface, which the address does not say: the interface whose
//! neighbour table holds it ([`link_local_interfaces`]).
//!
//! This module is the pure part: from the neighbour tables and the
//! gateways wanted, it decides each gateway's stand-in or interface and
//! what to ask the kernel so that the missing entries appear
//! ([`Solicit`]). The FIB task reads the tables (`neigh.rs`) and sends
//! the solicitations.

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, Ipv6Addr};

use serde::{Deserialize, Serialize};

use super::NextHop;

/// Most solicitations sent in one round: a peer announcing routes via
/// thousands of IPv4 gateways costs a bounded number of ARP/ND packets.
pub const MAX_SOLICITS: usize = 64;

/// A MAC address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Mac(pub [u8; 6]);

impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
    }
}

/// One entry of the kernel's neighbour tables, as far as stand-ins care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Neighbour {
    /// The interface.
    pub ifindex: u32,
    /// The neighbour's address.
    pub addr: IpAddr,
    /// Its MAC address while the entry holds a valid one (REACHABLE,
    /// STALE, DELAY, PROBE, PERMANENT).
    pub mac: Option<Mac>,
}

/// The IPv6 address standing in for an IPv4 gateway, and how it was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StandIn {
    /// The IPv6 gateway, on the IPv4 gateway's interface.
    pub gateway: NextHop,
    /// The MAC address both neighbour entries gave.
    pub mac: Mac,
}

impl fmt::Display for StandIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (same MAC {} in the neighbour tables)",
            self.gateway.gateway, self.mac
        )
    }
}

/// What to ask the kernel so that a missing neighbour entry appears.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Solicit {
    /// Resolve this neighbour (ARP or ND for that address, `NTF_USE`).
    Resolve(NextHop),
    /// Ping all nodes (`ff02::1`) on this interface: each answering node
    /// first solicits our address, which adds its own entry to our table.
    AllNodes(u32),
}

/// The stand-ins after one look at the neighbour tables, and what to ask.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Stand-in of each wanted gateway that has one.
    pub stand_ins: HashMap<NextHop, StandIn>,
    /// Solicitations, at most [`MAX_SOLICITS`]: a window that moves on
    /// with every round, so that no gateway waits behind others that
    /// never answer.
    pub solicits: Vec<Solicit>,
}

/// The stand-ins of `wanted` (IPv4 gateways with their interface) given
/// the `neighbours` of both families and the stand-ins found before.
///
/// A gateway keeps its stand-in while its MAC address is unknown (the ARP
/// entry expired: no news) or unchanged (the IPv6 entry may have expired
/// too). A new MAC address moves it to the IPv6 neighbour with that MAC,
/// or leaves it without one until such a neighbour appears: the old
/// address may belong to another node now. A MAC address that several
/// IPv4 neighbours share names no node: no stand-in.
/// `round` numbers the calls (it picks the window of solicitations).
pub fn plan(
    wanted: &[NextHop],
    before: &HashMap<NextHop, StandIn>,
    neighbours: &[Neighbour],
    round: usize,
) -> Plan {
    let mut v4: HashMap<(u32, IpAddr), &Neighbour> = HashMap::new();
    let mut v4_per_mac: HashMap<(u32, Mac), usize> = HashMap::new();
    let mut v6_by_mac: HashMap<(u32, Mac), Vec<Ipv6Addr>> = HashMap::new();
    for n in neighbours {
        match n.addr {
            IpAddr::V4(_) => {
                v4.insert((n.ifindex, n.addr), n);
                if let Some(mac) = n.mac {
                    *v4_per_mac.entry((n.ifindex, mac)).or_default() += 1;
                }
            }
            IpAddr::V6(a) => {
                if let Some(mac) = n.mac {
                    if !a.is_multicast() && !a.is_unspecified() {
                        v6_by_mac.entry((n.ifindex, mac)).or_default().push(a);
                    }
                }
            }
        }
    }
    let mut out = Plan::default();
    let mut pinged = Vec::new();
    for gw in wanted {
        let prev = before.get(gw).copied();
        let Some(mac) = v4.get(&(gw.ifindex, gw.gateway)).and_then(|n| n.mac) else {
            // No MAC known now: keep what we had, and have the kernel
            // resolve the gateway.
            if let Some(prev) = prev {
                out.stand_ins.insert(*gw, prev);
            }
            out.solicits.push(Solicit::Resolve(*gw));
            continue;
        };
        if v4_per_mac.get(&(gw.ifindex, mac)).copied().unwrap_or(0) > 1 {
            // One MAC for several IPv4 neighbours (proxy ARP, a shared
            // virtual MAC): it does not name one node. No guess.
            continue;
        }
        if let Some(prev) = prev.filter(|p| p.mac == mac) {
            // Same node: keep its address even while its entry ages out
            // (and do not flip between its link-local and global ones).
            out.stand_ins.insert(*gw, prev);
            continue;
        }
        match v6_by_mac.get(&(gw.ifindex, mac)).and_then(|a| preferred(a)) {
            Some(addr) => {
                let stand_in = StandIn {
                    gateway: NextHop {
                        gateway: IpAddr::V6(addr),
                        ifindex: gw.ifindex,
                    },
                    mac,
                };
                out.stand_ins.insert(*gw, stand_in);
            }
            None => {
                // Most nodes derive their link-local address from the MAC
                // (EUI-64): resolving it is one ND exchange. Others show
                // up when they answer a ping of all nodes.
                out.solicits.push(Solicit::Resolve(NextHop {
                    gateway: IpAddr::V6(eui64_link_local(mac)),
                    ifindex: gw.ifindex,
                }));
                if !pinged.contains(&gw.ifindex) {
                    pinged.push(gw.ifindex);
                    out.solicits.push(Solicit::AllNodes(gw.ifindex));
                }
            }
        }
    }
    if out.solicits.len() > MAX_SOLICITS {
        let start = round.wrapping_mul(MAX_SOLICITS) % out.solicits.len();
        out.solicits.rotate_left(start);
        out.solicits.truncate(MAX_SOLICITS);
    }
    out
}

/// The interface of each link-local gateway in `wanted`: the one whose
/// neighbour table resolved it. One seen on several interfaces keeps the
/// interface it had if that is among them (else it has none: ambiguous);
/// one no table holds now keeps the interface it had (no news).
pub fn link_local_interfaces(
    wanted: &[Ipv6Addr],
    before: &HashMap<Ipv6Addr, u32>,
    neighbours: &[Neighbour],
) -> HashMap<Ipv6Addr, u32> {
    let mut seen: HashMap<Ipv6Addr, Vec<u32>> = HashMap::new();
    for n in neighbours {
        if let (IpAddr::V6(a), Some(_)) = (n.addr, n.mac) {
            if a.is_unicast_link_local() {
                seen.entry(a).or_default().push(n.ifindex);
            }
        }
    }
    let mut out = HashMap::new();
    for a in wanted {
        let prev = before.get(a).copied();
        let ifindex = match seen.get(a).map(Vec::as_slice) {
            Some([one]) => Some(*one),
            Some(several) => prev.filter(|p| several.contains(p)),
            None => prev,
        };
        if let Some(i) = ifindex {
            out.insert(*a, i);
        }
    }
    out
}

/// The address to route via among a node's IPv6 addresses: link-local
/// first, then the lowest.
fn preferred(addrs: &[Ipv6Addr]) -> Option<Ipv6Addr> {
    addrs
        .iter()
        .copied()
        .min_by_key(|a| (!a.is_unicast_link_local(), *a))
}

/// The link-local address a node derives from `mac` (modified EUI-64,
/// RFC 4291 appendix A).
pub fn eui64_link_local(mac: Mac) -> Ipv6Addr {
    let [a, b, c, d, e, f] = mac.0;
    Ipv6Addr::from([
        0xfe,
        0x80,
        0,
        0,
        0,
        0,
        0,
        0,
        a ^ 0x02,
        b,
        c,
        0xff,
        0xfe,
        d,
        e,
        f,
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC_A: Mac = Mac([0x02, 0x42, 0xac, 0x12, 0x00, 0x02]);
    const MAC_B: Mac = Mac([0x02, 0x42, 0xac, 0x12, 0x00, 0x03]);

    fn gw(s: &str) -> NextHop {
        NextHop {
            gateway: s.parse().unwrap(),
            ifindex: 7,
        }
    }

    fn neigh(addr: &str, mac: Option<Mac>) -> Neighbour {
        Neighbour {
            ifindex: 7,
            addr: addr.parse().unwrap(),
            mac,
        }
    }

    #[test]
    fn eui64_of_a_docker_mac() {
        assert_eq!(
            eui64_link_local(MAC_A),
            "fe80::42:acff:fe12:2".parse::<Ipv6Addr>().unwrap()
        );
    }

    #[test]
    fn the_ipv6_neighbour_with_the_gateways_mac_stands_in_link_local_first() {
        let g = gw("172.18.0.2");
        let table = [
            neigh("172.18.0.2", Some(MAC_A)),
            neigh("fc00::2", Some(MAC_A)),
            neigh("fe80::42:acff:fe12:2", Some(MAC_A)),
            neigh("fe80::42:acff:fe12:3", Some(MAC_B)),
        ];
        let p = plan(&[g], &HashMap::new(), &table, 0);
        assert_eq!(p.stand_ins[&g].gateway, gw("fe80::42:acff:fe12:2"));
        assert_eq!(p.stand_ins[&g].mac, MAC_A);
        assert!(p.solicits.is_empty());
        // Without a link-local entry, the global one.
        let p = plan(&[g], &HashMap::new(), &table[..2], 0);
        assert_eq!(p.stand_ins[&g].gateway, gw("fc00::2"));
    }

    #[test]
    fn another_interface_or_an_unresolved_entry_does_not_count() {
        let g = gw("172.18.0.2");
        let mut elsewhere = neigh("fe80::1", Some(MAC_A));
        elsewhere.ifindex = 8;
        let table = [
            neigh("172.18.0.2", Some(MAC_A)),
            elsewhere,
            neigh("fe80::2", None),
        ];
        let p = plan(&[g], &HashMap::new(), &table, 0);
        assert!(p.stand_ins.is_empty());
        assert_eq!(
            p.solicits,
            vec![
                Solicit::Resolve(gw("fe80::42:acff:fe12:2")),
                Solicit::AllNodes(7)
            ]
        );
    }

    #[test]
    fn an_unknown_gateway_is_resolved_and_keeps_its_stand_in() {
        let g = gw("172.18.0.2");
        let prev = StandIn {
            gateway: gw("fe80::42:acff:fe12:2"),
            mac: MAC_A,
        };
        let before = HashMap::from([(g, prev)]);
        let p = plan(&[g], &before, &[], 0);
        assert_eq!(p.stand_ins[&g], prev);
        assert_eq!(p.solicits, vec![Solicit::Resolve(g)]);
        // Same MAC, IPv6 entry expired: kept, nothing asked.
        let p = plan(&[g], &before, &[neigh("172.18.0.2", Some(MAC_A))], 0);
        assert_eq!(p.stand_ins[&g], prev);
        assert!(p.solicits.is_empty());
    }

    #[test]
    fn a_new_mac_moves_the_stand_in_or_drops_it() {
        let g = gw("172.18.0.2");
        let before = HashMap::from([(
            g,
            StandIn {
                gateway: gw("fe80::42:acff:fe12:2"),
                mac: MAC_A,
            },
        )]);
        let moved = [
            neigh("172.18.0.2", Some(MAC_B)),
            neigh("fe80::42:acff:fe12:2", Some(MAC_A)),
            neigh("fe80::42:acff:fe12:3", Some(MAC_B)),
        ];
        let p = plan(&[g], &before, &moved, 0);
        assert_eq!(p.stand_ins[&g].gateway, gw("fe80::42:acff:fe12:3"));
        let p = plan(&[g], &before, &moved[..2], 0);
        assert!(p.stand_ins.is_empty(), "the old address is another node's");
        assert!(p
            .solicits
            .contains(&Solicit::Resolve(gw("fe80::42:acff:fe12:3"))));
    }

    #[test]
    fn a_link_local_gateway_is_on_the_interface_whose_table_holds_it() {
        let ll: Ipv6Addr = "fe80::2".parse().unwrap();
        let other: Ipv6Addr = "fe80::3".parse().unwrap();
        let mut on8 = neigh("fe80::2", Some(MAC_A));
        on8.ifindex = 8;
        let none = HashMap::new();
        let found = link_local_interfaces(&[ll, other], &none, &[on8]);
        assert_eq!(found, HashMap::from([(ll, 8)]));
        // Gone from the table: kept. On two interfaces: only the one it had.
        assert_eq!(link_local_interfaces(&[ll], &found, &[]), found);
        let both = [on8, neigh("fe80::2", Some(MAC_B))];
        assert_eq!(link_local_interfaces(&[ll], &found, &both), found);
        assert!(link_local_interfaces(&[ll], &none, &both).is_empty());
        // An unresolved entry says nothing.
        assert!(link_local_interfaces(&[ll], &none, &[neigh("fe80::2", None)]).is_empty());
    }

    #[test]
    fn a_mac_shared_by_several_ipv4_neighbours_names_no_node() {
        let g = gw("172.18.0.2");
        let table = [
            neigh("172.18.0.2", Some(MAC_A)),
            neigh("172.18.0.9", Some(MAC_A)),
            neigh("fe80::42:acff:fe12:2", Some(MAC_A)),
        ];
        let p = plan(&[g], &HashMap::new(), &table, 0);
        assert!(p.stand_ins.is_empty() && p.solicits.is_empty(), "{p:?}");
    }

    #[test]
    fn a_stand_in_does_not_flip_between_a_nodes_addresses() {
        let g = gw("172.18.0.2");
        let ll = StandIn {
            gateway: gw("fe80::42:acff:fe12:2"),
            mac: MAC_A,
        };
        // Its link-local entry aged out, its global one is there.
        let table = [
            neigh("172.18.0.2", Some(MAC_A)),
            neigh("fc00::2", Some(MAC_A)),
        ];
        let p = plan(&[g], &HashMap::from([(g, ll)]), &table, 0);
        assert_eq!(p.stand_ins[&g], ll);
    }

    #[test]
    fn solicitations_are_bounded() {
        let wanted: Vec<NextHop> = (0..1000u32)
            .map(|i| NextHop {
                gateway: IpAddr::V4((0xac12_0000 + i).into()),
                ifindex: 7,
            })
            .collect();
        let p = plan(&wanted, &HashMap::new(), &[], 0);
        assert_eq!(p.solicits.len(), MAX_SOLICITS);
        assert!(p.stand_ins.is_empty());
        // Round after round, every gateway is asked for.
        let mut asked = std::collections::HashSet::new();
        for round in 0..1000 / MAX_SOLICITS + 1 {
            asked.extend(plan(&wanted, &HashMap::new(), &[], round).solicits);
        }
        assert_eq!(asked.len(), 1000);
    }
}
