//! The from-scratch experiment shared by `cifar10_longtail` and `fashion_mnist_longtail`:
//! build the long-tail split, train LTHNet (a small CNN + the head) end to end, hash the same
//! split's raw pixels with LSH / ITQ, and print one table.

use std::path::PathBuf;

use lthnet::backend::{Autodiff, Selected};
use lthnet::data::ImageDataset;
use lthnet::data::longtail::{LongTailProfile, class_sizes, mu_for};
use lthnet::data::split::cifar_protocol;
use lthnet::experiment::{
    FeatureSplit, ImageSplit, Method, pixel_features, run_from_scratch, run_method,
};
use lthnet::model::backbone::CifarNetConfig;
use lthnet::model::train::{RefreshFeatures, RunOptions, TrainConfig};
use lthnet::model::{Augment, ImageSource, LthNetHeadConfig, MetaEmbedding, PixelNorm, Source};
use lthnet::report::{Report, evaluate_codes, print_table, write_map_vs_class_size};

/// Options of a from-scratch long-tail run.
#[derive(clap::Args, Debug)]
pub struct ScratchArgs {
    /// Imbalance factor n_max / n_min of the training split (1 = balanced).
    #[arg(long, default_value_t = 100.0)]
    pub imbalance: f64,
    /// Code length.
    #[arg(long, default_value_t = 64)]
    pub bits: usize,
    /// Methods: lthnet-k3, lthnet-k0, dme-off, lsh, itq.
    #[arg(long, value_delimiter = ',', default_value = "lthnet-k3,lsh,itq")]
    pub methods: Vec<String>,
    /// Training epochs.
    #[arg(long, default_value_t = 12)]
    pub epochs: usize,
    /// Mini-batch size.
    #[arg(long, default_value_t = 32)]
    pub batch_size: usize,
    /// Learning rate (RMSprop; from scratch needs far more than the paper's fine-tuning 1e-5).
    #[arg(long, default_value_t = 5e-4)]
    pub lr: f64,
    /// Output channels of the CNN's stages (the last is the feature size).
    #[arg(long, value_delimiter = ',', default_value = "32,64,128,256")]
    pub channels: Vec<usize>,
    /// Seed of the split and of training.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Where each epoch's memory refresh takes `v_direct` from: `eval-pass` (Algorithm 1, a
    /// gradient-free pass over the training set every epoch) or `training-pass` (the previous
    /// epoch's training steps; only epoch 1 runs the pass, see `RefreshFeatures`).
    #[arg(long, default_value = "eval-pass", value_parser = ["eval-pass", "training-pass"])]
    pub refresh: String,
    /// Use about N training and N/5 test images, evenly strided (a smoke test).
    #[arg(long)]
    pub limit: Option<usize>,
    /// Directory for checkpoints, metrics.jsonl, loss.svg and plots.
    #[arg(long)]
    pub out_dir: Option<PathBuf>,
}

/// Every `len / n`-th item of `d` (all classes stay represented when the data is class-sorted).
fn strided(d: ImageDataset, n: usize) -> ImageDataset {
    let step = (d.len() / n.max(1)).max(1);
    d.subset(&(0..d.len()).step_by(step).collect::<Vec<_>>())
}

