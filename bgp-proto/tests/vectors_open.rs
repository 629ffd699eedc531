//! Wire vectors for everything but UPDATE bodies: OPENs captured from real
//! GoBGP (configured like Cilium), BIRD 2 and FRR (see tests/data/README.md),
//! hand-built vectors for RFC 9072 extended parameters, AS_TRANS, every
//! NOTIFICATION code, ROUTE-REFRESH subtypes and header errors. The
//! property tests are in proptest_codec.rs.
//!
//! Every vector is checked both ways where the encoding is canonical:
//! `decode(bytes) == value` with all input consumed by the framer, and
//! `encode(value) == bytes`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use bgp_proto::error::{DecodeError, EncodeError};
use bgp_proto::msg::open::AS_TRANS;
use bgp_proto::wire::{decode_message, encode_message, split_frame, Decoded};
use bgp_proto::{
    AddPathMode, Capability, ExtendedNextHop, Family, GracefulRestart, GracefulRestartFamily,
    Message, Notification, OpenMessage, RouteRefresh, RouteRefreshSubtype, SessionContext,
    UpdateMessage,
};
use bytes::{Bytes, BytesMut};
use std::net::Ipv4Addr;

fn ctx() -> SessionContext {
    SessionContext::default()
}

fn data(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect(&path);
    hex::decode(text.trim()).expect("hex")
}

/// Frames `bytes` (asserting it is exactly one message and all of it is
/// consumed), then decodes it.
fn decode_one(bytes: &[u8]) -> Result<Decoded, DecodeError> {
    let mut buf = BytesMut::from(bytes);
    let frame = split_frame(&mut buf, &ctx())?.expect("whole message");
    assert!(buf.is_empty(), "{} octets left after the frame", buf.len());
    decode_message(frame, &ctx())
}

fn encode(msg: &Message) -> Vec<u8> {
    let mut out = BytesMut::new();
    encode_message(msg, &ctx(), &mut out).unwrap();
    out.to_vec()
}

fn decode_open(bytes: &[u8]) -> OpenMessage {
    match decode_one(bytes).unwrap() {
        Decoded::Open(o) => o,
        other => panic!("not an OPEN: {other:?}"),
    }
}

/// Checks `bytes` <-> `msg` both ways.
fn both_ways(bytes: &[u8], msg: Message) {
    let decoded = match decode_one(bytes).unwrap() {
        Decoded::Open(o) => Message::Open(o),
        Decoded::Notification(n) => Message::Notification(n),
        Decoded::Keepalive => Message::Keepalive,
        Decoded::RouteRefresh(r) => Message::RouteRefresh(r),
        Decoded::Update(u) => Message::Update(u.to_owned()),
    };
    assert_eq!(decoded, msg);
    assert_eq!(hex::encode(encode(&msg)), hex::encode(bytes));
}

fn mp(f: Family) -> Capability {
    Capability::Multiprotocol(f)
}

const V4: Family = Family::IPV4_UNICAST;
const V6: Family = Family::IPV6_UNICAST;

// ===== OPENs from real speakers =====

#[test]
fn gobgpd_configured_like_cilium() {
    let bytes = data("gobgpd_cilium_open.hex");
    let expected = OpenMessage {
        version: 4,
        my_as: 65100,
        hold_time: 90,
        bgp_id: Ipv4Addr::new(172, 18, 0, 2),
        capabilities: vec![
            Capability::RouteRefresh,
            // GoBGP sends FQDN by default: the host's name, empty domain.
            Capability::Fqdn {
                hostname: "vm".into(),
                domain: String::new(),
            },
            mp(V4),
            mp(V6),
            Capability::FourOctetAs(65100),
            Capability::GracefulRestart(GracefulRestart {
                restart_state: false,
                notification: true,
                restart_time: 120,
                families: vec![
                    GracefulRestartFamily {
                        family: V4,
                        forwarding_preserved: false,
                    },
                    GracefulRestartFamily {
                        family: V6,
                        forwarding_preserved: false,
                    },
                ],
            }),
            Capability::ExtendedNextHop(vec![ExtendedNextHop {
                family: V4,
                next_hop_afi: 2,
            }]),
        ],
        other_params: vec![],
        extended_params: false,
    };
    assert_eq!(decode_open(&bytes).asn(), 65100);
    // GoBGP puts all capabilities in one parameter, as we do.
    both_ways(&bytes, Message::Open(expected));
}

