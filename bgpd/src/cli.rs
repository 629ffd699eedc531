//! The command lines of `rbgpd` (here) and `rbgpctl` ([`crate::ctl::cli`]),
//! in the library so that their man pages and shell completions are made
//! from the same definitions (`tests/man_pages.rs`).

use crate::config;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// rbgpd, a BGP speaker for Kubernetes edges and labs.
#[derive(Debug, Parser)]
#[command(name = "rbgpd", version, about)]
pub struct Args {
    /// Configuration file.
    #[arg(short, long, default_value = config::DEFAULT_CONFIG_PATH)]
    pub config: PathBuf,
    /// Check a configuration file and exit (0 when it is valid).
    #[arg(long, value_name = "FILE")]
    pub check_config: Option<PathBuf>,
    /// Record every input and output of the routing core in FILE (JSON
    /// lines), for a replay as a test. It grows with every UPDATE received.
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
    /// Replay a recording (`--record`) into a fresh core, check that it
    /// gives the same outputs, and exit (0 when it does).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["check_config", "record"])]
    pub replay: Option<PathBuf>,
    /// A command instead of running the daemon.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// What rbgpd can do besides running.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Translate a BIRD 2 configuration into rbgpd's (on standard output).
    ///
    /// Reads the protocols a BIRD router in this role runs: bgp (with
    /// templates; local as, neighbor and neighbor range, passive, hold time,
    /// password, multihop, ttl security, graceful restart, bfd on, ipv4/ipv6
    /// channels with import/export all, none, filter NAME, filter { ... } or
    /// where EXPR, extended next hop, add paths), kernel (persist; learn,
    /// scan time and merge paths noted), static (via, blackhole), direct,
    /// and bfd (its interval and multiplier; BGP is not held back until BFD
    /// is up, as in BIRD).
    ///
    /// Filters become [[policy]] tables, their prefix sets [[prefix_list]]
    /// tables, when they are made of: accept; reject; if ... then ... else
    /// on net ~ [ prefix patterns ] (exact, +, -, {a,b}), net !~ and net ~
    /// a defined prefix set, joined with !( ), && and ||; bgp_local_pref =
    /// N; bgp_med = N; bgp_community.add/delete((A,B)) and the large
    /// community form; print (dropped). A filter that ends undecided
    /// rejects, as in BIRD. Anything else in a filter (bgp_path, conditions
    /// on other attributes, function calls, case, community sets) is listed
    /// on standard error with its line, and a channel whose filter is not
    /// translated imports or exports nothing, never more than BIRD would.
    /// Exit status 0: all translated; 3: something was not; 2: the file is
    /// not BIRD syntax; 1: it could not be read.
    Migrate {
        /// The BIRD configuration file.
        file: PathBuf,
    },
}
