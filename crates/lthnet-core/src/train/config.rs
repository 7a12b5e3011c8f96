//! The training configuration (saved as `config.json` next to every run).

use burn::config::Config;
use serde::{Deserialize, Serialize};

use crate::head::LthNetHeadConfig;

/// Which loss drives training. All are implemented in `lthnet-loss`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LossKind {
    /// (Class-balanced) cross-entropy on the classifier logits (paper Eqs. 12–13).
    /// `beta = 0` is plain cross-entropy (the paper's setting).
    CrossEntropy {
        /// Effective-number β ∈ [0, 1).
        beta: f64,
    },
    /// LTHNet_sq: ‖ŷ − y‖² on the raw classifier scores (paper Eqs. 14–15), class-balanced by β.
    Square {
        /// Effective-number β ∈ [0, 1).
        beta: f64,
    },
    /// CSQ: BCE of the codes to fixed Hadamard/Bernoulli hash centres plus quantisation.
    Csq {
        /// Weight λ of the quantisation term.
        lambda: f64,
    },
    /// DCWH: cross-entropy of a normalised Gaussian around class centres of the continuous codes,
    /// the centres recomputed at every epoch's refresh pass, plus cubic and vertex terms.
    Dcwh {
        /// 1/σ².
        inv_sigma_sq: f64,
    },
    /// IDCWH: DCWH to **learnable** centres, plus γ·(centre-similarity loss) and
    /// β·(quantisation loss). The centres are optimised together with the network by their own
    /// RMSprop (same α, ε; no weight decay) at `centre_lr_scale` × the network's learning rate,
    /// and are checkpointed with it. \[decision\] The slides train with SGD; this trainer keeps
    /// one optimiser family for everything. `L_csl` is the mean over the (batch label, centre)
    /// pairs, so γ does not grow with the number of classes.
    Idcwh {
        /// 1/σ² of the class-wise term.
        inv_sigma_sq: f64,
        /// Weight γ of the centre-similarity loss.
        gamma: f64,
        /// Weight β of the quantisation loss.
        beta: f64,
        /// Centres' learning rate as a multiple of the network's (the slides: 5e-3 / 1e-2 = 0.5).
        centre_lr_scale: f64,
    },
}

impl Default for LossKind {
    fn default() -> Self {
        LossKind::CrossEntropy { beta: 0.0 }
    }
}

/// Which model is kept at the end of training. Neither choice ever looks at the query set.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum ModelSelection {
    /// The model after the last epoch (default).
    LastEpoch,
    /// Hold out `fraction` of every class of the training set (at least one item of each class
    /// with two or more, never a class's last item; drawn with the run's seed, see
    /// `lthnet_data::split::validation_split`), train on the rest, and keep the epoch whose codes
    /// give the best MAP@all of the held-out items as queries against the remaining training
    /// items as the database. The paper selects on the query set instead; this never does.
    BestValidationMap {
        /// Fraction of each class held out, in (0, 1).
        fraction: f64,
    },
}

/// Where each epoch's memory refresh takes the training set's `v_direct` from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefreshFeatures {
    /// Algorithm 1 as written (the default): at the start of every epoch, one gradient-free pass
    /// of the whole training set through the model in eval mode, on the deterministic
    /// (non-augmented) inputs.
    #[default]
    EvalPass,
    /// \[decision\] The cheap variant: the `v_direct` that the previous epoch's training steps
    /// computed anyway (detached, one row per item, since an epoch visits every item once) feed
    /// the next epoch's centroids and DPP, so only the first epoch runs the eval pass. The rows
    /// differ from the eval pass's: they are computed in train mode, on the augmented inputs,
    /// with the weights of the step that saw each item. On cached features (a frozen backbone,
    /// no augmentation) the pass is cheap anyway; this is for end-to-end training, where the
    /// eval pass costs about a quarter of an epoch. The memory is checkpointed with the model,
    /// so a resumed run stays bit-identical. Encoding after training still refreshes the memory
    /// with an eval pass of the final model.
    TrainingPass,
}

