//! UPDATE test vectors in both directions.
//!
//! - Captured: real UPDATEs sent by gobgpd 3.10 and BIRD 2.0.12 to each
//!   other (4-octet AS), and by gobgpd and FRR 8.4.4 (2-octet AS session)
//!   (tests/data/update_*.hex, recipe in tests/data/update_capture.md).
//!   The expected values come from how the peers were configured, not from
//!   our decoder. Each decodes to the expected value consuming all input;
//!   re-encoding gives the same value back, and the same octets wherever the
//!   peer used our attribute order and length forms.
//! - Hand-built: 2-octet AS sessions with AS4_PATH/AS4_AGGREGATOR, ADD-PATH,
//!   link-local and RFC 8950 next hops, confederations, extended lengths,
//!   unknown attributes: decode(bytes) == value and encode(value) == bytes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use bgp_proto::msg::attributes::{
    Aggregator, AsPath, AsSegment, AsSegmentType, Community, ExtCommunity, LargeCommunity,
    MpNextHop, Origin, PathAttributes, RawAttribute,
};
use bgp_proto::wire::update::{encode_body, Update};
use bgp_proto::{Family, MpReach, MpUnreach, Nlri, SessionContext, UpdateMessage};
use bytes::{Bytes, BytesMut};
use std::net::IpAddr;

fn load(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(path).unwrap();
    let hex: String = text.lines().filter(|l| !l.starts_with('#')).collect();
    hex::decode(hex.trim()).unwrap()
}

fn n(s: &str) -> Nlri {
    Nlri::new(s.parse().unwrap())
}

fn seq(a: &[u32]) -> AsPath {
    AsPath::from_sequence(a.to_vec())
}

fn ctx4() -> SessionContext {
    SessionContext {
        four_octet_as: true,
        ..Default::default()
    }
}

fn nh(s: &str) -> MpNextHop {
    MpNextHop {
        global: s.parse().unwrap(),
        link_local: None,
    }
}

fn encode(m: &UpdateMessage, ctx: &SessionContext) -> Vec<u8> {
    let mut out = BytesMut::new();
    encode_body(m, ctx, &mut out).unwrap();
    out.to_vec()
}

/// Decodes `body`, checks the value, that it is clean, and that iterating
/// consumed every octet (the iterators cover exactly the body).
fn decode_ok(body: &[u8], ctx: &SessionContext) -> UpdateMessage {
    let u = Update::decode(Bytes::copy_from_slice(body), ctx).unwrap();
    assert_eq!(u.issues(), &[], "unexpected RFC 7606 issues");
    assert_eq!(u.action(), None);
    // All input consumed: the attributes iterated plus the NLRI and
    // withdrawn fields re-encoded in the same widths add up to the body.
    let attrs: usize = u
        .raw_attributes()
        .map(|a| a.value.len() + if a.flags & 0x10 != 0 { 4 } else { 3 })
        .sum();
    let w = u8::from(ctx.add_path_rx(Family::IPV4_UNICAST)) as usize * 4;
    let field = |it: &mut dyn Iterator<Item = Nlri>| -> usize {
        it.map(|x| w + 1 + usize::from(x.prefix.len()).div_ceil(8))
            .sum()
    };
    let total = 4 + attrs + field(&mut u.withdrawn()) + field(&mut u.nlri());
    assert_eq!(total, body.len(), "not every octet was consumed");
    u.to_owned()
}

/// Checks a captured message: decode == expected, re-encoding round-trips,
/// and (when `exact`) re-encoding gives the captured octets.
fn captured(file: &str, expected: &UpdateMessage, exact: bool) {
    let ctx = ctx4();
    let msg = load(file);
    assert_eq!(&msg[..16], &[0xff; 16]);
    assert_eq!(
        usize::from(u16::from_be_bytes([msg[16], msg[17]])),
        msg.len()
    );
    assert_eq!(msg[18], 2);
    let body = &msg[19..];
    assert_eq!(&decode_ok(body, &ctx), expected, "{file}");
    let again = encode(expected, &ctx);
    assert_eq!(&decode_ok(&again, &ctx), expected, "{file} re-encoded");
    if exact {
        assert_eq!(hex::encode(&again), hex::encode(body), "{file} octets");
    }
}

