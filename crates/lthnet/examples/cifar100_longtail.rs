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

use anyhow::Context;
use clap::Parser;
use lthnet::backend::{Autodiff, Cpu};
use lthnet::data::cifar::{CifarSplit, read_cifar100};
use lthnet::data::longtail::{LongTailProfile, Preset, class_sizes, mu_for};
use lthnet::data::split::cifar_protocol;
use lthnet::experiment::{FeatureSplit, Method, cached_mobilenet_features, run_method};
use lthnet::model::feature_cache::default_cache_dir;
use lthnet::model::train::{LossKind, RunOptions, TrainConfig};
use lthnet::model::{LthNetHeadConfig, MetaEmbedding, Source};
use lthnet::report::{Report, evaluate_codes, print_table, write_map_vs_class_size};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The paper's Table 3 (CIFAR-100 MAP@all) for the methods this example runs.
fn paper(method: &str, imbalance: u32, bits: usize) -> Option<f64> {
    let col = match (imbalance, bits) {
        (1, 32) => 0,
        (1, 64) => 1,
        (1, 96) => 2,
        (50, 32) => 3,
        (50, 64) => 4,
        (50, 96) => 5,
        (100, 32) => 6,
        (100, 64) => 7,
        (100, 96) => 8,
        _ => return None,
    };
    let row: [f64; 9] = match method {
        "LSH" => [
            0.0333, 0.0458, 0.0608, 0.0333, 0.0467, 0.0615, 0.0307, 0.0480, 0.0585,
        ],
        "PCAH" => [
            0.0569, 0.0612, 0.0605, 0.0532, 0.0617, 0.0627, 0.0519, 0.0608, 0.0625,
        ],
        "ITQ" => [
            0.0806, 0.0976, 0.1026, 0.0709, 0.0858, 0.0903, 0.0677, 0.0824, 0.0896,
        ],
        "CSQ" => [
            0.7711, 0.7984, 0.7821, 0.2221, 0.2745, 0.2669, 0.1716, 0.1992, 0.1658,
        ],
        "LTHNet_sq (k=3)" => [
            0.8232, 0.8360, 0.8390, 0.2432, 0.2794, 0.3116, 0.1750, 0.2079, 0.2264,
        ],
        "LTHNet (k=0)" => [
            0.8195, 0.8336, 0.8400, 0.2427, 0.3028, 0.3309, 0.1752, 0.2240, 0.2415,
        ],
        "LTHNet (k=3)" => [
            0.8268, 0.8416, 0.8490, 0.2687, 0.3354, 0.3484, 0.1819, 0.2376, 0.2620,
        ],
        _ => return None,
    };
    Some(row[col])
}

/// LTHNet and its baselines on CIFAR-100-LT with frozen MobileNetV2 features.
#[derive(Parser, Debug)]
struct Args {
    /// Directory with CIFAR-100 `train.bin` / `test.bin` (or `.xz` / `.gz`).
    #[arg(long, default_value_os_t = lthnet::data::default_data_dir().join("cifar100-binary"))]
    data_dir: PathBuf,
    /// MobileNetV2 weights (safetensors).
    #[arg(long, default_value_os_t = lthnet::data::default_data_dir().join("mobilenetv2-imagenet/mobilenet_v2_1.0_224_imagenet_f32.safetensors"))]
    weights: PathBuf,
    /// Input resolution fed to the backbone (CIFAR's 32×32 images are upsampled; the paper uses 224).
    #[arg(long, default_value_t = 224)]
    resolution: usize,
    /// Feature cache directory.
    #[arg(long, default_value_os_t = default_cache_dir())]
    cache_dir: PathBuf,
    /// Imbalance factors to run (1, 50, 100 are the paper's).
    #[arg(long, value_delimiter = ',', default_value = "100")]
    imbalance: Vec<u32>,
    /// Code lengths.
    #[arg(long, value_delimiter = ',', default_value = "64")]
    bits: Vec<usize>,
    /// Methods: lthnet-k3, lthnet-k0, dme-off, sq, cb, csq, dcwh, idcwh, lsh, pcah, itq.
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
    /// Use only the first N training and N/5 test images (a smoke test).
    #[arg(long)]
    limit: Option<usize>,
    /// Directory for plots and the JSON results.
    #[arg(long, default_value = "target/cifar100_longtail")]
    out_dir: PathBuf,
}

