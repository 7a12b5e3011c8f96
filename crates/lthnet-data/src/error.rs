//! The error type of `lthnet-data`: every malformed input names the file and the problem.

use std::path::PathBuf;

/// Errors reading datasets, list files and splits, and downloading archives.
///
/// Every variant names the offending file (or URL) and the problem; readers return these for
/// malformed input and never panic on it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataError {
    /// A file could not be opened or read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The file ends early.
    #[error("{path} is truncated: {message}")]
    Truncated {
        /// The file.
        path: PathBuf,
        /// What was expected.
        message: String,
    },
    /// The file's header or magic number is wrong.
    #[error("{path} has the wrong format: {message}")]
    BadFormat {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A label is outside the dataset's classes.
    #[error("{path}: label {label} of item {index} is outside 0..{num_classes}")]
    LabelOutOfRange {
        /// The file.
        path: PathBuf,
        /// Item index.
        index: usize,
        /// The label.
        label: u64,
        /// Number of classes.
        num_classes: usize,
    },
    /// A line of a text file cannot be parsed.
    #[error("{path}:{line}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// An image cannot be decoded or has the wrong size.
    #[error("image {path}: {message}")]
    Image {
        /// The image file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// No dataset file where one was expected.
    #[error("{message}")]
    NotFound {
        /// What is missing and where to put it.
        message: String,
    },
    /// A parameter is invalid.
    #[error("invalid argument: {0}")]
    Invalid(String),
    /// A download failed (the message says where to put the file by hand).
    #[error("download of {url} failed: {message}")]
    Download {
        /// The URL.
        url: String,
        /// What went wrong and what to do.
        message: String,
    },
    /// A file's checksum does not match the published one.
    #[error(
        "{path}: {algorithm} checksum is {actual}, expected {expected} (corrupt or wrong file; delete it and download again)"
    )]
    Checksum {
        /// The file.
        path: PathBuf,
        /// `"MD5"` or `"SHA-256"`.
        algorithm: &'static str,
        /// The published digest (hex).
        expected: String,
        /// The digest of the file (hex).
        actual: String,
    },
}

pub(crate) fn io_err(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> DataError + '_ {
    move |source| DataError::Io {
        path: path.to_path_buf(),
        source,
    }
}
