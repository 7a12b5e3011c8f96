//! Algorithm 1: per epoch, refresh the memory (centroids + DPP prototypes of `v_direct`, model in
//! eval mode), then one epoch of RMSprop over the shuffled training set, then step the cosine
//! learning-rate schedule. [`RefreshFeatures::TrainingPass`] replaces the refresh pass by the
//! `v_direct` the previous epoch's training steps computed (only the first epoch runs it).
//!
//! Runs are reproducible: parameters are initialised from [`TrainConfig::seed`], the shuffle of
//! epoch `e` is drawn from a generator seeded by `(seed, e)`, and the memory is a deterministic
//! function of the model. A checkpoint written after every epoch (model, optimizer state,
//! epoch, history) is therefore all that a killed run needs to resume and produce bit-identical
//! results on the CPU backend.

mod checkpoint;
mod config;
mod log;
mod objective;
mod rmsprop;

pub use checkpoint::{Checkpoint, CheckpointMeta, SavedMemory};
pub use config::{LossKind, ModelSelection, RefreshFeatures, TrainConfig};
pub use log::{EpochRecord, write_loss_curve_svg};
use lthnet_retrieval::{EvalConfig, Labels, PackedCodes, evaluate};
pub use objective::Objective;
pub use rmsprop::{RmsPropUpdate, TorchRmsProp, TorchRmsPropConfig, TorchRmsPropState};

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::module::AutodiffModule;
use burn::optim::{GradientsParams, Optimizer};
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;
use indicatif::{ProgressBar, ProgressStyle};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::CoreError;
use crate::source::{HashNetwork, Source};

/// Options of a run that are not part of the model's configuration.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Directory for `config.json`, `checkpoints/`, `metrics.jsonl` and `loss.svg`.
    /// `None` keeps everything in memory (no checkpoints, no resume).
    pub run_dir: Option<PathBuf>,
    /// Continue from the checkpoint in `run_dir` if there is one.
    pub resume: bool,
    /// Show progress bars (they are hidden automatically when stderr is not a terminal).
    pub progress: bool,
    /// Stop after this many epochs of this call (for tests of interrupted runs).
    pub max_epochs_this_call: Option<usize>,
}

/// The result of [`train`]: the trained network (on the inner backend), the memory it was
/// trained with (needed to encode new items) and the per-epoch history.
#[derive(Debug)]
pub struct Trained<M, B: Backend> {
    /// The trained network, gradient-free.
    pub model: M,
    /// The memory refreshed from the final model (`[(k+1)·C, d_feature]`), `None` when DME is off.
    pub memory: Option<Tensor<B, 2>>,
    /// One record per epoch run so far (including epochs before a resume).
    pub history: Vec<EpochRecord>,
    /// Whether all configured epochs are done.
    pub finished: bool,
    /// The epoch (1-based) whose model this is: the last one, or the best on the validation
    /// split with [`ModelSelection::BestValidationMap`]. 0 if no epoch ran.
    pub selected_epoch: usize,
}

/// Number of classes implied by labels (max + 1).
fn num_classes_of(labels: &[u32]) -> usize {
    labels.iter().map(|&l| l as usize + 1).max().unwrap_or(0)
}

/// Run the gradient-free `v_direct` pass over `source` (in `eval_batch` chunks) and return the
/// features, row-major.
pub fn collect_v_direct<B, M, S>(
    model: &M,
    source: &S,
    eval_batch: usize,
    device: &B::Device,
    progress: Option<&ProgressBar>,
) -> Vec<f32>
where
    B: Backend,
    S: Source,
    M: HashNetwork<B, S::Input<B>>,
{
    let hidden = ProgressBar::hidden();
    batched_rows(
        source,
        eval_batch,
        device,
        progress.unwrap_or(&hidden),
        |x| model.forward_v_direct(x),
    )
}

