//! CifarNet's four 3×3 convolutions (3→64 at 32², 64→128 at 16², 128→256 at 8², 256→512 at
//! 4²; batch 128) on the CPU backend: forward alone, forward + backward through autodiff, and
//! the two backward kernels Burn's default uses (`x_backward`: a transposed convolution;
//! `w_backward`: a convolution of the batch-swapped input with the batch-swapped output
//! gradient as its kernel). The `*_lthnet` arms run the same layers through
//! `lthnet::flex::conv2d` (im2col + GEMM forward and gradients), which the backbones use.
//! `batch_norm_relu_*` time the BatchNorm + ReLU after each layer, fused and through burn-nn;
//! `max_pool_*` the 2×2 max pool after the first three, lthnet-flex's and flex's.
//! Shows where the from-scratch training step's time goes (`docs/benchmarks.md`).
//!
//!     cargo bench -p lthnet --bench conv_layers

use burn::prelude::*;
use burn::tensor::Distribution;
use burn::tensor::module::{conv_transpose2d, conv2d};
use burn::tensor::ops::{ConvOptions, ConvTransposeOptions};
use lthnet::backend::{Autodiff, Cpu};

#[path = "../examples/common/allocator.rs"]
mod allocator;

type B = Autodiff<Cpu>;
const BATCH: usize = 128;
/// `(in channels, out channels, height = width)` of each layer.
const LAYERS: [(usize, usize, usize); 4] =
    [(3, 64, 32), (64, 128, 16), (128, 256, 8), (256, 512, 4)];

fn main() {
    allocator::keep_freed_pages();
    lthnet::backend::init_cpu_thread_pool(None).expect("the first thing main does");
    divan::main();
}

fn same_3x3() -> ConvOptions<2> {
    ConvOptions::new([1, 1], [1, 1], [1, 1], 1)
}

/// Input, weight and output gradient of `layer`, on the plain backend.
fn tensors<T: Backend>(layer: usize) -> [Tensor<T, 4>; 3] {
    let (c, co, hw) = LAYERS[layer];
    let device = Default::default();
    let random = |shape: [usize; 4]| Tensor::<T, 4>::random(shape, Distribution::Default, &device);
    [
        random([BATCH, c, hw, hw]),
        random([co, c, 3, 3]),
        random([BATCH, co, hw, hw]),
    ]
}

#[divan::bench(args = [0, 1, 2, 3], sample_count = 5)]
fn forward(bencher: divan::Bencher, layer: usize) {
    let [x, w, _] = tensors::<Cpu>(layer);
    bencher.bench_local(|| conv2d(x.clone(), w.clone(), None, same_3x3()).into_data());
}

#[divan::bench(args = [0, 1, 2, 3], sample_count = 5)]
fn forward_backward(bencher: divan::Bencher, layer: usize) {
    let [x, w, g] = tensors::<B>(layer);
    let (x, w) = (x.require_grad(), w.require_grad());
    bencher.bench_local(|| {
        let grads = (conv2d(x.clone(), w.clone(), None, same_3x3()) * g.clone())
            .sum()
            .backward();
        (
            w.grad(&grads).unwrap().into_data(),
            x.grad(&grads).unwrap().into_data(),
        )
    });
}

#[divan::bench(args = [0, 1, 2, 3], sample_count = 5)]
fn forward_lthnet(bencher: divan::Bencher, layer: usize) {
    let [x, w, _] = tensors::<Cpu>(layer);
    bencher
        .bench_local(|| lthnet::flex::conv2d(x.clone(), w.clone(), None, same_3x3()).into_data());
}

/// As in training: the input of the first layer (the images) needs no gradient.
#[divan::bench(args = [0, 1, 2, 3], sample_count = 5)]
fn forward_backward_lthnet(bencher: divan::Bencher, layer: usize) {
    let [x, w, g] = tensors::<B>(layer);
    let (x, w) = (
        if layer == 0 { x } else { x.require_grad() },
        w.require_grad(),
    );
    bencher.bench_local(|| {
        let grads = (lthnet::flex::conv2d(x.clone(), w.clone(), None, same_3x3()) * g.clone())
            .sum()
            .backward();
        (
            w.grad(&grads).unwrap().into_data(),
            x.grad(&grads).map(|g| g.into_data()),
        )
    });
}

