//! Complete experiments on frozen features: fit a hashing method on the training split, encode the
//! query and database splits, and evaluate. Used by the examples and `docs/reproduction.md`.

use std::time::Instant;

use burn::module::AutodiffModule;
use burn::tensor::backend::AutodiffBackend;
use lthnet_baselines::{HashFit, Itq, ItqConfig, Lsh, LshConfig, Pcah, PcahConfig};
use lthnet_core::backbone::{CifarNet, CifarNetConfig};
use lthnet_core::train::{EpochRecord, RunOptions, TrainConfig, encode_relaxed, init_seed, train};
use lthnet_core::{CoreError, FeatureSource, HashNetwork, ImageSource, LthNet, LthNetHead, Source};

/// Train / query / database features of one protocol.
#[derive(Debug, Clone)]
pub struct FeatureSplit {
    /// Training items (a long-tail subset of the database for the LTHNet protocols).
    pub train: FeatureSource,
    /// Query items.
    pub query: FeatureSource,
    /// Database items.
    pub database: FeatureSource,
}

impl FeatureSplit {
    /// Number of classes (max label + 1 over all three parts).
    pub fn num_classes(&self) -> usize {
        [&self.train, &self.query, &self.database]
            .iter()
            .flat_map(|s| s.labels().iter())
            .map(|&l| l as usize + 1)
            .max()
            .unwrap_or(0)
    }

    /// Training-set size of every class (for head/medium/tail breakdowns and CB weights).
    pub fn train_class_sizes(&self) -> Vec<usize> {
        let mut sizes = vec![0; self.num_classes()];
        for &l in self.train.labels() {
            sizes[l as usize] += 1;
        }
        sizes
    }
}

/// A hashing method to run on a [`FeatureSplit`].
#[derive(Debug, Clone)]
pub enum Method {
    /// LTHNet (or any of its ablations / losses) trained with Algorithm 1 on the features.
    LthNet {
        /// Display name, e.g. `"LTHNet (k=3)"`.
        name: String,
        /// The run configuration (its `head.d_input` must equal the feature size).
        config: TrainConfig,
    },
    /// Locality-sensitive hashing.
    Lsh,
    /// PCA hashing.
    Pcah,
    /// Iterative quantisation.
    Itq,
}

impl Method {
    /// Display name.
    pub fn name(&self) -> String {
        match self {
            Method::LthNet { name, .. } => name.clone(),
            Method::Lsh => "LSH".into(),
            Method::Pcah => "PCAH".into(),
            Method::Itq => "ITQ".into(),
        }
    }
}

/// ±1 codes (as `f32`, row-major) of the query and database splits, and what producing them cost.
#[derive(Debug, Clone)]
pub struct Codes {
    /// Query codes, `n_query × bits`.
    pub query: Vec<f32>,
    /// Database codes, `n_db × bits`.
    pub database: Vec<f32>,
    /// Code length.
    pub bits: usize,
    /// Seconds spent fitting / training.
    pub fit_seconds: f64,
    /// Mean training loss of the last epoch (LTHNet only).
    pub final_loss: Option<f64>,
    /// Per-epoch records of the training run (LTHNet only; empty for the shallow baselines).
    pub history: Vec<EpochRecord>,
}

fn signs(relaxed: Vec<f32>) -> Vec<f32> {
    relaxed
        .into_iter()
        .map(|v| if v >= 0.0 { 1.0 } else { -1.0 })
        .collect()
}

/// Fit `method` with `bits` bits on `split.train` and encode query and database.
///
/// For LTHNet, `bits` overrides `config.head.d_code`, and `config.head.num_classes` is set from the
/// split. `options` controls checkpoints and progress.
pub fn run_method<B: AutodiffBackend>(
    method: &Method,
    split: &FeatureSplit,
    bits: usize,
    device: &B::Device,
    options: &RunOptions,
) -> Result<Codes, CoreError> {
    let d = split.train.dim();
    let started = Instant::now();
    match method {
        Method::LthNet { config, .. } => {
            let mut config = config.clone();
            config.head.d_code = bits;
            config.head.d_input = d;
            config.head.num_classes = split.num_classes();
            init_seed::<B>(device, config.seed);
            let model: LthNetHead<B> = config.head.init(device);
            train_and_encode(
                &config,
                model,
                [&split.train, &split.query, &split.database],
                device,
                options,
            )
        }
        Method::Lsh | Method::Pcah | Method::Itq => {
            let x = split.train.features();
            let hasher: Box<dyn HashFit> = match method {
                Method::Lsh => Box::new(Lsh::fit(&LshConfig::new(bits), x, d)),
                Method::Pcah => Box::new(Pcah::fit(&PcahConfig::new(bits), x, d)),
                _ => Box::new(Itq::fit(&ItqConfig::new(bits), x, d)),
            };
            let fit_seconds = started.elapsed().as_secs_f64();
            Ok(Codes {
                query: hasher.encode(split.query.features(), d),
                database: hasher.encode(split.database.features(), d),
                bits,
                fit_seconds,
                final_loss: None,
                history: Vec::new(),
            })
        }
    }
}

