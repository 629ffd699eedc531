//! The BFD control packet (RFC 5880 4.1), without the optional
//! authentication section, and the discard rules of RFC 5880 6.8.6 that
//! depend on the packet alone.
//!
//! Invariant: [`ControlPacket::decode`] never panics and accepts only a
//! packet that a session may process; [`ControlPacket::encode`] writes the
//! fields as they are, so tests can build invalid packets with it.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |Vers |  Diag   |Sta|P|F|C|A|D|M|  Detect Mult  |    Length     |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                       My Discriminator                        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                      Your Discriminator                       |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                    Desired Min TX Interval                    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                   Required Min RX Interval                    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                 Required Min Echo RX Interval                 |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use crate::{Diag, State};
use thiserror::Error;

/// Length of the mandatory section, the whole packet without
/// authentication.
pub const PACKET_LEN: usize = 24;
/// The only protocol version (RFC 5880 4.1).
pub const VERSION: u8 = 1;
/// Minimum Length field when the A bit is set (RFC 5880 6.8.6).
const MIN_LEN_WITH_AUTH: u8 = 26;

const FLAG_POLL: u8 = 0x20;
const FLAG_FINAL: u8 = 0x10;
const FLAG_CPI: u8 = 0x08;
const FLAG_AUTH: u8 = 0x04;
const FLAG_DEMAND: u8 = 0x02;
const FLAG_MULTIPOINT: u8 = 0x01;

/// One BFD control packet. Intervals are in microseconds, as on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ControlPacket {
    /// Protocol version; 1 in every packet [`ControlPacket::decode`] accepts.
    pub version: u8,
    /// The sender's reason for its last change of state.
    pub diag: Diag,
    /// The sender's session state.
    pub state: State,
    /// P: the sender asks for a parameter change to be confirmed.
    pub poll: bool,
    /// F: the answer to a packet with P.
    pub final_: bool,
    /// C: the sender's BFD does not share fate with its control plane.
    pub control_plane_independent: bool,
    /// A: an authentication section follows (never accepted by decode).
    pub authentication_present: bool,
    /// D: the sender wants Demand mode.
    pub demand: bool,
    /// M: reserved for multipoint (never accepted by decode).
    pub multipoint: bool,
    /// Detection time multiplier, non-zero.
    pub detect_mult: u8,
    /// Length of the packet in octets, as the sender wrote it.
    pub length: u8,
    /// The sender's discriminator, non-zero.
    pub my_discriminator: u32,
    /// The receiver's discriminator as the sender knows it, or 0.
    pub your_discriminator: u32,
    /// Desired Min TX Interval, µs.
    pub desired_min_tx: u32,
    /// Required Min RX Interval, µs (0: send me no periodic packets).
    pub required_min_rx: u32,
    /// Required Min Echo RX Interval, µs (0: no echo).
    pub required_min_echo_rx: u32,
}

/// Why a received packet was discarded (RFC 5880 6.8.6), one reason per
/// variant so the edge can count drops by reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Error)]
pub enum DecodeError {
    /// Fewer octets than the mandatory section.
    #[error("packet of {len} octets is shorter than 24")]
    Truncated {
        /// Octets received.
        len: usize,
    },
    /// Version other than 1.
    #[error("version {0} is not 1")]
    BadVersion(u8),
    /// Length field below 24 (26 with the A bit).
    #[error("length field {0} is below the minimum")]
    LengthTooSmall(u8),
    /// Length field beyond the received payload.
    #[error("length field {length} exceeds the {payload} octets received")]
    LengthExceedsPayload {
        /// The Length field.
        length: u8,
        /// Octets received.
        payload: usize,
    },
    /// Detect Mult of zero.
    #[error("detect multiplier is zero")]
    ZeroDetectMult,
    /// M bit set.
    #[error("multipoint bit is set")]
    Multipoint,
    /// My Discriminator of zero.
    #[error("my discriminator is zero")]
    ZeroMyDiscriminator,
    /// Your Discriminator of zero in a packet whose state is Init or Up.
    #[error("your discriminator is zero in state {0}")]
    ZeroYourDiscriminator(State),
    /// A bit set: authentication is not supported, so the packet is
    /// discarded as RFC 5880 6.8.6 requires when no authentication is in
    /// use.
    #[error("authentication is present but not supported")]
    AuthenticationPresent,
}

