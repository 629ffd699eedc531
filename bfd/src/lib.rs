//! # bfd
//!
//! Bidirectional Forwarding Detection (RFC 5880) in asynchronous mode,
//! without echo and without authentication, for single-hop (RFC 5881)
//! and multihop (RFC 5883) sessions: the control packet codec and a
//! sans-IO session state machine.
//!
//! Invariants: this crate does no I/O, reads no clock, owns no OS random
//! source and has no tokio dependency. Time comes in as an `Instant`,
//! packets come in decoded and go out as values. Decoding never panics on
//! any input, and nothing a peer sends makes a [`Session`] grow: its event
//! queue is bounded and its transmissions are rate-limited.
//!
//! - [`packet`]: the 24-octet control packet ([`ControlPacket`]) and the
//!   discard rules of RFC 5880 6.8.6 that depend on the packet alone.
//! - [`session`]: one session ([`Session`]): the state machine, the poll
//!   sequence, timer negotiation, jitter and detection.
//!
//! ## Driving a session (the edge's job)
//!
//! The edge owns the UDP sockets (port [`CONTROL_PORT`] single-hop,
//! [`MULTIHOP_CONTROL_PORT`] multihop, source port in [`SOURCE_PORTS`]),
//! the clock and the table of sessions, keyed by local discriminator and
//! by peer address. For each received datagram:
//!
//! 1. Single hop: drop it unless its TTL / hop limit is
//!    [`SINGLE_HOP_TTL`] (RFC 5881 5). Multihop: apply the configured
//!    minimum TTL (RFC 5883 2).
//! 2. [`ControlPacket::decode`] it; on error count the drop by reason.
//! 3. Find the session: by `your_discriminator` when it is non-zero (and,
//!    as FRR does, check that the source address is the session's peer);
//!    when it is zero, by the peer address (and interface, for single
//!    hop) the edge knows. No session: drop.
//! 4. [`Session::handle_packet`]; an error is a drop to count.
//!
//! Then, and whenever the session's deadline passes:
//!
//! ```text
//!   loop {
//!       sleep until session.poll_timeout();
//!       session.handle_timeout(now);                 // detection timer
//!       while let Some(p) = session.poll_transmit(now) { send(p.encode()) }
//!       while let Some(e) = session.poll_event() { tell BGP / log }
//!   }
//! ```
//!
//! Call `poll_transmit` and `poll_event` after every `handle_*` call too:
//! an answer to a Poll, or the packet announcing a state change, is due at
//! once. Local discriminators must be non-zero and unique; pick them at
//! random (RFC 5880 6.8.1).

#![deny(clippy::indexing_slicing)]
#![warn(missing_docs)]

mod jitter;
pub mod packet;
pub mod session;

pub use packet::{ControlPacket, DecodeError, PACKET_LEN};
pub use session::{Counters, Session, SessionConfig, SessionError, SessionEvent};

use std::fmt;
use std::ops::RangeInclusive;

/// UDP destination port of single-hop control packets (RFC 5881 4).
pub const CONTROL_PORT: u16 = 3784;
/// UDP destination port of multihop control packets (RFC 5883 5).
pub const MULTIHOP_CONTROL_PORT: u16 = 4784;
/// Range of UDP source ports for control packets (RFC 5881 4).
pub const SOURCE_PORTS: RangeInclusive<u16> = 49152..=65535;
/// TTL / hop limit of single-hop packets, sent and required (RFC 5881 5).
pub const SINGLE_HOP_TTL: u8 = 255;

/// Session state (RFC 5880 4.1, the `Sta` field).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Held down by the operator; no state machine runs.
    AdminDown,
    /// Down, or just created.
    Down,
    /// Heard the remote system, waiting for it to hear us.
    Init,
    /// Both systems hear each other.
    Up,
}

impl State {
    /// The state with wire value `bits` (only the low two bits count).
    pub fn from_bits(bits: u8) -> State {
        match bits & 0b11 {
            0 => State::AdminDown,
            1 => State::Down,
            2 => State::Init,
            _ => State::Up,
        }
    }

