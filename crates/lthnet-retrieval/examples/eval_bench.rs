//! Time the full MAP@all evaluation at the CIFAR-100 protocol size (10,000 queries × 50,000
//! database items, 64 bits, 100 classes) and a top-100 search, and report peak RSS.
//!
//! ```sh
//! cargo run --release -p lthnet-retrieval --example eval_bench -- /tmp/lthnet-bench
//! python3 crates/lthnet-retrieval/benches/peer_map.py /tmp/lthnet-bench   # numpy + faiss, same codes
//! ```
//! The codes are synthetic: each class has a random 64-bit centre, items flip each bit with
//! probability 0.2, so distances spread over the whole range with many ties.
//! The example writes them (and labels) as .npy into the given directory for the peer script.

use std::path::PathBuf;
use std::time::Instant;

use lthnet_retrieval::io::{write_codes_npy, write_i64_npy};
use lthnet_retrieval::{EvalConfig, Labels, PackedCodes, evaluate, hardware_popcount, search_topk};
use rand::{Rng, SeedableRng};

fn synth(
    n: usize,
    bits: usize,
    classes: usize,
    seed: u64,
    centres: &[Vec<f32>],
) -> (Vec<f32>, Vec<i64>) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut codes = Vec::with_capacity(n * bits);
    let mut labels = Vec::with_capacity(n);
    for i in 0..n {
        let c = i % classes;
        labels.push(c as i64);
        for &b in &centres[c] {
            codes.push(if rng.random_bool(0.2) { -b } else { b });
        }
    }
    (codes, labels)
}

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM"))
                .map(|l| l.to_string())
        })
        .and_then(|l| {
            l.split_whitespace()
                .nth(1)
                .and_then(|v| v.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

fn main() {
    let dir: PathBuf = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "/tmp/lthnet-bench".into())
        .into();
    let (nq, ndb, bits, classes) = (10_000, 50_000, 64, 100);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let centres: Vec<Vec<f32>> = (0..classes)
        .map(|_| {
            (0..bits)
                .map(|_| if rng.random_bool(0.5) { 1.0 } else { -1.0 })
                .collect()
        })
        .collect();
    let (qv, ql) = synth(nq, bits, classes, 2, &centres);
    let (dv, dl) = synth(ndb, bits, classes, 3, &centres);
    let q = PackedCodes::from_signs(&qv, bits);
    let db = PackedCodes::from_signs(&dv, bits);
    std::fs::create_dir_all(&dir).unwrap();
    write_codes_npy(&dir.join("query_codes.npy"), &q).unwrap();
    write_codes_npy(&dir.join("db_codes.npy"), &db).unwrap();
    write_i64_npy(&dir.join("query_labels.npy"), &[nq as u64], &ql).unwrap();
    write_i64_npy(&dir.join("db_labels.npy"), &[ndb as u64], &dl).unwrap();
    drop((qv, dv));
    let qlab = Labels::Single(ql.iter().map(|&l| l as u32).collect());
    let dlab = Labels::Single(dl.iter().map(|&l| l as u32).collect());
    let rss_before = peak_rss_mb();
    let threads = rayon::current_num_threads();
    println!(
        "{nq} queries × {ndb} db × {bits} bits, {threads} threads, hardware popcount: {}",
        hardware_popcount()
    );
    let mut times = Vec::new();
    let mut map = 0.0;
    for _ in 0..5 {
        let t = Instant::now();
        let rep = evaluate(&q, &qlab, &db, &dlab, &EvalConfig::default());
        times.push(t.elapsed().as_secs_f64());
        map = rep.map;
        println!(
            "  MAP@all {:.6}  tie-aware {:.6}  P@100 {:.4}",
            rep.map, rep.map_tie_aware, rep.precision_at[2].1
        );
    }
    times.sort_by(f64::total_cmp);
    println!(
        "full evaluation (MAP@all + tie-aware + P@N + radius + PR): median {:.3} s (min {:.3})",
        times[2], times[0]
    );
    let t = Instant::now();
    let (ids, _) = search_topk(&q, &db, 100);
    println!(
        "top-100 search: {:.3} s (first query's first ids {:?})",
        t.elapsed().as_secs_f64(),
        &ids[..5]
    );
    println!(
        "peak RSS {:.0} MB (before evaluation {:.0} MB); MAP {map:.6}",
        peak_rss_mb(),
        rss_before
    );
}