#[test]
fn bird2() {
    let bytes = data("bird2_open.hex");
    let expected = OpenMessage {
        version: 4,
        my_as: 65000,
        hold_time: 90,
        bgp_id: Ipv4Addr::new(172, 18, 0, 5),
        capabilities: vec![
            mp(V4),
            mp(V6),
            Capability::RouteRefresh,
            // GR "aware": restart time, no families.
            Capability::GracefulRestart(GracefulRestart {
                restart_state: false,
                notification: false,
                restart_time: 120,
                families: vec![],
            }),
            Capability::FourOctetAs(65000),
            Capability::EnhancedRouteRefresh,
            // Long-lived GR, unknown to us: kept raw.
            Capability::Unknown {
                code: 71,
                value: vec![],
            },
        ],
        other_params: vec![],
        extended_params: false,
    };
    both_ways(&bytes, Message::Open(expected));
}

#[test]
fn frr_one_parameter_per_capability() {
    let bytes = data("frr_open.hex");
    let open = decode_open(&bytes);
    let expected = OpenMessage {
        version: 4,
        my_as: 65000,
        hold_time: 180,
        bgp_id: Ipv4Addr::new(172, 18, 0, 5),
        capabilities: vec![
            mp(V4),
            mp(V6),
            Capability::RouteRefreshCisco,
            Capability::RouteRefresh,
            Capability::EnhancedRouteRefresh,
            Capability::FourOctetAs(65000),
            Capability::ExtendedMessage,
            Capability::AddPath(vec![(V4, AddPathMode::Receive), (V6, AddPathMode::Receive)]),
            Capability::Fqdn {
                hostname: "codeccore-frr".into(),
                domain: String::new(),
            },
            Capability::GracefulRestart(GracefulRestart {
                restart_state: true,
                notification: true,
                restart_time: 120,
                families: vec![],
            }),
            Capability::Unknown {
                code: 71,
                value: vec![0, 1, 1, 0x80, 0, 0, 0, 0, 2, 1, 0x80, 0, 0, 0],
            },
        ],
        other_params: vec![],
        extended_params: false,
    };
    assert_eq!(open, expected);
    // We group the capabilities in one parameter: 10 parameter headers
    // (2 octets each) shorter, and it decodes to the same value.
    let ours = encode(&Message::Open(open.clone()));
    assert_eq!(ours.len(), bytes.len() - 20);
    assert_eq!(decode_open(&ours), open);
    assert_eq!(&ours[19..28], &bytes[19..28]);
}

// ===== whole sessions from real speakers =====

/// The messages of a capture with one message per line.
fn session(name: &str) -> Vec<Vec<u8>> {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect(&path);
    text.lines()
        .map(|l| hex::decode(l.trim()).expect("hex"))
        .collect()
}

/// Checks an End-of-RIB UPDATE decodes as such and that our encoding of
/// the End-of-RIB for `family` decodes to the same.
fn assert_eor(bytes: &[u8], family: Family) {
    let Decoded::Update(u) = decode_one(bytes).unwrap() else {
        panic!("not an UPDATE")
    };
    assert_eq!(u.end_of_rib(), Some(family));
    let ours = encode(&Message::Update(UpdateMessage::end_of_rib(family)));
    let Decoded::Update(o) = decode_one(&ours).unwrap() else {
        panic!("not an UPDATE")
    };
    assert_eq!(o.end_of_rib(), Some(family));
}

#[test]
fn gobgpd_session_until_sigterm() {
    let msgs = session("gobgpd_session.hex");
    assert_eq!(msgs.len(), 5);
    assert_eq!(msgs[0], data("gobgpd_cilium_open.hex"));
    both_ways(&msgs[1], Message::Keepalive);
    assert_eor(&msgs[2], V4);
    assert_eor(&msgs[3], V6);
    // A stopping GoBGP sends Cease / Peer De-configured, not a Hard Reset.
    let cease = Notification::new(6, 3, vec![]);
    assert!(!cease.is_hard_reset());
    both_ways(&msgs[4], Message::Notification(cease));
}

#[test]
fn bird2_enhanced_route_refresh_and_shutdown_communication() {
    let msgs = session("bird2_session.hex");
    assert_eq!(msgs.len(), 7);
    let open = decode_open(&msgs[0]);
    assert_eq!(
        (open.asn(), open.bgp_id),
        (65100, Ipv4Addr::new(172, 18, 0, 2))
    );
    both_ways(&msgs[1], Message::Keepalive);
    assert_eor(&msgs[2], V4);
    assert_eor(&msgs[3], V6);
    // Our ROUTE-REFRESH is answered with BoRR ... EoRR (RFC 7313 4).
    let rr = |subtype| {
        Message::RouteRefresh(RouteRefresh {
            family: V4,
            subtype,
        })
    };
    both_ways(&msgs[4], rr(RouteRefreshSubtype::Begin));
    both_ways(&msgs[5], rr(RouteRefreshSubtype::End));
    let n = Notification::cease_with_message(2, "rbgpd test");
    assert_eq!(
        n.describe(),
        "Cease / Administrative Shutdown: \"rbgpd test\""
    );
    both_ways(&msgs[6], Message::Notification(n));
}