/// Configuration of an LTHNet training run (Algorithm 1).
///
/// Defaults are the paper's: RMSprop (α 0.99, ε 1e-8, no momentum) with learning rate 1e-5 and
/// L2 weight decay 5e-4, cosine annealing per epoch down to lr/100, 100 epochs, batch size 8.
#[derive(Config, Debug)]
pub struct TrainConfig {
    /// The head (sizes, k, DME switch).
    pub head: LthNetHeadConfig,
    /// The loss.
    #[config(default = "LossKind::CrossEntropy { beta: 0.0 }")]
    pub loss: LossKind,
    /// Number of epochs.
    #[config(default = 100)]
    pub num_epochs: usize,
    /// Mini-batch size (8 for CIFAR-100, 16 for ImageNet100 in the paper).
    #[config(default = 8)]
    pub batch_size: usize,
    /// Initial learning rate η₀.
    #[config(default = 1e-5)]
    pub learning_rate: f64,
    /// Final learning rate as a fraction of η₀ (cosine annealing to η₀·ratio).
    #[config(default = 0.01)]
    pub min_lr_ratio: f64,
    /// L2 weight decay added to the gradient (PyTorch semantics).
    #[config(default = 5e-4)]
    pub weight_decay: f64,
    /// RMSprop smoothing constant α.
    #[config(default = 0.99)]
    pub rmsprop_alpha: f64,
    /// RMSprop ε (PyTorch's default, not Burn's 1e-5).
    #[config(default = 1e-8)]
    pub rmsprop_epsilon: f64,
    /// DPP trade-off θ ∈ [0, 1) between closeness to the centroid and diversity.
    #[config(default = 0.5)]
    pub dpp_theta: f64,
    /// Seed of parameter initialisation and of the per-epoch shuffles.
    #[config(default = 3367)]
    pub seed: u64,
    /// Batch size of the (gradient-free) refresh and encoding passes.
    #[config(default = 256)]
    pub eval_batch_size: usize,
    /// Which model to keep.
    #[config(default = "ModelSelection::LastEpoch")]
    pub selection: ModelSelection,
    /// Where the memory refresh takes `v_direct` from.
    #[config(default = "RefreshFeatures::EvalPass")]
    pub refresh_features: RefreshFeatures,
}

impl TrainConfig {
    /// The learning rate of epoch `epoch` (0-based): cosine annealing across epochs as in the
    /// authors' `CosineAnnealingLR(T_max = epochs, eta_min = lr/100)`, stepped once per epoch:
    /// `η_e = η_min + ½(η₀ − η_min)(1 + cos(π·e/T))`.
    pub fn learning_rate_at(&self, epoch: usize) -> f64 {
        let eta0 = self.learning_rate;
        let eta_min = eta0 * self.min_lr_ratio;
        let t = self.num_epochs.max(1) as f64;
        eta_min + 0.5 * (eta0 - eta_min) * (1.0 + (std::f64::consts::PI * epoch as f64 / t).cos())
    }

    /// Parse a configuration from JSON in which only `head.d_input`, `head.num_classes` and
    /// `head.d_code` are required: every other field of the head and of the run takes its
    /// default when left out (Burn's derived deserialiser requires them all). `loss` and
    /// `selection` are replaced as a whole when given.
    ///
    /// ```
    /// use lthnet_core::train::{LossKind, TrainConfig};
    /// let cfg = TrainConfig::from_json_with_defaults(
    ///     r#"{"head": {"d_input": 1280, "num_classes": 100, "d_code": 64},
    ///         "num_epochs": 15, "loss": {"kind": "square", "beta": 0.0}}"#,
    /// )
    /// .unwrap();
    /// assert_eq!((cfg.num_epochs, cfg.batch_size, cfg.head.d_feature), (15, 8, 2000));
    /// assert_eq!(cfg.loss, LossKind::Square { beta: 0.0 });
    /// ```
    ///
    /// # Errors
    /// Malformed JSON, a missing required head field or a value of the wrong type (the message
    /// names it).
    pub fn from_json_with_defaults(json: &str) -> Result<Self, crate::CoreError> {
        let err = |m: String| crate::CoreError::Config(m);
        let user: serde_json::Value =
            serde_json::from_str(json).map_err(|e| err(format!("not valid JSON: {e}")))?;
        let head = user
            .get("head")
            .ok_or_else(|| err("the training configuration needs a \"head\" object".into()))?;
        let need = |key: &str| {
            head.get(key).and_then(|v| v.as_u64()).ok_or_else(|| {
                err(format!(
                    "head.{key} is required (a non-negative integer), got {}",
                    head.get(key).map_or("nothing".into(), |v| v.to_string())
                ))
            })
        };
        let defaults = TrainConfig::new(LthNetHeadConfig::new(
            need("d_input")? as usize,
            need("num_classes")? as usize,
            need("d_code")? as usize,
        ));
        let mut merged = serde_json::to_value(&defaults).expect("config serialises");
        let (Some(base), Some(patch)) = (merged.as_object_mut(), user.as_object()) else {
            return Err(err(
                "the training configuration must be a JSON object".into()
            ));
        };
        for (key, value) in patch {
            match (key.as_str(), base.get_mut(key), value) {
                ("head", Some(serde_json::Value::Object(b)), serde_json::Value::Object(p)) => {
                    for (k, v) in p {
                        b.insert(k.clone(), v.clone());
                    }
                }
                _ => {
                    base.insert(key.clone(), value.clone());
                }
            }
        }
        serde_json::from_value(merged).map_err(|e| err(format!("invalid configuration: {e}")))
    }

