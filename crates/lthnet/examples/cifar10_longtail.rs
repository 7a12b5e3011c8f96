//! # cifar10_longtail — CIFAR-10-LT, LTHNet trained end to end from scratch
//!
//! ```sh
//! cargo run --release --example cifar10_longtail -- --help
//! cargo run --release --example cifar10_longtail -- --imbalance 100 --bits 64 --epochs 12
//! # a one-minute smoke test on 2,000 images:
//! cargo run --release --example cifar10_longtail -- --limit 2000 --epochs 1
//! ```
//!
//! Data: CIFAR-10 as class folders of images, read straight from the archive
//! (`--archive`, default `shared/data/cifar10-jpeg/CIFAR-10-images.tar.gz`, the 60,000 images
//! as JPEG; `--train-prefix` / `--test-prefix` name the folders inside it) or from a directory
//! holding `train/<class>/…` and `test/<class>/…` (`--folder`).
//!
//! Protocol (the paper's CIFAR protocol applied to CIFAR-10): query = the test set (10,000),
//! database = the training set (50,000), training set = a Zipf subset of the database,
//! `n_i = ⌊5000·i^(−μ)⌋` with μ = ln(IF)/ln(10) (7,746 images at IF 100, 5,000 down to 50).
//!
//! Model: a small VGG-style CNN (`CifarNet`, 32×32 input, random crop + flip) in front of the
//! LTHNet head, all trained from scratch with Algorithm 1 on the CPU backend. LSH and ITQ hash the
//! raw pixels of the same split as the floor to beat.
//!
//! **Expected result** (IF 100, 64 bits, 12 epochs, `docs/reproduction.md`): LTHNet well above
//! LSH and ITQ on pixels; the run's per-epoch log shows the memory refresh's share of each epoch.

use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use lthnet::backend::{Autodiff, Cpu};
use lthnet::data::ImageDataset;
use lthnet::data::folder::{FolderConfig, read_archive_folder, read_image_folder};
use lthnet::data::longtail::{LongTailProfile, class_sizes, mu_for};
use lthnet::data::split::cifar_protocol;
use lthnet::experiment::{
    FeatureSplit, ImageSplit, Method, pixel_features, run_from_scratch, run_method,
};
use lthnet::model::backbone::CifarNetConfig;
use lthnet::model::train::{RunOptions, TrainConfig};
use lthnet::model::{Augment, ImageSource, LthNetHeadConfig, PixelNorm, Source};
use lthnet::report::{Report, evaluate_codes, print_table, write_map_vs_class_size};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// CIFAR-10 per-channel mean and standard deviation of p/255 (training set).
const CIFAR10_NORM: PixelNorm = PixelNorm::MeanStd {
    mean: [0.4914, 0.4822, 0.4465],
    std: [0.2470, 0.2435, 0.2616],
};

/// LTHNet trained from scratch on CIFAR-10-LT, beside LSH and ITQ on pixels.
#[derive(Parser, Debug)]
struct Args {
    /// Archive (`.tar.gz`, `.tgz`, `.tar`, `.zip`) holding the class folders.
    #[arg(long, default_value_os_t = lthnet::data::default_data_dir().join("cifar10-jpeg/CIFAR-10-images.tar.gz"))]
    archive: PathBuf,
    /// Folder of the training images inside the archive.
    #[arg(long, default_value = "cifar10-jpeg/train")]
    train_prefix: String,
    /// Folder of the test images inside the archive.
    #[arg(long, default_value = "cifar10-jpeg/test")]
    test_prefix: String,
    /// Read `train/<class>/…` and `test/<class>/…` from this directory instead of the archive.
    #[arg(long)]
    folder: Option<PathBuf>,
    /// Imbalance factor n_max / n_min of the training split (1 = balanced).
    #[arg(long, default_value_t = 100.0)]
    imbalance: f64,
    /// Code length.
    #[arg(long, default_value_t = 64)]
    bits: usize,
    /// Methods: lthnet-k3, lthnet-k0, dme-off, lsh, itq.
    #[arg(long, value_delimiter = ',', default_value = "lthnet-k3,lsh,itq")]
    methods: Vec<String>,
    /// Training epochs.
    #[arg(long, default_value_t = 12)]
    epochs: usize,
    /// Mini-batch size.
    #[arg(long, default_value_t = 32)]
    batch_size: usize,
    /// Learning rate (RMSprop; from scratch needs far more than the paper's fine-tuning 1e-5).
    #[arg(long, default_value_t = 5e-4)]
    lr: f64,
    /// Output channels of the CNN's stages (the last is the feature size).
    #[arg(long, value_delimiter = ',', default_value = "32,64,128,256")]
    channels: Vec<usize>,
    /// Seed of the split and of training.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Use only the first N training and N/5 test images (a smoke test).
    #[arg(long)]
    limit: Option<usize>,
    /// Directory for checkpoints, metrics.jsonl, loss.svg and plots.
    #[arg(long, default_value = "target/cifar10_longtail")]
    out_dir: PathBuf,
}

