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

/// User + system CPU seconds of this process so far (/proc/self/stat, clock ticks of 10 ms).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(')').map(|x| x.1).unwrap_or("");
    let f: Vec<f64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0.0))
        .collect();
    if f.len() > 13 {
        (f[11] + f[12]) / 100.0
    } else {
        f64::NAN
    }
}

/// Runs `f` `reps` times; returns (median wall s, min wall s, median CPU s) and the last value.
fn time<T>(reps: usize, mut f: impl FnMut() -> T) -> ((f64, f64, f64), T) {
    let mut wall = Vec::new();
    let mut cpu = Vec::new();
    let mut last = None;
    for _ in 0..reps {
        let (t, c) = (Instant::now(), cpu_seconds());
        last = Some(f());
        wall.push(t.elapsed().as_secs_f64());
        cpu.push(cpu_seconds() - c);
    }
    wall.sort_by(f64::total_cmp);
    cpu.sort_by(f64::total_cmp);
    (
        (wall[reps / 2], wall[0], cpu[reps / 2]),
        last.expect("reps > 0"),
    )
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
    let ((wall, wall_min, cpu), rep) = time(5, || {
        evaluate(&q, &qlab, &db, &dlab, &EvalConfig::default())
    });
    let map = rep.map;
    println!(
        "  MAP@all {:.6}  tie-aware {:.6}  P@100 {:.4}  P@H<=2 {:.4}",
        rep.map, rep.map_tie_aware, rep.precision_at[2].1, rep.precision_radius
    );
    println!(
        "full evaluation (MAP@all + tie-aware + P@N + radius + PR): median {wall:.3} s wall (min {wall_min:.3}), {cpu:.2} CPU-s"
    );
    let ((wall, wall_min, cpu), (ids, _)) = time(5, || search_topk(&q, &db, 100));
    println!(
        "top-100 search: median {wall:.3} s wall (min {wall_min:.3}), {cpu:.2} CPU-s (first ids {:?})",
        &ids[..5]
    );
    println!(
        "peak RSS {:.0} MB (before evaluation {:.0} MB); MAP {map:.6}",
        peak_rss_mb(),
        rss_before
    );
}
