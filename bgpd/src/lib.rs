//! # bgpd
//!
//! The rbgpd daemon: neighbor tasks around the sans-IO FSM of `bgp-proto`,
//! the RIB task, the kernel FIB writer, the control socket and config.

#![warn(missing_docs)]

pub mod bfd;
pub mod cli;
pub mod config;
pub mod core;
pub mod ctl;
pub mod daemon;
pub mod fib;
pub mod logging;
pub mod metrics;
pub mod migrate;
pub mod peer;
pub mod privileges;
pub(crate) mod sockmsg;
