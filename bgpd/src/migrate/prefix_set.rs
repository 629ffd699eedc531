//! BIRD prefix sets (`[ 10.0.0.0/8+, 192.168.0.0/16{24,32}, 10.1.0.0/16- ]`)
//! as rbgpd prefix-list entries.
//!
//! Invariant: a [`PrefixSet`] matches exactly the prefixes its BIRD
//! patterns match, and each of its [`Range`]s is an entry rbgpd accepts
//! (host bits zero, `len <= ge <= le <= 32|128`). BIRD's rule (bird.sgml,
//! "Prefix sets"): `ip1/len1` matches the pattern `ip2/len2{l,h}` when the
//! first `min(len1, len2)` bits of `ip1` and `ip2` are equal and
//! `l <= len1 <= h`. The lengths below `len2` (supernets, as in `-`) have
//! no rbgpd range (`ge` may not be below the prefix length), so each
//! becomes the one exact supernet of that length.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// One prefix-list entry: the prefixes inside `addr/len` whose length is
/// `ge..=le` (`len <= ge`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Range {
    /// The prefix's address, host bits zero.
    pub addr: IpAddr,
    /// The prefix's length.
    pub len: u8,
    /// Shortest length matched.
    pub ge: u8,
    /// Longest length matched.
    pub le: u8,
}

impl Range {
    /// Whether `addr/len` (a route's prefix) is in this range.
    pub fn matches(&self, addr: IpAddr, len: u8) -> bool {
        self.ge <= len && len <= self.le && within(addr, self.addr, self.len)
    }

    /// The entry as an inline TOML table of a `[[prefix_list]]`.
    pub fn to_toml(&self) -> String {
        let prefix = format!("{}/{}", self.addr, self.len);
        if self.ge == self.len && self.le == self.len {
            format!("{{ prefix = \"{prefix}\" }}")
        } else {
            format!(
                "{{ prefix = \"{prefix}\", ge = {}, le = {} }}",
                self.ge, self.le
            )
        }
    }

    /// Whether every prefix `other` matches, this matches too.
    fn covers(&self, other: &Range) -> bool {
        self.len <= other.len
            && within(other.addr, self.addr, self.len)
            && self.ge <= other.ge
            && other.le <= self.le
    }
}

/// The longest prefix of `addr`'s family.
pub fn max_len(addr: IpAddr) -> u8 {
    if addr.is_ipv4() {
        32
    } else {
        128
    }
}

/// `addr` with the bits after the first `len` cleared.
pub fn masked(addr: IpAddr, len: u8) -> IpAddr {
    match addr {
        IpAddr::V4(a) => {
            let m = if len == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(len.min(32)))
            };
            IpAddr::V4(Ipv4Addr::from(u32::from(a) & m))
        }
        IpAddr::V6(a) => {
            let m = if len == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(len.min(128)))
            };
            IpAddr::V6(Ipv6Addr::from(u128::from(a) & m))
        }
    }
}

/// Whether `addr` is inside `net/len` (false across families).
fn within(addr: IpAddr, net: IpAddr, len: u8) -> bool {
    addr.is_ipv4() == net.is_ipv4() && masked(addr, len) == net
}

/// A union of [`Range`]s: sorted, none inside another.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct PrefixSet {
    ranges: Vec<Range>,
}

impl PrefixSet {
    /// The prefixes BIRD's pattern `addr/len{lo,hi}` matches (`addr/len+`
    /// is `{len,max}`, `addr/len-` is `{0,len}`, a bare prefix
    /// `{len,len}`). Errors as BIRD's parser does: host bits set, lengths
    /// out of range.
    pub fn pattern(addr: IpAddr, len: u8, lo: u8, hi: u8) -> Result<PrefixSet, String> {
        let max = max_len(addr);
        if len > max {
            return Err(format!("{addr}/{len}: the length is above {max}"));
        }
        if masked(addr, len) != addr {
            return Err(format!(
                "{addr}/{len} has host bits set (BIRD refuses it too: {}/{len})",
                masked(addr, len)
            ));
        }
        if lo > hi || hi > max {
            return Err(format!(
                "{addr}/{len}{{{lo},{hi}}}: invalid length range (BIRD refuses it too)"
            ));
        }
        let mut ranges = Vec::new();
        // Lengths below `len`: only the first `k` bits are compared, so the
        // one supernet of length k matches.
        for k in lo..hi.saturating_add(1).min(len) {
            ranges.push(Range {
                addr: masked(addr, k),
                len: k,
                ge: k,
                le: k,
            });
        }
        if hi >= len {
            ranges.push(Range {
                addr,
                len,
                ge: lo.max(len),
                le: hi,
            });
        }
        Ok(PrefixSet::normalized(ranges))
    }

