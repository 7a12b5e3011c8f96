//! One LTHNet training step (forward, backward, RMSprop) at the paper's sizes:
//! d_input 512, d_feature 2000, C = 100, k = 3 (400 memory slots), 64 bits — the head alone
//! (`head_step`, the frozen-feature path) and the head behind the small from-scratch CNN
//! (`cifarnet_step`: `CifarNet` with its default stages 64-128-256-512 on 32×32 RGB input).
//! Both use the trainer's optimizer (`TorchRmsProp`, one fused pass per parameter on CPU);
//! `head_step_burn_rmsprop` is the head with Burn's `RmsProp` configured as PyTorch's.
//! `update_*` time the optimizer update of the head's parameters alone (gradients computed
//! outside the timing): `TorchRmsProp`'s fused pass, its tensor-op path and Burn's `RmsProp`.
//!
//! Run (default `flex` backend, mimalloc):
//!     cargo bench -p lthnet --bench train_step
//! With the `ndarray` backend:
//!     cargo bench -p lthnet --bench train_step --no-default-features --features ndarray
//! The PyTorch side of the comparison: `python3 crates/lthnet/benches/train_step_torch.py`.

use burn::module::AutodiffModule;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::{GradientsParams, Optimizer, RmsPropConfig};
use burn::prelude::*;
use burn::tensor::activation::log_softmax;
use lthnet::backend::{Autodiff, Cpu};
use lthnet::model::backbone::{CifarNet, CifarNetConfig};
use lthnet::model::train::{RmsPropUpdate, TorchRmsPropConfig};
use lthnet::model::{HashNetwork, LthNet, LthNetHead, LthNetHeadConfig};
use std::cell::RefCell;

#[path = "../examples/common/allocator.rs"]
mod allocator;

type B = Autodiff<Cpu>;

const D_INPUT: usize = 512;
const NUM_CLASSES: usize = 100;
const BITS: usize = 64;

fn main() {
    allocator::keep_freed_pages();
    // The main thread as the pool's worker 0, as in the examples and the CLI; set
    // `TRAIN_STEP_RAYON_DEFAULT=1` for rayon's default pool beside it (the A/B in
    // docs/benchmarks.md).
    if std::env::var_os("TRAIN_STEP_RAYON_DEFAULT").is_none() {
        lthnet::backend::init_cpu_thread_pool(None).expect("the first thing main does");
    }
    divan::main();
}

fn head_inputs(batch: usize) -> (LthNetHead<B>, LthNetHeadConfig, Tensor<B, 2>) {
    let device = Default::default();
    let cfg = LthNetHeadConfig::new(D_INPUT, NUM_CLASSES, BITS);
    let x = Tensor::<B, 2>::random(
        [batch, D_INPUT],
        burn::tensor::Distribution::Default,
        &device,
    );
    (cfg.init::<B>(&device), cfg, x)
}

fn torch_rmsprop<M: AutodiffModule<B>>() -> impl Optimizer<M, B> {
    TorchRmsPropConfig::new()
        .with_weight_decay(5e-4)
        .init::<B, M>()
}

#[divan::bench(args = [8, 16, 128], sample_count = 30)]
fn head_step(bencher: divan::Bencher, batch: usize) {
    let (model, cfg, x) = head_inputs(batch);
    step_bench(bencher, model, torch_rmsprop(), &cfg, x, batch);
}

#[divan::bench(args = [8, 16, 128], sample_count = 30)]
fn head_step_burn_rmsprop(bencher: divan::Bencher, batch: usize) {
    let (model, cfg, x) = head_inputs(batch);
    let optim = RmsPropConfig::new()
        .with_momentum(0.0)
        .with_epsilon(1e-8)
        .with_weight_decay(Some(WeightDecayConfig::new(5e-4)))
        .init::<B, LthNetHead<B>>();
    step_bench(bencher, model, optim, &cfg, x, batch);
}

#[divan::bench(args = [8, 16, 128], sample_count = 10)]
fn cifarnet_step(bencher: divan::Bencher, batch: usize) {
    let device = Default::default();
    let cfg = LthNetHeadConfig::new(D_INPUT, NUM_CLASSES, BITS);
    let x = Tensor::<B, 4>::random(
        [batch, 3, 32, 32],
        burn::tensor::Distribution::Default,
        &device,
    );
    let model: LthNet<B, CifarNet<B>> =
        LthNet::new(CifarNetConfig::new().init(&device), cfg.init(&device));
    step_bench(bencher, model, torch_rmsprop(), &cfg, x, batch);
}

