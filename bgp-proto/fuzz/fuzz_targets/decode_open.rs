//! Decodes arbitrary octets as the body of an OPEN (a header is put in
//! front), and checks that a decoded OPEN survives encode + decode.
#![no_main]

use bgp_proto::wire::{decode_message, encode_message, Decoded};
use bgp_proto::{Message, SessionContext};
use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    let ctx = SessionContext::default();
    let Ok(len) = u16::try_from(19 + body.len()) else {
        return;
    };
    let mut frame = BytesMut::from(&[0xffu8; 16][..]);
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(&[1]);
    frame.extend_from_slice(body);
    match decode_message(frame.freeze(), &ctx) {
        Ok(Decoded::Open(open)) => {
            let mut out = BytesMut::new();
            encode_message(&Message::Open(open.clone()), &ctx, &mut out)
                .expect("a decoded OPEN re-encodes");
            match decode_message(out.freeze(), &ctx) {
                Ok(Decoded::Open(again)) => {
                    assert_eq!(open.capabilities, again.capabilities);
                    assert_eq!(open.bgp_id, again.bgp_id);
                }
                other => panic!("re-encoded OPEN decodes to {other:?}"),
            }
        }
        Ok(other) => panic!("OPEN decoded as {other:?}"),
        Err(e) => {
            let _ = e.notification();
            let _ = e.to_string();
        }
    }
});
