//! # fashion_mnist_longtail — Fashion-MNIST-LT, LTHNet trained end to end from scratch
//!
//! ```sh
//! cargo run --release --example fashion_mnist_longtail -- --help
//! cargo run --release --example fashion_mnist_longtail -- --imbalance 100 --bits 64 --epochs 8
//! # a one-minute smoke test:
//! cargo run --release --example fashion_mnist_longtail -- --limit 2000 --epochs 1
//! ```
//!
//! Data: Fashion-MNIST in its IDX files (`--data-dir`, default `shared/data/fashion-mnist`,
//! `train-images-idx3-ubyte[.gz]`, `t10k-…`), 28×28 greyscale, 10 classes.
//!
//! Protocol (the paper's CIFAR protocol): query = t10k (10,000), database = train (60,000),
//! training set = a Zipf subset of the database, `n_i = ⌊6000·i^(−μ)⌋`, μ = ln(IF)/ln(10)
//! (9,295 images at IF 100, 6,000 down to 60).
//!
//! Model: the small CNN (`CifarNet`, 28×28 input, grey replicated to 3 channels, random crop +
//! flip) in front of the LTHNet head, trained from scratch on the CPU backend; LSH and ITQ hash
//! the raw pixels of the same split.
//!
//! **Expected result** (IF 100, 64 bits, measured in `docs/reproduction.md`): LTHNet far above LSH
//! and ITQ on pixels, with the tail classes (< 20 training images) gaining the most.

use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use lthnet::data::OfficialSplit;
use lthnet::data::idx::read_fashion_mnist;
use lthnet::model::PixelNorm;

mod common;

#[path = "common/allocator.rs"]
mod allocator;

/// Fashion-MNIST mean and standard deviation of p/255 (training set), on all three channels.
const FASHION_NORM: PixelNorm = PixelNorm::MeanStd {
    mean: [0.2860; 3],
    std: [0.3530; 3],
};

/// LTHNet trained from scratch on Fashion-MNIST-LT, beside LSH and ITQ on pixels.
#[derive(Parser, Debug)]
struct Args {
    /// Directory with the four Fashion-MNIST IDX files (optionally `.gz`).
    #[arg(long, default_value_os_t = lthnet::data::default_data_dir().join("fashion-mnist"))]
    data_dir: PathBuf,
    #[command(flatten)]
    run: common::ScratchArgs,
}

fn main() -> anyhow::Result<()> {
    allocator::keep_freed_pages();
    lthnet::backend::init_cpu_thread_pool(None)?;
    let args = Args::parse();
    let train = read_fashion_mnist(&args.data_dir, OfficialSplit::Train)
        .with_context(|| format!("reading Fashion-MNIST from {}", args.data_dir.display()))?;
    let test = read_fashion_mnist(&args.data_dir, OfficialSplit::Test)?;
    eprintln!("read {} train + {} test images", train.len(), test.len());
    common::run(
        &args.run,
        train,
        test,
        28,
        FASHION_NORM,
        "target/fashion_mnist_longtail",
    )?;
    Ok(())
}
