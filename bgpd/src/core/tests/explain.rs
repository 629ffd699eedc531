//! `rbgpctl explain` on a core fed in memory: a path rejected by import, a
//! path losing at each decision step, paths left out of ECMP by ORIGIN and
//! by MED, installed and pending kernel routes, exports blocked by
//! no-export and by split horizon. The text must equal the golden files in
//! `golden/` (regenerate with `UPDATE_GOLDEN=1 cargo test -p bgpd --lib
//! explain`).

use super::ctl::ask;
use super::*;
use crate::core::{CtlContext, FibView};
use crate::ctl::explain::Explain;
use crate::ctl::proto::{Request, Response};
use crate::fib::{FibRouteState, FibStatusEntry, NextHop};
use bgp_proto::msg::attributes::Community;

const CONFIG: &str = concat!(
    router_head!(),
    r#"
[[policy]]
name = "nodes"
default = "accept"
[[policy.term]]
match = { as_path_contains = 64999 }
action = { result = "reject" }
[[policy.term]]
match = { next_hop = ["172.18.0.10/32"] }
action = { set_local_pref = 50 }

[[neighbor]]
range = "172.18.0.0/16"
remote_as = 65100
import = "nodes"
description = "cluster1"

[[neighbor]]
range = "172.19.0.0/16"
remote_as = 65200

[[neighbor]]
range = "172.20.0.0/16"
remote_as = 65000
"#
);

const LB: &str = "10.11.192.248/32";

fn ibgp(id: PeerId) -> Peer {
    Peer {
        addr: IpAddr::V4(Ipv4Addr::new(172, 20, 0, u8::try_from(id).unwrap())),
        asn: 65000,
        ..Peer::node(id)
    }
}

fn explain(h: &mut H, target: &str, fib: Option<FibView>) -> Explain {
    let request = Request::Explain {
        target: target.into(),
    };
    let context = CtlContext {
        fib,
        ..CtlContext::default()
    };
    match ask(h, request, context).0 {
        Response::Explain { explain } => *explain,
        other => panic!("{other:?}"),
    }
}

fn golden(name: &str, text: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src/core/tests/golden")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, text).unwrap();
    }
    let want = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(
        text,
        want,
        "{} differs (UPDATE_GOLDEN=1 to rewrite)",
        path.display()
    );
}

/// Node `id` of cluster 1 announces the LoadBalancer /32 with `path`,
/// ORIGIN `origin` and MED `med`.
fn lb(h: &mut H, id: PeerId, path: &[u32], origin: Origin, med: Option<u32>) {
    let p = Peer::node(id);
    h.up(&p);
    let mut msg = announcement(&p, &[LB], path);
    msg.attributes.origin = Some(origin);
    msg.attributes.med = med;
    h.update(&p, &msg);
}

fn entry(state: FibRouteState, hops: &[&str], nhid: Option<u32>) -> FibStatusEntry {
    let installed = state == FibRouteState::Installed;
    FibStatusEntry {
        prefix: pfx(LB),
        desired: hops.iter().map(|h| ip(h)).collect(),
        installed: if installed {
            hops.iter()
                .map(|h| NextHop {
                    gateway: ip(h),
                    ifindex: 2,
                })
                .collect()
        } else {
            Vec::new()
        },
        state,
        error: (!installed).then(|| "no connected network holds 172.18.0.2".into()),
        in_sync: installed,
        found: Vec::new(),
        table: None,
        nexthop_id: nhid,
    }
}

