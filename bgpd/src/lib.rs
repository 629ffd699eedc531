//! # bgpd
//!
//! The rbgpd daemon: neighbor tasks around the sans-IO FSM of `bgp-proto`,
//! the RIB task, the kernel FIB writer, the control socket and config.

#![warn(missing_docs)]

pub mod config;
