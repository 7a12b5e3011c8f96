//! `lthnet eval`: MAP@all (or MAP@R), tie-aware MAP, P@{1,10,100,1000}, P/R within Hamming
//! radius 2 and, with training labels, the head / medium / tail table; optionally PR and
//! MAP-by-class-size plots.

use std::path::PathBuf;

use anyhow::Context;
use lthnet::retrieval::io::{read_codes, read_labels_npy};
use lthnet::retrieval::{
    EvalConfig, GroupThresholds, Labels, Protocol, TieMode, ZeroRelevant, class_breakdown,
    class_sizes, plot, try_evaluate,
};

/// Tie order inside a distance bucket.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Ties {
    /// By database index (deterministic).
    Stable,
    /// Seeded random order inside each bucket (see --seed).
    Random,
    /// The expectation over random orders (tie-aware, He et al. 2018).
    Expected,
}

/// Policy for queries with no relevant item within the top R.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum ZeroPolicy {
    /// AP 0, counted in the mean.
    Zero,
    /// Left out of the mean.
    Skip,
    /// Refuse to evaluate.
    Error,
}

/// Arguments of `lthnet eval`.
#[derive(clap::Args, Debug)]
pub struct EvalArgs {
    /// Query codes (.npy: int8/float32 ±1 or 0/1 N×K, relaxed float32, or faiss-packed uint8
    /// N×K/8; any other extension: a native code file).
    #[arg(long)]
    query_codes: PathBuf,
    /// Database codes (same formats).
    #[arg(long)]
    db_codes: PathBuf,
    /// Query labels (.npy: int64/int32 class ids (N,), or multi-hot uint8/float32 N×C).
    #[arg(long)]
    query_labels: PathBuf,
    /// Database labels (same formats).
    #[arg(long)]
    db_labels: PathBuf,
    /// R of MAP@R (default: all database items).
    #[arg(long)]
    topk: Option<usize>,
    /// Training labels (class ids or multi-hot): adds the many / medium / few-shot breakdown.
    #[arg(long)]
    train_labels: Option<PathBuf>,
    /// Classes with more training images than this are "many" (head).
    #[arg(long, default_value_t = 100)]
    many_above: usize,
    /// Classes with fewer training images than this are "few" (tail).
    #[arg(long, default_value_t = 20)]
    few_below: usize,
    /// Tie order for MAP@R and P@N.
    #[arg(long, value_enum, default_value_t = Ties::Stable)]
    ties: Ties,
    /// Seed of --ties random.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Queries with no relevant item within the top R.
    #[arg(long, value_enum, default_value_t = ZeroPolicy::Zero)]
    zero_relevant: ZeroPolicy,
    /// Hamming radius of P@H≤r and R@H≤r.
    #[arg(long, default_value_t = 2)]
    radius: u32,
    /// Reproduce the LTHNet authors' evaluation, which drops the last database item
    /// (MAP@(N−1)); only for comparison with published numbers.
    #[arg(long)]
    authors_protocol: bool,
    /// Write pr_curve.{svg,png} (and, with --train-labels, map_by_class_size.{svg,png}) here.
    #[arg(long)]
    plot_dir: Option<PathBuf>,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

/// Runs `lthnet eval`.
pub fn run(args: EvalArgs) -> anyhow::Result<()> {
    let q = read_codes(&args.query_codes, None)?;
    let db = read_codes(&args.db_codes, Some(q.bits())).with_context(|| {
        format!(
            "database codes must have the query codes' length ({} bits, {})",
            q.bits(),
            args.query_codes.display()
        )
    })?;
    let ql = read_labels_npy(&args.query_labels)?;
    let dl = read_labels_npy(&args.db_labels)?;
    anyhow::ensure!(
        q.len() == ql.len(),
        "{} query codes ({}) but {} query labels ({})",
        q.len(),
        args.query_codes.display(),
        ql.len(),
        args.query_labels.display()
    );
    anyhow::ensure!(
        db.len() == dl.len(),
        "{} database codes ({}) but {} database labels ({})",
        db.len(),
        args.db_codes.display(),
        dl.len(),
        args.db_labels.display()
    );
    match (&ql, &dl) {
        (Labels::Single(_), Labels::Single(_)) => {}
        (Labels::Multi { num_classes: a, .. }, Labels::Multi { num_classes: b, .. }) => {
            anyhow::ensure!(a == b, "query labels have {a} classes, database labels {b}")
        }
        _ => anyhow::bail!("query and database labels must both be class ids or both multi-hot"),
    }
    let config = EvalConfig {
        top_r: args.topk,
        ties: match args.ties {
            Ties::Stable => TieMode::StableIndex,
            Ties::Random => TieMode::Random(args.seed),
            Ties::Expected => TieMode::Expected,
        },
        zero_relevant: match args.zero_relevant {
            ZeroPolicy::Zero => ZeroRelevant::Zero,
            ZeroPolicy::Skip => ZeroRelevant::Skip,
            ZeroPolicy::Error => ZeroRelevant::Error,
        },
        protocol: if args.authors_protocol {
            Protocol::AuthorsDropLast
        } else {
            Protocol::Exact
        },
        radius: args.radius,
        ..Default::default()
    };
    let started = std::time::Instant::now();
    let report = try_evaluate(&q, &ql, &db, &dl, &config)?;
    let seconds = started.elapsed().as_secs_f64();
    let thresholds = GroupThresholds {
        many_above: args.many_above,
        few_below: args.few_below,
    };
    let breakdown = match &args.train_labels {
        Some(p) => {
            let tl = read_labels_npy(p).with_context(|| format!("reading {}", p.display()))?;
            let sizes = class_sizes(&tl, ql.num_classes());
            Some(class_breakdown(&report, &ql, &sizes, thresholds))
        }
        None => None,
    };
    if let Some(dir) = &args.plot_dir {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let title = format!("PR by Hamming radius ({} bits)", q.bits());
        plot::pr_curve_svg(&dir.join("pr_curve.svg"), &title, &[("codes", &report)])?;
        plot::pr_curve_png(&dir.join("pr_curve.png"), &[("codes", &report)])?;
        if let Some(b) = &breakdown {
            let t = "per-class MAP vs training images";
            plot::map_by_class_size_svg(&dir.join("map_by_class_size.svg"), t, &[("codes", b)])?;
            plot::map_by_class_size_png(&dir.join("map_by_class_size.png"), &[("codes", b)])?;
        }
    }
    let r = args
        .topk
        .map(|k| k.to_string())
        .unwrap_or_else(|| "all".into());
    if args.json {
        let per_n = |v: &[(usize, f64)]| {
            v.iter()
                .map(|(n, p)| (n.to_string(), serde_json::json!(p)))
                .collect::<serde_json::Map<_, _>>()
        };
        let mut obj = serde_json::json!({
            "map": report.map,
            "map_at": r,
            "map_tie_aware": report.map_tie_aware,
            "precision_at": per_n(&report.precision_at),
            "recall_at": per_n(&report.recall_at),
            "precision_radius": report.precision_radius,
            "recall_radius": report.recall_radius,
            "radius": args.radius,
            "zero_relevant_queries": report.zero_relevant_queries,
            "ties": format!("{:?}", config.ties),
            "authors_protocol": args.authors_protocol,
            "num_queries": q.len(),
            "num_db": db.len(),
            "bits": q.bits(),
            "seconds": seconds,
        });
        if let Some(b) = &breakdown {
            obj["many"] = serde_json::json!(b.many);
            obj["medium"] = serde_json::json!(b.medium);
            obj["few"] = serde_json::json!(b.few);
            obj["group_sizes"] = serde_json::json!(b.group_sizes);
            obj["per_class"] = serde_json::json!(b.per_class);
        }
        println!("{}", serde_json::to_string(&obj)?);
        return Ok(());
    }
    println!(
        "{} queries × {} database items, {} bits ({seconds:.3} s)",
        q.len(),
        db.len(),
        q.bits()
    );
    if args.authors_protocol {
        println!("NOTE: authors' protocol — the last-ranked database item is dropped (MAP@(N−1))");
    }
    println!("MAP@{r:<14} {:.4}  (ties: {:?})", report.map, config.ties);
    println!("tie-aware MAP@all {:.4}", report.map_tie_aware);
    for (n, p) in &report.precision_at {
        println!("P@{n:<16} {p:.4}");
    }
    let rr = args.radius;
    println!("P@H≤{rr:<14} {:.4}", report.precision_radius);
    println!("R@H≤{rr:<14} {:.4}", report.recall_radius);
    if report.zero_relevant_queries > 0 {
        println!(
            "queries with no relevant item within the top {r}: {} ({})",
            report.zero_relevant_queries,
            match config.zero_relevant {
                ZeroRelevant::Skip => "left out of the means",
                _ => "counted as AP 0",
            }
        );
    }
    if let Some(b) = breakdown {
        let f = |v: Option<f64>| v.map(|x| format!("{x:.4}")).unwrap_or_else(|| "-".into());
        let (m, w) = (thresholds.many_above, thresholds.few_below);
        println!("\n| group | classes | MAP |\n|---|---|---|");
        println!("| many (>{m}) | {} | {} |", b.group_sizes.0, f(b.many));
        println!(
            "| medium ({w}–{m}) | {} | {} |",
            b.group_sizes.1,
            f(b.medium)
        );
        println!("| few (<{w}) | {} | {} |", b.group_sizes.2, f(b.few));
    }
    Ok(())
}