fn gobgp_attrs(origin: Origin) -> PathAttributes {
    PathAttributes {
        origin: Some(origin),
        as_path: seq(&[4_200_000_001]),
        next_hop: Some("10.99.0.1".parse().unwrap()),
        ..Default::default()
    }
}

fn bird_attrs() -> PathAttributes {
    PathAttributes {
        origin: Some(Origin::Igp),
        as_path: seq(&[65000]),
        next_hop: Some("10.99.0.2".parse().unwrap()),
        ..Default::default()
    }
}

#[test]
fn gobgp_ipv4_with_med_and_communities() {
    // gobgp global rib add 10.241.0.0/24 origin igp med 10 community 65100:1,65100:2
    let attrs = PathAttributes {
        med: Some(10),
        communities: vec![Community(65100 << 16 | 1), Community(65100 << 16 | 2)],
        ..gobgp_attrs(Origin::Igp)
    };
    let m = UpdateMessage {
        attributes: attrs,
        nlri: vec![n("10.241.0.0/24")],
        ..Default::default()
    };
    captured("update_gobgp_01.hex", &m, true);
}

#[test]
fn gobgp_ipv4_two_prefixes() {
    let m = UpdateMessage {
        attributes: gobgp_attrs(Origin::Incomplete),
        nlri: vec![n("10.241.1.0/24"), n("10.11.192.248/32")],
        ..Default::default()
    };
    captured("update_gobgp_02.hex", &m, true);
}

#[test]
fn gobgp_four_octet_path_and_large_community() {
    // aspath 4200000002,65001,4200000003 large-community 65100:1:1; GoBGP
    // writes LARGE_COMMUNITIES before NEXT_HOP, so only the value matches.
    let attrs = PathAttributes {
        as_path: seq(&[4_200_000_001, 4_200_000_002, 65001, 4_200_000_003]),
        large_communities: vec![LargeCommunity {
            global: 65100,
            local1: 1,
            local2: 1,
        }],
        ..gobgp_attrs(Origin::Incomplete)
    };
    let m = UpdateMessage {
        attributes: attrs,
        nlri: vec![n("10.241.7.0/24")],
        ..Default::default()
    };
    captured("update_gobgp_03.hex", &m, false);
}

#[test]
fn gobgp_ipv6_over_ipv4_session_has_mapped_next_hop() {
    // The Cilium case: no IPv6 next hop given, GoBGP sends ::ffff:10.99.0.1.
    let attrs = PathAttributes {
        next_hop: None,
        ..gobgp_attrs(Origin::Incomplete)
    };
    let m = UpdateMessage {
        attributes: attrs.clone(),
        mp_reach: Some(MpReach {
            family: Family::IPV6_UNICAST,
            next_hop: nh("::ffff:10.99.0.1"),
            nlri: vec![n("fd00:10:241::/64")],
        }),
        ..Default::default()
    };
    captured("update_gobgp_04.hex", &m, false);
    let m = UpdateMessage {
        attributes: attrs,
        mp_reach: Some(MpReach {
            family: Family::IPV6_UNICAST,
            next_hop: nh("2001:db8::1"),
            nlri: vec![n("fd00:10:242::/64")],
        }),
        ..Default::default()
    };
    captured("update_gobgp_05.hex", &m, false);
}

#[test]
fn gobgp_withdrawals() {
    let m = UpdateMessage {
        withdrawn: vec![n("10.241.1.0/24")],
        ..Default::default()
    };
    captured("update_gobgp_06.hex", &m, true);
    let m = UpdateMessage {
        mp_unreach: Some(MpUnreach {
            family: Family::IPV6_UNICAST,
            withdrawn: vec![n("fd00:10:242::/64")],
        }),
        ..Default::default()
    };
    captured("update_gobgp_07.hex", &m, true);
}

#[test]
fn bird_ipv4_static_routes() {
    let m = UpdateMessage {
        attributes: bird_attrs(),
        nlri: vec![n("192.0.2.0/25"), n("10.11.0.0/16"), n("198.51.100.128/26")],
        ..Default::default()
    };
    captured("update_bird_01.hex", &m, true);
}

