//! The NOTIFICATION message (RFC 4271 4.5 and 6), with every code and
//! subcode named, RFC 4486 cease subcodes and RFC 9003 shutdown text.

use serde::{Deserialize, Serialize};

/// A NOTIFICATION: error code, subcode and data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    /// Error code.
    pub code: u8,
    /// Error subcode.
    pub subcode: u8,
    /// Data (meaning depends on code and subcode).
    pub data: Vec<u8>,
}

/// NOTIFICATION error codes.
pub mod code {
    /// 1: Message Header Error.
    pub const MESSAGE_HEADER: u8 = 1;
    /// 2: OPEN Message Error.
    pub const OPEN_MESSAGE: u8 = 2;
    /// 3: UPDATE Message Error.
    pub const UPDATE_MESSAGE: u8 = 3;
    /// 4: Hold Timer Expired.
    pub const HOLD_TIMER_EXPIRED: u8 = 4;
    /// 5: Finite State Machine Error.
    pub const FSM: u8 = 5;
    /// 6: Cease.
    pub const CEASE: u8 = 6;
    /// 7: ROUTE-REFRESH Message Error (RFC 7313).
    pub const ROUTE_REFRESH: u8 = 7;
    /// 8: Send Hold Timer Expired (RFC 9687; subcode 0).
    pub const SEND_HOLD_TIMER_EXPIRED: u8 = 8;
}

/// Message Header Error subcodes.
pub mod header_subcode {
    /// 1: Connection Not Synchronized.
    pub const CONNECTION_NOT_SYNCHRONIZED: u8 = 1;
    /// 2: Bad Message Length.
    pub const BAD_MESSAGE_LENGTH: u8 = 2;
    /// 3: Bad Message Type.
    pub const BAD_MESSAGE_TYPE: u8 = 3;
}

/// OPEN Message Error subcodes.
pub mod open_subcode {
    /// 1: Unsupported Version Number.
    pub const UNSUPPORTED_VERSION: u8 = 1;
    /// 2: Bad Peer AS.
    pub const BAD_PEER_AS: u8 = 2;
    /// 3: Bad BGP Identifier.
    pub const BAD_BGP_IDENTIFIER: u8 = 3;
    /// 4: Unsupported Optional Parameter.
    pub const UNSUPPORTED_OPTIONAL_PARAMETER: u8 = 4;
    /// 6: Unacceptable Hold Time.
    pub const UNACCEPTABLE_HOLD_TIME: u8 = 6;
    /// 7: Unsupported Capability (RFC 5492).
    pub const UNSUPPORTED_CAPABILITY: u8 = 7;
    /// 11: Role Mismatch (RFC 9234).
    pub const ROLE_MISMATCH: u8 = 11;
}

/// UPDATE Message Error subcodes.
pub mod update_subcode {
    /// 1: Malformed Attribute List.
    pub const MALFORMED_ATTRIBUTE_LIST: u8 = 1;
    /// 2: Unrecognized Well-known Attribute.
    pub const UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE: u8 = 2;
    /// 3: Missing Well-known Attribute.
    pub const MISSING_WELL_KNOWN_ATTRIBUTE: u8 = 3;
    /// 4: Attribute Flags Error.
    pub const ATTRIBUTE_FLAGS_ERROR: u8 = 4;
    /// 5: Attribute Length Error.
    pub const ATTRIBUTE_LENGTH_ERROR: u8 = 5;
    /// 6: Invalid ORIGIN Attribute.
    pub const INVALID_ORIGIN_ATTRIBUTE: u8 = 6;
    /// 8: Invalid NEXT_HOP Attribute.
    pub const INVALID_NEXT_HOP_ATTRIBUTE: u8 = 8;
    /// 9: Optional Attribute Error.
    pub const OPTIONAL_ATTRIBUTE_ERROR: u8 = 9;
    /// 10: Invalid Network Field.
    pub const INVALID_NETWORK_FIELD: u8 = 10;
    /// 11: Malformed AS_PATH.
    pub const MALFORMED_AS_PATH: u8 = 11;
}

