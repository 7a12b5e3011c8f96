//! The error type of `lthnet-memory`.

/// Bad input to a memory refresh.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum MemoryError {
    /// A class has no training samples, so it has no centroid.
    #[error("class {class} has no samples: its centroid is undefined (check the split's labels)")]
    EmptyClass {
        /// The class index.
        class: usize,
    },
    /// A label is outside `0..num_classes`.
    #[error("label {label} at item {index} is outside 0..{num_classes}")]
    LabelOutOfRange {
        /// The offending label.
        label: u32,
        /// Its position.
        index: usize,
        /// The configured number of classes.
        num_classes: usize,
    },
    /// Features and labels disagree in size.
    #[error("{values} feature values do not form {items} rows of dimension {dim}")]
    ShapeMismatch {
        /// Number of feature values.
        values: usize,
        /// Number of labels.
        items: usize,
        /// Feature dimension.
        dim: usize,
    },
    /// A feature dimension of zero: there is nothing to average, and every class would look
    /// empty.
    #[error("feature dimension is 0: centroids and prototypes need at least one feature")]
    ZeroDimension,
    /// A feature is NaN or infinite.
    #[error("feature {position} of item {index} is not finite ({value})")]
    NonFinite {
        /// Item index.
        index: usize,
        /// Position within the feature vector.
        position: usize,
        /// The value.
        value: f32,
    },
}
