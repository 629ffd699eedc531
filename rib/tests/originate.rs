//! Routes the router originates (`[[route]]`, redistributed connected
//! networks) and `default_originate`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use bgp_proto::msg::attributes::{Community, Origin, PathAttributes};
use bgp_proto::types::Family;
use common::*;
use rib::policy::{Action, Match, Policy, PolicyRef, Term, Verdict};
use rib::{ExportBatch, LocalSource, PeerInfo, LOCAL_PEER};

fn igp() -> PathAttributes {
    PathAttributes {
        origin: Some(Origin::Igp),
        ..PathAttributes::default()
    }
}

fn announced(batches: &[ExportBatch]) -> Vec<(String, ExportBatch)> {
    batches
        .iter()
        .filter(|b| matches!(b, ExportBatch::Announce { .. }))
        .flat_map(|b| {
            b.nlri()
                .iter()
                .map(move |n| (n.prefix.to_string(), b.clone()))
        })
        .collect()
}

fn only_route(batches: &[ExportBatch], prefix: &str) -> rib::RouteAttrs {
    let all = announced(batches);
    let found: Vec<_> = all.iter().filter(|(p, _)| p == prefix).collect();
    assert_eq!(found.len(), 1, "{prefix} in {batches:?}");
    let ExportBatch::Announce { route, .. } = &found[0].1 else {
        unreachable!()
    };
    (**route).clone()
}

/// Originates 10.0.0.0/8 where a peer's path is held: ours is best, the
/// learned one second, beaten at the locally-originated step.
fn originate_ten_over_a_learned_path(rib: &mut rib::Rib) {
    rib.originate(
        LocalSource::Static,
        p("10.0.0.0/8"),
        None,
        igp(),
        &PolicyRef::All,
    )
    .unwrap();
    let view = rib.route(p("10.0.0.0/8")).unwrap();
    assert_eq!(view.paths[0].peer, LOCAL_PEER);
    assert_eq!(view.paths[1].reason, Some(rib::Reason::Local));
}

#[test]
fn an_originated_route_goes_to_ebgp_and_ibgp_via_us_and_never_to_the_kernel() {
    let mut rib = rib();
    rib.add_peer(peer(2, 65100)).unwrap();
    rib.add_peer(peer(3, LOCAL_AS)).unwrap();
    let mut a = igp();
    a.communities.push(Community(65000 << 16 | 7));
    a.med = Some(5);
    let done = rib
        .originate(
            LocalSource::Static,
            p("10.0.0.0/8"),
            None,
            a,
            &PolicyRef::All,
        )
        .unwrap();
    assert!(done);
    assert!(
        rib.drain_fib_changes().is_empty(),
        "never written to our kernel"
    );

    let to_ebgp = only_route(&rib.drain_exports(2).unwrap(), "10.0.0.0/8");
    assert_eq!(to_ebgp.next_hop, ip("172.18.0.5"));
    assert_eq!(to_ebgp.attrs.as_path.to_string(), "65000");
    assert_eq!(to_ebgp.attrs.local_pref, None);
    assert_eq!(to_ebgp.attrs.med, Some(5), "our own MED goes to eBGP");
    assert_eq!(to_ebgp.attrs.communities, vec![Community(65000 << 16 | 7)]);

    let to_ibgp = only_route(&rib.drain_exports(3).unwrap(), "10.0.0.0/8");
    assert_eq!(to_ibgp.next_hop, ip("172.18.0.5"));
    assert!(to_ibgp.attrs.as_path.is_empty());
    assert_eq!(to_ibgp.attrs.local_pref, Some(100));

    let view = rib.route(p("10.0.0.0/8")).unwrap();
    assert_eq!(view.paths[0].peer, LOCAL_PEER);
    assert_eq!(rib.originated(LocalSource::Static), vec![p("10.0.0.0/8")]);

    rib.withdraw_originated(LocalSource::Static, p("10.0.0.0/8"));
    for id in [2, 3] {
        let b = rib.drain_exports(id).unwrap();
        assert!(
            matches!(&b[..], [ExportBatch::Withdraw { nlri, .. }] if nlri.len() == 1),
            "{b:?}"
        );
    }
    assert!(rib.route(p("10.0.0.0/8")).is_none());
    assert!(rib.drain_fib_changes().is_empty());
}

#[test]
fn an_originated_route_wins_over_a_learned_one_and_the_kernel_loses_the_learned_one() {
    let mut rib = rib();
    rib.add_peer(peer(2, 65100)).unwrap();
    rib.add_peer(peer(3, 65200)).unwrap();
    announce(&mut rib, 2, "10.0.0.0/8", &[65100]);
    assert_eq!(rib.drain_fib_changes().len(), 1);
    originate_ten_over_a_learned_path(&mut rib);
    // The kernel route of the learned path goes: ours is not installed.
    let fib = rib.drain_fib_changes();
    assert_eq!(fib.len(), 1);
    assert!(fib[0].next_hops.is_empty());
    // Peer 2 now gets ours (it sent the learned one, so it had nothing).
    let to2 = only_route(&rib.drain_exports(2).unwrap(), "10.0.0.0/8");
    assert_eq!(to2.attrs.as_path.to_string(), "65000");
    let to3 = only_route(&rib.drain_exports(3).unwrap(), "10.0.0.0/8");
    assert_eq!(to3.attrs.as_path.to_string(), "65000");
}

