//! # rib
//!
//! BGP routing information bases for rbgpd: Adj-RIB-In per peer, Loc-RIB
//! with the RFC 4271 decision process and ECMP multipath, Adj-RIB-Out per
//! peer, and import/export policy. Plain data: no async, no locks, owned by
//! one task.

#![warn(missing_docs)]

pub mod policy;
