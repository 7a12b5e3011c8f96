//! The LTHNet head: direct feature, extended dynamic meta-embedding, hash layer and classifier.
//!
//! Paper: Y. Chen et al., *Long-Tail Hashing*, SIGIR 2021 (Table 1, Eqs. 3–11).
//!
//! ```text
//! x ─ FC(d_input→d_feature) ─ ReLU ─────────────────────────────── v_direct
//! v_direct ─ FC(d_feature→(k+1)C) ─ softmax ─ o;   v_memory = oᵀ M          (Eq. 5)
//! v_direct ─ FC(d_feature→d_feature) ─ tanh ─ e;   v_meta = v_direct + e ⊙ v_memory (Eq. 6)
//! v_meta ─ FC(d_feature→q) ─ z;  h = tanh(z)                                  (Eq. 7)
//! h ─ FC(q→C) ─ logits                                                       (Eq. 10)
//! ```
//!
//! The memory `M` ((k+1)·C × d_feature, centroids and DPP prototypes from `lthnet-memory`) is
//! **not a parameter**: it is passed to [`LthNetHead::forward`] and receives no gradient.

use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::{softmax, tanh};

use crate::linear::{linear, linear_relu, linear_tanh};

/// Whether the dynamic meta-embedding is used (the paper's ablation switches it off).
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub enum MetaEmbedding {
    /// `v_meta = v_direct + e ⊙ oᵀM` (the paper's model).
    Dynamic,
    /// `v_meta = v_direct`: no memory, no hallucinator, no concept selector (ablation "DME off").
    Off,
}

/// Configuration of [`LthNetHead`].
#[derive(Config, Debug)]
pub struct LthNetHeadConfig {
    /// Size of the backbone feature (512 for ResNet-18/34, 1280 for MobileNetV2).
    pub d_input: usize,
    /// Number of classes C.
    pub num_classes: usize,
    /// Code length q (bits).
    pub d_code: usize,
    /// Width of `v_direct` (2000 in the paper).
    #[config(default = 2000)]
    pub d_feature: usize,
    /// Prototypes per class k besides the centroid (3 in the paper; 0 = centroids only).
    #[config(default = 3)]
    pub num_prototypes: usize,
    /// Dynamic meta-embedding on or off.
    #[config(default = "MetaEmbedding::Dynamic")]
    pub meta_embedding: MetaEmbedding,
}

impl LthNetHeadConfig {
    /// Number of memory slots, (k+1)·C.
    pub fn num_slots(&self) -> usize {
        (self.num_prototypes + 1) * self.num_classes
    }

    fn assertions(&self) {
        assert!(self.d_input > 0, "d_input must be positive");
        assert!(self.num_classes > 0, "num_classes must be positive");
        assert!(self.d_code > 0, "d_code must be positive, got 0 bits");
        assert!(self.d_feature > 0, "d_feature must be positive");
    }

    /// Initialise the head. Linear layers use PyTorch's default initialisation
    /// (weights and biases from U(±1/√fan_in)), as the authors' code does.
    ///
    /// # Panics
    /// If a size is zero.
    pub fn init<B: Backend>(&self, device: &B::Device) -> LthNetHead<B> {
        self.assertions();
        let dme = self.meta_embedding == MetaEmbedding::Dynamic;
        LthNetHead {
            direct: LinearConfig::new(self.d_input, self.d_feature).init(device),
            hallucinator: dme
                .then(|| LinearConfig::new(self.d_feature, self.num_slots()).init(device)),
            selector: dme.then(|| LinearConfig::new(self.d_feature, self.d_feature).init(device)),
            hash: LinearConfig::new(self.d_feature, self.d_code).init(device),
            classifier: LinearConfig::new(self.d_code, self.num_classes).init(device),
            num_slots: self.num_slots(),
            d_feature: self.d_feature,
        }
    }
}

/// The outputs of the LTHNet head (paper Eq. 11: `[v_direct, h, ŷ]`).
#[derive(Debug, Clone)]
pub struct LthNetOutput<B: Backend> {
    /// Direct feature `v_direct`, `[batch, d_feature]`, ≥ 0.
    pub v_direct: Tensor<B, 2>,
    /// Pre-activation of the hash layer `z`, `[batch, d_code]` (CSQ's stable BCE needs it).
    pub z: Tensor<B, 2>,
    /// Relaxed codes `h = tanh(z)`, `[batch, d_code]`, in (−1, 1). Codes are `sgn(h)`.
    pub h: Tensor<B, 2>,
    /// Classifier scores `[batch, num_classes]` (softmax logits, or raw scores for the square loss).
    pub logits: Tensor<B, 2>,
}

/// The LTHNet head. Build it with [`LthNetHeadConfig::init`].
#[derive(Module, Debug)]
pub struct LthNetHead<B: Backend> {
    direct: Linear<B>,
    hallucinator: Option<Linear<B>>,
    selector: Option<Linear<B>>,
    hash: Linear<B>,
    classifier: Linear<B>,
    num_slots: usize,
    d_feature: usize,
}

impl<B: Backend> LthNetHead<B> {
    /// Whether the dynamic meta-embedding is on (then `forward` needs a memory).
    pub fn uses_memory(&self) -> bool {
        self.hallucinator.is_some()
    }

