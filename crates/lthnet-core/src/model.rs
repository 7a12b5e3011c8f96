//! The full network: a backbone in front of the [`LthNetHead`], and the image source that feeds it.

use burn::prelude::*;
use burn::tensor::module::interpolate;
use burn::tensor::ops::{InterpolateMode, InterpolateOptions};
use serde::{Deserialize, Serialize};

use crate::head::{LthNetHead, LthNetOutput};
use crate::source::{HashNetwork, Source};

/// A network that maps images to a pooled feature vector (a backbone with its classifier dropped).
pub trait FeatureExtractor<B: Backend>: Module<B> + burn::module::ModuleDisplay {
    /// Pooled features.
    ///
    /// # Shapes
    /// - `images`: `[batch, 3, height, width]` → `[batch, d_output]`
    fn features(&self, images: Tensor<B, 4>) -> Tensor<B, 2>;

    /// Size of the pooled feature.
    fn d_output(&self) -> usize;
}

/// LTHNet: `backbone → head` (paper Table 1), trained end to end.
#[derive(Module, Debug)]
pub struct LthNet<B: Backend, E> {
    /// The backbone (ResNet, MobileNetV2, CifarNet, …).
    pub backbone: E,
    /// The LTHNet head.
    pub head: LthNetHead<B>,
}

impl<B: Backend, E: FeatureExtractor<B>> LthNet<B, E> {
    /// Assemble a network.
    ///
    /// # Panics
    /// If the backbone's output size differs from the head's input size.
    pub fn new(backbone: E, head: LthNetHead<B>) -> Self {
        assert_eq!(
            backbone.d_output(),
            head.d_input(),
            "the backbone outputs {} features but the head expects d_input = {}",
            backbone.d_output(),
            head.d_input()
        );
        Self { backbone, head }
    }
}

impl<B: Backend, E: FeatureExtractor<B>> HashNetwork<B, Tensor<B, 4>> for LthNet<B, E> {
    fn forward_hash(&self, input: Tensor<B, 4>, memory: Option<Tensor<B, 2>>) -> LthNetOutput<B> {
        self.head.forward(self.backbone.features(input), memory)
    }

    fn forward_v_direct(&self, input: Tensor<B, 4>) -> Tensor<B, 2> {
        self.head.v_direct(self.backbone.features(input))
    }

    fn head(&self) -> &LthNetHead<B> {
        &self.head
    }
}

/// How `u8` pixels become network input.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum PixelNorm {
    /// `(p/255 − mean)/std` per channel (torchvision's ImageNet normalisation and friends).
    MeanStd {
        /// Per-channel mean of p/255.
        mean: [f32; 3],
        /// Per-channel standard deviation of p/255.
        std: [f32; 3],
    },
    /// `(p − offset)·scale` (TensorFlow MobileNetV2: offset 127, scale 1/127.5).
    Affine {
        /// Subtracted from the raw value.
        offset: f32,
        /// Multiplies the result.
        scale: f32,
    },
}

impl PixelNorm {
    /// ImageNet mean/std, as the authors' code uses.
    pub const IMAGENET: PixelNorm = PixelNorm::MeanStd {
        mean: [0.485, 0.456, 0.406],
        std: [0.229, 0.224, 0.225],
    };
    /// TensorFlow's MobileNetV2 input scaling, `(p − 127)·0.007843137718737125`.
    pub const MOBILENET_TF: PixelNorm = PixelNorm::Affine {
        offset: 127.0,
        scale: 0.007_843_138,
    };

    fn apply(&self, channel: usize, p: u8) -> f32 {
        match *self {
            PixelNorm::MeanStd { mean, std } => (p as f32 / 255.0 - mean[channel]) / std[channel],
            PixelNorm::Affine { offset, scale } => (p as f32 - offset) * scale,
        }
    }
}

/// Training-time data augmentation of an [`ImageSource`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Augment {
    /// None (the authors' CIFAR setting).
    None,
    /// Random crop after zero-padding by `padding` pixels, and a random horizontal flip
    /// (the usual CIFAR recipe for training from scratch).
    CropFlip {
        /// Padding on every side before the crop.
        padding: usize,
    },
}

