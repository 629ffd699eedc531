//! The monitor's count of what the daemon announced: the set of prefixes
//! announced minus withdrawn, per family, shared by all the monitor's
//! sessions (one in a daemon run, one per feeder in null-sink mode), and
//! the counts published on a watch channel so that the runner can wait
//! for a target and take the time at once.
//!
//! IPv4 prefixes come from the NLRI field and leave through the Withdrawn
//! Routes field; IPv6 ones (dual stack) come in MP_REACH_NLRI and leave in
//! MP_UNREACH_NLRI (RFC 4760). Each family has its own set and count.
//!
//! A rolling restart (`--flap`) also counts the prefixes whose latest
//! announcement carries [`FLAPPED`]: those the daemon has from the
//! feeders' second sessions.

use crate::workload::FLAPPED;
use bgp_proto::msg::attributes::type_code;
use bgp_proto::types::{Family, Ipv4Prefix, Ipv6Prefix, Prefix};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use tokio::sync::watch;

/// What the monitor has seen so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// IPv4 prefixes currently announced to the monitor.
    pub prefixes: usize,
    /// IPv6 prefixes currently announced to the monitor.
    pub prefixes6: usize,
    /// Prefixes (both families) whose latest announcement carries
    /// [`FLAPPED`].
    pub flapped: usize,
    /// UPDATE messages received.
    pub updates: u64,
    /// End-of-RIB for IPv4 unicast received (on any session).
    pub end_of_rib: bool,
    /// End-of-RIB for IPv6 unicast received (on any session).
    pub end_of_rib6: bool,
}

impl Counts {
    /// Prefixes of both families.
    pub fn total(&self) -> usize {
        self.prefixes + self.prefixes6
    }

    /// Whether every prefix is there: `v4` IPv4 and `v6` IPv6 ones.
    pub fn holds(&self, v4: usize, v6: usize) -> bool {
        self.prefixes >= v4 && self.prefixes6 >= v6
    }
}

/// The prefixes announced to the monitor.
#[derive(Debug, Default)]
struct Sets {
    // Apart, so the IPv4 set stays keyed by the 8-octet prefix it has
    // always been (a million of them are hashed per run).
    v4: HashSet<Ipv4Prefix>,
    v6: HashSet<Ipv6Prefix>,
    /// Those announced with [`FLAPPED`]; empty (and never looked up)
    /// outside a rolling restart.
    flapped: HashSet<Prefix>,
}

/// The monitor's prefix sets, shared by all its sessions.
#[derive(Debug)]
pub struct Counter {
    sets: Mutex<Sets>,
    tx: watch::Sender<Counts>,
}

/// Whether `u`'s COMMUNITIES attribute holds [`FLAPPED`].
fn carries_flapped(u: &bgp_proto::wire::update::Update) -> bool {
    let mark = FLAPPED.0.to_be_bytes();
    u.raw_attributes()
        .filter(|a| a.type_code == type_code::COMMUNITIES)
        .any(|a| a.value.chunks_exact(4).any(|c| c == mark))
}

impl Counter {
    /// An empty counter.
    pub fn new() -> Arc<Counter> {
        Arc::new(Counter {
            sets: Mutex::new(Sets::default()),
            tx: watch::channel(Counts::default()).0,
        })
    }

    /// A receiver of the counts, to wait on.
    pub fn subscribe(&self) -> watch::Receiver<Counts> {
        self.tx.subscribe()
    }

    /// The counts now.
    pub fn now(&self) -> Counts {
        *self.tx.borrow()
    }

