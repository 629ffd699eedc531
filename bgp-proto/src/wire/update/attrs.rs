//! The path attribute walk: one pass at decode that checks every attribute
//! (RFC 4271 6.3 as revised by RFC 7606) and records where MP_REACH and
//! MP_UNREACH are; afterwards [`RawAttrIter`] re-walks the same octets and
//! cannot fail.
//!
//! RFC 4271 4.3:
//!
//! ```text
//!  0                   1
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5
//! +---------------+---------------+
//! |  Attr. Flags  |Attr. Type Code|   then a 1-octet length, or a 2-octet
//! +---------------+---------------+   one when Extended Length is set,
//!                                     then the value
//! ```

use super::super::parse::{be_u16, be_u8, run};
use super::as_path;
use super::error::{AttrIssue, UpdateError};
use super::index::{self, AttrIndex};
use super::mp_nlri::{self, MpSlot};
use crate::msg::attributes::{flags, type_code as tc};
use crate::msg::SessionContext;
use bytes::Bytes;

/// One attribute as it is on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawAttr<'a> {
    /// Flags as received (including Extended Length).
    pub flags: u8,
    /// Type code.
    pub type_code: u8,
    /// Value.
    pub value: &'a [u8],
    /// Offset of the attribute (its flags octet) in the UPDATE body.
    pub offset: usize,
}

impl RawAttr<'_> {
    /// The Optional bit.
    pub fn is_optional(&self) -> bool {
        self.flags & flags::OPTIONAL != 0
    }
    /// The Transitive bit.
    pub fn is_transitive(&self) -> bool {
        self.flags & flags::TRANSITIVE != 0
    }
    /// The Partial bit.
    pub fn is_partial(&self) -> bool {
        self.flags & flags::PARTIAL != 0
    }
}

/// Reads one attribute header at `pos`: (flags, type, value range). The
/// error is the type code when at least two octets were there.
#[inline]
fn header(buf: &[u8], pos: usize) -> Result<(u8, u8, usize, usize), Option<u8>> {
    let rest = buf.get(pos..).unwrap_or_default();
    let (r, (f, t)) = run((be_u8, be_u8), rest).ok_or(None)?;
    let len = if f & flags::EXTENDED_LENGTH != 0 {
        run(be_u16, r).map(|(_, l)| (4, usize::from(l)))
    } else {
        run(be_u8, r).map(|(_, l)| (3, usize::from(l)))
    };
    let (hdr, len) = len.ok_or(Some(t))?;
    Ok((f, t, pos + hdr, pos + hdr + len))
}

/// Iterator over the attributes of a decoded UPDATE, skipping the ones
/// RFC 7606 made it discard (duplicates, malformed ones).
#[derive(Debug, Clone)]
pub struct RawAttrIter<'a> {
    body: &'a [u8],
    pos: usize,
    end: usize,
    skip: &'a [AttrIssue],
}

impl<'a> RawAttrIter<'a> {
    pub(crate) fn new(body: &'a [u8], pos: usize, end: usize, skip: &'a [AttrIssue]) -> Self {
        RawAttrIter {
            body,
            pos,
            end,
            skip,
        }
    }
}

impl<'a> Iterator for RawAttrIter<'a> {
    type Item = RawAttr<'a>;

    #[inline]
    fn next(&mut self) -> Option<RawAttr<'a>> {
        loop {
            if self.pos >= self.end {
                return None;
            }
            let offset = self.pos;
            let (f, t, vs, ve) = header(self.body, offset).ok()?;
            let value = self.body.get(vs..ve)?;
            self.pos = ve;
            // The issues are in walk order (ascending offsets, whole-message
            // ones last), so one cursor passes them all: linear in the
            // attributes even when every one of them is a duplicate.
            while let Some((first, rest)) = self.skip.split_first() {
                if first.offset >= offset {
                    break;
                }
                self.skip = rest;
            }
            if self.skip.first().is_some_and(|i| i.offset == offset) {
                continue;
            }
            return Some(RawAttr {
                flags: f,
                type_code: t,
                value,
                offset,
            });
        }
    }
}

/// What the walk found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Walk {
    /// Attribute type codes seen (first occurrences).
    pub(crate) seen: [u64; 4],
    /// Number of attributes (all occurrences).
    pub(crate) count: u32,
    /// Where the walk stopped: the end of the attributes field, or an
    /// overrunning attribute.
    pub(crate) end: usize,
    pub(crate) mp_reach: Option<MpSlot>,
    pub(crate) mp_unreach: Option<MpSlot>,
    /// Where the clean first occurrence of each known attribute is.
    pub(crate) index: AttrIndex,
}