/// A random memory tensor for `cfg` and the targets `0, 1, …` (mod C) of a batch.
fn memory_and_targets(cfg: &LthNetHeadConfig, batch: usize) -> (Tensor<B, 2>, Tensor<B, 1, Int>) {
    let device = Default::default();
    let memory = Tensor::<B, 2>::random(
        [cfg.num_slots(), cfg.d_feature],
        burn::tensor::Distribution::Default,
        &device,
    );
    let targets: Vec<i64> = (0..batch as i64).map(|i| i % NUM_CLASSES as i64).collect();
    let targets = Tensor::<B, 1, Int>::from_data(TensorData::new(targets, [batch]), &device);
    (memory, targets)
}

/// Mean cross-entropy of `logits` `[batch, C]` against `targets` `[batch]`.
fn cross_entropy(logits: Tensor<B, 2>, targets: &Tensor<B, 1, Int>) -> Tensor<B, 1> {
    let batch = targets.dims()[0];
    log_softmax(logits, 1)
        .gather(1, targets.clone().reshape([batch, 1]))
        .mean()
        .neg()
}

/// Time forward + cross-entropy + backward + RMSprop (lr 1e-5, wd 5e-4) of `model` on `x`.
fn step_bench<M, I, O>(
    bencher: divan::Bencher,
    model: M,
    mut optim: O,
    cfg: &LthNetHeadConfig,
    x: I,
    batch: usize,
) where
    M: HashNetwork<B, I> + AutodiffModule<B>,
    I: Clone,
    O: Optimizer<M, B>,
{
    let mut model = Some(model);
    let (memory, targets) = memory_and_targets(cfg, batch);
    bencher.bench_local(|| {
        let m = model.take().expect("model");
        let out = m.forward_hash(x.clone(), Some(memory.clone()));
        let grads = GradientsParams::from_grads(cross_entropy(out.logits, &targets).backward(), &m);
        let m = optim.step(1e-5, m, grads);
        // Force the update to complete before the clock stops.
        let _ = m.valid();
        model = Some(m);
    });
}

#[divan::bench(sample_count = 30)]
fn update_torch_rmsprop_fused(bencher: divan::Bencher) {
    update_bench(bencher, torch_rmsprop());
}

#[divan::bench(sample_count = 30)]
fn update_torch_rmsprop_tensor_ops(bencher: divan::Bencher) {
    let optim = TorchRmsPropConfig::new()
        .with_weight_decay(5e-4)
        .with_update(RmsPropUpdate::TensorOps)
        .init::<B, LthNetHead<B>>();
    update_bench(bencher, optim);
}

#[divan::bench(sample_count = 30)]
fn update_burn_rmsprop(bencher: divan::Bencher) {
    let optim = RmsPropConfig::new()
        .with_momentum(0.0)
        .with_epsilon(1e-8)
        .with_weight_decay(Some(WeightDecayConfig::new(5e-4)))
        .init::<B, LthNetHead<B>>();
    update_bench(bencher, optim);
}

/// Time one update of the head's parameters by `optim`; each sample's gradients come from a
/// forward + backward at batch 8 outside the timing.
fn update_bench<O: Optimizer<LthNetHead<B>, B>>(bencher: divan::Bencher, mut optim: O) {
    let batch = 8;
    let (model, cfg, x) = head_inputs(batch);
    let model = RefCell::new(Some(model));
    let (memory, targets) = memory_and_targets(&cfg, batch);
    bencher
        .with_inputs(|| {
            let m = model.borrow();
            let m = m.as_ref().expect("model");
            let out = m.forward_hash(x.clone(), Some(memory.clone()));
            GradientsParams::from_grads(cross_entropy(out.logits, &targets).backward(), m)
        })
        .bench_local_values(|grads| {
            let m = model.borrow_mut().take().expect("model");
            let m = optim.step(1e-5, m, grads);
            let _ = m.valid();
            *model.borrow_mut() = Some(m);
        });
}
