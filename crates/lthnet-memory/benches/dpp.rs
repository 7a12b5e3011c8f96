//! DPP and memory-refresh benchmarks.
//!
//! ```sh
//! cargo bench -p lthnet-memory --bench dpp
//! ```
//!
//! One run times both sides on the same precomputed kernel:
//! 1. `benches/dpp_numpy.py` runs first (set `LTHNET_DPP_SKIP_NUMPY=1` to skip it): it builds the
//!    reference demo kernel of `dpp_test.py` (5,000 items, 5,000-d Gaussian features normalised,
//!    `r = exp(0.01·g + 0.2)`, `L = diag(r)·F·Fᵀ·diag(r)`), saves it to `$LTHNET_DPP_DIR`
//!    (default `/tmp/lthnet-dpp`) and times the reference numpy `dpp` (Algorithm 1, 1,000
//!    selections) and `dpp_sw` (Algorithm 2, window 10).
//! 2. The Rust side loads that kernel (full `N × N` in memory; kernel rows are slices of it) and
//!    checks it selects the same items as numpy; without numpy it builds the same-sized kernel
//!    from a seeded RNG instead.
//! 3. divan times [`greedy_map`] (lazy, blocked), [`greedy_map_eager`] (the reference's update
//!    order) and [`greedy_map_window`] on it, the LTHNet per-class DPP
//!    (lazy kernel rows from features) and a full memory refresh at the CIFAR-100 IF=1 size
//!    (50,000 × 2,000 `v_direct`, 100 classes, k = 3).

use std::path::PathBuf;
use std::sync::OnceLock;

use lthnet_memory::{
    MemoryConfig, greedy_map, greedy_map_eager, greedy_map_features, greedy_map_window,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const ITEMS: usize = 5_000;
const PICKS: usize = 1_000;
const WINDOW: usize = 10;
const EPS: f64 = 1e-10;

fn dir() -> PathBuf {
    std::env::var_os("LTHNET_DPP_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp/lthnet-dpp"))
}

fn read_npy<T: npyz::Deserialize>(path: &std::path::Path) -> Option<(Vec<u64>, Vec<T>)> {
    let file = std::fs::File::open(path).ok()?;
    let npy = npyz::NpyFile::new(std::io::BufReader::new(file)).ok()?;
    let shape = npy.shape().to_vec();
    Some((shape, npy.into_vec().ok()?))
}

/// The reference demo kernel: numpy's if it exists, else the same construction from ChaCha8.
fn kernel() -> &'static Vec<f64> {
    static KERNEL: OnceLock<Vec<f64>> = OnceLock::new();
    KERNEL.get_or_init(|| {
        if let Some((shape, k)) = read_npy::<f64>(&dir().join("kernel.npy"))
            && shape == [ITEMS as u64, ITEMS as u64]
        {
            return k;
        }
        eprintln!("no numpy kernel: generating the demo kernel in Rust (seeded)");
        let d = ITEMS;
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let normal = |rng: &mut ChaCha8Rng| {
            // Box–Muller.
            let (u, v): (f64, f64) = (rng.random::<f64>().max(1e-300), rng.random());
            (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
        };
        let r: Vec<f64> = (0..ITEMS)
            .map(|_| (0.01 * normal(&mut rng) + 0.2).exp())
            .collect();
        let mut f: Vec<f64> = (0..ITEMS * d).map(|_| normal(&mut rng)).collect();
        for row in f.chunks_exact_mut(d) {
            let n = row.iter().map(|x| x * x).sum::<f64>().sqrt();
            row.iter_mut().for_each(|x| *x /= n);
        }
        use rayon::prelude::*;
        let mut k = vec![0.0; ITEMS * ITEMS];
        k.par_chunks_mut(ITEMS).enumerate().for_each(|(i, out)| {
            let fi = &f[i * d..(i + 1) * d];
            for (j, o) in out.iter_mut().enumerate() {
                let fj = &f[j * d..(j + 1) * d];
                *o = r[i] * fi.iter().zip(fj).map(|(a, b)| a * b).sum::<f64>() * r[j];
            }
        });
        k
    })
}

fn run_plain() -> lthnet_memory::Selection {
    let k = kernel();
    let diag: Vec<f64> = (0..ITEMS).map(|i| k[i * ITEMS + i]).collect();
    greedy_map(
        &diag,
        |j, out| out.copy_from_slice(&k[j * ITEMS..(j + 1) * ITEMS]),
        PICKS,
        EPS,
    )
}

