//! The nom vocabulary the decoders share, kept private to the crate.
//!
//! Every parser runs over a plain `&[u8]` (no located span: that is what
//! made nom expensive for NetGauze) with `()` as the nom error, so a
//! failed step costs nothing to build. The decoders map a failure to
//! their own error (`DecodeError`, `UpdateError`, an RFC 7606 reason)
//! right where it happens, because only there is it known which field was
//! short and at which offset; `nom::Err` never leaves this crate.
//!
//! The numbers are nom's (`nom::number::complete`); `take` and
//! `length_data` are written here as nom parsers over `&[u8]`. nom's own
//! `take` is generic over the input type and goes through the `Input`
//! trait (an index check, then a second one when slicing): on the UPDATE
//! validation path it cost 10 instructions per prefix more than
//! `split_at_checked` (BENCHMARKS.md, UPDATE codec). All of them fail like
//! nom's `complete` parsers: a frame is whole when it is decoded, so
//! running short of input is an error, never "need more".

use nom::{Err, IResult};

pub(crate) use nom::combinator::rest;
pub(crate) use nom::number::complete::{be_u16, be_u32, be_u8};
pub(crate) use nom::Parser;

/// The next `n` octets.
#[inline(always)]
pub(crate) fn take(n: impl Into<usize>) -> impl Fn(&[u8]) -> Res<'_, &[u8]> {
    let n = n.into();
    move |i| match i.split_at_checked(n) {
        Some((v, r)) => Ok((r, v)),
        None => Err(Err::Error(())),
    }
}

/// A length (read by `len`) and that many octets after it.
#[inline(always)]
pub(crate) fn length_data<'a, L: Into<usize>>(
    len: impl Fn(&'a [u8]) -> Res<'a, L>,
) -> impl Fn(&'a [u8]) -> Res<'a, &'a [u8]> {
    move |i| {
        let (i, n) = len(i)?;
        take(n)(i)
    }
}

/// The result of one of our nom parsers: the rest of the input and the
/// value, or a failure that carries nothing (see the module doc).
pub(crate) type Res<'a, T> = IResult<&'a [u8], T, ()>;

/// How far `rest` (a suffix of `whole`) lies into `whole`: the offset of
/// the next field, for error reports.
#[inline]
pub(crate) fn consumed(whole: &[u8], rest: &[u8]) -> usize {
    whole.len().saturating_sub(rest.len())
}

/// Runs `p` on `input`: `Some((rest, value))`, or `None` when it failed.
#[inline]
pub(crate) fn run<'a, O>(
    mut p: impl Parser<&'a [u8], Output = O, Error = ()>,
    input: &'a [u8],
) -> Option<(&'a [u8], O)> {
    p.parse_complete(input).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_refuses_short_input() {
        let input = [1u8, 0, 2, 0, 0, 0, 3, 9];
        let (r, v) = run((be_u8, be_u16, be_u32), &input).unwrap();
        assert_eq!(v, (1, 2, 3));
        assert_eq!(consumed(&input, r), 7);
        assert!(run(be_u16, r).is_none());
        assert!(run(take(2usize), r).is_none());
        assert_eq!(
            run(length_data(be_u8), &[2, 7, 8, 9][..]),
            Some((&[9u8][..], &[7u8, 8][..]))
        );
        assert!(run(length_data(be_u8), &[3, 7, 8][..]).is_none());
        assert_eq!(run(rest, r), Some((&[][..], &[9u8][..])));
    }
}
