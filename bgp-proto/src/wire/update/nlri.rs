//! NLRI fields: validation at decode, a zero-copy iterator afterwards, and
//! the encoder.
//!
//! RFC 4271 4.3 (and RFC 7911 3 with ADD-PATH):
//!
//! ```text
//! +--------------------------------+
//! | Path Identifier (4 octets)     |   (ADD-PATH only)
//! +--------------------------------+
//! | Length (1 octet)               |
//! +--------------------------------+
//! | Prefix (variable)              |
//! +--------------------------------+
//! ```
//!
//! "The Prefix field contains an IP address prefix, followed by enough
//! trailing bits to make the end of the field fall on an octet boundary."
//!
//! The two per-prefix loops here, [`validate`] and [`NlriIter`], are the
//! codec's only decoders not written with nom: they run once per prefix,
//! and as nom parsers (the `parse.rs` primitives, nom's `cond` for the
//! path identifier) they cost 8 to 10 instructions per prefix more on the
//! realistic stream of the UPDATE benchmark (6 to 8 %), 3 to 4 on the
//! dense one (6 %; BENCHMARKS.md, UPDATE codec). So they keep their
//! hand-written bounds-checked slice code, which adds and compares
//! offsets only.

use super::error::{NlriField, UpdateError};
use crate::types::{Ipv4Prefix, Ipv6Prefix, Nlri, Prefix};
use bytes::{BufMut, BytesMut};
use std::net::{Ipv4Addr, Ipv6Addr};

/// Address kind of an NLRI field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AddrKind {
    /// 32-bit prefixes.
    V4,
    /// 128-bit prefixes.
    V6,
}

impl AddrKind {
    fn max_len(self) -> u8 {
        match self {
            AddrKind::V4 => 32,
            AddrKind::V6 => 128,
        }
    }
}

/// RFC 7606 5.3: "the NLRI field ... is considered syntactically incorrect
/// if ... the length of any of the included NLRI is greater than the
/// maximum length (in bits) ... or the Length field of the last prefix
/// would overrun the field" -> "session reset". Validates the whole field
/// so that [`NlriIter`] cannot fail later; `base` is the field's offset in
/// the body, for the error.
pub(crate) fn validate(
    buf: &[u8],
    base: usize,
    kind: AddrKind,
    add_path: bool,
    field: NlriField,
) -> Result<(), UpdateError> {
    let max = kind.max_len();
    let mut pos = 0usize;
    let err = |pos: usize, reason| UpdateError::InvalidNetworkField {
        offset: base + pos,
        field,
        reason,
    };
    while pos < buf.len() {
        let start = pos;
        if add_path {
            pos += 4;
        }
        let Some(&len) = buf.get(pos) else {
            return Err(err(start, "prefix overruns the field"));
        };
        if len > max {
            return Err(err(start, "prefix length exceeds the address size"));
        }
        pos += 1 + usize::from(len).div_ceil(8);
        if pos > buf.len() {
            return Err(err(start, "prefix overruns the field"));
        }
    }
    Ok(())
}

/// Iterator over a validated NLRI field; yields nothing more at the first
/// inconsistency, which validation at decode rules out.
#[derive(Debug, Clone)]
pub struct NlriIter<'a> {
    buf: &'a [u8],
    kind: AddrKind,
    add_path: bool,
}

impl<'a> NlriIter<'a> {
    pub(crate) fn new(buf: &'a [u8], kind: AddrKind, add_path: bool) -> Self {
        NlriIter {
            buf,
            kind,
            add_path,
        }
    }

    /// An iterator that yields nothing.
    pub(crate) fn empty() -> Self {
        NlriIter {
            buf: &[],
            kind: AddrKind::V4,
            add_path: false,
        }
    }

    /// The octets not yet iterated.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.buf
    }
}

#[inline]
fn be32(a: &[u8]) -> u32 {
    match *a {
        [] => 0,
        [b0] => u32::from(b0) << 24,
        [b0, b1] => u32::from_be_bytes([b0, b1, 0, 0]),
        [b0, b1, b2] => u32::from_be_bytes([b0, b1, b2, 0]),
        [b0, b1, b2, b3, ..] => u32::from_be_bytes([b0, b1, b2, b3]),
    }
}

#[inline]
fn be128(a: &[u8]) -> u128 {
    let mut b = [0u8; 16];
    for (d, s) in b.iter_mut().zip(a) {
        *d = *s;
    }
    u128::from_be_bytes(b)
}

