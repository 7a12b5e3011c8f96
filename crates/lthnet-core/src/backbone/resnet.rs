//! ResNet-18/34/50 (He et al., CVPR 2016, <https://arxiv.org/abs/1512.03385>) in torchvision's
//! parameter layout, without the classifier: the LTHNet backbone of paper Table 1
//! (`conv1 … layer4` + global average pool → 512-d for ResNet-18/34, 2048-d for ResNet-50).
//!
//! Parameter paths are torchvision's (`conv1`, `bn1`, `layer1.0.conv1`, `layer2.0.downsample.0`,
//! …), so a torchvision state dict loads unchanged with [`ResNet::load`]: the only renaming is
//! `downsample.0`/`downsample.1` → `downsample.conv`/`downsample.bn` (Rust fields cannot be named
//! `0`), done by key remapping in the loader, plus BatchNorm `weight`/`bias` → `gamma`/`beta` by
//! `burn::store`'s PyTorch adapter. The ResNet-50 bottleneck is torchvision's "v1.5" (stride on
//! the 3×3 conv).

use std::path::Path;

use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, PaddingConfig2d};
use burn::prelude::*;
use burn::tensor::activation::relu;
use serde::{Deserialize, Serialize};

use super::batch_norm::{batch_norm_2d, batch_norm_relu_2d};
use super::conv::conv2d;
use super::pool::max_pool2d;
use super::weights::load_pytorch_layout;
use crate::CoreError;
use crate::model::FeatureExtractor;

/// The residual block type of a [`ResNet`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ResNetBlock {
    /// Two 3×3 convolutions (ResNet-18/34), expansion 1.
    Basic,
    /// 1×1 → 3×3 (strided) → 1×1 convolutions (ResNet-50/101/152), expansion 4.
    Bottleneck,
}

impl ResNetBlock {
    /// Output channels of a block relative to its `planes`.
    pub fn expansion(self) -> usize {
        match self {
            ResNetBlock::Basic => 1,
            ResNetBlock::Bottleneck => 4,
        }
    }
}

/// Configuration of a [`ResNet`] backbone.
///
/// Stage `k` (`layer{k+1}`, `k = 0..4`) has `layers[k]` blocks with `planes = base_width · 2^k`;
/// its output has `planes · expansion` channels. torchvision's models use `base_width = 64`;
/// smaller widths give cheap test networks with the same key names.
#[derive(Config, Debug)]
pub struct ResNetConfig {
    /// Number of residual blocks in `layer1` … `layer4`.
    pub layers: [usize; 4],
    /// Basic (ResNet-18/34) or bottleneck (ResNet-50) blocks.
    pub block: ResNetBlock,
    /// Channels after `conv1` and `planes` of `layer1` (torchvision: 64).
    #[config(default = 64)]
    pub base_width: usize,
}

impl ResNetConfig {
    /// ResNet-18: basic blocks `[2, 2, 2, 2]`, 512-d feature.
    pub fn resnet18() -> Self {
        Self::new([2, 2, 2, 2], ResNetBlock::Basic)
    }

    /// ResNet-34 (the paper's backbone): basic blocks `[3, 4, 6, 3]`, 512-d feature.
    pub fn resnet34() -> Self {
        Self::new([3, 4, 6, 3], ResNetBlock::Basic)
    }

    /// ResNet-50: bottleneck blocks `[3, 4, 6, 3]`, 2048-d feature.
    pub fn resnet50() -> Self {
        Self::new([3, 4, 6, 3], ResNetBlock::Bottleneck)
    }

    /// Size of the pooled feature: `8 · base_width · expansion`.
    pub fn d_feature(&self) -> usize {
        8 * self.base_width * self.block.expansion()
    }

    fn assertions(&self) {
        assert!(
            self.base_width > 0,
            "ResNet base_width must be positive, got {}",
            self.base_width
        );
        assert!(
            self.layers.iter().all(|&n| n > 0),
            "every ResNet stage needs at least one block, got {:?}",
            self.layers
        );
    }