    /// The prefixes in either set.
    pub fn union(&self, other: &PrefixSet) -> PrefixSet {
        PrefixSet::normalized(self.ranges.iter().chain(&other.ranges).copied().collect())
    }

    /// The prefixes in both sets. Two ranges meet only when one's prefix
    /// is inside the other's; then the longer prefix with both length
    /// bounds is exactly their common part.
    pub fn intersect(&self, other: &PrefixSet) -> PrefixSet {
        let mut out = Vec::new();
        for a in &self.ranges {
            for b in &other.ranges {
                let (outer, inner) = if a.len <= b.len { (a, b) } else { (b, a) };
                if !within(inner.addr, outer.addr, outer.len) {
                    continue;
                }
                let (ge, le) = (a.ge.max(b.ge), a.le.min(b.le));
                if ge <= le {
                    out.push(Range {
                        addr: inner.addr,
                        len: inner.len,
                        ge,
                        le,
                    });
                }
            }
        }
        PrefixSet::normalized(out)
    }

    /// No prefix matches.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// The entries.
    pub fn ranges(&self) -> &[Range] {
        &self.ranges
    }

    /// Whether the set has IPv4 and IPv6 entries (BIRD refuses such sets).
    pub fn mixed(&self) -> bool {
        let v4 = self.ranges.iter().filter(|r| r.addr.is_ipv4()).count();
        v4 != 0 && v4 != self.ranges.len()
    }

    /// Whether `addr/len` matches.
    pub fn matches(&self, addr: IpAddr, len: u8) -> bool {
        self.ranges.iter().any(|r| r.matches(addr, len))
    }

