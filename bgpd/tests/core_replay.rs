//! Replays of recorded runs (`rbgpd --record FILE`): a fresh core fed the
//! recorded inputs at the recorded times must give every output the
//! recorded run gave, UPDATE bytes and FIB changes included.
//!
//! `data/lab-session.jsonl` is the router of the two-cluster lab
//! (docs/LAB.md, scripts/lab-up.sh --gr): six Cilium-like gobgpd nodes
//! connecting to their ranges, their pod CIDRs and LoadBalancer addresses
//! learned and passed to the other cluster, rbgpctl requests, a node's
//! session reset and back, the FIB's start-up phase ending. To record a new
//! one, start the lab's rbgpd with `--record FILE` (see the file's first
//! line for the config) and replace the file. One output was added by hand:
//! the `PeerForgotten` after the reset node's `Removed` (line 287), since
//! the core frees a forgotten neighbor's RIB peer and metric series; the
//! recording predates that. (Today's manager remembers a reset dynamic
//! neighbor instead of removing it, so a new recording has no such
//! `Removed` there.) The answers' `updates_received`/`updates_sent` and
//! the summary's `fib_queued`, `fib_writes` and `core_inputs` were added
//! to the recorded answers when those fields appeared, from the recorded
//! inputs (the peers' counters, the count of inputs); the AS_PATHs of
//! its answers became arrays with the JSON form; and its config says
//! `sender_as_path_loop_detection = false`, which is how it ran, from
//! when that check came, on by default.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use bgpd::core::record::{replay, ReplayError};
use std::io::BufReader;

#[test]
fn the_recorded_lab_session_replays_to_the_same_outputs() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/lab-session.jsonl");
    let file = std::fs::File::open(path).unwrap();
    let stats = replay(BufReader::new(file)).unwrap();
    // Six sessions with their tables, the exports between the clusters,
    // the kernel's routes: far more than a handful of outputs.
    assert!(stats.inputs > 50, "{stats:?}");
    assert!(stats.outputs > 50, "{stats:?}");
}

#[test]
fn a_changed_recording_does_not_replay() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/lab-session.jsonl");
    let text = std::fs::read_to_string(path).unwrap();
    // Drop the first UPDATE a node sent: what follows cannot match.
    let mut dropped = false;
    let changed: String = text
        .lines()
        .filter(|l| {
            let drop = !dropped && l.starts_with("{\"in\"") && l.contains("\"Update\"");
            dropped |= drop;
            !drop
        })
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(dropped);
    match replay(changed.as_bytes()) {
        Err(ReplayError::Mismatch { .. }) => {}
        other => panic!("{other:?}"),
    }
}
