//! The IPv6 table of a dual-stack workload (scenario F): its prefix
//! lengths and the range it is drawn from.
//!
//! The lengths follow the shape of the IPv6 Internet table: half /48s
//! (the longest length networks accept from each other), most of the rest
//! /32 (the usual allocation to a network) and /33 to /47 (its pieces,
//! /44 and /40 most often), a few shorter than /32. The addresses are
//! drawn from the unique-local range fd00::/8 (RFC 4193), so that nothing
//! collides with a real network, leaving out fd99::/16, where the bench
//! link is ([`crate::netns::LINK6_PREFIX`]).

use crate::workload::SplitMix;
use bgp_proto::types::Ipv6Prefix;
use std::collections::HashSet;
use std::net::Ipv6Addr;

/// The first octet of every generated IPv6 prefix: fd00::/8, the locally
/// assigned half of the unique-local range.
pub const RANGE6_FIRST_OCTET: u8 = 0xfd;

/// The first 16 bits of the bench link's addresses (fd99::/16), which the
/// table leaves out.
pub const LINK6_FIRST_BITS: u16 = 0xfd99;

/// A realistic IPv6 prefix length: half /48, an eighth /32, the rest
/// between /28 and /47 weighted towards /44 and /40.
pub fn prefix_len6(rng: &mut SplitMix) -> u8 {
    match rng.below(100) {
        0..=49 => 48,
        50..=51 => 47,
        52..=54 => 46,
        55..=56 => 45,
        57..=65 => 44,
        66..=67 => 42,
        68..=73 => 40,
        74..=75 => 38,
        76..=79 => 36,
        80..=81 => 34,
        82..=83 => 33,
        84..=95 => 32,
        96..=97 => 29,
        _ => 28,
    }
}

