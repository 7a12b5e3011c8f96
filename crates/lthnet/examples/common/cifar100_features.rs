//! The CIFAR-100 frozen-MobileNetV2 feature options shared by `cifar100_longtail` and
//! `centers_losses`.

use std::path::PathBuf;

use anyhow::Context;
use lthnet::backend::Selected;
use lthnet::experiment::Cifar100Features;
use lthnet::model::feature_cache::default_cache_dir;

/// Where CIFAR-100 and the backbone are, and how the features are made.
#[derive(clap::Args, Debug)]
pub struct FeatureArgs {
    /// Directory with CIFAR-100 `train.bin` / `test.bin` (or `.xz` / `.gz`, or the python version).
    #[arg(long, default_value_os_t = lthnet::data::default_data_dir().join("cifar100-binary"))]
    pub data_dir: PathBuf,
    /// MobileNetV2 weights (safetensors).
    #[arg(long, default_value_os_t = lthnet::data::default_data_dir().join("mobilenetv2-imagenet/mobilenet_v2_1.0_224_imagenet_f32.safetensors"))]
    pub weights: PathBuf,
    /// Input resolution fed to the backbone (CIFAR's 32×32 images are upsampled; the paper uses 224).
    #[arg(long, default_value_t = 128)]
    pub resolution: usize,
    /// Feature cache directory.
    #[arg(long, default_value_os_t = default_cache_dir())]
    pub cache_dir: PathBuf,
    /// Use only the first N training and N/5 test images (a smoke test).
    #[arg(long)]
    pub limit: Option<usize>,
}

impl FeatureArgs {
    /// Extract (once, cached) or load the features.
    pub fn load(&self) -> anyhow::Result<Cifar100Features> {
        Cifar100Features::load::<Selected>(
            &self.data_dir,
            &self.weights,
            self.resolution,
            &self.cache_dir,
            self.limit,
            &Default::default(),
        )
        .context("CIFAR-100 features")
    }
}
