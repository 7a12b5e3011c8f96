//! # lthnet-core
//!
//! The LTHNet model (backbones in torchvision layout, the extended dynamic meta-embedding head,
//! hash layer and classifier) and its Algorithm 1 trainer.
//!
//! - [`head`]: the LTHNet head ([`LthNetHeadConfig`] → [`LthNetHead`]).
//! - [`backbone`]: ResNet-18/34/50 (torchvision layout), MobileNetV2, a small CIFAR network.
//! - [`source`]: inputs for training and encoding (cached features or images).
//! - [`train`]: Algorithm 1 with checkpoints and resume.

pub mod backbone;
pub mod error;
pub mod feature_cache;
pub mod head;
mod linear;
pub mod model;
pub mod source;
pub mod train;

pub use error::CoreError;
pub use head::{LthNetHead, LthNetHeadConfig, LthNetOutput, MetaEmbedding};
pub use model::{Augment, FeatureExtractor, ImageSource, LthNet, PixelNorm};
pub use source::{FeatureSource, HashNetwork, Source};
