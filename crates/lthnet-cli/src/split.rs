//! `lthnet split`: build a long-tail train / query / database split and write it as list files.

use std::path::PathBuf;

use anyhow::Context;
use lthnet::data::cifar::{CifarSplit, read_cifar10, read_cifar100};
use lthnet::data::idx::{FASHION_MNIST_CLASSES, read_idx};
use lthnet::data::longtail::{LongTailProfile, Preset, class_sizes, mu_for};
use lthnet::data::split::{cifar_protocol, pseudo_paths};

/// Datasets with a built-in protocol.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum DatasetKind {
    /// CIFAR-10 binary (`data_batch_*.bin`, `test_batch.bin`): query = test, database = train.
    Cifar10,
    /// CIFAR-100 binary (`train.bin`, `test.bin`): the LTHNet protocol.
    Cifar100,
    /// ImageNet100 (HashNet lists; n_max 1300, 100 classes). Only `--stats-only` for now.
    Imagenet100,
    /// Fashion-MNIST IDX: query = t10k, database = train.
    FashionMnist,
}

/// Class-size profiles.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProfileKind {
    /// `n_i = ⌊n_max · i^(−μ)⌋` (LTHNet).
    Zipf,
    /// `n_i = ⌊n_max · IF^(−i/(C−1))⌋` (CIFAR-LT of the long-tail recognition literature).
    Exp,
}

/// Arguments of `lthnet split`.
#[derive(clap::Args, Debug)]
pub struct SplitArgs {
    /// Dataset.
    #[arg(long, value_enum)]
    dataset: DatasetKind,
    /// Directory holding the dataset files (as downloaded; `.xz`/`.gz` also accepted).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Imbalance factor n_max / n_min.
    #[arg(long, default_value_t = 100.0)]
    imbalance: f64,
    /// Explicit Zipf exponent μ (default: the paper's preset for the dataset and IF, else ln IF / ln C).
    #[arg(long)]
    mu: Option<f64>,
    /// Class-size profile.
    #[arg(long, value_enum, default_value_t = ProfileKind::Zipf)]
    profile: ProfileKind,
    /// Seed of the per-class draws.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Output directory for train.txt, query.txt, database.txt.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Print the class sizes only (no data needed).
    #[arg(long)]
    stats_only: bool,
}

/// Runs `lthnet split`.
pub fn run(args: SplitArgs) -> anyhow::Result<()> {
    let (n_max, num_classes, preset) = match args.dataset {
        DatasetKind::Cifar10 => (5000, 10, None),
        DatasetKind::Cifar100 => (500, 100, Some(Preset::Cifar100)),
        DatasetKind::Imagenet100 => (1300, 100, Some(Preset::ImageNet100)),
        DatasetKind::FashionMnist => (6000, 10, None),
    };
    anyhow::ensure!(
        args.imbalance >= 1.0,
        "--imbalance must be ≥ 1, got {}",
        args.imbalance
    );
    let profile = match args.profile {
        ProfileKind::Zipf => LongTailProfile::Zipf {
            mu: args
                .mu
                .unwrap_or_else(|| mu_for(preset, args.imbalance, num_classes)),
        },
        ProfileKind::Exp => LongTailProfile::Exponential {
            imbalance: args.imbalance,
        },
    };
    let sizes = class_sizes(&profile, n_max, num_classes);
    println!(
        "{:?} {profile:?}, n_max {n_max}, {num_classes} classes",
        args.dataset
    );
    println!("| class | train images |\n|---|---|");
    for (c, n) in sizes.iter().enumerate() {
        println!("| {c} | {n} |");
    }
    let total: usize = sizes.iter().sum();
    println!(
        "total {total} training images; n_max {} / n_min {} (IF {:.1})",
        sizes[0],
        sizes[num_classes - 1],
        sizes[0] as f64 / sizes[num_classes - 1].max(1) as f64
    );
    if args.stats_only {
        return Ok(());
    }
    let dir = args
        .data_dir
        .context("--data-dir is required unless --stats-only")?;
    let out = args.out.context("--out is required unless --stats-only")?;
    let (train, test, prefix) = match args.dataset {
        DatasetKind::Cifar10 => (
            read_cifar10(&dir, CifarSplit::Train)?,
            read_cifar10(&dir, CifarSplit::Test)?,
            "cifar10",
        ),
        DatasetKind::Cifar100 => (
            read_cifar100(&dir, CifarSplit::Train)?,
            read_cifar100(&dir, CifarSplit::Test)?,
            "cifar100",
        ),
        DatasetKind::FashionMnist => {
            let names: Vec<String> = FASHION_MNIST_CLASSES
                .iter()
                .map(|s| s.to_string())
                .collect();
            let find = |stem: &str| {
                [stem.to_string(), format!("{stem}.gz")]
                    .into_iter()
                    .map(|n| dir.join(n))
                    .find(|p| p.exists())
                    .unwrap_or_else(|| dir.join(format!("{stem}.gz")))
            };
            (
                read_idx(
                    &find("train-images-idx3-ubyte"),
                    &find("train-labels-idx1-ubyte"),
                    names.clone(),
                )?,
                read_idx(
                    &find("t10k-images-idx3-ubyte"),
                    &find("t10k-labels-idx1-ubyte"),
                    names,
                )?,
                "fashion-mnist",
            )
        }
        DatasetKind::Imagenet100 => anyhow::bail!(
            "imagenet100 splits need the HashNet database.txt list (about 128k lines), which is not \
             shipped here; use --stats-only, or build the split from your own database.txt"
        ),
    };
    let labels: Vec<u32> = train.labels.iter().chain(&test.labels).copied().collect();
    let split = cifar_protocol(&labels, train.len(), &sizes, args.seed)?;
    let paths = pseudo_paths(prefix, train.len(), test.len());
    split.save(&out, &paths, &labels, num_classes)?;
    println!(
        "wrote {}/{{train,query,database}}.txt: {} train, {} query, {} database",
        out.display(),
        split.train.len(),
        split.query.len(),
        split.database.len()
    );
    Ok(())
}