    /// Number of memory slots (k+1)·C the head attends over.
    pub fn num_slots(&self) -> usize {
        self.num_slots
    }

    /// Size of the input feature (the backbone's output).
    pub fn d_input(&self) -> usize {
        self.direct.weight.dims()[0]
    }

    /// Width of `v_direct`.
    pub fn d_feature(&self) -> usize {
        self.d_feature
    }

    /// Code length q.
    pub fn d_code(&self) -> usize {
        self.hash.weight.dims()[1]
    }

    /// The direct feature only (what the memory refresh needs).
    ///
    /// # Shapes
    /// - `x`: `[batch, d_input]` → `[batch, d_feature]`
    pub fn v_direct(&self, x: Tensor<B, 2>) -> Tensor<B, 2> {
        linear_relu(&self.direct, x)
    }

    /// Full forward pass.
    ///
    /// # Arguments
    /// - `x`: backbone features.
    /// - `memory`: the memory `M`; required when the meta-embedding is on, ignored otherwise.
    ///
    /// # Shapes
    /// - `x`: `[batch, d_input]`
    /// - `memory`: `[(k+1)·C, d_feature]`
    ///
    /// # Panics
    /// If the meta-embedding is on and `memory` is `None` or has the wrong shape.
    pub fn forward(&self, x: Tensor<B, 2>, memory: Option<Tensor<B, 2>>) -> LthNetOutput<B> {
        let v_direct = self.v_direct(x);
        let v_meta = match (&self.hallucinator, &self.selector) {
            (Some(hallucinator), Some(selector)) => {
                let memory = memory.expect("the dynamic meta-embedding needs a memory tensor");
                let [slots, d] = memory.dims();
                assert!(
                    slots == self.num_slots && d == self.d_feature,
                    "memory has shape [{slots}, {d}], expected [{}, {}]",
                    self.num_slots,
                    self.d_feature
                );
                let o = softmax(linear(hallucinator, v_direct.clone()), 1);
                let v_memory = o.matmul(memory);
                let e = linear_tanh(selector, v_direct.clone());
                v_direct.clone() + e * v_memory
            }
            _ => v_direct.clone(),
        };
        let z = linear(&self.hash, v_meta);
        let h = tanh(z.clone());
        let logits = linear(&self.classifier, h.clone());
        LthNetOutput {
            v_direct,
            z,
            h,
            logits,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;
    type TB = Flex;

    #[test]
    fn shapes_and_ranges() {
        let device = Default::default();
        let cfg = LthNetHeadConfig::new(16, 5, 12).with_d_feature(32);
        let head = cfg.init::<TB>(&device);
        let x = Tensor::<TB, 2>::random([4, 16], burn::tensor::Distribution::Default, &device);
        let memory = Tensor::<TB, 2>::random(
            [cfg.num_slots(), 32],
            burn::tensor::Distribution::Default,
            &device,
        );
        let out = head.forward(x, Some(memory));
        assert_eq!(out.v_direct.dims(), [4, 32]);
        assert_eq!(out.h.dims(), [4, 12]);
        assert_eq!(out.logits.dims(), [4, 5]);
        let h = out.h.into_data().to_vec::<f32>().unwrap();
        assert!(h.iter().all(|v| v.abs() < 1.0));
        let vd = out.v_direct.into_data().to_vec::<f32>().unwrap();
        assert!(vd.iter().all(|v| *v >= 0.0));
    }

    #[test]
    fn memory_changes_output_only_with_dme() {
        let device = Default::default();
        let x = Tensor::<TB, 2>::random([3, 8], burn::tensor::Distribution::Default, &device);
        for (mode, should_change) in [(MetaEmbedding::Dynamic, true), (MetaEmbedding::Off, false)] {
            let cfg = LthNetHeadConfig::new(8, 2, 4)
                .with_d_feature(10)
                .with_num_prototypes(1)
                .with_meta_embedding(mode);
            let head = cfg.init::<TB>(&device);
            let m0 = Tensor::<TB, 2>::zeros([cfg.num_slots(), 10], &device);
            let m1 = Tensor::<TB, 2>::ones([cfg.num_slots(), 10], &device);
            let a = head
                .forward(x.clone(), Some(m0))
                .h
                .into_data()
                .to_vec::<f32>()
                .unwrap();
            let b = head
                .forward(x.clone(), Some(m1))
                .h
                .into_data()
                .to_vec::<f32>()
                .unwrap();
            let diff: f32 = a.iter().zip(&b).map(|(p, q)| (p - q).abs()).sum();
            assert_eq!(diff > 1e-6, should_change, "{mode:?}: diff {diff}");
        }
    }

    #[test]
    #[should_panic(expected = "memory has shape")]
    fn wrong_memory_shape_panics() {
        let device = Default::default();
        let head = LthNetHeadConfig::new(8, 2, 4)
            .with_d_feature(10)
            .init::<TB>(&device);
        let x = Tensor::<TB, 2>::zeros([1, 8], &device);
        head.forward(x, Some(Tensor::zeros([3, 10], &device)));
    }
}
