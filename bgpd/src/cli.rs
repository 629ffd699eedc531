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
    /// password, multihop, ttl security, graceful restart, ipv4/ipv6
    /// channels with import/export all or none, extended next hop, add
    /// paths), kernel (persist; learn, scan time and merge paths noted),
    /// static (via, blackhole) and direct. Everything it cannot translate
    /// (filters among them) is listed on standard error with its line, and
    /// a neighbor whose filter is not translated imports or exports
    /// nothing. Exit status 0: all translated; 3: something was not; 2:
    /// the file is not BIRD syntax; 1: it could not be read.
    Migrate {
        /// The BIRD configuration file.
        file: PathBuf,
    },
}
