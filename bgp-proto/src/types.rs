//! Address families and prefixes: the small value types every other module
//! shares. A prefix is stored inline (no heap), host bits are always zero.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// Address Family Identifier (IANA).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Afi {
    /// IPv4 (1).
    Ipv4,
    /// IPv6 (2).
    Ipv6,
    /// Any other value, kept as received.
    Other(u16),
}

impl Afi {
    /// The IANA code point.
    pub fn code(self) -> u16 {
        match self {
            Afi::Ipv4 => 1,
            Afi::Ipv6 => 2,
            Afi::Other(v) => v,
        }
    }
}

impl From<u16> for Afi {
    fn from(v: u16) -> Self {
        match v {
            1 => Afi::Ipv4,
            2 => Afi::Ipv6,
            v => Afi::Other(v),
        }
    }
}

/// Subsequent Address Family Identifier (IANA).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Safi {
    /// Unicast (1).
    Unicast,
    /// Multicast (2).
    Multicast,
    /// Any other value, kept as received.
    Other(u8),
}

impl Safi {
    /// The IANA code point.
    pub fn code(self) -> u8 {
        match self {
            Safi::Unicast => 1,
            Safi::Multicast => 2,
            Safi::Other(v) => v,
        }
    }
}

impl From<u8> for Safi {
    fn from(v: u8) -> Self {
        match v {
            1 => Safi::Unicast,
            2 => Safi::Multicast,
            v => Safi::Other(v),
        }
    }
}

/// An AFI/SAFI pair, as carried in capabilities, MP_REACH and End-of-RIB.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Family {
    /// Address family.
    pub afi: Afi,
    /// Subsequent address family.
    pub safi: Safi,
}

impl Family {
    /// IPv4 unicast.
    pub const IPV4_UNICAST: Family = Family {
        afi: Afi::Ipv4,
        safi: Safi::Unicast,
    };
    /// IPv6 unicast.
    pub const IPV6_UNICAST: Family = Family {
        afi: Afi::Ipv6,
        safi: Safi::Unicast,
    };

    /// Builds a family from its code points.
    pub fn new(afi: u16, safi: u8) -> Self {
        Family {
            afi: afi.into(),
            safi: safi.into(),
        }
    }

    /// `families` for a log line or a message: `ipv4-unicast,ipv6-unicast`.
    pub fn join(families: &[Family]) -> String {
        families
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(",")
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.afi, self.safi) {
            (Afi::Ipv4, Safi::Unicast) => f.write_str("ipv4-unicast"),
            (Afi::Ipv6, Safi::Unicast) => f.write_str("ipv6-unicast"),
            (Afi::Ipv4, Safi::Multicast) => f.write_str("ipv4-multicast"),
            (Afi::Ipv6, Safi::Multicast) => f.write_str("ipv6-multicast"),
            (a, s) => write!(f, "afi{}-safi{}", a.code(), s.code()),
        }
    }
}

/// An IPv4 prefix; host bits beyond `len` are zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Ipv4Prefix {
    addr: u32,
    len: u8,
}

impl Ipv4Prefix {
    /// Builds a prefix, masking host bits. `None` when `len > 32`.
    pub fn new(addr: Ipv4Addr, len: u8) -> Option<Self> {
        if len > 32 {
            return None;
        }
        Some(Ipv4Prefix {
            addr: u32::from(addr) & mask32(len),
            len,
        })
    }
    /// The network address.
    pub fn addr(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.addr)
    }
    /// The network address as a host-order integer.
    pub fn addr_bits(&self) -> u32 {
        self.addr
    }
    /// The prefix length.
    pub fn len(&self) -> u8 {
        self.len
    }
    /// True for the default route 0.0.0.0/0.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// Whether `ip` falls inside this prefix.
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & mask32(self.len) == self.addr
    }
}

/// An IPv6 prefix; host bits beyond `len` are zero.
///
/// The address is kept as big-endian bytes (alignment 1), so that a
/// [`Prefix`] is 20 bytes rather than the 48 a `u128` field would make it
/// (a `u128` is 16-aligned); comparing the bytes orders like the number.
/// Serialized as the number, as before.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(from = "Ipv6PrefixRepr", into = "Ipv6PrefixRepr")]
pub struct Ipv6Prefix {
    addr: [u8; 16],
    len: u8,
}

