//! DPP and memory-refresh timings.
//!
//! ```sh
//! python3 crates/lthnet-memory/benches/dpp_numpy.py /tmp/lthnet-dpp      # kernel + numpy timing
//! cargo run --release -p lthnet-memory --example dpp_bench -- /tmp/lthnet-dpp
//! ```
//! 1. Algorithm 1 on the reference demo kernel (5,000 items, 1,000 selections), the same kernel
//!    numpy used, checking that both select the same items.
//! 2. A full memory refresh at the CIFAR-100 IF=1 size: 50,000 × 2,000 `v_direct` features
//!    (non-negative, as after ReLU), 100 classes, k = 3.

use std::time::Instant;

use lthnet_memory::{MemoryConfig, greedy_map};
use rand::{Rng, SeedableRng};

fn main() {
    let dir = std::path::PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "/tmp/lthnet-dpp".into()),
    );
    match npyz::NpyFile::new(std::io::BufReader::new(
        std::fs::File::open(dir.join("kernel.npy")).unwrap_or_else(|e| {
            panic!(
                "{}: {e} (run benches/dpp_numpy.py first)",
                dir.join("kernel.npy").display()
            )
        }),
    )) {
        Ok(npy) => {
            let n = npy.shape()[0] as usize;
            let kernel: Vec<f64> = npy.into_vec().expect("f64 kernel");
            let diag: Vec<f64> = (0..n).map(|i| kernel[i * n + i]).collect();
            let mut times = Vec::new();
            let mut sel = None;
            for _ in 0..3 {
                let t = Instant::now();
                let s = greedy_map(
                    &diag,
                    |j, out| out.copy_from_slice(&kernel[j * n..(j + 1) * n]),
                    1000,
                    1e-10,
                );
                times.push(t.elapsed().as_secs_f64());
                sel = Some(s);
            }
            times.sort_by(f64::total_cmp);
            let sel = sel.expect("ran");
            let same = std::fs::File::open(dir.join("numpy_selection.npy"))
                .ok()
                .and_then(|f| npyz::NpyFile::new(std::io::BufReader::new(f)).ok())
                .and_then(|npy| npy.into_vec::<i64>().ok())
                .map(|v| v.iter().map(|&x| x as usize).eq(sel.items.iter().copied()));
            println!(
                "lthnet greedy_map (Algorithm 1), N={n}, k=1000: median {:.3} s (min {:.3}); {} items; same selection as numpy: {same:?}",
                times[1],
                times[0],
                sel.items.len()
            );
        }
        Err(e) => panic!("kernel.npy: {e}"),
    }

    let (n, d, classes) = (50_000usize, 2000usize, 100usize);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let labels: Vec<u32> = (0..n).map(|i| (i % classes) as u32).collect();
    let features: Vec<f32> = (0..n * d)
        .map(|_| {
            let v: f32 = rng.random_range(-1.0..1.0);
            v.max(0.0)
        })
        .collect();
    let t = Instant::now();
    let memory = MemoryConfig::new()
        .with_num_prototypes(3)
        .build_memory(&features, d, &labels, classes)
        .unwrap();
    println!(
        "memory refresh, {n} × {d} features, {classes} classes, k = 3, {} threads: {:.3} s ({} slots, {} filled)",
        rayon::current_num_threads(),
        t.elapsed().as_secs_f64(),
        memory.num_slots,
        memory.filled_slots()
    );
}
