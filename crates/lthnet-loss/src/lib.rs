//! # lthnet-loss
//!
//! The losses of LTHNet and of the hashing methods it is compared with, shaped like Burn's
//! (`XConfig` → `X`, `forward` and `forward_no_reduction`, `# Shapes` docs, Burn's [`Reduction`]
//! where a batch reduction is a choice), on any backend. Every value and gradient is checked
//! against PyTorch (`tests/fixtures/make_fixtures.py`) and by finite differences.
//!
//! - [`ClassBalancedCrossEntropyLoss`]: CE on logits (β = 0) and class-balanced CE with the
//!   effective number of samples (Cui et al., CVPR 2019; LTHNet Eq. 13).
//! - [`SquareLoss`]: LTHNet_sq, `‖ŷ − y‖²` (Eqs. 14–15), optionally class-balanced.
//! - [`DcwhLoss`]: deep class-wise hashing (normalised-Gaussian CE to class centres + cubic and
//!   vertex constraints); [`class_means`] recomputes its centres.
//! - [`IdcwhLoss`]: DCWH with learnable centres, centre-similarity learning and quantisation.
//! - [`CsqLoss`]: central similarity quantisation, with [`hash_centres`] (Hadamard / Bernoulli;
//!   [`try_hash_centres`] returns a [`LossError`] when the class count cannot be reached).
//!
//! ```
//! use burn::backend::Flex;
//! use burn::prelude::*;
//! use lthnet_loss::ClassBalancedCrossEntropyLossConfig;
//!
//! let device = Default::default();
//! let loss = ClassBalancedCrossEntropyLossConfig::new(vec![500, 5]).with_beta(0.999).init::<Flex>(&device);
//! let logits = Tensor::<Flex, 2>::from_data([[2.0, 0.5], [0.1, 1.0]], &device);
//! let targets = Tensor::<Flex, 1, Int>::from_data([0, 1], &device);
//! let value = loss.forward(logits, targets).into_scalar();
//! assert!(value > 0.0);
//! ```

pub mod class_weights;
pub mod cross_entropy;
pub mod csq;
pub mod dcwh;
pub mod error;
pub mod square;

pub use class_weights::{WeightNorm, class_balanced_weights};
pub use cross_entropy::{
    BatchDivisor, ClassBalancedCrossEntropyLoss, ClassBalancedCrossEntropyLossConfig,
    cross_entropy_no_reduction,
};
pub use csq::{
    CsqLoss, CsqLossConfig, HashCentres, hadamard, hash_centres, max_hash_centres, random_fill,
    try_hash_centres,
};
pub use dcwh::{CentreUpdate, DcwhLoss, DcwhLossConfig, IdcwhLoss, IdcwhLossConfig, class_means};
pub use error::LossError;
pub use square::{SquareLoss, SquareLossConfig};

/// Burn's loss reduction enum, used by the configs here.
pub use burn::nn::loss::Reduction;

use burn::prelude::*;

/// `log(1 + eˣ)` computed as `max(x, 0) + log1p(e^{−|x|})`: finite for any finite `x`
/// (Burn's `softplus` overflows for large inputs).
pub fn stable_softplus<B: Backend, const D: usize>(x: Tensor<B, D>) -> Tensor<B, D> {
    x.clone().clamp_min(0.0) + x.abs().neg().exp().log1p()
}
