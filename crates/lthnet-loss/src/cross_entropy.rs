//! Cross-entropy and class-balanced cross-entropy on logits (LTHNet Eqs. 12–13).

use burn::config::Config;
use burn::module::{Content, DisplaySettings, Module, ModuleDisplay};
use burn::prelude::*;
use burn::tensor::activation::log_softmax;

use crate::class_weights::{WeightNorm, class_balanced_weights};

/// How a weighted batch loss is divided.
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub enum BatchDivisor {
    /// `Σ_b w_{y_b}·ℓ_b / B` (the LTHNet authors' code; the default).
    BatchSize,
    /// `Σ_b w_{y_b}·ℓ_b / Σ_b w_{y_b}` (Burn's and PyTorch's weighted cross-entropy).
    WeightSum,
}

/// Configuration of [`ClassBalancedCrossEntropyLoss`].
#[derive(Config, Debug)]
pub struct ClassBalancedCrossEntropyLossConfig {
    /// Training-set size of every class, `n_c`; a class with 0 samples is weighted like one
    /// with 1 (see [`class_balanced_weights`]).
    pub class_counts: Vec<usize>,
    /// Effective-number β ∈ [0, 1); 0 is plain cross-entropy.
    #[config(default = 0.0)]
    pub beta: f64,
    /// Weight normalisation.
    #[config(default = "WeightNorm::SumToC")]
    pub norm: WeightNorm,
    /// Batch divisor.
    #[config(default = "BatchDivisor::BatchSize")]
    pub divisor: BatchDivisor,
}

impl ClassBalancedCrossEntropyLossConfig {
    /// Build the loss (the class weights become a `[num_classes]` tensor on `device`).
    ///
    /// # Panics
    /// If β ∉ [0, 1). A class count of zero is not an error: it is weighted like a count of 1
    /// ([`class_balanced_weights`]).
    pub fn init<B: Backend>(&self, device: &B::Device) -> ClassBalancedCrossEntropyLoss<B> {
        let weights = class_balanced_weights(&self.class_counts, self.beta, self.norm);
        let n = weights.len();
        ClassBalancedCrossEntropyLoss {
            weights: Tensor::from_data(TensorData::new(weights, [n]), device),
            divisor: self.divisor,
        }
    }
}

/// Cross-entropy on logits, optionally class-balanced (LTHNet Eqs. 12–13; Cui et al.,
/// *Class-Balanced Loss Based on Effective Number of Samples*, CVPR 2019):
///
/// `L = Σ_b w_{y_b}·(−log softmax(x_b)_{y_b}) / divisor`, with `w_c = (1 − β)/(1 − β^{n_c})`
/// normalised by a [`WeightNorm`], and the divisor `B` ([`BatchDivisor::BatchSize`], the
/// authors' code) or `Σ_b w_{y_b}` ([`BatchDivisor::WeightSum`], Burn's and PyTorch's weighted
/// CE). β = 0 is exactly plain cross-entropy (every weight is 1). The log-probabilities come
/// from `log_softmax` (log-sum-exp), so logits of ±1e4 stay finite (the authors' code takes
/// `log` of the softmax output, which gives inf once it underflows).
#[derive(Module, Debug)]
#[module(custom_display)]
pub struct ClassBalancedCrossEntropyLoss<B: Backend> {
    weights: Tensor<B, 1>,
    divisor: BatchDivisor,
}

impl<B: Backend> ModuleDisplay for ClassBalancedCrossEntropyLoss<B> {
    fn custom_settings(&self) -> Option<DisplaySettings> {
        DisplaySettings::new()
            .with_new_line_after_attribute(false)
            .optional()
    }
    fn custom_content(&self, content: Content) -> Option<Content> {
        content
            .add("num_classes", &self.weights.dims()[0])
            .optional()
    }
}

/// Per-sample cross-entropy `−log softmax(logits)_{target}`.
///
/// # Shapes
/// - `logits`: `[batch, num_classes]`, `targets`: `[batch]` → `[batch]`
pub fn cross_entropy_no_reduction<B: Backend>(
    logits: Tensor<B, 2>,
    targets: Tensor<B, 1, Int>,
) -> Tensor<B, 1> {
    let [batch, _] = logits.dims();
    log_softmax(logits, 1)
        .gather(1, targets.reshape([batch, 1]))
        .reshape([batch])
        .neg()
}

impl<B: Backend> ClassBalancedCrossEntropyLoss<B> {
    /// Per-sample weighted losses `w_{y_b}·ℓ_b`.
    ///
    /// # Shapes
    /// - `logits`: `[batch, num_classes]`, `targets`: `[batch]` → `[batch]`
    pub fn forward_no_reduction(
        &self,
        logits: Tensor<B, 2>,
        targets: Tensor<B, 1, Int>,
    ) -> Tensor<B, 1> {
        let w = self.weights.clone().select(0, targets.clone());
        cross_entropy_no_reduction(logits, targets) * w
    }

    /// The batch loss.
    ///
    /// # Shapes
    /// - `logits`: `[batch, num_classes]`, `targets`: `[batch]` → `[1]`
    pub fn forward(&self, logits: Tensor<B, 2>, targets: Tensor<B, 1, Int>) -> Tensor<B, 1> {
        let [batch, _] = logits.dims();
        let per = self.forward_no_reduction(logits, targets.clone());
        match self.divisor {
            BatchDivisor::BatchSize => per.sum().div_scalar(batch as f32),
            BatchDivisor::WeightSum => {
                let wsum = self.weights.clone().select(0, targets).sum();
                per.sum() / wsum
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;
    type TB = Flex;

    fn t2(v: Vec<f32>, s: [usize; 2]) -> Tensor<TB, 2> {
        Tensor::from_data(TensorData::new(v, s), &Default::default())
    }
    fn ti(v: Vec<i64>) -> Tensor<TB, 1, Int> {
        let n = v.len();
        Tensor::from_data(TensorData::new(v, [n]), &Default::default())
    }

    #[test]
    fn beta_zero_is_plain_ce_and_matches_reference() {
        // numpy: -(log_softmax([[1,2,3],[1,-1,0]], 1)[[0,1],[2,0]]).mean() = 0.40760596
        let loss =
            ClassBalancedCrossEntropyLossConfig::new(vec![3, 1, 1]).init::<TB>(&Default::default());
        let v = loss
            .forward(t2(vec![1., 2., 3., 1., -1., 0.], [2, 3]), ti(vec![2, 0]))
            .into_scalar();
        assert!((v - 0.407_605_96f32).abs() < 1e-6, "{v}");
    }

    #[test]
    fn extreme_logits_are_finite() {
        let loss = ClassBalancedCrossEntropyLossConfig::new(vec![2, 2])
            .with_beta(0.9)
            .init::<TB>(&Default::default());
        let v = loss
            .forward(t2(vec![1e4, -1e4, -1e4, 1e4], [2, 2]), ti(vec![1, 1]))
            .into_scalar();
        assert!(v.is_finite());
        assert!((v - 1e4).abs() / 1e4 < 1e-3, "{v}");
    }
}
