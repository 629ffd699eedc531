//! The control socket: rbgpctl talks to rbgpd over a Unix socket with JSON
//! lines ([`proto`]). [`server`] accepts clients and hands each request to
//! the daemon core over a channel; [`client`] is the blocking client
//! rbgpctl uses; [`format`](mod@format) turns responses into the tables rbgpctl
//! prints (pure functions, fixed by golden tests).

pub mod as_path_json;
pub mod cli;
pub mod client;
pub mod clusters;
pub mod explain;
pub mod format;
pub mod proto;
pub mod server;
pub mod top;
pub mod top_run;

pub use proto::{Request, Response};