#[test]
fn bird_communities_ext_and_large() {
    // bgp_community.add((65000,1)), (65000,2); bgp_large_community.add
    // ((65000,1,2)); bgp_ext_community.add((rt, 65000, 100)). BIRD drops
    // the MED set on a static route towards an eBGP peer.
    let attrs = PathAttributes {
        communities: vec![Community(65000 << 16 | 1), Community(65000 << 16 | 2)],
        ext_communities: vec![ExtCommunity([0x00, 0x02, 0xfd, 0xe8, 0, 0, 0, 100])],
        large_communities: vec![LargeCommunity {
            global: 65000,
            local1: 1,
            local2: 2,
        }],
        ..bird_attrs()
    };
    let m = UpdateMessage {
        attributes: attrs,
        nlri: vec![n("10.12.1.0/24")],
        ..Default::default()
    };
    captured("update_bird_02.hex", &m, true);
}

#[test]
fn bird_end_of_rib_both_families() {
    captured(
        "update_bird_03.hex",
        &UpdateMessage::end_of_rib(Family::IPV4_UNICAST),
        true,
    );
    captured(
        "update_bird_05.hex",
        &UpdateMessage::end_of_rib(Family::IPV6_UNICAST),
        true,
    );
    let ctx = ctx4();
    for (file, fam) in [
        ("update_bird_03.hex", Family::IPV4_UNICAST),
        ("update_bird_05.hex", Family::IPV6_UNICAST),
    ] {
        let body = Bytes::from(load(file)).slice(19..);
        assert_eq!(Update::decode(body, &ctx).unwrap().end_of_rib(), Some(fam));
    }
}

#[test]
fn bird_ipv6_announce_and_withdraw() {
    let p = [n("2001:db8:100::/48"), n("2001:db8:200:1::/64")];
    let m = UpdateMessage {
        attributes: PathAttributes {
            next_hop: None,
            ..bird_attrs()
        },
        mp_reach: Some(MpReach {
            family: Family::IPV6_UNICAST,
            next_hop: nh("2001:db8::2"),
            nlri: p.to_vec(),
        }),
        ..Default::default()
    };
    captured("update_bird_04.hex", &m, false);
    let m = UpdateMessage {
        mp_unreach: Some(MpUnreach {
            family: Family::IPV6_UNICAST,
            withdrawn: p.to_vec(),
        }),
        ..Default::default()
    };
    captured("update_bird_06.hex", &m, false);
    let ctx = ctx4();
    let u = Update::decode(Bytes::from(load("update_bird_04.hex")).slice(19..), &ctx).unwrap();
    assert_eq!(
        u.announced_families().collect::<Vec<_>>(),
        vec![Family::IPV6_UNICAST]
    );
    assert_eq!(u.end_of_rib(), None);
}

/// Hand-built vector: decode(bytes) == value, encode(value) == bytes.
fn both_ways(hex_body: &str, m: &UpdateMessage, ctx: &SessionContext) {
    let body = hex::decode(hex_body.replace([' ', '\n'], "")).unwrap();
    assert_eq!(&decode_ok(&body, ctx), m);
    assert_eq!(hex::encode(encode(m, ctx)), hex::encode(&body));
}

