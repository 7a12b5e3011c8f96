//! `lthnet search`: exhaustive Hamming top-k search, writing neighbour ids and distances.

use std::path::PathBuf;

use anyhow::Context;
use lthnet::retrieval::io::{read_codes, write_i32_npy, write_i64_npy};
use lthnet::retrieval::{hardware_popcount, search_topk_neighbors};

/// Arguments of `lthnet search`.
#[derive(clap::Args, Debug)]
pub struct SearchArgs {
    /// Database codes (.npy: int8/float32 ±1 or 0/1 N×K, relaxed float32, or faiss-packed
    /// uint8 N×K/8; any other extension: a native code file).
    #[arg(long)]
    db_codes: PathBuf,
    /// Query codes (same formats).
    #[arg(long)]
    query_codes: PathBuf,
    /// Neighbours per query.
    #[arg(long, default_value_t = 100)]
    topk: usize,
    /// Output directory for `neighbors.npy` (int64) and `distances.npy` (int32), each
    /// Q × min(k, N), rows ordered by (distance, database index).
    #[arg(long, default_value = ".")]
    out_dir: PathBuf,
}

/// Runs `lthnet search`.
pub fn run(args: SearchArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.topk > 0, "--topk must be at least 1");
    let db = read_codes(&args.db_codes, None)?;
    let q = read_codes(&args.query_codes, Some(db.bits())).with_context(|| {
        format!(
            "query codes must have the database codes' length ({} bits, {})",
            db.bits(),
            args.db_codes.display()
        )
    })?;
    let started = std::time::Instant::now();
    let found = search_topk_neighbors(&q, &db, args.topk);
    let seconds = started.elapsed().as_secs_f64();
    std::fs::create_dir_all(&args.out_dir)
        .with_context(|| format!("creating {}", args.out_dir.display()))?;
    let shape = [q.len() as u64, found.k as u64];
    let ids: Vec<i64> = found.ids.iter().map(|&i| i as i64).collect();
    let dists: Vec<i32> = found.distances.iter().map(|&d| d as i32).collect();
    write_i64_npy(&args.out_dir.join("neighbors.npy"), &shape, &ids)?;
    write_i32_npy(&args.out_dir.join("distances.npy"), &shape, &dists)?;
    eprintln!(
        "{} queries × {} database items, {} bits, top {}: {seconds:.3} s (hardware popcount: {}); wrote {}/{{neighbors,distances}}.npy",
        q.len(),
        db.len(),
        db.bits(),
        found.k,
        hardware_popcount(),
        args.out_dir.display()
    );
    Ok(())
}
