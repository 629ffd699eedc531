//! The wire codec: framing, decoding and encoding of every message.

pub(crate) mod reader;
pub mod update;