#[test]
fn two_octet_session_as4_path_and_as4_aggregator() {
    let ctx = SessionContext::default();
    let m = UpdateMessage {
        attributes: PathAttributes {
            origin: Some(Origin::Igp),
            as_path: seq(&[65000, 4_200_000_001, 65100]),
            next_hop: Some("172.18.0.2".parse().unwrap()),
            atomic_aggregate: true,
            aggregator: Some(Aggregator {
                asn: 4_200_000_001,
                addr: "10.0.0.1".parse().unwrap(),
            }),
            ..Default::default()
        },
        nlri: vec![n("10.241.0.0/24")],
        ..Default::default()
    };
    both_ways(
        "0000 003e
         40 01 01 00
         40 02 08 02 03 fde8 5ba0 fe4c
         40 03 04 ac120002
         40 06 00
         c0 07 06 5ba0 0a000001
         c0 11 0e 02 03 0000fde8 fa56ea01 0000fe4c
         c0 12 08 fa56ea01 0a000001
         18 0af100",
        &m,
        &ctx,
    );
    // An OLD speaker in front prepended 65001 (2 octets, no AS4_PATH change).
    let body = hex::decode(
        "0000 0029 400101 00 40020a 0204 fde9 fde8 5ba0 fe4c 400304ac120002
         c0110e 0203 0000fde8 fa56ea01 0000fe4c 180af100"
            .replace([' ', '\n'], ""),
    )
    .unwrap();
    let u = Update::decode(Bytes::from(body), &ctx).unwrap();
    assert_eq!(
        u.attributes().as_path,
        seq(&[65001, 65000, 4_200_000_001, 65100])
    );
}

#[test]
fn add_path_ipv4_and_ipv6() {
    let ctx = SessionContext {
        four_octet_as: true,
        add_path_receive: vec![Family::IPV4_UNICAST, Family::IPV6_UNICAST],
        add_path_send: vec![Family::IPV4_UNICAST, Family::IPV6_UNICAST],
        ..Default::default()
    };
    let m = UpdateMessage {
        withdrawn: vec![Nlri {
            path_id: 9,
            prefix: "10.0.0.0/8".parse().unwrap(),
        }],
        attributes: PathAttributes {
            origin: Some(Origin::Igp),
            as_path: seq(&[65100]),
            next_hop: Some("172.18.0.2".parse().unwrap()),
            ..Default::default()
        },
        nlri: vec![
            Nlri {
                path_id: 1,
                prefix: "10.241.0.0/24".parse().unwrap(),
            },
            Nlri {
                path_id: 2,
                prefix: "10.241.0.0/24".parse().unwrap(),
            },
        ],
        ..Default::default()
    };
    both_ways(
        "0006 00000009 08 0a
         0014 400101 00 400206 0201 0000fe4c 400304 ac120002
         00000001 18 0af100  00000002 18 0af100",
        &m,
        &ctx,
    );
    let v6 = UpdateMessage {
        attributes: PathAttributes {
            origin: Some(Origin::Igp),
            as_path: seq(&[65100]),
            ..Default::default()
        },
        mp_reach: Some(MpReach {
            family: Family::IPV6_UNICAST,
            next_hop: MpNextHop {
                global: "2001:db8::1".parse().unwrap(),
                link_local: Some("fe80::1".parse().unwrap()),
            },
            nlri: vec![Nlri {
                path_id: 5,
                prefix: "2001:db8:1::/48".parse().unwrap(),
            }],
        }),
        ..Default::default()
    };
    both_ways(
        "0000 0040
         80 0e 30 0002 01 20 20010db8000000000000000000000001 fe800000000000000000000000000001 00
                  00000005 30 20010db80001
         400101 00 400206 0201 0000fe4c",
        &v6,
        &ctx,
    );
}

#[test]
fn rfc8950_ipv4_nlri_with_ipv6_next_hop() {
    // Only on a session that negotiated the Extended Next Hop Encoding
    // capability for IPv4 unicast (the unit tests of mp_nlri.rs check the
    // refusal without it).
    let ctx = SessionContext {
        extended_next_hop: vec![bgp_proto::ExtendedNextHop {
            family: Family::IPV4_UNICAST,
            next_hop_afi: 2,
        }],
        ..ctx4()
    };
    let m = UpdateMessage {
        attributes: PathAttributes {
            origin: Some(Origin::Igp),
            as_path: seq(&[65100]),
            ..Default::default()
        },
        mp_reach: Some(MpReach {
            family: Family::IPV4_UNICAST,
            next_hop: nh("2001:db8::2"),
            nlri: vec![n("10.242.0.0/24"), n("10.12.225.247/32")],
        }),
        ..Default::default()
    };
    both_ways(
        "0000 002e
         80 0e 1e 0001 01 10 20010db8000000000000000000000002 00 18 0af200 20 0a0ce1f7
         400101 00 400206 0201 0000fe4c",
        &m,
        &ctx,
    );
}