fn read(args: &Args) -> anyhow::Result<(ImageDataset, ImageDataset)> {
    let config = FolderConfig::default();
    let (train, test) = match &args.folder {
        Some(dir) => (
            read_image_folder(&dir.join("train"), &config)?,
            read_image_folder(&dir.join("test"), &config)?,
        ),
        None => (
            read_archive_folder(&args.archive, &args.train_prefix, &config)
                .with_context(|| format!("reading {}", args.archive.display()))?,
            read_archive_folder(&args.archive, &args.test_prefix, &config)?,
        ),
    };
    anyhow::ensure!(
        train.class_names == test.class_names,
        "train and test have different classes: {:?} vs {:?}",
        train.class_names,
        test.class_names
    );
    anyhow::ensure!(
        (train.height, train.width, train.channels) == (32, 32, 3)
            && (test.height, test.width, test.channels) == (32, 32, 3),
        "expected 32×32 RGB images, got {}×{}×{} / {}×{}×{}",
        train.height,
        train.width,
        train.channels,
        test.height,
        test.width,
        test.channels
    );
    Ok((train, test))
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let started = std::time::Instant::now();
    let (mut train, mut test) = read(&args)?;
    // Shuffle-free subsetting keeps whole classes out; take every k-th image instead.
    if let Some(n) = args.limit {
        let step = (train.len() / n.max(1)).max(1);
        train = train.subset(&(0..train.len()).step_by(step).collect::<Vec<_>>());
        let step = (test.len() / (n / 5).max(1)).max(1);
        test = test.subset(&(0..test.len()).step_by(step).collect::<Vec<_>>());
    }
    let num_classes = train.num_classes();
    eprintln!(
        "read {} train + {} test images, {num_classes} classes, in {:.1} s",
        train.len(),
        test.len(),
        started.elapsed().as_secs_f64()
    );

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
        ImageSource::new(d.images, [32, 32, 3], d.labels, 32, CIFAR10_NORM)
    };
    let images = ImageSplit {
        train: source(&split.train).with_augment(Augment::CropFlip { padding: 4 }),
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
    .with_seed(args.seed);

    let device = Default::default();
    let dim = 32 * 32 * 3;
    let pixels = |items: &[usize]| {
        let d = all.subset(items);
        pixel_features(&d.images, dim, d.labels)
    };
    let mut pixel_split: Option<FeatureSplit> = None;
    let mut reports: Vec<Report> = Vec::new();
    for name in &args.methods {
        let codes = match name.as_str() {
            "lthnet-k3" | "lthnet-k0" | "dme-off" => {
                let mut config = base.clone();
                match name.as_str() {
                    "lthnet-k0" => config.head.num_prototypes = 0,
                    "dme-off" => config.head.meta_embedding = lthnet::model::MetaEmbedding::Off,
                    _ => {}
                }
                let options = RunOptions {
                    run_dir: Some(args.out_dir.join(name)),
                    progress: true,
                    ..Default::default()
                };
                let codes = run_from_scratch::<Autodiff<Cpu>>(
                    &config, &backbone, &images, args.bits, &device, &options,
                )?;
                let train_s: f64 = codes.history.iter().map(|r| r.seconds).sum();
                let refresh_s: f64 = codes.history.iter().map(|r| r.refresh_seconds).sum();
                let build_s: f64 = codes.history.iter().map(|r| r.memory_build_seconds).sum();
                println!(
                    "{name}: {train_s:.0} s of training; memory refresh {refresh_s:.1} s = {:.1}% \
                     (the v_direct pass {:.1}%, centroids + DPP {build_s:.2} s = {:.2}%)",
                    100.0 * refresh_s / train_s.max(1e-9),
                    100.0 * (refresh_s - build_s) / train_s.max(1e-9),
                    100.0 * build_s / train_s.max(1e-9)
                );
                codes
            }
            "lsh" | "itq" => {
                let fs = pixel_split.get_or_insert_with(|| FeatureSplit {
                    train: pixels(&split.train),
                    query: pixels(&split.query),
                    database: pixels(&split.database),
                });
                let method = if name == "lsh" {
                    Method::Lsh
                } else {
                    Method::Itq
                };
                run_method::<Autodiff<Cpu>>(&method, fs, args.bits, &device, &Default::default())?
            }
            other => anyhow::bail!("unknown method {other:?}"),
        };
        let label = match name.as_str() {
            "lthnet-k3" => "LTHNet (k=3)",
            "lthnet-k0" => "LTHNet (k=0)",
            "dme-off" => "LTHNet (DME off)",
            "lsh" => "LSH (pixels)",
            _ => "ITQ (pixels)",
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
        std::fs::create_dir_all(&args.out_dir)?;
        let best = reports
            .iter()
            .max_by(|a, b| a.eval.map.total_cmp(&b.eval.map))
            .expect("non-empty");
        let worst = reports
            .iter()
            .min_by(|a, b| a.eval.map.total_cmp(&b.eval.map))
            .expect("non-empty");
        let path = args.out_dir.join("map_vs_class_size.svg");
        write_map_vs_class_size(&path, &[best, worst], &train_sizes)?;
        println!("plot: {}", path.display());
    }
    Ok(())
}
