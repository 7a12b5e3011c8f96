//! The error type of `lthnet-retrieval` (file I/O; misuse of the APIs panics, as in Burn).

use std::path::PathBuf;

/// Errors reading or writing codes and labels.
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
    /// The file is not in a supported format, or is corrupt.
    #[error("{path}: {message}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong, with the offending value.
        message: String,
    },
}
