//! One bound on the log lines of dynamic neighbors that fail before
//! Established: anyone inside a range who connects and fails over and over
//! (a scan, a broken node, 100,000 connects) writes at most one line per
//! [`LOG_PERIOD`](crate::core::log_gate::LOG_PERIOD), with the count left
//! out, where each failed connect used to write several. Each neighbor's
//! last error stays in `rbgpctl show peers`. Explicit neighbors and
//! established sessions are logged as before.

use crate::core::log_gate::LogGate;
use std::sync::Mutex;
use std::time::Instant;

static GATE: Mutex<LogGate> = Mutex::new(LogGate::new());

/// `Some(suppressed)` when a line about a session of a neighbor
/// (`dynamic`, its session `established` or not) may be written now;
/// `None` when it is left out.
pub(super) fn admit(dynamic: bool, established: bool) -> Option<u64> {
    if !dynamic || established {
        return Some(0);
    }
    GATE.lock()
        .unwrap_or_else(|p| p.into_inner())
        .admit(Instant::now())
}
