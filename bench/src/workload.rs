//! The generated routing table and the UPDATE bytes the feeders send.
//!
//! The table is generated once per run from a fixed seed, so every daemon
//! receives exactly the same bytes. It looks like a slice of the Internet
//! table: about 60 % /24s and the rest /16 to /23, AS paths of 1 to 6
//! hops (the feeder's own AS first, then ASes from a pool of 2-octet and
//! 4-octet numbers), one attribute set per 10 to 20 prefixes, MED on some
//! sets and 1 to 4 communities on others. The prefixes are split among
//! the feeders without overlap.
//!
//! A dual-stack workload (scenario F) adds an IPv6 table ([`workload6`]
//! has its shape) drawn from its own random stream, so the IPv4 half is
//! the same bytes whatever the IPv6 count. Each feeder announces its IPv6
//! share in MP_REACH_NLRI (RFC 4760) with its own address on the bench
//! link as the next hop, after its IPv4 share.
//!
//! [`workload6`]: crate::workload6

use crate::workload6;
use crate::{Error, Result};
use bgp_proto::msg::{AsPath, Community, MpNextHop, Origin, PathAttributes, SessionContext};
use bgp_proto::types::{Family, Ipv4Prefix, Nlri, Prefix};
use bgp_proto::wire::update::UpdatePacker;
use bytes::{Bytes, BytesMut};
use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Messages are grouped into write batches of about this many octets.
const BATCH: usize = 64 * 1024;

/// The community every route of a feeder's second session carries (a
/// rolling restart, `--flap`): the monitor tells the routes of the new
/// session from those of the old by it (64512:2, a private AS).
pub const FLAPPED: Community = Community((64_512 << 16) | 2);

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

/// One attribute set and the prefixes announced with it (all of one
/// family).
#[derive(Debug, Clone)]
pub struct Group {
    /// The path attributes (NEXT_HOP is the feeder's address for IPv4;
    /// unset for IPv6, whose next hop goes in MP_REACH_NLRI).
    pub attrs: PathAttributes,
    /// The prefixes.
    pub nlri: Vec<Nlri>,
}

impl Group {
    /// The family of its prefixes.
    pub fn family(&self) -> Family {
        self.nlri
            .first()
            .map_or(Family::IPV4_UNICAST, |n| n.prefix.family())
    }
}

/// Everything one feeder announces.
#[derive(Debug, Clone)]
pub struct FeederLoad {
    /// The feeder's address (also the NEXT_HOP it announces).
    pub addr: Ipv4Addr,
    /// Its IPv6 address on the bench link, the next hop of its IPv6
    /// routes; set on every feeder of a dual-stack workload (whose
    /// sessions then carry both families), `None` for IPv4 only.
    pub addr6: Option<Ipv6Addr>,
    /// The feeder's AS.
    pub asn: u32,
    /// Its attribute sets with their prefixes: the IPv4 groups, then the
    /// IPv6 ones.
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

    /// How many prefixes of `family` this feeder announces.
    pub fn family_count(&self, family: Family) -> usize {
        self.groups
            .iter()
            .filter(|g| g.family() == family)
            .map(|g| g.nlri.len())
            .sum()
    }

    /// The families its sessions carry: IPv4 unicast, and IPv6 unicast
    /// in a dual-stack workload.
    pub fn families(&self) -> Vec<Family> {
        let mut f = vec![Family::IPV4_UNICAST];
        if self.addr6.is_some() {
            f.push(Family::IPV6_UNICAST);
        }
        f
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

    /// This feeder's load as its next session announces it after a flap:
    /// every attribute set also carries [`FLAPPED`].
    pub fn flapped(&self) -> Result<FeederLoad> {
        let mut groups = self.groups.clone();
        for g in &mut groups {
            g.attrs.communities.push(FLAPPED);
        }
        let ctx = session_context();
        let packer = UpdatePacker::new(&ctx);
        let mut msgs = Vec::new();
        for g in &groups {
            msgs.extend(announce(&packer, g, &g.nlri, self.addr6)?);
        }
        Ok(FeederLoad {
            groups,
            messages: msgs.len(),
            announce: batch(&msgs),
            ..*self
        })
    }

    /// UPDATEs withdrawing `nlri` (IPv4 in the Withdrawn Routes field,
    /// IPv6 in MP_UNREACH_NLRI), in write batches.
    pub fn encode_withdraw(&self, nlri: &[Nlri]) -> Result<Vec<Bytes>> {
        let ctx = session_context();
        let packer = UpdatePacker::new(&ctx);
        let mut msgs = Vec::new();
        for family in [Family::IPV4_UNICAST, Family::IPV6_UNICAST] {
            let mine: Vec<Nlri> = nlri
                .iter()
                .filter(|n| n.prefix.family() == family)
                .copied()
                .collect();
            msgs.extend(packer.withdraw(family, &mine)?);
        }
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
            msgs.extend(announce(&packer, g, &nlri, self.addr6)?);
        }
        Ok(batch(&msgs))
    }
}

