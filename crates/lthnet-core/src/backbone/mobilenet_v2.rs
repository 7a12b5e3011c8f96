//! MobileNetV2 1.0 (Sandler et al., CVPR 2018) in the layout of the ImageNet-pretrained weights in
//! `shared/data/mobilenetv2-imagenet` (TF-Hub's model, BatchNorm folded into conv biases).
//!
//! - Stem: 3×3 conv, stride 2, 32 channels, ReLU6.
//! - 17 inverted-residual blocks: optional 1×1 expansion + ReLU6, 3×3 depthwise (groups =
//!   channels) + ReLU6, 1×1 linear projection, residual where the block keeps its shape.
//! - Head: 1×1 conv to 1280 + ReLU6, global mean pool → the **1280-d feature**; classifier FC to
//!   1001 logits (index 0 = background, ImageNet class i = output i + 1).
//! - Padding is TensorFlow "SAME" (for a stride-2 3×3 conv on an even size: 0 before, 1 after),
//!   which Burn's `PaddingConfig2d::Same` computes.
//! - Input: RGB scaled as `(u8 − 127) × 0.007843137718737125` (see
//!   [`crate::PixelNorm::MOBILENET_TF`]), 224×224.

use std::path::Path;

use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Linear, LinearConfig, PaddingConfig2d};
use burn::prelude::*;
use burn::store::{ModuleSnapshot, PyTorchToBurnAdapter, SafetensorsStore};
use serde::{Deserialize, Serialize};

use crate::CoreError;
use crate::model::FeatureExtractor;

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
    fn residual(&self) -> bool {
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

    /// Build the network (random weights; use [`MobileNetV2::load`] for the pretrained ones).
    pub fn init<B: Backend>(&self, device: &B::Device) -> MobileNetV2<B> {
        assert!(
            !self.blocks.is_empty(),
            "MobileNetV2 needs at least one block"
        );
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
            head: conv(last, 1280, 1, 1, 1),
            classifier: LinearConfig::new(1280, self.num_logits).init(device),
        }
    }
}

/// An inverted-residual block.
#[derive(Module, Debug)]
pub struct InvertedResidual<B: Backend> {
    expand: Option<Conv2d<B>>,
    dw: Conv2d<B>,
    project: Conv2d<B>,
    residual: bool,
}

fn relu6<B: Backend>(x: Tensor<B, 4>) -> Tensor<B, 4> {
    x.clamp(0.0, 6.0)
}

impl<B: Backend> InvertedResidual<B> {
    fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let h = match &self.expand {
            Some(e) => relu6(e.forward(x.clone())),
            None => x.clone(),
        };
        let h = self.project.forward(relu6(self.dw.forward(h)));
        if self.residual { h + x } else { h }
    }
}

/// MobileNetV2 1.0. Build with [`MobileNetV2Config::init`] or load with [`MobileNetV2::load`].
#[derive(Module, Debug)]
pub struct MobileNetV2<B: Backend> {
    stem: Conv2d<B>,
    blocks: Vec<InvertedResidual<B>>,
    head: Conv2d<B>,
    classifier: Linear<B>,
}

impl<B: Backend> MobileNetV2<B> {
    /// Load the pretrained weights (`mobilenet_v2_1.0_224_imagenet_f32.safetensors`).
    ///
    /// # Errors
    /// The file cannot be read, or a key is missing / has the wrong shape (the message lists them).
    pub fn load(path: &Path, device: &B::Device) -> Result<Self, CoreError> {
        let mut model = MobileNetV2Config::new().init::<B>(device);
        let mut store = SafetensorsStore::from_file(path)
            .with_from_adapter(PyTorchToBurnAdapter)
            .allow_partial(true);
        let result = model
            .load_from(&mut store)
            .map_err(|e| CoreError::WeightImport {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?;
        if !result.missing.is_empty() || !result.errors.is_empty() {
            return Err(CoreError::WeightImport {
                path: path.to_path_buf(),
                message: format!(
                    "missing keys {:?}; errors {:?}",
                    result.missing, result.errors
                ),
            });
        }
        Ok(model)
    }

    /// The pooled 1280-d feature.
    ///
    /// # Shapes
    /// - `x`: `[batch, 3, H, W]` → `[batch, 1280]`
    pub fn forward_features(&self, x: Tensor<B, 4>) -> Tensor<B, 2> {
        let mut h = relu6(self.stem.forward(x));
        for b in &self.blocks {
            h = b.forward(h);
        }
        let h = relu6(self.head.forward(h));
        let [n, c, _, _] = h.dims();
        h.mean_dim(3).mean_dim(2).reshape([n, c])
    }

    /// ImageNet logits (1001, index 0 = background).
    ///
    /// # Shapes
    /// - `x`: `[batch, 3, H, W]` → `[batch, 1001]`
    pub fn forward_logits(&self, x: Tensor<B, 4>) -> Tensor<B, 2> {
        self.classifier.forward(self.forward_features(x))
    }
}

impl<B: Backend> FeatureExtractor<B> for MobileNetV2<B> {
    fn features(&self, images: Tensor<B, 4>) -> Tensor<B, 2> {
        self.forward_features(images)
    }

    fn d_output(&self) -> usize {
        1280
    }
}
