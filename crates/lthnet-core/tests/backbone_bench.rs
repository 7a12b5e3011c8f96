//! Backbone throughput on the CPU (`Flex` backend), feature extraction only (no gradients).
//! Ignored by default; run in release:
//!
//! ```sh
//! cargo test --release -p lthnet-core --test backbone_bench -- --ignored --nocapture --test-threads 1
//! ```
//!
//! MobileNetV2 uses the pretrained weights when `$LTHNET_DATA_DIR/mobilenetv2-imagenet` exists
//! (random weights otherwise; the speed is the same). Results go to `docs/benchmarks.md`
//! (`## Backbones`).

use std::path::PathBuf;
use std::time::Instant;

use burn::backend::Flex;
use burn::prelude::*;
use lthnet_core::backbone::{CifarNetConfig, MobileNetV2, MobileNetV2Config, ResNetConfig};

type TestBackend = Flex;

const BATCH: usize = 32;
const WARMUP: usize = 1;

fn timed_batches() -> usize {
    std::env::var("LTHNET_BENCH_BATCHES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5)
}

/// Images per second of `forward` on `[BATCH, 3, size, size]` inputs (median over batches).
fn images_per_second(
    name: &str,
    size: usize,
    forward: impl Fn(Tensor<TestBackend, 4>) -> Tensor<TestBackend, 2>,
) -> f64 {
    let device = Default::default();
    let x = Tensor::<TestBackend, 4>::random(
        [BATCH, 3, size, size],
        burn::tensor::Distribution::Uniform(-1.0, 1.0),
        &device,
    );
    for _ in 0..WARMUP {
        let _ = forward(x.clone()).into_data();
    }
    let mut secs: Vec<f64> = (0..timed_batches())
        .map(|_| {
            let start = Instant::now();
            // `into_data` waits for the result.
            let _ = forward(x.clone()).into_data();
            start.elapsed().as_secs_f64()
        })
        .collect();
    secs.sort_by(f64::total_cmp);
    let median = secs[secs.len() / 2];
    let ips = BATCH as f64 / median;
    println!(
        "{name}: {size}×{size}, batch {BATCH}: median {:.1} ms/batch → {ips:.1} images/s \
         (batches: {:?} ms)",
        median * 1e3,
        secs.iter()
            .map(|s| (s * 1e3).round() as u64)
            .collect::<Vec<_>>()
    );
    ips
}

#[test]
#[ignore = "benchmark: run in release with --ignored"]
fn bench_mobilenet_v2_features() {
    let device = Default::default();
    let root: PathBuf = match std::env::var_os("LTHNET_DATA_DIR") {
        Some(d) => d.into(),
        None => concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data").into(),
    };
    let weights = root.join("mobilenetv2-imagenet/mobilenet_v2_1.0_224_imagenet_f32.safetensors");
    let model = if weights.exists() {
        MobileNetV2::<TestBackend>::load(&weights, &device).unwrap()
    } else {
        MobileNetV2Config::new().init(&device)
    };
    images_per_second("MobileNetV2 1.0 features", 224, |x| {
        model.forward_features(x)
    });
}

#[test]
#[ignore = "benchmark: run in release with --ignored"]
fn bench_resnet34_features() {
    let model = ResNetConfig::resnet34().init::<TestBackend>(&Default::default());
    images_per_second("ResNet-34 features", 224, |x| model.forward(x));
}

#[test]
#[ignore = "benchmark: run in release with --ignored"]
fn bench_cifarnet_features() {
    let model = CifarNetConfig::new().init::<TestBackend>(&Default::default());
    images_per_second("CifarNet (default) features", 32, |x| model.forward(x));
}
