//! Varint and zig-zag primitives, and a reader that never reads past its slice.
//!
//! Every decoder in heatpipe reads through [`Reader`], so hostile input can only produce a
//! [`CodecError`], never a panic or an allocation larger than the input justifies.

/// Why bytes could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    #[error("input ends early while reading {what}")]
    Truncated { what: &'static str },
    #[error("varint longer than 10 bytes while reading {what}")]
    VarintOverflow { what: &'static str },
    #[error("{what} is out of range ({value})")]
    OutOfRange { what: &'static str, value: u64 },
    #[error("{what} is not valid UTF-8")]
    InvalidUtf8 { what: &'static str },
}

/// Maps a signed value to an unsigned one so that small magnitudes stay small.
#[inline]
pub fn zigzag_encode(value: i64) -> u64 {
    ((value << 1) ^ (value >> 63)) as u64
}

/// Inverse of [`zigzag_encode`].
#[inline]
pub fn zigzag_decode(value: u64) -> i64 {
    ((value >> 1) as i64) ^ -((value & 1) as i64)
}

/// Appends `value` as an LEB128 varint.
#[inline]
pub fn put_uvarint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Appends `value` zig-zag encoded as a varint.
#[inline]
pub fn put_ivarint(out: &mut Vec<u8>, value: i64) {
    put_uvarint(out, zigzag_encode(value));
}

/// Appends a length-prefixed byte string.
pub fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_uvarint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// A cursor over a byte slice whose every read is bounds-checked.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    bytes: &'a [u8],
    position: usize,
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, position: 0 }
    }

    /// Returns how many bytes are left.
    pub fn remaining(&self) -> usize {
        self.bytes.len() - self.position
    }

    /// Reads an LEB128 varint. Most of the values in event columns fit in one byte, which is
    /// read here; longer ones take the loop, kept out of line.
    #[inline(always)]
    pub fn uvarint(&mut self, what: &'static str) -> Result<u64, CodecError> {
        match self.bytes.get(self.position) {
            Some(&byte) if byte < 0x80 => {
                self.position += 1;
                Ok(u64::from(byte))
            }
            _ => self.uvarint_long(what),
        }
    }

    #[inline(never)]
    fn uvarint_long(&mut self, what: &'static str) -> Result<u64, CodecError> {
        let mut value = 0u64;
        for index in 0..10 {
            let Some(&byte) = self.bytes.get(self.position) else {
                return Err(CodecError::Truncated { what });
            };
            self.position += 1;
            let bits = u64::from(byte & 0x7f);
            if index == 9 && bits > 1 {
                return Err(CodecError::VarintOverflow { what });
            }
            value |= bits << (7 * index);
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(CodecError::VarintOverflow { what })
    }

    /// Reads a zig-zag varint.
    #[inline(always)]
    pub fn ivarint(&mut self, what: &'static str) -> Result<i64, CodecError> {
        self.uvarint(what).map(zigzag_decode)
    }

    /// Reads a varint that must fit in `u32`.
    pub fn u32(&mut self, what: &'static str) -> Result<u32, CodecError> {
        let value = self.uvarint(what)?;
        u32::try_from(value).map_err(|_| CodecError::OutOfRange { what, value })
    }

    /// Reads a count of items that each take at least one byte, so it cannot exceed what is left.
    pub fn count(&mut self, what: &'static str) -> Result<usize, CodecError> {
        let value = self.uvarint(what)?;
        match usize::try_from(value) {
            Ok(count) if count <= self.remaining() => Ok(count),
            _ => Err(CodecError::OutOfRange { what, value }),
        }
    }

    /// Reads `len` raw bytes.
    pub fn take(&mut self, len: usize, what: &'static str) -> Result<&'a [u8], CodecError> {
        if len > self.remaining() {
            return Err(CodecError::Truncated { what });
        }
        let slice = &self.bytes[self.position..self.position + len];
        self.position += len;
        Ok(slice)
    }

    /// Reads a length-prefixed byte string.
    pub fn bytes(&mut self, what: &'static str) -> Result<&'a [u8], CodecError> {
        let len = self.count(what)?;
        self.take(len, what)
    }

    /// Reads a length-prefixed UTF-8 string.
    pub fn str(&mut self, what: &'static str) -> Result<&'a str, CodecError> {
        std::str::from_utf8(self.bytes(what)?).map_err(|_| CodecError::InvalidUtf8 { what })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn varints_round_trip(values in proptest::collection::vec(any::<i64>(), 0..64)) {
            let mut out = Vec::new();
            for &value in &values {
                put_ivarint(&mut out, value);
            }
            let mut reader = Reader::new(&out);
            for &value in &values {
                prop_assert_eq!(reader.ivarint("value").ok(), Some(value));
            }
            prop_assert_eq!(reader.remaining(), 0);
        }

        #[test]
        fn reading_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let mut reader = Reader::new(&bytes);
            while reader.remaining() > 0 {
                if reader.str("s").is_err() && reader.uvarint("v").is_err() {
                    break;
                }
            }
        }
    }

    #[test]
    fn small_magnitudes_take_one_byte() {
        for value in -64..64 {
            let mut out = Vec::new();
            put_ivarint(&mut out, value);
            assert_eq!(out.len(), 1, "{value}");
        }
    }

    #[test]
    fn overlong_varint_is_an_error() {
        let bytes = [0xff; 11];
        assert_eq!(
            Reader::new(&bytes).uvarint("v"),
            Err(CodecError::VarintOverflow { what: "v" })
        );
        assert!(Reader::new(&[0x80]).uvarint("v").is_err());
    }

    #[test]
    fn counts_larger_than_the_input_are_rejected() {
        let mut out = Vec::new();
        put_uvarint(&mut out, 1 << 40);
        assert!(matches!(
            Reader::new(&out).count("n"),
            Err(CodecError::OutOfRange { .. })
        ));
    }
}