impl ControlPacket {
    /// Decodes and checks a packet received in a UDP payload.
    ///
    /// Applies, in the RFC's order, every discard rule of RFC 5880 6.8.6
    /// that needs no session: version, length against the minimum and the
    /// payload, Detect Mult, M bit, My Discriminator, Your Discriminator
    /// versus state, then the A bit (last, as the RFC checks it once the
    /// session is found). Octets beyond the Length field are ignored.
    pub fn decode(buf: &[u8]) -> Result<ControlPacket, DecodeError> {
        let Some(head) = buf.first_chunk::<PACKET_LEN>() else {
            return Err(DecodeError::Truncated { len: buf.len() });
        };
        let pkt = Self::parse(head);
        pkt.check()?;
        if usize::from(pkt.length) > buf.len() {
            return Err(DecodeError::LengthExceedsPayload {
                length: pkt.length,
                payload: buf.len(),
            });
        }
        pkt.check_after_length()?;
        Ok(pkt)
    }

    /// The packet-only discard rules of RFC 5880 6.8.6, for a packet that
    /// did not come from [`ControlPacket::decode`] (the payload length is
    /// not known here, so it is not checked).
    pub fn validate(&self) -> Result<(), DecodeError> {
        self.check()?;
        self.check_after_length()
    }

    fn check(&self) -> Result<(), DecodeError> {
        if self.version != VERSION {
            return Err(DecodeError::BadVersion(self.version));
        }
        let min = if self.authentication_present {
            MIN_LEN_WITH_AUTH
        } else {
            PACKET_LEN as u8
        };
        if self.length < min {
            return Err(DecodeError::LengthTooSmall(self.length));
        }
        Ok(())
    }

    fn check_after_length(&self) -> Result<(), DecodeError> {
        if self.detect_mult == 0 {
            return Err(DecodeError::ZeroDetectMult);
        }
        if self.multipoint {
            return Err(DecodeError::Multipoint);
        }
        if self.my_discriminator == 0 {
            return Err(DecodeError::ZeroMyDiscriminator);
        }
        if self.your_discriminator == 0 && matches!(self.state, State::Init | State::Up) {
            return Err(DecodeError::ZeroYourDiscriminator(self.state));
        }
        if self.authentication_present {
            return Err(DecodeError::AuthenticationPresent);
        }
        Ok(())
    }

    fn parse(b: &[u8; PACKET_LEN]) -> ControlPacket {
        let [vd, fl, detect_mult, length, m0, m1, m2, m3, y0, y1, y2, y3, t0, t1, t2, t3, r0, r1, r2, r3, e0, e1, e2, e3] =
            *b;
        ControlPacket {
            version: vd >> 5,
            diag: Diag::from_bits(vd),
            state: State::from_bits(fl >> 6),
            poll: fl & FLAG_POLL != 0,
            final_: fl & FLAG_FINAL != 0,
            control_plane_independent: fl & FLAG_CPI != 0,
            authentication_present: fl & FLAG_AUTH != 0,
            demand: fl & FLAG_DEMAND != 0,
            multipoint: fl & FLAG_MULTIPOINT != 0,
            detect_mult,
            length,
            my_discriminator: u32::from_be_bytes([m0, m1, m2, m3]),
            your_discriminator: u32::from_be_bytes([y0, y1, y2, y3]),
            desired_min_tx: u32::from_be_bytes([t0, t1, t2, t3]),
            required_min_rx: u32::from_be_bytes([r0, r1, r2, r3]),
            required_min_echo_rx: u32::from_be_bytes([e0, e1, e2, e3]),
        }
    }

