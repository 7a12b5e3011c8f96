//! # cifar100_longtail — the paper's CIFAR-100 protocol on frozen MobileNetV2 features
//!
//! ```sh
//! cargo run --release --example cifar100_longtail -- --help
//! # the main table (features are extracted once and cached, then every method trains on them):
//! cargo run --release --example cifar100_longtail -- --imbalance 100 --bits 64 --epochs 20
//! ```
//!
//! Protocol (Chen et al., SIGIR 2021, §5.1 / Table 2): query = the CIFAR-100 test set (10,000),
//! database = the training set (50,000), training set = a Zipf subset of the database
//! (`n_i = ⌊500·i^(−μ)⌋`; 2,598 images at IF 100, 3,732 at IF 50, 50,000 at IF 1). MAP@all by
//! Hamming ranking, ties by database index.
//!
//! Backbone: the ImageNet-pretrained MobileNetV2 (`--weights`), frozen; its 1280-d pooled features
//! of all 60,000 images are cached under `--cache-dir`. The paper fine-tunes a ResNet34 end to
//! end; this CPU configuration trains only the LTHNet head, so absolute numbers differ from the
//! paper's — the comparison between methods on identical features is what it measures.
//!
//! **Expected result**: see `docs/reproduction.md` for the measured table and the commands.

use std::path::PathBuf;

use clap::Parser;
use lthnet::backend::{Autodiff, Selected};
use lthnet::experiment::{named_method, run_method};
use lthnet::model::train::{RunOptions, TrainConfig};
use lthnet::model::{LthNetHeadConfig, Source};
use lthnet::paper::{PaperDataset, paper_map};
use lthnet::report::{Report, evaluate_codes, print_table, write_map_vs_class_size};

#[path = "common/cifar100_features.rs"]
mod common;

#[path = "common/allocator.rs"]
mod allocator;

fn paper(method: &str, imbalance: u32, bits: usize) -> Option<f64> {
    paper_map(PaperDataset::Cifar100, method, imbalance, bits)
}

/// LTHNet and its baselines on CIFAR-100-LT with frozen MobileNetV2 features.
#[derive(Parser, Debug)]
struct Args {
    #[command(flatten)]
    features: common::FeatureArgs,
    /// Imbalance factors to run (1, 50, 100 are the paper's).
    #[arg(long, value_delimiter = ',', default_value = "100")]
    imbalance: Vec<u32>,
    /// Code lengths.
    #[arg(long, value_delimiter = ',', default_value = "64")]
    bits: Vec<usize>,
    /// Methods (see `lthnet::experiment::named_method`): lthnet-k3, lthnet-k0, dme-off, sq, cb,
    /// csq, dcwh, idcwh, lsh, pcah, itq.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "lthnet-k3,lthnet-k0,dme-off,sq,cb,csq,dcwh,lsh,pcah,itq"
    )]
    methods: Vec<String>,
    /// Training epochs for the deep methods.
    #[arg(long, default_value_t = 20)]
    epochs: usize,
    /// Mini-batch size (the paper's 8 for CIFAR-100).
    #[arg(long, default_value_t = 8)]
    batch_size: usize,
    /// Learning rate (RMSprop; the paper's 1e-5 fine-tunes a whole network, the head alone needs more).
    #[arg(long, default_value_t = 1e-4)]
    lr: f64,
    /// Seed of the split and of training.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Directory for the plots.
    #[arg(long, default_value = "target/cifar100_longtail")]
    out_dir: PathBuf,
}

fn main() -> anyhow::Result<()> {
    allocator::keep_freed_pages();
    lthnet::backend::init_cpu_thread_pool(None)?;
    let args = Args::parse();
    // Frozen MobileNetV2 features of all images, cached.
    let device = Default::default();
    let features = args.features.load()?;

    std::fs::create_dir_all(&args.out_dir)?;
    let mut reports: Vec<(u32, Report)> = Vec::new();
    for &imbalance in &args.imbalance {
        let fs = features.longtail_split(imbalance as f64, args.seed)?;
        let train_sizes = fs.train_class_sizes();
        println!(
            "\nIF {imbalance}: {} train, {} query, {} database",
            fs.train.len(),
            fs.query.len(),
            fs.database.len()
        );
        let base = TrainConfig::new(LthNetHeadConfig::new(1280, 100, 64))
            .with_num_epochs(args.epochs)
            .with_batch_size(args.batch_size)
            .with_learning_rate(args.lr)
            .with_seed(args.seed);
        let mut these = Vec::new();
        for &bits in &args.bits {
            for name in &args.methods {
                let m = named_method(name, &base)?;
                let options = RunOptions {
                    progress: true,
                    ..Default::default()
                };
                let codes = run_method::<Autodiff<Selected>>(&m, &fs, bits, &device, &options)?;
                let r = evaluate_codes(
                    &m.name(),
                    &codes,
                    fs.query.labels(),
                    fs.database.labels(),
                    &train_sizes,
                )?;
                println!(
                    "{:<24} IF {imbalance:>3} {bits:>2} bits: MAP {:.4} (tie-aware {:.4}; paper {})  [{:.0} s]",
                    r.name,
                    r.eval.map,
                    r.eval.map_tie_aware,
                    paper(&r.name, imbalance, bits)
                        .map(|p| format!("{p:.4}"))
                        .unwrap_or_else(|| "-".into()),
                    r.fit_seconds
                );
                these.push(r);
            }
        }
        print_table(&these);
        if these.len() >= 2 {
            let best = these
                .iter()
                .max_by(|a, b| a.eval.map.total_cmp(&b.eval.map))
                .expect("non-empty");
            let worst = these
                .iter()
                .min_by(|a, b| a.eval.map.total_cmp(&b.eval.map))
                .expect("non-empty");
            let path = args
                .out_dir
                .join(format!("map_vs_class_size_if{imbalance}.svg"));
            write_map_vs_class_size(&path, &[best, worst], &train_sizes)?;
            println!("plot: {}", path.display());
        }
        reports.extend(these.into_iter().map(|r| (imbalance, r)));
    }
    println!(
        "\n| method | IF | bits | MAP@all | tie-aware | many | medium | few | paper |\n|---|---|---|---|---|---|---|---|---|"
    );
    let f = |v: Option<f64>| v.map(|x| format!("{x:.4}")).unwrap_or_else(|| "-".into());
    for (imb, r) in &reports {
        println!(
            "| {} | {imb} | {} | {:.4} | {:.4} | {} | {} | {} | {} |",
            r.name,
            r.bits,
            r.eval.map,
            r.eval.map_tie_aware,
            f(r.breakdown.many),
            f(r.breakdown.medium),
            f(r.breakdown.few),
            f(paper(&r.name, *imb, r.bits))
        );
    }
    Ok(())
}
