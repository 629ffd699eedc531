//! IPv6 routes via IPv4 gateways on a [`MemoryFib`]: the manager finds
//! each gateway's IPv6 stand-in in the neighbour tables, asks for what is
//! missing, and follows changes.

use std::net::IpAddr;

use super::*;
use crate::fib::{FibRoute, FibRouteState, Mac, MemoryFib, Neighbour, Solicit};

const MAC_2: Mac = Mac([0x02, 0x42, 0xac, 0x12, 0x00, 0x02]);
const MAC_3: Mac = Mac([0x02, 0x42, 0xac, 0x12, 0x00, 0x03]);
const MAC_NEW: Mac = Mac([0x02, 0x42, 0xac, 0x12, 0x00, 0x99]);
const POD: &str = "fd00:10:241::/64";
const LB: &str = "fd00:ff::10/128";

fn p(s: &str) -> Prefix {
    s.parse().unwrap()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn nh(gw: &str) -> NextHop {
    NextHop {
        gateway: ip(gw),
        ifindex: 2,
    }
}

fn neigh(addr: &str, mac: Mac) -> Neighbour {
    Neighbour {
        ifindex: 2,
        addr: ip(addr),
        mac: Some(mac),
    }
}

fn ann(prefix: &str, nhs: &[&str]) -> FibChange {
    FibChange::announce(p(prefix), nhs.iter().map(|s| ip(s)).collect())
}

fn conn(net: &str, local: &str, ifindex: u32) -> Connected {
    Connected {
        prefix: p(net),
        local: ip(local),
        ifindex,
    }
}

/// `mem` with these connected networks, and a started manager on it
/// (routes removed at exit).
async fn manager_on(mem: &MemoryFib, connected: Vec<Connected>) -> FibManager<MemoryFib> {
    mem.set_connected(connected);
    let cfg = FibConfig {
        persist: false,
        ..FibConfig::default()
    };
    let mut m = FibManager::new(mem.clone(), &cfg);
    m.start().await.unwrap();
    m
}

/// The IPv4 network of interface 2.
fn ipv4_link() -> Vec<Connected> {
    vec![conn("172.18.0.0/16", "172.18.0.5", 2)]
}

/// A manager on an IPv4 network (interface 2) with IPv6 routes learned
/// over IPv4 sessions: Cilium's IPv4-mapped next hops.
async fn lab() -> (MemoryFib, FibManager<MemoryFib>) {
    let mem = MemoryFib::new();
    let mut m = manager_on(&mem, ipv4_link()).await;
    m.update(&[
        ann(POD, &["::ffff:172.18.0.2"]),
        ann(LB, &["::ffff:172.18.0.2", "::ffff:172.18.0.3"]),
        ann("10.241.0.0/24", &["172.18.0.2"]),
    ])
    .await
    .unwrap();
    (mem, m)
}

fn state(m: &FibManager<MemoryFib>, prefix: &str) -> (FibRouteState, Vec<String>) {
    let st = m.status();
    let e = st.routes.iter().find(|r| r.prefix == p(prefix)).unwrap();
    (e.state, e.found.clone())
}

#[tokio::test]
async fn ipv6_routes_via_ipv4_gateways_go_via_the_same_nodes_ipv6_neighbours() {
    let (mem, mut m) = lab().await;
    assert_eq!(mem.route(&p(POD)), None);
    assert_eq!(state(&m, POD).0, FibRouteState::Pending);

    // Nothing known: the kernel is asked to resolve both gateways.
    assert!(!m.refresh_neighbours().await.unwrap());
    assert_eq!(
        mem.solicited(),
        vec![
            Solicit::Resolve(nh("172.18.0.2")),
            Solicit::Resolve(nh("172.18.0.3"))
        ]
    );

    // ARP answered, ND not yet: their EUI-64 link-locals are resolved and
    // all nodes pinged, once per link.
    mem.set_neighbours(vec![neigh("172.18.0.2", MAC_2), neigh("172.18.0.3", MAC_3)]);
    assert!(!m.refresh_neighbours().await.unwrap());
    assert_eq!(
        mem.solicited()[2..],
        [
            Solicit::Resolve(nh("fe80::42:acff:fe12:2")),
            Solicit::AllNodes(2),
            Solicit::Resolve(nh("fe80::42:acff:fe12:3")),
        ]
    );

    // The nodes' link-locals are in the table: installed via them, the
    // LoadBalancer address ECMP over both; the IPv4 route is untouched.
    mem.set_neighbours(vec![
        neigh("172.18.0.2", MAC_2),
        neigh("172.18.0.3", MAC_3),
        neigh("fe80::42:acff:fe12:2", MAC_2),
        neigh("fe80::42:acff:fe12:3", MAC_3),
        neigh("fc00:f853:ccd:e793::3", MAC_3),
    ]);
    assert!(m.refresh_neighbours().await.unwrap());
    assert_eq!(mem.route(&p(POD)), Some(vec![nh("fe80::42:acff:fe12:2")]));
    assert_eq!(
        mem.route(&p(LB)),
        Some(vec![nh("fe80::42:acff:fe12:2"), nh("fe80::42:acff:fe12:3")])
    );
    assert_eq!(mem.route(&p("10.241.0.0/24")), Some(vec![nh("172.18.0.2")]));
    let (st, found) = state(&m, POD);
    assert_eq!(st, FibRouteState::Installed);
    assert_eq!(
        found,
        vec!["172.18.0.2 via fe80::42:acff:fe12:2 (same MAC 02:42:ac:12:00:02 in the neighbour tables)"]
    );
    // Nothing changed: nothing written.
    let (ops, _) = mem.counters();
    assert!(!m.refresh_neighbours().await.unwrap());
    assert_eq!(mem.counters().0, ops);
}

#[tokio::test]
async fn a_node_with_a_new_mac_is_followed() {
    let (mem, mut m) = lab().await;
    mem.set_neighbours(vec![
        neigh("172.18.0.2", MAC_2),
        neigh("fe80::42:acff:fe12:2", MAC_2),
    ]);
    m.refresh_neighbours().await.unwrap();
    assert_eq!(mem.route(&p(POD)), Some(vec![nh("fe80::42:acff:fe12:2")]));

    // The ARP entry expired: no news, the route stays.
    mem.set_neighbours(vec![]);
    assert!(!m.refresh_neighbours().await.unwrap());
    assert_eq!(mem.route(&p(POD)), Some(vec![nh("fe80::42:acff:fe12:2")]));

    // The node came back with a new MAC (and link-local): the route
    // leaves the old address at once, and follows once ND knows the new.
    mem.set_neighbours(vec![
        neigh("172.18.0.2", MAC_NEW),
        neigh("fe80::42:acff:fe12:2", MAC_2),
    ]);
    assert!(m.refresh_neighbours().await.unwrap());
    assert_eq!(mem.route(&p(POD)), None);
    assert_eq!(state(&m, POD).0, FibRouteState::Pending);
    mem.set_neighbours(vec![
        neigh("172.18.0.2", MAC_NEW),
        neigh("fe80::42:acff:fe12:99", MAC_NEW),
    ]);
    assert!(m.refresh_neighbours().await.unwrap());
    assert_eq!(mem.route(&p(POD)), Some(vec![nh("fe80::42:acff:fe12:99")]));
}

#[tokio::test]
async fn without_ipv6_routes_via_ipv4_nothing_is_read_or_asked() {
    let (mem, mut m) = lab().await;
    mem.set_neighbours(vec![
        neigh("172.18.0.2", MAC_2),
        neigh("fe80::42:acff:fe12:2", MAC_2),
    ]);
    m.refresh_neighbours().await.unwrap();
    m.update(&[FibChange::withdraw(p(POD)), FibChange::withdraw(p(LB))])
        .await
        .unwrap();
    // The stand-in is dropped without a write, then nothing more is done:
    // no table read, nothing asked.
    let (ops, _) = mem.counters();
    assert!(!m.refresh_neighbours().await.unwrap());
    let (reads, asked) = (mem.neighbour_reads(), mem.solicited().len());
    for _ in 0..3 {
        assert!(!m.refresh_neighbours().await.unwrap());
    }
    assert_eq!(
        (mem.neighbour_reads(), mem.solicited().len()),
        (reads, asked)
    );
    assert_eq!(mem.counters().0, ops);
    assert_eq!(mem.route(&p("10.241.0.0/24")), Some(vec![nh("172.18.0.2")]));
}

/// Two interfaces with IPv6 (2 and 3), as a router between links.
async fn two_links() -> (MemoryFib, FibManager<MemoryFib>) {
    let mem = MemoryFib::new();
    let links = vec![
        conn("fe80::/64", "fe80::1", 2),
        conn("fe80::/64", "fe80::1:1", 3),
    ];
    let m = manager_on(&mem, links).await;
    (mem, m)
}

#[tokio::test]
async fn link_local_gateways_go_out_of_the_interface_whose_table_holds_them() {
    let (mem, mut m) = two_links().await;
    // RFC 8950 from an unnumbered neighbor: an IPv4 route via its
    // link-local, and an IPv6 one.
    m.update(&[
        ann("10.1.1.0/24", &["fe80::2"]),
        ann("fd00:1::/64", &["fe80::2"]),
    ])
    .await
    .unwrap();
    // Which link? Not known yet: pending, and says why.
    assert_eq!(mem.route(&p("10.1.1.0/24")), None);
    assert_eq!(state(&m, "fd00:1::/64").0, FibRouteState::Pending);
    let st = m.status();
    let why = st.routes[0].error.as_deref().unwrap_or_default();
    assert!(why.contains("no interface's neighbour table"), "{why}");
    let on3 = Neighbour {
        ifindex: 3,
        addr: ip("fe80::2"),
        mac: Some(MAC_2),
    };
    mem.set_neighbours(vec![on3]);
    assert!(m.refresh_neighbours().await.unwrap());
    let via = NextHop {
        gateway: ip("fe80::2"),
        ifindex: 3,
    };
    assert_eq!(mem.route(&p("10.1.1.0/24")), Some(vec![via]));
    assert_eq!(mem.route(&p("fd00:1::/64")), Some(vec![via]));
    // Its entry expires: the routes stay.
    mem.set_neighbours(vec![]);
    assert!(!m.refresh_neighbours().await.unwrap());
    assert_eq!(mem.route(&p("fd00:1::/64")), Some(vec![via]));
}

#[tokio::test]
async fn with_one_ipv6_link_a_link_local_gateway_needs_no_lookup() {
    let mem = MemoryFib::new();
    let mut m = manager_on(&mem, vec![conn("fe80::/64", "fe80::1", 2)]).await;
    m.update(&[
        ann("fd00:1::/64", &["fe80::2"]),
        ann("fd00:2::/64", &["fe80::1"]),
    ])
    .await
    .unwrap();
    assert_eq!(mem.route(&p("fd00:1::/64")), Some(vec![nh("fe80::2")]));
    // Our own address is no gateway.
    assert_eq!(mem.route(&p("fd00:2::/64")), None);
}

#[tokio::test]
async fn all_nodes_on_a_link_are_pinged_less_and_less_often() {
    let (mem, mut m) = lab().await;
    mem.set_neighbours(vec![neigh("172.18.0.2", MAC_2)]);
    let pings = |mem: &MemoryFib| {
        mem.solicited()
            .iter()
            .filter(|s| matches!(s, Solicit::AllNodes(_)))
            .count()
    };
    // Rounds 1, 2, 4, 8, 16, then every 30: 32, 62, 92.
    for _ in 0..100 {
        m.refresh_neighbours().await.unwrap();
    }
    assert_eq!(pings(&mem), 8);
    // Found: the pings stop, and start afresh for the next node missing.
    mem.set_neighbours(vec![
        neigh("172.18.0.2", MAC_2),
        neigh("fe80::42:acff:fe12:2", MAC_2),
    ]);
    for _ in 0..10 {
        m.refresh_neighbours().await.unwrap();
    }
    assert_eq!(pings(&mem), 8);
    mem.set_neighbours(vec![
        neigh("172.18.0.2", MAC_NEW),
        neigh("fe80::42:acff:fe12:2", MAC_2),
    ]);
    m.refresh_neighbours().await.unwrap();
    assert_eq!(pings(&mem), 9);
}

#[tokio::test]
async fn routes_a_previous_run_left_via_stand_ins_survive_the_end_of_start_up() {
    let mem = MemoryFib::new();
    // Left by the previous run: link-locals are on-link for the kernel.
    mem.insert(FibRoute::new(p(POD), vec![nh("fe80::42:acff:fe12:2")]));
    mem.set_neighbours(vec![
        neigh("172.18.0.2", MAC_2),
        neigh("fe80::42:acff:fe12:2", MAC_2),
    ]);
    let mut m = manager_on(&mem, ipv4_link()).await;
    m.update(&[ann(POD, &["::ffff:172.18.0.2"])]).await.unwrap();
    // End-of-RIB came before the first neighbour round.
    m.startup_complete().await.unwrap();
    assert_eq!(mem.route(&p(POD)), Some(vec![nh("fe80::42:acff:fe12:2")]));
}