/// Encode `source` with a trained network: the relaxed codes `h` (`n × q`, row-major), batched.
/// Codes are `sgn(h)` with sgn(0) = +1; `lthnet-retrieval` packs them.
pub fn encode_relaxed<B, M, S>(
    model: &M,
    memory: Option<Tensor<B, 2>>,
    source: &S,
    batch_size: usize,
    device: &B::Device,
    progress: bool,
) -> Vec<f32>
where
    B: Backend,
    S: Source,
    M: HashNetwork<B, S::Input<B>>,
{
    let pb = progress_bar(progress, source.len() as u64, "encode");
    let out = batched_rows(source, batch_size, device, &pb, |x| {
        model.forward_hash(x, memory.clone()).h
    });
    pb.finish_and_clear();
    out
}

/// Run a (frozen) backbone over every image of `source` in batches and return the pooled
/// features, row-major (`len × d_output`): the frozen-backbone mode's extraction pass.
pub fn collect_features<B, E>(
    backbone: &E,
    source: &crate::model::ImageSource,
    batch_size: usize,
    device: &B::Device,
    progress: bool,
) -> Vec<f32>
where
    B: Backend,
    E: crate::model::FeatureExtractor<B>,
{
    let pb = progress_bar(progress, source.len() as u64, "features");
    let out = batched_rows(source, batch_size, device, &pb, |x| backbone.features(x));
    pb.finish_and_clear();
    out
}

/// Run `f` over `source` in chunks of `batch_size` items (in order) and concatenate the
/// row-major `f32` outputs: the one batched, gradient-free pass behind the memory refresh,
/// encoding and feature extraction.
fn batched_rows<B, S, F>(
    source: &S,
    batch_size: usize,
    device: &B::Device,
    pb: &ProgressBar,
    mut f: F,
) -> Vec<f32>
where
    B: Backend,
    S: Source,
    F: FnMut(S::Input<B>) -> Tensor<B, 2>,
{
    let mut out = Vec::new();
    let idx: Vec<usize> = (0..source.len()).collect();
    for chunk in idx.chunks(batch_size.max(1)) {
        let rows = f(source.batch::<B>(chunk, device));
        out.extend(
            rows.into_data()
                .convert::<f32>()
                .into_vec::<f32>()
                .expect("f32 data"),
        );
        pb.inc(chunk.len() as u64);
    }
    out
}