    /// Checks the values a JSON file may get wrong.
    pub fn validate(&self) -> Result<(), crate::CoreError> {
        let err = |m: String| Err(crate::CoreError::Config(m));
        if self.batch_size == 0 {
            return err("batch_size must be at least 1".into());
        }
        if self.eval_batch_size == 0 {
            return err("eval_batch_size must be at least 1".into());
        }
        if !(self.learning_rate > 0.0 && self.learning_rate.is_finite()) {
            return err(format!(
                "learning_rate must be positive, got {}",
                self.learning_rate
            ));
        }
        if !(0.0..=1.0).contains(&self.min_lr_ratio) {
            return err(format!(
                "min_lr_ratio must be in [0, 1], got {}",
                self.min_lr_ratio
            ));
        }
        if !(0.0..1.0).contains(&self.dpp_theta) {
            return err(format!(
                "dpp_theta must be in [0, 1), got {}",
                self.dpp_theta
            ));
        }
        if let ModelSelection::BestValidationMap { fraction } = self.selection
            && !(fraction > 0.0 && fraction < 1.0)
        {
            return err(format!(
                "the validation fraction must be in (0, 1), got {fraction}"
            ));
        }
        match &self.loss {
            LossKind::CrossEntropy { beta } | LossKind::Square { beta }
                if !(0.0..1.0).contains(beta) =>
            {
                return err(format!("class-balance beta must be in [0, 1), got {beta}"));
            }
            LossKind::Dcwh { inv_sigma_sq } | LossKind::Idcwh { inv_sigma_sq, .. }
                if !(*inv_sigma_sq > 0.0 && inv_sigma_sq.is_finite()) =>
            {
                return err(format!("inv_sigma_sq must be positive, got {inv_sigma_sq}"));
            }
            LossKind::Idcwh {
                gamma,
                beta,
                centre_lr_scale,
                ..
            } if !(*gamma >= 0.0 && *beta >= 0.0 && *centre_lr_scale >= 0.0) => {
                return err(format!(
                    "IDCWH gamma, beta and centre_lr_scale must be non-negative, got {gamma}, \
                     {beta} and {centre_lr_scale}"
                ));
            }
            _ => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_schedule_matches_pytorch() {
        let cfg = TrainConfig::new(LthNetHeadConfig::new(8, 2, 4)).with_num_epochs(100);
        assert!((cfg.learning_rate_at(0) - 1e-5).abs() < 1e-18);
        // PyTorch CosineAnnealingLR(T_max=100, eta_min=1e-7) after 50 steps: 5.05e-6.
        assert!((cfg.learning_rate_at(50) - 5.05e-6).abs() < 1e-15);
        assert!(cfg.learning_rate_at(99) > 1e-7 && cfg.learning_rate_at(99) < 1.1e-7);
    }

    #[test]
    fn json_round_trip() {
        let cfg = TrainConfig::new(LthNetHeadConfig::new(8, 2, 4))
            .with_loss(LossKind::Square { beta: 0.999 })
            .with_batch_size(16);
        let json = serde_json::to_string(&cfg).unwrap();
        let back: TrainConfig = serde_json::from_str(&json).unwrap();
        assert_eq!(back.loss, LossKind::Square { beta: 0.999 });
        assert_eq!(back.batch_size, 16);
        assert_eq!(back.head.d_code, 4);
    }

    #[test]
    fn partial_json_takes_the_defaults() {
        let cfg = TrainConfig::from_json_with_defaults(
            r#"{"head": {"d_input": 1280, "num_classes": 100, "d_code": 64}, "num_epochs": 15}"#,
        )
        .unwrap();
        assert_eq!(cfg.num_epochs, 15);
        assert_eq!(cfg.batch_size, 8);
        assert_eq!(cfg.learning_rate, 1e-5);
        assert_eq!(cfg.loss, LossKind::CrossEntropy { beta: 0.0 });
        assert_eq!(cfg.selection, ModelSelection::LastEpoch);
        assert_eq!(cfg.refresh_features, RefreshFeatures::EvalPass);
        assert_eq!(cfg.head.d_feature, 2000);
        assert_eq!(cfg.head.num_prototypes, 3);
        let cfg = TrainConfig::from_json_with_defaults(
            r#"{"head": {"d_input": 8, "num_classes": 2, "d_code": 4, "num_prototypes": 0},
                "selection": {"BestValidationMap": {"fraction": 0.1}},
                "refresh_features": "training_pass"}"#,
        )
        .unwrap();
        assert_eq!(cfg.head.num_prototypes, 0);
        assert_eq!(
            cfg.selection,
            ModelSelection::BestValidationMap { fraction: 0.1 }
        );
        assert_eq!(cfg.refresh_features, RefreshFeatures::TrainingPass);
        let e = TrainConfig::from_json_with_defaults(r#"{"head": {"d_input": 8}}"#).unwrap_err();
        assert!(e.to_string().contains("num_classes"), "{e}");
        let e = TrainConfig::from_json_with_defaults(
            r#"{"head": {"d_input": 8, "num_classes": 2, "d_code": 4}, "batch_size": "eight"}"#,
        )
        .unwrap_err();
        assert!(e.to_string().contains("invalid"), "{e}");
    }

    #[test]
    fn validation_rejects_bad_values() {
        let cfg = TrainConfig::new(LthNetHeadConfig::new(8, 2, 4)).with_batch_size(0);
        assert!(
            cfg.validate()
                .unwrap_err()
                .to_string()
                .contains("batch_size")
        );
        let cfg = TrainConfig::new(LthNetHeadConfig::new(8, 2, 4))
            .with_loss(LossKind::CrossEntropy { beta: 1.0 });
        assert!(cfg.validate().unwrap_err().to_string().contains("beta"));
    }
}