    /// Build the network with PyTorch's default initialisation for convolutions (Kaiming
    /// uniform) and BatchNorm `γ = 1, β = 0`, running mean 0 and variance 1. Load pretrained
    /// weights with [`ResNet::load`] or [`ResNet::load_weights`].
    ///
    /// # Panics
    /// If `base_width` is 0 or a stage has no blocks.
    pub fn init<B: Backend>(&self, device: &B::Device) -> ResNet<B> {
        self.assertions();
        let expansion = self.block.expansion();
        let mut inplanes = self.base_width;
        let mut stages = Vec::with_capacity(4);
        for (k, &num_blocks) in self.layers.iter().enumerate() {
            let planes = self.base_width << k;
            let stride = if k == 0 { 1 } else { 2 };
            let mut blocks = Vec::with_capacity(num_blocks);
            for i in 0..num_blocks {
                let s = if i == 0 { stride } else { 1 };
                blocks.push(ResidualBlock::new(self.block, inplanes, planes, s, device));
                inplanes = planes * expansion;
            }
            stages.push(blocks);
        }
        let mut stages = stages.into_iter();
        let mut next = || stages.next().expect("four stages");
        ResNet {
            conv1: conv(3, self.base_width, 7, 2, 3, device),
            bn1: BatchNormConfig::new(self.base_width).init(device),
            maxpool: MaxPool2dConfig::new([3, 3])
                .with_strides([2, 2])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .init(),
            layer1: next(),
            layer2: next(),
            layer3: next(),
            layer4: next(),
            d_feature: self.d_feature(),
        }
    }
}

/// A bias-free `k×k` convolution with symmetric zero padding (all ResNet convolutions).
fn conv<B: Backend>(
    input: usize,
    output: usize,
    kernel: usize,
    stride: usize,
    padding: usize,
    device: &B::Device,
) -> Conv2d<B> {
    Conv2dConfig::new([input, output], [kernel, kernel])
        .with_stride([stride, stride])
        .with_padding(PaddingConfig2d::Explicit(
            padding, padding, padding, padding,
        ))
        .with_bias(false)
        .init(device)
}

/// The projection shortcut of the first block of a stage (torchvision's `downsample`, a
/// `Sequential(conv1x1, BatchNorm)` whose keys `downsample.0` / `downsample.1` map to `conv` / `bn`).
#[derive(Module, Debug)]
pub struct Downsample<B: Backend> {
    /// 1×1 strided convolution (`downsample.0`).
    pub conv: Conv2d<B>,
    /// BatchNorm (`downsample.1`).
    pub bn: BatchNorm<B>,
}

/// A residual block: torchvision's `BasicBlock` (`conv3`/`bn3` absent) or `Bottleneck`.
#[derive(Module, Debug)]
pub struct ResidualBlock<B: Backend> {
    /// 3×3 (basic, strided) or 1×1 (bottleneck) convolution.
    pub conv1: Conv2d<B>,
    /// BatchNorm after `conv1`.
    pub bn1: BatchNorm<B>,
    /// 3×3 convolution (strided in a bottleneck block).
    pub conv2: Conv2d<B>,
    /// BatchNorm after `conv2`.
    pub bn2: BatchNorm<B>,
    /// Bottleneck only: 1×1 expansion convolution.
    pub conv3: Option<Conv2d<B>>,
    /// Bottleneck only: BatchNorm after `conv3`.
    pub bn3: Option<BatchNorm<B>>,
    /// Projection shortcut where the shape changes.
    pub downsample: Option<Downsample<B>>,
}

