//! # centers_losses — DCWH, IDCWH and CSQ against LTHNet on CIFAR-100-LT
//!
//! ```sh
//! cargo run --release --example centers_losses -- --help
//! cargo run --release --example centers_losses -- --imbalance 100 --bits 64 --epochs 15
//! # a smoke test on 2,000 training images:
//! cargo run --release --example centers_losses -- --limit 2000 --epochs 2
//! ```
//!
//! The three centre-based hashing losses of `lthnet-loss`, trained with the same head (dynamic
//! meta-embedding off), budget and frozen MobileNetV2 features (the paper's CIFAR-100 protocol,
//! see `cifar100_longtail`), beside LTHNet (k = 3, cross-entropy):
//!
//! - **CSQ**: BCE to fixed Hadamard hash centres + quantisation (λ = 1e-4);
//! - **DCWH**: a normalised-Gaussian cross-entropy to class centres that are the class means of
//!   the codes, recomputed every epoch (1/σ² = 1);
//! - **IDCWH**: DCWH to *learnable* centres + the centre-similarity loss (γ = 0.1) +
//!   quantisation (β = 0.01), the centres trained at half the network's learning rate.
//!
//! Besides MAP it prints the MAP of the many-shot (> 100 training images), medium and few-shot
//! (< 20) classes, which is where the losses differ most on long-tail data.
//!
//! **Expected result** (IF 100, 64 bits, 15 epochs; `docs/reproduction.md`): LTHNet > CSQ >
//! DCWH ≈ IDCWH, all well above the shallow baselines' 0.05–0.12.

use clap::Parser;
use lthnet::backend::{Autodiff, Selected};
use lthnet::experiment::{named_method, run_method};
use lthnet::model::train::{RunOptions, TrainConfig};
use lthnet::model::{LthNetHeadConfig, Source};
use lthnet::report::{evaluate_codes, print_table};

#[path = "common/cifar100_features.rs"]
mod common;

#[path = "common/allocator.rs"]
mod allocator;

/// Centre-based hashing losses (CSQ, DCWH, IDCWH) vs LTHNet on CIFAR-100-LT features.
#[derive(Parser, Debug)]
struct Args {
    #[command(flatten)]
    features: common::FeatureArgs,
    /// Imbalance factor.
    #[arg(long, default_value_t = 100.0)]
    imbalance: f64,
    /// Code length.
    #[arg(long, default_value_t = 64)]
    bits: usize,
    /// Methods (see `lthnet::experiment::named_method`).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "csq,dcwh,idcwh,lthnet-k3"
    )]
    methods: Vec<String>,
    /// Training epochs.
    #[arg(long, default_value_t = 15)]
    epochs: usize,
    /// Mini-batch size.
    #[arg(long, default_value_t = 8)]
    batch_size: usize,
    /// Learning rate (RMSprop on the head).
    #[arg(long, default_value_t = 1e-4)]
    lr: f64,
    /// Seed of the split and of training.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

fn main() -> anyhow::Result<()> {
    allocator::keep_freed_pages();
    lthnet::backend::init_cpu_thread_pool(None)?;
    let args = Args::parse();
    let device = Default::default();
    let features = args.features.load()?;
    let split = features.longtail_split(args.imbalance, args.seed)?;
    let train_sizes = split.train_class_sizes();
    println!(
        "CIFAR-100, IF {}: {} train, {} query, {} database",
        args.imbalance,
        split.train.len(),
        split.query.len(),
        split.database.len()
    );
    let base = TrainConfig::new(LthNetHeadConfig::new(split.train.dim(), 100, args.bits))
        .with_num_epochs(args.epochs)
        .with_batch_size(args.batch_size)
        .with_learning_rate(args.lr)
        .with_seed(args.seed);
    let mut reports = Vec::new();
    for name in &args.methods {
        let method = named_method(name, &base)?;
        let options = RunOptions {
            progress: true,
            ..Default::default()
        };
        let codes =
            run_method::<Autodiff<Selected>>(&method, &split, args.bits, &device, &options)?;
        let r = evaluate_codes(
            &method.name(),
            &codes,
            split.query.labels(),
            split.database.labels(),
            &train_sizes,
        )?;
        println!(
            "{:<14} MAP@all {:.4}  many {:.4}  medium {:.4}  few {:.4}  [{:.0} s]",
            r.name,
            r.eval.map,
            r.breakdown.many.unwrap_or(f64::NAN),
            r.breakdown.medium.unwrap_or(f64::NAN),
            r.breakdown.few.unwrap_or(f64::NAN),
            r.fit_seconds
        );
        reports.push(r);
    }
    print_table(&reports);
    Ok(())
}