// ===== hand-built OPENs =====

const OPEN_HEAD: &str = "ffffffffffffffffffffffffffffffff";

#[test]
fn as_trans_with_four_octet_as() {
    // My AS = 23456 (AS_TRANS), 4-octet AS capability 4200000001.
    let tail = "0025 01 04 5ba0 00b4 c0000201 08 02 06 41 04 fa56ea01".replace(' ', "");
    let bytes = hex::decode(format!("{OPEN_HEAD}{tail}")).unwrap();
    let open = OpenMessage {
        version: 4,
        my_as: AS_TRANS,
        hold_time: 180,
        bgp_id: Ipv4Addr::new(192, 0, 2, 1),
        capabilities: vec![Capability::FourOctetAs(4_200_000_001)],
        other_params: vec![],
        extended_params: false,
    };
    assert_eq!(OpenMessage::my_as_for(4_200_000_001), AS_TRANS);
    assert_eq!(decode_open(&bytes).asn(), 4_200_000_001);
    both_ways(&bytes, Message::Open(open));
}

#[test]
fn rfc9072_extended_optional_parameters() {
    // Non-Ext OP Len 255, Non-Ext OP Type 255, Extended Opt. Parm. Length
    // 7, one Capabilities parameter with a 2-octet length of 4 holding
    // route refresh (2/0) and extended message (6/0).
    let hex = format!("{OPEN_HEAD}0027010400010003c0000201ffff000702000402000600");
    let bytes = hex::decode(hex).unwrap();
    let open = OpenMessage {
        version: 4,
        my_as: 1,
        hold_time: 3,
        bgp_id: Ipv4Addr::new(192, 0, 2, 1),
        capabilities: vec![Capability::RouteRefresh, Capability::ExtendedMessage],
        other_params: vec![],
        extended_params: true,
    };
    both_ways(&bytes, Message::Open(open.clone()));

    // Without the flag the same OPEN is encoded the RFC 4271 way...
    let classic = encode(&Message::Open(OpenMessage {
        extended_params: false,
        ..open
    }));
    assert_eq!(hex::encode(&classic[28..]), "06020402000600");

    // ...unless the parameters exceed 255 octets: 60 MP capabilities of 6
    // octets each need the extended format.
    let many: Vec<Capability> = (0..60)
        .map(|i| Capability::Multiprotocol(Family::new(1, i as u8 + 10)))
        .collect();
    let big = OpenMessage {
        version: 4,
        my_as: 1,
        hold_time: 90,
        bgp_id: Ipv4Addr::new(192, 0, 2, 1),
        capabilities: many,
        other_params: vec![],
        extended_params: false,
    };
    let wire = encode(&Message::Open(big.clone()));
    assert_eq!(&wire[28..30], &[255, 255]);
    assert_eq!(u16::from_be_bytes([wire[30], wire[31]]), 3 + 360);
    assert_eq!(wire.len(), 19 + 10 + 3 + 3 + 360);
    assert_eq!(
        decode_open(&wire),
        OpenMessage {
            extended_params: true,
            ..big
        }
    );
}

#[test]
fn hold_time_one_still_decodes() {
    let bytes = hex::decode(format!("{OPEN_HEAD}001d0104fde80001c000020100")).unwrap();
    assert_eq!(decode_open(&bytes).hold_time, 1);
}