/// Train `model` with Algorithm 1 on `train` and return the ±1 codes of `query` and `database`
/// (encoded with the final model and its refreshed memory).
fn train_and_encode<B, M, S>(
    config: &TrainConfig,
    model: M,
    [train_set, query, database]: [&S; 3],
    device: &B::Device,
    options: &RunOptions,
) -> Result<Codes, CoreError>
where
    B: AutodiffBackend,
    S: Source,
    M: AutodiffModule<B> + HashNetwork<B, S::Input<B>>,
    M::InnerModule: HashNetwork<B::InnerBackend, S::Input<B::InnerBackend>>,
{
    let started = Instant::now();
    let trained = train::<B, _, _>(config, model, train_set, device, options)?;
    let fit_seconds = started.elapsed().as_secs_f64();
    let encode = |s: &S| {
        signs(encode_relaxed::<B::InnerBackend, _, _>(
            &trained.model,
            trained.memory.clone(),
            s,
            config.eval_batch_size,
            device,
            options.progress,
        ))
    };
    Ok(Codes {
        query: encode(query),
        database: encode(database),
        bits: config.head.d_code,
        fit_seconds,
        final_loss: trained.history.last().map(|r| r.loss),
        history: trained.history,
    })
}

/// Train / query / database images of one protocol, for end-to-end training.
#[derive(Debug, Clone)]
pub struct ImageSplit {
    /// Training images (with the training augmentation set on the source).
    pub train: ImageSource,
    /// Query images.
    pub query: ImageSource,
    /// Database images.
    pub database: ImageSource,
}

/// Train LTHNet end to end from scratch — a [`CifarNet`] built from `backbone` in front of the
/// head of `config` — on `split.train` with `bits` bits, and encode query and database.
///
/// `config.head.d_input` is set to the backbone's feature size, `d_code` to `bits` and
/// `num_classes` from the labels; parameters are initialised from `config.seed`.
pub fn run_from_scratch<B: AutodiffBackend>(
    config: &TrainConfig,
    backbone: &CifarNetConfig,
    split: &ImageSplit,
    bits: usize,
    device: &B::Device,
    options: &RunOptions,
) -> Result<Codes, CoreError> {
    let mut config = config.clone();
    config.head.d_code = bits;
    config.head.d_input = backbone.d_feature();
    config.head.num_classes = [&split.train, &split.query, &split.database]
        .iter()
        .flat_map(|s| s.labels().iter())
        .map(|&l| l as usize + 1)
        .max()
        .unwrap_or(0);
    init_seed::<B>(device, config.seed);
    let model: LthNet<B, CifarNet<B>> =
        LthNet::new(backbone.init(device), config.head.init(device));
    train_and_encode(
        &config,
        model,
        [&split.train, &split.query, &split.database],
        device,
        options,
    )
}

/// Raw pixels as features (`p / 255`, HWC order, `labels.len() × dim`): what the shallow
/// baselines hash when no backbone is in play.
///
/// # Panics
/// If `images.len()` is not `labels.len() × dim`.
pub fn pixel_features(images: &[u8], dim: usize, labels: Vec<u32>) -> FeatureSource {
    FeatureSource::new(
        images.iter().map(|&p| f32::from(p) / 255.0).collect(),
        dim,
        labels,
    )
}

/// Frozen MobileNetV2 features (1280-d) of `images` (`n × 32 × 32 × 3` HWC, CIFAR order), resized
/// to `resolution` and cached in `cache_dir` under a key of backbone, resolution and a SHA-256
/// of the pixels; extracted on the `B` backend (with a progress bar) only when the cache is
/// missing, stale or corrupt.
///
/// # Errors
/// The weights cannot be loaded, or the cache cannot be written.
pub fn cached_mobilenet_features<B: burn::tensor::backend::Backend>(
    images: Vec<u8>,
    labels: Vec<u32>,
    weights: &std::path::Path,
    resolution: usize,
    cache_dir: &std::path::Path,
    device: &B::Device,
) -> Result<FeatureSource, CoreError> {
    use lthnet_core::backbone::MobileNetV2;
    use lthnet_core::feature_cache::{CacheKey, data_checksum, load_or_extract};
    use lthnet_core::train::collect_features;
    use lthnet_core::{ImageSource, PixelNorm};

    let n = labels.len();
    let key = CacheKey {
        backbone: "mobilenet_v2_1.0_224_imagenet(tf-hub, ptq-dequantized)".into(),
        resolution,
        data_checksum: data_checksum(&images),
    };
    let path = cache_dir.join(format!(
        "cifar100-mobilenetv2-{resolution}-{}.lthfeat",
        &key.data_checksum[..12]
    ));
    let source = ImageSource::new(
        images,
        [32, 32, 3],
        labels.clone(),
        resolution,
        PixelNorm::MOBILENET_TF,
    );
    let cache = load_or_extract(&path, &key, || {
        let model = MobileNetV2::<B>::load(weights, device)?;
        eprintln!(
            "extracting MobileNetV2 features of {n} images at {resolution}px (cached at {})",
            path.display()
        );
        let t = Instant::now();
        let f = collect_features(&model, &source, 32, device, true);
        eprintln!(
            "feature extraction: {:.1} images/s",
            n as f64 / t.elapsed().as_secs_f64()
        );
        Ok((f, 1280))
    })?;
    Ok(FeatureSource::new(cache.features, cache.d, labels))
}
