//! `lthnet_flex::conv2d` against Burn's own `conv2d` on the same backend: outputs and the
//! gradients of the input, weight and bias through `Autodiff<Flex>` (Burn's generic gradients
//! are the reference), plus the fallbacks (grouped convolution, another checkpointing
//! strategy) and `conv2d_layer` with asymmetric padding.

use burn::backend::{Autodiff, Flex};
use burn::nn::PaddingConfig2d;
use burn::nn::conv::Conv2dConfig;
use burn::prelude::*;
use burn::tensor::Tolerance;
use burn::tensor::ops::{ConvOptions, PaddedConvOptions};
use burn_autodiff::checkpoint::strategy::BalancedCheckpointing;

type Ad = Autodiff<Flex>;

fn tolerance() -> Tolerance<f32> {
    Tolerance::absolute(2e-4)
}

/// `(x shape, weight shape, stride, padding start, padding end, dilation)`.
type Case = (
    [usize; 4],
    [usize; 4],
    [usize; 2],
    [usize; 2],
    [usize; 2],
    [usize; 2],
);

const CASES: [Case; 8] = [
    ([4, 3, 16, 16], [8, 3, 3, 3], [1, 1], [1, 1], [1, 1], [1, 1]),
    ([3, 5, 9, 12], [6, 5, 3, 3], [2, 2], [1, 1], [1, 1], [1, 1]),
    ([2, 4, 10, 9], [3, 4, 2, 3], [1, 2], [0, 2], [0, 2], [2, 1]),
    (
        [5, 16, 7, 7],
        [12, 16, 1, 1],
        [1, 1],
        [0, 0],
        [0, 0],
        [1, 1],
    ),
    ([33, 8, 4, 4], [16, 8, 3, 3], [1, 1], [1, 1], [1, 1], [1, 1]),
    // TF "SAME" for a stride-2 3×3 convolution on an even size: 0 before, 1 after.
    ([2, 3, 8, 8], [4, 3, 3, 3], [2, 2], [0, 0], [1, 1], [1, 1]),
    // Stride 1 keeping the width, dilated; and asymmetric rows.
    ([2, 3, 7, 6], [4, 3, 3, 3], [1, 1], [2, 2], [2, 2], [2, 2]),
    ([3, 2, 6, 5], [3, 2, 3, 3], [1, 1], [0, 1], [2, 1], [1, 1]),
];

fn options(case: &Case) -> PaddedConvOptions<2> {
    let (_, _, stride, start, end, dilation) = *case;
    PaddedConvOptions::asymmetric(stride, start, end, dilation, 1)
}

/// Uniform values in [-1, 1) from a per-call LCG (Burn's seeded RNG is process-global, and the
/// tests run in parallel).
fn random<B: Backend, const D: usize>(shape: [usize; D], seed: u64) -> Tensor<B, D> {
    let mut state = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
    let values: Vec<f32> = (0..shape.iter().product::<usize>())
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        })
        .collect();
    Tensor::from_data(TensorData::new(values, shape), &Default::default())
}

#[test]
fn forward_matches_burn_on_flex() {
    for (i, case) in CASES.iter().enumerate() {
        let x = random::<Flex, 4>(case.0, 2 * i as u64);
        let w = random::<Flex, 4>(case.1, 2 * i as u64 + 1);
        let b = random::<Flex, 1>([case.1[0]], 99);
        let ours = lthnet_flex::conv2d(x.clone(), w.clone(), Some(b.clone()), options(case));
        let burn = burn::tensor::module::conv2d(x, w, Some(b), options(case));
        assert_eq!(ours.dims(), burn.dims(), "case {i}");
        ours.into_data()
            .assert_approx_eq::<f32>(&burn.into_data(), tolerance());
    }
}

/// Gradients of `Σ conv(x, w, b) ⊙ g` (a fixed random `g`, so each output element weighs
/// differently) with respect to `x`, `w` and `b`.
fn gradients<B: burn::tensor::backend::AutodiffBackend>(
    case: &Case,
    seed: u64,
    ours: bool,
) -> [TensorData; 4] {
    let x = random::<B, 4>(case.0, seed).require_grad();
    let w = random::<B, 4>(case.1, seed + 1).require_grad();
    let b = random::<B, 1>([case.1[0]], seed + 2).require_grad();
    let y = if ours {
        lthnet_flex::conv2d(x.clone(), w.clone(), Some(b.clone()), options(case))
    } else {
        burn::tensor::module::conv2d(x.clone(), w.clone(), Some(b.clone()), options(case))
    };
    let g = random::<B, 4>(y.dims(), seed + 3);
    let grads = (y.clone() * g).sum().backward();
    [
        y.into_data(),
        x.grad(&grads).unwrap().into_data(),
        w.grad(&grads).unwrap().into_data(),
        b.grad(&grads).unwrap().into_data(),
    ]
}