impl Walk {
    /// Nothing found yet in the attributes field `start..end`.
    #[inline]
    pub(crate) fn new(start: usize, end: usize) -> Self {
        Walk {
            end,
            index: AttrIndex::new(start),
            ..Walk::default()
        }
    }
    #[inline]
    pub(crate) fn has(&self, t: u8) -> bool {
        self.seen
            .get(usize::from(t >> 6))
            .is_some_and(|w| w & (1u64 << (t & 63)) != 0)
    }
    #[inline]
    pub(crate) fn set(&mut self, t: u8) {
        if let Some(w) = self.seen.get_mut(usize::from(t >> 6)) {
            *w |= 1u64 << (t & 63);
        }
    }
}

/// Walks the attributes in `body[start..end]` once: validates each one,
/// records where the valid known ones are (the [`AttrIndex`]) and parses
/// MP_REACH/MP_UNREACH. Session-reset errors are returned; the others are
/// pushed to `issues`.
pub(crate) fn walk(
    body: &Bytes,
    start: usize,
    end: usize,
    ctx: &SessionContext,
    issues: &mut Vec<AttrIssue>,
    w: &mut Walk,
) -> Result<(), UpdateError> {
    let buf = body.get(..end).unwrap_or_default();
    let four = ctx.four_octet_as;
    let mut pos = start;
    while pos < end {
        let offset = pos;
        let (f, t, vs, ve) = match header(buf, pos) {
            Ok(h) if h.3 <= end => h,
            Ok((_, t, ..)) => return overrun(w, issues, offset, Some(t)),
            Err(t) => return overrun(w, issues, offset, t),
        };
        pos = ve;
        w.count += 1;
        if w.has(t) {
            // RFC 7606 3 (g): "If the MP_REACH_NLRI attribute or the
            // MP_UNREACH_NLRI [RFC4760] attribute appears more than once in
            // the UPDATE message, then a NOTIFICATION message MUST be sent
            // with the Error Subcode "Malformed Attribute List". If any
            // other attribute (whether recognized or unrecognized) appears
            // more than once in an UPDATE message, then all the occurrences
            // of the attribute other than the first one SHALL be discarded
            // and the UPDATE message will continue to be processed."
            if t == tc::MP_REACH_NLRI || t == tc::MP_UNREACH_NLRI {
                return Err(UpdateError::MalformedAttributeList {
                    offset,
                    reason: "MP_REACH_NLRI or MP_UNREACH_NLRI appears more than once",
                });
            }
            push(
                issues,
                offset,
                UpdateError::DuplicateAttribute {
                    offset,
                    type_code: t,
                },
            );
            continue;
        }
        w.set(t);
        let data = || body.slice(offset..ve);
        let Some((slot, expected)) = index::lookup(t) else {
            // RFC 4271 6.3: "If any of the well-known mandatory attributes
            // are not recognized, then the Error Subcode MUST be set to
            // Unrecognized Well-known Attribute."
            if f & flags::OPTIONAL == 0 {
                return Err(UpdateError::UnrecognizedWellKnown {
                    offset,
                    type_code: t,
                    data: data(),
                });
            }
            w.index.unknown = true;
            continue;
        };
        // RFC 7606 3 (c): "If the value of either the Optional or Transitive
        // bits in the Attribute Flags is in conflict with their specified
        // values, then the attribute MUST be treated as malformed and the
        // "treat-as-withdraw" approach used, unless the specification for
        // the attribute mandates different handling for incorrect
        // Attribute Flags." MP_REACH/MP_UNREACH are still parsed below, so
        // that their NLRI can be withdrawn.
        if f & (flags::OPTIONAL | flags::TRANSITIVE) != expected {
            let error = UpdateError::AttributeFlags {
                offset,
                type_code: t,
                flags: f,
                data: data(),
            };
            push(issues, offset, error);
            if t != tc::MP_REACH_NLRI && t != tc::MP_UNREACH_NLRI {
                continue;
            }
        }
        let value = buf.get(vs..ve).unwrap_or_default();
        let len = value.len();
        let error = match t {
            // RFC 7606 7.1: length other than one, or undefined value.
            tc::ORIGIN => match value {
                [v] if *v <= 2 => None,
                [v] => Some(UpdateError::InvalidOrigin {
                    offset,
                    value: *v,
                    data: data(),
                }),
                _ => Some(bad_len(offset, t, len, data())),
            },
            // RFC 7606 7.2.
            tc::AS_PATH => as_path::validate(value, four)
                .err()
                .map(|reason| UpdateError::MalformedAsPath { offset, reason }),
            // RFC 6793 6: a NEW speaker "MUST NOT" expect AS4_PATH or
            // AS4_AGGREGATOR from a NEW speaker and discards them; from an
            // OLD speaker a malformed one is discarded too.
            tc::AS4_PATH | tc::AS4_AGGREGATOR if four => Some(UpdateError::OptionalAttribute {
                offset,
                type_code: t,
                reason: "received on a 4-octet AS session",
                data: data(),
            }),
            tc::AS4_PATH => match as_path::validate(value, true) {
                Ok(false) => None,
                Ok(true) => Some(UpdateError::OptionalAttribute {
                    offset,
                    type_code: t,
                    reason: "confederation segment in AS4_PATH",
                    data: data(),
                }),
                Err(reason) => Some(UpdateError::OptionalAttribute {
                    offset,
                    type_code: t,
                    reason,
                    data: data(),
                }),
            },
            tc::MP_REACH_NLRI => {
                let slot = mp_nlri::parse_reach(body, offset..ve, vs, ctx)?;
                let unsupported = slot.kind.is_none() && !slot.nlri.is_empty();
                let refused = mp_nlri::ipv6_next_hop_refused(&slot, ctx);
                let family = slot.family;
                w.mp_reach = Some(slot);
                if refused {
                    Some(UpdateError::NextHopNotNegotiated { offset, family })
                } else {
                    unsupported.then_some(UpdateError::UnsupportedFamily {
                        offset,
                        type_code: t,
                        family,
                    })
                }
            }
            tc::MP_UNREACH_NLRI => {
                let slot = mp_nlri::parse_unreach(body, offset..ve, vs, |f| ctx.add_path_rx(f))?;
                let unsupported = slot.kind.is_none() && !slot.nlri.is_empty();
                let family = slot.family;
                w.mp_unreach = Some(slot);
                unsupported.then_some(UpdateError::UnsupportedFamily {
                    offset,
                    type_code: t,
                    family,
                })
            }
            _ if !length_ok(t, len, four) => Some(bad_len(offset, t, len, data())),
            _ => None,
        };
        match error {
            None => w.index.put(slot, vs, len),
            Some(error) => push(issues, offset, error),
        }
    }
    Ok(())
}