/// UPDATEs announcing `nlri` (of `g`'s family) with `g`'s attributes:
/// IPv4 with NEXT_HOP, IPv6 in MP_REACH_NLRI with `addr6` as the next hop
/// (global only: the feeders sit on the daemon's link, so a global
/// address there is reachable and no link-local one is needed).
fn announce(
    packer: &UpdatePacker<'_>,
    g: &Group,
    nlri: &[Nlri],
    addr6: Option<Ipv6Addr>,
) -> Result<Vec<Bytes>> {
    let family = g.family();
    let next_hop = if family == Family::IPV4_UNICAST {
        None
    } else {
        let a = addr6
            .ok_or_else(|| Error::Usage("IPv6 routes need the feeder's IPv6 address".into()))?;
        Some(MpNextHop {
            global: IpAddr::V6(a),
            link_local: None,
        })
    };
    Ok(packer.announce(&g.attrs, next_hop, family, nlri)?)
}

/// The whole workload of a run.
#[derive(Debug, Clone)]
pub struct Workload {
    /// One entry per feeder.
    pub feeders: Vec<FeederLoad>,
}

impl Workload {
    /// Prefixes over all feeders and both families (they do not overlap).
    pub fn prefix_count(&self) -> usize {
        self.feeders.iter().map(FeederLoad::prefix_count).sum()
    }

    /// Prefixes of `family` over all feeders.
    pub fn family_count(&self, family: Family) -> usize {
        self.feeders.iter().map(|f| f.family_count(family)).sum()
    }

    /// Whether the feeders' sessions carry IPv6 unicast as well.
    pub fn dual_stack(&self) -> bool {
        self.feeders.iter().any(|f| f.addr6.is_some())
    }

