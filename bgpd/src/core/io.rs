//! What goes into the [`Core`](super::Core) and what comes out of it.
//!
//! Inputs serialise (serde), so that a run recorded with `rbgpd --record`
//! replays into a fresh core; outputs serialise too, so that the replay
//! can be compared with what the recorded run did.

use crate::config::Config;
use crate::ctl::proto::{EventKind, PeerState as CtlPeerState, Request, Response};
use crate::fib::{FibStatus, FibSummary};
use crate::peer::{PeerCommand, PeerEvent, PeerId, PeerStatus};
use bgp_proto::Prefix;
use rib::FibChange;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// Identifies one control request until it is answered.
pub type CallId = u64;

/// One input of the core.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[allow(clippy::large_enum_variant)] // one per event; peer events are the many
pub enum Input {
    /// A neighbor task's event.
    Peer(PeerEvent),
    /// An rbgpctl request, with what the driver knows that the core does
    /// not (see [`ctl_needs`](super::ctl_needs)).
    Ctl {
        /// Answer with this id.
        call: CallId,
        /// The request (never `Reload` or `Watch`: see [`Input::Reload`]).
        request: Request,
        /// Neighbor and FIB state read by the driver.
        context: CtlContext,
    },
    /// The config file read again (SIGHUP, or `rbgpctl reload` with its
    /// call id): the new config, or the mistakes that make it unusable.
    Reload {
        /// The control request that asked, if any.
        call: Option<CallId>,
        /// The parsed file, or its mistakes.
        config: Result<Box<Config>, Vec<String>>,
    },
    /// What the FIB task answered.
    Fib(FibReport),
    /// Whether an `rbgpctl watch` is listening: events are made only then.
    Watching(bool),
    /// A neighbor's BFD session changed state.
    Bfd(crate::bfd::BfdReport),
    /// The router's connected networks (addresses on links that are up),
    /// all of them, after a change.
    Connected(Vec<bgp_proto::Prefix>),
    /// Time passed: run what [`poll_timeout`](super::Core::poll_timeout)
    /// said was due.
    Tick,
}

impl Input {
    /// The input's share of a batch of events: one per UPDATE.
    pub fn weight(&self) -> usize {
        match self {
            Input::Peer(PeerEvent::Update { updates, .. }) => updates.len().max(1),
            _ => 1,
        }
    }
}

/// State outside the core that a control request is answered from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CtlContext {
    /// Every neighbor's status (the neighbor tasks own it).
    pub peers: Vec<PeerStatus>,
    /// The FIB, when the request needs it.
    pub fib: Option<FibView>,
    /// The process's resident memory.
    pub rss_bytes: Option<u64>,
    /// The BFD sessions, for `show bfd`.
    #[serde(default)]
    pub bfd: Vec<crate::ctl::proto::BfdSession>,
}

/// What the driver read from the FIB task for a control request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum FibView {
    /// Every route (`show fib`).
    Status(FibStatus),
    /// A few numbers (`show summary`).
    Summary(FibSummary),
    /// The state of some routes (`explain`).
    Routes(Vec<crate::fib::FibStatusEntry>),
    /// The FIB task did not answer.
    Unavailable(String),
}

/// What a control request needs from the FIB task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FibQuery {
    /// Nothing.
    None,
    /// [`FibView::Status`].
    Status,
    /// [`FibView::Summary`].
    Summary,
    /// [`FibView::Routes`] of these prefixes.
    Routes(Vec<bgp_proto::Prefix>),
}

/// What the FIB task reports back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum FibReport {
    /// The answer to [`FibCommand::Summary`].
    Summary(FibSummary),
    /// A hand-over of changes to the FIB task failed.
    Failed(String),
}

/// One output of the core, for the driver to carry out in order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Output {
    /// A command for one neighbor task.
    Peer {
        /// The neighbor.
        peer: PeerId,
        /// What to do.
        command: PeerCommand,
    },
    /// A request to the FIB task.
    Fib(FibCommand),
    /// A request to the BFD task.
    Bfd(crate::bfd::BfdCommand),
    /// Run the neighbors of this config (a reload was applied).
    Reconfigure(Box<Config>),
    /// The answer to a control request.
    Answer {
        /// The request's id.
        call: CallId,
        /// The answer.
        response: Response,
    },
    /// An event for `rbgpctl watch` (made only while someone watches).
    Event(EventKind),
    /// A neighbor's state changed (metrics follow it).
    PeerState {
        /// The neighbor.
        addr: IpAddr,
        /// Its new state.
        state: CtlPeerState,
    },
    /// No neighbor of this address is left (de-configured, or a dynamic
    /// neighbor forgotten): drop its metric series.
    PeerForgotten {
        /// The address.
        addr: IpAddr,
    },
}

/// What the core asks of the FIB task.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum FibCommand {
    /// Apply these changes of the desired table, in order.
    Update(Vec<FibChange>),
    /// Report a [`FibReport::Summary`].
    Summary,
    /// The start-up phase is over: remove what a previous run left and
    /// nobody wants.
    StartupComplete,
    /// Remove these routes a previous run left, now (their gateways are
    /// gone); the start-up phase goes on for the others. The FIB removes
    /// only those still kept and not wanted.
    RemoveStale(Vec<Prefix>),
}
