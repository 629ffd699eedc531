//! Reconciliation logic of [`FibManager`] on a [`MemoryFib`].

use std::net::IpAddr;

use super::*;
use crate::fib::{FibRoute, FibRouteState, MemoryFib};

fn p(s: &str) -> Prefix {
    s.parse().unwrap()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn conn(net: &str, local: &str, ifindex: u32) -> Connected {
    Connected {
        prefix: p(net),
        local: ip(local),
        ifindex,
    }
}

fn nh(gw: &str, ifindex: u32) -> NextHop {
    NextHop {
        gateway: ip(gw),
        ifindex,
    }
}

fn cfg() -> FibConfig {
    FibConfig {
        persist: false,
        max_paths: 4,
        ..FibConfig::default()
    }
}

fn ann(prefix: &str, nhs: &[&str]) -> FibChange {
    FibChange::announce(p(prefix), nhs.iter().map(|s| ip(s)).collect())
}

async fn lab() -> (MemoryFib, FibManager<MemoryFib>) {
    let mem = MemoryFib::new();
    mem.set_connected(vec![conn("172.18.0.0/16", "172.18.0.5", 2)]);
    let mut m = FibManager::new(mem.clone(), &cfg());
    m.start().await.unwrap();
    (mem, m)
}

#[tokio::test]
async fn installs_replaces_and_withdraws() {
    let (mem, mut m) = lab().await;
    m.update(&[ann("10.241.0.0/24", &["172.18.0.2"])])
        .await
        .unwrap();
    assert_eq!(
        mem.route(&p("10.241.0.0/24")),
        Some(vec![nh("172.18.0.2", 2)])
    );
    m.update(&[ann("10.241.0.0/24", &["172.18.0.3"])])
        .await
        .unwrap();
    assert_eq!(
        mem.route(&p("10.241.0.0/24")),
        Some(vec![nh("172.18.0.3", 2)])
    );
    m.update(&[FibChange::withdraw(p("10.241.0.0/24"))])
        .await
        .unwrap();
    assert_eq!(mem.route(&p("10.241.0.0/24")), None);
    assert!(m.status().routes.is_empty());
}

#[tokio::test]
async fn unchanged_update_writes_nothing() {
    let (mem, mut m) = lab().await;
    m.update(&[ann("10.241.0.0/24", &["172.18.0.2"])])
        .await
        .unwrap();
    let before = mem.counters();
    m.update(&[ann("10.241.0.0/24", &["172.18.0.2", "172.18.0.2"])])
        .await
        .unwrap();
    assert_eq!(mem.counters(), before);
}

#[tokio::test]
async fn startup_keeps_old_routes_and_removes_only_stale_after_complete() {
    let mem = MemoryFib::new();
    mem.set_connected(vec![conn("172.18.0.0/16", "172.18.0.5", 2)]);
    for (pre, gw) in [("10.1.0.0/24", "172.18.0.2"), ("10.2.0.0/24", "172.18.0.3")] {
        mem.insert(FibRoute::new(p(pre), vec![nh(gw, 2)]));
    }
    let mut m = FibManager::new(mem.clone(), &cfg());
    m.start().await.unwrap();
    // 10.1 is wanted again with a new next hop, 10.2 is not (yet) wanted.
    m.update(&[ann("10.1.0.0/24", &["172.18.0.4"])])
        .await
        .unwrap();
    assert_eq!(
        mem.route(&p("10.1.0.0/24")),
        Some(vec![nh("172.18.0.4", 2)])
    );
    assert_eq!(
        mem.route(&p("10.2.0.0/24")),
        Some(vec![nh("172.18.0.3", 2)])
    );
    let st = m.status();
    assert_eq!((st.installed, st.stale, st.startup_complete), (1, 1, false));
    // The summary the core polls says the same without a per-route status.
    let sum = m.summary();
    assert_eq!((sum.installed, sum.startup_complete), (2, false));
    assert_eq!(
        sum.stale,
        vec![FibRoute::new(p("10.2.0.0/24"), vec![nh("172.18.0.3", 2)])]
    );
    // A route withdrawn during startup that was ours before goes at once
    // only if it was not in the kernel at start: 10.3 is new, so it goes.
    m.update(&[ann("10.3.0.0/24", &["172.18.0.2"])])
        .await
        .unwrap();
    m.update(&[FibChange::withdraw(p("10.3.0.0/24"))])
        .await
        .unwrap();
    assert_eq!(mem.route(&p("10.3.0.0/24")), None);
    m.startup_complete().await.unwrap();
    assert_eq!(mem.route(&p("10.2.0.0/24")), None);
    assert_eq!(
        mem.route(&p("10.1.0.0/24")),
        Some(vec![nh("172.18.0.4", 2)])
    );
    assert!(m.status().startup_complete);
    assert_eq!(m.status().stale, 0);
    let sum = m.summary();
    assert_eq!((sum.installed, sum.startup_complete), (1, true));
    assert!(sum.stale.is_empty());
}

#[tokio::test]
async fn old_route_withdrawn_during_startup_is_kept_until_complete() {
    let mem = MemoryFib::new();
    mem.set_connected(vec![conn("172.18.0.0/16", "172.18.0.5", 2)]);
    mem.insert(FibRoute::new(p("10.1.0.0/24"), vec![nh("172.18.0.2", 2)]));
    let mut m = FibManager::new(mem.clone(), &cfg());
    m.start().await.unwrap();
    m.update(&[ann("10.1.0.0/24", &["172.18.0.3"])])
        .await
        .unwrap();
    m.update(&[FibChange::withdraw(p("10.1.0.0/24"))])
        .await
        .unwrap();
    // Still there (with the last installed next hop) until startup ends.
    assert_eq!(
        mem.route(&p("10.1.0.0/24")),
        Some(vec![nh("172.18.0.3", 2)])
    );
    m.startup_complete().await.unwrap();
    assert_eq!(mem.route(&p("10.1.0.0/24")), None);
}

#[tokio::test]
async fn gateways_that_do_not_answer_are_reported_and_only_named_stale_routes_go() {
    let mem = MemoryFib::new();
    mem.set_connected(vec![conn("172.18.0.0/16", "172.18.0.5", 2)]);
    for (prefix, gws) in [
        ("10.1.0.0/24", &["172.18.0.2"][..]),
        ("10.2.0.0/24", &["172.18.0.9"]),
        ("10.3.0.0/24", &["172.18.0.8", "172.18.0.9"]),
        ("10.4.0.0/24", &["172.18.0.9"]),
    ] {
        let hops = gws.iter().map(|g| nh(g, 2)).collect();
        mem.insert(FibRoute::new(p(prefix), hops));
    }
    let mut m = FibManager::new(mem.clone(), &cfg());
    m.start().await.unwrap();
    // 10.4 is wanted again, via a node that is back.
    m.update(&[ann("10.4.0.0/24", &["172.18.0.2"])])
        .await
        .unwrap();
    mem.set_reach(nh("172.18.0.2", 2), Reach::Reachable);
    mem.set_reach(nh("172.18.0.9", 2), Reach::Failed);
    m.probe_stale_gateways().await.unwrap();
    assert_eq!(
        mem.probed(),
        vec![
            nh("172.18.0.2", 2),
            nh("172.18.0.8", 2),
            nh("172.18.0.9", 2)
        ],
        "the distinct gateways of the stale routes"
    );
    assert_eq!(m.summary().unreachable, vec![nh("172.18.0.9", 2)]);
    // The core names 10.2 (and a 10.4 it saw stale a moment ago).
    let removed = m
        .remove_stale(&[p("10.2.0.0/24"), p("10.4.0.0/24")])
        .await
        .unwrap();
    assert_eq!(removed, 1);
    assert_eq!(mem.route(&p("10.2.0.0/24")), None);
    assert_eq!(
        mem.route(&p("10.4.0.0/24")),
        Some(vec![nh("172.18.0.2", 2)]),
        "wanted: left as it is"
    );
    let stale: Vec<Prefix> = m.summary().stale.iter().map(|r| r.prefix).collect();
    assert_eq!(stale, vec![p("10.1.0.0/24"), p("10.3.0.0/24")]);
    // Still known gone while the kernel retries; forgotten once it answers.
    mem.set_reach(nh("172.18.0.9", 2), Reach::Unknown);
    m.probe_stale_gateways().await.unwrap();
    assert_eq!(m.summary().unreachable, vec![nh("172.18.0.9", 2)]);
    mem.set_reach(nh("172.18.0.9", 2), Reach::Reachable);
    m.probe_stale_gateways().await.unwrap();
    assert!(m.summary().unreachable.is_empty());
    // After the phase nothing is asked.
    mem.set_reach(nh("172.18.0.9", 2), Reach::Failed);
    m.startup_complete().await.unwrap();
    let asked = mem.probed().len();
    m.probe_stale_gateways().await.unwrap();
    assert_eq!(mem.probed().len(), asked);
    assert!(!m.has_stale());
    assert_eq!(m.remove_stale(&[p("10.1.0.0/24")]).await.unwrap(), 0);
}

#[tokio::test]
async fn ecmp_group_grows_and_shrinks() {
    let (mem, mut m) = lab().await;
    let lb = p("10.11.192.248/32");
    m.update(&[ann("10.11.192.248/32", &["172.18.0.2"])])
        .await
        .unwrap();
    m.update(&[ann(
        "10.11.192.248/32",
        &["172.18.0.4", "172.18.0.2", "172.18.0.3"],
    )])
    .await
    .unwrap();
    assert_eq!(
        mem.route(&lb),
        Some(vec![
            nh("172.18.0.2", 2),
            nh("172.18.0.3", 2),
            nh("172.18.0.4", 2)
        ])
    );
    m.update(&[ann("10.11.192.248/32", &["172.18.0.3"])])
        .await
        .unwrap();
    assert_eq!(mem.route(&lb), Some(vec![nh("172.18.0.3", 2)]));
}

#[tokio::test]
async fn ecmp_is_capped_at_max_paths() {
    let mem = MemoryFib::new();
    mem.set_connected(vec![conn("172.18.0.0/16", "172.18.0.5", 2)]);
    let mut m = FibManager::new(
        mem.clone(),
        &FibConfig {
            max_paths: 2,
            ..cfg()
        },
    );
    m.start().await.unwrap();
    m.update(&[ann(
        "10.0.0.0/8",
        &["172.18.0.9", "172.18.0.3", "172.18.0.7"],
    )])
    .await
    .unwrap();
    assert_eq!(
        mem.route(&p("10.0.0.0/8")),
        Some(vec![nh("172.18.0.3", 2), nh("172.18.0.9", 2)])
    );
}

#[tokio::test]
async fn unreachable_next_hop_is_pending_then_installed() {
    let (mem, mut m) = lab().await;
    // kind2's network is not connected yet (no eth1).
    m.update(&[ann("10.242.0.0/24", &["172.19.0.4"])])
        .await
        .unwrap();
    assert_eq!(mem.route(&p("10.242.0.0/24")), None);
    let st = m.status();
    assert_eq!(st.pending, 1);
    assert_eq!(st.routes[0].state, FibRouteState::Pending);
    // `docker network connect kind2` adds eth1 with 172.19.0.5/16.
    mem.set_connected(vec![
        conn("172.18.0.0/16", "172.18.0.5", 2),
        conn("172.19.0.0/16", "172.19.0.5", 3),
    ]);
    assert!(m.refresh_connected().await.unwrap());
    assert_eq!(
        mem.route(&p("10.242.0.0/24")),
        Some(vec![nh("172.19.0.4", 3)])
    );
    assert_eq!(m.status().routes[0].state, FibRouteState::Installed);
    assert!(
        !m.refresh_connected().await.unwrap(),
        "no change the second time"
    );
    // The network goes away again: the route is removed and pending again.
    mem.set_connected(vec![conn("172.18.0.0/16", "172.18.0.5", 2)]);
    m.refresh_connected().await.unwrap();
    assert_eq!(mem.route(&p("10.242.0.0/24")), None);
    assert_eq!(m.status().pending, 1);
}

#[tokio::test]
async fn ecmp_uses_only_reachable_next_hops() {
    let (mem, mut m) = lab().await;
    m.update(&[ann("10.9.0.0/16", &["172.18.0.2", "172.19.0.2"])])
        .await
        .unwrap();
    assert_eq!(
        mem.route(&p("10.9.0.0/16")),
        Some(vec![nh("172.18.0.2", 2)])
    );
}

#[tokio::test]
async fn own_address_is_not_a_next_hop() {
    let (mem, mut m) = lab().await;
    m.update(&[ann("10.9.0.0/16", &["172.18.0.5"])])
        .await
        .unwrap();
    assert_eq!(mem.route(&p("10.9.0.0/16")), None);
    assert_eq!(m.status().pending, 1);
}

#[tokio::test]
async fn ipv4_mapped_next_hop_is_ipv4() {
    let (mem, mut m) = lab().await;
    // An IPv4 route with a mapped next hop is plain IPv4.
    m.update(&[ann("10.241.0.0/24", &["::ffff:172.18.0.2"])])
        .await
        .unwrap();
    assert_eq!(
        mem.route(&p("10.241.0.0/24")),
        Some(vec![nh("172.18.0.2", 2)])
    );
    // Linux cannot route IPv6 via an IPv4 gateway: pending, with the
    // reason, until an IPv6 stand-in is found (`manager_stand_in_tests`).
    m.update(&[ann("fd00:10:241::/64", &["::ffff:172.18.0.2"])])
        .await
        .unwrap();
    assert_eq!(mem.route(&p("fd00:10:241::/64")), None);
    let st = m.status();
    let e = st
        .routes
        .iter()
        .find(|r| r.prefix == p("fd00:10:241::/64"))
        .unwrap();
    assert_eq!(e.state, FibRouteState::Pending);
    assert!(e
        .error
        .as_deref()
        .unwrap_or_default()
        .contains("no IPv6 neighbour with the MAC address"));
}

#[tokio::test]
async fn ipv4_route_via_ipv6_next_hop_is_installed() {
    let mem = MemoryFib::new();
    mem.set_connected(vec![conn("fd00:18::/64", "fd00:18::5", 2)]);
    let mut m = FibManager::new(mem.clone(), &cfg());
    m.start().await.unwrap();
    m.update(&[ann("10.241.0.0/24", &["fd00:18::2"])])
        .await
        .unwrap();
    assert_eq!(
        mem.route(&p("10.241.0.0/24")),
        Some(vec![nh("fd00:18::2", 2)])
    );
}

#[tokio::test]
async fn route_deleted_behind_our_back_comes_back_on_resync() {
    let (mem, mut m) = lab().await;
    m.update(&[
        ann("10.241.1.0/24", &["172.18.0.3"]),
        ann("10.241.2.0/24", &["172.18.0.4"]),
    ])
    .await
    .unwrap();
    assert!(mem.remove(&p("10.241.1.0/24")));
    mem.insert(FibRoute::new(p("10.241.2.0/24"), vec![nh("172.18.0.9", 2)]));
    assert_eq!(m.resync().await.unwrap(), 2);
    assert_eq!(
        mem.route(&p("10.241.1.0/24")),
        Some(vec![nh("172.18.0.3", 2)])
    );
    assert_eq!(
        mem.route(&p("10.241.2.0/24")),
        Some(vec![nh("172.18.0.4", 2)])
    );
    assert_eq!(m.resync().await.unwrap(), 0);
}

#[tokio::test]
async fn unknown_route_of_our_protocol_is_removed_after_startup() {
    let (mem, mut m) = lab().await;
    m.startup_complete().await.unwrap();
    mem.insert(FibRoute::new(p("10.99.0.0/16"), vec![nh("172.18.0.2", 2)]));
    assert_eq!(m.resync().await.unwrap(), 1);
    assert_eq!(mem.route(&p("10.99.0.0/16")), None);
}

#[tokio::test]
async fn refused_route_is_error_then_retried_by_resync() {
    let (mem, mut m) = lab().await;
    mem.refuse(p("10.5.0.0/16"), true);
    m.update(&[
        ann("10.5.0.0/16", &["172.18.0.2"]),
        ann("10.6.0.0/16", &["172.18.0.2"]),
    ])
    .await
    .unwrap();
    let st = m.status();
    assert_eq!((st.errors, st.installed), (1, 1));
    assert_eq!(st.routes[0].state, FibRouteState::Error);
    assert!(!st.routes[0].in_sync);
    mem.refuse(p("10.5.0.0/16"), false);
    m.resync().await.unwrap();
    let st = m.status();
    assert_eq!((st.errors, st.installed), (0, 2));
    assert!(st.routes.iter().all(|r| r.in_sync));
}

#[tokio::test]
async fn lost_messages_trigger_a_dump_and_repair() {
    let (mem, mut m) = lab().await;
    mem.lose_next_batch();
    let changes: Vec<FibChange> = (0..10u8)
        .map(|i| ann(&format!("10.0.{i}.0/24"), &["172.18.0.2"]))
        .collect();
    m.update(&changes).await.unwrap();
    assert_eq!(mem.routes().len(), 10);
    assert_eq!(m.installed_count(), 10);
}

#[tokio::test]
async fn shutdown_without_persist_removes_our_routes() {
    let (mem, mut m) = lab().await;
    m.update(&[ann("10.241.0.0/24", &["172.18.0.2"])])
        .await
        .unwrap();
    m.shutdown().await.unwrap();
    assert!(mem.routes().is_empty());
}

#[tokio::test]
async fn shutdown_with_persist_keeps_routes() {
    let mem = MemoryFib::new();
    mem.set_connected(vec![conn("172.18.0.0/16", "172.18.0.5", 2)]);
    let mut m = FibManager::new(
        mem.clone(),
        &FibConfig {
            persist: true,
            ..cfg()
        },
    );
    m.start().await.unwrap();
    m.update(&[ann("10.241.0.0/24", &["172.18.0.2"])])
        .await
        .unwrap();
    m.shutdown().await.unwrap();
    assert_eq!(mem.routes().len(), 1);
}

#[tokio::test]
async fn task_serves_handle_and_ends_startup_after_grace() {
    let mem = MemoryFib::new();
    mem.set_connected(vec![conn("172.18.0.0/16", "172.18.0.5", 2)]);
    mem.insert(FibRoute::new(p("10.9.0.0/24"), vec![nh("172.18.0.9", 2)]));
    let m = FibManager::new(mem.clone(), &cfg());
    let hour = std::time::Duration::from_secs(3600);
    let grace = std::time::Duration::from_millis(200);
    let (h, task) = crate::fib::spawn(m, None, hour, grace);
    h.update(vec![ann("10.241.0.0/24", &["172.18.0.2"])])
        .await
        .unwrap();
    let st = h.status().await.unwrap();
    assert!(!st.startup_complete);
    assert_eq!((st.installed, st.stale), (1, 1));
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    let st = h.status().await.unwrap();
    assert!(st.startup_complete, "grace time ends the startup phase");
    assert_eq!(mem.route(&p("10.9.0.0/24")), None);
    assert!(mem.remove(&p("10.241.0.0/24")));
    assert_eq!(h.resync().await.unwrap(), 1);
    assert_eq!(
        mem.route(&p("10.241.0.0/24")),
        Some(vec![nh("172.18.0.2", 2)])
    );
    h.shutdown().await.unwrap(); // persist = false in cfg()
    task.await.unwrap();
    assert!(mem.routes().is_empty());
    assert!(h.status().await.is_err(), "task gone");
}

#[tokio::test]
async fn a_big_load_is_written_in_bounded_batches() {
    let (mem, mut m) = lab().await;
    let n = 2 * WRITE_BATCH + 100;
    let changes: Vec<FibChange> = (0..n)
        .map(|i| {
            let i = u32::try_from(i).unwrap();
            let net = std::net::Ipv4Addr::from(0x0a00_0000 | (i << 8));
            ann(&format!("{net}/24"), &["172.18.0.2"])
        })
        .collect();
    m.note(&changes);
    assert!(m.has_pending_writes());
    assert_eq!(mem.routes().len(), 0, "noting writes nothing");
    let mut batches = 0;
    while m.has_pending_writes() {
        let written = m.write_pending(1).await.unwrap();
        assert!(written <= WRITE_BATCH);
        batches += 1;
    }
    assert_eq!(batches, 3);
    assert_eq!(mem.routes().len(), n);
    assert_eq!(m.installed_count(), n);
    // All the routes share one list of next hops, and one batch is one apply.
    assert_eq!(mem.counters(), (n, 3));
    // Written back to back, the batches are the same.
    let (mem, mut m) = lab().await;
    m.note(&changes);
    assert_eq!(m.write_pending(usize::MAX).await.unwrap(), n);
    assert!(!m.has_pending_writes());
    assert_eq!(mem.counters(), (n, 3));
    assert_eq!(m.t.wanted.index.len(), 1);
    assert_eq!(m.t.kernel.index.len(), 1);
}

#[tokio::test]
async fn next_hop_lists_are_freed_with_their_last_route() {
    let (mem, mut m) = lab().await;
    m.update(&[
        ann("10.1.0.0/24", &["172.18.0.2", "172.18.0.3"]),
        ann("10.2.0.0/24", &["172.18.0.3", "172.18.0.2", "172.18.0.3"]),
        ann("10.3.0.0/24", &["172.18.0.9"]),
    ])
    .await
    .unwrap();
    assert_eq!(
        mem.route(&p("10.2.0.0/24")),
        Some(vec![nh("172.18.0.2", 2), nh("172.18.0.3", 2)])
    );
    // Desired lists keep RIB order: three lists, resolving to two.
    assert_eq!(m.t.wanted.index.len(), 3);
    assert_eq!(m.t.kernel.index.len(), 2);
    m.update(&[
        FibChange::withdraw(p("10.1.0.0/24")),
        FibChange::withdraw(p("10.2.0.0/24")),
        FibChange::withdraw(p("10.3.0.0/24")),
    ])
    .await
    .unwrap();
    assert!(mem.routes().is_empty());
    assert_eq!(m.installed_count(), 0);
    assert!(m.t.routes.is_empty());
    assert!(m.t.wanted.index.is_empty());
    assert!(m.t.kernel.index.is_empty());
    assert_eq!(m.t.kernel.free.len(), m.t.kernel.slots.len());
}

#[tokio::test]
async fn a_refused_change_keeps_what_the_kernel_holds() {
    let (mem, mut m) = lab().await;
    m.update(&[
        ann("10.5.0.0/16", &["172.18.0.2"]),
        ann("10.6.0.0/16", &["172.18.0.2"]),
    ])
    .await
    .unwrap();
    mem.refuse(p("10.5.0.0/16"), true);
    m.update(&[
        ann("10.5.0.0/16", &["172.18.0.3"]),
        FibChange::withdraw(p("10.6.0.0/16")),
    ])
    .await
    .unwrap();
    // The refused replace leaves the old route, known as installed.
    assert!(m.is_installed(&p("10.5.0.0/16")));
    assert_eq!(
        m.status().routes[0].installed,
        vec![nh("172.18.0.2", 2)],
        "the manager still knows the old next hop"
    );
    assert!(!m.is_installed(&p("10.6.0.0/16")));
    assert_eq!(m.installed_count(), 1);
    // A refused withdrawal keeps the route too, and a later success frees
    // every list.
    m.update(&[FibChange::withdraw(p("10.5.0.0/16"))])
        .await
        .unwrap();
    assert_eq!(m.installed_count(), 1);
    mem.refuse(p("10.5.0.0/16"), false);
    m.resync().await.unwrap();
    assert!(mem.routes().is_empty());
    assert_eq!(m.installed_count(), 0);
    assert!(m.t.routes.is_empty());
    assert!(m.t.kernel.index.is_empty());
    assert!(m.t.wanted.index.is_empty());
}

#[tokio::test]
async fn a_list_is_released_only_when_no_route_uses_it() {
    let (mem, mut m) = lab().await;
    let a = vec![nh("172.18.0.2", 2)];
    let b = vec![nh("172.18.0.2", 2), nh("172.18.0.3", 2)];
    m.update(&[
        ann("10.1.0.0/24", &["172.18.0.2"]),
        ann("10.2.0.0/24", &["172.18.0.2"]),
        ann("10.3.0.0/24", &["172.18.0.3", "172.18.0.2"]),
    ])
    .await
    .unwrap();
    assert_eq!(mem.released(), (vec![], 0));
    // The last route of the ECMP list goes: that list is released.
    m.update(&[FibChange::withdraw(p("10.3.0.0/24"))])
        .await
        .unwrap();
    assert_eq!(mem.released(), (vec![b.clone()], 0));
    // A resync re-reads the kernel: lists still in use are not released
    // in between, though every installed reference is replaced.
    m.resync().await.unwrap();
    // New connected networks drop every cached resolution; the routes
    // still hold theirs.
    mem.set_connected(vec![
        conn("172.18.0.0/16", "172.18.0.5", 2),
        conn("192.168.0.0/24", "192.168.0.1", 3),
    ]);
    m.refresh_connected().await.unwrap();
    assert_eq!(mem.released(), (vec![b.clone()], 0));
    // A route moving to another list releases the old one with its last
    // user only.
    m.update(&[ann("10.1.0.0/24", &["172.18.0.3"])])
        .await
        .unwrap();
    assert_eq!(mem.released().0.len(), 1);
    m.update(&[ann("10.2.0.0/24", &["172.18.0.3"])])
        .await
        .unwrap();
    assert_eq!(mem.released(), (vec![b, a], 0));
}
