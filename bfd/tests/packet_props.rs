//! Properties of the codec: decoding never panics, and every valid packet
//! survives encode + decode unchanged.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use bfd::{ControlPacket, DecodeError, Diag, State, PACKET_LEN};
use proptest::prelude::*;

fn state() -> impl Strategy<Value = State> {
    (0u8..4).prop_map(State::from_bits)
}

/// Packets `decode` accepts: version 1, Length 24, no A or M bit, non-zero
/// Detect Mult and My Discriminator, and a Your Discriminator that is
/// non-zero unless the state is Down or AdminDown.
fn valid_packet() -> impl Strategy<Value = ControlPacket> {
    (
        (0u8..32, state(), any::<[bool; 4]>(), 1u8..=255),
        (
            1u32..,
            any::<u32>(),
            any::<u32>(),
            any::<u32>(),
            any::<u32>(),
        ),
    )
        .prop_map(
            |((diag, state, [p, f, c, d], mult), (my, your, tx, rx, echo))| {
                let your = match state {
                    State::Init | State::Up => your.max(1),
                    _ => your,
                };
                ControlPacket {
                    version: 1,
                    diag: Diag::from_bits(diag),
                    state,
                    poll: p,
                    final_: f,
                    control_plane_independent: c,
                    authentication_present: false,
                    demand: d,
                    multipoint: false,
                    detect_mult: mult,
                    length: PACKET_LEN as u8,
                    my_discriminator: my,
                    your_discriminator: your,
                    desired_min_tx: tx,
                    required_min_rx: rx,
                    required_min_echo_rx: echo,
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        match ControlPacket::decode(&bytes) {
            Ok(p) => {
                prop_assert_eq!(p.version, 1);
                prop_assert!(usize::from(p.length) <= bytes.len());
                prop_assert_eq!(p.validate(), Ok(()));
            }
            Err(e) => {
                let _ = e.to_string();
            }
        }
    }

    #[test]
    fn valid_packets_round_trip(p in valid_packet()) {
        let bytes = p.encode();
        prop_assert_eq!(ControlPacket::decode(&bytes), Ok(p));
        // Whatever follows the packet in the datagram is ignored.
        let mut longer = bytes.to_vec();
        longer.extend_from_slice(&[0xff; 8]);
        prop_assert_eq!(ControlPacket::decode(&longer), Ok(p));
    }

    #[test]
    fn any_cut_packet_is_truncated(p in valid_packet(), cut in 0usize..PACKET_LEN) {
        let bytes = p.encode();
        prop_assert_eq!(
            ControlPacket::decode(&bytes[..cut]),
            Err(DecodeError::Truncated { len: cut })
        );
    }
}