impl<B: Backend> ResidualBlock<B> {
    fn new(
        kind: ResNetBlock,
        inplanes: usize,
        planes: usize,
        stride: usize,
        device: &B::Device,
    ) -> Self {
        let out = planes * kind.expansion();
        let bn = |c: usize| BatchNormConfig::new(c).init(device);
        let downsample = (stride != 1 || inplanes != out).then(|| Downsample {
            conv: conv(inplanes, out, 1, stride, 0, device),
            bn: bn(out),
        });
        match kind {
            ResNetBlock::Basic => Self {
                conv1: conv(inplanes, planes, 3, stride, 1, device),
                bn1: bn(planes),
                conv2: conv(planes, planes, 3, 1, 1, device),
                bn2: bn(planes),
                conv3: None,
                bn3: None,
                downsample,
            },
            ResNetBlock::Bottleneck => Self {
                conv1: conv(inplanes, planes, 1, 1, 0, device),
                bn1: bn(planes),
                conv2: conv(planes, planes, 3, stride, 1, device),
                bn2: bn(planes),
                conv3: Some(conv(planes, out, 1, 1, 0, device)),
                bn3: Some(bn(out)),
                downsample,
            },
        }
    }

    /// `relu(F(x) + shortcut(x))`.
    ///
    /// # Shapes
    /// - `x`: `[batch, inplanes, H, W]` → `[batch, planes · expansion, ⌈H/stride⌉, ⌈W/stride⌉]`
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let shortcut = match &self.downsample {
            Some(d) => batch_norm_2d(&d.bn, conv2d(&d.conv, x.clone())),
            None => x.clone(),
        };
        let h = batch_norm_relu_2d(&self.bn1, conv2d(&self.conv1, x));
        let h = batch_norm_2d(&self.bn2, conv2d(&self.conv2, h));
        let h = match (&self.conv3, &self.bn3) {
            (Some(c3), Some(b3)) => batch_norm_2d(b3, conv2d(c3, relu(h))),
            _ => h,
        };
        relu(h + shortcut)
    }
}

/// A ResNet backbone: `conv1 (7×7/2) → bn1 → ReLU → maxpool (3×3/2) → layer1 … layer4 → global
/// average pool`, with torchvision's parameter names and no `fc`.
///
/// Build with [`ResNetConfig::init`]; load a torchvision state dict with [`ResNet::load`].
/// BatchNorm uses its running statistics on a plain backend and batch statistics on an
/// autodiff backend (Burn's train/eval switch, as `model.train()` / `model.eval()` in PyTorch).
#[derive(Module, Debug)]
pub struct ResNet<B: Backend> {
    conv1: Conv2d<B>,
    bn1: BatchNorm<B>,
    maxpool: MaxPool2d,
    layer1: Vec<ResidualBlock<B>>,
    layer2: Vec<ResidualBlock<B>>,
    layer3: Vec<ResidualBlock<B>>,
    layer4: Vec<ResidualBlock<B>>,
    d_feature: usize,
}

/// torchvision → Burn key renames (applied to the file's keys).
const TORCHVISION_REMAP: [(&str, &str); 2] = [
    (r"\.downsample\.0\.", ".downsample.conv."),
    (r"\.downsample\.1\.", ".downsample.bn."),
];

/// Keys of a torchvision state dict that the backbone does not use.
fn ignored_torchvision_key(key: &str) -> bool {
    key.starts_with("fc.") || key.ends_with(".num_batches_tracked") || key == "num_batches_tracked"
}

impl<B: Backend> ResNet<B> {
    /// Build `config` and load a torchvision-layout state dict (`.pth`/`.pt` saved with
    /// `torch.save(model.state_dict())`, or `.safetensors`). `fc.*` and `num_batches_tracked`
    /// keys are ignored; everything else must match exactly.
    ///
    /// # Errors
    /// [`CoreError::Io`] if the file cannot be opened; [`CoreError::WeightImport`] listing every
    /// missing, mismatched (shape) or unexpected key, or if the file cannot be parsed.
    ///
    /// # Panics
    /// If `config` is invalid (see [`ResNetConfig::init`]).
    pub fn load(config: &ResNetConfig, path: &Path, device: &B::Device) -> Result<Self, CoreError> {
        config.init::<B>(device).load_weights(path)
    }

    /// Replace this network's weights with a torchvision-layout state dict (see [`ResNet::load`]).
    ///
    /// # Errors
    /// As [`ResNet::load`]; the partially loaded network is dropped.
    pub fn load_weights(self, path: &Path) -> Result<Self, CoreError> {
        load_pytorch_layout::<B, _>(
            self,
            path,
            &TORCHVISION_REMAP,
            ignored_torchvision_key,
            "(keys are listed as module paths: `downsample.conv`/`downsample.bn` stand for \
             torchvision's `downsample.0`/`downsample.1`, `gamma`/`beta` for BatchNorm \
             `weight`/`bias`)",
        )
    }

