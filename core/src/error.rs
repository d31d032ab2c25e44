//! Why stored bytes could not be read or written: one error for every format heatpipe keeps
//! (chunks, aggregates, session indexes, shard partials), so that a caller can tell a damaged or
//! outdated file from a store that failed.

/// Why a chunk (or an aggregate file) could not be decoded or encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    #[error("not a {expected} file (bad magic)")]
    BadMagic { expected: &'static str },
    #[error("unsupported {what} version {version}")]
    UnsupportedVersion { what: &'static str, version: u16 },
    #[error("{what} version {version} was written by an older heatpipe: process the day again")]
    Outdated { what: &'static str, version: u16 },
    #[error("file ends early: {what}")]
    Truncated { what: &'static str },
    #[error("checksum mismatch in {what}")]
    Checksum { what: String },
    #[error("{what} is larger than allowed ({size_bytes} bytes)")]
    TooLarge { what: &'static str, size_bytes: u64 },
    #[error("corrupt header: {0}")]
    Header(String),
    #[error("corrupt block {block}: {source}")]
    Block {
        block: usize,
        source: crate::codec::CodecError,
    },
    #[error("corrupt block {block}: {reason}")]
    BlockContent { block: usize, reason: String },
    #[error("zstd: {0}")]
    Zstd(String),
    #[error("cannot encode: {0}")]
    Encode(String),
}
