//! UPDATE handling: RFC 7606 outcomes, route refresh.

use super::*;
use bgp_proto::msg::route_refresh::RouteRefreshSubtype;
use bgp_proto::wire::Decoded;
use bytes::Bytes;

/// An UPDATE for 10.241.0.0/24 whose ORIGIN has the wrong length: RFC 7606
/// treat-as-withdraw.
fn malformed_origin() -> Update {
    let body: &[u8] = &[
        0, 0, // no withdrawn routes
        0, 15, // attributes
        0x40, 1, 2, 0, 0, // ORIGIN of 2 octets
        0x40, 2, 0, // empty AS_PATH
        0x40, 3, 4, 172, 18, 0, 2, // NEXT_HOP
        24, 10, 241, 0, // 10.241.0.0/24
    ];
    let u = Update::decode(Bytes::from_static(body), &Peer::node(2).ctx()).unwrap();
    assert!(u.is_treat_as_withdraw());
    u
}

#[test]
fn treat_as_withdraw_removes_the_route_it_names() {
    let (mut h, a, _b) = H::two_nodes();
    h.announce(&a, &["10.241.0.0/24"], &[65100]);
    h.drain();
    h.raw_update(&a, malformed_origin());
    let outs = h.drain();
    assert_eq!(fib_changes(&outs), vec![fib("10.241.0.0/24", &[])]);
    assert_eq!(withdrawn_from(&outs, 3), vec!["10.241.0.0/24"]);
    assert_eq!(h.core.established(), 2, "the session stays up");
}

#[test]
fn treat_as_withdraw_of_an_unknown_route_changes_nothing() {
    let mut h = H::new();
    let a = Peer::node(2);
    h.up(&a);
    h.raw_update(&a, malformed_origin());
    assert!(fib_changes(&h.drain()).is_empty());
}

#[test]
fn a_discarded_attribute_leaves_the_route_in() {
    let mut h = H::new();
    let a = Peer::node(2);
    h.up(&a);
    // ATOMIC_AGGREGATE with a length of 1: RFC 7606 7.6, discard it.
    let body: &[u8] = &[
        0, 0, // no withdrawn routes
        0, 24, // attributes
        0x40, 1, 1, 0, // ORIGIN IGP
        0x40, 2, 6, 2, 1, 0, 0, 0xfe, 0x4c, // AS_PATH 65100
        0x40, 3, 4, 172, 18, 0, 2, // NEXT_HOP
        0x40, 6, 1, 0, // ATOMIC_AGGREGATE of 1 octet
        24, 10, 241, 0, // 10.241.0.0/24
    ];
    let u = Update::decode(Bytes::from_static(body), &a.ctx()).unwrap();
    assert!(!u.is_treat_as_withdraw());
    assert!(!u.issues().is_empty());
    h.raw_update(&a, u);
    assert_eq!(
        fib_changes(&h.drain()),
        vec![fib("10.241.0.0/24", &["172.18.0.2"])]
    );
}

#[test]
fn a_burst_of_updates_is_applied_in_order() {
    let mut h = H::new();
    let a = Peer::node(2);
    h.up(&a);
    let ctx = a.ctx();
    let decode = |m: &UpdateMessage| {
        let mut body = bytes::BytesMut::new();
        encode_body(m, &ctx, &mut body).unwrap();
        Update::decode(body.freeze(), &ctx).unwrap()
    };
    let add = announcement(&a, &["10.241.0.0/24"], &[65100]);
    let del = UpdateMessage {
        withdrawn: vec![Nlri::new(pfx("10.241.0.0/24"))],
        ..UpdateMessage::default()
    };
    h.peer_event(PeerEvent::Update {
        peer: 2,
        updates: UpdateBurst::new(Arc::new(ctx.clone()), vec![decode(&add), decode(&del)]),
    });
    let outs = h.drain();
    // Announced and withdrawn in one batch: the kernel is told the end
    // state, in order.
    assert_eq!(fib_changes(&outs).last(), Some(&fib("10.241.0.0/24", &[])));
}

#[test]
fn route_refresh_sends_the_family_again() {
    let (mut h, a, _b) = H::two_nodes();
    h.announce(&a, &["10.241.0.0/24", "fd00:10:241::/64"], &[65100]);
    h.drain();
    h.peer_event(PeerEvent::RouteRefresh {
        peer: 3,
        family: Family::IPV4_UNICAST,
    });
    let outs = h.drain();
    assert_eq!(announced_to(&outs, 3), vec!["10.241.0.0/24"]);
}

