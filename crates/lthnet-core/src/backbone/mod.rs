//! Backbones: networks that map images to a pooled feature vector ([`crate::FeatureExtractor`]).
//!
//! - [`resnet`]: ResNet-18/34/50 in torchvision's parameter layout (the paper's backbone is
//!   ResNet-34 → 512-d); loads torchvision state dicts (`.pth` / `.safetensors`) strictly.
//! - [`mobilenet_v2`]: MobileNetV2 1.0 with the ImageNet-pretrained weights available here
//!   (1280-d).
//! - [`cifar`]: a small VGG-style network for 32×32 images, trained from scratch (512-d).
//!
//! [`BackboneConfig`] → [`Backbone`] wraps the three behind one module type, so a model can hold
//! "some backbone" chosen at run time:
//!
//! ```
//! use burn::backend::Flex;
//! use burn::prelude::*;
//! use lthnet_core::backbone::{BackboneConfig, CifarNetConfig};
//!
//! let device = Default::default();
//! let config = BackboneConfig::CifarNet(CifarNetConfig::new().with_channels(vec![8, 16]));
//! let backbone = config.init::<Flex>(&device);
//! let features = backbone.forward(Tensor::zeros([2, 3, 32, 32], &device));
//! assert_eq!(features.dims(), [2, backbone.d_feature()]);
//! ```

pub mod batch_norm;
pub mod cifar;
pub mod conv;
pub mod mobilenet_v2;
pub mod pool;
pub mod resnet;
mod weights;

use std::path::Path;

use burn::prelude::*;

pub use cifar::{CifarNet, CifarNetConfig};
pub use mobilenet_v2::{MobileNetV2, MobileNetV2Config};
pub use resnet::{ResNet, ResNetBlock, ResNetConfig};

use crate::CoreError;
use crate::model::FeatureExtractor;

/// Configuration of a [`Backbone`]: which network, and its shape.
#[derive(Config, Debug)]
pub enum BackboneConfig {
    /// A ResNet (torchvision layout).
    ResNet(ResNetConfig),
    /// MobileNetV2 (TF-Hub layout, BatchNorm folded).
    MobileNetV2(MobileNetV2Config),
    /// The small CIFAR network.
    CifarNet(CifarNetConfig),
}

impl BackboneConfig {
    /// Build the backbone and load pretrained weights from `path`: a torchvision state dict for
    /// [`BackboneConfig::ResNet`] ([`ResNet::load_weights`]), the MobileNetV2 safetensors for
    /// [`BackboneConfig::MobileNetV2`] ([`MobileNetV2::load_weights`]).
    ///
    /// # Errors
    /// [`CoreError::Config`] for [`BackboneConfig::CifarNet`], which has no pretrained weights;
    /// otherwise as the inner loader ([`CoreError::Io`], [`CoreError::WeightImport`]).
    ///
    /// # Panics
    /// If the inner configuration is invalid.
    pub fn init_pretrained<B: Backend>(
        &self,
        path: &Path,
        device: &B::Device,
    ) -> Result<Backbone<B>, CoreError> {
        Ok(match self {
            BackboneConfig::ResNet(c) => Backbone::ResNet(c.init(device).load_weights(path)?),
            BackboneConfig::MobileNetV2(c) => {
                Backbone::MobileNetV2(c.init(device).load_weights(path)?)
            }
            BackboneConfig::CifarNet(_) => {
                return Err(CoreError::Config(
                    "CifarNet has no pretrained weights: build it with `init` and train it from \
                     scratch"
                        .into(),
                ));
            }
        })
    }

    /// Size of the pooled feature the backbone produces.
    pub fn d_feature(&self) -> usize {
        match self {
            BackboneConfig::ResNet(c) => c.d_feature(),
            BackboneConfig::MobileNetV2(_) => mobilenet_v2::MOBILENET_V2_D_FEATURE,
            BackboneConfig::CifarNet(c) => c.d_feature(),
        }
    }

    /// Build the backbone with fresh (random) weights; load pretrained weights with
    /// [`ResNet::load`] / [`MobileNetV2::load`] and wrap them with `From`.
    ///
    /// # Panics
    /// If the inner configuration is invalid (see the inner `init`).
    pub fn init<B: Backend>(&self, device: &B::Device) -> Backbone<B> {
        match self {
            BackboneConfig::ResNet(c) => Backbone::ResNet(c.init(device)),
            BackboneConfig::MobileNetV2(c) => Backbone::MobileNetV2(c.init(device)),
            BackboneConfig::CifarNet(c) => Backbone::CifarNet(c.init(device)),
        }
    }
}

/// One of the backbones, as a single module type (a Burn `Module` enum: records and
/// `burn::store` paths carry the variant name, e.g. `ResNet.layer1.0.conv1.weight`).
#[derive(Module, Debug)]
pub enum Backbone<B: Backend> {
    /// A ResNet.
    ResNet(ResNet<B>),
    /// MobileNetV2 (features only; its classifier is unused).
    MobileNetV2(MobileNetV2<B>),
    /// The small CIFAR network.
    CifarNet(CifarNet<B>),
}

impl<B: Backend> Backbone<B> {
    /// Size of the pooled feature.
    pub fn d_feature(&self) -> usize {
        match self {
            Backbone::ResNet(m) => m.d_feature(),
            Backbone::MobileNetV2(m) => m.d_feature(),
            Backbone::CifarNet(m) => m.d_feature(),
        }
    }

    /// The pooled feature.
    ///
    /// # Shapes
    /// - `x`: `[batch, 3, H, W]` → `[batch, d_feature]`
    ///
    /// # Panics
    /// If `x` has the wrong number of channels.
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 2> {
        match self {
            Backbone::ResNet(m) => m.forward(x),
            Backbone::MobileNetV2(m) => m.forward_features(x),
            Backbone::CifarNet(m) => m.forward(x),
        }
    }
}

impl<B: Backend> From<ResNet<B>> for Backbone<B> {
    fn from(m: ResNet<B>) -> Self {
        Backbone::ResNet(m)
    }
}

impl<B: Backend> From<MobileNetV2<B>> for Backbone<B> {
    fn from(m: MobileNetV2<B>) -> Self {
        Backbone::MobileNetV2(m)
    }
}

impl<B: Backend> From<CifarNet<B>> for Backbone<B> {
    fn from(m: CifarNet<B>) -> Self {
        Backbone::CifarNet(m)
    }
}

impl<B: Backend> FeatureExtractor<B> for Backbone<B> {
    fn features(&self, images: Tensor<B, 4>) -> Tensor<B, 2> {
        self.forward(images)
    }

    fn d_output(&self) -> usize {
        self.d_feature()
    }
}
