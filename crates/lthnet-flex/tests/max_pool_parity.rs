//! `lthnet_flex::max_pool2d` against Burn's own `max_pool2d` on the same backend: outputs on
//! `Flex`, outputs and input gradients through `Autodiff<Flex>`, the untracked path, and the
//! layer wrapper with its fallbacks (asymmetric padding, `ceil_mode`).

use burn::backend::{Autodiff, Flex};
use burn::nn::PaddingConfig2d;
use burn::nn::pool::MaxPool2dConfig;
use burn::prelude::*;

type Ad = Autodiff<Flex>;

/// `(input shape, kernel, stride, padding, dilation)`.
type Case = ([usize; 4], [usize; 2], [usize; 2], [usize; 2], [usize; 2]);

const CASES: [Case; 5] = [
    // CifarNet's pool, and an odd size that drops the last row and column.
    ([4, 8, 16, 16], [2, 2], [2, 2], [0, 0], [1, 1]),
    ([2, 3, 9, 11], [2, 2], [2, 2], [0, 0], [1, 1]),
    // ResNet's stem pool: overlapping windows with padding.
    ([2, 4, 15, 16], [3, 3], [2, 2], [1, 1], [1, 1]),
    ([1, 5, 8, 9], [3, 2], [1, 3], [1, 1], [1, 1]),
    ([2, 2, 10, 10], [2, 3], [2, 2], [1, 1], [2, 2]),
];

/// Distinct values in [-1, 1) (a permutation scaled), so no window holds a tie and the argmax
/// is the same for every implementation.
fn distinct<B: Backend>(shape: [usize; 4], seed: u64) -> Tensor<B, 4> {
    let n: usize = shape.iter().product();
    let step = (2 * n as u64 / 3) | 1;
    let step = (step..).find(|s| gcd(*s, n as u64) == 1).unwrap();
    let values: Vec<f32> = (0..n as u64)
        .map(|i| ((i * step + seed) % n as u64) as f32 / n as f32 * 2.0 - 1.0)
        .collect();
    Tensor::from_data(TensorData::new(values, shape), &Default::default())
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

#[test]
fn forward_matches_burn_on_flex() {
    for (i, &(dims, k, s, p, d)) in CASES.iter().enumerate() {
        let x = distinct::<Flex>(dims, i as u64);
        let ours = lthnet_flex::max_pool2d(x.clone(), k, s, p, d, false);
        let burn = burn::tensor::module::max_pool2d(x, k, s, p, d, false);
        assert_eq!(ours.dims(), burn.dims(), "case {i}");
        assert_eq!(ours.into_data(), burn.into_data(), "case {i}");
    }
}

#[test]
fn output_and_input_gradient_match_burn_on_autodiff() {
    for (i, &(dims, k, s, p, d)) in CASES.iter().enumerate() {
        let run = |ours: bool| {
            let x = distinct::<Ad>(dims, i as u64).require_grad();
            let y = if ours {
                lthnet_flex::max_pool2d(x.clone(), k, s, p, d, false)
            } else {
                burn::tensor::module::max_pool2d(x.clone(), k, s, p, d, false)
            };
            // A weight per output, so that a misplaced gradient changes the result.
            let weights = distinct::<Ad>(y.dims(), 7).detach();
            let grads = (y.clone() * weights).sum().backward();
            (y.into_data(), x.grad(&grads).unwrap().into_data())
        };
        let (ours, burn) = (run(true), run(false));
        assert_eq!(ours.0, burn.0, "output, case {i}");
        assert_eq!(ours.1, burn.1, "input gradient, case {i}");
    }
}

#[test]
fn untracked_input_on_autodiff_gives_the_same_output() {
    let x = distinct::<Ad>([2, 3, 8, 8], 3);
    let ours = lthnet_flex::max_pool2d(x.clone(), [2, 2], [2, 2], [0, 0], [1, 1], false);
    let burn = burn::tensor::module::max_pool2d(x, [2, 2], [2, 2], [0, 0], [1, 1], false);
    assert_eq!(ours.into_data(), burn.into_data());
}

#[test]
fn layer_wrapper_matches_the_module_including_its_fallbacks() {
    let x = distinct::<Flex>([2, 3, 9, 10], 5);
    let configs = [
        MaxPool2dConfig::new([2, 2]),
        MaxPool2dConfig::new([3, 3])
            .with_strides([2, 2])
            .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1)),
        // Asymmetric padding and ceil mode: passed to the module itself.
        MaxPool2dConfig::new([2, 2]).with_padding(PaddingConfig2d::Explicit(0, 1, 1, 0)),
        MaxPool2dConfig::new([2, 2]).with_ceil_mode(true),
    ];
    for (i, config) in configs.iter().enumerate() {
        let layer = config.init();
        let ours = lthnet_flex::max_pool2d_layer(&layer, x.clone());
        assert_eq!(
            ours.into_data(),
            layer.forward(x.clone()).into_data(),
            "config {i}"
        );
    }
}
