//! The training objective: a [`LossKind`] bound to the training set's class counts and, for the
//! centre-based losses, to their centres.

use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;
use lthnet_loss::{
    ClassBalancedCrossEntropyLoss, ClassBalancedCrossEntropyLossConfig, CsqLoss, CsqLossConfig,
    DcwhLoss, DcwhLossConfig, SquareLoss, SquareLossConfig, class_means, hash_centres,
};

use super::config::LossKind;
use crate::CoreError;
use crate::head::LthNetOutput;
use crate::source::{HashNetwork, Source};

#[derive(Debug)]
enum Kind<B: AutodiffBackend> {
    CrossEntropy(ClassBalancedCrossEntropyLoss<B>),
    Square(SquareLoss<B>),
    Csq {
        loss: CsqLoss,
        centres: Tensor<B, 2>,
    },
    Dcwh {
        loss: DcwhLoss,
        centres: Option<Tensor<B, 2>>,
    },
}

/// A loss ready to train with.
#[derive(Debug)]
pub struct Objective<B: AutodiffBackend> {
    kind: Kind<B>,
    num_classes: usize,
}

impl<B: AutodiffBackend> Objective<B> {
    /// Bind `kind` to the training labels (class counts for class-balanced weights).
    ///
    /// # Errors
    /// A class without training samples when the loss needs per-class statistics.
    pub fn new(
        kind: &LossKind,
        labels: &[u32],
        num_classes: usize,
        d_code: usize,
        seed: u64,
        device: &B::Device,
    ) -> Result<Self, CoreError> {
        let mut counts = vec![0usize; num_classes];
        for &l in labels {
            counts[l as usize] += 1;
        }
        let need_counts = |beta: f64| -> Result<Vec<usize>, CoreError> {
            if beta > 0.0
                && let Some(c) = counts.iter().position(|&n| n == 0)
            {
                return Err(CoreError::Config(format!(
                    "class {c} has no training samples; class-balanced weights need every class"
                )));
            }
            // With β = 0 every weight is 1; empty classes are harmless.
            Ok(counts.iter().map(|&n| n.max(1)).collect())
        };
        let kind = match *kind {
            LossKind::CrossEntropy { beta } => Kind::CrossEntropy(
                ClassBalancedCrossEntropyLossConfig::new(need_counts(beta)?)
                    .with_beta(beta)
                    .init(device),
            ),
            LossKind::Square { beta } => Kind::Square(
                SquareLossConfig::new(need_counts(beta)?)
                    .with_beta(beta)
                    .init(device),
            ),
            LossKind::Csq { lambda } => Kind::Csq {
                loss: CsqLossConfig::new().with_lambda(lambda).init(),
                centres: hash_centres(num_classes, d_code, seed).to_tensor(device),
            },
            LossKind::Dcwh { inv_sigma_sq } => Kind::Dcwh {
                loss: DcwhLossConfig::new().with_inv_sigma_sq(inv_sigma_sq).init(),
                centres: None,
            },
        };
        Ok(Self { kind, num_classes })
    }

    /// Recompute per-epoch state with the gradient-free model: DCWH's centres become the class
    /// means of the continuous codes `h` of the training set (kept for empty classes).
    pub fn refresh<M, S>(
        &mut self,
        model: &M,
        memory: Option<Tensor<B::InnerBackend, 2>>,
        source: &S,
        eval_batch: usize,
        device: &B::Device,
    ) -> Result<(), CoreError>
    where
        S: Source,
        M: HashNetwork<B::InnerBackend, S::Input<B::InnerBackend>>,
    {
        let num_classes = self.num_classes;
        if let Kind::Dcwh { centres, .. } = &mut self.kind {
            let h = super::encode_relaxed(model, memory, source, eval_batch, device, false);
            let bits = model.head().d_code();
            let previous = centres.as_ref().map(|c| {
                c.clone()
                    .into_data()
                    .convert::<f32>()
                    .into_vec::<f32>()
                    .expect("f32")
            });
            let means = class_means(&h, bits, source.labels(), num_classes, previous.as_deref())
                .map_err(CoreError::Config)?;
            *centres = Some(Tensor::from_data(
                TensorData::new(means, [num_classes, bits]),
                device,
            ));
        }
        Ok(())
    }

    /// The scalar loss of a batch.
    pub fn loss(&self, out: &LthNetOutput<B>, targets: Tensor<B, 1, Int>) -> Tensor<B, 1> {
        match &self.kind {
            Kind::CrossEntropy(l) => l.forward(out.logits.clone(), targets),
            Kind::Square(l) => l.forward(out.logits.clone(), targets),
            Kind::Csq { loss, centres } => loss.forward(out.z.clone(), targets, centres.clone()),
            Kind::Dcwh { loss, centres } => loss.forward(
                out.h.clone(),
                targets,
                centres
                    .clone()
                    .expect("DCWH centres are computed by refresh() before training"),
            ),
        }
    }
}