    /// Size of the pooled feature (512 for ResNet-18/34, 2048 for ResNet-50 at base width 64).
    pub fn d_feature(&self) -> usize {
        self.d_feature
    }

    /// The feature map after `layer4` (before pooling).
    ///
    /// # Shapes
    /// - `x`: `[batch, 3, H, W]` → `[batch, d_feature, ⌈H/32⌉, ⌈W/32⌉]` (for H, W multiples of 32)
    pub fn forward_map(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let h = batch_norm_relu_2d(&self.bn1, conv2d(&self.conv1, x));
        let mut h = max_pool2d(&self.maxpool, h);
        for block in self
            .layer1
            .iter()
            .chain(&self.layer2)
            .chain(&self.layer3)
            .chain(&self.layer4)
        {
            h = block.forward(h);
        }
        h
    }

    /// The pooled feature: `conv1 … layer4`, then the mean over all spatial positions.
    ///
    /// # Arguments
    /// - `x`: normalised RGB images (torchvision: `(p/255 − mean)/std` with ImageNet statistics,
    ///   [`crate::PixelNorm::IMAGENET`]).
    ///
    /// # Shapes
    /// - `x`: `[batch, 3, H, W]` (224×224 for ImageNet weights; at least 32×32)
    /// - returns `[batch, d_feature]`
    ///
    /// # Panics
    /// If `x` does not have 3 channels.
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 2> {
        let [_, channels, _, _] = x.dims();
        assert_eq!(
            channels, 3,
            "ResNet expects 3-channel input, got {channels}"
        );
        global_avg_pool(self.forward_map(x))
    }
}

/// Mean over the spatial axes.
///
/// # Shapes
/// - `x`: `[batch, channels, H, W]` → `[batch, channels]`
pub(crate) fn global_avg_pool<B: Backend>(x: Tensor<B, 4>) -> Tensor<B, 2> {
    let [n, c, _, _] = x.dims();
    x.mean_dim(3).mean_dim(2).reshape([n, c])
}

impl<B: Backend> FeatureExtractor<B> for ResNet<B> {
    fn features(&self, images: Tensor<B, 4>) -> Tensor<B, 2> {
        self.forward(images)
    }

    fn d_output(&self) -> usize {
        self.d_feature
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;

    #[test]
    fn feature_sizes() {
        assert_eq!(ResNetConfig::resnet18().d_feature(), 512);
        assert_eq!(ResNetConfig::resnet34().d_feature(), 512);
        assert_eq!(ResNetConfig::resnet50().d_feature(), 2048);
        let net = ResNetConfig::resnet50()
            .with_base_width(2)
            .init::<Flex>(&Default::default());
        assert_eq!(net.d_feature(), 64);
        let y = net.forward(Tensor::zeros([2, 3, 40, 40], &Default::default()));
        assert_eq!(y.dims(), [2, 64]);
    }

    #[test]
    fn parameter_counts_match_torchvision() {
        // torchvision resnet18/34 parameter counts minus fc (512·1000 + 1000); Burn's
        // `num_params` also counts the BatchNorm running mean and variance (2 × 4800 / 8512
        // BatchNorm channels).
        let device = Default::default();
        let n18 = ResNetConfig::resnet18().init::<Flex>(&device).num_params();
        assert_eq!(n18, 11_689_512 - 513_000 + 2 * 4800);
        let n34 = ResNetConfig::resnet34().init::<Flex>(&device).num_params();
        assert_eq!(n34, 21_797_672 - 513_000 + 2 * 8512);
    }

    #[test]
    #[should_panic(expected = "at least one block")]
    fn empty_stage_panics() {
        ResNetConfig::new([2, 0, 2, 2], ResNetBlock::Basic).init::<Flex>(&Default::default());
    }
}
