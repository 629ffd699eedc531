//! A bounds-checked, zero-copy cursor over a byte slice: every read returns
//! `None` instead of panicking when the input is short. The hot UPDATE path
//! uses it directly; it is `Copy`, so a parser can look ahead cheaply.

/// Cursor over `&[u8]`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

#[allow(dead_code)] // parts are used by only some parsers
impl<'a> Reader<'a> {
    /// A reader at the start of `buf`.
    #[inline]
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }
    /// Octets left.
    #[inline]
    pub(crate) fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }
    /// Octets consumed so far (an offset for error reports).
    #[inline]
    pub(crate) fn offset(&self) -> usize {
        self.pos
    }
    /// Whether everything was consumed.
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }
    /// Reads one octet.
    #[inline]
    pub(crate) fn u8(&mut self) -> Option<u8> {
        let v = *self.buf.get(self.pos)?;
        self.pos += 1;
        Some(v)
    }
    /// Reads a big-endian u16.
    #[inline]
    pub(crate) fn u16(&mut self) -> Option<u16> {
        let b = self.array::<2>()?;
        Some(u16::from_be_bytes(b))
    }
    /// Reads a big-endian u32.
    #[inline]
    pub(crate) fn u32(&mut self) -> Option<u32> {
        let b = self.array::<4>()?;
        Some(u32::from_be_bytes(b))
    }
    /// Reads N octets into an array.
    #[inline]
    pub(crate) fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        let s = self.take(N)?;
        s.try_into().ok()
    }
    /// Takes the next `n` octets.
    #[inline]
    pub(crate) fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let s = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }
    /// Takes everything left.
    #[inline]
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        let s = self.buf.get(self.pos..).unwrap_or_default();
        self.pos = self.buf.len();
        s
    }
}

#[cfg(test)]
mod tests {
    use super::Reader;

    #[test]
    fn reads_and_refuses_short_input() {
        let mut r = Reader::new(&[1, 0, 2, 0, 0, 0, 3, 9]);
        assert_eq!(r.u8(), Some(1));
        assert_eq!(r.u16(), Some(2));
        assert_eq!(r.u32(), Some(3));
        assert_eq!(r.offset(), 7);
        assert_eq!(r.u16(), None);
        assert_eq!(r.take(2), None);
        assert_eq!(r.rest(), &[9]);
        assert!(r.is_empty());
        assert_eq!(r.u8(), None);
    }
}
