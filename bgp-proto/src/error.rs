//! Decode and encode errors. Every decode error maps to the NOTIFICATION
//! to send; UPDATE attribute errors also carry their RFC 7606 action.
//! (Being written: the codec-core work fills `DecodeError`.)

pub use crate::wire::update::{AttrAction, UpdateError};

/// Why a message could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// The message would exceed the session's maximum length.
    #[error("message of {len} octets exceeds the maximum of {max}")]
    MessageTooLong {
        /// Length it would have.
        len: usize,
        /// Session maximum.
        max: usize,
    },
    /// A field does not fit its wire encoding.
    #[error("cannot encode {0}")]
    Invalid(&'static str),
}
