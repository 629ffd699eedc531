//! # bgp-proto
//!
//! The BGP-4 wire codec and the sans-IO session state machine of rbgpd.
//!
//! Invariants: this crate does no I/O, reads no clock and has no tokio
//! dependency. Decoding never panics on any input; every decode error maps
//! to the NOTIFICATION to send (and, for UPDATE attributes, to an RFC 7606
//! action).
//!
//! - [`types`]: address families and prefixes.
//! - [`msg`]: messages as owned values, and the [`msg::SessionContext`].
//! - [`wire`]: framing, decoding (zero-copy for UPDATE) and encoding.
//! - [`error`]: decode errors and their NOTIFICATION / RFC 7606 mapping.
//! - [`fsm`]: the RFC 4271 section 8 session state machine.

#![deny(clippy::indexing_slicing)]
#![warn(missing_docs)]

pub mod error;
pub mod fsm;
pub mod msg;
pub mod types;
pub mod wire;

pub use msg::*;
pub use types::*;
