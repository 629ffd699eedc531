//! UPDATE messages, zero-copy (being written by the codec-update work).
//! Placeholder types so that the rest of the crate compiles meanwhile.

/// RFC 7606 action for a malformed attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrAction {
    /// Ignore the attribute.
    Discard,
    /// Treat the UPDATE's NLRI as withdrawn.
    TreatAsWithdraw,
    /// Reset the session.
    SessionReset,
}

/// An UPDATE error that resets the session.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed UPDATE")]
pub struct UpdateError;

/// A decoded UPDATE.
#[derive(Debug, Clone)]
pub struct Update;
