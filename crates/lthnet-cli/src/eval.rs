//! `lthnet eval`: MAP@all, tie-aware MAP, P@{1,10,100,1000}, P/R within Hamming radius 2 and,
//! with training labels, the head / medium / tail table.

use std::path::PathBuf;

use anyhow::Context;
use lthnet::retrieval::io::{read_codes_npy, read_labels_npy};
use lthnet::retrieval::{EvalConfig, GroupThresholds, Labels, Protocol, class_breakdown, evaluate};

/// Arguments of `lthnet eval`.
#[derive(clap::Args, Debug)]
pub struct EvalArgs {
    /// Query codes (.npy: int8/float32 ±1 N×K, or packed uint8 N×K/8).
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
    /// Training labels (class ids): adds the many / medium / few-shot breakdown.
    #[arg(long)]
    train_labels: Option<PathBuf>,
    /// Reproduce the LTHNet authors' evaluation, which drops the last database item
    /// (MAP@(N−1)); only for comparison with published numbers.
    #[arg(long)]
    authors_protocol: bool,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

/// Runs `lthnet eval`.
pub fn run(args: EvalArgs) -> anyhow::Result<()> {
    let q = read_codes_npy(&args.query_codes)?;
    let db = read_codes_npy(&args.db_codes)?;
    anyhow::ensure!(
        q.bits() == db.bits(),
        "query codes have {} bits but database codes have {}",
        q.bits(),
        db.bits()
    );
    let ql = read_labels_npy(&args.query_labels)?;
    let dl = read_labels_npy(&args.db_labels)?;
    anyhow::ensure!(
        q.len() == ql.len(),
        "{} query codes but {} query labels",
        q.len(),
        ql.len()
    );
    anyhow::ensure!(
        db.len() == dl.len(),
        "{} database codes but {} database labels",
        db.len(),
        dl.len()
    );
    anyhow::ensure!(
        matches!(
            (&ql, &dl),
            (Labels::Single(_), Labels::Single(_)) | (Labels::Multi { .. }, Labels::Multi { .. })
        ),
        "query and database labels must both be class ids or both multi-hot"
    );
    let config = EvalConfig {
        top_r: args.topk,
        protocol: if args.authors_protocol {
            Protocol::AuthorsDropLast
        } else {
            Protocol::Exact
        },
        ..Default::default()
    };
    let started = std::time::Instant::now();
    let report = evaluate(&q, &ql, &db, &dl, &config);
    let seconds = started.elapsed().as_secs_f64();
    let breakdown = match &args.train_labels {
        Some(p) => {
            let tl = read_labels_npy(p).with_context(|| format!("reading {}", p.display()))?;
            let Labels::Single(t) = tl else {
                anyhow::bail!("--train-labels must be class ids (N,)");
            };
            let c = t
                .iter()
                .map(|&l| l as usize + 1)
                .max()
                .unwrap_or(0)
                .max(ql.num_classes());
            let mut sizes = vec![0usize; c];
            for l in t {
                sizes[l as usize] += 1;
            }
            Some(class_breakdown(
                &report,
                &ql,
                &sizes,
                GroupThresholds::default(),
            ))
        }
        None => None,
    };
    if args.json {
        let mut obj = serde_json::json!({
            "map": report.map,
            "map_tie_aware": report.map_tie_aware,
            "precision_at": report.precision_at.iter().map(|(n, p)| (n.to_string(), serde_json::json!(p))).collect::<serde_json::Map<_, _>>(),
            "precision_radius2": report.precision_radius,
            "recall_radius2": report.recall_radius,
            "zero_relevant_queries": report.zero_relevant_queries,
            "topk": args.topk,
            "authors_protocol": args.authors_protocol,
            "seconds": seconds,
        });
        if let Some(b) = &breakdown {
            obj["many"] = serde_json::json!(b.many);
            obj["medium"] = serde_json::json!(b.medium);
            obj["few"] = serde_json::json!(b.few);
        }
        println!("{}", serde_json::to_string(&obj)?);
        return Ok(());
    }
    let r = args
        .topk
        .map(|k| k.to_string())
        .unwrap_or_else(|| "all".into());
    println!(
        "{} queries × {} database items, {} bits ({seconds:.3} s)",
        q.len(),
        db.len(),
        q.bits()
    );
    if args.authors_protocol {
        println!("NOTE: authors' protocol — the last-ranked database item is dropped (MAP@(N−1))");
    }
    println!("MAP@{r:<14} {:.4}", report.map);
    println!("tie-aware MAP@all {:.4}", report.map_tie_aware);
    for (n, p) in &report.precision_at {
        println!("P@{n:<16} {p:.4}");
    }
    println!("P@H≤2             {:.4}", report.precision_radius);
    println!("R@H≤2             {:.4}", report.recall_radius);
    if report.zero_relevant_queries > 0 {
        println!(
            "queries with no relevant item: {} (counted as AP 0)",
            report.zero_relevant_queries
        );
    }
    if let Some(b) = breakdown {
        let f = |v: Option<f64>| v.map(|x| format!("{x:.4}")).unwrap_or_else(|| "-".into());
        println!("\n| group | classes | MAP |\n|---|---|---|");
        println!("| many (>100) | {} | {} |", b.group_sizes.0, f(b.many));
        println!(
            "| medium (20–100) | {} | {} |",
            b.group_sizes.1,
            f(b.medium)
        );
        println!("| few (<20) | {} | {} |", b.group_sizes.2, f(b.few));
    }
    Ok(())
}