fn run_eager() -> lthnet_memory::Selection {
    let k = kernel();
    let diag: Vec<f64> = (0..ITEMS).map(|i| k[i * ITEMS + i]).collect();
    greedy_map_eager(
        &diag,
        |j, out| out.copy_from_slice(&k[j * ITEMS..(j + 1) * ITEMS]),
        PICKS,
        EPS,
    )
}

fn run_window() -> lthnet_memory::Selection {
    let k = kernel();
    let diag: Vec<f64> = (0..ITEMS).map(|i| k[i * ITEMS + i]).collect();
    greedy_map_window(
        &diag,
        |j, out| out.copy_from_slice(&k[j * ITEMS..(j + 1) * ITEMS]),
        PICKS,
        WINDOW,
        EPS,
    )
}

/// Algorithm 1 on the demo kernel (full kernel in memory), 5,000 items, 1,000 picks.
#[divan::bench(sample_count = 5, sample_size = 1)]
fn greedy_map_demo(bencher: divan::Bencher) {
    kernel();
    bencher.bench(run_plain);
}

/// Algorithm 1 in the reference's order (every item updated at every step) on the demo kernel.
#[divan::bench(sample_count = 5, sample_size = 1)]
fn greedy_map_eager_demo(bencher: divan::Bencher) {
    kernel();
    bencher.bench(run_eager);
}

/// Algorithm 2 (window 10) on the demo kernel, 5,000 items, 1,000 picks.
#[divan::bench(sample_count = 5, sample_size = 1)]
fn greedy_map_window_demo(bencher: divan::Bencher) {
    kernel();
    bencher.bench(run_window);
}

/// One LTHNet class: 500 samples of 2,000-d `v_direct`, k = 3, lazy kernel rows.
#[divan::bench(sample_count = 20)]
fn dpp_one_class(bencher: divan::Bencher) {
    let (n, d) = (500, 2000);
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let f: Vec<f32> = (0..n * d)
        .map(|_| rng.random_range(-1.0f32..1.0).max(0.0))
        .collect();
    let q: Vec<f64> = (0..n).map(|_| rng.random_range(0.5..1.5)).collect();
    bencher.bench(|| greedy_map_features(&f, d, &q, 3, EPS));
}

/// A full memory refresh at the CIFAR-100 IF=1 size: 50,000 × 2,000 post-ReLU features,
/// 100 classes, k = 3, classes in parallel.
#[divan::bench(sample_count = 5, sample_size = 1)]
fn memory_refresh_cifar100(bencher: divan::Bencher) {
    let (n, d, classes) = (50_000usize, 2_000usize, 100usize);
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let labels: Vec<u32> = (0..n).map(|i| (i % classes) as u32).collect();
    let features: Vec<f32> = (0..n * d)
        .map(|_| rng.random_range(-1.0f32..1.0).max(0.0))
        .collect();
    let config = MemoryConfig::new().with_num_prototypes(3);
    bencher.bench(|| {
        config
            .build_memory(&features, d, &labels, classes)
            .expect("valid input")
    });
}

fn main() {
    let dir = dir();
    if std::env::var_os("LTHNET_DPP_SKIP_NUMPY").is_none() {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/dpp_numpy.py");
        match std::process::Command::new("python3")
            .arg(script)
            .arg(&dir)
            .status()
        {
            Ok(s) if s.success() => {}
            other => eprintln!("numpy side did not run ({other:?}); timing Rust alone"),
        }
    }
    // Same selections as numpy on the same kernel?
    for (name, file, sel) in [
        ("greedy_map", "numpy_selection.npy", run_plain()),
        ("greedy_map_eager", "numpy_selection.npy", run_eager()),
        ("greedy_map_window", "numpy_selection_sw.npy", run_window()),
    ] {
        let same = read_npy::<i64>(&dir.join(file))
            .map(|(_, v)| v.iter().map(|&x| x as usize).eq(sel.items.iter().copied()));
        println!(
            "{name}: {} items ({:?}); same selection as numpy: {}",
            sel.items.len(),
            sel.stop,
            same.map_or("no numpy result".to_string(), |s| s.to_string())
        );
    }
    println!("rayon threads: {}", rayon::current_num_threads());
    divan::main();
}