#[test]
fn confederations_sets_reflection_and_unknown_attributes() {
    let ctx = ctx4();
    let path = AsPath {
        segments: vec![
            AsSegment {
                kind: AsSegmentType::ConfedSequence,
                asns: vec![65501, 65502],
            },
            AsSegment {
                kind: AsSegmentType::ConfedSet,
                asns: vec![65503],
            },
            AsSegment {
                kind: AsSegmentType::Sequence,
                asns: vec![65100],
            },
            AsSegment {
                kind: AsSegmentType::Set,
                asns: vec![1, 2],
            },
        ],
    };
    let m = UpdateMessage {
        attributes: PathAttributes {
            origin: Some(Origin::Egp),
            as_path: path,
            next_hop: Some("10.0.0.1".parse().unwrap()),
            med: Some(0),
            local_pref: Some(200),
            originator_id: Some("1.1.1.1".parse().unwrap()),
            cluster_list: vec!["2.2.2.2".parse().unwrap(), "3.3.3.3".parse().unwrap()],
            unknown: vec![
                RawAttribute {
                    flags: 0x80,
                    type_code: 12,
                    value: vec![],
                },
                RawAttribute {
                    flags: 0xe0,
                    type_code: 99,
                    value: vec![1, 2, 3],
                },
            ],
            ..Default::default()
        },
        nlri: vec![n("0.0.0.0/0")],
        ..Default::default()
    };
    both_ways(
        "0000 0057
         400101 01
         400220 03 02 0000ffdd 0000ffde 04 01 0000ffdf 02 01 0000fe4c 01 02 00000001 00000002
         400304 0a000001
         800404 00000000
         400504 000000c8
         800904 01010101
         800a08 02020202 03030303
         800c00
         e06303 010203
         00",
        &m,
        &ctx,
    );
}

#[test]
fn extended_length_when_over_255_octets() {
    let ctx = ctx4();
    let communities: Vec<Community> = (0..70).map(|i| Community(65000 << 16 | i)).collect();
    let m = UpdateMessage {
        attributes: PathAttributes {
            origin: Some(Origin::Igp),
            as_path: seq(&[65100]),
            next_hop: Some("10.0.0.1".parse().unwrap()),
            communities: communities.clone(),
            ..Default::default()
        },
        nlri: vec![n("10.0.0.0/8")],
        ..Default::default()
    };
    let mut hex_body =
        String::from("0000 0130 400101 00 400206 0201 0000fe4c 400304 0a000001 d0 08 0118");
    for c in &communities {
        hex_body.push_str(&format!("{:08x}", c.0));
    }
    hex_body.push_str("08 0a");
    both_ways(&hex_body, &m, &ctx);
}

#[test]
fn ipv6_end_of_rib_and_link_local_only_unreach() {
    let ctx = ctx4();
    both_ways(
        "0000 0006 800f03 0002 01",
        &UpdateMessage::end_of_rib(Family::IPV6_UNICAST),
        &ctx,
    );
    both_ways(
        "0000 0000",
        &UpdateMessage::end_of_rib(Family::IPV4_UNICAST),
        &ctx,
    );
    // Cilium-style mapped next hop stays as given.
    let body = hex::decode(
        "0000 0021 800e1e 0002 01 10 00000000000000000000ffffac120002 00 40 fd00001002410000"
            .replace(' ', ""),
    )
    .unwrap();
    let u = Update::decode(Bytes::from(body), &ctx).unwrap();
    let mp = u.mp_reach().unwrap();
    assert_eq!(
        mp.next_hop().global,
        "::ffff:172.18.0.2".parse::<IpAddr>().unwrap()
    );
    assert_eq!(mp.nlri().collect::<Vec<_>>(), vec![n("fd00:10:241::/64")]);
    // A missing ORIGIN/AS_PATH makes this one treat-as-withdraw.
    assert!(u.is_treat_as_withdraw());
}