#[test]
fn open_errors_map_to_notifications() {
    let open = |tail: &str| hex::decode(format!("{OPEN_HEAD}{tail}")).unwrap();
    let err = |b: &[u8]| decode_one(b).unwrap_err();
    // Version 3.
    let e = err(&open("001d0103fde8005ac000020100"));
    assert_eq!(e.notification(), Notification::new(2, 1, vec![0, 4]));
    // Optional parameter type 1 (authentication): unsupported.
    let e = err(&open("00200104fde8005ac0000201030101ff"));
    assert_eq!(
        e,
        DecodeError::UnsupportedOptionalParameter {
            offset: 29,
            param_type: 1
        }
    );
    assert_eq!(e.notification(), Notification::new(2, 4, vec![]));
    // 4-octet AS capability of length 2: malformed, 2/0.
    let e = err(&open("00230104fde8005ac0000201060204410200ff"));
    assert_eq!(e.notification(), Notification::new(2, 0, vec![]));
    assert!(matches!(
        e,
        DecodeError::MalformedCapability {
            offset: 31,
            code: 65,
            ..
        }
    ));
    // A capability overrunning its parameter.
    let e = err(&open("00210104fde8005ac00002010402024104"));
    assert!(matches!(
        e,
        DecodeError::MalformedCapability {
            offset: 31,
            code: 65,
            ..
        }
    ));
    // Optional Parameters Length 5 in a message with 4 octets of them.
    let e = err(&open("00210104fde8005ac00002010502020200"));
    assert_eq!(e.notification(), Notification::new(1, 2, vec![0, 0x21]));
    // Two parameters, the second malformed.
    let e = err(&open("00250104fde8005ac0000201080202020002024103"));
    assert!(matches!(
        e,
        DecodeError::MalformedCapability {
            offset: 35,
            code: 65,
            ..
        }
    ));
    assert_eq!(
        e.to_string(),
        "malformed capability 65 at offset 35: capability overruns its optional parameter"
    );
}

#[test]
fn open_longer_than_4096_is_refused_even_with_extended_messages() {
    let caps = (0..1100).map(|_| Capability::FourOctetAs(1)).collect();
    let open = OpenMessage {
        version: 4,
        my_as: 1,
        hold_time: 90,
        bgp_id: Ipv4Addr::new(192, 0, 2, 1),
        capabilities: caps,
        other_params: vec![],
        extended_params: false,
    };
    let ext = SessionContext {
        extended_message: true,
        ..ctx()
    };
    let mut out = BytesMut::from(&b"xy"[..]);
    let e = encode_message(&Message::Open(open), &ext, &mut out).unwrap_err();
    assert!(matches!(e, EncodeError::MessageTooLong { max: 4096, .. }));
    assert_eq!(&out[..], b"xy", "nothing is left behind on error");
}

// ===== NOTIFICATION, KEEPALIVE, ROUTE-REFRESH =====

#[test]
fn notification_of_every_code() {
    let borr = hex::decode(format!("{OPEN_HEAD}00180500010101ff")).unwrap();
    let cases: Vec<(String, Notification)> = vec![
        (
            "0017 03 01 02 0011".into(),
            Notification::new(1, 2, vec![0, 17]),
        ),
        ("0015 03 01 01".into(), Notification::new(1, 1, vec![])),
        (
            "0016 03 01 03 ff".into(),
            Notification::new(1, 3, vec![0xff]),
        ),
        (
            "0017 03 02 01 0004".into(),
            Notification::new(2, 1, vec![0, 4]),
        ),
        ("0015 03 02 02".into(), Notification::new(2, 2, vec![])),
        ("0016 03 03 03 01".into(), Notification::new(3, 3, vec![1])),
        ("0015 03 04 00".into(), Notification::new(4, 0, vec![])),
        ("0015 03 05 03".into(), Notification::new(5, 3, vec![])),
        (
            "001b 03 06 02 05 6162636465".into(),
            Notification::cease_with_message(2, "abcde"),
        ),
        ("0015 03 06 09".into(), Notification::new(6, 9, vec![])),
        (
            format!("002d 03 07 01 {}", hex::encode(&borr)),
            Notification::new(7, 1, borr.clone()),
        ),
    ];
    for (tail, n) in cases {
        let bytes = hex::decode(format!("{OPEN_HEAD}{}", tail.replace(' ', ""))).unwrap();
        both_ways(&bytes, Message::Notification(n));
    }
    let n = Notification::cease_with_message(2, "abcde");
    assert_eq!(n.shutdown_message(), Some("abcde"));
}

#[test]
fn keepalive_is_exactly_19_octets() {
    let ka = hex::decode(format!("{OPEN_HEAD}001304")).unwrap();
    both_ways(&ka, Message::Keepalive);
    let long = hex::decode(format!("{OPEN_HEAD}00140400")).unwrap();
    let e = decode_one(&long).unwrap_err();
    assert_eq!(
        e,
        DecodeError::BadMessageLength {
            offset: 16,
            len: 20
        }
    );
    assert_eq!(e.notification(), Notification::new(1, 2, vec![0, 20]));
}

#[test]
fn route_refresh_subtypes() {
    for (sub, subtype) in [
        (0u8, RouteRefreshSubtype::Request),
        (1, RouteRefreshSubtype::Begin),
        (2, RouteRefreshSubtype::End),
        (9, RouteRefreshSubtype::Reserved(9)),
    ] {
        // AFI 2 (IPv6), subtype, SAFI 1.
        let bytes = hex::decode(format!("{OPEN_HEAD}001705 0002{sub:02x}01").replace(' ', ""));
        let bytes = bytes.unwrap();
        both_ways(
            &bytes,
            Message::RouteRefresh(RouteRefresh {
                family: V6,
                subtype,
            }),
        );
    }
}

