//! Atomic per-epoch checkpoints: model, optimizer state, epoch counter and history.
//!
//! Layout inside the run directory:
//!
//! ```text
//! checkpoints/epoch-0007/{model.bin, optimizer.bin, meta.json}
//! checkpoints/LATEST          # "epoch-0007"
//! ```
//!
//! A checkpoint is written into `epoch-NNNN.tmp`, renamed into place, and only then published
//! by atomically replacing `LATEST` (write to a temporary file, rename). A run killed at any
//! moment leaves `LATEST` pointing at a complete checkpoint. Older checkpoints are removed after
//! the new one is published. Shuffles are derived from `(seed, epoch)` and the memory is
//! recomputed from the model, so no RNG state needs saving. With
//! [`RefreshFeatures::TrainingPass`](super::RefreshFeatures::TrainingPass) the next epoch's memory
//! comes from the last epoch's training steps instead, and is saved as `memory.f32` (raw
//! little-endian `f32`, shape in `meta.json`).

use std::fs;
use std::path::{Path, PathBuf};

use burn::module::AutodiffModule;
use burn::optim::Optimizer;
use burn::optim::adaptor::OptimizerAdaptor;
use burn::record::{BinFileRecorder, FullPrecisionSettings, Recorder};
use burn::tensor::backend::AutodiffBackend;
use serde::{Deserialize, Serialize};

use super::log::EpochRecord;
use crate::CoreError;

/// The optimizer-state record of the trainer's RMSprop.
pub type OptimizerRecord<M, B> =
    <OptimizerAdaptor<super::TorchRmsProp, M, B> as Optimizer<M, B>>::Record;

/// What a checkpoint says besides the tensors.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckpointMeta {
    /// Epochs completed.
    pub epochs_done: usize,
    /// Per-epoch history so far.
    pub history: Vec<EpochRecord>,
    /// With validation-based selection: the best epoch so far (1-based) and its validation MAP;
    /// its model is saved beside the checkpoint as `best-model.bin`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub best: Option<(usize, f64)>,
    /// With `RefreshFeatures::TrainingPass`: the memory built from the last epoch's training
    /// steps for the next epoch, saved beside the checkpoint as `memory.f32`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<SavedMemory>,
}

/// Shape and bookkeeping of a memory saved in a checkpoint (`memory.f32`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedMemory {
    /// Rows, `(k+1)·C`.
    pub rows: usize,
    /// Columns, `d_feature`.
    pub cols: usize,
    /// Slots filled with a centroid copy.
    pub filled_slots: usize,
    /// Seconds its centroids and DPP took.
    pub build_seconds: f64,
    /// Seconds spent on it during the epoch that produced it (collecting rows and building).
    pub earlier_seconds: f64,
}

const MEMORY_FILE: &str = "memory.f32";

/// Write `values` (the memory rows, row-major) into checkpoint directory `dir` and sync it.
pub(crate) fn write_memory(dir: &Path, values: &[f32]) -> Result<(), CoreError> {
    let path = dir.join(MEMORY_FILE);
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    fs::write(&path, bytes).map_err(io(&path))?;
    fs::File::open(&path)
        .and_then(|f| f.sync_all())
        .map_err(io(&path))
}

