//! The error type of `lthnet-retrieval`.
//!
//! File I/O, drawing and the [`ZeroRelevant::Error`](crate::ZeroRelevant::Error) policy return
//! errors; misuse of the APIs (mismatched code lengths or label counts) panics, as in Burn.

use std::path::PathBuf;

/// Errors reading or writing codes, labels and plots, and refused evaluations.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RetrievalError {
    /// A file could not be read or written.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not in a supported format, or its contents are invalid.
    #[error("{path}: {message}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong, with the offending value and what is accepted.
        message: String,
    },
    /// A native code file whose SHA-256 does not match its contents.
    #[error(
        "{path}: checksum mismatch (stored {stored}, computed {computed}): the file is corrupt or truncated; re-export the codes"
    )]
    Checksum {
        /// The file.
        path: PathBuf,
        /// The checksum stored in the file (hex).
        stored: String,
        /// The checksum of the contents (hex).
        computed: String,
    },
    /// A native code file of a format version this build cannot read.
    #[error("{path}: code file format version {found}, this build reads version {supported}")]
    Version {
        /// The file.
        path: PathBuf,
        /// The version in the file.
        found: u32,
        /// The version this build reads.
        supported: u32,
    },
    /// A file's codes do not have the expected length.
    #[error("{path}: codes have {found} bits, expected {expected}")]
    BitsMismatch {
        /// The file.
        path: PathBuf,
        /// Bits per code in the file.
        found: usize,
        /// Bits per code expected.
        expected: usize,
    },
    /// Under [`ZeroRelevant::Error`](crate::ZeroRelevant::Error), a query has no relevant item
    /// within the top R. Use `ZeroRelevant::Zero` or `Skip` to evaluate such query sets.
    #[error(
        "query {query} has no relevant item within the top {top_r} (policy ZeroRelevant::Error; use Zero or Skip to evaluate it)"
    )]
    ZeroRelevantQuery {
        /// The first such query.
        query: usize,
        /// The R of MAP@R.
        top_r: usize,
    },
    /// A plot could not be drawn or written.
    #[error("cannot draw {path}: {message}")]
    Plot {
        /// The output file.
        path: PathBuf,
        /// The plotting backend's message.
        message: String,
    },
}