/// Finite State Machine Error subcodes (RFC 6608).
pub mod fsm_subcode {
    /// 0: Unspecified.
    pub const UNSPECIFIED: u8 = 0;
    /// 1: Receive Unexpected Message in OpenSent State.
    pub const UNEXPECTED_IN_OPENSENT: u8 = 1;
    /// 2: Receive Unexpected Message in OpenConfirm State.
    pub const UNEXPECTED_IN_OPENCONFIRM: u8 = 2;
    /// 3: Receive Unexpected Message in Established State.
    pub const UNEXPECTED_IN_ESTABLISHED: u8 = 3;
}

/// Cease subcodes (RFC 4486, RFC 8538).
pub mod cease_subcode {
    /// 1: Maximum Number of Prefixes Reached.
    pub const MAX_PREFIXES: u8 = 1;
    /// 2: Administrative Shutdown.
    pub const ADMINISTRATIVE_SHUTDOWN: u8 = 2;
    /// 3: Peer De-configured.
    pub const PEER_DECONFIGURED: u8 = 3;
    /// 4: Administrative Reset.
    pub const ADMINISTRATIVE_RESET: u8 = 4;
    /// 5: Connection Rejected.
    pub const CONNECTION_REJECTED: u8 = 5;
    /// 6: Other Configuration Change.
    pub const OTHER_CONFIGURATION_CHANGE: u8 = 6;
    /// 7: Connection Collision Resolution.
    pub const CONNECTION_COLLISION_RESOLUTION: u8 = 7;
    /// 8: Out of Resources.
    pub const OUT_OF_RESOURCES: u8 = 8;
    /// 9: Hard Reset (RFC 8538).
    pub const HARD_RESET: u8 = 9;
    /// 10: BFD Down (RFC 9384).
    pub const BFD_DOWN: u8 = 10;
}

/// ROUTE-REFRESH Message Error subcodes (RFC 7313).
pub mod route_refresh_subcode {
    /// 1: Invalid Message Length.
    pub const INVALID_MESSAGE_LENGTH: u8 = 1;
}

impl Notification {
    /// A NOTIFICATION with the given code, subcode and data.
    pub fn new(code: u8, subcode: u8, data: impl Into<Vec<u8>>) -> Self {
        Notification {
            code,
            subcode,
            data: data.into(),
        }
    }

    /// A Cease with an RFC 9003 shutdown communication (UTF-8, at most 255
    /// octets; longer text is cut at a character boundary).
    pub fn cease_with_message(subcode: u8, message: &str) -> Self {
        let mut end = message.len().min(255);
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        let text = message.get(..end).unwrap_or_default().as_bytes();
        let mut data = Vec::with_capacity(text.len() + 1);
        data.push(text.len() as u8);
        data.extend_from_slice(text);
        Notification {
            code: code::CEASE,
            subcode,
            data,
        }
    }

    /// The RFC 9003 shutdown communication carried by an Administrative
    /// Shutdown or Reset Cease, when present and valid UTF-8.
    pub fn shutdown_message(&self) -> Option<&str> {
        if self.code != code::CEASE
            || !matches!(
                self.subcode,
                cease_subcode::ADMINISTRATIVE_SHUTDOWN | cease_subcode::ADMINISTRATIVE_RESET
            )
        {
            return None;
        }
        let (len, rest) = self.data.split_first()?;
        let text = rest.get(..usize::from(*len))?;
        std::str::from_utf8(text).ok()
    }

    /// This Cease wrapped in a Hard Reset (RFC 8538 section 3: subcode 9,
    /// the data the inner subcode and its data), so that a peer in GR
    /// helper mode drops our routes at once instead of keeping them stale.
    /// Anything else, and a Hard Reset already, is returned as it is.
    pub fn into_hard_reset(self) -> Notification {
        if self.code != code::CEASE || self.is_hard_reset() {
            return self;
        }
        let mut data = Vec::with_capacity(self.data.len() + 1);
        data.push(self.subcode);
        data.extend_from_slice(&self.data);
        Notification::new(code::CEASE, cease_subcode::HARD_RESET, data)
    }

    /// Whether this is a Cease Hard Reset (RFC 8538): GR helpers must drop
    /// the peer's routes at once.
    pub fn is_hard_reset(&self) -> bool {
        self.code == code::CEASE && self.subcode == cease_subcode::HARD_RESET
    }

