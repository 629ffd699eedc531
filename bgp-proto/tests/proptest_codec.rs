//! Property tests for everything but UPDATE bodies: encoding then
//! decoding gives the value back for arbitrary valid OPEN, NOTIFICATION,
//! ROUTE-REFRESH and KEEPALIVE messages; the framer finds the same
//! messages however the stream is cut; decoding arbitrary bodies never
//! panics.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use bgp_proto::wire::{decode_message, encode_message, split_frame, Decoded};
use bgp_proto::{
    AddPathMode, Capability, ExtendedNextHop, Family, GracefulRestart, GracefulRestartFamily,
    Message, Notification, OpenMessage, RouteRefresh, RouteRefreshSubtype, SessionContext,
};
use bytes::{Bytes, BytesMut};
use std::net::Ipv4Addr;

fn ctx() -> SessionContext {
    SessionContext::default()
}

fn encode(msg: &Message) -> Vec<u8> {
    let mut out = BytesMut::new();
    encode_message(msg, &ctx(), &mut out).unwrap();
    out.to_vec()
}

/// Frames `bytes` (exactly one message, all consumed) and decodes it.
fn decode_one(bytes: &[u8]) -> Decoded {
    let mut buf = BytesMut::from(bytes);
    let frame = split_frame(&mut buf, &ctx())
        .unwrap()
        .expect("whole message");
    assert!(buf.is_empty());
    decode_message(frame, &ctx()).unwrap()
}

/// The owned form of a decoded non-UPDATE message.
fn owned(d: Decoded) -> Message {
    match d {
        Decoded::Open(o) => Message::Open(o),
        Decoded::Notification(n) => Message::Notification(n),
        Decoded::Keepalive => Message::Keepalive,
        Decoded::RouteRefresh(r) => Message::RouteRefresh(r),
        Decoded::Update(u) => Message::Update(u.to_owned()),
    }
}

use proptest::prelude::*;

fn family() -> impl Strategy<Value = Family> {
    (prop_oneof![Just(1u16), Just(2), any::<u16>()], any::<u8>())
        .prop_map(|(a, s)| Family::new(a, s))
}

const KNOWN: [u8; 10] = [1, 2, 5, 6, 64, 65, 69, 70, 73, 128];

fn capability() -> impl Strategy<Value = Capability> {
    let mode = prop_oneof![
        Just(AddPathMode::Receive),
        Just(AddPathMode::Send),
        Just(AddPathMode::Both)
    ];
    let gr_family = (family(), any::<bool>()).prop_map(|(family, f)| GracefulRestartFamily {
        family,
        forwarding_preserved: f,
    });
    prop_oneof![
        family().prop_map(Capability::Multiprotocol),
        Just(Capability::RouteRefresh),
        Just(Capability::RouteRefreshCisco),
        Just(Capability::ExtendedMessage),
        Just(Capability::EnhancedRouteRefresh),
        any::<u32>().prop_map(Capability::FourOctetAs),
        (
            any::<bool>(),
            any::<bool>(),
            0u16..4096,
            prop::collection::vec(gr_family, 0..4)
        )
            .prop_map(
                |(r, n, t, families)| Capability::GracefulRestart(GracefulRestart {
                    restart_state: r,
                    notification: n,
                    restart_time: t,
                    families,
                })
            ),
        prop::collection::vec((family(), mode), 0..4).prop_map(Capability::AddPath),
        prop::collection::vec(
            (family(), any::<u16>()).prop_map(|(family, next_hop_afi)| ExtendedNextHop {
                family,
                next_hop_afi
            }),
            0..4
        )
        .prop_map(Capability::ExtendedNextHop),
        ("[a-z0-9.-]{0,30}", "[a-zé.]{0,20}")
            .prop_map(|(hostname, domain)| Capability::Fqdn { hostname, domain }),
        (
            any::<u8>().prop_filter("unknown code", |c| !KNOWN.contains(c)),
            prop::collection::vec(any::<u8>(), 0..40)
        )
            .prop_map(|(code, value)| Capability::Unknown { code, value }),
    ]
}

fn open() -> impl Strategy<Value = OpenMessage> {
    (
        any::<u16>(),
        any::<u16>(),
        any::<u32>(),
        prop::collection::vec(capability(), 0..40),
        any::<bool>(),
    )
        .prop_map(
            |(my_as, hold_time, id, capabilities, extended_params)| OpenMessage {
                version: 4,
                my_as,
                hold_time,
                bgp_id: Ipv4Addr::from(id),
                capabilities,
                other_params: vec![],
                extended_params,
            },
        )
}