    /// The wire value (0 to 3).
    pub fn bits(self) -> u8 {
        match self {
            State::AdminDown => 0,
            State::Down => 1,
            State::Init => 2,
            State::Up => 3,
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            State::AdminDown => "AdminDown",
            State::Down => "Down",
            State::Init => "Init",
            State::Up => "Up",
        })
    }
}

/// Diagnostic code: the reason for the last change of state
/// (RFC 5880 4.1, the `Diag` field).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Diag {
    /// 0: no diagnostic.
    NoDiagnostic,
    /// 1: control detection time expired.
    ControlDetectionTimeExpired,
    /// 2: echo function failed.
    EchoFunctionFailed,
    /// 3: neighbor signaled session down.
    NeighborSignaledSessionDown,
    /// 4: forwarding plane reset.
    ForwardingPlaneReset,
    /// 5: path down.
    PathDown,
    /// 6: concatenated path down.
    ConcatenatedPathDown,
    /// 7: administratively down.
    AdministrativelyDown,
    /// 8: reverse concatenated path down.
    ReverseConcatenatedPathDown,
    /// 9 to 31: reserved for future use. Receivers accept them; other
    /// values are masked to five bits when encoded.
    Unassigned(u8),
}

impl Diag {
    /// The diagnostic with wire value `bits` (only the low five bits count).
    pub fn from_bits(bits: u8) -> Diag {
        match bits & 0x1f {
            0 => Diag::NoDiagnostic,
            1 => Diag::ControlDetectionTimeExpired,
            2 => Diag::EchoFunctionFailed,
            3 => Diag::NeighborSignaledSessionDown,
            4 => Diag::ForwardingPlaneReset,
            5 => Diag::PathDown,
            6 => Diag::ConcatenatedPathDown,
            7 => Diag::AdministrativelyDown,
            8 => Diag::ReverseConcatenatedPathDown,
            other => Diag::Unassigned(other),
        }
    }

    /// The wire value (0 to 31).
    pub fn bits(self) -> u8 {
        match self {
            Diag::NoDiagnostic => 0,
            Diag::ControlDetectionTimeExpired => 1,
            Diag::EchoFunctionFailed => 2,
            Diag::NeighborSignaledSessionDown => 3,
            Diag::ForwardingPlaneReset => 4,
            Diag::PathDown => 5,
            Diag::ConcatenatedPathDown => 6,
            Diag::AdministrativelyDown => 7,
            Diag::ReverseConcatenatedPathDown => 8,
            Diag::Unassigned(v) => v & 0x1f,
        }
    }
}

impl fmt::Display for Diag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Diag::NoDiagnostic => f.write_str("No Diagnostic"),
            Diag::ControlDetectionTimeExpired => f.write_str("Control Detection Time Expired"),
            Diag::EchoFunctionFailed => f.write_str("Echo Function Failed"),
            Diag::NeighborSignaledSessionDown => f.write_str("Neighbor Signaled Session Down"),
            Diag::ForwardingPlaneReset => f.write_str("Forwarding Plane Reset"),
            Diag::PathDown => f.write_str("Path Down"),
            Diag::ConcatenatedPathDown => f.write_str("Concatenated Path Down"),
            Diag::AdministrativelyDown => f.write_str("Administratively Down"),
            Diag::ReverseConcatenatedPathDown => f.write_str("Reverse Concatenated Path Down"),
            Diag::Unassigned(v) => write!(f, "Unassigned ({})", v & 0x1f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_and_diag_round_trip_their_wire_values() {
        for bits in 0..4 {
            assert_eq!(State::from_bits(bits).bits(), bits);
        }
        for bits in 0..32 {
            assert_eq!(Diag::from_bits(bits).bits(), bits);
        }
        assert_eq!(Diag::from_bits(0x23), Diag::NeighborSignaledSessionDown);
        assert_eq!(Diag::Unassigned(0xff).bits(), 0x1f);
    }

    #[test]
    fn names_follow_rfc_5880() {
        assert_eq!(State::AdminDown.to_string(), "AdminDown");
        assert_eq!(State::Up.to_string(), "Up");
        assert_eq!(
            Diag::NeighborSignaledSessionDown.to_string(),
            "Neighbor Signaled Session Down"
        );
        assert_eq!(Diag::from_bits(12).to_string(), "Unassigned (12)");
    }
}
