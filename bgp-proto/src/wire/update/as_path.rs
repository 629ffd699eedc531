//! AS_PATH and AS4_PATH: validation, parsing, the RFC 6793 merge, and
//! encoding for 2- and 4-octet sessions.
//!
//! RFC 4271 4.3: "each AS path segment is represented by a triple <path
//! segment type, path segment length, path segment value>" where the
//! length is the number of ASes (not octets), each 2 octets (4 with RFC
//! 6793).

use super::super::parse::{be_u8, run, take};
use crate::msg::attributes::{AsPath, AsSegment, AsSegmentType};
use bytes::{BufMut, BytesMut};

/// AS_TRANS (RFC 6793 9).
pub const AS_TRANS: u32 = 23456;

/// RFC 7606 7.2: "An AS_PATH is considered malformed if an unrecognized
/// segment type is encountered or if it contains a malformed segment. A
/// segment is considered malformed if any of the following are true:
/// o There is an overrun where the Path Segment Length field of the last
///   segment encountered would cause the Attribute Length to be exceeded.
/// o There is an underrun where after the last successfully parsed
///   segment there is only a single octet remaining (...).
/// o It has a Path Segment Length field of zero."
///
/// Also returns whether a confederation segment was seen (AS4_PATH must not
/// carry them, RFC 6793 6).
// Inlined into both walks: once the parser moved to nom it stopped being
// inlined, and the call cost ~30 instructions per UPDATE.
#[inline]
pub(crate) fn validate(mut v: &[u8], four: bool) -> Result<bool, &'static str> {
    let width = if four { 4 } else { 2 };
    let mut confed = false;
    while !v.is_empty() {
        let (rest, (kind, count)) =
            run((be_u8, be_u8), v).ok_or("a single octet remains after the last segment")?;
        match AsSegmentType::from_code(kind) {
            None => return Err("unknown segment type"),
            Some(AsSegmentType::ConfedSequence | AsSegmentType::ConfedSet) => confed = true,
            Some(_) => {}
        }
        if count == 0 {
            return Err("segment of length zero");
        }
        let (rest, _) =
            run(take(usize::from(count) * width), rest).ok_or("segment overruns the attribute")?;
        v = rest;
    }
    Ok(confed)
}

/// Parses a validated AS_PATH (stops quietly at anything odd); the
/// reference for [`super::AsPathView::to_owned`].
#[cfg(test)]
pub(crate) fn parse(mut v: &[u8], four: bool) -> AsPath {
    let width = if four { 4 } else { 2 };
    let mut segments = Vec::with_capacity(1);
    while let [kind, count, rest @ ..] = v {
        let Some(kind) = AsSegmentType::from_code(*kind) else {
            break;
        };
        let Some((asns, rest)) = rest.split_at_checked(usize::from(*count) * width) else {
            break;
        };
        let asns = if four {
            asns.chunks_exact(4)
                .map(|c| u32::from_be_bytes(c.try_into().unwrap_or([0; 4])))
                .collect()
        } else {
            asns.chunks_exact(2)
                .map(|c| u32::from(u16::from_be_bytes(c.try_into().unwrap_or([0; 2]))))
                .collect()
        };
        segments.push(AsSegment { kind, asns });
        v = rest;
    }
    AsPath { segments }
}

/// RFC 6793 4.2.3: "the number of AS numbers in the AS_PATH attribute" with
/// "AS_SET ... counted as 1" and confederation segments not counted.
fn count(p: &AsPath) -> usize {
    p.path_len()
}

/// RFC 6793 4.2.3: "If the number of AS numbers in the AS_PATH attribute is
/// less than the number of AS numbers in the AS4_PATH attribute, then the
/// AS4_PATH attribute SHALL be ignored, and the AS_PATH attribute SHALL be
/// taken as the AS path information. If the number of AS numbers in the
/// AS_PATH attribute is larger than or equal to the number of AS numbers
/// in the AS4_PATH attribute, then the AS path information SHALL be
/// constructed by taking as many AS numbers and path segments as necessary
/// from the leading part of the AS_PATH attribute, and then prepending
/// them to the AS4_PATH attribute so that the AS path information has a
/// number of AS numbers identical to that of the AS_PATH attribute."
pub(crate) fn merge_as4(as_path: AsPath, as4: AsPath) -> AsPath {
    let n = count(&as_path);
    let n4 = count(&as4);
    if n < n4 {
        return as_path;
    }
    let mut need = n - n4;
    let mut segments = Vec::with_capacity(as_path.segments.len() + as4.segments.len());
    for s in as_path.segments {
        match s.kind {
            AsSegmentType::ConfedSequence | AsSegmentType::ConfedSet => segments.push(s),
            _ if need == 0 => break,
            AsSegmentType::Set => {
                need -= 1;
                segments.push(s);
            }
            AsSegmentType::Sequence => {
                let take = need.min(s.asns.len());
                need -= take;
                let asns: Vec<u32> = s.asns.into_iter().take(take).collect();
                segments.push(AsSegment {
                    kind: AsSegmentType::Sequence,
                    asns,
                });
            }
        }
    }
    // Join a split sequence with the AS4_PATH's leading sequence.
    let mut as4 = as4.segments.into_iter();
    if let (Some(last), Some(first)) = (segments.last_mut(), as4.as_slice().first()) {
        if last.kind == AsSegmentType::Sequence
            && first.kind == AsSegmentType::Sequence
            && last.asns.len() + first.asns.len() <= 255
        {
            if let Some(first) = as4.next() {
                last.asns.extend(first.asns);
            }
        }
    }
    segments.extend(as4);
    AsPath { segments }
}

