//! MobileNetV2 1.0 (Sandler et al., CVPR 2018) in the layout of the ImageNet-pretrained weights in
//! `shared/data/mobilenetv2-imagenet` (TF-Hub's model, BatchNorm folded into conv biases).
//!
//! - Stem: 3×3 conv, stride 2, 32 channels, ReLU6.
//! - 17 inverted-residual blocks: optional 1×1 expansion + ReLU6, 3×3 depthwise (groups =
//!   channels) + ReLU6, 1×1 linear projection, residual where the block keeps its shape.
//! - Head: 1×1 conv to 1280 + ReLU6, global mean pool → the **1280-d feature**; classifier FC to
//!   1001 logits (index 0 = background, ImageNet class i = output i + 1).
//! - Padding is TensorFlow "SAME" (for a stride-2 3×3 conv on an even size: 0 before, 1 after,
//!   not PyTorch's symmetric 1/1). Burn's `PaddingConfig2d::Same` computes exactly TF's split
//!   (`total = max((⌈n/s⌉ − 1)·s + k − n, 0)`, `before = ⌊total/2⌋`, the rest after) and runs the
//!   convolution with that asymmetric zero padding.
//! - Input: RGB scaled as `(u8 − 127) × 0.007843137718737125` (see [`MobileNetV2::preprocess`]
//!   and [`crate::PixelNorm::MOBILENET_TF`]), 224×224.
//!
//! The port matches `reference_io.safetensors` (10 real images; an independent numpy forward
//! pass) to about 1e-5 on the features and the logits (`tests/backbone_mobilenet_v2.rs`).

use std::path::Path;

use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Linear, LinearConfig, PaddingConfig2d};
use burn::prelude::*;
use burn::tensor::module::interpolate;
use burn::tensor::ops::{InterpolateMode, InterpolateOptions};
use serde::{Deserialize, Serialize};

use super::conv::conv2d;
use super::resnet::global_avg_pool;
use super::weights::load_pytorch_layout;
use crate::CoreError;
use crate::model::FeatureExtractor;

/// Input resolution of the pretrained model.
pub const MOBILENET_V2_INPUT_SIZE: usize = 224;

/// `(u8 − 127) × INPUT_SCALE` is the pretrained model's input scaling (≈ `u8/127.5 − 1`); the
/// f32 nearest to `0.007843137718737125`, the value in the TFLite graph.
pub const MOBILENET_V2_INPUT_SCALE: f32 = 0.007_843_138;

/// Size of the pooled feature.
pub const MOBILENET_V2_D_FEATURE: usize = 1280;

/// One inverted-residual block's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockSpec {
    /// Input channels.
    pub input: usize,
    /// Expanded (hidden) channels; equal to `input` when there is no expansion conv.
    pub hidden: usize,
    /// Output channels.
    pub output: usize,
    /// Depthwise stride.
    pub stride: usize,
}

impl BlockSpec {
    /// Whether the block adds its input to its output (stride 1 and same channel count).
    pub fn residual(&self) -> bool {
        self.stride == 1 && self.input == self.output
    }
}

/// Configuration of [`MobileNetV2`].
#[derive(Config, Debug)]
pub struct MobileNetV2Config {
    /// The blocks (defaults to MobileNetV2 1.0).
    #[config(default = "MobileNetV2Config::blocks_1_0()")]
    pub blocks: Vec<BlockSpec>,
    /// Classifier outputs (1001 for the TF-Hub ImageNet model).
    #[config(default = 1001)]
    pub num_logits: usize,
}

impl MobileNetV2Config {
    /// The 17 blocks of MobileNetV2 1.0 (t, c, n, s = expansion, channels, repeats, stride).
    pub fn blocks_1_0() -> Vec<BlockSpec> {
        let table = [
            (1, 16, 1, 1),
            (6, 24, 2, 2),
            (6, 32, 3, 2),
            (6, 64, 4, 2),
            (6, 96, 3, 1),
            (6, 160, 3, 2),
            (6, 320, 1, 1),
        ];
        let mut input = 32;
        let mut out = Vec::new();
        for (t, c, n, s) in table {
            for i in 0..n {
                out.push(BlockSpec {
                    input,
                    hidden: input * t,
                    output: c,
                    stride: if i == 0 { s } else { 1 },
                });
                input = c;
            }
        }
        out
    }

    fn assertions(&self) {
        assert!(
            !self.blocks.is_empty(),
            "MobileNetV2 needs at least one block"
        );
        for (i, pair) in self.blocks.windows(2).enumerate() {
            assert_eq!(
                pair[0].output,
                pair[1].input,
                "MobileNetV2 block {} outputs {} channels but block {} expects {}",
                i,
                pair[0].output,
                i + 1,
                pair[1].input
            );
        }
        assert!(
            self.blocks.iter().all(|b| b.stride == 1 || b.stride == 2),
            "MobileNetV2 block strides must be 1 or 2"
        );
        assert!(self.num_logits > 0, "num_logits must be positive");
    }