/// `n` distinct IPv6 prefixes in fd00::/8, none in fd99::/16.
pub fn unique_prefixes6(n: usize, rng: &mut SplitMix) -> Vec<Ipv6Prefix> {
    let mut seen = HashSet::with_capacity(n);
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let len = prefix_len6(rng);
        // The top 64 bits are all a /48 or shorter uses: the first octet
        // fixed, the next 56 bits random.
        let low = rng.next_u64() >> 8;
        let top = u64::from(RANGE6_FIRST_OCTET) << 56 | low;
        if top >> 48 == u64::from(LINK6_FIRST_BITS) {
            continue;
        }
        let addr = Ipv6Addr::from(u128::from(top) << 64);
        let Some(p) = Ipv6Prefix::new(addr, len) else {
            continue;
        };
        if seen.insert(p) {
            out.push(p);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::{generate, generate_dual, session_context};
    use bgp_proto::msg::MpNextHop;
    use bgp_proto::types::{Family, Nlri, Prefix};
    use bgp_proto::wire::{decode_message, split_frame, Decoded};
    use bytes::BytesMut;
    use std::collections::HashMap;
    use std::net::{IpAddr, Ipv4Addr};

    fn feeders() -> [(Ipv4Addr, u32); 2] {
        [
            (Ipv4Addr::new(10, 99, 1, 1), 4_200_000_001),
            (Ipv4Addr::new(10, 99, 1, 2), 4_200_000_002),
        ]
    }

    fn addrs6() -> [Ipv6Addr; 2] {
        ["fd99::1:1".parse().unwrap(), "fd99::1:2".parse().unwrap()]
    }

    #[test]
    fn ipv6_prefixes_are_unique_local_and_shaped_like_the_table() {
        let mut rng = SplitMix::new(5);
        let ps = unique_prefixes6(20_000, &mut rng);
        let set: HashSet<_> = ps.iter().collect();
        assert_eq!(set.len(), 20_000);
        let mut by_len: HashMap<u8, usize> = HashMap::new();
        for p in &ps {
            let bits = p.addr_bits();
            assert_eq!((bits >> 120) as u8, RANGE6_FIRST_OCTET, "{p}");
            assert_ne!((bits >> 112) as u16, LINK6_FIRST_BITS, "{p}");
            assert!((28..=48).contains(&p.len()), "{p}");
            *by_len.entry(p.len()).or_default() += 1;
        }
        let share = |len| by_len.get(&len).copied().unwrap_or(0) * 100 / ps.len();
        assert!((45..=55).contains(&share(48)), "{by_len:?}");
        assert!((9..=15).contains(&share(32)), "{by_len:?}");
        assert!((6..=12).contains(&share(44)), "{by_len:?}");
        let mid: usize = (33..=47)
            .map(|l| by_len.get(&l).copied().unwrap_or(0))
            .sum();
        assert!(mid * 100 / ps.len() >= 25, "{by_len:?}");
    }

    /// Decodes every UPDATE of a feeder: IPv4 NLRI with NEXT_HOP, IPv6
    /// NLRI in MP_REACH_NLRI with the feeder's IPv6 next hop, and never
    /// both in one message (RFC 7606 5.1).
    #[test]
    fn dual_stack_updates_decode_to_every_prefix_and_next_hop() {
        let w = generate_dual(2_001, 501, &feeders(), &addrs6(), 9).unwrap();
        assert!(w.dual_stack());
        assert_eq!(w.family_count(Family::IPV4_UNICAST), 2_001);
        assert_eq!(w.family_count(Family::IPV6_UNICAST), 501);
        assert_eq!(w.feeders[0].family_count(Family::IPV6_UNICAST), 251);
        assert_eq!(w.describe(), "2001 IPv4 + 501 IPv6 prefixes");
        let again = generate_dual(2_001, 501, &feeders(), &addrs6(), 9).unwrap();
        assert_eq!(w.feeders[1].announce, again.feeders[1].announce);
        let ctx = session_context();
        let (mut v4, mut v6) = (HashSet::new(), HashSet::new());
        for (f, want_nh) in w.feeders.iter().zip(addrs6()) {
            assert_eq!(f.addr6, Some(want_nh));
            let mut buf = BytesMut::new();
            for b in &f.announce {
                buf.extend_from_slice(b);
            }
            let (mut n, mut saw_v6) = (0, false);
            while let Some(frame) = split_frame(&mut buf, &ctx).unwrap() {
                let Decoded::Update(u) = decode_message(frame, &ctx).unwrap() else {
                    panic!("not an UPDATE");
                };
                n += 1;
                assert!(u.issues().is_empty(), "{:?}", u.issues());
                assert_eq!(u.attributes().as_path.neighbor_as(), Some(f.asn));
                match u.mp_reach() {
                    Some(mp) => {
                        saw_v6 = true;
                        assert_eq!(mp.family(), Family::IPV6_UNICAST);
                        assert_eq!(
                            mp.next_hop(),
                            MpNextHop {
                                global: IpAddr::V6(want_nh),
                                link_local: None,
                            }
                        );
                        assert_eq!(u.nlri().count(), 0, "IPv4 NLRI beside MP_REACH");
                        // NEXT_HOP is for the NLRI field only.
                        assert_eq!(u.attributes_view().next_hop(), None);
                        for nlri in mp.nlri() {
                            let Prefix::V6(p) = nlri.prefix else {
                                panic!("IPv4 prefix in MP_REACH: {nlri:?}");
                            };
                            assert!(v6.insert(p), "{p} twice");
                        }
                    }
                    None => {
                        // IPv4 comes first: nothing of it after IPv6.
                        assert!(!saw_v6, "IPv4 UPDATE after the IPv6 ones");
                        assert_eq!(u.attributes_view().next_hop(), Some(f.addr));
                        for nlri in u.nlri() {
                            assert!(v4.insert(nlri), "{nlri:?} twice");
                        }
                    }
                }
            }
            assert!(buf.is_empty());
            assert_eq!(n, f.messages);
            assert!(saw_v6);
        }
        assert_eq!(v4.len(), 2_001);
        assert_eq!(v6.len(), 501);
        let v48 = v6.iter().filter(|p| p.len() == 48).count();
        assert!((175..=325).contains(&v48), "{v48} /48s of 501");
    }

    #[test]
    fn the_ipv4_half_is_the_same_bytes_with_or_without_ipv6() {
        let only4 = generate(1_500, &feeders(), 4).unwrap();
        let dual = generate_dual(1_500, 400, &feeders(), &addrs6(), 4).unwrap();
        assert!(!only4.dual_stack());
        assert_eq!(only4.describe(), "1500 prefixes");
        let ctx = session_context();
        for (a, b) in only4.feeders.iter().zip(&dual.feeders) {
            let bytes = |f: &crate::workload::FeederLoad| {
                let mut all = BytesMut::new();
                for chunk in &f.announce {
                    all.extend_from_slice(chunk);
                }
                all
            };
            // The dual feeder's stream starts with the IPv4 feeder's.
            let (a, b) = (bytes(a), bytes(b));
            assert!(b.len() > a.len());
            assert_eq!(&b[..a.len()], &a[..]);
            let mut rest = BytesMut::from(&b[a.len()..]);
            while let Some(frame) = split_frame(&mut rest, &ctx).unwrap() {
                let Decoded::Update(u) = decode_message(frame, &ctx).unwrap() else {
                    panic!("not an UPDATE");
                };
                assert_eq!(
                    u.announced_families().collect::<Vec<_>>(),
                    [Family::IPV6_UNICAST]
                );
            }
        }
    }

    #[test]
    fn ipv6_churn_goes_in_mp_unreach_and_mp_reach() {
        let w = generate_dual(300, 100, &feeders()[..1], &addrs6()[..1], 2).unwrap();
        let f = &w.feeders[0];
        let chosen = f.every_nth(10);
        assert_eq!(chosen.len(), 40);
        let want6: HashSet<Nlri> = chosen
            .iter()
            .filter(|n| n.prefix.family() == Family::IPV6_UNICAST)
            .copied()
            .collect();
        assert_eq!(want6.len(), 10);
        let ctx = session_context();
        for (batches, withdraw) in [
            (f.encode_withdraw(&chosen).unwrap(), true),
            (f.encode_reannounce(&chosen).unwrap(), false),
        ] {
            let got = crate::workload::churned(&batches, withdraw, &ctx);
            let all: HashSet<Nlri> = got.iter().map(|(_, n)| *n).collect();
            assert_eq!(all, chosen.iter().copied().collect());
            let v6: HashSet<Nlri> = got
                .iter()
                .filter(|(fam, _)| *fam == Family::IPV6_UNICAST)
                .map(|(_, n)| *n)
                .collect();
            assert_eq!(v6, want6);
        }
    }

    #[test]
    fn dual_stack_needs_an_address_per_feeder() {
        assert!(generate_dual(10, 10, &feeders(), &addrs6()[..1], 1).is_err());
        // No IPv6 prefixes: the addresses are not needed.
        let w = generate_dual(10, 0, &feeders(), &[], 1).unwrap();
        assert!(!w.dual_stack());
    }
}