/// In-memory `u8` HWC images (RGB or greyscale, replicated to 3 channels) with labels, served as
/// normalised NCHW tensors resized (bilinear) to `resolution × resolution`.
#[derive(Debug, Clone)]
pub struct ImageSource {
    images: Vec<u8>,
    height: usize,
    width: usize,
    channels: usize,
    labels: Vec<u32>,
    resolution: usize,
    norm: PixelNorm,
    augment: Augment,
}

impl ImageSource {
    /// Wrap `images` (`labels.len() × height × width × channels`, HWC).
    ///
    /// # Panics
    /// If the buffer size disagrees with the shape, or `channels` is not 1 or 3.
    pub fn new(
        images: Vec<u8>,
        [height, width, channels]: [usize; 3],
        labels: Vec<u32>,
        resolution: usize,
        norm: PixelNorm,
    ) -> Self {
        assert!(
            channels == 1 || channels == 3,
            "channels must be 1 or 3, got {channels}"
        );
        assert_eq!(
            images.len(),
            labels.len() * height * width * channels,
            "image buffer holds {} bytes, expected {} images of {height}×{width}×{channels}",
            images.len(),
            labels.len()
        );
        assert!(resolution > 0, "resolution must be positive");
        Self {
            images,
            height,
            width,
            channels,
            labels,
            resolution,
            norm,
            augment: Augment::None,
        }
    }

    /// Use `augment` for training batches ([`Source::train_batch`]).
    pub fn with_augment(mut self, augment: Augment) -> Self {
        self.augment = augment;
        self
    }

    /// Input resolution fed to the network.
    pub fn resolution(&self) -> usize {
        self.resolution
    }

    /// The raw bytes of all images (for cache checksums).
    pub fn raw(&self) -> &[u8] {
        &self.images
    }
}

impl Source for ImageSource {
    type Input<B: Backend> = Tensor<B, 4>;

    fn len(&self) -> usize {
        self.labels.len()
    }

    fn labels(&self) -> &[u32] {
        &self.labels
    }

    fn batch<B: Backend>(&self, indices: &[usize], device: &B::Device) -> Tensor<B, 4> {
        self.build::<B>(indices, None, device)
    }

    fn subset(&self, indices: &[usize]) -> Self {
        let size = self.height * self.width * self.channels;
        let mut images = Vec::with_capacity(indices.len() * size);
        for &i in indices {
            images.extend_from_slice(&self.images[i * size..(i + 1) * size]);
        }
        Self {
            images,
            height: self.height,
            width: self.width,
            channels: self.channels,
            labels: indices.iter().map(|&i| self.labels[i]).collect(),
            resolution: self.resolution,
            norm: self.norm,
            augment: self.augment,
        }
    }

    fn train_batch<B: Backend>(
        &self,
        indices: &[usize],
        seed: u64,
        device: &B::Device,
    ) -> Tensor<B, 4> {
        match self.augment {
            Augment::None => self.build::<B>(indices, None, device),
            Augment::CropFlip { padding } => {
                self.build::<B>(indices, Some((seed, padding)), device)
            }
        }
    }
}

