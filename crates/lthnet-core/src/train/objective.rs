//! The training objective: a [`LossKind`] bound to the training set's class counts and, for the
//! centre-based losses, to their centres.

use std::path::Path;

use burn::module::Module;
use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::{GradientsParams, Optimizer, RmsProp, RmsPropConfig};
use burn::prelude::*;
use burn::record::{BinFileRecorder, FullPrecisionSettings, Recorder};
use burn::tensor::backend::AutodiffBackend;
use lthnet_loss::{
    ClassBalancedCrossEntropyLoss, ClassBalancedCrossEntropyLossConfig, CsqLoss, CsqLossConfig,
    DcwhLoss, DcwhLossConfig, IdcwhLoss, IdcwhLossConfig, Reduction, SquareLoss, SquareLossConfig,
    class_means, try_hash_centres,
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
    Idcwh {
        loss: IdcwhLoss<B>,
        optim: CentreOptim<B>,
        lr_scale: f64,
    },
}

/// The centres' optimiser (a newtype: Burn's adaptor has no `Debug`).
struct CentreOptim<B: AutodiffBackend>(OptimizerAdaptor<RmsProp, IdcwhLoss<B>, B>);

impl<B: AutodiffBackend> std::fmt::Debug for CentreOptim<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CentreOptim(RmsProp)")
    }
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
        rmsprop: (f64, f64),
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
                centres: try_hash_centres(num_classes, d_code, seed)
                    .map_err(|e| CoreError::Config(e.to_string()))?
                    .to_tensor(device),
            },
            LossKind::Dcwh { inv_sigma_sq } => Kind::Dcwh {
                loss: DcwhLossConfig::new().with_inv_sigma_sq(inv_sigma_sq).init(),
                centres: None,
            },
            LossKind::Idcwh {
                inv_sigma_sq,
                gamma,
                beta,
                centre_lr_scale,
            } => Kind::Idcwh {
                loss: IdcwhLossConfig::new(num_classes, d_code, gamma, beta, inv_sigma_sq)
                    .with_seed(seed)
                    .with_csl_reduction(Reduction::Mean)
                    .init(device),
                optim: CentreOptim(
                    RmsPropConfig::new()
                        .with_alpha(rmsprop.0 as f32)
                        .with_momentum(0.0)
                        .with_epsilon(rmsprop.1 as f32)
                        .init(),
                ),
                lr_scale: centre_lr_scale,
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
            Kind::Idcwh { loss, .. } => loss.forward(out.h.clone(), targets),
        }
    }

    /// Take the objective's own parameters' gradients out of `grads` and step them with the
    /// network's learning rate `lr` (scaled): IDCWH's learnable centres. A no-op for the other
    /// losses. Call before extracting the network's gradients.
    pub fn step(&mut self, grads: &mut B::Gradients, lr: f64) {
        if let Kind::Idcwh {
            loss,
            optim,
            lr_scale,
        } = &mut self.kind
        {
            let g = GradientsParams::from_module(grads, &*loss);
            *loss = optim.0.step(lr * *lr_scale, loss.clone(), g);
        }
    }

    /// Write the objective's trainable state (IDCWH's centres and their optimiser) into a
    /// checkpoint directory; nothing for the other losses.
    pub(crate) fn save(&self, dir: &Path) -> Result<(), CoreError> {
        if let Kind::Idcwh { loss, optim, .. } = &self.kind {
            let recorder = BinFileRecorder::<FullPrecisionSettings>::new();
            let path = dir.join("objective");
            loss.clone()
                .save_file(path.clone(), &recorder)
                .map_err(|e| malformed(&path, e))?;
            let path = dir.join("objective-optimizer");
            Recorder::<B>::record(&recorder, optim.0.to_record(), path.clone())
                .map_err(|e| malformed(&path, e))?;
            for f in ["objective.bin", "objective-optimizer.bin"] {
                let p = dir.join(f);
                std::fs::File::open(&p)
                    .and_then(|file| file.sync_all())
                    .map_err(|source| CoreError::Io { path: p, source })?;
            }
        }
        Ok(())
    }

    /// Restore what [`Objective::save`] wrote.
    pub(crate) fn load(&mut self, dir: &Path, device: &B::Device) -> Result<(), CoreError> {
        if let Kind::Idcwh { loss, optim, .. } = &mut self.kind {
            let recorder = BinFileRecorder::<FullPrecisionSettings>::new();
            let path = dir.join("objective");
            *loss = loss
                .clone()
                .load_file(path.clone(), &recorder, device)
                .map_err(|e| malformed(&path, e))?;
            let path = dir.join("objective-optimizer");
            let record = Recorder::<B>::load(&recorder, path.clone(), device)
                .map_err(|e| malformed(&path, e))?;
            optim.0 = optim.0.clone().load_record(record);
        }
        Ok(())
    }

    /// IDCWH's learned centres (`[num_classes, bits]`), if the loss has learnable centres.
    pub fn learned_centres(&self) -> Option<Tensor<B, 2>> {
        match &self.kind {
            Kind::Idcwh { loss, .. } => Some(loss.centres.val()),
            _ => None,
        }
    }
}

fn malformed(path: &Path, e: impl std::fmt::Display) -> CoreError {
    CoreError::Malformed {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}