fn progress_bar(enabled: bool, len: u64, what: &str) -> ProgressBar {
    if !enabled {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(len);
    pb.set_style(
        ProgressStyle::with_template(
            "{prefix:>8} [{elapsed_precise}] {wide_bar} {pos}/{len} {per_sec} {msg}",
        )
        .expect("valid template"),
    );
    pb.set_prefix(what.to_string());
    pb
}

/// A refreshed memory and what refreshing it cost.
#[derive(Debug, Clone)]
pub struct RefreshedMemory<B: Backend> {
    /// The memory rows, `[(k+1)·C, d_feature]`.
    pub memory: Tensor<B, 2>,
    /// Slots that had to be filled with a centroid copy.
    pub filled_slots: usize,
    /// Seconds of the gradient-free `v_direct` pass over the training set.
    pub pass_seconds: f64,
    /// Seconds of the centroids and the per-class DPP selection.
    pub build_seconds: f64,
}

/// Refresh the memory: `v_direct` of the whole training set in eval mode, class centroids and
/// DPP prototypes (`lthnet-memory`).
pub fn refresh_memory<B, M, S>(
    model: &M,
    source: &S,
    config: &TrainConfig,
    device: &B::Device,
    progress: bool,
) -> Result<RefreshedMemory<B>, CoreError>
where
    B: Backend,
    S: Source,
    M: HashNetwork<B, S::Input<B>>,
{
    let started = Instant::now();
    let pb = progress_bar(progress, source.len() as u64, "memory");
    let features = collect_v_direct(model, source, config.eval_batch_size, device, Some(&pb));
    pb.finish_and_clear();
    let pass_seconds = started.elapsed().as_secs_f64();
    let (memory, filled_slots) = memory_from_rows(
        &features,
        model.head().d_feature(),
        source.labels(),
        config,
        device,
    )?;
    Ok(RefreshedMemory {
        filled_slots,
        memory,
        pass_seconds,
        build_seconds: started.elapsed().as_secs_f64() - pass_seconds,
    })
}

/// Centroids and DPP prototypes (`lthnet-memory`) of the training set's `v_direct` rows
/// (`labels.len() × d_feature`, row-major): the memory tensor and its filled slots.
fn memory_from_rows<B: Backend>(
    features: &[f32],
    d_feature: usize,
    labels: &[u32],
    config: &TrainConfig,
    device: &B::Device,
) -> Result<(Tensor<B, 2>, usize), CoreError> {
    let memory = lthnet_memory::MemoryConfig::new()
        .with_num_prototypes(config.head.num_prototypes)
        .with_theta(config.dpp_theta)
        .build_memory(features, d_feature, labels, config.head.num_classes)
        .map_err(|e| CoreError::Config(format!("memory refresh failed: {e}")))?;
    Ok((memory.to_tensor::<B>(device), memory.filled_slots()))
}

/// Train `model` on `source` with Algorithm 1.
///
/// `model` must be freshly initialised (seed it with [`init_seed`] before building it); on
/// resume its parameters are replaced by the checkpoint's.
///
/// # Errors
/// I/O errors on the run directory, an invalid configuration, a label outside the configured
/// classes, an empty class, or a non-finite loss (the error names the epoch and step; the last
/// good checkpoint stays on disk).
pub fn train<B, M, S>(
    config: &TrainConfig,
    mut model: M,
    source: &S,
    device: &B::Device,
    options: &RunOptions,
) -> Result<Trained<M::InnerModule, B::InnerBackend>, CoreError>
where
    B: AutodiffBackend,
    S: Source,
    M: AutodiffModule<B> + HashNetwork<B, S::Input<B>>,
    M::InnerModule: HashNetwork<B::InnerBackend, S::Input<B::InnerBackend>>,
{
    config.validate()?;
    if source.is_empty() {
        return Err(CoreError::Config("the training set is empty".into()));
    }
    let carved;
    let (source, validation): (&S, Option<S>) = match config.selection {
        ModelSelection::LastEpoch => (source, None),
        ModelSelection::BestValidationMap { fraction } => {
            let all: Vec<usize> = (0..source.len()).collect();
            let (train_items, held_out) =
                lthnet_data::split::validation_split(&all, source.labels(), fraction, config.seed);
            if held_out.is_empty() {
                return Err(CoreError::Config(format!(
                    "validation fraction {fraction} holds out no item (every class needs two or \
                     more items to give one)"
                )));
            }
            carved = source.subset(&train_items);
            (&carved, Some(source.subset(&held_out)))
        }
    };
    let labels = source.labels();
    let seen = num_classes_of(labels);
    if seen > config.head.num_classes {
        return Err(CoreError::Config(format!(
            "label {} found but the head has num_classes = {}",
            seen - 1,
            config.head.num_classes
        )));
    }
    let mut objective = Objective::<B>::new(
        &config.loss,
        labels,
        config.head.num_classes,
        config.head.d_code,
        config.seed,
        (config.rmsprop_alpha, config.rmsprop_epsilon),
        device,
    )?;

    let mut optim = TorchRmsPropConfig::new()
        .with_alpha(config.rmsprop_alpha)
        .with_epsilon(config.rmsprop_epsilon)
        .with_weight_decay(config.weight_decay)
        .init::<B, M>();

    let mut history = Vec::new();
    let mut start_epoch = 0;
    // With validation-based selection: (epoch, MAP, model) of the best epoch so far, and the
    // memory refreshed from the latest model for the validation pass (reused by the next epoch).
    let mut best: Option<(usize, f64, M::InnerModule)> = None;
    let mut carried: Option<Refresh<B::InnerBackend>> = None;
    // With `RefreshFeatures::TrainingPass`, the training steps' `v_direct` are collected (one
    // row per item) and become the next epoch's memory.
    let d_feature = model.head().d_feature();
    let collect =
        config.refresh_features == RefreshFeatures::TrainingPass && model.head().uses_memory();
    if let Some(dir) = &options.run_dir {
        std::fs::create_dir_all(dir).map_err(|source| CoreError::Io {
            path: dir.clone(),
            source,
        })?;
        let cfg_path = dir.join("config.json");
        if options.resume
            && checkpoint_dir(dir).join("LATEST").exists()
            && let Ok(saved) = std::fs::read_to_string(&cfg_path)
        {
            let saved: serde_json::Value =
                serde_json::from_str(&saved).map_err(|e| CoreError::Malformed {
                    path: cfg_path.clone(),
                    message: e.to_string(),
                })?;
            let now = serde_json::to_value(config).expect("config serialises");
            if saved != now {
                return Err(CoreError::Config(format!(
                    "cannot resume {}: its config.json differs from this run's configuration \
                     (start a new run directory, or resume with the saved configuration)",
                    dir.display()
                )));
            }
        }
        config.save(&cfg_path).map_err(|source| CoreError::Io {
            path: cfg_path.clone(),
            source,
        })?;
        if options.resume
            && let Some(ckpt) = Checkpoint::<B, M>::load_latest(dir, model.clone(), device)?
        {
            objective.load(&ckpt.dir, device)?;
            model = ckpt.model;
            optim = optim.load_record(ckpt.optimizer);
            start_epoch = ckpt.meta.epochs_done;
            history = ckpt.meta.history;
            if let Some((epoch, map)) = ckpt.meta.best {
                let path = ckpt.dir.join("best-model");
                let best_model = model
                    .valid()
                    .load_file(path.clone(), &checkpoint::recorder(), device)
                    .map_err(|e| CoreError::Malformed {
                        path: path.clone(),
                        message: e.to_string(),
                    })?;
                best = Some((epoch, map, best_model));
            }
            if collect && let Some(saved) = &ckpt.meta.memory {
                let values = checkpoint::read_memory(&ckpt.dir, saved)?;
                carried = Some(Refresh {
                    memory: Some(Tensor::from_data(
                        TensorData::new(values, [saved.rows, saved.cols]),
                        device,
                    )),
                    filled: saved.filled_slots,
                    build_seconds: saved.build_seconds,
                    earlier_seconds: saved.earlier_seconds,
                });
            }
        }
    }

    let n = source.len();
    // The training steps' `v_direct`, one row per item (`RefreshFeatures::TrainingPass`).
    let mut rows: Vec<f32> = Vec::new();
    for (epochs_this_call, epoch) in (start_epoch..config.num_epochs).enumerate() {
        if options
            .max_epochs_this_call
            .is_some_and(|m| epochs_this_call >= m)
        {
            break;
        }
        let started = Instant::now();
        // 1. Memory refresh, eval mode, no graph (already done by the previous epoch's
        //    validation pass when selecting on a validation split: same model, same memory).
        let inner = model.valid();
        let Refresh {
            memory,
            filled,
            build_seconds: memory_build_seconds,
            earlier_seconds,
        } = match carried.take() {
            Some(r) => r,
            None => refresh_if_used(&inner, source, config, device, options.progress)?,
        };
        objective.refresh(
            &inner,
            memory.clone(),
            source,
            config.eval_batch_size,
            device,
        )?;
        let refresh_seconds = started.elapsed().as_secs_f64() + earlier_seconds;
        let memory_ad: Option<Tensor<B, 2>> = memory.clone().map(Tensor::from_inner);

        // 2. One epoch of RMSprop over the shuffled training set.
        let lr = config.learning_rate_at(epoch);
        let epoch_seed = shuffle_seed(config.seed, epoch);
        let mut order: Vec<usize> = (0..n).collect();
        order.shuffle(&mut ChaCha8Rng::seed_from_u64(epoch_seed));
        let pb = progress_bar(options.progress, n as u64, &format!("epoch {}", epoch + 1));
        let mut loss_sum = 0.0f64;
        let mut steps = 0usize;
        // The last epoch's rows would feed no further epoch (encoding refreshes with an eval
        // pass), unless a validation pass needs them.
        let collect_now = collect && (epoch + 1 < config.num_epochs || validation.is_some());
        // Every item is visited once per epoch, so each row is overwritten: one buffer serves
        // all epochs.
        if collect_now && rows.is_empty() {
            rows = vec![0.0; n * d_feature];
        }
        let mut collect_seconds = 0.0;
        for (step, chunk) in order.chunks(config.batch_size).enumerate() {
            let input = source.train_batch::<B>(chunk, epoch_seed, device);
            let targets: Vec<i64> = chunk.iter().map(|&i| labels[i] as i64).collect();
            let targets =
                Tensor::<B, 1, Int>::from_data(TensorData::new(targets, [chunk.len()]), device);
            let out = model.forward_hash(input, memory_ad.clone());
            if collect_now {
                let t = Instant::now();
                let v = out
                    .v_direct
                    .clone()
                    .inner()
                    .into_data()
                    .convert::<f32>()
                    .into_vec::<f32>()
                    .expect("f32 data");
                for (row, &i) in v.chunks_exact(d_feature).zip(chunk) {
                    rows[i * d_feature..(i + 1) * d_feature].copy_from_slice(row);
                }
                collect_seconds += t.elapsed().as_secs_f64();
            }
            let loss = objective.loss(&out, targets);
            let value = loss.clone().into_scalar().elem::<f64>();
            if !value.is_finite() {
                pb.abandon();
                return Err(CoreError::NonFiniteLoss {
                    epoch: epoch + 1,
                    step: step + 1,
                    value,
                });
            }
            let mut grads = loss.backward();
            objective.step(&mut grads, lr);
            let grads = GradientsParams::from_module(&mut grads, &model);
            model = optim.step(lr, model, grads);
            loss_sum += value;
            steps += 1;
            pb.inc(chunk.len() as u64);
            if step % 16 == 0 {
                pb.set_message(format!("loss {:.4} lr {lr:.2e}", loss_sum / steps as f64));
            }
        }
        pb.finish_and_clear();
        if collect_now {
            let t = Instant::now();
            let (memory, filled) = memory_from_rows(&rows, d_feature, labels, config, device)?;
            let build_seconds = t.elapsed().as_secs_f64();
            carried = Some(Refresh {
                memory: Some(memory),
                filled,
                build_seconds,
                earlier_seconds: collect_seconds + build_seconds,
            });
        }

        // 3. Validation (model selection): the refreshed memory of the new model, the codes of
        //    the held-out items against the training items, MAP@all.
        let mut validation_map = None;
        if let Some(held_out) = &validation {
            let inner = model.valid();
            let refreshed = match &carried {
                Some(r) if collect => r.clone(),
                _ => refresh_if_used(&inner, source, config, device, options.progress)?,
            };
            let map = validation_map_of(
                &inner,
                refreshed.memory.clone(),
                source,
                held_out,
                config.eval_batch_size,
                device,
            );
            carried = Some(refreshed);
            if best.as_ref().is_none_or(|b| map > b.1) {
                best = Some((epoch + 1, map, inner));
            }
            validation_map = Some(map);
        }
        let seconds = started.elapsed().as_secs_f64();
        let record = EpochRecord {
            epoch: epoch + 1,
            learning_rate: lr,
            loss: loss_sum / steps.max(1) as f64,
            seconds,
            images_per_second: n as f64 / seconds.max(1e-9),
            memory_filled_slots: filled,
            refresh_seconds,
            memory_build_seconds,
            validation_map,
        };
        if options.progress {
            eprintln!("{record}");
        }
        history.push(record);

        // 4. Checkpoint, atomically.
        if let Some(dir) = &options.run_dir {
            // The next epoch's memory, when it comes from this epoch's steps.
            let saved_memory = carried
                .as_ref()
                .filter(|_| collect)
                .and_then(|r| r.memory.as_ref().map(|m| (r, m)));
            let meta = CheckpointMeta {
                epochs_done: epoch + 1,
                history: history.clone(),
                best: best.as_ref().map(|b| (b.0, b.1)),
                memory: saved_memory.map(|(r, m)| {
                    let [rows, cols] = m.dims();
                    SavedMemory {
                        rows,
                        cols,
                        filled_slots: r.filled,
                        build_seconds: r.build_seconds,
                        earlier_seconds: r.earlier_seconds,
                    }
                }),
            };
            Checkpoint::<B, M>::save(dir, &model, &optim.to_record(), &meta, |d| {
                objective.save(d)?;
                if let Some((_, m)) = saved_memory {
                    let values = m
                        .clone()
                        .into_data()
                        .convert::<f32>()
                        .into_vec::<f32>()
                        .expect("f32 data");
                    checkpoint::write_memory(d, &values)?;
                }
                if let Some((_, _, best_model)) = &best {
                    let path = d.join("best-model");
                    best_model
                        .clone()
                        .save_file(path.clone(), &checkpoint::recorder())
                        .map_err(|e| CoreError::Malformed {
                            path: path.clone(),
                            message: e.to_string(),
                        })?;
                    let file = d.join("best-model.bin");
                    std::fs::File::open(&file)
                        .and_then(|f| f.sync_all())
                        .map_err(|source| CoreError::Io { path: file, source })?;
                }
                Ok(())
            })?;
            log::write_jsonl(&dir.join("metrics.jsonl"), &history)?;
            log::write_loss_curve_svg(&dir.join("loss.svg"), &history)?;
        }
    }

    let finished = history.len() >= config.num_epochs;
    // Out-of-sample hashing uses the memory of the selected model: one more refresh pass, so
    // that an interrupted-and-resumed run and an uninterrupted one encode with the same memory.
    let (inner, selected_epoch) = match best {
        Some((epoch, _, m)) => (m, epoch),
        None => (model.valid(), history.len()),
    };
    let last_memory = refresh_if_used(&inner, source, config, device, options.progress)?.memory;
    Ok(Trained {
        model: inner,
        memory: last_memory,
        history,
        finished,
        selected_epoch,
    })
}

/// A refreshed memory and its cost.
#[derive(Clone)]
struct Refresh<B: Backend> {
    /// The memory, `None` when the head does not use one.
    memory: Option<Tensor<B, 2>>,
    /// Slots filled with a centroid copy.
    filled: usize,
    /// Seconds of its centroids and DPP.
    build_seconds: f64,
    /// Seconds spent on it before the epoch that uses it (collecting the previous epoch's rows
    /// and building it), added to that epoch's refresh time.
    earlier_seconds: f64,
}

fn refresh_if_used<B, M, S>(
    model: &M,
    source: &S,
    config: &TrainConfig,
    device: &B::Device,
    progress: bool,
) -> Result<Refresh<B>, CoreError>
where
    B: Backend,
    S: Source,
    M: HashNetwork<B, S::Input<B>>,
{
    if !model.head().uses_memory() {
        return Ok(Refresh {
            memory: None,
            filled: 0,
            build_seconds: 0.0,
            earlier_seconds: 0.0,
        });
    }
    let r = refresh_memory(model, source, config, device, progress)?;
    Ok(Refresh {
        memory: Some(r.memory),
        filled: r.filled_slots,
        build_seconds: r.build_seconds,
        earlier_seconds: 0.0,
    })
}

/// MAP@all (ties by index) of the `queries`' codes against the `database`'s codes.
fn validation_map_of<B, M, S>(
    model: &M,
    memory: Option<Tensor<B, 2>>,
    database: &S,
    queries: &S,
    batch_size: usize,
    device: &B::Device,
) -> f64
where
    B: Backend,
    S: Source,
    M: HashNetwork<B, S::Input<B>>,
{
    let bits = model.head().d_code();
    let db = encode_relaxed(model, memory.clone(), database, batch_size, device, false);
    let q = encode_relaxed(model, memory, queries, batch_size, device, false);
    evaluate(
        &PackedCodes::from_signs(&q, bits),
        &Labels::Single(queries.labels().to_vec()),
        &PackedCodes::from_signs(&db, bits),
        &Labels::Single(database.labels().to_vec()),
        &EvalConfig::default(),
    )
    .map
}

/// Seed Burn's parameter initialisation on `device` (call before building the model).
pub fn init_seed<B: Backend>(device: &B::Device, seed: u64) {
    B::seed(device, seed);
}

/// The seed of epoch `epoch`'s shuffle (SplitMix64 of the run seed and the epoch).
fn shuffle_seed(seed: u64, epoch: usize) -> u64 {
    let mut z = seed ^ (epoch as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The directory holding a run's checkpoints (`epoch-NNNN/` and `LATEST`).
pub fn checkpoint_dir(run_dir: &Path) -> PathBuf {
    run_dir.join("checkpoints")
}
