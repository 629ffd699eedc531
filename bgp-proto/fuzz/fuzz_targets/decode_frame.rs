//! Feeds arbitrary octets through the framer and decodes every frame it
//! hands out. The first octet picks the session context. Checks: no
//! panic; every error maps to a NOTIFICATION; a decoded non-UPDATE message
//! re-encodes to a message that decodes to the same value.
#![no_main]

use bgp_proto::wire::{decode_message, encode_message, split_frame, Decoded};
use bgp_proto::{Message, SessionContext};
use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((flags, stream)) = data.split_first() else {
        return;
    };
    let ctx = SessionContext {
        four_octet_as: flags & 1 != 0,
        extended_message: flags & 2 != 0,
        ..Default::default()
    };
    let mut buf = BytesMut::new();
    // Feed in chunks whose size comes from the flags, as a socket would.
    let chunk = usize::from(flags >> 2) + 1;
    for part in stream.chunks(chunk) {
        buf.extend_from_slice(part);
        loop {
            match split_frame(&mut buf, &ctx) {
                Ok(Some(frame)) => {
                    assert_eq!(
                        frame.len(),
                        usize::from(u16::from_be_bytes([frame[16], frame[17]]))
                    );
                    match decode_message(frame, &ctx) {
                        Ok(d) => check_round_trip(d, &ctx),
                        Err(e) => {
                            let _ = e.notification();
                        }
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    let _ = e.notification();
                    return;
                }
            }
        }
    }
});

fn check_round_trip(d: Decoded, ctx: &SessionContext) {
    let msg = match d {
        Decoded::Open(o) => Message::Open(o),
        Decoded::Notification(n) => Message::Notification(n),
        Decoded::Keepalive => Message::Keepalive,
        Decoded::RouteRefresh(r) => Message::RouteRefresh(r),
        Decoded::Update(_) => return,
    };
    let mut out = BytesMut::new();
    encode_message(&msg, ctx, &mut out).expect("a decoded message re-encodes");
    let again = decode_message(out.freeze(), ctx).expect("a re-encoded message decodes");
    let again = match again {
        Decoded::Open(o) => Message::Open(o),
        Decoded::Notification(n) => Message::Notification(n),
        Decoded::Keepalive => Message::Keepalive,
        Decoded::RouteRefresh(r) => Message::RouteRefresh(r),
        Decoded::Update(_) => panic!("type changed"),
    };
    match (&msg, &again) {
        // The parameter format may change (classic <-> RFC 9072) when
        // capabilities are regrouped; everything else must be equal.
        (Message::Open(a), Message::Open(b)) => {
            assert_eq!(a.capabilities, b.capabilities);
            assert_eq!(
                (a.my_as, a.hold_time, a.bgp_id),
                (b.my_as, b.hold_time, b.bgp_id)
            );
        }
        _ => assert_eq!(msg, again),
    }
}