#[test]
fn a_given_next_hop_is_sent_as_is_and_a_policy_can_reject_or_change() {
    let policy = Policy {
        name: "connected".into(),
        terms: vec![
            Term {
                matches: Match {
                    prefix_list: None,
                    family: Some("ipv6-unicast".into()),
                    ..Match::default()
                },
                action: Action {
                    result: Some(Verdict::Reject),
                    ..Action::default()
                },
            },
            Term {
                matches: Match::default(),
                action: Action {
                    set_med: Some(9),
                    result: Some(Verdict::Accept),
                    ..Action::default()
                },
            },
        ],
        default: Verdict::Reject,
    };
    let mut rib = rib_with(vec![policy], vec![]);
    rib.add_peer(peer(2, 65100)).unwrap();
    let hook = PolicyRef::Named("connected".into());
    let kept = rib
        .originate(
            LocalSource::Connected,
            p("172.18.0.0/16"),
            Some(ip("172.18.0.1")),
            igp(),
            &hook,
        )
        .unwrap();
    let dropped = rib
        .originate(LocalSource::Connected, p("fd00::/64"), None, igp(), &hook)
        .unwrap();
    assert!(kept && !dropped);
    let out = rib.drain_exports(2).unwrap();
    let r = only_route(&out, "172.18.0.0/16");
    assert_eq!(
        r.next_hop,
        ip("172.18.0.1"),
        "a configured next hop is kept"
    );
    assert_eq!(r.attrs.med, Some(9));
    assert_eq!(announced(&out).len(), 1);
    assert_eq!(
        rib.originated(LocalSource::Connected),
        vec![p("172.18.0.0/16")]
    );
    // An unknown policy is an error, not a silent accept.
    assert!(rib
        .originate(
            LocalSource::Static,
            p("10.9.0.0/16"),
            None,
            igp(),
            &PolicyRef::Named("nope".into())
        )
        .is_err());
}

#[test]
fn default_originate_sends_ours_and_keeps_the_ribs_default_from_the_peer() {
    let mut rib = rib();
    rib.add_peer(peer(2, 65100)).unwrap();
    announce(&mut rib, 2, "0.0.0.0/0", &[65100]);
    announce(&mut rib, 2, "10.1.0.0/16", &[65100]);
    rib.add_peer(PeerInfo {
        default_originate: true,
        families: vec![Family::IPV4_UNICAST],
        ..peer(3, 65200)
    })
    .unwrap();
    rib.add_peer(PeerInfo {
        default_originate: true,
        ..peer(4, LOCAL_AS)
    })
    .unwrap();
    let full = rib.full_export(3).unwrap();
    let d = only_route(&full, "0.0.0.0/0");
    assert_eq!(d.next_hop, ip("172.18.0.5"));
    assert_eq!(
        d.attrs.as_path.to_string(),
        "65000",
        "ours, not 65000 65100"
    );
    assert_eq!(d.attrs.origin, Some(Origin::Igp));
    only_route(&full, "10.1.0.0/16");
    assert!(
        !announced(&full).iter().any(|(p, _)| p == "::/0"),
        "IPv6 not negotiated"
    );
    // The iBGP peer gets both families' defaults, with LOCAL_PREF.
    let full4 = rib.full_export(4).unwrap();
    assert_eq!(only_route(&full4, "0.0.0.0/0").attrs.local_pref, Some(100));
    assert!(only_route(&full4, "::/0").attrs.as_path.is_empty());
    // The RIB's default going away withdraws nothing from peer 3.
    rib.withdraw(2, [n("0.0.0.0/0")]).unwrap();
    assert!(rib.drain_exports(3).unwrap().is_empty());
    // A route refresh sends ours again.
    let again = rib.full_export_family(3, Family::IPV4_UNICAST).unwrap();
    only_route(&again, "0.0.0.0/0");
}

#[test]
fn an_originated_route_wins_over_a_higher_local_pref() {
    let mut rib = rib();
    rib.add_peer(peer(3, LOCAL_AS)).unwrap();
    rib.add_peer(peer(2, 65100)).unwrap();
    let mut high = igp();
    high.local_pref = Some(500);
    rib.update(3, [n("10.0.0.0/8")], ip("172.18.0.3"), high)
        .unwrap();
    originate_ten_over_a_learned_path(&mut rib);
    let to2 = only_route(&rib.drain_exports(2).unwrap(), "10.0.0.0/8");
    assert_eq!(to2.next_hop, ip("172.18.0.5"), "ours, not the learned one");
    // Nor can a session use the pseudo-peer's id.
    let impostor = PeerInfo {
        id: LOCAL_PEER,
        ..peer(9, 65300)
    };
    assert!(rib.add_peer(impostor).is_err());
}