    /// A human-readable name of the code and subcode, as logs and the CLI
    /// show it.
    pub fn describe(&self) -> String {
        let (c, s) = describe_codes(self.code, self.subcode);
        match self.shutdown_message() {
            Some(msg) if !msg.is_empty() => format!("{c} / {s}: \"{msg}\""),
            _ => format!("{c} / {s}"),
        }
    }
}

fn describe_codes(code: u8, subcode: u8) -> (String, String) {
    let c = match code {
        1 => "Message Header Error",
        2 => "OPEN Message Error",
        3 => "UPDATE Message Error",
        4 => "Hold Timer Expired",
        5 => "Finite State Machine Error",
        6 => "Cease",
        7 => "ROUTE-REFRESH Message Error",
        8 => "Send Hold Timer Expired",
        _ => "",
    };
    let s = match (code, subcode) {
        (1, 1) => "Connection Not Synchronized",
        (1, 2) => "Bad Message Length",
        (1, 3) => "Bad Message Type",
        (2, 1) => "Unsupported Version Number",
        (2, 2) => "Bad Peer AS",
        (2, 3) => "Bad BGP Identifier",
        (2, 4) => "Unsupported Optional Parameter",
        (2, 6) => "Unacceptable Hold Time",
        (2, 7) => "Unsupported Capability",
        (2, 11) => "Role Mismatch",
        (3, 1) => "Malformed Attribute List",
        (3, 2) => "Unrecognized Well-known Attribute",
        (3, 3) => "Missing Well-known Attribute",
        (3, 4) => "Attribute Flags Error",
        (3, 5) => "Attribute Length Error",
        (3, 6) => "Invalid ORIGIN Attribute",
        (3, 8) => "Invalid NEXT_HOP Attribute",
        (3, 9) => "Optional Attribute Error",
        (3, 10) => "Invalid Network Field",
        (3, 11) => "Malformed AS_PATH",
        (5, 1) => "Unexpected Message in OpenSent",
        (5, 2) => "Unexpected Message in OpenConfirm",
        (5, 3) => "Unexpected Message in Established",
        (6, 1) => "Maximum Number of Prefixes Reached",
        (6, 2) => "Administrative Shutdown",
        (6, 3) => "Peer De-configured",
        (6, 4) => "Administrative Reset",
        (6, 5) => "Connection Rejected",
        (6, 6) => "Other Configuration Change",
        (6, 7) => "Connection Collision Resolution",
        (6, 8) => "Out of Resources",
        (6, 9) => "Hard Reset",
        (6, 10) => "BFD Down",
        (7, 1) => "Invalid Message Length",
        _ => "",
    };
    let c = if c.is_empty() {
        format!("code {code}")
    } else {
        c.to_string()
    };
    let s = if s.is_empty() {
        format!("subcode {subcode}")
    } else {
        s.to_string()
    };
    (c, s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shutdown_communication_round_trips() {
        let n = Notification::cease_with_message(cease_subcode::ADMINISTRATIVE_SHUTDOWN, "maint");
        assert_eq!(n.data, b"\x05maint");
        assert_eq!(n.shutdown_message(), Some("maint"));
        assert_eq!(n.describe(), "Cease / Administrative Shutdown: \"maint\"");
    }

    #[test]
    fn a_cease_wraps_into_a_hard_reset_once() {
        let n = Notification::cease_with_message(cease_subcode::ADMINISTRATIVE_SHUTDOWN, "maint");
        let h = n.into_hard_reset();
        assert!(h.is_hard_reset());
        assert_eq!(h.data, b"\x02\x05maint");
        assert_eq!(h.clone().into_hard_reset(), h);
        let other = Notification::new(code::UPDATE_MESSAGE, 1, []);
        assert_eq!(other.clone().into_hard_reset(), other);
    }

    #[test]
    fn long_shutdown_text_is_cut_on_char_boundary() {
        let text = "é".repeat(200); // 400 octets
        let n = Notification::cease_with_message(cease_subcode::ADMINISTRATIVE_RESET, &text);
        assert!(n.data.len() <= 256);
        assert!(n.shutdown_message().is_some());
    }

    #[test]
    fn describe_unknown_codes() {
        assert_eq!(
            Notification::new(42, 9, vec![]).describe(),
            "code 42 / subcode 9"
        );
    }
}
