//! LTHNet_sq: the square loss `‖ŷ − y‖²` on the raw classifier scores (paper Eqs. 14–15).

use burn::config::Config;
use burn::module::Module;
use burn::nn::loss::Reduction;
use burn::prelude::*;
use burn::tensor::Int;

use crate::class_weights::{WeightNorm, class_balanced_weights};

/// Configuration of [`SquareLoss`].
#[derive(Config, Debug)]
pub struct SquareLossConfig {
    /// Training-set size of every class (for class-balanced weights; any counts with `beta = 0`).
    /// A class with 0 samples is weighted like one with 1 (see [`class_balanced_weights`]).
    pub class_counts: Vec<usize>,
    /// Effective-number β ∈ [0, 1); 0 = unweighted.
    #[config(default = 0.0)]
    pub beta: f64,
    /// Weight normalisation.
    #[config(default = "WeightNorm::SumToC")]
    pub norm: WeightNorm,
    /// Batch reduction of [`SquareLoss::forward`] (mean over the batch by default).
    #[config(default = "Reduction::Mean")]
    pub reduction: Reduction,
}

impl SquareLossConfig {
    /// Build the loss.
    ///
    /// # Panics
    /// If β ∉ [0, 1) (a class count of zero is weighted like 1, see [`class_balanced_weights`]).
    pub fn init<B: Backend>(&self, device: &B::Device) -> SquareLoss<B> {
        let w = class_balanced_weights(&self.class_counts, self.beta, self.norm);
        let n = w.len();
        SquareLoss {
            weights: Tensor::from_data(TensorData::new(w, [n]), device),
            reduction: self.reduction.clone(),
        }
    }
}

/// LTHNet_sq's square loss on the raw classifier scores ŷ = FC(h) (no softmax):
/// `ℓ_b = w_{y_b}·Σ_c (ŷ_bc − 1{c = y_b})²`, summed over classes and averaged over the batch
/// (**\[decision\]**: the paper does not say how the batch is reduced), with the same optional
/// class-balanced weight as [`crate::ClassBalancedCrossEntropyLoss`] (all 1 for β = 0).
#[derive(Module, Debug)]
pub struct SquareLoss<B: Backend> {
    weights: Tensor<B, 1>,
    #[module(skip)]
    reduction: Reduction,
}

impl<B: Backend> SquareLoss<B> {
    /// Per-sample losses.
    ///
    /// # Shapes
    /// - `scores`: `[batch, num_classes]`, `targets`: `[batch]` → `[batch]`
    pub fn forward_no_reduction(
        &self,
        scores: Tensor<B, 2>,
        targets: Tensor<B, 1, Int>,
    ) -> Tensor<B, 1> {
        let [batch, classes] = scores.dims();
        let onehot = targets.clone().one_hot::<2>(classes).float();
        let sq = (scores - onehot).powi_scalar(2).sum_dim(1).reshape([batch]);
        sq * self.weights.clone().select(0, targets)
    }

    /// [`SquareLoss::forward_no_reduction`] reduced over the batch as configured (mean by
    /// default).
    ///
    /// # Shapes
    /// - `scores`: `[batch, num_classes]`, `targets`: `[batch]` → `[1]`
    pub fn forward(&self, scores: Tensor<B, 2>, targets: Tensor<B, 1, Int>) -> Tensor<B, 1> {
        crate::dcwh::reduce(self.forward_no_reduction(scores, targets), &self.reduction)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;

    #[test]
    fn value() {
        let d = Default::default();
        let loss = SquareLossConfig::new(vec![1, 1, 1]).init::<Flex>(&d);
        let s = Tensor::<Flex, 2>::from_data(
            TensorData::new(vec![0.5f32, 0.0, 2.0, 1.0, 1.0, 1.0], [2, 3]),
            &d,
        );
        let t = Tensor::<Flex, 1, Int>::from_data(TensorData::new(vec![0i64, 1], [2]), &d);
        // (0.25 + 0 + 4) and (1 + 0 + 1): mean 3.125
        let v = loss.forward(s, t).into_scalar();
        assert!((v - 3.125).abs() < 1e-6, "{v}");
    }
}
