//! Hamming scan + counting-sort ranking + MAP at the CIFAR-100 protocol size: 10,000 queries ×
//! 50,000 database items, 64-bit codes correlated with 100 class labels (per-class random
//! centres, each bit flipped with probability 0.2), all threads of the machine.
//!
//! ```sh
//! cargo bench -p lthnet-retrieval --bench map
//! ```
//!
//! The data is built once, outside the timed closures.

use std::sync::LazyLock;

use divan::Bencher;
use lthnet_retrieval::{EvalConfig, Labels, PackedCodes, TieMode, evaluate, search_topk};
use rand::{Rng, SeedableRng};

const NUM_QUERIES: usize = 10_000;
const NUM_DB: usize = 50_000;
const BITS: usize = 64;
const NUM_CLASSES: usize = 100;
const FLIP: f64 = 0.2;

struct Data {
    queries: PackedCodes,
    query_labels: Labels,
    db: PackedCodes,
    db_labels: Labels,
}

fn synth(
    n: usize,
    centres: &[Vec<f32>],
    rng: &mut rand_chacha::ChaCha8Rng,
) -> (PackedCodes, Labels) {
    let mut codes = Vec::with_capacity(n * BITS);
    let mut labels = Vec::with_capacity(n);
    for i in 0..n {
        let c = i % NUM_CLASSES;
        labels.push(c as u32);
        codes.extend(
            centres[c]
                .iter()
                .map(|&b| if rng.random_bool(FLIP) { -b } else { b }),
        );
    }
    (
        PackedCodes::from_signs(&codes, BITS),
        Labels::Single(labels),
    )
}

static DATA: LazyLock<Data> = LazyLock::new(|| {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let centres: Vec<Vec<f32>> = (0..NUM_CLASSES)
        .map(|_| {
            (0..BITS)
                .map(|_| if rng.random_bool(0.5) { 1.0 } else { -1.0 })
                .collect()
        })
        .collect();
    let (queries, query_labels) = synth(NUM_QUERIES, &centres, &mut rng);
    let (db, db_labels) = synth(NUM_DB, &centres, &mut rng);
    Data {
        queries,
        query_labels,
        db,
        db_labels,
    }
});

fn main() {
    divan::main();
}

/// Full evaluation: MAP@all (ties by index) + tie-aware MAP + P@{1,10,100,1000} + P/R@H≤2 + PR
/// curve.
#[divan::bench(sample_count = 5, sample_size = 1)]
fn map_all(bencher: Bencher) {
    let d = &*DATA;
    bencher.bench(|| {
        evaluate(
            &d.queries,
            &d.query_labels,
            &d.db,
            &d.db_labels,
            &EvalConfig::default(),
        )
        .map
    });
}

/// The same with `TieMode::Expected` (no per-item bookkeeping).
#[divan::bench(sample_count = 5, sample_size = 1)]
fn map_all_tie_aware(bencher: Bencher) {
    let d = &*DATA;
    let cfg = EvalConfig {
        ties: TieMode::Expected,
        ..Default::default()
    };
    bencher.bench(|| evaluate(&d.queries, &d.query_labels, &d.db, &d.db_labels, &cfg).map);
}

/// Exhaustive top-100 Hamming search, ordered by (distance, index).
#[divan::bench(sample_count = 5, sample_size = 1)]
fn topk_100(bencher: Bencher) {
    let d = &*DATA;
    bencher.bench(|| search_topk(&d.queries, &d.db, 100).0.len());
}
