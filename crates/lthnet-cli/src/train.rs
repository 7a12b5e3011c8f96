//! `lthnet train --config run.json [--resume]`: train LTHNet on frozen-backbone features of a
//! long-tail split and write the codes of the query and database splits.
//!
//! `run.json`:
//! ```json
//! {
//!   "dataset": "cifar100",                      // cifar100 | digits
//!   "data_dir": "../shared/data/cifar100-binary", // not needed for digits
//!   "weights": "…/mobilenet_v2_1.0_224_imagenet_f32.safetensors",
//!   "resolution": 128,
//!   "imbalance": 100,
//!   "seed": 0,
//!   "out_dir": "runs/cifar100-if100",
//!   "train": { "head": { "d_input": 1280, "num_classes": 100, "d_code": 64 }, "num_epochs": 15,
//!              "batch_size": 8, "learning_rate": 0.0001 }
//! }
//! ```
//! The run directory receives `config.json`, `checkpoints/`, `metrics.jsonl`, `loss.svg`, and
//! `{query,database}_{codes,labels}.npy` + `train_labels.npy` for `lthnet eval`.

use std::path::PathBuf;

use anyhow::Context;
use lthnet::backend::{Autodiff, Cpu};
use lthnet::data::cifar::{CifarSplit, read_cifar100};
use lthnet::data::longtail::{LongTailProfile, Preset, class_sizes, mu_for};
use lthnet::data::split::cifar_protocol;
use lthnet::experiment::{FeatureSplit, Method, cached_mobilenet_features, run_method};
use lthnet::model::feature_cache::default_cache_dir;
use lthnet::model::train::{RunOptions, TrainConfig};
use lthnet::model::{FeatureSource, Source};
use lthnet::retrieval::PackedCodes;
use lthnet::retrieval::io::{write_codes_npy, write_i64_npy};
use serde::Deserialize;

/// Arguments of `lthnet train`.
#[derive(clap::Args, Debug)]
pub struct TrainArgs {
    /// The run specification (JSON, see the module docs).
    #[arg(long)]
    config: PathBuf,
    /// Continue from the run directory's latest checkpoint.
    #[arg(long)]
    resume: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
enum DatasetName {
    Cifar100,
    Digits,
}

#[derive(Debug, Deserialize)]
struct RunSpec {
    dataset: DatasetName,
    #[serde(default)]
    data_dir: Option<PathBuf>,
    #[serde(default)]
    weights: Option<PathBuf>,
    #[serde(default = "default_resolution")]
    resolution: usize,
    #[serde(default = "default_imbalance")]
    imbalance: f64,
    #[serde(default)]
    seed: u64,
    out_dir: PathBuf,
    train: TrainConfig,
}

fn default_resolution() -> usize {
    224
}
fn default_imbalance() -> f64 {
    100.0
}

/// Runs `lthnet train`.
pub fn run(args: TrainArgs) -> anyhow::Result<()> {
    run_spec(&args.config, args.resume)
}

/// Train (or, with `resume` on a finished run, re-encode) the run described by `config`.
pub fn run_spec(config: &std::path::Path, resume: bool) -> anyhow::Result<()> {
    let args = TrainArgs {
        config: config.to_path_buf(),
        resume,
    };
    let text = std::fs::read_to_string(&args.config)
        .with_context(|| format!("reading {}", args.config.display()))?;
    let spec: RunSpec = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a valid run specification", args.config.display()))?;
    spec.train.validate()?;
    let device = Default::default();
    let (all, n_train, n_max, preset) = match spec.dataset {
        DatasetName::Cifar100 => {
            let dir = spec
                .data_dir
                .clone()
                .unwrap_or_else(|| lthnet::data::default_data_dir().join("cifar100-binary"));
            let weights = spec.weights.clone().unwrap_or_else(|| {
                lthnet::data::default_data_dir()
                    .join("mobilenetv2-imagenet/mobilenet_v2_1.0_224_imagenet_f32.safetensors")
            });
            let train = read_cifar100(&dir, CifarSplit::Train)?;
            let test = read_cifar100(&dir, CifarSplit::Test)?;
            let n_train = train.len();
            let labels: Vec<u32> = train.labels.iter().chain(&test.labels).copied().collect();
            let mut images = train.images;
            images.extend_from_slice(&test.images);
            let all = cached_mobilenet_features::<Cpu>(
                images,
                labels,
                &weights,
                spec.resolution,
                &default_cache_dir(),
                &device,
            )?;
            (all, n_train, 500, Some(Preset::Cifar100))
        }
        DatasetName::Digits => anyhow::bail!(
            "the digits dataset is served by `cargo run --release --example quickstart`; \
             `lthnet train` supports cifar100 for now"
        ),
    };
    anyhow::ensure!(
        spec.train.head.d_input == all.dim(),
        "train.head.d_input is {} but the features have {} dimensions",
        spec.train.head.d_input,
        all.dim()
    );
    let mu = mu_for(preset, spec.imbalance, spec.train.head.num_classes);
    let sizes = class_sizes(
        &LongTailProfile::Zipf { mu },
        n_max,
        spec.train.head.num_classes,
    );
    let split = cifar_protocol(all.labels(), n_train, &sizes, spec.seed)?;
    let fs = FeatureSplit {
        train: all.subset(&split.train),
        query: all.subset(&split.query),
        database: all.subset(&split.database),
    };
    eprintln!(
        "{} train, {} query, {} database",
        fs.train.len(),
        fs.query.len(),
        fs.database.len()
    );
    let method = Method::LthNet {
        name: "LTHNet".into(),
        config: spec.train.clone(),
    };
    let options = RunOptions {
        run_dir: Some(spec.out_dir.clone()),
        resume: args.resume,
        progress: true,
        max_epochs_this_call: None,
    };
    std::fs::create_dir_all(&spec.out_dir)?;
    std::fs::write(spec.out_dir.join("run.json"), &text)?;
    let bits = spec.train.head.d_code;
    let codes = run_method::<Autodiff<Cpu>>(&method, &fs, bits, &device, &options)?;
    let out = &spec.out_dir;
    write_codes_npy(
        &out.join("query_codes.npy"),
        &PackedCodes::from_signs(&codes.query, bits),
    )?;
    write_codes_npy(
        &out.join("database_codes.npy"),
        &PackedCodes::from_signs(&codes.database, bits),
    )?;
    let as_i64 = |s: &FeatureSource| s.labels().iter().map(|&l| l as i64).collect::<Vec<_>>();
    for (name, s) in [
        ("query", &fs.query),
        ("database", &fs.database),
        ("train", &fs.train),
    ] {
        let v = as_i64(s);
        write_i64_npy(
            &out.join(format!("{name}_labels.npy")),
            &[v.len() as u64],
            &v,
        )?;
    }
    let (secs, d) = (codes.fit_seconds, out.display());
    eprintln!(
        "done in {secs:.0} s; evaluate with:\n  lthnet eval --query-codes {d}/query_codes.npy --db-codes {d}/database_codes.npy \
         --query-labels {d}/query_labels.npy --db-labels {d}/database_labels.npy --train-labels {d}/train_labels.npy"
    );
    Ok(())
}
