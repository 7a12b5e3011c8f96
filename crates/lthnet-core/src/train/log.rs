//! Per-epoch metrics: JSON lines and a loss-curve SVG.

use std::fmt;
use std::io::Write;
use std::path::Path;

use plotters::prelude::*;
use serde::{Deserialize, Serialize};

use crate::CoreError;

/// What one epoch measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// 1-based epoch number.
    pub epoch: usize,
    /// Learning rate used in this epoch.
    pub learning_rate: f64,
    /// Mean training loss over the epoch's steps.
    pub loss: f64,
    /// Wall time of the epoch (refresh + training), seconds.
    pub seconds: f64,
    /// Training items per second over the whole epoch.
    pub images_per_second: f64,
    /// Memory slots filled with a centroid copy (classes with ≤ k samples or an early DPP stop).
    pub memory_filled_slots: usize,
    /// Seconds of the epoch spent refreshing the memory (the `v_direct` pass, centroids and DPP)
    /// and the objective's per-epoch state; included in `seconds`.
    #[serde(default)]
    pub refresh_seconds: f64,
    /// The part of `refresh_seconds` spent on centroids and DPP selection (the rest is the
    /// gradient-free `v_direct` pass over the training set and the objective's refresh).
    #[serde(default)]
    pub memory_build_seconds: f64,
    /// MAP@all of the validation split after this epoch
    /// ([`ModelSelection::BestValidationMap`](super::ModelSelection::BestValidationMap) only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation_map: Option<f64>,
}

impl fmt::Display for EpochRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "epoch {:>3}  loss {:.5}  lr {:.3e}  {:.1} s (refresh {:.2} s, of it DPP+centroids {:.3} s)  {:.0} items/s",
            self.epoch,
            self.loss,
            self.learning_rate,
            self.seconds,
            self.refresh_seconds,
            self.memory_build_seconds,
            self.images_per_second
        )?;
        if let Some(map) = self.validation_map {
            write!(f, "  validation MAP {map:.4}")?;
        }
        Ok(())
    }
}

/// Write `history` as JSON lines to `path`, atomically (temporary file + rename): the file always
/// matches the checkpoint's history, also after a kill and resume.
pub(crate) fn write_jsonl(path: &Path, history: &[EpochRecord]) -> Result<(), CoreError> {
    let tmp = path.with_extension("jsonl.tmp");
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |source| CoreError::Io { path: p, source }
    };
    let mut text = String::new();
    for record in history {
        text.push_str(&serde_json::to_string(record).expect("record serialises"));
        text.push('\n');
    }
    let mut f = std::fs::File::create(&tmp).map_err(io(&tmp))?;
    f.write_all(text.as_bytes()).map_err(io(&tmp))?;
    f.sync_all().map_err(io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io(path))
}

/// Draw the training-loss curve of `history` into an SVG file.
pub fn write_loss_curve_svg(path: &Path, history: &[EpochRecord]) -> Result<(), CoreError> {
    if history.is_empty() {
        return Ok(());
    }
    let err = |e: String| CoreError::Malformed {
        path: path.to_path_buf(),
        message: format!("cannot draw the loss curve: {e}"),
    };
    let max_loss = history
        .iter()
        .map(|r| r.loss)
        .fold(f64::MIN, f64::max)
        .max(1e-12);
    let min_loss = history
        .iter()
        .map(|r| r.loss)
        .fold(f64::MAX, f64::min)
        .min(max_loss);
    let last = history.last().map(|r| r.epoch).unwrap_or(1).max(2);
    let root = SVGBackend::new(path, (640, 400)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(e.to_string()))?;
    let mut chart = ChartBuilder::on(&root)
        .caption("training loss", ("sans-serif", 20))
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(55)
        .build_cartesian_2d(1f64..last as f64, (min_loss * 0.95)..(max_loss * 1.05))
        .map_err(|e| err(e.to_string()))?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc("loss")
        .draw()
        .map_err(|e| err(e.to_string()))?;
    chart
        .draw_series(LineSeries::new(
            history.iter().map(|r| (r.epoch as f64, r.loss)),
            &BLUE,
        ))
        .map_err(|e| err(e.to_string()))?;
    root.present().map_err(|e| err(e.to_string()))?;
    Ok(())
}
