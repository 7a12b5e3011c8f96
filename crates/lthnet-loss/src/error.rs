//! The error type of `lthnet-loss`.

/// Bad input to a loss or to its fixed targets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LossError {
    /// More hash centres were asked for than distinct centres of that length exist (see
    /// [`crate::csq::max_hash_centres`]).
    #[error(
        "cannot build {num_classes} distinct {bits}-bit hash centres: at most {max} exist \
         (Hadamard rows and vectors with exactly {half} entries −1); use more bits",
        half = bits / 2
    )]
    TooManyCentres {
        /// The number of classes asked for.
        num_classes: usize,
        /// The code length.
        bits: usize,
        /// The largest number of centres of this length.
        max: usize,
    },
    /// A code length of zero.
    #[error("hash centres need at least 1 bit, got {bits}")]
    ZeroBits {
        /// The code length given.
        bits: usize,
    },
}
