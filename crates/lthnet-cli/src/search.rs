//! `lthnet search`: exhaustive Hamming top-k search, writing neighbour ids and distances.

use std::path::PathBuf;

use lthnet::retrieval::io::{read_codes_npy, write_i32_npy, write_i64_npy};
use lthnet::retrieval::search_topk;

/// Arguments of `lthnet search`.
#[derive(clap::Args, Debug)]
pub struct SearchArgs {
    /// Database codes (.npy: int8/float32 ±1 N×K, or packed uint8 N×K/8).
    #[arg(long)]
    db_codes: PathBuf,
    /// Query codes (same formats).
    #[arg(long)]
    query_codes: PathBuf,
    /// Neighbours per query.
    #[arg(long, default_value_t = 100)]
    topk: usize,
    /// Output directory for `neighbors.npy` (int64) and `distances.npy` (int32), each Q × k,
    /// ordered by (distance, database index).
    #[arg(long, default_value = ".")]
    out_dir: PathBuf,
}

/// Runs `lthnet search`.
pub fn run(args: SearchArgs) -> anyhow::Result<()> {
    let db = read_codes_npy(&args.db_codes)?;
    let q = read_codes_npy(&args.query_codes)?;
    anyhow::ensure!(
        q.bits() == db.bits(),
        "query codes have {} bits but database codes have {}",
        q.bits(),
        db.bits()
    );
    anyhow::ensure!(args.topk > 0, "--topk must be at least 1");
    let started = std::time::Instant::now();
    let (ids, dists) = search_topk(&q, &db, args.topk);
    let k = args.topk.min(db.len());
    std::fs::create_dir_all(&args.out_dir)?;
    let shape = [q.len() as u64, k as u64];
    let ids: Vec<i64> = ids.into_iter().map(|i| i as i64).collect();
    let dists: Vec<i32> = dists.into_iter().map(|d| d as i32).collect();
    write_i64_npy(&args.out_dir.join("neighbors.npy"), &shape, &ids)?;
    write_i32_npy(&args.out_dir.join("distances.npy"), &shape, &dists)?;
    eprintln!(
        "{} queries × {} database items, top {k}: {:.3} s; wrote {}/{{neighbors,distances}}.npy",
        q.len(),
        db.len(),
        started.elapsed().as_secs_f64(),
        args.out_dir.display()
    );
    Ok(())
}
