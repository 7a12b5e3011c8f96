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
//! **Expected result** (IF 100, 64 bits, 12 epochs, measured in `docs/reproduction.md`): LTHNet
//! well above LSH and ITQ on pixels; the per-epoch log shows the memory refresh's share of each
//! epoch.

use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use lthnet::data::ImageDataset;
use lthnet::data::folder::{FolderConfig, read_archive_folder, read_image_folder};
use lthnet::model::PixelNorm;

mod common;

#[path = "common/allocator.rs"]
mod allocator;

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
    #[command(flatten)]
    run: common::ScratchArgs,
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
        (train.height, train.width, train.channels) == (32, 32, 3),
        "expected 32×32 RGB images, got {}×{}×{}",
        train.height,
        train.width,
        train.channels
    );
    Ok((train, test))
}

fn main() -> anyhow::Result<()> {
    allocator::keep_freed_pages();
    lthnet::backend::init_cpu_thread_pool(None)?;
    let args = Args::parse();
    let started = std::time::Instant::now();
    let (train, test) = read(&args)?;
    eprintln!(
        "read {} train + {} test images, {} classes, in {:.1} s",
        train.len(),
        test.len(),
        train.num_classes(),
        started.elapsed().as_secs_f64()
    );
    common::run(
        &args.run,
        train,
        test,
        32,
        CIFAR10_NORM,
        "target/cifar10_longtail",
    )?;
    Ok(())
}
