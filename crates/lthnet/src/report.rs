//! Evaluation reports for [`crate::experiment`]: MAP, tie-aware MAP, P@N, P/R within radius 2,
//! head / medium / tail MAP, printed as a table and plotted.

use std::path::Path;

use lthnet_retrieval::{
    ClassBreakdown, EvalConfig, EvalReport, GroupThresholds, Labels, PackedCodes, class_breakdown,
    evaluate,
};
use plotters::prelude::*;

use crate::experiment::Codes;

/// The evaluation of one method.
#[derive(Debug, Clone)]
pub struct Report {
    /// Method name.
    pub name: String,
    /// Code length.
    pub bits: usize,
    /// Retrieval metrics (MAP@all with ties by index, tie-aware MAP, P@N, radius-2, PR curve).
    pub eval: EvalReport,
    /// Per-class and head / medium / tail MAP.
    pub breakdown: ClassBreakdown,
    /// Seconds spent fitting.
    pub fit_seconds: f64,
}

/// Evaluate `codes` (queries against the database, single-label relevance: the labels of the
/// query and database items) and break MAP down by the training size of the query's class.
pub fn evaluate_codes(
    name: &str,
    codes: &Codes,
    query_labels: &[u32],
    database_labels: &[u32],
    train_class_sizes: &[usize],
) -> Result<Report, lthnet_core::CoreError> {
    let q = PackedCodes::from_signs(&codes.query, codes.bits);
    let db = PackedCodes::from_signs(&codes.database, codes.bits);
    let ql = Labels::Single(query_labels.to_vec());
    let dl = Labels::Single(database_labels.to_vec());
    let eval = evaluate(&q, &ql, &db, &dl, &EvalConfig::default());
    let breakdown = class_breakdown(&eval, &ql, train_class_sizes, GroupThresholds::default());
    Ok(Report {
        name: name.to_string(),
        bits: codes.bits,
        eval,
        breakdown,
        fit_seconds: codes.fit_seconds,
    })
}

fn opt(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.4}"))
        .unwrap_or_else(|| "  -   ".into())
}

/// Print reports as a Markdown table.
pub fn print_table(reports: &[Report]) {
    println!(
        "| method | bits | MAP@all | tie-aware MAP | P@100 | P@H≤2 | R@H≤2 | many | medium | few | fit s |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for r in reports {
        let p100 = r
            .eval
            .precision_at
            .iter()
            .find(|(n, _)| *n == 100)
            .map(|(_, p)| *p);
        println!(
            "| {} | {} | {:.4} | {:.4} | {} | {:.4} | {:.4} | {} | {} | {} | {:.1} |",
            r.name,
            r.bits,
            r.eval.map,
            r.eval.map_tie_aware,
            opt(p100),
            r.eval.precision_radius,
            r.eval.recall_radius,
            opt(r.breakdown.many),
            opt(r.breakdown.medium),
            opt(r.breakdown.few),
            r.fit_seconds
        );
    }
}

fn plot_err(path: &Path, e: impl std::fmt::Display) -> lthnet_core::CoreError {
    lthnet_core::CoreError::Malformed {
        path: path.to_path_buf(),
        message: format!("cannot draw: {e}"),
    }
}

/// Precision–recall curve by Hamming radius (0..=bits) as SVG.
pub fn write_pr_curve(path: &Path, report: &Report) -> Result<(), lthnet_core::CoreError> {
    let root = SVGBackend::new(path, (640, 480)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| plot_err(path, e))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!(
                "{} ({} bits): PR by Hamming radius",
                report.name, report.bits
            ),
            ("sans-serif", 18),
        )
        .margin(12)
        .x_label_area_size(35)
        .y_label_area_size(45)
        .build_cartesian_2d(0f64..1f64, 0f64..1f64)
        .map_err(|e| plot_err(path, e))?;
    chart
        .configure_mesh()
        .x_desc("recall")
        .y_desc("precision")
        .draw()
        .map_err(|e| plot_err(path, e))?;
    let pts: Vec<(f64, f64)> = report
        .eval
        .pr_curve
        .iter()
        .map(|&(_, p, r)| (r, p))
        .collect();
    chart
        .draw_series(LineSeries::new(pts.clone(), &BLUE))
        .map_err(|e| plot_err(path, e))?;
    chart
        .draw_series(pts.iter().map(|&p| Circle::new(p, 3, BLUE.filled())))
        .map_err(|e| plot_err(path, e))?;
    root.present().map_err(|e| plot_err(path, e))?;
    Ok(())
}

/// Per-class AP against the class's training-set size (log scale) for several methods, as SVG.
pub fn write_map_vs_class_size(
    path: &Path,
    reports: &[&Report],
    train_class_sizes: &[usize],
) -> Result<(), lthnet_core::CoreError> {
    let root = SVGBackend::new(path, (720, 480)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| plot_err(path, e))?;
    let max_n = train_class_sizes.iter().copied().max().unwrap_or(1).max(2) as f64;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "per-class MAP vs training images of the class",
            ("sans-serif", 18),
        )
        .margin(12)
        .x_label_area_size(35)
        .y_label_area_size(45)
        .build_cartesian_2d((1f64..max_n * 1.2).log_scale(), 0f64..1f64)
        .map_err(|e| plot_err(path, e))?;
    chart
        .configure_mesh()
        .x_desc("training images of the class")
        .y_desc("class MAP")
        .draw()
        .map_err(|e| plot_err(path, e))?;
    let colours = [BLUE, RED, GREEN, MAGENTA, CYAN, BLACK];
    for (k, r) in reports.iter().enumerate() {
        let colour = colours[k % colours.len()];
        let pts: Vec<(f64, f64)> = r
            .breakdown
            .per_class
            .iter()
            .enumerate()
            .filter_map(|(c, ap)| {
                ap.map(|a| {
                    (
                        train_class_sizes.get(c).copied().unwrap_or(1).max(1) as f64,
                        a,
                    )
                })
            })
            .collect();
        chart
            .draw_series(pts.iter().map(|&p| Circle::new(p, 3, colour.filled())))
            .map_err(|e| plot_err(path, e))?
            .label(format!("{} ({} bits)", r.name, r.bits))
            .legend(move |(x, y)| Circle::new((x, y), 4, colour.filled()));
    }
    chart
        .configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE.mix(0.8))
        .draw()
        .map_err(|e| plot_err(path, e))?;
    root.present().map_err(|e| plot_err(path, e))?;
    Ok(())
}
