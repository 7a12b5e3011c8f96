//! # imagenet100_longtail — the paper's ImageNet100 protocol from HashNet list files
//!
//! ```sh
//! cargo run --release --example imagenet100_longtail -- --help
//! # the split only (no images needed): Table 2's 9,437 / 6,834 training images
//! cargo run --release --example imagenet100_longtail -- --lists path/to/hashnet-imagenet --stats-only
//! # the full run on your ImageNet copy (features are extracted once and cached):
//! cargo run --release --example imagenet100_longtail -- \
//!     --lists path/to/hashnet-imagenet --image-root /data/imagenet --imbalance 100 --bits 64
//! ```
//!
//! Data: the HashNet / DeepHash-pytorch lists (`--lists`): `database.txt` (≈ 128k training
//! images of the 100 classes) and `test.txt` (5,000 validation images, the queries), one line per
//! image, `relative/path.JPEG <100 one-hot labels>`, plain or `.gz`; paths are resolved under
//! `--image-root`. Without `database.txt`, `train.txt` (the 13,000-image HashNet training list,
//! which `shared/data/imagenet100-lists` holds) is the database, and n_max is capped at its
//! smallest class.
//!
//! Protocol (Chen et al., SIGIR 2021, Table 2): query = test.txt, database = database.txt,
//! training set = a Zipf subset of the database, `n_i = ⌊1300·i^(−μ)⌋` (μ 0.845 at IF 50 →
//! 9,437 images, μ 0.99 at IF 100 → 6,834; IF 1 is 100 images per class), batch 16.
//!
//! Backbone: the ImageNet-pretrained MobileNetV2, frozen (images resized to 256 on the short
//! side and centre-cropped to 224, TF scaling); features are extracted in chunks of 256 images
//! and cached, then every method trains on them. The paper fine-tunes a ResNet34.
//!
//! **Expected result**: ImageNet images cannot be had on this project's machines, so no run is
//! recorded; `--stats-only` reproduces Table 2's split sizes from the lists. The printed table
//! has the paper's Table 4 beside it.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Parser;
use lthnet::backend::{Autodiff, Selected};
use lthnet::data::folder::{FolderConfig, Resize};
use lthnet::data::longtail::{LongTailProfile, Preset, class_sizes, mu_for, paper_n_max};
use lthnet::data::split::{class_table, list_protocol, read_list_file};
use lthnet::experiment::{FeatureSplit, cached_list_features, named_method, run_method};
use lthnet::model::backbone::MobileNetV2;
use lthnet::model::feature_cache::default_cache_dir;
use lthnet::model::train::{RunOptions, TrainConfig};
use lthnet::model::{LthNetHeadConfig, PixelNorm, Source};
use lthnet::paper::{PaperDataset, paper_map};
use lthnet::report::{evaluate_codes, print_table};

#[path = "common/allocator.rs"]
mod allocator;

/// LTHNet and its baselines on ImageNet100-LT with frozen MobileNetV2 features.
#[derive(Parser, Debug)]
struct Args {
    /// Directory with `database.txt` (or `train.txt`) and `test.txt`, plain or `.gz`.
    #[arg(long, default_value_os_t = lthnet::data::default_data_dir().join("imagenet100-lists"))]
    lists: PathBuf,
    /// Root the list paths are relative to (your ImageNet copy).
    #[arg(long)]
    image_root: Option<PathBuf>,
    /// Print the split and stop (needs only the lists).
    #[arg(long)]
    stats_only: bool,
    /// MobileNetV2 weights (safetensors).
    #[arg(long, default_value_os_t = lthnet::data::default_data_dir().join("mobilenetv2-imagenet/mobilenet_v2_1.0_224_imagenet_f32.safetensors"))]
    weights: PathBuf,
    /// Feature cache directory.
    #[arg(long, default_value_os_t = default_cache_dir())]
    cache_dir: PathBuf,
    /// Imbalance factor (1, 50 or 100 are the paper's).
    #[arg(long, default_value_t = 100)]
    imbalance: u32,
    /// Code length.
    #[arg(long, default_value_t = 64)]
    bits: usize,
    /// Methods (see `lthnet::experiment::named_method`).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "lthnet-k3,lthnet-k0,sq,csq,lsh,pcah,itq"
    )]
    methods: Vec<String>,
    /// Training epochs for the deep methods.
    #[arg(long, default_value_t = 15)]
    epochs: usize,
    /// Mini-batch size (the paper's 16 for ImageNet100).
    #[arg(long, default_value_t = 16)]
    batch_size: usize,
    /// Learning rate (RMSprop on the head alone).
    #[arg(long, default_value_t = 1e-4)]
    lr: f64,
    /// Seed of the split and of training.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

