//! The generated routing table and the UPDATE bytes the feeders send.
//!
//! The table is generated once per run from a fixed seed, so every daemon
//! receives exactly the same bytes. It looks like a slice of the Internet
//! table: about 60 % /24s and the rest /16 to /23, AS paths of 1 to 6
//! hops (the feeder's own AS first, then ASes from a pool of 2-octet and
//! 4-octet numbers), one attribute set per 10 to 20 prefixes, MED on some
//! sets and 1 to 4 communities on others. The prefixes are split among
//! the feeders without overlap.

use crate::Result;
use bgp_proto::msg::{AsPath, Community, Origin, PathAttributes, SessionContext};
use bgp_proto::types::{Family, Ipv4Prefix, Nlri, Prefix};
use bgp_proto::wire::update::UpdatePacker;
use bytes::{Bytes, BytesMut};
use std::collections::HashSet;
use std::net::Ipv4Addr;

/// Messages are grouped into write batches of about this many octets.
const BATCH: usize = 64 * 1024;

/// A small deterministic generator (SplitMix64), so the workload does not
/// depend on a crate's idea of a stable stream.
#[derive(Debug, Clone)]
pub struct SplitMix(u64);

impl SplitMix {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Self {
        SplitMix(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next_u64() % n
        }
    }

    /// True with probability `pct` percent.
    pub fn chance(&mut self, pct: u64) -> bool {
        self.below(100) < pct
    }
}

/// One attribute set and the prefixes announced with it.
#[derive(Debug, Clone)]
pub struct Group {
    /// The path attributes (NEXT_HOP is the feeder's address).
    pub attrs: PathAttributes,
    /// The prefixes.
    pub nlri: Vec<Nlri>,
}

/// Everything one feeder announces.
#[derive(Debug, Clone)]
pub struct FeederLoad {
    /// The feeder's address (also the NEXT_HOP it announces).
    pub addr: Ipv4Addr,
    /// The feeder's AS.
    pub asn: u32,
    /// Its attribute sets with their prefixes.
    pub groups: Vec<Group>,
    /// The announcements, whole messages concatenated into write batches.
    pub announce: Vec<Bytes>,
    /// How many UPDATE messages `announce` holds.
    pub messages: usize,
}

impl FeederLoad {
    /// How many prefixes this feeder announces.
    pub fn prefix_count(&self) -> usize {
        self.groups.iter().map(|g| g.nlri.len()).sum()
    }

    /// Every `nth` prefix of this feeder (for churn), in order.
    pub fn every_nth(&self, nth: usize) -> Vec<Nlri> {
        self.groups
            .iter()
            .flat_map(|g| g.nlri.iter())
            .step_by(nth.max(1))
            .copied()
            .collect()
    }

    /// UPDATEs withdrawing `nlri`, in write batches.
    pub fn encode_withdraw(&self, nlri: &[Nlri]) -> Result<Vec<Bytes>> {
        let ctx = session_context();
        let msgs = UpdatePacker::new(&ctx).withdraw(Family::IPV4_UNICAST, nlri)?;
        Ok(batch(&msgs))
    }

    /// UPDATEs announcing again those of this feeder's prefixes that are
    /// in `only`, each with its original attribute set, in write batches.
    pub fn encode_reannounce(&self, only: &[Nlri]) -> Result<Vec<Bytes>> {
        let keep: HashSet<Nlri> = only.iter().copied().collect();
        let ctx = session_context();
        let packer = UpdatePacker::new(&ctx);
        let mut msgs = Vec::new();
        for g in &self.groups {
            let nlri: Vec<Nlri> = g
                .nlri
                .iter()
                .filter(|n| keep.contains(n))
                .copied()
                .collect();
            msgs.extend(packer.announce(&g.attrs, None, Family::IPV4_UNICAST, &nlri)?);
        }
        Ok(batch(&msgs))
    }
}

/// The whole workload of a run.
#[derive(Debug, Clone)]
pub struct Workload {
    /// One entry per feeder.
    pub feeders: Vec<FeederLoad>,
}

impl Workload {
    /// Prefixes over all feeders (they do not overlap).
    pub fn prefix_count(&self) -> usize {
        self.feeders.iter().map(FeederLoad::prefix_count).sum()
    }

    /// Octets of UPDATEs over all feeders.
    pub fn bytes(&self) -> usize {
        self.feeders
            .iter()
            .flat_map(|f| f.announce.iter())
            .map(Bytes::len)
            .sum()
    }