    /// Sorted, ranges of one prefix with touching lengths merged, ranges
    /// inside others dropped: the same prefixes, fewer entries.
    fn normalized(mut ranges: Vec<Range>) -> PrefixSet {
        ranges.sort();
        ranges.dedup();
        let mut merged: Vec<Range> = Vec::with_capacity(ranges.len());
        for r in ranges {
            match merged.last_mut() {
                Some(m) if m.addr == r.addr && m.len == r.len && r.ge <= m.le.saturating_add(1) => {
                    m.le = m.le.max(r.le);
                }
                _ => merged.push(r),
            }
        }
        let keep: Vec<Range> = merged
            .iter()
            .enumerate()
            .filter(|(i, r)| {
                !merged
                    .iter()
                    .enumerate()
                    .any(|(j, o)| j != *i && o.covers(r) && (!r.covers(o) || j < *i))
            })
            .map(|(_, r)| *r)
            .collect();
        PrefixSet { ranges: keep }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pat(s: &str, lo: u8, hi: u8) -> PrefixSet {
        let (a, l) = s.split_once('/').unwrap();
        PrefixSet::pattern(a.parse().unwrap(), l.parse().unwrap(), lo, hi).unwrap()
    }

    fn m(set: &PrefixSet, p: &str) -> bool {
        let (a, l) = p.split_once('/').unwrap();
        set.matches(a.parse().unwrap(), l.parse().unwrap())
    }

    /// BIRD's rule, written out as the manual gives it.
    fn bird_matches(pattern: (&str, u8, u8), p: &str) -> bool {
        let (net, lo, hi) = pattern;
        let (a2, l2) = net.split_once('/').unwrap();
        let (a1, l1) = p.split_once('/').unwrap();
        let (a1, l1): (IpAddr, u8) = (a1.parse().unwrap(), l1.parse().unwrap());
        let (a2, l2): (IpAddr, u8) = (a2.parse().unwrap(), l2.parse().unwrap());
        let n = l1.min(l2);
        masked(a1, n) == masked(a2, n) && lo <= l1 && l1 <= hi
    }

    #[test]
    fn the_manuals_examples() {
        // bird.sgml: `1.2.0.0/16 ~ [ 1.0.0.0/8{15,17} ]` is true, `1.0.0.0/16
        // ~ [ 1.0.0.0/8- ]` false; `[ 1.2.3.4/32- ]` matches any prefix
        // that contains 1.2.3.4.
        assert!(m(&pat("1.0.0.0/8", 15, 17), "1.2.0.0/16"));
        assert!(!m(&pat("1.0.0.0/8", 0, 8), "1.0.0.0/16"));
        let sup = pat("1.2.3.4/32", 0, 32);
        for p in ["0.0.0.0/0", "1.0.0.0/8", "1.2.3.0/24", "1.2.3.4/32"] {
            assert!(m(&sup, p), "{p}");
        }
        assert!(!m(&sup, "1.2.3.5/32") && !m(&sup, "2.0.0.0/8"));
        assert_eq!(sup.ranges().len(), 33);
        let any = pat("0.0.0.0/0", 20, 24);
        assert!(m(&any, "203.0.113.0/24") && !m(&any, "10.0.0.0/8"));
    }

    #[test]
    fn every_length_of_a_neighbourhood_agrees_with_bird() {
        // Patterns of each shape, checked against BIRD's rule on every
        // prefix length of addresses inside, beside and above them.
        let patterns = [
            ("10.0.0.0/8", 8, 32),
            ("10.1.0.0/16", 0, 16),
            ("192.168.0.0/16", 24, 32),
            ("192.168.0.0/16", 12, 20),
            ("1.2.3.0/24", 24, 24),
            ("0.0.0.0/0", 0, 0),
            ("10.0.0.0/8", 3, 5),
        ];
        let addrs = [
            "10.1.2.3",
            "10.0.0.0",
            "192.168.7.1",
            "192.169.0.0",
            "1.2.3.4",
            "0.0.0.0",
        ];
        for (net, lo, hi) in patterns {
            let set = pat(net, lo, hi);
            for a in addrs {
                for len in 0..=32u8 {
                    let p = format!("{}/{len}", masked(a.parse().unwrap(), len));
                    assert_eq!(
                        m(&set, &p),
                        bird_matches((net, lo, hi), &p),
                        "{net}{{{lo},{hi}}} ~ {p}"
                    );
                }
            }
        }
    }

    #[test]
    fn intersections_and_unions() {
        let a = pat("10.0.0.0/8", 8, 32);
        let b = pat("10.1.0.0/16", 20, 24);
        let c = pat("11.0.0.0/8", 8, 32);
        assert_eq!(a.intersect(&b), b);
        assert!(a.intersect(&c).is_empty());
        let short = pat("10.0.0.0/8", 8, 12);
        assert!(short.intersect(&b).is_empty());
        // A union keeps the wider range only.
        assert_eq!(a.union(&b), a);
        // Touching length ranges of one prefix merge.
        let lo = pat("10.0.0.0/8", 8, 16);
        let hi = pat("10.0.0.0/8", 17, 24);
        assert_eq!(lo.union(&hi), pat("10.0.0.0/8", 8, 24));
        assert!(a.union(&pat("2001:db8::/32", 32, 128)).mixed());
    }

    #[test]
    fn bad_patterns_are_refused() {
        let ip: IpAddr = "10.1.0.0".parse().unwrap();
        assert!(PrefixSet::pattern(ip, 8, 8, 8).is_err(), "host bits");
        assert!(PrefixSet::pattern(ip, 16, 24, 20).is_err());
        assert!(PrefixSet::pattern(ip, 16, 16, 33).is_err());
        assert_eq!(
            pat("10.0.0.0/8", 16, 24).ranges()[0].to_toml(),
            "{ prefix = \"10.0.0.0/8\", ge = 16, le = 24 }"
        );
        assert_eq!(
            pat("1.2.3.0/24", 24, 24).ranges()[0].to_toml(),
            "{ prefix = \"1.2.3.0/24\" }"
        );
    }
}