impl Iterator for NlriIter<'_> {
    type Item = Nlri;

    #[inline]
    fn next(&mut self) -> Option<Nlri> {
        // Fast path: an IPv4 /24 (most of a full table) without path id;
        // the constant length folds the mask and the range check away.
        if let ([24, a, b, c, rest @ ..], AddrKind::V4, false) =
            (self.buf, self.kind, self.add_path)
        {
            let prefix = Ipv4Prefix::new(Ipv4Addr::new(*a, *b, *c, 0), 24)?;
            self.buf = rest;
            return Some(Nlri {
                path_id: 0,
                prefix: Prefix::V4(prefix),
            });
        }
        let mut buf = self.buf;
        let path_id = if self.add_path {
            let (h, t) = buf.split_first_chunk::<4>()?;
            buf = t;
            u32::from_be_bytes(*h)
        } else {
            0
        };
        let (&len, t) = buf.split_first()?;
        let (addr, rest) = t.split_at_checked(usize::from(len).div_ceil(8))?;
        // Fast path: read a whole address from `t` when the buffer is long
        // enough and let the prefix constructor mask the octets beyond
        // `len` (they belong to the next entry); the tail is read exactly.
        let prefix = match self.kind {
            AddrKind::V4 => {
                let bits = match t.first_chunk::<4>() {
                    Some(c) => u32::from_be_bytes(*c),
                    None => be32(addr),
                };
                Prefix::V4(Ipv4Prefix::new(Ipv4Addr::from(bits), len)?)
            }
            AddrKind::V6 => {
                let bits = match t.first_chunk::<16>() {
                    Some(c) => u128::from_be_bytes(*c),
                    None => be128(addr),
                };
                Prefix::V6(Ipv6Prefix::new(Ipv6Addr::from(bits), len)?)
            }
        };
        self.buf = rest;
        Some(Nlri { path_id, prefix })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let min = if self.add_path { 5 } else { 1 };
        (
            usize::from(!self.buf.is_empty()),
            Some(self.buf.len() / min),
        )
    }
}

impl std::iter::FusedIterator for NlriIter<'_> {}

/// Octets `n` takes on the wire.
#[inline]
pub(crate) fn encoded_len(n: &Nlri, add_path: bool) -> usize {
    let p = if add_path { 4 } else { 0 };
    p + 1 + usize::from(n.prefix.len()).div_ceil(8)
}

/// Writes one NLRI.
#[inline]
pub(crate) fn write(out: &mut BytesMut, n: &Nlri, add_path: bool) {
    if add_path {
        out.put_u32(n.path_id);
    }
    let len = n.prefix.len();
    let octets = usize::from(len).div_ceil(8);
    out.put_u8(len);
    match n.prefix {
        Prefix::V4(p) => {
            let b = p.addr_bits().to_be_bytes();
            out.put_slice(b.get(..octets).unwrap_or(&b));
        }
        Prefix::V6(p) => {
            let b = p.addr_bits().to_be_bytes();
            out.put_slice(b.get(..octets).unwrap_or(&b));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nlri(s: &str) -> Nlri {
        Nlri::new(s.parse().unwrap())
    }

    #[test]
    fn round_trip_v4_and_v6() {
        let list = [
            nlri("0.0.0.0/0"),
            nlri("10.0.0.0/8"),
            nlri("10.241.1.0/24"),
            nlri("1.2.3.4/32"),
        ];
        let mut out = BytesMut::new();
        for n in &list {
            write(&mut out, n, false);
        }
        assert_eq!(&out[..], &[0, 8, 10, 24, 10, 241, 1, 32, 1, 2, 3, 4]);
        validate(&out, 0, AddrKind::V4, false, NlriField::Nlri).unwrap();
        assert_eq!(
            NlriIter::new(&out, AddrKind::V4, false).collect::<Vec<_>>(),
            list
        );

        let v6 = [Nlri {
            path_id: 7,
            prefix: "2001:db8::/33".parse().unwrap(),
        }];
        let mut out = BytesMut::new();
        write(&mut out, &v6[0], true);
        assert_eq!(out.len(), encoded_len(&v6[0], true));
        assert_eq!(
            NlriIter::new(&out, AddrKind::V6, true).collect::<Vec<_>>(),
            v6
        );
    }

    #[test]
    fn rejects_bad_fields() {
        let bad = |b: &[u8], k| validate(b, 10, k, false, NlriField::Nlri).unwrap_err();
        assert!(matches!(
            bad(&[33, 1, 2, 3, 4, 5], AddrKind::V4),
            UpdateError::InvalidNetworkField { offset: 10, .. }
        ));
        assert!(matches!(
            bad(&[24, 1, 2], AddrKind::V4),
            UpdateError::InvalidNetworkField { .. }
        ));
        assert!(validate(&[0, 0, 0], 0, AddrKind::V4, true, NlriField::Nlri).is_err());
        assert!(validate(&[129], 0, AddrKind::V6, false, NlriField::MpReach).is_err());
    }
}
