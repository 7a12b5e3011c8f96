//! Plots of evaluation results with `plotters`: the precision–recall curve by Hamming radius
//! and per-class MAP against the class's training-set size, as SVG and PNG.
//!
//! The SVG files carry titles, axis labels, tick labels and a legend. The workspace builds
//! `plotters` without a font engine (no `ttf`/`ab_glyph`: they need system fonts), so the PNG
//! files draw the same axes, grid (every 0.1 on probability axes, every power of ten on the
//! size axis) and series, **without text**; use the SVG when labels matter. Series colours follow
//! the order of the `series` argument: blue, red, green, magenta, cyan, black, then repeat.
//!
//! ```no_run
//! # fn demo(report: &lthnet_retrieval::EvalReport) -> Result<(), lthnet_retrieval::RetrievalError> {
//! use lthnet_retrieval::plot;
//! plot::pr_curve_svg("pr.svg".as_ref(), "CIFAR-100, IF 100", &[("LTHNet 64 bits", report)])?;
//! plot::pr_curve_png("pr.png".as_ref(), &[("LTHNet 64 bits", report)])?;
//! # Ok(()) }
//! ```

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::error::RetrievalError;
use crate::metrics::{ClassBreakdown, EvalReport};

const COLOURS: [RGBColor; 6] = [BLUE, RED, GREEN, MAGENTA, CYAN, BLACK];

/// Image size of every plot, in pixels.
pub const SIZE: (u32, u32) = (720, 480);

fn plot_err(path: &Path, e: impl std::fmt::Display) -> RetrievalError {
    RetrievalError::Plot {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

fn pr_points(report: &EvalReport) -> Vec<(f64, f64)> {
    report.pr_curve.iter().map(|&(_, p, r)| (r, p)).collect()
}

fn draw_pr<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: Option<&str>,
    series: &[(&str, &EvalReport)],
) -> Result<(), String> {
    let text = title.is_some();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let mut builder = ChartBuilder::on(root);
    builder.margin(16);
    if let Some(t) = title {
        builder
            .caption(t, ("sans-serif", 20))
            .x_label_area_size(40)
            .y_label_area_size(50);
    }
    let mut chart = builder
        .build_cartesian_2d(0f64..1f64, 0f64..1.02f64)
        .map_err(|e| e.to_string())?;
    let mut mesh = chart.configure_mesh();
    if text {
        mesh.x_desc("recall (Hamming radius 0..K)")
            .y_desc("precision")
            .x_labels(11)
            .y_labels(11);
    } else {
        mesh.x_labels(11)
            .y_labels(11)
            .x_label_formatter(&|_| String::new())
            .y_label_formatter(&|_| String::new());
    }
    if text {
        mesh.draw().map_err(|e| e.to_string())?;
    } else {
        draw_grid(root, &chart)?;
    }
    for (k, (name, report)) in series.iter().enumerate() {
        let colour = COLOURS[k % COLOURS.len()];
        let pts = pr_points(report);
        let line = chart
            .draw_series(LineSeries::new(pts.clone(), colour.stroke_width(2)))
            .map_err(|e| e.to_string())?;
        if text {
            line.label(*name).legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
            });
        }
        chart
            .draw_series(pts.iter().map(|&p| Circle::new(p, 3, colour.filled())))
            .map_err(|e| e.to_string())?;
    }
    if text && !series.is_empty() {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .border_style(BLACK)
            .background_style(WHITE.mix(0.85))
            .draw()
            .map_err(|e| e.to_string())?;
    }
    root.present().map_err(|e| e.to_string())
}

/// Grid and frame without any text (for the bitmap backend, which has no font engine here).
fn draw_grid<DB: DrawingBackend, X, Y>(
    root: &DrawingArea<DB, Shift>,
    chart: &ChartContext<'_, DB, Cartesian2d<X, Y>>,
) -> Result<(), String>
where
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    let (xr, yr) = (chart.x_range(), chart.y_range());
    let grid = RGBColor(220, 220, 220);
    let to = |x: f64, y: f64| chart.backend_coord(&(x, y));
    let xs: Vec<f64> = if xr.end > 10.0 {
        // Log size axis: powers of ten.
        (0..8)
            .map(|e| 10f64.powi(e))
            .filter(|v| *v >= xr.start && *v <= xr.end)
            .collect()
    } else {
        (0..=10).map(|i| i as f64 / 10.0).collect()
    };
    for x in xs {
        root.draw(&PathElement::new(
            vec![to(x, yr.start), to(x, yr.end)],
            grid,
        ))
        .map_err(|e| e.to_string())?;
    }
    for i in 0..=10 {
        let y = i as f64 / 10.0;
        if y > yr.end {
            break;
        }
        root.draw(&PathElement::new(
            vec![to(xr.start, y), to(xr.end, y)],
            grid,
        ))
        .map_err(|e| e.to_string())?;
    }
    let corners = vec![
        to(xr.start, yr.start),
        to(xr.end, yr.start),
        to(xr.end, yr.end),
        to(xr.start, yr.end),
        to(xr.start, yr.start),
    ];
    root.draw(&PathElement::new(corners, BLACK))
        .map_err(|e| e.to_string())
}