#[test]
fn enhanced_route_refresh_is_framed_by_begin_and_end_markers() {
    let mut h = H::new();
    let a = Peer::node(2);
    let b = Peer {
        enhanced_rr: true,
        ..Peer::node2(3)
    };
    h.up(&a);
    h.up(&b);
    h.announce(&a, &["10.241.0.0/24"], &[65100]);
    h.drain();
    h.peer_event(PeerEvent::RouteRefresh {
        peer: 3,
        family: Family::IPV4_UNICAST,
    });
    let outs = h.drain();
    let PeerCommand::Send(msgs) = &commands_to(&outs, 3)[0] else {
        panic!("a send")
    };
    let kinds: Vec<String> = msgs
        .iter()
        .flat_map(crate::peer::messages)
        .map(|m| match decode_message(m, &b.ctx()).unwrap() {
            Decoded::RouteRefresh(rr) => match rr.subtype {
                RouteRefreshSubtype::Begin => "begin".to_string(),
                RouteRefreshSubtype::End => "end".to_string(),
                RouteRefreshSubtype::Request => "request".to_string(),
                _ => "other".to_string(),
            },
            Decoded::Update(_) => "update".to_string(),
            _ => "other".to_string(),
        })
        .collect();
    assert_eq!(kinds, vec!["begin", "update", "end"]);
}

#[test]
fn route_refresh_from_a_neighbor_not_established_is_ignored() {
    let mut h = H::new();
    h.peer_event(PeerEvent::RouteRefresh {
        peer: 3,
        family: Family::IPV4_UNICAST,
    });
    assert!(h.drain().is_empty());
}

#[test]
fn a_looped_route_is_kept_out_of_the_kernel_and_the_exports() {
    let (mut h, a, _b) = H::two_nodes();
    h.announce(&a, &["10.241.0.0/24"], &[65100, 65000]);
    let outs = h.drain();
    assert!(fib_changes(&outs).is_empty());
    assert!(announced_to(&outs, 3).is_empty());
}

/// A config whose cluster-1 range has `extra` set.
fn lab_with(extra: &str) -> H {
    H::with(&super::LAB.replacen(
        "remote_as = 65100",
        &format!("remote_as = 65100\n{extra}"),
        1,
    ))
}

#[test]
fn an_external_path_not_starting_with_the_peers_as_is_treated_as_withdraw() {
    let (mut h, a, _b) = H::two_nodes();
    h.announce(&a, &["10.241.0.0/24"], &[65100]);
    h.drain();
    // The same prefix again, now with a path that starts elsewhere.
    h.announce(&a, &["10.241.0.0/24", "10.241.9.0/24"], &[65999, 65100]);
    let outs = h.drain();
    assert_eq!(fib_changes(&outs), vec![fib("10.241.0.0/24", &[])]);
    assert_eq!(withdrawn_from(&outs, 3), vec!["10.241.0.0/24"]);
    assert!(announced_to(&outs, 3).is_empty());
    assert_eq!(h.core.established(), 2, "the session stays up");
}

#[test]
fn the_first_as_check_can_be_turned_off_for_a_route_server() {
    let mut h = lab_with("enforce_first_as = false");
    let a = Peer::node(2);
    h.up(&a);
    h.announce(&a, &["10.241.0.0/24"], &[65999]);
    assert_eq!(
        fib_changes(&h.drain()),
        vec![fib("10.241.0.0/24", &["172.18.0.2"])]
    );
}

#[test]
fn an_empty_path_from_an_external_peer_is_refused() {
    let mut h = H::new();
    let a = Peer::node(2);
    h.up(&a);
    h.announce(&a, &["10.241.0.0/24"], &[]);
    assert!(fib_changes(&h.drain()).is_empty());
}

#[test]
fn confederation_segments_from_an_external_peer_are_refused() {
    use bgp_proto::msg::attributes::{AsSegment, AsSegmentType};
    let mut h = lab_with("enforce_first_as = false");
    let a = Peer::node(2);
    h.up(&a);
    let mut msg = announcement(&a, &["10.241.0.0/24"], &[65100]);
    msg.attributes.as_path.segments.insert(
        0,
        AsSegment {
            kind: AsSegmentType::ConfedSequence,
            asns: vec![64512],
        },
    );
    h.update(&a, &msg);
    assert!(fib_changes(&h.drain()).is_empty());
}

#[test]
fn ipv6_routes_on_a_session_that_negotiated_ipv4_only_are_ignored() {
    let mut h = H::new();
    let a = Peer {
        families: vec![Family::IPV4_UNICAST],
        ..Peer::node(2)
    };
    h.up(&a);
    h.announce(&a, &["10.241.0.0/24", "fd00:10:241::/64"], &[65100]);
    assert_eq!(
        fib_changes(&h.drain()),
        vec![fib("10.241.0.0/24", &["172.18.0.2"])]
    );
}