#[test]
fn packer_output_matches_captured_messages_octet_for_octet() {
    use bgp_proto::wire::update::UpdatePacker;
    let ctx = ctx4();
    let packer = UpdatePacker::new(&ctx);
    // GoBGP's two-prefix announcement (classic NEXT_HOP + NLRI field).
    let msgs = packer
        .announce(
            &gobgp_attrs(Origin::Incomplete),
            None,
            Family::IPV4_UNICAST,
            &[n("10.241.1.0/24"), n("10.11.192.248/32")],
        )
        .unwrap();
    assert_eq!(msgs.len(), 1);
    assert_eq!(
        hex::encode(&msgs[0]),
        hex::encode(load("update_gobgp_02.hex"))
    );
    // BIRD writes MP_REACH_NLRI / MP_UNREACH_NLRI first with a 2-octet
    // length, as the packer does.
    let p = [n("2001:db8:100::/48"), n("2001:db8:200:1::/64")];
    let attrs = PathAttributes {
        next_hop: None,
        ..bird_attrs()
    };
    let msgs = packer
        .announce(&attrs, Some(nh("2001:db8::2")), Family::IPV6_UNICAST, &p)
        .unwrap();
    assert_eq!(
        hex::encode(&msgs[0]),
        hex::encode(load("update_bird_04.hex"))
    );
    let msgs = packer.withdraw(Family::IPV6_UNICAST, &p).unwrap();
    assert_eq!(
        hex::encode(&msgs[0]),
        hex::encode(load("update_bird_06.hex"))
    );
    let msgs = packer
        .withdraw(Family::IPV4_UNICAST, &[n("10.241.1.0/24")])
        .unwrap();
    assert_eq!(
        hex::encode(&msgs[0]),
        hex::encode(load("update_gobgp_06.hex"))
    );
    // End-of-RIB markers as BIRD sends them.
    let eor = packer.end_of_rib(Family::IPV4_UNICAST).unwrap();
    assert_eq!(hex::encode(eor), hex::encode(load("update_bird_03.hex")));
    let eor = packer.end_of_rib(Family::IPV6_UNICAST).unwrap();
    assert_eq!(hex::encode(eor), hex::encode(load("update_bird_05.hex")));
}

#[test]
fn packer_splits_at_the_message_limit() {
    use bgp_proto::wire::update::UpdatePacker;
    let ctx = ctx4();
    let nlri: Vec<Nlri> = (0..2000u32)
        .map(|i| Nlri::new(format!("10.{}.{}.0/24", i / 256, i % 256).parse().unwrap()))
        .collect();
    let attrs = gobgp_attrs(Origin::Igp);
    let msgs = UpdatePacker::new(&ctx)
        .announce(&attrs, None, Family::IPV4_UNICAST, &nlri)
        .unwrap();
    // 4096 - 19 (header) - 4 (length fields) - 20 (ORIGIN 4, AS_PATH 9,
    // NEXT_HOP 7) = 4053 octets: 1013 /24s of 4 octets, then 987 more.
    assert_eq!(
        msgs.iter().map(|m| m.len()).collect::<Vec<_>>(),
        vec![4095, 43 + 987 * 4]
    );
    let big = SessionContext {
        extended_message: true,
        ..ctx4()
    };
    let msgs = UpdatePacker::new(&big)
        .announce(&attrs, None, Family::IPV4_UNICAST, &nlri)
        .unwrap();
    assert_eq!(msgs.len(), 1);
    // Attributes too large for any message: an error, not a panic.
    let huge = PathAttributes {
        communities: vec![Community(1); 1100],
        ..attrs
    };
    assert!(UpdatePacker::new(&ctx)
        .announce(&huge, None, Family::IPV4_UNICAST, &nlri)
        .is_err());
    let mut out = BytesMut::new();
    let m = UpdateMessage {
        attributes: huge,
        nlri: nlri.clone(),
        ..Default::default()
    };
    assert!(encode_body(&m, &ctx, &mut out).is_err());
    assert!(out.is_empty());
}

/// A captured message on a 2-octet AS session (gobgpd <-> FRR with
/// `dont-capability-negotiate`).
fn captured2(file: &str, expected: &UpdateMessage, exact: bool) {
    let ctx = SessionContext::default();
    let msg = load(file);
    let body = &msg[19..];
    assert_eq!(&decode_ok(body, &ctx), expected, "{file}");
    let again = encode(expected, &ctx);
    assert_eq!(&decode_ok(&again, &ctx), expected, "{file} re-encoded");
    if exact {
        assert_eq!(hex::encode(&again), hex::encode(body), "{file} octets");
    }
}

