//! Strict import of PyTorch-layout weights (`.pth` / `.safetensors`) through `burn::store`.
//!
//! Burn's stores already fail on missing keys when partial loading is off; this wrapper also
//! fails on shape mismatches and on *unexpected* keys (a ResNet-34 file loaded into a ResNet-18
//! would otherwise leave `layer1.2.*` unused without complaint), and reports every offending key
//! in one [`CoreError::WeightImport`].

use std::collections::HashSet;
use std::path::Path;

use burn::prelude::*;
use burn::store::{
    ApplyResult, ModuleSnapshot, PyTorchToBurnAdapter, PytorchStore, SafetensorsStore,
};

use crate::CoreError;

/// Which container a weight file uses, from its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    /// `torch.save` pickle/zip (`.pth`, `.pt`, `.bin`, `.ckpt`).
    Pytorch,
    /// `.safetensors`.
    Safetensors,
}

fn format_of(path: &Path) -> Result<Format, CoreError> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("safetensors") => Ok(Format::Safetensors),
        Some("pth" | "pt" | "bin" | "ckpt") => Ok(Format::Pytorch),
        _ => Err(CoreError::WeightImport {
            path: path.to_path_buf(),
            message: "unknown weight format: expected a `.safetensors` file or a PyTorch \
                      state dict saved with `torch.save` (`.pth`, `.pt`, `.bin`, `.ckpt`)"
                .into(),
        }),
    }
}

/// Load a PyTorch-layout state dict into `module`, strictly.
///
/// - `remap`: `(regex, replacement)` pairs applied to the file's keys before matching (the
///   key-remapping of `burn::store`).
/// - `ignore_unused`: file keys (after remapping) that may be present without a matching module
///   parameter (e.g. a classifier that the backbone drops, `num_batches_tracked`).
/// - `note`: appended to the error message (e.g. how module paths relate to the file's keys).
///
/// PyTorch's BatchNorm `weight`/`bias` become Burn's `gamma`/`beta` and Linear weights are
/// transposed ([`PyTorchToBurnAdapter`]), for both formats.
///
/// # Errors
/// [`CoreError::Io`] if the file cannot be opened; [`CoreError::WeightImport`] for an unknown
/// extension, an unreadable file, or any missing / mismatched / unexpected key (all listed).
pub(crate) fn load_pytorch_layout<B, M>(
    module: M,
    path: &Path,
    remap: &[(&str, &str)],
    ignore_unused: impl Fn(&str) -> bool,
    note: &str,
) -> Result<M, CoreError>
where
    B: Backend,
    M: ModuleSnapshot<B>,
{
    std::fs::File::open(path).map_err(|source| CoreError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let import_err = |message: String| CoreError::WeightImport {
        path: path.to_path_buf(),
        message,
    };
    let mut module = module;
    let result: ApplyResult = match format_of(path)? {
        Format::Pytorch => {
            let mut store = PytorchStore::from_file(path)
                .map_indices_contiguous(false)
                .validate(false)
                .allow_partial(true);
            for (from, to) in remap {
                store = store.with_key_remapping(*from, *to);
            }
            module
                .load_from(&mut store)
                .map_err(|e| import_err(e.to_string()))?
        }
        Format::Safetensors => {
            let mut store = SafetensorsStore::from_file(path)
                .with_from_adapter(PyTorchToBurnAdapter)
                .validate(false)
                .allow_partial(true);
            for (from, to) in remap {
                store = store.with_key_remapping(*from, *to);
            }
            module
                .load_from(&mut store)
                .map_err(|e| import_err(e.to_string()))?
        }
    };
    let mut problems = Vec::new();
    if !result.missing.is_empty() {
        let keys: Vec<&str> = result.missing.iter().map(|(k, _)| k.as_str()).collect();
        problems.push(format!(
            "{} missing key(s) (module parameters absent from the file): {}",
            keys.len(),
            keys.join(", ")
        ));
    }
    if !result.errors.is_empty() {
        let errs: Vec<String> = result.errors.iter().map(|e| e.to_string()).collect();
        problems.push(format!(
            "{} mismatched key(s): {}",
            errs.len(),
            errs.join("; ")
        ));
    }
    // burn-store 0.21 lists a PyTorch BatchNorm `weight`/`bias` as unused even when the adapter
    // applied it as `gamma`/`beta`: those are not surplus.
    let applied: HashSet<&str> = result.applied.iter().map(String::as_str).collect();
    let adapted = |k: &str| {
        let renamed = match (k.strip_suffix(".weight"), k.strip_suffix(".bias")) {
            (Some(p), _) => format!("{p}.gamma"),
            (_, Some(p)) => format!("{p}.beta"),
            _ => return false,
        };
        applied.contains(renamed.as_str())
    };
    let unexpected: Vec<&str> = result
        .unused
        .iter()
        .map(String::as_str)
        .filter(|k| !ignore_unused(k) && !adapted(k))
        .collect();
    if !unexpected.is_empty() {
        problems.push(format!(
            "{} unexpected key(s) (in the file, not in the module; wrong architecture?): {}",
            unexpected.len(),
            unexpected.join(", ")
        ));
    }
    if problems.is_empty() {
        Ok(module)
    } else {
        if !note.is_empty() {
            problems.push(note.to_string());
        }
        Err(import_err(problems.join("\n")))
    }
}