    /// The 24 octets of the packet. Fields are written as they are: the
    /// version is masked to three bits and the Length field is copied, so
    /// a packet with `length` other than 24 does not decode from them.
    pub fn encode(&self) -> [u8; PACKET_LEN] {
        let bit = |on: bool, flag: u8| if on { flag } else { 0 };
        let flags = (self.state.bits() << 6)
            | bit(self.poll, FLAG_POLL)
            | bit(self.final_, FLAG_FINAL)
            | bit(self.control_plane_independent, FLAG_CPI)
            | bit(self.authentication_present, FLAG_AUTH)
            | bit(self.demand, FLAG_DEMAND)
            | bit(self.multipoint, FLAG_MULTIPOINT);
        let [m0, m1, m2, m3] = self.my_discriminator.to_be_bytes();
        let [y0, y1, y2, y3] = self.your_discriminator.to_be_bytes();
        let [t0, t1, t2, t3] = self.desired_min_tx.to_be_bytes();
        let [r0, r1, r2, r3] = self.required_min_rx.to_be_bytes();
        let [e0, e1, e2, e3] = self.required_min_echo_rx.to_be_bytes();
        [
            ((self.version & 0x07) << 5) | self.diag.bits(),
            flags,
            self.detect_mult,
            self.length,
            m0,
            m1,
            m2,
            m3,
            y0,
            y1,
            y2,
            y3,
            t0,
            t1,
            t2,
            t3,
            r0,
            r1,
            r2,
            r3,
            e0,
            e1,
            e2,
            e3,
        ]
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    // Wireshark sample capture bfd-raw-auth-simple.pcap, first packet, with
    // the authentication section removed (as in gopacket's
    // layers/bfd_test.go, TestBFDNoAuth): Down, mult 5, my discriminator 1,
    // 1 s / 1 s, no echo.
    const WIRESHARK_NO_AUTH: [u8; 24] = [
        0x20, 0x40, 0x05, 0x18, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0f, 0x42,
        0x40, 0x00, 0x0f, 0x42, 0x40, 0x00, 0x00, 0x00, 0x00,
    ];

    // The same capture, unmodified: simple password authentication
    // (A bit, Length 33, key id 2, "secret").
    const WIRESHARK_SIMPLE_AUTH: [u8; 33] = [
        0x20, 0x44, 0x05, 0x21, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0f, 0x42,
        0x40, 0x00, 0x0f, 0x42, 0x40, 0x00, 0x00, 0x00, 0x00, 0x01, 0x09, 0x02, 0x73, 0x65, 0x63,
        0x72, 0x65, 0x74,
    ];

    fn up_packet() -> ControlPacket {
        ControlPacket {
            version: 1,
            diag: Diag::NoDiagnostic,
            state: State::Up,
            poll: true,
            final_: false,
            control_plane_independent: true,
            authentication_present: false,
            demand: false,
            multipoint: false,
            detect_mult: 3,
            length: 24,
            my_discriminator: 0x0102_0304,
            your_discriminator: 0xa0b0_c0d0,
            desired_min_tx: 300_000,
            required_min_rx: 50_000,
            required_min_echo_rx: 0,
        }
    }

    #[test]
    fn decodes_the_wireshark_capture() {
        let p = ControlPacket::decode(&WIRESHARK_NO_AUTH).unwrap();
        assert_eq!(p.version, 1);
        assert_eq!(p.diag, Diag::NoDiagnostic);
        assert_eq!(p.state, State::Down);
        assert!(!p.poll && !p.final_ && !p.control_plane_independent && !p.demand);
        assert_eq!(p.detect_mult, 5);
        assert_eq!(p.length, 24);
        assert_eq!(p.my_discriminator, 1);
        assert_eq!(p.your_discriminator, 0);
        assert_eq!(p.desired_min_tx, 1_000_000);
        assert_eq!(p.required_min_rx, 1_000_000);
        assert_eq!(p.required_min_echo_rx, 0);
        assert_eq!(p.encode(), WIRESHARK_NO_AUTH);
    }

    #[test]
    fn authenticated_capture_is_its_own_error() {
        assert_eq!(
            ControlPacket::decode(&WIRESHARK_SIMPLE_AUTH),
            Err(DecodeError::AuthenticationPresent)
        );
    }

    #[test]
    fn encodes_every_field_in_place() {
        let p = up_packet();
        let b = p.encode();
        assert_eq!(
            b,
            [
                0x20, 0xe8, 3, 24, 1, 2, 3, 4, 0xa0, 0xb0, 0xc0, 0xd0, 0x00, 0x04, 0x93, 0xe0,
                0x00, 0x00, 0xc3, 0x50, 0, 0, 0, 0
            ]
        );
        assert_eq!(ControlPacket::decode(&b), Ok(p));
        // Flags each in their own bit.
        let f = ControlPacket {
            poll: false,
            final_: true,
            control_plane_independent: false,
            demand: true,
            diag: Diag::AdministrativelyDown,
            state: State::AdminDown,
            ..p
        };
        let b = f.encode();
        assert_eq!(b[0], 0x27);
        assert_eq!(b[1], 0x12);
        assert_eq!(ControlPacket::decode(&b), Ok(f));
    }

    #[test]
    fn trailing_octets_beyond_length_are_ignored() {
        let mut buf = up_packet().encode().to_vec();
        buf.extend_from_slice(&[0xde, 0xad]);
        assert_eq!(ControlPacket::decode(&buf), Ok(up_packet()));
    }

    #[test]
    fn each_discard_rule_has_its_reason() {
        let ok = up_packet();
        let with = |f: &dyn Fn(&mut ControlPacket)| {
            let mut p = ok;
            f(&mut p);
            ControlPacket::decode(&p.encode())
        };
        assert_eq!(
            ControlPacket::decode(&ok.encode()[..23]),
            Err(DecodeError::Truncated { len: 23 })
        );
        assert_eq!(
            ControlPacket::decode(&[]),
            Err(DecodeError::Truncated { len: 0 })
        );
        assert_eq!(with(&|p| p.version = 0), Err(DecodeError::BadVersion(0)));
        assert_eq!(with(&|p| p.version = 2), Err(DecodeError::BadVersion(2)));
        assert_eq!(
            with(&|p| p.length = 23),
            Err(DecodeError::LengthTooSmall(23))
        );
        assert_eq!(
            with(&|p| p.length = 25),
            Err(DecodeError::LengthExceedsPayload {
                length: 25,
                payload: 24
            })
        );
        assert_eq!(
            with(&|p| p.detect_mult = 0),
            Err(DecodeError::ZeroDetectMult)
        );
        assert_eq!(with(&|p| p.multipoint = true), Err(DecodeError::Multipoint));
        assert_eq!(
            with(&|p| p.my_discriminator = 0),
            Err(DecodeError::ZeroMyDiscriminator)
        );
        assert_eq!(
            with(&|p| p.your_discriminator = 0),
            Err(DecodeError::ZeroYourDiscriminator(State::Up))
        );
        assert_eq!(
            with(&|p| {
                p.your_discriminator = 0;
                p.state = State::Init;
            }),
            Err(DecodeError::ZeroYourDiscriminator(State::Init))
        );
        // A set with a 24-octet Length fails the 26-octet minimum first.
        assert_eq!(
            with(&|p| p.authentication_present = true),
            Err(DecodeError::LengthTooSmall(24))
        );
    }

    #[test]
    fn your_discriminator_may_be_zero_while_down() {
        for state in [State::Down, State::AdminDown] {
            let p = ControlPacket {
                state,
                your_discriminator: 0,
                ..up_packet()
            };
            assert_eq!(ControlPacket::decode(&p.encode()), Ok(p));
        }
    }

    #[test]
    fn validate_applies_the_same_rules() {
        assert_eq!(up_packet().validate(), Ok(()));
        let p = ControlPacket {
            detect_mult: 0,
            ..up_packet()
        };
        assert_eq!(p.validate(), Err(DecodeError::ZeroDetectMult));
    }

    #[test]
    fn errors_read_well() {
        assert_eq!(
            DecodeError::LengthExceedsPayload {
                length: 30,
                payload: 24
            }
            .to_string(),
            "length field 30 exceeds the 24 octets received"
        );
        assert_eq!(
            DecodeError::ZeroYourDiscriminator(State::Up).to_string(),
            "your discriminator is zero in state Up"
        );
    }
}
