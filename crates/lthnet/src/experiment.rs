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
#[allow(clippy::large_enum_variant)] // a handful per run: boxing the config would buy nothing
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

/// The method names the examples and the CLI accept, in the order of the paper's tables.
pub const METHOD_NAMES: [&str; 11] = [
    "lthnet-k3",
    "lthnet-k0",
    "dme-off",
    "sq",
    "cb",
    "csq",
    "dcwh",
    "idcwh",
    "lsh",
    "pcah",
    "itq",
];

/// A method by its short name (see [`METHOD_NAMES`]), its deep variants derived from `base`:
///
/// | name | method |
/// |---|---|
/// | `lthnet-k3` | `base` as is (LTHNet, CE, the head's k) |
/// | `lthnet-k0` | k = 0 (centroids only) |
/// | `dme-off` | the dynamic meta-embedding switched off |
/// | `sq` | LTHNet_sq: the square loss |
/// | `cb` | class-balanced CE, β = 0.999 |
/// | `csq` | CSQ (DME off, Hadamard centres, λ = 1e-4) |
/// | `dcwh` | DCWH (DME off, 1/σ² = 1) |
/// | `idcwh` | IDCWH (DME off, 1/σ² = 1, γ = 0.1, β = 0.01, centres at half the lr) |
/// | `lsh`, `pcah`, `itq` | the shallow baselines |
///
/// # Errors
/// An unknown name (the message lists the known ones).
pub fn named_method(name: &str, base: &TrainConfig) -> Result<Method, CoreError> {
    use lthnet_core::MetaEmbedding;
    use lthnet_core::train::LossKind;
    let lth = |label: &str, cfg: TrainConfig| Method::LthNet {
        name: label.to_string(),
        config: cfg,
    };
    let no_dme = |loss: LossKind| {
        let mut c = base.clone().with_loss(loss);
        c.head.meta_embedding = MetaEmbedding::Off;
        c
    };
    Ok(match name {
        "lthnet-k3" => lth(
            &format!("LTHNet (k={})", base.head.num_prototypes),
            base.clone(),
        ),
        "lthnet-k0" => {
            let mut c = base.clone();
            c.head.num_prototypes = 0;
            lth("LTHNet (k=0)", c)
        }
        "dme-off" => lth("LTHNet (DME off)", no_dme(base.loss.clone())),
        "sq" => lth(
            &format!("LTHNet_sq (k={})", base.head.num_prototypes),
            base.clone().with_loss(LossKind::Square { beta: 0.0 }),
        ),
        "cb" => lth(
            &format!("LTHNet (k={}, β=0.999)", base.head.num_prototypes),
            base.clone()
                .with_loss(LossKind::CrossEntropy { beta: 0.999 }),
        ),
        "csq" => lth("CSQ", no_dme(LossKind::Csq { lambda: 1e-4 })),
        "dcwh" => lth("DCWH", no_dme(LossKind::Dcwh { inv_sigma_sq: 1.0 })),
        "idcwh" => lth(
            "IDCWH",
            no_dme(LossKind::Idcwh {
                inv_sigma_sq: 1.0,
                gamma: 0.1,
                beta: 0.01,
                centre_lr_scale: 0.5,
            }),
        ),
        "lsh" => Method::Lsh,
        "pcah" => Method::Pcah,
        "itq" => Method::Itq,
        other => {
            return Err(CoreError::Config(format!(
                "unknown method {other:?}; known: {}",
                METHOD_NAMES.join(", ")
            )));
        }
    })
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

/// Frozen-backbone features of the images named by `paths` (relative to `root`), decoded with
/// `folder` (resize / crop), normalised with `norm` and run through `backbone` in chunks of
/// `chunk` images, so a list far larger than memory (ImageNet) streams through. Cached in
/// `cache` under a key of `backbone_name`, the input resolution and a SHA-256 of the path list;
/// only missing, stale or corrupt caches trigger the extraction. Returns `paths.len() × d` rows.
///
/// # Errors
/// A missing or undecodable image (named), images of different sizes after `folder`'s
/// transform, or an unwritable cache.
#[allow(clippy::too_many_arguments)]
pub fn cached_list_features<B, E>(
    backbone: &E,
    backbone_name: &str,
    root: &std::path::Path,
    paths: &[String],
    labels: &[u32],
    folder: &lthnet_data::folder::FolderConfig,
    norm: lthnet_core::PixelNorm,
    cache: &std::path::Path,
    device: &B::Device,
) -> Result<FeatureSource, CoreError>
where
    B: burn::tensor::backend::Backend,
    E: lthnet_core::FeatureExtractor<B>,
{
    use lthnet_core::feature_cache::{CacheKey, data_checksum, load_or_extract};
    use lthnet_core::train::collect_features;

    const CHUNK: usize = 256;
    let resolution = match (folder.crop, folder.resize) {
        (Some(c), _) => c as usize,
        (None, lthnet_data::folder::Resize::Exact { height, .. }) => height as usize,
        (None, lthnet_data::folder::Resize::ShortSide(s)) => s as usize,
        (None, lthnet_data::folder::Resize::Keep) => 0,
    };
    let key = CacheKey {
        backbone: backbone_name.to_string(),
        resolution,
        data_checksum: data_checksum(paths.join("\n").as_bytes()),
    };
    let cache = load_or_extract(cache, &key, || {
        let progress = indicatif::ProgressBar::new(paths.len() as u64);
        let mut out = Vec::new();
        for (k, chunk) in paths.chunks(CHUNK).enumerate() {
            let (images, h, w, c) = lthnet_data::folder::read_images(root, chunk, folder)?;
            let chunk_labels = labels[k * CHUNK..k * CHUNK + chunk.len()].to_vec();
            let source = ImageSource::new(images, [h, w, c], chunk_labels, h.max(w), norm);
            out.extend(collect_features(backbone, &source, 32, device, false));
            progress.inc(chunk.len() as u64);
        }
        progress.finish_and_clear();
        Ok((out, backbone.d_output()))
    })?;
    Ok(FeatureSource::new(cache.features, cache.d, labels.to_vec()))
}

/// CIFAR-100 (train then test, official order) as frozen MobileNetV2 features: the input of the
/// paper's CIFAR-100 protocol on CPU. Build it with [`Cifar100Features::load`], then draw splits
/// with [`Cifar100Features::longtail_split`].
#[derive(Debug, Clone)]
pub struct Cifar100Features {
    /// Features of all images, `[train…, test…]`.
    pub all: FeatureSource,
    /// Number of training images (the database).
    pub n_train: usize,
}

impl Cifar100Features {
    /// Read CIFAR-100 from `data_dir` (binary or python version, plain/`.xz`/`.gz`), keep the
    /// first `limit` training and `limit / 5` test images if asked (a smoke test), and extract or
    /// load the cached MobileNetV2 features at `resolution` (see [`cached_mobilenet_features`]).
    ///
    /// # Errors
    /// The dataset or the weights cannot be read, or the cache cannot be written.
    pub fn load<B: burn::tensor::backend::Backend>(
        data_dir: &std::path::Path,
        weights: &std::path::Path,
        resolution: usize,
        cache_dir: &std::path::Path,
        limit: Option<usize>,
        device: &B::Device,
    ) -> Result<Self, CoreError> {
        use lthnet_data::cifar::{CifarSplit, read_cifar100};
        let mut train = read_cifar100(data_dir, CifarSplit::Train)?;
        let mut test = read_cifar100(data_dir, CifarSplit::Test)?;
        if let Some(n) = limit {
            train = train.subset(&(0..n.min(train.len())).collect::<Vec<_>>());
            test = test.subset(&(0..(n / 5).min(test.len())).collect::<Vec<_>>());
        }
        let n_train = train.len();
        let labels: Vec<u32> = train.labels.iter().chain(&test.labels).copied().collect();
        let mut images = train.images;
        images.extend_from_slice(&test.images);
        std::fs::create_dir_all(cache_dir).map_err(|source| CoreError::Io {
            path: cache_dir.to_path_buf(),
            source,
        })?;
        let all =
            cached_mobilenet_features::<B>(images, labels, weights, resolution, cache_dir, device)?;
        Ok(Self { all, n_train })
    }

    /// The paper's split at imbalance factor `imbalance`: query = test, database = train,
    /// train = the Zipf subset (`n_i = ⌊500·i^(−μ)⌋` with the paper's μ; n_max is capped at the
    /// smallest class when a `limit` made the classes unequal, and then no class drops below one
    /// image), drawn with `seed`.
    ///
    /// # Errors
    /// A class has fewer database images than the profile asks for.
    pub fn longtail_split(&self, imbalance: f64, seed: u64) -> Result<FeatureSplit, CoreError> {
        use lthnet_data::longtail::{LongTailProfile, Preset, class_sizes, mu_for};
        let labels = self.all.labels();
        let mut counts = vec![0usize; 100];
        labels[..self.n_train]
            .iter()
            .for_each(|&l| counts[l as usize] += 1);
        let n_max = counts.into_iter().min().unwrap_or(0).min(500);
        let mu = mu_for(Some(Preset::Cifar100), imbalance, 100);
        // Every class keeps at least one image (only a capped n_max, i.e. a `limit`, rounds a
        // tail class down to zero; the paper's sizes never go below 5).
        let sizes: Vec<usize> = class_sizes(&LongTailProfile::Zipf { mu }, n_max, 100)
            .into_iter()
            .map(|n| n.max(1).min(n_max))
            .collect();
        let split = lthnet_data::split::cifar_protocol(labels, self.n_train, &sizes, seed)?;
        Ok(FeatureSplit {
            train: self.all.subset(&split.train),
            query: self.all.subset(&split.query),
            database: self.all.subset(&split.database),
        })
    }
}