/// Records a non-fatal finding (out of line: the clean path never calls it).
#[cold]
#[inline(never)]
fn push(issues: &mut Vec<AttrIssue>, offset: usize, error: UpdateError) {
    issues.push(AttrIssue { offset, error });
}

#[cold]
fn bad_len(offset: usize, type_code: u8, len: usize, data: Bytes) -> UpdateError {
    UpdateError::AttributeLength {
        offset,
        type_code,
        len,
        data,
    }
}

/// Length checks of the fixed-size and list attributes:
/// RFC 7606 7.3, 7.4, 7.5, 7.9: "length other than 4" (NEXT_HOP, MED,
/// LOCAL_PREF, ORIGINATOR_ID); 7.6: ATOMIC_AGGREGATE "length other than
/// 0"; 7.7: AGGREGATOR "length other than 8 (4-octet AS) or 6"; RFC 6793:
/// AS4_AGGREGATOR 8; 7.8, 7.10, 7.14 and RFC 8092 6: COMMUNITIES,
/// CLUSTER_LIST, EXTENDED_COMMUNITIES, LARGE_COMMUNITIES a non-zero
/// multiple of 4, 4, 8 and 12. The action (discard or treat-as-withdraw)
/// follows from the type code, see [`UpdateError::action`].
pub(crate) fn length_ok(t: u8, len: usize, four: bool) -> bool {
    let list = |unit: usize| len != 0 && len % unit == 0;
    match t {
        tc::NEXT_HOP | tc::MULTI_EXIT_DISC | tc::LOCAL_PREF | tc::ORIGINATOR_ID => len == 4,
        tc::ATOMIC_AGGREGATE => len == 0,
        tc::AGGREGATOR => len == if four { 8 } else { 6 },
        tc::AS4_AGGREGATOR => len == 8,
        tc::COMMUNITIES | tc::CLUSTER_LIST => list(4),
        tc::EXTENDED_COMMUNITIES => list(8),
        tc::LARGE_COMMUNITIES => list(12),
        _ => true,
    }
}

/// RFC 7606 4: "the length of the last encountered path attribute would
/// cause the Total Attribute Length to be exceeded ... [or] fewer than
/// three octets remain (or fewer than four octets, if the Attribute Flags
/// field has the Extended Length bit set) ... In either of these cases, an
/// error condition exists and the "treat-as-withdraw" approach MUST be
/// used (unless some other, more severe error is encountered dictating a
/// stronger approach), and the Total Attribute Length MUST be relied upon
/// to enable the beginning of the NLRI field to be located." A cut
/// MP_REACH/MP_UNREACH is such a more severe error.
fn overrun(
    w: &mut Walk,
    issues: &mut Vec<AttrIssue>,
    offset: usize,
    type_code: Option<u8>,
) -> Result<(), UpdateError> {
    let error = UpdateError::AttributeOverrun { offset, type_code };
    if error.action() == super::AttrAction::SessionReset {
        return Err(error);
    }
    issues.push(AttrIssue { offset, error });
    w.end = offset;
    Ok(())
}
