//! Transmit jitter (RFC 5880 6.8.7) from a small seeded generator, so a
//! session is deterministic for a given seed and needs no OS randomness.

use std::time::Duration;

/// xorshift64* seeded through splitmix64; not for cryptography, only to
/// keep sessions from sending in lockstep.
#[derive(Debug, Clone)]
pub(crate) struct Jitter {
    state: u64,
}

impl Jitter {
    /// A generator from `seed` (any value, 0 included).
    pub(crate) fn new(seed: u64) -> Self {
        // splitmix64 spreads close seeds (consecutive discriminators) apart.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        Jitter {
            state: if z == 0 { 0x2545_F491_4F6C_DD1D } else { z },
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

    // RFC 5880 6.8.7:
    // "The periodic transmission of BFD Control packets MUST be jittered on
    //  a per-packet basis by up to 25%, that is, the interval MUST be
    //  reduced by a random value of 0 to 25% ... If bfd.DetectMult is equal
    //  to 1, the interval between transmitted BFD Control packets MUST be no
    //  more than 90% of the negotiated transmission interval, and MUST be no
    //  less than 75% of the negotiated transmission interval."
    /// `interval_us` scaled by a random factor in [0.75, 1.0], or in
    /// [0.75, 0.9] when `detect_mult` is 1, in steps of 0.1 %. Exact: the
    /// result is in nanoseconds.
    pub(crate) fn apply(&mut self, interval_us: u32, detect_mult: u8) -> Duration {
        let top = if detect_mult == 1 { 900 } else { 1000 };
        let permille = 750 + self.next_u64() % (top - 750 + 1);
        // µs × ‰ = ns; at most 2^32 × 1000, far below u64::MAX.
        Duration::from_nanos(u64::from(interval_us) * permille)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn factor_stays_within_rfc_bounds() {
        let mut j = Jitter::new(7);
        let (mut lo, mut hi) = (Duration::MAX, Duration::ZERO);
        for _ in 0..5000 {
            let d = j.apply(1_000_000, 3);
            assert!(
                d >= Duration::from_millis(750) && d <= Duration::from_secs(1),
                "{d:?}"
            );
            lo = lo.min(d);
            hi = hi.max(d);
        }
        // The whole range is used.
        assert!(lo < Duration::from_millis(760) && hi > Duration::from_millis(990));
        for _ in 0..5000 {
            let d = j.apply(1_000_000, 1);
            assert!(
                d >= Duration::from_millis(750) && d <= Duration::from_millis(900),
                "{d:?}"
            );
        }
    }

    #[test]
    fn same_seed_same_sequence_and_zero_seed_works() {
        let (mut a, mut b) = (Jitter::new(42), Jitter::new(42));
        for _ in 0..100 {
            assert_eq!(a.apply(300_000, 3), b.apply(300_000, 3));
        }
        let mut z = Jitter::new(0);
        assert_ne!(z.next_u64(), z.next_u64());
        assert!(Jitter::new(u64::MAX).apply(u32::MAX, 3) > Duration::ZERO);
    }
}
