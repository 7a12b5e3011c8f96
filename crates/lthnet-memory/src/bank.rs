//! LTHNet's memory (paper Eq. 4): per class, the centroid plus `k` prototypes chosen by a DPP.
//!
//! **Kernel** (a project decision; the paper does not state it), for class `i` with samples
//! `v_n` and centroid `m_i`:
//! - `f_n = v_n / max(‖v_n‖, ε)`, `S_ab = ⟨f_a, f_b⟩` (cosine similarity; post-ReLU features
//!   can be all zero, and a zero vector gets `L_nn = 0`, so it is never picked and never NaN);
//! - quality `r_n = exp(α · cos(v_n, m_i))` with `α = θ / (2(1 − θ))`;
//! - `L = diag(r) · S · diag(r)`, PSD by construction, so
//!   `log det L_Y = 2α Σ_{n∈Y} cos(v_n, m_i) + log det S_Y`: θ ∈ [0, 1) trades closeness to the
//!   centroid against diversity (default θ = 0.5, α = 0.5).
//!
//! **Slot order**: class-major, slot `i·(k+1) + t` holds the centroid (`t = 0`) and then the DPP
//! picks in selection order (`t = 1..k`); rows are the picks' **raw** `v_direct`.
//!
//! **Fallback**: when a class has ≤ k samples, or the DPP stops early (duplicates: `d² < ε`), the
//! missing slots are filled with copies of the centroid, so the memory keeps its (k+1)·C rows;
//! [`Memory::report`] counts them per class.

use burn::config::Config;
use burn::prelude::*;
use rayon::prelude::*;

use crate::MemoryError;
use crate::centroid::CentroidAccumulator;
use crate::dpp::{StopReason, greedy_map_features};

/// Configuration of the memory refresh.
#[derive(Config, Debug)]
pub struct MemoryConfig {
    /// Prototypes per class besides the centroid (k; 3 in the paper, 0 = centroids only).
    #[config(default = 3)]
    pub num_prototypes: usize,
    /// Quality/diversity trade-off θ ∈ [0, 1): the quality is `r_n = exp(α·cos(v_n, m_i))` with
    /// α = θ/(2(1−θ)), so the DPP maximises `θ·Σ cos(v_n, m_i) + (1−θ)·log det S_Y` up to scale.
    /// θ = 0 ignores the centroid (pure diversity); θ → 1 picks the samples closest to the
    /// centroid. The default 0.5 (α = 0.5) is a project decision: the paper gives no kernel.
    #[config(default = 0.5)]
    pub theta: f64,
    /// The DPP's numerical stop (the greedy run ends when the best gain d² is below ε, 1e-10 as
    /// in the reference code) and the norm floor of the cosine normalisation.
    #[config(default = 1e-10)]
    pub eps: f64,
}

/// Per-class outcome of a refresh.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassReport {
    /// Samples of the class.
    pub samples: usize,
    /// Sample indices (into the refresh input) picked by the DPP, in order.
    pub picks: Vec<usize>,
    /// Slots filled with a centroid copy.
    pub filled: usize,
    /// Why the DPP stopped.
    pub stop: StopReason,
}

/// The memory `M`: `(k+1)·C` rows of dimension `d_feature`, in the slot order above.
#[derive(Debug, Clone)]
pub struct Memory {
    /// Row-major `num_slots × d_feature` values.
    pub rows: Vec<f32>,
    /// Number of rows, (k+1)·C.
    pub num_slots: usize,
    /// Feature dimension.
    pub d_feature: usize,
    /// k.
    pub num_prototypes: usize,
    /// One report per class.
    pub report: Vec<ClassReport>,
}

impl Memory {
    /// Total slots filled with a centroid copy.
    pub fn filled_slots(&self) -> usize {
        self.report.iter().map(|r| r.filled).sum()
    }

    /// The memory as a `[(k+1)·C, d_feature]` tensor (a constant: no gradient).
    pub fn to_tensor<B: Backend>(&self, device: &B::Device) -> Tensor<B, 2> {
        Tensor::from_data(
            TensorData::new(self.rows.clone(), [self.num_slots, self.d_feature]),
            device,
        )
    }
}

impl MemoryConfig {
    fn assertions(&self) {
        assert!(
            (0.0..1.0).contains(&self.theta),
            "theta must be in [0, 1), got {}",
            self.theta
        );
        assert!(
            self.eps > 0.0 && self.eps.is_finite(),
            "eps must be positive and finite, got {}",
            self.eps
        );
    }

    /// α = θ / (2(1 − θ)).
    pub fn alpha(&self) -> f64 {
        self.theta / (2.0 * (1.0 - self.theta))
    }

