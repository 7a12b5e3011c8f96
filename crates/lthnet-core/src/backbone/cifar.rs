//! A small VGG-style network for 32×32 inputs, trained from scratch (CIFAR-10/100 without a
//! pretrained backbone).
//!
//! Stage `s` is `convs_per_stage × (3×3 conv → BatchNorm → ReLU)` with `channels[s]` outputs;
//! every stage but the last is followed by a 2×2 max pool, and the last by a global average pool.
//! With the defaults (`[64, 128, 256, 512]`, one conv per stage) a 32×32 image goes
//! 32 → 16 → 8 → 4 → pooled 512-d feature, about 58 M multiply-adds per image.

use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, PaddingConfig2d};
use burn::prelude::*;

use super::batch_norm::batch_norm_relu_2d;
use super::conv::conv2d;
use super::pool::max_pool2d;
use super::resnet::global_avg_pool;
use crate::model::FeatureExtractor;

/// Configuration of a [`CifarNet`].
#[derive(Config, Debug)]
pub struct CifarNetConfig {
    /// Output channels of each stage; the last one is the feature size.
    #[config(default = "vec![64, 128, 256, 512]")]
    pub channels: Vec<usize>,
    /// Conv-BN-ReLU layers per stage.
    #[config(default = 1)]
    pub convs_per_stage: usize,
    /// Input channels (3 for RGB).
    #[config(default = 3)]
    pub input_channels: usize,
}

impl CifarNetConfig {
    /// Size of the pooled feature (the last stage's channels).
    ///
    /// # Panics
    /// If `channels` is empty.
    pub fn d_feature(&self) -> usize {
        *self
            .channels
            .last()
            .expect("CifarNet needs at least one stage")
    }

    fn assertions(&self) {
        assert!(
            !self.channels.is_empty(),
            "CifarNet needs at least one stage"
        );
        assert!(
            self.channels.iter().all(|&c| c > 0),
            "CifarNet channels must be positive, got {:?}",
            self.channels
        );
        assert!(
            self.convs_per_stage > 0,
            "CifarNet needs at least one conv per stage"
        );
        assert!(
            self.input_channels > 0,
            "CifarNet input_channels must be positive"
        );
    }

    /// Build the network (PyTorch-default Kaiming-uniform convolutions, BatchNorm `γ = 1, β = 0`).
    ///
    /// # Panics
    /// If `channels` is empty or holds a zero, or `convs_per_stage`/`input_channels` is 0.
    pub fn init<B: Backend>(&self, device: &B::Device) -> CifarNet<B> {
        self.assertions();
        let mut input = self.input_channels;
        let stages = self
            .channels
            .iter()
            .map(|&output| {
                let layers = (0..self.convs_per_stage)
                    .map(|i| ConvBnRelu {
                        conv: Conv2dConfig::new(
                            [if i == 0 { input } else { output }, output],
                            [3, 3],
                        )
                        .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                        .with_bias(false)
                        .init(device),
                        bn: BatchNormConfig::new(output).init(device),
                    })
                    .collect();
                input = output;
                layers
            })
            .collect();
        CifarNet {
            stages,
            pool: MaxPool2dConfig::new([2, 2]).init(),
            input_channels: self.input_channels,
        }
    }
}

/// `ReLU(BatchNorm(conv3×3(x)))`, "same" size.
#[derive(Module, Debug)]
pub struct ConvBnRelu<B: Backend> {
    /// Bias-free 3×3 convolution, padding 1.
    pub conv: Conv2d<B>,
    /// BatchNorm.
    pub bn: BatchNorm<B>,
}

impl<B: Backend> ConvBnRelu<B> {
    /// # Shapes
    /// - `x`: `[batch, in, H, W]` → `[batch, out, H, W]`
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        batch_norm_relu_2d(&self.bn, conv2d(&self.conv, x))
    }
}

/// A small CNN backbone for 32×32 images (see the [module docs](self)).
#[derive(Module, Debug)]
pub struct CifarNet<B: Backend> {
    stages: Vec<Vec<ConvBnRelu<B>>>,
    pool: MaxPool2d,
    input_channels: usize,
}

impl<B: Backend> CifarNet<B> {
    /// Size of the pooled feature.
    pub fn d_feature(&self) -> usize {
        self.stages
            .last()
            .and_then(|s| s.last())
            .map(|l| l.bn.gamma.dims()[0])
            .expect("CifarNet has at least one stage")
    }

    /// The pooled feature.
    ///
    /// # Shapes
    /// - `x`: `[batch, input_channels, H, W]` (32×32 for CIFAR; H and W at least
    ///   `2^(stages − 1)`) → `[batch, d_feature]`
    ///
    /// # Panics
    /// If the channel count differs from `input_channels`.
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 2> {
        let [_, channels, _, _] = x.dims();
        assert_eq!(
            channels, self.input_channels,
            "CifarNet expects {}-channel input, got {channels}",
            self.input_channels
        );
        let last = self.stages.len() - 1;
        let mut h = x;
        for (s, stage) in self.stages.iter().enumerate() {
            for layer in stage {
                h = layer.forward(h);
            }
            if s < last {
                h = max_pool2d(&self.pool, h);
            }
        }
        global_avg_pool(h)
    }
}

impl<B: Backend> FeatureExtractor<B> for CifarNet<B> {
    fn features(&self, images: Tensor<B, 4>) -> Tensor<B, 2> {
        self.forward(images)
    }

    fn d_output(&self) -> usize {
        self.d_feature()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;

    #[test]
    fn shapes() {
        let device = Default::default();
        let net = CifarNetConfig::new()
            .with_channels(vec![8, 16, 32])
            .with_convs_per_stage(2)
            .init::<Flex>(&device);
        assert_eq!(net.d_feature(), 32);
        let y = net.forward(Tensor::random(
            [2, 3, 32, 32],
            burn::tensor::Distribution::Default,
            &device,
        ));
        assert_eq!(y.dims(), [2, 32]);
        let v = y.into_data().to_vec::<f32>().unwrap();
        assert!(v.iter().all(|x| x.is_finite() && *x >= 0.0));
    }

    #[test]
    fn default_is_512() {
        assert_eq!(CifarNetConfig::new().d_feature(), 512);
    }

    #[test]
    #[should_panic(expected = "at least one conv per stage")]
    fn zero_convs_panics() {
        CifarNetConfig::new()
            .with_convs_per_stage(0)
            .init::<Flex>(&Default::default());
    }
}