/// Read the memory saved by [`write_memory`], checking its size against `saved`.
pub(crate) fn read_memory(dir: &Path, saved: &SavedMemory) -> Result<Vec<f32>, CoreError> {
    let path = dir.join(MEMORY_FILE);
    let bytes = fs::read(&path).map_err(io(&path))?;
    let expected = saved.rows * saved.cols * 4;
    if bytes.len() != expected {
        return Err(malformed(
            &path,
            format!(
                "{} bytes, expected {expected} for a {} × {} f32 memory",
                bytes.len(),
                saved.rows,
                saved.cols
            ),
        ));
    }
    Ok(bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}

/// A loaded checkpoint.
pub struct Checkpoint<B: AutodiffBackend, M: AutodiffModule<B>> {
    /// The model with the checkpoint's parameters.
    pub model: M,
    /// RMSprop state.
    pub optimizer: OptimizerRecord<M, B>,
    /// Epoch counter and history.
    pub meta: CheckpointMeta,
    /// The checkpoint's directory (for state saved beside the model, e.g. the objective's).
    pub dir: PathBuf,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> CoreError + '_ {
    move |source| CoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

pub(crate) fn recorder() -> BinFileRecorder<FullPrecisionSettings> {
    BinFileRecorder::<FullPrecisionSettings>::new()
}

fn checkpoints_root(run_dir: &Path) -> PathBuf {
    run_dir.join("checkpoints")
}

fn malformed(path: &Path, message: impl std::fmt::Display) -> CoreError {
    CoreError::Malformed {
        path: path.to_path_buf(),
        message: message.to_string(),
    }
}

impl<B: AutodiffBackend, M: AutodiffModule<B>> Checkpoint<B, M> {
    /// Write a checkpoint of `model` and `optimizer` after `meta.epochs_done` epochs.
    ///
    /// `extra` writes (and syncs) any further state into the checkpoint's directory before it
    /// is published.
    pub fn save(
        run_dir: &Path,
        model: &M,
        optimizer: &OptimizerRecord<M, B>,
        meta: &CheckpointMeta,
        extra: impl FnOnce(&Path) -> Result<(), CoreError>,
    ) -> Result<(), CoreError> {
        let root = checkpoints_root(run_dir);
        fs::create_dir_all(&root).map_err(io(&root))?;
        let name = format!("epoch-{:04}", meta.epochs_done);
        let tmp = root.join(format!("{name}.tmp"));
        let fin = root.join(&name);
        if tmp.exists() {
            fs::remove_dir_all(&tmp).map_err(io(&tmp))?;
        }
        fs::create_dir_all(&tmp).map_err(io(&tmp))?;
        let model_path = tmp.join("model");
        model
            .clone()
            .save_file(model_path.clone(), &recorder())
            .map_err(|e| malformed(&model_path, e))?;
        let optim_path = tmp.join("optimizer");
        Recorder::<B>::record(&recorder(), optimizer.clone(), optim_path.clone())
            .map_err(|e| malformed(&optim_path, e))?;
        let meta_path = tmp.join("meta.json");
        let json = serde_json::to_vec_pretty(meta).expect("meta serialises");
        fs::write(&meta_path, json).map_err(io(&meta_path))?;
        for f in ["model.bin", "optimizer.bin", "meta.json"] {
            let p = tmp.join(f);
            fs::File::open(&p)
                .and_then(|file| file.sync_all())
                .map_err(io(&p))?;
        }
        extra(&tmp)?;
        if fin.exists() {
            fs::remove_dir_all(&fin).map_err(io(&fin))?;
        }
        fs::rename(&tmp, &fin).map_err(io(&fin))?;
        let latest_tmp = root.join("LATEST.tmp");
        fs::write(&latest_tmp, &name).map_err(io(&latest_tmp))?;
        fs::File::open(&latest_tmp)
            .and_then(|f| f.sync_all())
            .map_err(io(&latest_tmp))?;
        let latest = root.join("LATEST");
        fs::rename(&latest_tmp, &latest).map_err(io(&latest))?;
        // Remove older checkpoints only now that the new one is published.
        for entry in fs::read_dir(&root).map_err(io(&root))? {
            let entry = entry.map_err(io(&root))?;
            let file_name = entry.file_name();
            let s = file_name.to_string_lossy();
            if s.starts_with("epoch-") && s != name {
                let _ = fs::remove_dir_all(entry.path());
            }
        }
        Ok(())
    }

    /// Load the latest checkpoint of a run, if any, into `model` (which supplies the structure).
    pub fn load_latest(
        run_dir: &Path,
        model: M,
        device: &B::Device,
    ) -> Result<Option<Self>, CoreError> {
        let root = checkpoints_root(run_dir);
        let latest = root.join("LATEST");
        let name = match fs::read_to_string(&latest) {
            Ok(s) => s.trim().to_string(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(&latest)(e)),
        };
        if !name.starts_with("epoch-") || name.contains('/') {
            return Err(malformed(
                &latest,
                format!("unexpected checkpoint name {name:?}"),
            ));
        }
        let dir = root.join(&name);
        let meta_path = dir.join("meta.json");
        let meta: CheckpointMeta =
            serde_json::from_slice(&fs::read(&meta_path).map_err(io(&meta_path))?)
                .map_err(|e| malformed(&meta_path, e))?;
        let model_path = dir.join("model");
        let model = model
            .load_file(model_path.clone(), &recorder(), device)
            .map_err(|e| malformed(&dir.join("model.bin"), e))?;
        let optim_path = dir.join("optimizer");
        let optimizer: OptimizerRecord<M, B> = Recorder::<B>::load(&recorder(), optim_path, device)
            .map_err(|e| malformed(&dir.join("optimizer.bin"), e))?;
        Ok(Some(Self {
            model,
            optimizer,
            meta,
            dir,
        }))
    }
}
