//! Decodes arbitrary octets as the body of an UPDATE through the full
//! message decoder (a header is put in front). The first octet picks the
//! session context (4-octet AS, ADD-PATH, extended messages, RFC 8950
//! extended next hop for IPv4 unicast).
#![no_main]

use bgp_proto::wire::{decode_message, Decoded};
use bgp_proto::{Family, SessionContext};
use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((flags, body)) = data.split_first() else {
        return;
    };
    let families = |bit: u8| {
        if flags & bit != 0 {
            vec![Family::IPV4_UNICAST, Family::IPV6_UNICAST]
        } else {
            vec![]
        }
    };
    let ctx = SessionContext {
        four_octet_as: flags & 1 != 0,
        extended_message: flags & 2 != 0,
        add_path_receive: families(4),
        add_path_send: families(8),
        extended_next_hop: if flags & 16 != 0 {
            vec![bgp_proto::ExtendedNextHop {
                family: Family::IPV4_UNICAST,
                next_hop_afi: 2,
            }]
        } else {
            Vec::new()
        },
        ..Default::default()
    };
    let Ok(len) = u16::try_from(19 + body.len()) else {
        return;
    };
    let mut frame = BytesMut::from(&[0xffu8; 16][..]);
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(&[2]);
    frame.extend_from_slice(body);
    match decode_message(frame.freeze(), &ctx) {
        Ok(Decoded::Update(u)) => {
            // Every accessor must work on a validated UPDATE.
            let _ = u.withdrawn().count();
            let _ = u.nlri().count();
            let _ = u.attributes();
            let _ = u.end_of_rib();
            let _ = u.to_owned();
        }
        Ok(other) => panic!("UPDATE decoded as {other:?}"),
        Err(e) => {
            let _ = e.notification();
            let _ = e.to_string();
        }
    }
});