    /// Build the memory from the `v_direct` of the whole training set (`labels.len() × d_feature`,
    /// row-major). Classes are processed in parallel.
    ///
    /// # Errors
    /// An empty class, a label out of range, a size mismatch, a non-finite feature or
    /// `d_feature = 0` ([`MemoryError::ZeroDimension`]).
    ///
    /// # Arguments
    /// - `features`: the raw `v_direct` of every training sample, row-major
    ///   `labels.len() × d_feature`.
    /// - `labels`: class of every sample, in `0..num_classes`.
    ///
    /// # Panics
    /// If θ is outside [0, 1) or ε is not positive.
    pub fn build_memory(
        &self,
        features: &[f32],
        d_feature: usize,
        labels: &[u32],
        num_classes: usize,
    ) -> Result<Memory, MemoryError> {
        self.assertions();
        if d_feature == 0 {
            return Err(MemoryError::ZeroDimension);
        }
        let mut acc = CentroidAccumulator::new(num_classes, d_feature);
        acc.add(features, labels)?;
        let centroids = acc.centroids()?;
        let mut members: Vec<Vec<usize>> = vec![Vec::new(); num_classes];
        for (i, &l) in labels.iter().enumerate() {
            members[l as usize].push(i);
        }
        let k = self.num_prototypes;
        let alpha = self.alpha();
        let per_class: Vec<(Vec<f32>, ClassReport)> = (0..num_classes)
            .into_par_iter()
            .map(|class| {
                let centroid = &centroids[class * d_feature..(class + 1) * d_feature];
                let items = &members[class];
                let mut rows = Vec::with_capacity((k + 1) * d_feature);
                rows.extend_from_slice(centroid);
                if k == 0 {
                    let report = ClassReport {
                        samples: items.len(),
                        picks: Vec::new(),
                        filled: 0,
                        stop: StopReason::Empty,
                    };
                    return (rows, report);
                }
                let mut feats = Vec::with_capacity(items.len() * d_feature);
                for &i in items {
                    feats.extend_from_slice(&features[i * d_feature..(i + 1) * d_feature]);
                }
                let cnorm = centroid
                    .iter()
                    .map(|&v| (v as f64).powi(2))
                    .sum::<f64>()
                    .sqrt();
                let qualities: Vec<f64> = feats
                    .chunks_exact(d_feature)
                    .map(|v| {
                        let vn = v.iter().map(|&x| (x as f64).powi(2)).sum::<f64>().sqrt();
                        let dot: f64 = v
                            .iter()
                            .zip(centroid)
                            .map(|(&a, &b)| a as f64 * b as f64)
                            .sum();
                        let cos = dot / (vn.max(self.eps) * cnorm.max(self.eps));
                        (alpha * cos).exp()
                    })
                    .collect();
                let sel = greedy_map_features(&feats, d_feature, &qualities, k, self.eps);
                for &p in &sel.items {
                    rows.extend_from_slice(&feats[p * d_feature..(p + 1) * d_feature]);
                }
                let filled = k - sel.items.len();
                for _ in 0..filled {
                    rows.extend_from_slice(centroid);
                }
                let report = ClassReport {
                    samples: items.len(),
                    picks: sel.items.iter().map(|&p| items[p]).collect(),
                    filled,
                    stop: sel.stop,
                };
                (rows, report)
            })
            .collect();
        let mut rows = Vec::with_capacity(num_classes * (k + 1) * d_feature);
        let mut report = Vec::with_capacity(num_classes);
        for (r, rep) in per_class {
            rows.extend(r);
            report.push(rep);
        }
        Ok(Memory {
            rows,
            num_slots: num_classes * (k + 1),
            d_feature,
            num_prototypes: k,
            report,
        })
    }