#[test]
fn route_refresh_length_errors() {
    // RFC 7313 5: a BoRR of 24 octets is 7/1 with the whole message.
    let borr = hex::decode(format!("{OPEN_HEAD}00180500010101ff")).unwrap();
    let e = decode_one(&borr).unwrap_err();
    assert_eq!(e.notification(), Notification::new(7, 1, borr.clone()));
    assert_eq!(
        e.to_string(),
        "invalid ROUTE-REFRESH length 24 at offset 16"
    );
    // A normal request with trailing (ORF) octets is accepted, ORF ignored.
    let req = hex::decode(format!("{OPEN_HEAD}00180500010001ff")).unwrap();
    assert!(matches!(decode_one(&req), Ok(Decoded::RouteRefresh(_))));
    // Shorter than 23: header-level Bad Message Length.
    let short = hex::decode(format!("{OPEN_HEAD}001605000100")).unwrap();
    assert_eq!(
        decode_one(&short).unwrap_err().notification(),
        Notification::new(1, 2, vec![0, 22])
    );
}

// ===== header and framing =====

#[test]
fn header_errors() {
    let mut bytes = hex::decode(format!("{OPEN_HEAD}001304")).unwrap();
    bytes[15] = 0xfe;
    let e = decode_one(&bytes).unwrap_err();
    assert_eq!(e, DecodeError::ConnectionNotSynchronized { offset: 15 });
    assert_eq!(e.notification(), Notification::new(1, 1, vec![]));

    let e = decode_one(&hex::decode(format!("{OPEN_HEAD}001107")).unwrap()).unwrap_err();
    assert_eq!(e.to_string(), "bad message length 17 at offset 16");
    let e = decode_one(&hex::decode(format!("{OPEN_HEAD}001307")).unwrap()).unwrap_err();
    assert_eq!(e.notification(), Notification::new(1, 3, vec![7]));
    let e = decode_one(&hex::decode(format!("{OPEN_HEAD}100102")).unwrap()).unwrap_err();
    assert_eq!(e.notification(), Notification::new(1, 2, vec![0x10, 0x01]));
}

#[test]
fn frame_length_must_match_the_header() {
    let mut ka = hex::decode(format!("{OPEN_HEAD}001304")).unwrap();
    ka.push(0);
    let e = decode_message(Bytes::from(ka), &ctx()).unwrap_err();
    assert_eq!(
        e,
        DecodeError::BadMessageLength {
            offset: 16,
            len: 19
        }
    );
    let e = decode_message(Bytes::from_static(&[0xff; 10]), &ctx()).unwrap_err();
    assert_eq!(
        e,
        DecodeError::BadMessageLength {
            offset: 16,
            len: 10
        }
    );
}

#[test]
fn framing_splits_a_stream_of_real_messages() {
    let mut stream = data("gobgpd_cilium_open.hex");
    stream.extend(data("frr_open.hex"));
    stream.extend(hex::decode(format!("{OPEN_HEAD}001304")).unwrap());
    let mut buf = BytesMut::new();
    let mut frames = Vec::new();
    // Feed three octets at a time.
    for chunk in stream.chunks(3) {
        buf.extend_from_slice(chunk);
        while let Some(f) = split_frame(&mut buf, &ctx()).unwrap() {
            frames.push(decode_message(f, &ctx()).unwrap().msg_type());
        }
    }
    assert_eq!(frames, vec![1, 1, 4]);
    assert!(buf.is_empty());
}

#[test]
fn update_goes_through_the_update_codec() {
    // End-of-RIB for IPv4 unicast: an empty UPDATE.
    let eor = hex::decode(format!("{OPEN_HEAD}00170200000000")).unwrap();
    both_ways(&eor, Message::Update(UpdateMessage::end_of_rib(V4)));
    match decode_one(&eor).unwrap() {
        Decoded::Update(u) => assert_eq!(u.end_of_rib(), Some(V4)),
        other => panic!("{other:?}"),
    }
    // Withdrawn Routes Length overrunning the message: an UPDATE error.
    let bad = hex::decode(format!("{OPEN_HEAD}00170200050000")).unwrap();
    let e = decode_one(&bad).unwrap_err();
    assert!(matches!(e, DecodeError::Update(_)), "{e:?}");
    assert_eq!(e.notification().code, 3);
}
