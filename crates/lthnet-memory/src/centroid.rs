//! Class centroids (paper Eq. 3), accumulated in one streaming pass.

use burn::prelude::*;

use crate::MemoryError;

/// Streaming per-class sums of feature vectors, in `f64`: exact (up to `f64` round-off) for any
/// batch size and order.
#[derive(Debug, Clone)]
pub struct CentroidAccumulator {
    dim: usize,
    sums: Vec<f64>,
    counts: Vec<usize>,
}

impl CentroidAccumulator {
    /// An empty accumulator for `num_classes` classes of `dim`-dimensional features.
    ///
    /// # Panics
    /// If `dim` is 0 (rows of no features cannot be counted, so every class would come out
    /// empty); [`crate::MemoryConfig::build_memory`] returns [`MemoryError::ZeroDimension`]
    /// instead.
    pub fn new(num_classes: usize, dim: usize) -> Self {
        assert!(
            dim > 0,
            "feature dimension must be positive, got {dim} ({num_classes} classes)"
        );
        Self {
            dim,
            sums: vec![0.0; num_classes * dim],
            counts: vec![0; num_classes],
        }
    }

    /// Add a batch of row-major features (`labels.len() × dim`).
    ///
    /// # Errors
    /// A size mismatch, a label outside `0..num_classes` or a non-finite value; the batch is
    /// then only partly added, so discard the accumulator.
    pub fn add(&mut self, features: &[f32], labels: &[u32]) -> Result<(), MemoryError> {
        let num_classes = self.counts.len();
        if features.len() != labels.len() * self.dim {
            return Err(MemoryError::ShapeMismatch {
                values: features.len(),
                items: labels.len(),
                dim: self.dim,
            });
        }
        for (index, (row, &label)) in features.chunks_exact(self.dim).zip(labels).enumerate() {
            let c = label as usize;
            if c >= num_classes {
                return Err(MemoryError::LabelOutOfRange {
                    label,
                    index,
                    num_classes,
                });
            }
            if let Some((position, &value)) = row.iter().enumerate().find(|(_, v)| !v.is_finite()) {
                return Err(MemoryError::NonFinite {
                    index,
                    position,
                    value,
                });
            }
            self.counts[c] += 1;
            for (s, &v) in self.sums[c * self.dim..(c + 1) * self.dim]
                .iter_mut()
                .zip(row)
            {
                *s += v as f64;
            }
        }
        Ok(())
    }

    /// Add a batch given as a tensor on any backend (read back to the host once).
    ///
    /// # Shapes
    /// - `features`: `[batch, dim]`, `labels`: `batch` entries.
    ///
    /// # Errors
    /// As [`CentroidAccumulator::add`].
    pub fn add_tensor<B: Backend>(
        &mut self,
        features: Tensor<B, 2>,
        labels: &[u32],
    ) -> Result<(), MemoryError> {
        let values = features
            .into_data()
            .convert::<f32>()
            .into_vec::<f32>()
            .expect("f32 tensor data");
        self.add(&values, labels)
    }

    /// Samples seen per class.
    pub fn counts(&self) -> &[usize] {
        &self.counts
    }

    /// The centroids (`num_classes × dim`, row-major).
    ///
    /// # Errors
    /// [`MemoryError::EmptyClass`] naming the first class without samples.
    pub fn centroids(&self) -> Result<Vec<f32>, MemoryError> {
        let mut out = Vec::with_capacity(self.sums.len());
        for (class, &n) in self.counts.iter().enumerate() {
            if n == 0 {
                return Err(MemoryError::EmptyClass { class });
            }
            out.extend(
                self.sums[class * self.dim..(class + 1) * self.dim]
                    .iter()
                    .map(|s| (s / n as f64) as f32),
            );
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_size_does_not_matter() {
        let f: Vec<f32> = (0..20).map(|v| v as f32 * 0.37).collect();
        let y = [0u32, 1, 0, 2, 1, 0, 2, 2, 1, 0];
        let mut one = CentroidAccumulator::new(3, 2);
        one.add(&f, &y).unwrap();
        let mut many = CentroidAccumulator::new(3, 2);
        for k in 0..10 {
            many.add(&f[2 * k..2 * k + 2], &y[k..k + 1]).unwrap();
        }
        assert_eq!(one.centroids().unwrap(), many.centroids().unwrap());
        assert_eq!(one.counts(), &[4, 3, 3]);
        // Class 0 = items 0, 2, 5, 9.
        let c = one.centroids().unwrap();
        let want = (0.0 + 4.0 + 10.0 + 18.0) * 0.37 / 4.0;
        assert!((c[0] - want).abs() < 1e-5);
    }

    #[test]
    fn empty_class_is_an_error_naming_it() {
        let mut acc = CentroidAccumulator::new(3, 1);
        acc.add(&[1.0, 2.0], &[0, 2]).unwrap();
        assert_eq!(acc.centroids(), Err(MemoryError::EmptyClass { class: 1 }));
    }

    #[test]
    #[should_panic(expected = "feature dimension must be positive, got 0 (3 classes)")]
    fn zero_dimension_is_rejected_at_construction() {
        CentroidAccumulator::new(3, 0);
    }

    #[test]
    fn bad_labels_and_values() {
        let mut acc = CentroidAccumulator::new(2, 1);
        assert!(matches!(
            acc.add(&[1.0], &[5]),
            Err(MemoryError::LabelOutOfRange { label: 5, .. })
        ));
        assert!(matches!(
            acc.add(&[f32::NAN], &[0]),
            Err(MemoryError::NonFinite { .. })
        ));
        assert!(matches!(
            acc.add(&[1.0, 2.0], &[0]),
            Err(MemoryError::ShapeMismatch { .. })
        ));
    }
}