    /// Build the network (random weights; use [`MobileNetV2::load`] for the pretrained ones).
    ///
    /// # Panics
    /// If there are no blocks, consecutive blocks disagree on channels, a stride is not 1 or 2,
    /// or `num_logits` is 0.
    pub fn init<B: Backend>(&self, device: &B::Device) -> MobileNetV2<B> {
        self.assertions();
        let conv = |i: usize, o: usize, k: usize, s: usize, g: usize| {
            Conv2dConfig::new([i, o], [k, k])
                .with_stride([s, s])
                .with_groups(g)
                .with_padding(if k == 1 {
                    PaddingConfig2d::Valid
                } else {
                    PaddingConfig2d::Same
                })
                .init(device)
        };
        let first_in = self.blocks[0].input;
        let blocks = self
            .blocks
            .iter()
            .map(|b| InvertedResidual {
                expand: (b.hidden != b.input).then(|| conv(b.input, b.hidden, 1, 1, 1)),
                dw: conv(b.hidden, b.hidden, 3, b.stride, b.hidden),
                project: conv(b.hidden, b.output, 1, 1, 1),
                residual: b.residual(),
            })
            .collect();
        let last = self.blocks.last().expect("non-empty").output;
        MobileNetV2 {
            stem: conv(3, first_in, 3, 2, 1),
            blocks,
            head: conv(last, MOBILENET_V2_D_FEATURE, 1, 1, 1),
            classifier: LinearConfig::new(MOBILENET_V2_D_FEATURE, self.num_logits).init(device),
        }
    }
}

/// An inverted-residual block (keys `blocks.{i}.{expand,dw,project}.{weight,bias}`).
#[derive(Module, Debug)]
pub struct InvertedResidual<B: Backend> {
    /// 1×1 expansion + ReLU6 (absent when `hidden == input`).
    pub expand: Option<Conv2d<B>>,
    /// 3×3 depthwise convolution (groups = channels) + ReLU6, TF "SAME" padding.
    pub dw: Conv2d<B>,
    /// 1×1 linear projection.
    pub project: Conv2d<B>,
    /// Whether the input is added to the output.
    pub residual: bool,
}

fn relu6<B: Backend>(x: Tensor<B, 4>) -> Tensor<B, 4> {
    x.clamp(0.0, 6.0)
}

impl<B: Backend> InvertedResidual<B> {
    /// `project(relu6(dw(relu6(expand(x))))) (+ x)`.
    ///
    /// # Shapes
    /// - `x`: `[batch, input, H, W]` → `[batch, output, ⌈H/stride⌉, ⌈W/stride⌉]`
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let h = match &self.expand {
            Some(e) => relu6(conv2d(e, x.clone())),
            None => x.clone(),
        };
        let h = conv2d(&self.project, relu6(self.dw.forward(h)));
        if self.residual { h + x } else { h }
    }
}

/// MobileNetV2 1.0. Build with [`MobileNetV2Config::init`] or load with [`MobileNetV2::load`].
///
/// Keys: `stem`, `blocks.{0..16}.{expand,dw,project}`, `head`, `classifier` (each with `weight`
/// and `bias`; BatchNorm is folded into the conv biases, so there are no BatchNorm layers).
#[derive(Module, Debug)]
pub struct MobileNetV2<B: Backend> {
    stem: Conv2d<B>,
    blocks: Vec<InvertedResidual<B>>,
    head: Conv2d<B>,
    classifier: Linear<B>,
}

impl<B: Backend> MobileNetV2<B> {
    /// Load the pretrained weights (`mobilenet_v2_1.0_224_imagenet_f32.safetensors`) into
    /// MobileNetV2 1.0 with 1001 logits.
    ///
    /// # Errors
    /// [`CoreError::Io`] if the file cannot be opened; [`CoreError::WeightImport`] if it cannot
    /// be parsed, or a key is missing, has the wrong shape or is unexpected (all listed).
    pub fn load(path: &Path, device: &B::Device) -> Result<Self, CoreError> {
        MobileNetV2Config::new()
            .init::<B>(device)
            .load_weights(path)
    }

    /// Replace this network's weights with those in `path` (`.safetensors`, or a `.pth` state
    /// dict with the same keys). Every key must match exactly.
    ///
    /// # Errors
    /// As [`MobileNetV2::load`]; the partially loaded network is dropped.
    pub fn load_weights(self, path: &Path) -> Result<Self, CoreError> {
        load_pytorch_layout::<B, _>(self, path, &[], |_| false, "")
    }

