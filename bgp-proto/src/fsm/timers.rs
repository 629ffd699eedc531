//! The FSM's timers, kept as deadlines: the driver asks for the earliest
//! one ([`Timers::next`]) and reports the time when it passes. No clock is
//! read here; randomness for jitter comes from a seeded generator.

use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

/// The session timers (RFC 4271 8.1.3 and 10), plus the idle hold timer
/// used to damp a peer that keeps failing (RFC 4271 8.1.1,
/// DampPeerOscillations).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Timer {
    /// Time between connection attempts.
    ConnectRetry,
    /// Time without a message from the peer after which the session fails.
    Hold,
    /// Time between our KEEPALIVEs.
    Keepalive,
    /// Time spent in Idle before starting again automatically.
    IdleHold,
}

impl Timer {
    const ALL: [Timer; 4] = [
        Timer::ConnectRetry,
        Timer::Hold,
        Timer::Keepalive,
        Timer::IdleHold,
    ];

    fn index(self) -> usize {
        match self {
            Timer::ConnectRetry => 0,
            Timer::Hold => 1,
            Timer::Keepalive => 2,
            Timer::IdleHold => 3,
        }
    }
}

/// Deadlines of the armed timers.
#[derive(Debug, Clone, Default)]
pub struct Timers {
    deadlines: [Option<Instant>; 4],
}

impl Timers {
    /// Arms `timer` to fire at `at`.
    pub fn arm(&mut self, timer: Timer, at: Instant) {
        if let Some(d) = self.deadlines.get_mut(timer.index()) {
            *d = Some(at);
        }
    }
    /// Disarms `timer`.
    pub fn disarm(&mut self, timer: Timer) {
        if let Some(d) = self.deadlines.get_mut(timer.index()) {
            *d = None;
        }
    }
    /// Disarms every timer.
    pub fn clear(&mut self) {
        self.deadlines = [None; 4];
    }
    /// When `timer` fires, if armed.
    pub fn get(&self, timer: Timer) -> Option<Instant> {
        self.deadlines.get(timer.index()).copied().flatten()
    }
    /// The earliest armed deadline.
    pub fn next(&self) -> Option<Instant> {
        self.deadlines.iter().flatten().min().copied()
    }
    /// Timers due at `now`, earliest first; they are disarmed.
    pub fn take_expired(&mut self, now: Instant) -> Vec<Timer> {
        let mut due: Vec<(Instant, Timer)> = Timer::ALL
            .iter()
            .filter_map(|t| self.get(*t).filter(|d| *d <= now).map(|d| (d, *t)))
            .collect();
        due.sort_by_key(|(d, _)| *d);
        for (_, t) in &due {
            self.disarm(*t);
        }
        due.into_iter().map(|(_, t)| t).collect()
    }
}

/// A tiny deterministic generator (xorshift64*) for timer jitter; tests
/// pass a fixed seed, the daemon a random one.
#[derive(Debug, Clone)]
pub struct Jitter {
    state: u64,
}

impl Jitter {
    /// A generator from `seed` (0 is replaced by a fixed non-zero value).
    pub fn new(seed: u64) -> Self {
        Jitter {
            state: if seed == 0 {
                0x9E37_79B9_7F4A_7C15
            } else {
                seed
            },
        }
    }

    fn next_u64(&mut self) -> u64 {
        let mut x = self.state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    // RFC 4271 10:
    // "To minimize the likelihood that the distribution of BGP messages by
    //  a given BGP speaker will contain peaks, jitter SHOULD be applied to
    //  the timers associated with MinASOriginationIntervalTimer,
    //  KeepaliveTimer, MinRouteAdvertisementIntervalTimer, and
    //  ConnectRetryTimer. ... multiply the base value of the timer by a
    //  random factor, which is uniformly distributed in the range from 0.75
    //  to 1.0."
    /// `base` multiplied by a random factor in [0.75, 1.0].
    pub fn apply(&mut self, base: Duration) -> Duration {
        // 1024 steps between 0.75 and 1.0.
        let step = self.next_u64() % 1025;
        let millis = base.as_millis().min(u128::from(u64::MAX)) as u64;
        let scaled = millis.saturating_mul(768 + step / 4) / 1024;
        Duration::from_millis(scaled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_between_three_quarters_and_one() {
        let mut j = Jitter::new(42);
        let base = Duration::from_secs(30);
        for _ in 0..1000 {
            let d = j.apply(base);
            assert!(d >= Duration::from_millis(22_500) && d <= base, "{d:?}");
        }
    }

    #[test]
    fn expired_timers_come_out_in_order_and_are_disarmed() {
        let t0 = Instant::now();
        let mut t = Timers::default();
        t.arm(Timer::Hold, t0 + Duration::from_secs(5));
        t.arm(Timer::Keepalive, t0 + Duration::from_secs(2));
        t.arm(Timer::ConnectRetry, t0 + Duration::from_secs(9));
        assert_eq!(t.next(), Some(t0 + Duration::from_secs(2)));
        assert_eq!(
            t.take_expired(t0 + Duration::from_secs(6)),
            vec![Timer::Keepalive, Timer::Hold]
        );
        assert_eq!(t.next(), Some(t0 + Duration::from_secs(9)));
        assert!(t.take_expired(t0 + Duration::from_secs(6)).is_empty());
    }
}
