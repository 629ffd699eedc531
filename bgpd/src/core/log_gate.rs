//! A bound on the log lines one peer can cause: what a peer sends wrong is
//! logged at most once per [`LOG_PERIOD`] per session, with the count of
//! what was left out since, so a hostile or broken peer cannot fill a disk.
//! The neighbor manager bounds its refusals of connections the same way.

use std::time::{Duration, Instant};

/// Least time between two warnings about one peer's input.
pub(crate) const LOG_PERIOD: Duration = Duration::from_secs(10);

/// When a session may log again, and what it left out meanwhile.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct LogGate {
    next: Option<Instant>,
    suppressed: u64,
}

impl LogGate {
    /// A gate that admits the next line.
    pub(crate) const fn new() -> Self {
        LogGate {
            next: None,
            suppressed: 0,
        }
    }

    /// `Some(suppressed)` when a line may be written at `now` (with how
    /// many were left out before it); `None` when this one is left out.
    pub(crate) fn admit(&mut self, now: Instant) -> Option<u64> {
        if self.next.is_some_and(|t| now < t) {
            self.suppressed = self.suppressed.saturating_add(1);
            return None;
        }
        self.next = Some(now + LOG_PERIOD);
        Some(std::mem::take(&mut self.suppressed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_period_with_the_count_of_the_rest() {
        let t0 = Instant::now();
        let mut g = LogGate::default();
        assert_eq!(g.admit(t0), Some(0));
        for _ in 0..1000 {
            assert_eq!(g.admit(t0 + Duration::from_secs(1)), None);
        }
        assert_eq!(g.admit(t0 + LOG_PERIOD), Some(1000));
        assert_eq!(g.admit(t0 + LOG_PERIOD), None);
    }
}