/// Run the experiment on an official `train` / `test` pair (query = test, database = train,
/// training set = a Zipf subset of train), feeding the CNN at `resolution` px with `norm`.
pub fn run(
    args: &ScratchArgs,
    mut train: ImageDataset,
    mut test: ImageDataset,
    resolution: usize,
    norm: PixelNorm,
    default_out: &str,
) -> anyhow::Result<Vec<Report>> {
    if let Some(n) = args.limit {
        train = strided(train, n);
        test = strided(test, n / 5);
    }
    anyhow::ensure!(
        (train.height, train.width, train.channels) == (test.height, test.width, test.channels),
        "train and test image shapes differ"
    );
    let shape = [train.height, train.width, train.channels];
    let num_classes = train.num_classes().max(test.num_classes());
    let n_train = train.len();
    let n_max = *train.class_counts().iter().min().unwrap_or(&0);
    let mu = mu_for(None, args.imbalance, num_classes);
    let sizes = class_sizes(&LongTailProfile::Zipf { mu }, n_max, num_classes);
    let all = train.concat(&test);
    let split = cifar_protocol(&all.labels, n_train, &sizes, args.seed)?;
    println!(
        "IF {} (μ = {mu:.3}): {} train {sizes:?}, {} query, {} database",
        args.imbalance,
        split.train.len(),
        split.query.len(),
        split.database.len()
    );

    let source = |items: &[usize]| {
        let d = all.subset(items);
        ImageSource::new(d.images, shape, d.labels, resolution, norm)
    };
    let images = ImageSplit {
        train: source(&split.train).with_augment(Augment::CropFlip {
            padding: resolution / 8,
        }),
        query: source(&split.query),
        database: source(&split.database),
    };
    let mut train_sizes = vec![0usize; num_classes];
    for &l in images.train.labels() {
        train_sizes[l as usize] += 1;
    }
    let backbone = CifarNetConfig::new().with_channels(args.channels.clone());
    let base = TrainConfig::new(LthNetHeadConfig::new(
        backbone.d_feature(),
        num_classes,
        args.bits,
    ))
    .with_num_epochs(args.epochs)
    .with_batch_size(args.batch_size)
    .with_learning_rate(args.lr)
    .with_eval_batch_size(128)
    .with_seed(args.seed)
    .with_refresh_features(if args.refresh == "training-pass" {
        RefreshFeatures::TrainingPass
    } else {
        RefreshFeatures::EvalPass
    });

    let out_dir = args
        .out_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(default_out));
    let device = Default::default();
    let dim = shape.iter().product();
    let pixels = |items: &[usize]| {
        let d = all.subset(items);
        pixel_features(&d.images, dim, d.labels)
    };
    let mut pixel_split: Option<FeatureSplit> = None;
    let mut reports: Vec<Report> = Vec::new();
    for name in &args.methods {
        let (label, codes) = match name.as_str() {
            "lthnet-k3" | "lthnet-k0" | "dme-off" => {
                let mut config = base.clone();
                let label = match name.as_str() {
                    "lthnet-k0" => {
                        config.head.num_prototypes = 0;
                        "LTHNet (k=0)"
                    }
                    "dme-off" => {
                        config.head.meta_embedding = MetaEmbedding::Off;
                        "LTHNet (DME off)"
                    }
                    _ => "LTHNet (k=3)",
                };
                let options = RunOptions {
                    run_dir: Some(out_dir.join(name)),
                    progress: true,
                    ..Default::default()
                };
                let codes = run_from_scratch::<Autodiff<Selected>>(
                    &config, &backbone, &images, args.bits, &device, &options,
                )?;
                let train_s: f64 = codes.history.iter().map(|r| r.seconds).sum();
                let refresh_s: f64 = codes.history.iter().map(|r| r.refresh_seconds).sum();
                let build_s: f64 = codes.history.iter().map(|r| r.memory_build_seconds).sum();
                println!(
                    "{label}: {train_s:.0} s of training; memory refresh {refresh_s:.1} s = {:.1}% \
                     (the v_direct pass {:.1}%, centroids + DPP {build_s:.2} s = {:.2}%)",
                    100.0 * refresh_s / train_s.max(1e-9),
                    100.0 * (refresh_s - build_s) / train_s.max(1e-9),
                    100.0 * build_s / train_s.max(1e-9)
                );
                (label, codes)
            }
            "lsh" | "itq" => {
                let fs = pixel_split.get_or_insert_with(|| FeatureSplit {
                    train: pixels(&split.train),
                    query: pixels(&split.query),
                    database: pixels(&split.database),
                });
                let (label, method) = if name == "lsh" {
                    ("LSH (pixels)", Method::Lsh)
                } else {
                    ("ITQ (pixels)", Method::Itq)
                };
                let codes = run_method::<Autodiff<Selected>>(
                    &method,
                    fs,
                    args.bits,
                    &device,
                    &Default::default(),
                )?;
                (label, codes)
            }
            other => anyhow::bail!("unknown method {other:?}"),
        };
        let r = evaluate_codes(
            label,
            &codes,
            images.query.labels(),
            images.database.labels(),
            &train_sizes,
        )?;
        println!(
            "{label:<20} {} bits: MAP@all {:.4} (tie-aware {:.4})  [{:.0} s]",
            args.bits, r.eval.map, r.eval.map_tie_aware, r.fit_seconds
        );
        reports.push(r);
    }
    print_table(&reports);
    if reports.len() >= 2 {
        std::fs::create_dir_all(&out_dir)?;
        let best = reports
            .iter()
            .max_by(|a, b| a.eval.map.total_cmp(&b.eval.map))
            .expect("non-empty");
        let worst = reports
            .iter()
            .min_by(|a, b| a.eval.map.total_cmp(&b.eval.map))
            .expect("non-empty");
        let path = out_dir.join("map_vs_class_size.svg");
        write_map_vs_class_size(&path, &[best, worst], &train_sizes)?;
        println!("plot: {}", path.display());
    }
    Ok(reports)
}