fn draw_by_size<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: Option<&str>,
    series: &[(&str, &ClassBreakdown)],
) -> Result<(), String> {
    let text = title.is_some();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let max_n = series
        .iter()
        .flat_map(|(_, b)| b.train_class_sizes.iter().copied())
        .max()
        .unwrap_or(1)
        .max(10) as f64;
    let mut builder = ChartBuilder::on(root);
    builder.margin(16);
    if let Some(t) = title {
        builder
            .caption(t, ("sans-serif", 20))
            .x_label_area_size(40)
            .y_label_area_size(50);
    }
    let mut chart = builder
        .build_cartesian_2d((1f64..max_n * 1.5).log_scale(), 0f64..1.02f64)
        .map_err(|e| e.to_string())?;
    if text {
        chart
            .configure_mesh()
            .x_desc("training images of the class (log scale)")
            .y_desc("MAP of the class's queries")
            .draw()
            .map_err(|e| e.to_string())?;
    } else {
        draw_grid(root, &chart)?;
    }
    for (k, (name, b)) in series.iter().enumerate() {
        let colour = COLOURS[k % COLOURS.len()];
        let mut pts: Vec<(f64, f64)> = b
            .per_class
            .iter()
            .zip(&b.train_class_sizes)
            .filter_map(|(ap, &n)| ap.map(|a| ((n.max(1)) as f64, a)))
            .collect();
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        let dots = chart
            .draw_series(pts.iter().map(|&p| Circle::new(p, 3, colour.filled())))
            .map_err(|e| e.to_string())?;
        if text {
            dots.label(*name)
                .legend(move |(x, y)| Circle::new((x + 10, y), 4, colour.filled()));
        }
        // Group means as horizontal segments over each group's size range.
        let t = b.thresholds;
        let groups = [
            (b.few, 1.0, t.few_below.max(1) as f64),
            (
                b.medium,
                t.few_below.max(1) as f64,
                (t.many_above + 1) as f64,
            ),
            (b.many, (t.many_above + 1) as f64, max_n * 1.5),
        ];
        for (m, lo, hi) in groups {
            if let Some(m) = m
                && hi > lo
            {
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        vec![(lo, m), (hi, m)],
                        colour.mix(0.6).stroke_width(2),
                    )))
                    .map_err(|e| e.to_string())?;
            }
        }
    }
    if text && !series.is_empty() {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .border_style(BLACK)
            .background_style(WHITE.mix(0.85))
            .draw()
            .map_err(|e| e.to_string())?;
    }
    root.present().map_err(|e| e.to_string())
}

/// Precision–recall curves by Hamming radius (the K + 1 points of
/// [`EvalReport::pr_curve`]), one series per `(name, report)`, as SVG.
///
/// # Errors
/// [`RetrievalError::Plot`] if the file cannot be drawn or written.
pub fn pr_curve_svg(
    path: &Path,
    title: &str,
    series: &[(&str, &EvalReport)],
) -> Result<(), RetrievalError> {
    let root = SVGBackend::new(path, SIZE).into_drawing_area();
    draw_pr(&root, Some(title), series).map_err(|e| plot_err(path, e))
}

/// [`pr_curve_svg`] as PNG, without text (see the module docs).
///
/// # Errors
/// [`RetrievalError::Plot`] if the file cannot be drawn or written.
pub fn pr_curve_png(path: &Path, series: &[(&str, &EvalReport)]) -> Result<(), RetrievalError> {
    let root = BitMapBackend::new(path, SIZE).into_drawing_area();
    draw_pr(&root, None, series).map_err(|e| plot_err(path, e))
}

/// Per-class MAP against the class's training-set size (log scale; one dot per class with
/// queries) with the few / medium / many group means as horizontal segments, one series per
/// `(name, breakdown)`, as SVG.
///
/// # Errors
/// [`RetrievalError::Plot`] if the file cannot be drawn or written.
pub fn map_by_class_size_svg(
    path: &Path,
    title: &str,
    series: &[(&str, &ClassBreakdown)],
) -> Result<(), RetrievalError> {
    let root = SVGBackend::new(path, SIZE).into_drawing_area();
    draw_by_size(&root, Some(title), series).map_err(|e| plot_err(path, e))
}

/// [`map_by_class_size_svg`] as PNG, without text (see the module docs).
///
/// # Errors
/// [`RetrievalError::Plot`] if the file cannot be drawn or written.
pub fn map_by_class_size_png(
    path: &Path,
    series: &[(&str, &ClassBreakdown)],
) -> Result<(), RetrievalError> {
    let root = BitMapBackend::new(path, SIZE).into_drawing_area();
    draw_by_size(&root, None, series).map_err(|e| plot_err(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{EvalConfig, GroupThresholds, Labels, PackedCodes, class_breakdown, evaluate};

    #[test]
    fn plots_are_written() {
        let db = PackedCodes::from_signs(&[1.0, 1.0, 1.0, -1.0, -1.0, -1.0, -1.0, 1.0], 2);
        let q = PackedCodes::from_signs(&[1.0, 1.0, -1.0, -1.0], 2);
        let ql = Labels::Single(vec![0, 1]);
        let rep = evaluate(
            &q,
            &ql,
            &db,
            &Labels::Single(vec![0, 0, 1, 1]),
            &EvalConfig::default(),
        );
        let b = class_breakdown(&rep, &ql, &[500, 7], GroupThresholds::default());
        let dir = tempfile::tempdir().unwrap();
        let p = |n: &str| dir.path().join(n);
        pr_curve_svg(&p("pr.svg"), "test", &[("a", &rep), ("b", &rep)]).unwrap();
        pr_curve_png(&p("pr.png"), &[("a", &rep)]).unwrap();
        map_by_class_size_svg(&p("m.svg"), "test", &[("a", &b)]).unwrap();
        map_by_class_size_png(&p("m.png"), &[("a", &b)]).unwrap();
        let svg = std::fs::read_to_string(p("pr.svg")).unwrap();
        assert!(svg.contains("<svg") && svg.contains("precision"));
        let png = std::fs::read(p("m.png")).unwrap();
        assert_eq!(&png[1..4], b"PNG");
        let e = pr_curve_png(&p("missing-dir/pr.png"), &[("a", &rep)]).unwrap_err();
        assert!(matches!(e, RetrievalError::Plot { .. }), "{e}");
    }
}