#[test]
fn gradients_match_burns_generic_backward() {
    for (i, case) in CASES.iter().enumerate() {
        let ours = gradients::<Ad>(case, 10 * i as u64, true);
        let burn = gradients::<Ad>(case, 10 * i as u64, false);
        for (what, (a, b)) in ["output", "dx", "dw", "db"]
            .iter()
            .zip(ours.iter().zip(&burn))
        {
            let scale = b.iter::<f32>().fold(1.0f32, |m, v| m.max(v.abs()));
            let diff = a
                .iter::<f32>()
                .zip(b.iter::<f32>())
                .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
            assert!(
                diff <= 1e-5 * scale.max(10.0),
                "case {i} {what}: max |Δ| {diff}"
            );
        }
    }
}

#[test]
fn a_gradient_is_only_computed_for_tensors_that_require_it() {
    let case = &CASES[0];
    let x = random::<Ad, 4>(case.0, 1);
    let w = random::<Ad, 4>(case.1, 2).require_grad();
    let grads = lthnet_flex::conv2d(x.clone(), w.clone(), None, options(case))
        .sum()
        .backward();
    assert!(x.grad(&grads).is_none());
    assert_eq!(w.grad(&grads).unwrap().dims(), case.1);
}

#[test]
fn untracked_forward_on_autodiff_matches() {
    let case = &CASES[1];
    let x = random::<Ad, 4>(case.0, 5);
    let w = random::<Ad, 4>(case.1, 6);
    let ours = lthnet_flex::conv2d(x.clone(), w.clone(), None, options(case));
    let burn = burn::tensor::module::conv2d(x, w, None, options(case));
    ours.into_data()
        .assert_approx_eq::<f32>(&burn.into_data(), tolerance());
}

#[test]
fn grouped_and_other_backends_fall_back_to_burn() {
    // Depthwise: groups = channels.
    let x = random::<Ad, 4>([2, 4, 6, 6], 7).require_grad();
    let w = random::<Ad, 4>([4, 1, 3, 3], 8).require_grad();
    let depthwise = ConvOptions::new([1, 1], [1, 1], [1, 1], 4);
    let ours = lthnet_flex::conv2d(x.clone(), w.clone(), None, depthwise.clone());
    let burn = burn::tensor::module::conv2d(x, w, None, depthwise);
    ours.into_data()
        .assert_approx_eq::<f32>(&burn.into_data(), tolerance());

    type Balanced = Autodiff<Flex, BalancedCheckpointing>;
    let case = &CASES[0];
    let ours = gradients::<Balanced>(case, 3, true);
    let burn = gradients::<Balanced>(case, 3, false);
    for (a, b) in ours.iter().zip(&burn) {
        a.assert_approx_eq::<f32>(b, tolerance());
    }
}

#[test]
fn conv2d_layer_matches_the_module_forward() {
    let device = Default::default();
    for (padding, kernel, stride, dilation, size) in [
        (
            PaddingConfig2d::Explicit(0, 0, 1, 1),
            [3, 3],
            [2, 1],
            [1, 1],
            [9, 8],
        ),
        (
            PaddingConfig2d::Explicit(1, 2, 1, 2),
            [3, 3],
            [2, 1],
            [1, 1],
            [9, 8],
        ),
        (PaddingConfig2d::Valid, [3, 3], [2, 1], [1, 1], [9, 8]),
        (PaddingConfig2d::Same, [3, 3], [2, 1], [1, 1], [9, 8]),
        (PaddingConfig2d::Same, [3, 3], [2, 2], [1, 1], [8, 8]),
        (PaddingConfig2d::Same, [4, 2], [3, 1], [1, 1], [10, 7]),
        (PaddingConfig2d::Same, [3, 3], [1, 1], [2, 2], [9, 9]),
    ] {
        let layer = Conv2dConfig::new([3, 5], kernel)
            .with_stride(stride)
            .with_dilation(dilation)
            .with_padding(padding.clone())
            .init::<Ad>(&device);
        let x = random::<Ad, 4>([2, 3, size[0], size[1]], 11);
        let ours = lthnet_flex::conv2d_layer(&layer, x.clone());
        let burn = layer.forward(x);
        assert_eq!(ours.dims(), burn.dims(), "{padding:?}");
        ours.into_data()
            .assert_approx_eq::<f32>(&burn.into_data(), tolerance());
    }
}
