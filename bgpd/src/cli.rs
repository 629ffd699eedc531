//! The command lines of `rbgpd` (here) and `rbgpctl` ([`crate::ctl::cli`]),
//! in the library so that their man pages and shell completions are made
//! from the same definitions (`tests/man_pages.rs`).

use crate::config;
use clap::Parser;
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
}