    /// UPDATE messages over all feeders.
    pub fn messages(&self) -> usize {
        self.feeders.iter().map(|f| f.messages).sum()
    }
}

/// The session the workload is encoded for: 4-octet AS, standard
/// 4096-octet messages, no ADD-PATH. Feeders refuse peers without 4-octet
/// AS support.
pub fn session_context() -> SessionContext {
    SessionContext {
        four_octet_as: true,
        ..SessionContext::default()
    }
}

/// Generates `prefixes` unique IPv4 prefixes split over `feeders`
/// (address, AS) and encodes each feeder's UPDATEs.
pub fn generate(prefixes: usize, feeders: &[(Ipv4Addr, u32)], seed: u64) -> Result<Workload> {
    let mut rng = SplitMix::new(seed);
    let all = unique_prefixes(prefixes, &mut rng);
    let pool = as_pool(&mut rng);
    let k = feeders.len().max(1);
    let ctx = session_context();
    let packer = UpdatePacker::new(&ctx);
    let mut out = Vec::with_capacity(feeders.len());
    let mut rest = all.as_slice();
    for (i, &(addr, asn)) in feeders.iter().enumerate() {
        // An even split; the first feeders take the remainder.
        let share = prefixes / k + usize::from(i < prefixes % k);
        let (mine, tail) = rest.split_at(share.min(rest.len()));
        rest = tail;
        let mut groups = Vec::new();
        let mut left = mine;
        while !left.is_empty() {
            let size = usize::try_from(10 + rng.below(11)).unwrap_or(10);
            let (chunk, tail) = left.split_at(size.min(left.len()));
            left = tail;
            groups.push(Group {
                attrs: attribute_set(&mut rng, &pool, addr, asn),
                nlri: chunk.iter().map(|p| Nlri::new(Prefix::V4(*p))).collect(),
            });
        }
        let mut msgs = Vec::new();
        for g in &groups {
            msgs.extend(packer.announce(&g.attrs, None, Family::IPV4_UNICAST, &g.nlri)?);
        }
        out.push(FeederLoad {
            addr,
            asn,
            groups,
            messages: msgs.len(),
            announce: batch(&msgs),
        });
    }
    Ok(Workload { feeders: out })
}

/// Concatenates whole messages into batches of about [`BATCH`] octets.
fn batch(msgs: &[Bytes]) -> Vec<Bytes> {
    let mut out = Vec::new();
    let mut cur = BytesMut::with_capacity(BATCH + 4096);
    for m in msgs {
        cur.extend_from_slice(m);
        if cur.len() >= BATCH {
            out.push(cur.split().freeze());
        }
    }
    if !cur.is_empty() {
        out.push(cur.freeze());
    }
    out
}

/// A realistic prefix length: mostly /24, the rest /16 to /23.
fn prefix_len(rng: &mut SplitMix) -> u8 {
    match rng.below(100) {
        0..=59 => 24,
        60..=69 => 23,
        70..=79 => 22,
        80..=85 => 21,
        86..=90 => 20,
        91..=93 => 19,
        94..=95 => 18,
        96..=97 => 17,
        _ => 16,
    }
}

/// `n` distinct unicast prefixes, none in 0/8, 10/8 (the bench's own
/// links are in 10.99/16), 127/8, 169.254/16 or multicast and above.
pub fn unique_prefixes(n: usize, rng: &mut SplitMix) -> Vec<Ipv4Prefix> {
    let mut seen = HashSet::with_capacity(n);
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let len = prefix_len(rng);
        let bits = u32::try_from(rng.next_u64() >> 32).unwrap_or(0);
        let first = bits >> 24;
        if first == 0 || first == 10 || first == 127 || first >= 224 || bits >> 16 == 0xA9FE {
            continue;
        }
        let Some(p) = Ipv4Prefix::new(Ipv4Addr::from(bits), len) else {
            continue;
        };
        if seen.insert(p) {
            out.push(p);
        }
    }
    out
}

/// The transit ASes paths are drawn from: 2-octet ones below the private
/// range, and one in ten a 4-octet one.
fn as_pool(rng: &mut SplitMix) -> Vec<u32> {
    (0..3000)
        .map(|_| {
            let v = if rng.chance(10) {
                131_072 + rng.below(270_000)
            } else {
                1 + rng.below(63_999)
            };
            u32::try_from(v).unwrap_or(1)
        })
        .collect()
}

