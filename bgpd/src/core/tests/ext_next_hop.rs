//! RFC 8950 (extended next hop): IPv4 routes to and from sessions over
//! IPv6. Refusing an IPv6 next hop for IPv4 NLRI without the capability
//! is the codec's (treat-as-withdraw, tested in bgp-proto).

use super::*;

/// The lab plus a range of IPv6 neighbors in AS 65300 (our address on
/// their sessions is 2001:db8::5).
/// The IPv6 nodes share one AS; the sender-side loop check is off so that
/// one node's routes reach the others (the next hops are what is tested).
fn config() -> String {
    format!(
        "{LAB}\n[[neighbor]]\nrange = \"2001:db8::/64\"\nremote_as = 65300\n\
         sender_as_path_loop_detection = false\n"
    )
}

/// Neighbor 2001:db8::`id` of AS 65300, with or without the capability.
fn v6_node(id: PeerId, extended_next_hop: bool) -> Peer {
    Peer {
        addr: format!("2001:db8::{id}").parse().unwrap(),
        asn: 65300,
        extended_next_hop,
        ..Peer::node(id)
    }
}

fn sent_for<'a>(sent: &'a [Sent], prefix: &str) -> Vec<&'a Sent> {
    sent.iter()
        .filter(|s| s.announced.iter().any(|p| p == prefix))
        .collect()
}

#[test]
fn ipv4_routes_go_over_ipv6_with_our_ipv6_next_hop_only_with_the_capability() {
    let mut h = H::with(&config());
    let a = Peer::node(2);
    let (e, f) = (v6_node(10, true), v6_node(11, false));
    h.up(&a);
    let outs = h.up(&e);
    assert!(outs.iter().any(|o| matches!(o, Output::Peer { .. })));
    h.up(&f);
    h.announce(&a, &["10.241.2.0/24", "2001:db8:2::/48"], &[65100]);
    let outs = h.drain();

    // With the capability: the IPv4 route in MP_REACH_NLRI with our IPv6
    // address as next hop, the IPv6 route as before.
    let to_e = sent_to(&outs, e.id);
    let v4 = sent_for(&to_e, "10.241.2.0/24");
    assert_eq!(v4.len(), 1, "{to_e:?}");
    assert_eq!(v4[0].next_hop, Some(ip("2001:db8::5")));
    assert_eq!(v4[0].as_path, "65000 65100");
    let v6 = sent_for(&to_e, "2001:db8:2::/48");
    assert_eq!(v6[0].next_hop, Some(ip("2001:db8::5")));
    // What the core sent decodes on e's own session.
    for c in commands_to(&outs, e.id) {
        if let PeerCommand::Send(msgs) = c {
            for m in msgs.iter().flat_map(crate::peer::messages) {
                decode_message(m, &e.ctx()).unwrap();
            }
        }
    }

    // Without it: no IPv4 route (we have no IPv4 address on the session),
    // the IPv6 one as before.
    assert_eq!(announced_to(&outs, f.id), vec!["2001:db8:2::/48"]);

    // The IPv4 session is untouched.
    let to_a = announced_to(&outs, a.id);
    assert!(to_a.is_empty(), "{to_a:?}");
}

#[test]
fn ipv4_routes_with_ipv6_next_hops_are_taken_and_passed_on_only_where_allowed() {
    let mut h = H::with(&config());
    let a = Peer::node(2);
    let (e, f, g) = (v6_node(10, true), v6_node(11, false), v6_node(12, true));
    for p in [&a, &e, &f, &g] {
        h.up(p);
    }
    h.drain();
    // e announces an IPv4 route with its global and link-local addresses.
    let msg = UpdateMessage {
        attributes: PathAttributes {
            origin: Some(Origin::Igp),
            as_path: AsPath::from_sequence(vec![65300]),
            ..PathAttributes::default()
        },
        mp_reach: Some(MpReach {
            family: Family::IPV4_UNICAST,
            next_hop: MpNextHop {
                global: ip("2001:db8::10"),
                link_local: Some("fe80::10".parse().unwrap()),
            },
            nlri: vec![Nlri::new(pfx("10.99.0.0/24"))],
        }),
        ..UpdateMessage::default()
    };
    h.update(&e, &msg);
    let outs = h.drain();
    // In the RIB (and out to the FIB) with the IPv6 global next hop.
    let fib: Vec<&FibChange> = outs
        .iter()
        .filter_map(|o| match o {
            Output::Fib(crate::core::FibCommand::Update(changes)) => Some(changes),
            _ => None,
        })
        .flatten()
        .filter(|c| c.prefix == pfx("10.99.0.0/24"))
        .collect();
    assert_eq!(fib.len(), 1, "{outs:?}");
    assert_eq!(fib[0].next_hops, vec![ip("2001:db8::10")]);
    // To the IPv4 session: next hop self, in the NLRI field.
    let to_a = sent_to(&outs, a.id);
    let v4 = sent_for(&to_a, "10.99.0.0/24");
    assert_eq!(v4.len(), 1);
    assert_eq!(v4[0].next_hop, Some(ip("172.18.0.5")));
    // To g (capability): next hop self over IPv6. To f (none): nothing.
    let to_g = sent_to(&outs, g.id);
    assert_eq!(
        sent_for(&to_g, "10.99.0.0/24")[0].next_hop,
        Some(ip("2001:db8::5"))
    );
    assert!(announced_to(&outs, f.id).is_empty());
}

#[test]
fn an_ipv6_next_hop_for_ipv4_routes_without_the_capability_is_withdraw_not_reset() {
    let mut h = H::with(&config());
    let (a, b) = (Peer::node(2), Peer::node2(3));
    h.up(&a);
    h.up(&b);
    h.announce(&a, &["10.241.5.0/24"], &[65100]);
    h.drain();
    // a announces the same prefix again with an IPv6 next hop, which its
    // session (no capability) does not allow: encoded where it is allowed,
    // decoded as a's session reads it.
    let msg = UpdateMessage {
        attributes: PathAttributes {
            origin: Some(Origin::Igp),
            as_path: AsPath::from_sequence(vec![65100]),
            ..PathAttributes::default()
        },
        mp_reach: Some(MpReach {
            family: Family::IPV4_UNICAST,
            next_hop: MpNextHop {
                global: ip("2001:db8::2"),
                link_local: None,
            },
            nlri: vec![Nlri::new(pfx("10.241.5.0/24"))],
        }),
        ..UpdateMessage::default()
    };
    let with_cap = Peer {
        extended_next_hop: true,
        ..a.clone()
    };
    let mut body = bytes::BytesMut::new();
    encode_body(&msg, &with_cap.ctx(), &mut body).unwrap();
    let u = Update::decode(body.freeze(), &a.ctx()).unwrap();
    assert!(u.is_treat_as_withdraw());
    h.raw_update(&a, u);
    let outs = h.drain();
    // The route is gone (withdrawn from b), and a's session stays.
    assert_eq!(withdrawn_from(&outs, b.id), vec!["10.241.5.0/24"]);
    assert!(commands_to(&outs, a.id)
        .iter()
        .all(|c| matches!(c, PeerCommand::Send(_))));
}
