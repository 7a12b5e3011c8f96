//! Backbones: networks that map images to a pooled feature vector ([`crate::FeatureExtractor`]).
//!
//! - [`mobilenet_v2`]: MobileNetV2 1.0 with the ImageNet-pretrained weights available here.

pub mod mobilenet_v2;

pub use mobilenet_v2::{MobileNetV2, MobileNetV2Config};