/// Whether a 2-octet session needs AS4_PATH for this path.
pub(crate) fn needs_as4(p: &AsPath) -> bool {
    p.segments
        .iter()
        .any(|s| s.asns.iter().any(|&a| a > 0xFFFF))
}

/// Segments as written: empty ones dropped, long ones split at 255 ASes.
fn wire_segments(p: &AsPath, skip_confed: bool) -> impl Iterator<Item = (u8, &[u32])> {
    p.segments
        .iter()
        .filter(move |s| {
            !(skip_confed
                && matches!(
                    s.kind,
                    AsSegmentType::ConfedSequence | AsSegmentType::ConfedSet
                ))
        })
        .flat_map(|s| s.asns.chunks(255).map(move |c| (s.kind.code(), c)))
}

/// Value length of the path written with `width`-octet ASes.
pub(crate) fn encoded_len(p: &AsPath, four: bool, skip_confed: bool) -> usize {
    let width = if four { 4 } else { 2 };
    wire_segments(p, skip_confed)
        .map(|(_, a)| 2 + a.len() * width)
        .sum()
}

/// Writes the attribute value; on 2-octet sessions ASes above 65535 become
/// AS_TRANS (RFC 6793 4.2.2). `skip_confed` for AS4_PATH.
pub(crate) fn write(out: &mut BytesMut, p: &AsPath, four: bool, skip_confed: bool) {
    for (kind, asns) in wire_segments(p, skip_confed) {
        out.put_u8(kind);
        out.put_u8(asns.len() as u8); // chunks of at most 255
        for &a in asns {
            if four {
                out.put_u32(a);
            } else {
                out.put_u16(u16::try_from(a).unwrap_or(AS_TRANS as u16));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seq(a: &[u32]) -> AsSegment {
        AsSegment {
            kind: AsSegmentType::Sequence,
            asns: a.to_vec(),
        }
    }

    #[test]
    fn validate_rfc7606_cases() {
        assert_eq!(validate(&[2, 1, 0xfd, 0xe8], false), Ok(false));
        assert_eq!(validate(&[3, 1, 0, 1, 2, 1, 0, 2], false), Ok(true));
        assert!(validate(&[2, 0], false).is_err());
        assert!(validate(&[2, 2, 0, 1], false).is_err());
        assert!(validate(&[2, 1, 0, 1, 2], false).is_err());
        assert!(validate(&[9, 1, 0, 1], false).is_err());
        assert_eq!(validate(&[], true), Ok(false));
    }

    #[test]
    fn merge_follows_rfc6793() {
        // AS_PATH 65000 23456 23456, AS4_PATH 4200000000 4200000001.
        let two = AsPath {
            segments: vec![seq(&[65000, AS_TRANS, AS_TRANS])],
        };
        let four = AsPath {
            segments: vec![seq(&[4_200_000_000, 4_200_000_001])],
        };
        let m = merge_as4(two.clone(), four.clone());
        assert_eq!(
            m,
            AsPath {
                segments: vec![seq(&[65000, 4_200_000_000, 4_200_000_001])]
            }
        );
        // AS4_PATH longer than AS_PATH: ignored.
        let short = AsPath {
            segments: vec![seq(&[AS_TRANS])],
        };
        assert_eq!(merge_as4(short.clone(), four), short);
        // Confederation segments lead and stay.
        let confed = AsSegment {
            kind: AsSegmentType::ConfedSequence,
            asns: vec![1, 2],
        };
        let two = AsPath {
            segments: vec![confed.clone(), seq(&[AS_TRANS])],
        };
        let four = AsPath {
            segments: vec![seq(&[70000])],
        };
        assert_eq!(merge_as4(two, four).segments, vec![confed, seq(&[70000])]);
    }

    #[test]
    fn write_splits_and_translates() {
        let p = AsPath {
            segments: vec![seq(&(0..300).map(|i| 70000 + i).collect::<Vec<_>>())],
        };
        let mut out = BytesMut::new();
        write(&mut out, &p, false, false);
        assert_eq!(out.len(), encoded_len(&p, false, false));
        assert_eq!(out.len(), 2 + 510 + 2 + 90);
        assert_eq!(&out[..4], &[2, 255, 0x5b, 0xa0]);
        assert!(needs_as4(&p));
        let back = parse(&out, false);
        assert_eq!(back.segments.len(), 2);
    }
}