#[test]
fn multicast_routes_are_never_installed() {
    use bgp_proto::types::{Afi, Safi};
    let mut h = H::new();
    let a = Peer::node(2);
    h.up(&a);
    let mut msg = announcement(&a, &["10.241.0.0/24"], &[65100]);
    msg.mp_reach = Some(MpReach {
        family: Family {
            afi: Afi::Ipv4,
            safi: Safi::Multicast,
        },
        next_hop: MpNextHop {
            global: ip("172.18.0.2"),
            link_local: None,
        },
        nlri: vec![Nlri::new(pfx("10.99.0.0/16"))],
    });
    h.update(&a, &msg);
    assert_eq!(
        fib_changes(&h.drain()),
        vec![fib("10.241.0.0/24", &["172.18.0.2"])],
        "the unicast NLRI only"
    );
}

#[test]
fn a_route_too_large_for_a_peer_is_withdrawn_from_it_not_left_stale() {
    use bgp_proto::msg::attributes::Community;
    let mut h = H::new();
    let a = Peer {
        extended_message: true,
        ..Peer::node(2)
    };
    let b = Peer::node2(3);
    h.up(&a);
    h.up(&b);
    h.announce(&a, &["10.241.0.0/24"], &[65100]);
    assert_eq!(announced_to(&h.drain(), 3), vec!["10.241.0.0/24"]);
    // The same prefix again with 1,200 communities: 4,800 octets of
    // attributes, more than a 4,096-octet message holds.
    let mut msg = announcement(&a, &["10.241.0.0/24"], &[65100]);
    msg.attributes.communities = (0..1200u32).map(|i| Community(0xfde8_0000 | i)).collect();
    h.update(&a, &msg);
    let outs = h.drain();
    assert_eq!(withdrawn_from(&outs, 3), vec!["10.241.0.0/24"]);
    assert!(announced_to(&outs, 3).is_empty());
    // The kernel still has the route: only the peer cannot take it.
    assert!(fib_changes(&outs).is_empty());
}

fn refreshes(outs: &[Output], peer: PeerId) -> usize {
    commands_to(outs, peer)
        .iter()
        .filter(|c| matches!(c, PeerCommand::Send(m) if !m.is_empty()))
        .count()
}

#[test]
fn a_route_refresh_storm_costs_one_export_per_interval() {
    let (mut h, a, b) = H::two_nodes();
    h.announce(&a, &["10.241.0.0/24"], &[65100]);
    h.drain();
    // 10,000 requests within a second.
    for i in 0..10_000u32 {
        if i % 1000 == 0 {
            h.advance(Duration::from_millis(100));
        }
        h.peer_event(PeerEvent::RouteRefresh {
            peer: b.id,
            family: Family::IPV4_UNICAST,
        });
    }
    let outs = h.drain();
    assert_eq!(refreshes(&outs, b.id), 1, "the first one, at once");
    // The rest are one answer when the interval has passed.
    let due = h.core.poll_timeout().unwrap();
    assert_eq!(
        due,
        h.t0 + Duration::from_millis(100) + Duration::from_secs(5)
    );
    h.now = due;
    h.feed(Input::Tick);
    let outs = h.drain();
    assert_eq!(refreshes(&outs, b.id), 1);
    assert_eq!(announced_to(&outs, b.id), vec!["10.241.0.0/24"]);
    assert_eq!(h.core.poll_timeout(), None, "nothing more held back");
}

#[test]
fn route_refreshes_of_two_families_are_answered_each() {
    let (mut h, _a, b) = H::two_nodes();
    for family in [Family::IPV4_UNICAST, Family::IPV6_UNICAST] {
        h.peer_event(PeerEvent::RouteRefresh { peer: b.id, family });
    }
    // Two answers (an empty table is no message, so count the commands).
    let sends = commands_to(&h.drain(), b.id).len();
    assert_eq!(sends, 2);
}

#[test]
fn a_held_back_route_refresh_is_dropped_with_its_session() {
    let (mut h, _a, b) = H::two_nodes();
    for _ in 0..2 {
        h.peer_event(PeerEvent::RouteRefresh {
            peer: b.id,
            family: Family::IPV4_UNICAST,
        });
    }
    h.drain();
    assert!(h.core.poll_timeout().is_some());
    h.down(&b, false);
    assert_eq!(h.core.poll_timeout(), None);
}
