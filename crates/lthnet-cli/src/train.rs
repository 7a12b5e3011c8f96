//! `lthnet train --config run.json [--resume] [--backend cpu|ndarray|wgpu|cuda]`: train LTHNet
//! on frozen-backbone features of a long-tail split and write the codes of the query and database
//! splits. The backends besides `cpu` exist when the binary is built with their feature
//! (`--features wgpu` …); feature extraction runs on the CPU backend and is cached.
//!
//! `run.json` (`train` takes every `TrainConfig` field; only `head.d_input`, `head.num_classes`
//! and `head.d_code` are required, the rest default to the paper's values):
//! ```json
//! {
//!   "dataset": "cifar100",
//!   "data_dir": "../shared/data/cifar100-binary",
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
use lthnet::backend::Cpu;
use lthnet::experiment::{Cifar100Features, Method};
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
    /// The backend that trains and encodes.
    #[arg(long, value_enum, default_value_t = BackendArg::Cpu)]
    backend: BackendArg,
}

/// A backend compiled into this binary.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendArg {
    /// The default CPU backend (`flex`).
    Cpu,
    /// Burn's `ndarray` CPU backend (build with `--features ndarray`).
    #[cfg(feature = "ndarray")]
    Ndarray,
    /// wgpu (build with `--features wgpu`).
    #[cfg(feature = "wgpu")]
    Wgpu,
    /// CUDA (build with `--features cuda`).
    #[cfg(feature = "cuda")]
    Cuda,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
enum DatasetName {
    Cifar100,
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
    train: serde_json::Value,
}

fn default_resolution() -> usize {
    224
}
fn default_imbalance() -> f64 {
    100.0
}

/// Runs `lthnet train`.
pub fn run(args: TrainArgs) -> anyhow::Result<()> {
    run_spec(&args.config, args.resume, args.backend, None)
}

/// Train (or, with `resume` on a finished run, re-encode) the run described by `config`, into
/// `out_dir` if given, else the spec's `out_dir`.
pub fn run_spec(
    config: &std::path::Path,
    resume: bool,
    backend: BackendArg,
    out_dir: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    let text =
        std::fs::read_to_string(config).with_context(|| format!("reading {}", config.display()))?;
    let spec: RunSpec = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a valid run specification", config.display()))?;
    let train =
        TrainConfig::from_json_with_defaults(&spec.train.to_string()).with_context(|| {
            format!(
                "{}: \"train\" is not a valid configuration",
                config.display()
            )
        })?;
    train.validate()?;
    let out = out_dir.map_or_else(|| spec.out_dir.clone(), |d| d.to_path_buf());
    let device = Default::default();
    let DatasetName::Cifar100 = spec.dataset;
    let dir = spec
        .data_dir
        .clone()
        .unwrap_or_else(|| lthnet::data::default_data_dir().join("cifar100-binary"));
    let weights = spec.weights.clone().unwrap_or_else(|| {
        lthnet::data::default_data_dir()
            .join("mobilenetv2-imagenet/mobilenet_v2_1.0_224_imagenet_f32.safetensors")
    });
    let features = Cifar100Features::load::<Cpu>(
        &dir,
        &weights,
        spec.resolution,
        &default_cache_dir(),
        None,
        &device,
    )?;
    let all = &features.all;
    anyhow::ensure!(
        train.head.d_input == all.dim(),
        "train.head.d_input is {} but the features have {} dimensions",
        train.head.d_input,
        all.dim()
    );
    anyhow::ensure!(
        train.head.num_classes == 100,
        "train.head.num_classes is {} but CIFAR-100 has 100 classes",
        train.head.num_classes
    );
    let fs = features.longtail_split(spec.imbalance, spec.seed)?;
    eprintln!(
        "{} train, {} query, {} database",
        fs.train.len(),
        fs.query.len(),
        fs.database.len()
    );
    let bits = train.head.d_code;
    let method = Method::LthNet {
        name: "LTHNet".into(),
        config: train,
    };
    let options = RunOptions {
        run_dir: Some(out.clone()),
        resume,
        progress: true,
        max_epochs_this_call: None,
    };
    std::fs::create_dir_all(&out)?;
    std::fs::write(out.join("run.json"), &text)?;
    let codes = run_on(backend, &method, &fs, bits, &options)?;
    let out = &out;
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

/// [`run_method`](lthnet::experiment::run_method) on the chosen backend.
fn run_on(
    backend: BackendArg,
    method: &Method,
    split: &lthnet::experiment::FeatureSplit,
    bits: usize,
    options: &RunOptions,
) -> anyhow::Result<lthnet::experiment::Codes> {
    use lthnet::backend::Autodiff;
    use lthnet::experiment::run_method;
    fn on<B: lthnet::burn::tensor::backend::AutodiffBackend>(
        method: &Method,
        split: &lthnet::experiment::FeatureSplit,
        bits: usize,
        options: &RunOptions,
    ) -> anyhow::Result<lthnet::experiment::Codes> {
        Ok(run_method::<B>(
            method,
            split,
            bits,
            &Default::default(),
            options,
        )?)
    }
    match backend {
        BackendArg::Cpu => on::<Autodiff<Cpu>>(method, split, bits, options),
        #[cfg(feature = "ndarray")]
        BackendArg::Ndarray => {
            on::<Autodiff<lthnet::backend::NdArray>>(method, split, bits, options)
        }
        #[cfg(feature = "wgpu")]
        BackendArg::Wgpu => on::<Autodiff<lthnet::backend::Wgpu>>(method, split, bits, options),
        #[cfg(feature = "cuda")]
        BackendArg::Cuda => on::<Autodiff<lthnet::backend::Cuda>>(method, split, bits, options),
    }
}