/// Training-mode BatchNorm + ReLU on each layer's output, forward + backward (weighted sum):
/// `lthnet::flex::batch_norm_2d_train`'s fused op.
#[divan::bench(args = [0, 1, 2, 3], sample_count = 5)]
fn batch_norm_relu_fused(bencher: divan::Bencher, layer: usize) {
    let [_, _, y] = tensors::<B>(layer);
    let channels = LAYERS[layer].1;
    let device = Default::default();
    let gamma = Tensor::<B, 1>::ones([channels], &device).require_grad();
    let beta = Tensor::<B, 1>::zeros([channels], &device).require_grad();
    let (y, g) = (y.clone().require_grad(), y);
    bencher.bench_local(|| {
        let out = lthnet::flex::batch_norm_2d_train(&y, &gamma, &beta, 1e-5, true).unwrap();
        let grads = (out.output * g.clone()).sum().backward();
        y.grad(&grads).unwrap().into_data()
    });
}

/// The same through burn-nn's `BatchNorm` module and Burn's `relu`.
#[divan::bench(args = [0, 1, 2, 3], sample_count = 5)]
fn batch_norm_relu_burn_nn(bencher: divan::Bencher, layer: usize) {
    let [_, _, y] = tensors::<B>(layer);
    let bn = burn::nn::BatchNormConfig::new(LAYERS[layer].1).init::<B>(&Default::default());
    let (y, g) = (y.clone().require_grad(), y);
    bencher.bench_local(|| {
        let out = burn::tensor::activation::relu(bn.forward(y.clone()));
        let grads = (out * g.clone()).sum().backward();
        y.grad(&grads).unwrap().into_data()
    });
}

/// The 2×2 max pool after each of the first three layers, forward + backward (weighted sum),
/// through `lthnet::flex::max_pool2d` or through Burn's (flex's) own.
#[divan::bench(args = [0, 1, 2], sample_count = 5)]
fn max_pool_lthnet(bencher: divan::Bencher, layer: usize) {
    max_pool_step(bencher, layer, lthnet::flex::max_pool2d);
}

#[divan::bench(args = [0, 1, 2], sample_count = 5)]
fn max_pool_burn(bencher: divan::Bencher, layer: usize) {
    max_pool_step(bencher, layer, burn::tensor::module::max_pool2d);
}

type MaxPool =
    fn(Tensor<B, 4>, [usize; 2], [usize; 2], [usize; 2], [usize; 2], bool) -> Tensor<B, 4>;

fn max_pool_step(bencher: divan::Bencher, layer: usize, pool: MaxPool) {
    let [_, _, y] = tensors::<B>(layer);
    let [batch, channels, h, w] = y.dims();
    let g = Tensor::<B, 4>::random(
        [batch, channels, h / 2, w / 2],
        Distribution::Default,
        &Default::default(),
    );
    let y = y.require_grad();
    bencher.bench_local(|| {
        let out = pool(y.clone(), [2, 2], [2, 2], [0, 0], [1, 1], false);
        let grads = (out * g.clone()).sum().backward();
        y.grad(&grads).unwrap().into_data()
    });
}

#[divan::bench(args = [0, 1, 2, 3], sample_count = 5)]
fn x_backward(bencher: divan::Bencher, layer: usize) {
    let [_, w, g] = tensors::<Cpu>(layer);
    let options = ConvTransposeOptions::new([1, 1], [1, 1], [0, 0], [1, 1], 1);
    bencher
        .bench_local(|| conv_transpose2d(g.clone(), w.clone(), None, options.clone()).into_data());
}

#[divan::bench(args = [0, 1, 2, 3], sample_count = 5)]
fn w_backward(bencher: divan::Bencher, layer: usize) {
    let [x, _, g] = tensors::<Cpu>(layer);
    bencher.bench_local(|| {
        conv2d(
            x.clone().swap_dims(0, 1),
            g.clone().swap_dims(0, 1),
            None,
            same_3x3(),
        )
        .swap_dims(0, 1)
        .into_data()
    });
}