    /// Applies one decoded UPDATE: the NLRI and Withdrawn Routes fields
    /// and MP_REACH_NLRI / MP_UNREACH_NLRI, whatever their family (an
    /// RFC 7606 treat-as-withdraw UPDATE withdraws what it carries).
    pub(crate) fn apply(&self, u: &bgp_proto::wire::update::Update) {
        let eor = u.end_of_rib();
        let marked = u.announcements().next().is_some() && carries_flapped(u);
        let Ok(mut sets) = self.sets.lock() else {
            return;
        };
        let Sets { v4, v6, flapped } = &mut *sets;
        for (_, n) in u.withdrawals() {
            match n.prefix {
                Prefix::V4(p) => v4.remove(&p),
                Prefix::V6(p) => v6.remove(&p),
            };
            if !flapped.is_empty() {
                flapped.remove(&n.prefix);
            }
        }
        for (_, n) in u.announcements() {
            match n.prefix {
                Prefix::V4(p) => v4.insert(p),
                Prefix::V6(p) => v6.insert(p),
            };
            if marked {
                flapped.insert(n.prefix);
            } else if !flapped.is_empty() {
                flapped.remove(&n.prefix);
            }
        }
        // Published before the lock goes: with several sessions (null
        // sink), a count taken earlier but published later would hide
        // the final one, and the wait for it would time out.
        self.tx.send_modify(|c| {
            c.prefixes = v4.len();
            c.prefixes6 = v6.len();
            c.flapped = flapped.len();
            c.updates += 1;
            c.end_of_rib |= eor == Some(Family::IPV4_UNICAST);
            c.end_of_rib6 |= eor == Some(Family::IPV6_UNICAST);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::{generate_dual, session_context};
    use bgp_proto::wire::update::UpdatePacker;
    use bgp_proto::wire::{decode_message, split_frame, Decoded};
    use bytes::{Bytes, BytesMut};
    use std::net::Ipv4Addr;

    /// Feeds `batches` (whole messages) through the decoder into `c`.
    fn apply_all(c: &Counter, batches: &[Bytes]) {
        let ctx = session_context();
        let mut buf = BytesMut::new();
        for b in batches {
            buf.extend_from_slice(b);
        }
        while let Some(frame) = split_frame(&mut buf, &ctx).unwrap() {
            let Decoded::Update(u) = decode_message(frame, &ctx).unwrap() else {
                panic!("not an UPDATE");
            };
            c.apply(&u);
        }
    }

    #[test]
    fn monitor_counts_each_family_apart() {
        let feeders = [(Ipv4Addr::new(10, 99, 1, 1), 4_200_000_001)];
        let addrs6 = ["fd99::1:1".parse().unwrap()];
        let w = generate_dual(2_000, 500, &feeders, &addrs6, 3).unwrap();
        let f = &w.feeders[0];
        let c = Counter::new();
        apply_all(&c, &f.announce);
        let now = c.now();
        assert_eq!((now.prefixes, now.prefixes6), (2_000, 500));
        assert!(now.holds(2_000, 500) && !now.holds(2_000, 501));
        assert!(!now.end_of_rib && !now.end_of_rib6);
        // MP_UNREACH_NLRI takes IPv6 prefixes away, the Withdrawn Routes
        // field IPv4 ones.
        let chosen = f.every_nth(10);
        apply_all(&c, &f.encode_withdraw(&chosen).unwrap());
        assert_eq!((c.now().prefixes, c.now().prefixes6), (1_800, 450));
        assert_eq!(c.now().total(), 2_250);
        apply_all(&c, &f.encode_reannounce(&chosen).unwrap());
        assert_eq!(c.now().total(), 2_500);
        let packer_ctx = session_context();
        let packer = UpdatePacker::new(&packer_ctx);
        apply_all(&c, &[packer.end_of_rib(Family::IPV6_UNICAST).unwrap()]);
        assert!(c.now().end_of_rib6 && !c.now().end_of_rib);
        apply_all(&c, &[packer.end_of_rib(Family::IPV4_UNICAST).unwrap()]);
        assert!(c.now().end_of_rib);
    }

    /// A rolling restart: the second session's routes carry the mark,
    /// and a prefix announced again without it, or withdrawn, is no
    /// longer counted as flapped.
    #[test]
    fn monitor_counts_the_flapped_routes() {
        let feeders = [(Ipv4Addr::new(10, 99, 1, 1), 4_200_000_001)];
        let addrs6 = ["fd99::1:1".parse().unwrap()];
        let w = generate_dual(400, 100, &feeders, &addrs6, 9).unwrap();
        let f = &w.feeders[0];
        let c = Counter::new();
        apply_all(&c, &f.announce);
        assert_eq!(c.now().flapped, 0);
        let again = f.flapped().unwrap();
        assert_eq!(again.prefix_count(), 500);
        apply_all(&c, &again.announce);
        assert_eq!((c.now().total(), c.now().flapped), (500, 500));
        let chosen = f.every_nth(10);
        apply_all(&c, &f.encode_withdraw(&chosen).unwrap());
        assert_eq!((c.now().total(), c.now().flapped), (450, 450));
        apply_all(&c, &f.encode_reannounce(&chosen).unwrap());
        assert_eq!((c.now().total(), c.now().flapped), (500, 450));
    }

    /// Null-sink mode: several sessions apply UPDATEs at once, and the
    /// count published last must be the final one (a stale count
    /// published late would never reach the target: a timeout).
    #[test]
    fn concurrent_sessions_publish_the_latest_count() {
        let feeders = [
            (Ipv4Addr::new(10, 99, 1, 1), 4_200_000_001),
            (Ipv4Addr::new(10, 99, 1, 2), 4_200_000_002),
        ];
        let addrs6 = ["fd99::1:1".parse().unwrap(), "fd99::1:2".parse().unwrap()];
        let w = generate_dual(400, 100, &feeders, &addrs6, 5).unwrap();
        let ctx = session_context();
        // Each feeder's table, decoded once, one prefix per UPDATE.
        let updates: Vec<Vec<bgp_proto::wire::update::Update>> = w
            .feeders
            .iter()
            .map(|f| {
                let one_each: Vec<_> = f.every_nth(1).chunks(1).map(<[_]>::to_vec).collect();
                let mut out = Vec::new();
                for nlri in one_each {
                    for batch in f.encode_reannounce(&nlri).unwrap() {
                        let mut buf = BytesMut::from(&batch[..]);
                        while let Some(frame) = split_frame(&mut buf, &ctx).unwrap() {
                            if let Decoded::Update(u) = decode_message(frame, &ctx).unwrap() {
                                out.push(u);
                            }
                        }
                    }
                }
                out
            })
            .collect();
        for _ in 0..100 {
            let c = Counter::new();
            std::thread::scope(|s| {
                for list in &updates {
                    let c = &c;
                    s.spawn(move || list.iter().for_each(|u| c.apply(u)));
                }
            });
            assert_eq!((c.now().prefixes, c.now().prefixes6), (400, 100));
        }
    }
}