fn method(name: &str, base: &TrainConfig) -> anyhow::Result<Method> {
    let lth = |label: &str, cfg: TrainConfig| Method::LthNet {
        name: label.to_string(),
        config: cfg,
    };
    let head = base.head.clone();
    let with_head = |h: LthNetHeadConfig| {
        let mut c = base.clone();
        c.head = h;
        c
    };
    Ok(match name {
        "lthnet-k3" => lth("LTHNet (k=3)", base.clone()),
        "lthnet-k0" => lth("LTHNet (k=0)", with_head(head.with_num_prototypes(0))),
        "dme-off" => lth(
            "LTHNet (DME off)",
            with_head(head.with_meta_embedding(MetaEmbedding::Off)),
        ),
        "sq" => lth(
            "LTHNet_sq (k=3)",
            base.clone().with_loss(LossKind::Square { beta: 0.0 }),
        ),
        "cb" => lth(
            "LTHNet (k=3, β=0.999)",
            base.clone()
                .with_loss(LossKind::CrossEntropy { beta: 0.999 }),
        ),
        "csq" => lth(
            "CSQ",
            with_head(head.with_meta_embedding(MetaEmbedding::Off))
                .with_loss(LossKind::Csq { lambda: 1e-4 }),
        ),
        "dcwh" => lth(
            "DCWH",
            with_head(head.with_meta_embedding(MetaEmbedding::Off))
                .with_loss(LossKind::Dcwh { inv_sigma_sq: 1.0 }),
        ),
        "idcwh" => lth(
            "IDCWH",
            with_head(head.with_meta_embedding(MetaEmbedding::Off)).with_loss(LossKind::Idcwh {
                inv_sigma_sq: 1.0,
                gamma: 0.1,
                beta: 0.01,
                centre_lr_scale: 0.5,
            }),
        ),
        "lsh" => Method::Lsh,
        "pcah" => Method::Pcah,
        "itq" => Method::Itq,
        other => anyhow::bail!("unknown method {other:?}"),
    })
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut train =
        read_cifar100(&args.data_dir, CifarSplit::Train).context("reading CIFAR-100")?;
    let mut test = read_cifar100(&args.data_dir, CifarSplit::Test)?;
    if let Some(n) = args.limit {
        train = train.subset(&(0..n.min(train.len())).collect::<Vec<_>>());
        test = test.subset(&(0..(n / 5).min(test.len())).collect::<Vec<_>>());
    }
    let n_train = train.len();
    let labels: Vec<u32> = train.labels.iter().chain(&test.labels).copied().collect();
    let mut images = train.images;
    images.extend_from_slice(&test.images);

    // Frozen MobileNetV2 features of all images, cached.
    let device = Default::default();
    let all = cached_mobilenet_features::<Cpu>(
        images,
        labels.clone(),
        &args.weights,
        args.resolution,
        &args.cache_dir,
        &device,
    )?;

    std::fs::create_dir_all(&args.out_dir)?;
    let mut reports: Vec<(u32, Report)> = Vec::new();
    for &imbalance in &args.imbalance {
        let mu = mu_for(Some(Preset::Cifar100), imbalance as f64, 100);
        // With --limit the subset is not balanced: cap n_max at the smallest class.
        let n_max = if args.limit.is_some() {
            let mut c = vec![0usize; 100];
            labels[..n_train].iter().for_each(|&l| c[l as usize] += 1);
            c.into_iter().min().unwrap_or(0)
        } else {
            500
        };
        let sizes = class_sizes(&LongTailProfile::Zipf { mu }, n_max, 100);
        let split = cifar_protocol(&labels, n_train, &sizes, args.seed)?;
        let fs = FeatureSplit {
            train: all.subset(&split.train),
            query: all.subset(&split.query),
            database: all.subset(&split.database),
        };
        let train_sizes = fs.train_class_sizes();
        println!(
            "\nIF {imbalance} (μ = {mu}): {} train, {} query, {} database",
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
                let m = method(name, &base)?;
                let options = RunOptions {
                    progress: true,
                    ..Default::default()
                };
                let codes = run_method::<Autodiff<Cpu>>(&m, &fs, bits, &device, &options)?;
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
