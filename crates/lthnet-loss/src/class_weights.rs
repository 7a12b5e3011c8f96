//! Class-balanced weights from the effective number of samples (Cui et al., CVPR 2019; LTHNet
//! Eq. 13): `w_c = (1 − β) / (1 − β^{n_c})`.

use serde::{Deserialize, Serialize};

/// How class weights are normalised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum WeightNorm {
    /// The raw `w_c`.
    None,
    /// `w / max w` (the LTHNet authors' code).
    Max,
    /// `w · C / Σ w` (Cui et al.'s reference code; the default).
    #[default]
    SumToC,
    /// `w / mean w`. Over the classes this is the same scale as `SumToC` (mean w = Σw / C); it
    /// is kept as a separate name because both spellings occur in the literature.
    Mean,
}

/// Class-balanced weights for class counts `counts` and `beta ∈ [0, 1)`.
///
/// The denominator is computed as `−expm1(n·ln β)`, exact for β close to 1. β = 0 gives weight 1
/// for every class (plain cross-entropy) before and after normalisation.
///
/// **Empty classes.** A count of 0 (a class without training samples, e.g. after long-tail
/// subsampling or a truncated smoke run) is weighted like a count of 1: the largest finite
/// weight, that of the rarest possible class, `w = (1 − β)/(1 − β) = 1` before normalisation.
/// The formula itself would give `(1 − β)/0 = ∞` and turn every normalised weight into 0 or NaN.
/// The weight of a class without training samples never multiplies a training loss; it only
/// enters the normalisation, as one more rarest class. Weights stay finite, positive and
/// non-increasing in the count.
///
/// # Panics
/// If β is outside [0, 1).
pub fn class_balanced_weights(counts: &[usize], beta: f64, norm: WeightNorm) -> Vec<f32> {
    assert!(
        (0.0..1.0).contains(&beta),
        "beta must be in [0, 1), got {beta}"
    );
    let raw: Vec<f64> = counts
        .iter()
        .map(|&n| {
            if beta == 0.0 {
                1.0
            } else {
                (1.0 - beta) / -((n.max(1) as f64) * beta.ln()).exp_m1()
            }
        })
        .collect();
    let c = raw.len() as f64;
    let scale = match norm {
        WeightNorm::None => 1.0,
        WeightNorm::Max => 1.0 / raw.iter().cloned().fold(f64::MIN, f64::max),
        WeightNorm::SumToC => c / raw.iter().sum::<f64>(),
        WeightNorm::Mean => c / raw.iter().sum::<f64>(),
    };
    raw.iter().map(|w| (w * scale) as f32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn weights_are_finite_ordered_and_normalised(
            counts in proptest::collection::vec(0usize..100_000, 1..50),
            beta in 0.0f64..0.999_999,
        ) {
            let raw = class_balanced_weights(&counts, beta, WeightNorm::None);
            prop_assert!(raw.iter().all(|w| w.is_finite() && *w > 0.0));
            // Fewer samples, larger weight.
            for (a, wa) in counts.iter().zip(&raw) {
                for (b, wb) in counts.iter().zip(&raw) {
                    if a < b {
                        prop_assert!(wa >= wb);
                    }
                }
            }
            let c = counts.len() as f32;
            let s: f32 = class_balanced_weights(&counts, beta, WeightNorm::SumToC).iter().sum();
            prop_assert!((s - c).abs() <= 1e-4 * c);
            let m = class_balanced_weights(&counts, beta, WeightNorm::Max);
            prop_assert!((m.iter().cloned().fold(0.0f32, f32::max) - 1.0).abs() < 1e-6);
        }
    }

    #[test]
    fn beta_zero_is_uniform() {
        for norm in [
            WeightNorm::None,
            WeightNorm::Max,
            WeightNorm::SumToC,
            WeightNorm::Mean,
        ] {
            assert_eq!(
                class_balanced_weights(&[500, 5, 1], 0.0, norm),
                vec![1.0; 3]
            );
        }
    }

    #[test]
    fn matches_closed_form_and_normalises() {
        let w = class_balanced_weights(&[100, 10], 0.99, WeightNorm::None);
        let want0 = 0.01 / (1.0 - 0.99f64.powi(100));
        let want1 = 0.01 / (1.0 - 0.99f64.powi(10));
        assert!((w[0] as f64 - want0).abs() < 1e-6);
        assert!((w[1] as f64 - want1).abs() < 1e-6);
        let s = class_balanced_weights(&[100, 10], 0.99, WeightNorm::SumToC);
        assert!((s.iter().sum::<f32>() - 2.0).abs() < 1e-5);
        let m = class_balanced_weights(&[100, 10], 0.99, WeightNorm::Max);
        assert!((m[1] - 1.0).abs() < 1e-6 && m[0] < 1.0);
    }

    #[test]
    fn beta_near_one_is_inverse_frequency() {
        let w = class_balanced_weights(&[1000, 10], 1.0 - 1e-12, WeightNorm::None);
        assert!(((w[1] / w[0]) as f64 - 100.0).abs() < 1e-3);
    }

    #[test]
    fn empty_class_is_weighted_like_a_singleton() {
        for norm in [
            WeightNorm::None,
            WeightNorm::Max,
            WeightNorm::SumToC,
            WeightNorm::Mean,
        ] {
            for beta in [0.0, 0.9, 0.999, 1.0 - 1e-12] {
                let empty = class_balanced_weights(&[300, 0, 7], beta, norm);
                let single = class_balanced_weights(&[300, 1, 7], beta, norm);
                assert_eq!(empty, single, "{norm:?}, beta {beta}");
                assert!(empty.iter().all(|w| w.is_finite() && *w > 0.0), "{empty:?}");
                assert!(empty[1] >= empty[2] && empty[2] >= empty[0], "{empty:?}");
            }
        }
        // Unnormalised, the singleton weight is exactly 1; every class empty is uniform.
        assert_eq!(
            class_balanced_weights(&[0], 0.9, WeightNorm::None),
            vec![1.0]
        );
        assert_eq!(
            class_balanced_weights(&[0, 0], 0.99, WeightNorm::SumToC),
            vec![1.0; 2]
        );
    }
}
