//! The error type of `lthnet-core` (I/O, weight import, checkpoints, feature caches).

use std::path::PathBuf;

/// Everything that can go wrong in `lthnet-core` outside of programming errors
/// (shape misuse panics, as in Burn).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CoreError {
    /// A file could not be read or written.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Weights could not be imported into a module.
    #[error("cannot import weights from {path}: {message}")]
    WeightImport {
        /// The weight file.
        path: PathBuf,
        /// What went wrong, including the missing / mismatched keys.
        message: String,
    },
    /// A file has an unexpected format or content.
    #[error("malformed file {path}: {message}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// The training loss became NaN or infinite.
    #[error(
        "non-finite loss {value} at epoch {epoch}, step {step}; the last good checkpoint is kept"
    )]
    NonFiniteLoss {
        /// 1-based epoch.
        epoch: usize,
        /// 1-based step within the epoch.
        step: usize,
        /// The loss value.
        value: f64,
    },
    /// A configuration value is invalid.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// Reading a dataset failed.
    #[error(transparent)]
    Data(#[from] lthnet_data::DataError),
}
