//! `rbgpctl show clusters` on a core fed in memory: nodes Established of
//! those known, End-of-RIB per family, a node in a graceful restart, and a
//! service address whose ECMP group is narrower than the nodes announcing
//! it. The text must equal `golden/show_clusters.txt` (regenerate with
//! `UPDATE_GOLDEN=1 cargo test -p bgpd --lib clusters`).

use super::ctl::{ask, status};
use super::*;
use crate::core::{CtlContext, FibView};
use crate::ctl::clusters::ClusterView;
use crate::ctl::proto::{Request, Response};
use crate::fib::{FibRouteState, FibStatusEntry, NextHop};

const CONFIG: &str = concat!(
    router_head!(),
    r#"
[[neighbor]]
range = "172.18.0.0/16"
remote_as = 65100
description = "kind-cilium"

[[neighbor]]
range = "172.19.0.0/16"
remote_as = 65200
cluster = "kind2"

[[neighbor]]
address = "172.20.0.9"
remote_as = 65200
cluster = "kind2"

[[neighbor]]
address = "172.21.0.9"
remote_as = 65300
"#
);

const LB: &str = "10.11.192.248/32";

fn clusters(h: &mut H, fib: Option<FibView>) -> Vec<ClusterView> {
    let node = |a: &str| Peer {
        addr: ip(a),
        ..Peer::node(0)
    };
    let peers = [
        ("172.18.0.2", State::Established),
        ("172.18.0.3", State::Active),
        ("172.18.0.4", State::Established),
        ("172.19.0.5", State::Established),
        ("172.20.0.9", State::Connect),
        ("172.21.0.9", State::Established),
    ]
    .iter()
    .map(|(a, s)| status(&node(a), *s))
    .collect();
    let context = CtlContext {
        peers,
        fib,
        ..CtlContext::default()
    };
    match ask(h, Request::ShowClusters, context).0 {
        Response::Clusters { clusters } => clusters,
        other => panic!("{other:?}"),
    }
}

#[test]
fn nodes_end_of_rib_restarts_and_service_widths_per_cluster() {
    let mut h = H::with(CONFIG);
    let (a, b, c) = (Peer::node(2), Peer::node(3).gr(120), Peer::node(4));
    for p in [&a, &b, &c] {
        h.up(p);
    }
    h.up(&Peer::node2(5));
    h.announce(&a, &[LB], &[65100]);
    h.announce(&b, &[LB], &[65100]);
    let mut incomplete = announcement(&c, &[LB], &[65100]);
    incomplete.attributes.origin = Some(Origin::Incomplete);
    h.update(&c, &incomplete);
    h.end_of_rib(&a);
    // Node 3 restarts: its path stays, stale, for 120 s.
    h.down(&b, true);
    h.advance(Duration::from_secs(30));

    let fib = FibView::Routes(vec![FibStatusEntry {
        prefix: pfx(LB),
        desired: vec![ip("172.18.0.2"), ip("172.18.0.3")],
        installed: ["172.18.0.2", "172.18.0.3"]
            .iter()
            .map(|g| NextHop {
                gateway: ip(g),
                ifindex: 2,
            })
            .collect(),
        state: FibRouteState::Installed,
        error: None,
        in_sync: true,
        found: Vec::new(),
        table: None,
        nexthop_id: None,
    }]);
    let got = clusters(&mut h, Some(fib));
    let names: Vec<&str> = got.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        ["kind-cilium", "kind2"],
        "address neighbors without a label are in none"
    );
    let c1 = &got[0];
    assert_eq!((c1.established, c1.known), (2, 3));
    let v4 = &c1.families[0];
    assert_eq!(v4.family, "ipv4-unicast");
    assert_eq!(
        (v4.sessions, v4.end_of_rib_received, v4.end_of_rib_sent),
        (2, 1, 2)
    );
    assert_eq!(c1.restarting.len(), 1);
    assert_eq!(c1.restarting[0].address, ip("172.18.0.3"));
    assert_eq!(c1.restarting[0].stale_secs_left, 90);
    let lb = &c1.services[0];
    assert_eq!(lb.prefix, LB);
    assert_eq!(
        (lb.announcing, lb.ecmp_width, lb.kernel_width),
        (3, 2, Some(2))
    );
    let c2 = &got[1];
    assert_eq!(
        (c2.established, c2.known),
        (1, 2),
        "the range and the labelled address"
    );
    assert!(c2.services.is_empty());
    let text = crate::ctl::clusters::text(&got);
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src/core/tests/golden/show_clusters.txt");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &text).unwrap();
    }
    assert_eq!(text, std::fs::read_to_string(&path).unwrap_or_default());

    // The metrics' view: the same counts, and the widths of the services.
    let widths = h.core.service_widths();
    assert!(widths.is_empty(), "no [metrics]: no service series");
}

#[test]
fn service_width_series_are_capped() {
    let mut h = H::with(&format!(
        "{CONFIG}\n[metrics]\nlisten = \"127.0.0.1:0\"\necmp_width_max = 2\n"
    ));
    let a = Peer::node(2);
    h.up(&a);
    h.announce(
        &a,
        &[
            "10.11.0.1/32",
            "10.11.0.2/32",
            "10.11.0.3/32",
            "10.11.0.0/24",
        ],
        &[65100],
    );
    let w = h.core.service_widths();
    let prefixes: Vec<&str> = w.iter().map(|s| s.prefix.as_str()).collect();
    assert_eq!(prefixes, ["10.11.0.1/32", "10.11.0.2/32"]);
    assert_eq!((w[0].paths, w[0].ecmp_width), (1, 1));
}