/// The serialized form of [`Ipv6Prefix`].
#[derive(Clone, Copy, Serialize, Deserialize)]
struct Ipv6PrefixRepr {
    addr: u128,
    len: u8,
}

impl From<Ipv6PrefixRepr> for Ipv6Prefix {
    fn from(r: Ipv6PrefixRepr) -> Self {
        // Host bits are cleared and the length capped, as `new` would.
        let len = r.len.min(128);
        Ipv6Prefix {
            addr: (r.addr & mask128(len)).to_be_bytes(),
            len,
        }
    }
}

impl From<Ipv6Prefix> for Ipv6PrefixRepr {
    fn from(p: Ipv6Prefix) -> Self {
        Ipv6PrefixRepr {
            addr: p.addr_bits(),
            len: p.len,
        }
    }
}

impl Ipv6Prefix {
    /// Builds a prefix, masking host bits. `None` when `len > 128`.
    pub fn new(addr: Ipv6Addr, len: u8) -> Option<Self> {
        if len > 128 {
            return None;
        }
        Some(Ipv6Prefix {
            addr: (u128::from(addr) & mask128(len)).to_be_bytes(),
            len,
        })
    }
    /// The network address.
    pub fn addr(&self) -> Ipv6Addr {
        Ipv6Addr::from(self.addr)
    }
    /// The network address as a host-order integer.
    pub fn addr_bits(&self) -> u128 {
        u128::from_be_bytes(self.addr)
    }
    /// The prefix length.
    pub fn len(&self) -> u8 {
        self.len
    }
    /// True for the default route ::/0.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// Whether `ip` falls inside this prefix.
    pub fn contains(&self, ip: Ipv6Addr) -> bool {
        u128::from(ip) & mask128(self.len) == self.addr_bits()
    }
}

fn mask32(len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(len.min(32)))
    }
}

fn mask128(len: u8) -> u128 {
    if len == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(len.min(128)))
    }
}

/// An IPv4 or IPv6 prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Prefix {
    /// IPv4.
    V4(Ipv4Prefix),
    /// IPv6.
    V6(Ipv6Prefix),
}

impl Prefix {
    /// Builds a prefix from an address and length, masking host bits.
    pub fn new(addr: IpAddr, len: u8) -> Option<Self> {
        match addr {
            IpAddr::V4(a) => Ipv4Prefix::new(a, len).map(Prefix::V4),
            IpAddr::V6(a) => Ipv6Prefix::new(a, len).map(Prefix::V6),
        }
    }
    /// The network address.
    pub fn addr(&self) -> IpAddr {
        match self {
            Prefix::V4(p) => IpAddr::V4(p.addr()),
            Prefix::V6(p) => IpAddr::V6(p.addr()),
        }
    }
    /// The prefix length.
    pub fn len(&self) -> u8 {
        match self {
            Prefix::V4(p) => p.len(),
            Prefix::V6(p) => p.len(),
        }
    }
    /// True for a default route.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The unicast family this prefix belongs to.
    pub fn family(&self) -> Family {
        match self {
            Prefix::V4(_) => Family::IPV4_UNICAST,
            Prefix::V6(_) => Family::IPV6_UNICAST,
        }
    }
    /// Whether `ip` falls inside this prefix (false across families).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self, ip) {
            (Prefix::V4(p), IpAddr::V4(a)) => p.contains(a),
            (Prefix::V6(p), IpAddr::V6(a)) => p.contains(a),
            _ => false,
        }
    }
}

impl From<Ipv4Prefix> for Prefix {
    fn from(p: Ipv4Prefix) -> Self {
        Prefix::V4(p)
    }
}

impl From<Ipv6Prefix> for Prefix {
    fn from(p: Ipv6Prefix) -> Self {
        Prefix::V6(p)
    }
}

impl fmt::Display for Ipv4Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr(), self.len)
    }
}

impl fmt::Display for Ipv6Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr(), self.len)
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Prefix::V4(p) => p.fmt(f),
            Prefix::V6(p) => p.fmt(f),
        }
    }
}