fn gobgp2(path: &[u32], origin: Origin) -> PathAttributes {
    PathAttributes {
        as_path: seq(path),
        ..gobgp_attrs(origin)
    }
}

#[test]
fn gobgp_two_octet_session_sends_as_trans_and_as4_path() {
    // AS_PATH 23456 23456 65001 23456 + AS4_PATH with the real ASes.
    let m = UpdateMessage {
        attributes: gobgp2(
            &[4_200_000_001, 4_200_000_002, 65001, 4_200_000_003],
            Origin::Incomplete,
        ),
        nlri: vec![n("10.241.7.0/24")],
        ..Default::default()
    };
    captured2("update_gobgp2oct_01.hex", &m, true);
    let m = UpdateMessage {
        attributes: gobgp2(&[4_200_000_001, 65001, 65002], Origin::Incomplete),
        nlri: vec![n("10.241.8.0/24")],
        ..Default::default()
    };
    captured2("update_gobgp2oct_02.hex", &m, true);
    let m = UpdateMessage {
        attributes: PathAttributes {
            med: Some(10),
            communities: vec![Community(65100 << 16 | 1)],
            ..gobgp2(&[4_200_000_001], Origin::Igp)
        },
        nlri: vec![n("10.241.0.0/24")],
        ..Default::default()
    };
    captured2("update_gobgp2oct_03.hex", &m, true);
}

#[test]
fn frr_two_octet_session() {
    // FRR writes AS_PATH with the Extended Length bit even when short, so
    // only the value is compared; it sends MED 0 from `network`.
    let frr = |path: &[u32], origin: Origin| PathAttributes {
        origin: Some(origin),
        as_path: seq(path),
        next_hop: Some("10.99.0.4".parse().unwrap()),
        ..Default::default()
    };
    let m = UpdateMessage {
        attributes: PathAttributes {
            med: Some(0),
            ..frr(&[65200], Origin::Igp)
        },
        nlri: vec![n("10.12.225.247/32"), n("10.242.1.0/24")],
        ..Default::default()
    };
    captured2("update_frr2oct_01.hex", &m, false);
    // GoBGP's routes reflected back by FRR without AS4_PATH: AS_TRANS stays.
    let m = UpdateMessage {
        attributes: PathAttributes {
            communities: vec![Community(65100 << 16 | 1)],
            ..frr(&[65200, 23456], Origin::Igp)
        },
        nlri: vec![n("10.241.0.0/24")],
        ..Default::default()
    };
    captured2("update_frr2oct_02.hex", &m, false);
    let m = UpdateMessage {
        attributes: frr(&[65200, 23456, 23456, 65001, 23456], Origin::Incomplete),
        nlri: vec![n("10.241.7.0/24")],
        ..Default::default()
    };
    captured2("update_frr2oct_03.hex", &m, false);
    let m = UpdateMessage {
        attributes: frr(&[65200, 23456, 65001, 65002], Origin::Incomplete),
        nlri: vec![n("10.241.8.0/24")],
        ..Default::default()
    };
    captured2("update_frr2oct_04.hex", &m, false);
    // aggregate-address 10.242.0.0/16: ATOMIC_AGGREGATE and a 6-octet
    // AGGREGATOR.
    let m = UpdateMessage {
        attributes: PathAttributes {
            med: Some(0),
            atomic_aggregate: true,
            aggregator: Some(Aggregator {
                asn: 65200,
                addr: "10.99.0.4".parse().unwrap(),
            }),
            ..frr(&[65200], Origin::Igp)
        },
        nlri: vec![n("10.242.0.0/16")],
        ..Default::default()
    };
    captured2("update_frr2oct_05.hex", &m, false);
    let m = UpdateMessage {
        withdrawn: vec![n("10.241.8.0/24")],
        ..Default::default()
    };
    captured2("update_frr2oct_06.hex", &m, true);
}
