//! BFD at the edge (RFC 5880, 5881, 5883): the core decides which
//! neighbors have a BFD session ([`BfdCommand`]) and hears when one comes
//! up or goes down ([`BfdReport`]); the sessions themselves are the sans-IO
//! `bfd` crate's, driven by a task that owns the UDP sockets.

pub mod endpoint;
pub mod task;
pub mod udp;

use crate::config::BfdTimers;
use crate::peer::PeerId;
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, SocketAddr};

/// What the core asks of the BFD task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum BfdCommand {
    /// Run a BFD session with this neighbor, replacing one it had.
    Watch {
        /// The neighbor.
        peer: PeerId,
        /// Its address (with the link as scope for a link-local one).
        remote: SocketAddr,
        /// Our address on the session.
        local: IpAddr,
        /// Timers.
        timers: BfdTimers,
        /// Multihop (RFC 5883, port 4784) rather than single hop.
        multihop: bool,
    },
    /// End the neighbor's BFD session.
    Unwatch {
        /// The neighbor.
        peer: PeerId,
    },
}

/// A neighbor's BFD session changed state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BfdReport {
    /// The neighbor.
    pub peer: PeerId,
    /// Up, or not (Down, Init, AdminDown).
    pub up: bool,
    /// The diagnostic of the change ("control detection time expired").
    pub diag: String,
}