#[test]
fn every_path_and_peer_of_a_load_balancer_address_is_explained() {
    let mut h = H::with(CONFIG);
    let igp = Origin::Igp;
    // 2, 3, 4: the ECMP group; 6: ORIGIN incomplete; 7: a higher MED;
    // 8: via AS 64999 (import term[0] rejects it); 9: a longer path;
    // 10: LOCAL_PREF 50 (term[1]); 11: our AS in the path.
    for id in [2, 3, 4] {
        lb(&mut h, id, &[65100], igp, None);
    }
    lb(&mut h, 6, &[65100], Origin::Incomplete, None);
    lb(&mut h, 7, &[65100], igp, Some(50));
    lb(&mut h, 8, &[65100, 64999], igp, None);
    lb(&mut h, 9, &[65100, 65101], igp, None);
    lb(&mut h, 10, &[65100], igp, None);
    lb(&mut h, 11, &[65100, 65000], igp, None);
    // Over iBGP: loses to eBGP.
    let i = ibgp(12);
    h.up(&i);
    h.announce(&i, &[LB], &[65100]);
    // The other cluster's node gets it.
    h.up(&Peer::node2(3));
    h.advance(Duration::from_secs(42));

    let installed = FibView::Routes(vec![entry(
        FibRouteState::Installed,
        &["172.18.0.2", "172.18.0.3", "172.18.0.4"],
        Some(12),
    )]);
    let e = explain(&mut h, "10.11.192.248", Some(installed));
    assert_eq!(e.prefix, LB);
    assert_eq!(e.ecmp_width, 3);
    let by_peer = |a: &str| {
        e.paths
            .iter()
            .find(|p| p.path.peer == Some(ip(a)))
            .unwrap()
            .clone()
    };
    assert_eq!(by_peer("172.18.0.6").lost_at.as_deref(), Some("origin"));
    assert_eq!(
        by_peer("172.18.0.6").ecmp_split.as_deref(),
        Some("ORIGIN incomplete vs igp (best)")
    );
    assert_eq!(by_peer("172.18.0.7").lost_at.as_deref(), Some("med"));
    assert_eq!(
        by_peer("172.18.0.9").lost_at.as_deref(),
        Some("as-path-length")
    );
    assert_eq!(
        by_peer("172.18.0.10").lost_at.as_deref(),
        Some("local-pref")
    );
    assert_eq!(
        by_peer("172.20.0.12").lost_at.as_deref(),
        Some("ebgp-over-ibgp")
    );
    assert_eq!(
        by_peer("172.18.0.8").import,
        "rejected by policy nodes term[0]"
    );
    assert!(!by_peer("172.18.0.11").candidate);
    assert_eq!(e.kernel.as_ref().unwrap().nexthop_id, Some(12));
    golden("explain_lb.txt", &crate::ctl::explain::text(&e));

    // The same route waiting for a reachable next hop.
    let pending = FibView::Routes(vec![entry(FibRouteState::Pending, &["172.18.0.2"], None)]);
    let e = explain(&mut h, LB, Some(pending));
    let k = e.kernel.unwrap();
    assert_eq!(k.state, "pending");
    assert_eq!(
        k.note.as_deref(),
        Some("no connected network holds 172.18.0.2")
    );
}

#[test]
fn no_export_and_split_horizon_are_named() {
    let mut h = H::with(CONFIG);
    let (i, j) = (ibgp(2), ibgp(3));
    for p in [&i, &j, &Peer::node(4), &Peer::node2(5)] {
        h.up(p);
    }
    let mut msg = announcement(&i, &["10.1.0.0/16"], &[]);
    msg.attributes.communities.push(Community::NO_EXPORT);
    h.update(&i, &msg);
    let e = explain(&mut h, "10.1.0.0/16", None);
    let rule = |a: &str| {
        e.exports
            .iter()
            .find(|x| x.peer == ip(a))
            .map(|x| (x.exported, x.rule.clone()))
            .unwrap()
    };
    assert_eq!(rule("172.20.0.2"), (false, "learned from it".into()));
    assert!(rule("172.20.0.3").1.starts_with("iBGP split horizon"));
    assert_eq!(rule("172.18.0.4"), (false, "community no-export".into()));
    assert_eq!(rule("172.19.0.5"), (false, "community no-export".into()));
    golden("explain_no_export.txt", &crate::ctl::explain::text(&e));

    // Nothing covers the address: an error, not an empty answer.
    let request = Request::Explain {
        target: "10.99.0.1".into(),
    };
    match ask(&mut h, request, CtlContext::default()).0 {
        Response::Error { message } => {
            assert!(message.contains("no path for 10.99.0.1"), "{message}")
        }
        other => panic!("{other:?}"),
    }
}