    /// Turn `u8` HWC images of any size into the network's input: `(p − 127) × 0.00784…` per
    /// channel, NCHW, bilinearly resized (half-pixel centres, no antialiasing) to 224×224 when
    /// they are not already that size. Greyscale images are replicated to RGB.
    ///
    /// # Arguments
    /// - `images`: `n` images of `height × width × channels` bytes each, row-major HWC, RGB order.
    /// - `shape`: `[n, height, width, channels]`, with `channels` 1 or 3.
    ///
    /// # Shapes
    /// - returns `[n, 3, 224, 224]`
    ///
    /// # Panics
    /// If `images.len()` differs from the product of `shape`, `channels` is not 1 or 3, or a
    /// dimension is 0.
    pub fn preprocess(images: &[u8], shape: [usize; 4], device: &B::Device) -> Tensor<B, 4> {
        let [n, h, w, c] = shape;
        assert!(
            c == 1 || c == 3,
            "images must have 1 or 3 channels, got {c}"
        );
        assert!(
            n > 0 && h > 0 && w > 0,
            "image shape must be non-empty, got {shape:?}"
        );
        assert_eq!(
            images.len(),
            n * h * w * c,
            "image buffer holds {} bytes, expected {n}×{h}×{w}×{c}",
            images.len()
        );
        let data: Vec<f32> = images
            .iter()
            .map(|&p| (p as f32 - 127.0) * MOBILENET_V2_INPUT_SCALE)
            .collect();
        let x = Tensor::<B, 4>::from_data(TensorData::new(data, [n, h, w, c]), device)
            .permute([0, 3, 1, 2]);
        let x = if c == 1 { x.repeat_dim(1, 3) } else { x };
        let size = MOBILENET_V2_INPUT_SIZE;
        if h == size && w == size {
            x
        } else {
            interpolate(
                x,
                [size, size],
                InterpolateOptions::new(InterpolateMode::Bilinear).with_align_corners(false),
            )
        }
    }

    /// Size of the pooled feature (1280).
    pub fn d_feature(&self) -> usize {
        MOBILENET_V2_D_FEATURE
    }

    /// Number of classifier outputs (1001 for the pretrained model).
    pub fn num_logits(&self) -> usize {
        self.classifier.weight.dims()[1]
    }

    /// The pooled 1280-d feature: stem, 17 blocks, head conv + ReLU6, global mean pool.
    ///
    /// # Arguments
    /// - `x`: images scaled as by [`MobileNetV2::preprocess`].
    ///
    /// # Shapes
    /// - `x`: `[batch, 3, H, W]` (224×224 for the pretrained weights) → `[batch, 1280]`
    ///
    /// # Panics
    /// If `x` does not have 3 channels.
    pub fn forward_features(&self, x: Tensor<B, 4>) -> Tensor<B, 2> {
        let [_, channels, _, _] = x.dims();
        assert_eq!(
            channels, 3,
            "MobileNetV2 expects 3-channel input, got {channels}"
        );
        let mut h = relu6(conv2d(&self.stem, x));
        for b in &self.blocks {
            h = b.forward(h);
        }
        global_avg_pool(relu6(conv2d(&self.head, h)))
    }

    /// Classifier logits (1001 for the pretrained model: index 0 = background, ImageNet class
    /// `i` = output `i + 1`).
    ///
    /// # Shapes
    /// - `x`: `[batch, 3, H, W]` → `[batch, num_logits]`
    ///
    /// # Panics
    /// If `x` does not have 3 channels.
    pub fn forward_logits(&self, x: Tensor<B, 4>) -> Tensor<B, 2> {
        self.classifier.forward(self.forward_features(x))
    }
}

impl<B: Backend> FeatureExtractor<B> for MobileNetV2<B> {
    fn features(&self, images: Tensor<B, 4>) -> Tensor<B, 2> {
        self.forward_features(images)
    }

    fn d_output(&self) -> usize {
        MOBILENET_V2_D_FEATURE
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;

    #[test]
    fn default_blocks_are_mobilenet_v2_1_0() {
        let blocks = MobileNetV2Config::blocks_1_0();
        assert_eq!(blocks.len(), 17);
        assert_eq!(blocks[16].output, 320);
        assert_eq!(blocks.iter().filter(|b| b.residual()).count(), 10);
    }

    #[test]
    fn preprocess_scales_replicates_and_resizes() {
        let device = Default::default();
        let x = MobileNetV2::<Flex>::preprocess(&[127, 0, 255, 127], [1, 2, 2, 1], &device);
        assert_eq!(x.dims(), [1, 3, 224, 224]);
        let x = MobileNetV2::<Flex>::preprocess(&[0, 127, 255], [1, 1, 1, 3], &device);
        let v = x.into_data().to_vec::<f32>().unwrap();
        let plane = 224 * 224;
        assert!((v[0] + 127.0 * MOBILENET_V2_INPUT_SCALE).abs() < 1e-6);
        assert!(v[plane].abs() < 1e-6);
        assert!((v[2 * plane] - 128.0 * MOBILENET_V2_INPUT_SCALE).abs() < 1e-6);
    }

    #[test]
    #[should_panic(expected = "block 0 outputs")]
    fn inconsistent_blocks_panic() {
        let mut blocks = MobileNetV2Config::blocks_1_0();
        blocks[1].input = 17;
        MobileNetV2Config::new()
            .with_blocks(blocks)
            .init::<Flex>(&Default::default());
    }
}