    /// "100000 prefixes", or "1000000 IPv4 + 250000 IPv6 prefixes" for a
    /// dual-stack workload.
    pub fn describe(&self) -> String {
        if self.dual_stack() {
            format!(
                "{} IPv4 + {} IPv6 prefixes",
                self.family_count(Family::IPV4_UNICAST),
                self.family_count(Family::IPV6_UNICAST)
            )
        } else {
            format!("{} prefixes", self.prefix_count())
        }
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
    generate_dual(prefixes, 0, feeders, &[], seed)
}

/// Seed of the IPv6 half's own stream: drawn from the main stream, the
/// IPv6 table would shift every IPv4 attribute set after it.
const SEED6: u64 = 0x6666_0000_0000_0006;

/// Generates `prefixes` IPv4 and `prefixes6` IPv6 unique prefixes split
/// over `feeders` (address, AS) and encodes each feeder's UPDATEs. With
/// `prefixes6` above zero, `addrs6` holds each feeder's IPv6 address (the
/// next hop of its IPv6 routes) and every feeder is dual stack, even one
/// whose IPv6 share is empty. With `prefixes6` zero this is [`generate`],
/// byte for byte.
pub fn generate_dual(
    prefixes: usize,
    prefixes6: usize,
    feeders: &[(Ipv4Addr, u32)],
    addrs6: &[Ipv6Addr],
    seed: u64,
) -> Result<Workload> {
    if prefixes6 > 0 && addrs6.len() != feeders.len() {
        return Err(Error::Usage(format!(
            "{} feeders but {} IPv6 addresses",
            feeders.len(),
            addrs6.len()
        )));
    }
    let mut rng = SplitMix::new(seed);
    let all = unique_prefixes(prefixes, &mut rng);
    let pool = as_pool(&mut rng);
    let mut rng6 = SplitMix::new(seed ^ SEED6);
    let all6 = workload6::unique_prefixes6(prefixes6, &mut rng6);
    let k = feeders.len().max(1);
    let ctx = session_context();
    let packer = UpdatePacker::new(&ctx);
    let mut out = Vec::with_capacity(feeders.len());
    let mut rest = all.as_slice();
    let mut rest6 = all6.as_slice();
    for (i, &(addr, asn)) in feeders.iter().enumerate() {
        // An even split; the first feeders take the remainder.
        let share = prefixes / k + usize::from(i < prefixes % k);
        let (mine, tail) = rest.split_at(share.min(rest.len()));
        rest = tail;
        let v4: Vec<Nlri> = mine.iter().map(|p| Nlri::new(Prefix::V4(*p))).collect();
        let mut groups = grouped(&v4, &mut rng, |rng| {
            attribute_set(rng, &pool, Some(addr), asn)
        });
        let addr6 = (prefixes6 > 0).then(|| addrs6.get(i).copied()).flatten();
        if addr6.is_some() {
            let share6 = prefixes6 / k + usize::from(i < prefixes6 % k);
            let (mine6, tail6) = rest6.split_at(share6.min(rest6.len()));
            rest6 = tail6;
            let v6: Vec<Nlri> = mine6.iter().map(|p| Nlri::new(Prefix::V6(*p))).collect();
            groups.extend(grouped(&v6, &mut rng6, |rng| {
                attribute_set(rng, &pool, None, asn)
            }));
        }
        let mut msgs = Vec::new();
        for g in &groups {
            msgs.extend(announce(&packer, g, &g.nlri, addr6)?);
        }
        out.push(FeederLoad {
            addr,
            addr6,
            asn,
            groups,
            messages: msgs.len(),
            announce: batch(&msgs),
        });
    }
    Ok(Workload { feeders: out })
}

/// Cuts `nlri` into groups of 10 to 20 prefixes, each with an attribute
/// set from `attrs` (drawn right after the group's size, as the IPv4
/// table always has been, so its bytes stay the same).
fn grouped(
    nlri: &[Nlri],
    rng: &mut SplitMix,
    mut attrs: impl FnMut(&mut SplitMix) -> PathAttributes,
) -> Vec<Group> {
    let mut groups = Vec::new();
    let mut left = nlri;
    while !left.is_empty() {
        let size = usize::try_from(10 + rng.below(11)).unwrap_or(10);
        let (chunk, tail) = left.split_at(size.min(left.len()));
        left = tail;
        groups.push(Group {
            attrs: attrs(rng),
            nlri: chunk.to_vec(),
        });
    }
    groups
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
/// hops starting with the feeder's AS, NEXT_HOP the feeder (IPv4; `None`
/// for IPv6 sets), MED on a third of the sets, communities on two fifths.
fn attribute_set(
    rng: &mut SplitMix,
    pool: &[u32],
    next_hop: Option<Ipv4Addr>,
    asn: u32,
) -> PathAttributes {
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
        next_hop,
        med,
        communities,
        ..PathAttributes::default()
    }
}

/// The (family, prefix) pairs the UPDATEs of `batches` withdraw
/// (`withdraw`) or announce: what the tests of the churn messages compare.
#[cfg(test)]
pub(crate) fn churned(
    batches: &[Bytes],
    withdraw: bool,
    ctx: &SessionContext,
) -> HashSet<(Family, Nlri)> {
    use bgp_proto::wire::{decode_message, split_frame, Decoded};
    let mut buf = BytesMut::new();
    for b in batches {
        buf.extend_from_slice(b);
    }
    let mut got = HashSet::new();
    while let Some(frame) = split_frame(&mut buf, ctx).unwrap_or(None) {
        let Ok(Decoded::Update(u)) = decode_message(frame, ctx) else {
            panic!("not an UPDATE");
        };
        if withdraw {
            got.extend(u.withdrawals());
        } else {
            got.extend(u.announcements());
        }
    }
    got
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
            let got: HashSet<Nlri> = churned(&batches, withdraw, &ctx)
                .into_iter()
                .map(|(_, n)| n)
                .collect();
            let want: HashSet<Nlri> = chosen.iter().copied().collect();
            assert_eq!(got, want);
        }
    }
}