    /// [`MemoryConfig::build_memory`] from a `[n, d_feature]` tensor on any backend (read back to
    /// the host once; run it on the inner backend of an autodiff model, see `burn-notes.md`).
    ///
    /// # Shapes
    /// - `features`: `[n, d_feature]`, `labels`: `n` entries.
    ///
    /// # Errors
    /// As [`MemoryConfig::build_memory`].
    pub fn build_memory_from_tensor<B: Backend>(
        &self,
        features: Tensor<B, 2>,
        labels: &[u32],
        num_classes: usize,
    ) -> Result<Memory, MemoryError> {
        let [_, d] = features.dims();
        let values = features
            .into_data()
            .convert::<f32>()
            .into_vec::<f32>()
            .expect("f32 tensor data");
        self.build_memory(&values, d, labels, num_classes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toy() -> (Vec<f32>, Vec<u32>) {
        // Class 0: 5 samples, class 1: 2 samples, dimension 3.
        let f = vec![
            1.0, 0.0, 0.0, //
            0.9, 0.1, 0.0, //
            0.0, 1.0, 0.0, //
            1.0, 0.0, 0.1, //
            0.5, 0.5, 0.5, //
            0.0, 0.0, 1.0, //
            0.0, 0.1, 1.0,
        ];
        let y = vec![0, 0, 0, 0, 0, 1, 1];
        (f, y)
    }

    #[test]
    fn k0_is_the_centroid_memory() {
        let (f, y) = toy();
        let m = MemoryConfig::new()
            .with_num_prototypes(0)
            .build_memory(&f, 3, &y, 2)
            .unwrap();
        assert_eq!(m.num_slots, 2);
        let mut acc = CentroidAccumulator::new(2, 3);
        acc.add(&f, &y).unwrap();
        assert_eq!(m.rows, acc.centroids().unwrap());
    }

    #[test]
    fn slots_are_class_major_and_small_classes_fall_back() {
        let (f, y) = toy();
        let m = MemoryConfig::new()
            .with_num_prototypes(3)
            .build_memory(&f, 3, &y, 2)
            .unwrap();
        assert_eq!(m.num_slots, 8);
        assert_eq!(m.rows.len(), 8 * 3);
        // Class 0 has 5 samples: 3 distinct picks, raw features, no fill.
        assert_eq!(m.report[0].picks.len(), 3);
        assert_eq!(m.report[0].filled, 0);
        for (t, &p) in m.report[0].picks.iter().enumerate() {
            assert_eq!(&m.rows[(1 + t) * 3..(2 + t) * 3], &f[p * 3..(p + 1) * 3]);
        }
        // The first pick is the sample most similar to the centroid.
        let c = &m.rows[0..3];
        let cos = |i: usize| {
            let v = &f[i * 3..(i + 1) * 3];
            let d: f32 = v.iter().zip(c).map(|(a, b)| a * b).sum();
            d / (v.iter().map(|a| a * a).sum::<f32>().sqrt()
                * c.iter().map(|a| a * a).sum::<f32>().sqrt())
        };
        let best = (0..5).max_by(|&a, &b| cos(a).total_cmp(&cos(b))).unwrap();
        assert_eq!(m.report[0].picks[0], best);
        // Class 1 has 2 samples: 2 picks + 1 centroid copy, at slots 4..8.
        assert_eq!(m.report[1].filled, 1);
        assert_eq!(&m.rows[7 * 3..8 * 3], &m.rows[4 * 3..5 * 3]);
        assert_eq!(m.filled_slots(), 1);
    }

    #[test]
    fn zero_vectors_do_not_nan() {
        // Class 0: two all-zero samples (dead ReLUs) and one live one; class 1: all zero.
        let f = vec![0.0, 0.0, 0.0, 0.0, 1.0, 2.0, 0.0, 0.0];
        let y = vec![0, 0, 0, 1];
        let m = MemoryConfig::new()
            .with_num_prototypes(2)
            .build_memory(&f, 2, &y, 2)
            .unwrap();
        assert!(m.rows.iter().all(|v| v.is_finite()));
        assert_eq!(m.report[0].picks, vec![2]);
        assert_eq!(m.report[0].filled, 1);
        assert_eq!(m.report[1].filled, 2);
        assert_eq!(m.report[1].stop, StopReason::Epsilon);
        assert_eq!(m.filled_slots(), 3);
    }

    #[test]
    fn duplicates_fill_with_the_centroid() {
        // Three identical samples: one pick, then the DPP stops (d² = 0).
        let f = vec![1.0, 2.0, 1.0, 2.0, 1.0, 2.0];
        let m = MemoryConfig::new()
            .build_memory(&f, 2, &[0, 0, 0], 1)
            .unwrap();
        assert_eq!(m.report[0].picks.len(), 1);
        assert_eq!(m.report[0].filled, 2);
        assert_eq!(&m.rows[4..6], &m.rows[0..2]);
    }

    #[test]
    #[should_panic(expected = "theta must be in [0, 1)")]
    fn theta_one_is_rejected() {
        let _ = MemoryConfig::new()
            .with_theta(1.0)
            .build_memory(&[1.0], 1, &[0], 1);
    }

    #[test]
    fn empty_class_errors() {
        let (f, y) = toy();
        let err = MemoryConfig::new().build_memory(&f, 3, &y, 3).unwrap_err();
        assert_eq!(err, MemoryError::EmptyClass { class: 2 });
    }

    #[test]
    fn zero_dimension_is_an_error_not_an_empty_class() {
        // Two samples of no features: formerly "class 0 has no samples".
        let err = MemoryConfig::new()
            .build_memory(&[], 0, &[0, 1], 2)
            .unwrap_err();
        assert_eq!(err, MemoryError::ZeroDimension);
        assert!(err.to_string().contains("feature dimension is 0"), "{err}");
    }

    #[test]
    fn tensor_round_trip() {
        let (f, y) = toy();
        let device = Default::default();
        let t = Tensor::<burn::backend::Flex, 2>::from_data(
            TensorData::new(f.clone(), [7, 3]),
            &device,
        );
        let a = MemoryConfig::new()
            .build_memory_from_tensor(t, &y, 2)
            .unwrap();
        let b = MemoryConfig::new().build_memory(&f, 3, &y, 2).unwrap();
        assert_eq!(a.rows, b.rows);
        let back = a
            .to_tensor::<burn::backend::Flex>(&device)
            .into_data()
            .to_vec::<f32>()
            .unwrap();
        assert_eq!(back, a.rows);
    }
}