/// One attribute set of a feeder: ORIGIN (mostly IGP), AS_PATH of 1 to 6
/// hops starting with the feeder's AS, NEXT_HOP the feeder, MED on a
/// third of the sets, communities on two fifths.
fn attribute_set(rng: &mut SplitMix, pool: &[u32], next_hop: Ipv4Addr, asn: u32) -> PathAttributes {
    let hops = rng.below(6);
    let mut path = vec![asn];
    for _ in 0..hops {
        let i = usize::try_from(rng.below(pool.len() as u64)).unwrap_or(0);
        path.push(pool.get(i).copied().unwrap_or(1));
    }
    let med = rng
        .chance(33)
        .then(|| u32::try_from(rng.below(1000)).unwrap_or(0));
    let communities = if rng.chance(40) {
        let count = 1 + rng.below(4);
        (0..count)
            .map(|_| {
                let local = u32::try_from(rng.below(65_536)).unwrap_or(0);
                Community((asn & 0xFFFF) << 16 | local)
            })
            .collect()
    } else {
        Vec::new()
    };
    PathAttributes {
        origin: Some(if rng.chance(90) {
            Origin::Igp
        } else {
            Origin::Incomplete
        }),
        as_path: AsPath::from_sequence(path),
        next_hop: Some(next_hop),
        med,
        communities,
        ..PathAttributes::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bgp_proto::wire::{decode_message, split_frame, Decoded};

    #[test]
    fn workload_is_deterministic_and_decodes_to_every_prefix() {
        let feeders = [
            (Ipv4Addr::new(10, 99, 1, 1), 4_200_000_001),
            (Ipv4Addr::new(10, 99, 1, 2), 4_200_000_002),
        ];
        let w = generate(5_001, &feeders, 7).unwrap();
        let again = generate(5_001, &feeders, 7).unwrap();
        assert_eq!(w.feeders[0].announce, again.feeders[0].announce);
        assert_eq!(w.prefix_count(), 5_001);
        assert_eq!(w.feeders[0].prefix_count(), 2_501);
        let ctx = session_context();
        let mut seen = HashSet::new();
        for f in &w.feeders {
            let mut buf = BytesMut::new();
            for b in &f.announce {
                buf.extend_from_slice(b);
            }
            let mut n = 0;
            while let Some(frame) = split_frame(&mut buf, &ctx).unwrap() {
                let Decoded::Update(u) = decode_message(frame, &ctx).unwrap() else {
                    panic!("not an UPDATE");
                };
                assert!(u.issues().is_empty());
                let a = u.attributes();
                assert_eq!(a.as_path.neighbor_as(), Some(f.asn));
                assert!((1..=6).contains(&a.as_path.path_len()));
                seen.extend(u.nlri());
                n += 1;
            }
            assert!(buf.is_empty());
            assert_eq!(n, f.messages);
        }
        assert_eq!(seen.len(), 5_001);
        let v24 = seen.iter().filter(|n| n.prefix.len() == 24).count();
        assert!(v24 > 2_500 && v24 < 3_500, "{v24} /24s");
    }

    #[test]
    fn churn_messages_cover_the_chosen_prefixes() {
        let w = generate(1_000, &[(Ipv4Addr::new(10, 99, 1, 1), 65_001)], 1).unwrap();
        let f = &w.feeders[0];
        let chosen = f.every_nth(10);
        assert_eq!(chosen.len(), 100);
        let ctx = session_context();
        for (batches, withdraw) in [
            (f.encode_withdraw(&chosen).unwrap(), true),
            (f.encode_reannounce(&chosen).unwrap(), false),
        ] {
            let mut buf = BytesMut::new();
            for b in &batches {
                buf.extend_from_slice(b);
            }
            let mut got = HashSet::new();
            while let Some(frame) = split_frame(&mut buf, &ctx).unwrap() {
                let Decoded::Update(u) = decode_message(frame, &ctx).unwrap() else {
                    panic!("not an UPDATE");
                };
                if withdraw {
                    got.extend(u.withdrawn());
                } else {
                    got.extend(u.nlri());
                }
            }
            let want: HashSet<Nlri> = chosen.iter().copied().collect();
            assert_eq!(got, want);
        }
    }
}