impl ImageSource {
    /// Normalised NCHW batch; with `crop = Some((seed, padding))`, each image is randomly shifted
    /// by up to `padding` pixels (zero fill, i.e. a crop of the padded image) and flipped with
    /// probability ½, drawn from `(seed, item index)`.
    fn build<B: Backend>(
        &self,
        indices: &[usize],
        crop: Option<(u64, usize)>,
        device: &B::Device,
    ) -> Tensor<B, 4> {
        use rand::{Rng, SeedableRng};
        let (h, w, c) = (self.height, self.width, self.channels);
        let plane = h * w;
        let mut data = vec![0f32; indices.len() * 3 * plane];
        for (b, &i) in indices.iter().enumerate() {
            let img = &self.images[i * plane * c..(i + 1) * plane * c];
            let (dy, dx, flip) = match crop {
                None => (0isize, 0isize, false),
                Some((seed, pad)) => {
                    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(
                        seed ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
                    );
                    let p = pad as i64;
                    let dy = rng.random_range(-p..=p) as isize;
                    let dx = rng.random_range(-p..=p) as isize;
                    (dy, dx, rng.random_bool(0.5))
                }
            };
            for ch in 0..3 {
                let src_ch = if c == 1 { 0 } else { ch };
                let out = &mut data[(b * 3 + ch) * plane..(b * 3 + ch + 1) * plane];
                let zero = self.norm.apply(ch, 0);
                for y in 0..h {
                    for x in 0..w {
                        let sx = if flip { w - 1 - x } else { x } as isize + dx;
                        let sy = y as isize + dy;
                        out[y * w + x] = if sy < 0 || sx < 0 || sy >= h as isize || sx >= w as isize
                        {
                            zero
                        } else {
                            self.norm
                                .apply(ch, img[(sy as usize * w + sx as usize) * c + src_ch])
                        };
                    }
                }
            }
        }
        let x = Tensor::<B, 4>::from_data(TensorData::new(data, [indices.len(), 3, h, w]), device);
        if h == self.resolution && w == self.resolution {
            x
        } else {
            interpolate(
                x,
                [self.resolution, self.resolution],
                InterpolateOptions::new(InterpolateMode::Bilinear).with_align_corners(false),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;

    #[test]
    fn batches_are_normalised_nchw() {
        // Two 2×2 RGB images.
        let images: Vec<u8> = (0..24).map(|v| (v * 10) as u8).collect();
        let src = ImageSource::new(
            images,
            [2, 2, 3],
            vec![0, 1],
            2,
            PixelNorm::Affine {
                offset: 0.0,
                scale: 1.0,
            },
        );
        let x = src.batch::<Flex>(&[1], &Default::default());
        assert_eq!(x.dims(), [1, 3, 2, 2]);
        let v = x.into_data().to_vec::<f32>().unwrap();
        // Image 1 starts at byte 12: pixel (0,0) RGB = 120, 130, 140.
        assert_eq!(v[0], 120.0);
        assert_eq!(v[4], 130.0);
        assert_eq!(v[8], 140.0);
    }

    #[test]
    fn augmentation_is_deterministic_and_changes_pixels() {
        let images: Vec<u8> = (0..2 * 8 * 8 * 3).map(|v| (v % 251) as u8).collect();
        let src = ImageSource::new(images, [8, 8, 3], vec![0, 1], 8, PixelNorm::IMAGENET)
            .with_augment(Augment::CropFlip { padding: 2 });
        let device = Default::default();
        let plain = src
            .batch::<Flex>(&[0, 1], &device)
            .into_data()
            .to_vec::<f32>()
            .unwrap();
        let a = src
            .train_batch::<Flex>(&[0, 1], 7, &device)
            .into_data()
            .to_vec::<f32>()
            .unwrap();
        let b = src
            .train_batch::<Flex>(&[0, 1], 7, &device)
            .into_data()
            .to_vec::<f32>()
            .unwrap();
        let c = src
            .train_batch::<Flex>(&[0, 1], 8, &device)
            .into_data()
            .to_vec::<f32>()
            .unwrap();
        assert_eq!(a, b);
        assert!(a != plain || c != plain);
        assert_ne!(a, c);
    }

    #[test]
    fn greyscale_is_replicated_and_resized() {
        let src = ImageSource::new(vec![255; 16], [4, 4, 1], vec![0], 8, PixelNorm::IMAGENET);
        let x = src.batch::<Flex>(&[0], &Default::default());
        assert_eq!(x.dims(), [1, 3, 8, 8]);
        let v = x.into_data().to_vec::<f32>().unwrap();
        assert!((v[0] - (1.0 - 0.485) / 0.229).abs() < 1e-4);
        assert!((v[64] - (1.0 - 0.456) / 0.224).abs() < 1e-4);
    }
}