/// `dir/name` or `dir/name.gz`, whichever exists.
fn find_list(dir: &Path, name: &str) -> Option<PathBuf> {
    [dir.join(name), dir.join(format!("{name}.gz"))]
        .into_iter()
        .find(|p| p.is_file())
}

fn main() -> anyhow::Result<()> {
    allocator::keep_freed_pages();
    lthnet::backend::init_cpu_thread_pool(None)?;
    let args = Args::parse();
    let db_path = find_list(&args.lists, "database.txt")
        .or_else(|| find_list(&args.lists, "train.txt"))
        .with_context(|| {
            format!(
                "neither database.txt nor train.txt (or .gz) in {}",
                args.lists.display()
            )
        })?;
    let q_path = find_list(&args.lists, "test.txt")
        .with_context(|| format!("test.txt(.gz) not found in {}", args.lists.display()))?;
    let database = read_list_file(&db_path)?;
    let query = read_list_file(&q_path)?;
    let num_classes = database.first().map_or(0, |e| e.labels.len());
    anyhow::ensure!(num_classes > 0, "{} is empty", db_path.display());
    let mut db_counts = vec![0usize; num_classes];
    for e in &database {
        if let Some(c) = e.class() {
            db_counts[c as usize] += 1;
        }
    }
    let smallest = db_counts.iter().copied().min().unwrap_or(0);
    let mut n_max = paper_n_max(Preset::ImageNet100, args.imbalance as f64);
    if n_max > smallest {
        eprintln!(
            "note: {} has {smallest} images in its smallest class, fewer than the paper's n_max \
             {n_max}; using n_max = {smallest}",
            db_path.display()
        );
        n_max = smallest;
    }
    let mu = mu_for(
        Some(Preset::ImageNet100),
        args.imbalance as f64,
        num_classes,
    );
    let sizes = class_sizes(&LongTailProfile::Zipf { mu }, n_max, num_classes);
    let (split, entries) = list_protocol(database, query, &sizes, args.seed)?;
    let labels: Vec<u32> = entries.iter().map(|e| e.class().unwrap_or(0)).collect();
    let table = class_table(&split, &labels, num_classes);
    println!(
        "ImageNet100, IF {} (μ = {mu}, n_max {n_max}): {} train (largest {}, smallest {}), {} \
         query, {} database",
        args.imbalance,
        split.train.len(),
        table.iter().map(|t| t[0]).max().unwrap_or(0),
        table.iter().map(|t| t[0]).min().unwrap_or(0),
        split.query.len(),
        split.database.len()
    );
    if args.stats_only {
        return Ok(());
    }
    let root = args
        .image_root
        .clone()
        .context("--image-root (your ImageNet copy) is required unless --stats-only")?;

    let device = Default::default();
    let backbone = MobileNetV2::<Selected>::load(&args.weights, &device)?;
    let paths: Vec<String> = entries.iter().map(|e| e.path.clone()).collect();
    let folder = FolderConfig::default()
        .with_resize(Resize::ShortSide(256))
        .with_crop(Some(224));
    std::fs::create_dir_all(&args.cache_dir)?;
    let all = cached_list_features::<Selected, _>(
        &backbone,
        "mobilenet_v2_1.0_224_imagenet(tf-hub, ptq-dequantized)",
        &root,
        &paths,
        &labels,
        &folder,
        PixelNorm::MOBILENET_TF,
        &args.cache_dir.join("imagenet100-mobilenetv2-224.lthfeat"),
        &device,
    )?;
    let fs = FeatureSplit {
        train: all.subset(&split.train),
        query: all.subset(&split.query),
        database: all.subset(&split.database),
    };
    let train_sizes = fs.train_class_sizes();
    let base = TrainConfig::new(LthNetHeadConfig::new(all.dim(), num_classes, args.bits))
        .with_num_epochs(args.epochs)
        .with_batch_size(args.batch_size)
        .with_learning_rate(args.lr)
        .with_seed(args.seed);
    let mut reports = Vec::new();
    for name in &args.methods {
        let m = named_method(name, &base)?;
        let options = RunOptions {
            progress: true,
            ..Default::default()
        };
        let codes = run_method::<Autodiff<Selected>>(&m, &fs, args.bits, &device, &options)?;
        let r = evaluate_codes(
            &m.name(),
            &codes,
            fs.query.labels(),
            fs.database.labels(),
            &train_sizes,
        )?;
        println!(
            "{:<24} {} bits: MAP {:.4} (paper {})",
            r.name,
            args.bits,
            r.eval.map,
            paper_map(
                PaperDataset::ImageNet100,
                &r.name,
                args.imbalance,
                args.bits
            )
            .map(|p| format!("{p:.4}"))
            .unwrap_or_else(|| "-".into())
        );
        reports.push(r);
    }
    print_table(&reports);
    Ok(())
}