fn subtype() -> impl Strategy<Value = RouteRefreshSubtype> {
    any::<u8>().prop_map(RouteRefreshSubtype::from_code)
}

fn round_trip(msg: &Message) -> (Vec<u8>, Decoded) {
    let wire = encode(msg);
    let decoded = decode_one(&wire);
    (wire, decoded)
}

/// Any non-UPDATE message.
fn message() -> impl Strategy<Value = Message> {
    prop_oneof![
        open().prop_map(Message::Open),
        (
            any::<u8>(),
            any::<u8>(),
            prop::collection::vec(any::<u8>(), 0..50)
        )
            .prop_map(|(c, s, d)| Message::Notification(Notification::new(c, s, d))),
        Just(Message::Keepalive),
        (family(), subtype())
            .prop_map(|(family, subtype)| Message::RouteRefresh(RouteRefresh { family, subtype })),
    ]
}

proptest! {
    #[test]
    fn open_round_trips(o in open()) {
        let (wire, decoded) = round_trip(&Message::Open(o.clone()));
        let Decoded::Open(d) = decoded else { panic!("not an OPEN") };
        // The extended format is used when asked for, or when the
        // parameters do not fit 255 octets (message > 19+10+1+255).
        prop_assert_eq!(d.extended_params, o.extended_params || wire.len() > 285);
        prop_assert_eq!(d, OpenMessage { extended_params: wire.len() > 285 || o.extended_params, ..o });
    }

    #[test]
    fn notification_round_trips(code in any::<u8>(), sub in any::<u8>(),
                                data in prop::collection::vec(any::<u8>(), 0..200)) {
        let n = Notification::new(code, sub, data);
        let (wire, decoded) = round_trip(&Message::Notification(n.clone()));
        prop_assert_eq!(wire.len(), 21 + n.data.len());
        let Decoded::Notification(d) = decoded else { panic!("not a NOTIFICATION") };
        prop_assert_eq!(d, n);
    }

    #[test]
    fn route_refresh_round_trips(family in family(), subtype in subtype()) {
        let rr = RouteRefresh { family, subtype };
        let (wire, decoded) = round_trip(&Message::RouteRefresh(rr));
        prop_assert_eq!(wire.len(), 23);
        let Decoded::RouteRefresh(d) = decoded else { panic!("not a ROUTE-REFRESH") };
        prop_assert_eq!(d, rr);
    }

    #[test]
    fn keepalive_round_trips(_x in 0u8..1) {
        let (wire, decoded) = round_trip(&Message::Keepalive);
        prop_assert_eq!(wire.len(), 19);
        prop_assert!(matches!(decoded, Decoded::Keepalive));
    }

    #[test]
    fn framing_is_independent_of_how_the_stream_is_cut(
        msgs in prop::collection::vec(message(), 1..8), chunk in 1usize..200
    ) {
        let msgs: Vec<Message> = msgs
            .into_iter()
            .map(|m| match m {
                // Normalise to what decoding gives back.
                Message::Open(o) => owned(decode_one(&encode(&Message::Open(o)))),
                m => m,
            })
            .collect();
        let stream: Vec<u8> = msgs.iter().flat_map(encode).collect();
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        for part in stream.chunks(chunk) {
            buf.extend_from_slice(part);
            while let Some(frame) = split_frame(&mut buf, &ctx()).unwrap() {
                got.push(owned(decode_message(frame, &ctx()).unwrap()));
            }
        }
        prop_assert!(buf.is_empty());
        prop_assert_eq!(got, msgs);
    }

    #[test]
    fn decoding_arbitrary_bodies_never_panics(
        t in 1u8..=5, body in prop::collection::vec(any::<u8>(), 0..300)
    ) {
        let mut frame = vec![0xff; 16];
        frame.extend_from_slice(&((19 + body.len()) as u16).to_be_bytes());
        frame.push(t);
        frame.extend_from_slice(&body);
        if let Err(e) = decode_message(Bytes::from(frame), &ctx()) {
            let _ = e.notification();
            prop_assert!(!e.to_string().is_empty());
        }
    }
}