/// Why a prefix string did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrefixParseError {
    /// Not ADDRESS or ADDRESS/LENGTH.
    #[error("invalid prefix {0:?}: expected ADDRESS/LENGTH, e.g. 10.0.0.0/24 or 2001:db8::/32")]
    Syntax(String),
    /// A length past the address family's.
    #[error("invalid prefix {prefix:?}: length {len} is out of range, expected 0 to {max}")]
    Length {
        /// The text given.
        prefix: String,
        /// The length given.
        len: u64,
        /// The family's longest (32 or 128).
        max: u8,
    },
}

impl FromStr for Prefix {
    type Err = PrefixParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || PrefixParseError::Syntax(s.to_string());
        let (addr, len) = match s.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (s, None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| err())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let len = match len {
            Some(l) => l.parse::<u64>().map_err(|_| err())?,
            None => u64::from(max),
        };
        let too_long = || PrefixParseError::Length {
            prefix: s.to_string(),
            len,
            max,
        };
        let len = u8::try_from(len).map_err(|_| too_long())?;
        Prefix::new(addr, len).ok_or_else(too_long)
    }
}

/// One NLRI entry: a prefix with its ADD-PATH path identifier (0 when
/// ADD-PATH is not in use for the direction and family).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Nlri {
    /// ADD-PATH path identifier (RFC 7911), 0 when not negotiated.
    pub path_id: u32,
    /// The prefix.
    pub prefix: Prefix,
}

impl Nlri {
    /// An NLRI without a path identifier.
    pub fn new(prefix: Prefix) -> Self {
        Nlri { path_id: 0, prefix }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_masks_host_bits_and_displays() {
        let p: Prefix = "10.1.2.3/16".parse().unwrap();
        assert_eq!(p.to_string(), "10.1.0.0/16");
        let p: Prefix = "2001:db8::1/32".parse().unwrap();
        assert_eq!(p.to_string(), "2001:db8::/32");
        assert!("10.0.0.0/33".parse::<Prefix>().is_err());
        assert!("nonsense".parse::<Prefix>().is_err());
        let host: Prefix = "192.0.2.1".parse().unwrap();
        assert_eq!(host.len(), 32);
    }

    #[test]
    fn prefix_contains() {
        let p: Prefix = "10.0.0.0/8".parse().unwrap();
        assert!(p.contains("10.200.0.1".parse().unwrap()));
        assert!(!p.contains("11.0.0.1".parse().unwrap()));
        assert!(!p.contains("::1".parse().unwrap()));
        let d: Prefix = "0.0.0.0/0".parse().unwrap();
        assert!(d.contains("1.2.3.4".parse().unwrap()));
    }

    #[test]
    fn prefixes_are_compact_and_ipv6_orders_and_serializes_like_the_number() {
        assert_eq!(std::mem::size_of::<Prefix>(), 20);
        assert_eq!(std::mem::size_of::<Nlri>(), 24);
        let a: Ipv6Prefix = match "2001:db8::/32".parse::<Prefix>().unwrap() {
            Prefix::V6(p) => p,
            Prefix::V4(_) => unreachable!(),
        };
        let b = Ipv6Prefix::new("2001:db9::".parse().unwrap(), 32).unwrap();
        let c = Ipv6Prefix::new("2001:db8::".parse().unwrap(), 48).unwrap();
        assert!(a < b && a < c && c < b);
        assert_eq!(a.addr_bits(), 0x2001_0db8_u128 << 96);
        assert!(a.contains("2001:db8:ffff::1".parse().unwrap()));
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(
            json,
            format!("{{\"addr\":{},\"len\":32}}", 0x2001_0db8_u128 << 96)
        );
        assert_eq!(serde_json::from_str::<Ipv6Prefix>(&json).unwrap(), a);
        // Host bits in a deserialized prefix are cleared.
        let loose = format!("{{\"addr\":{},\"len\":32}}", (0x2001_0db8_u128 << 96) | 1);
        assert_eq!(serde_json::from_str::<Ipv6Prefix>(&loose).unwrap(), a);
    }
}
