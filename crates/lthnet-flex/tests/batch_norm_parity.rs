//! `lthnet_flex::batch_norm_2d_train` against burn-nn's `BatchNorm` forward in training mode
//! (followed by Burn's `relu`) on `Autodiff<Flex>`: output, batch statistics and the gradients
//! of the input, γ and β; and the fallback on other backends.

use burn::backend::{Autodiff, Flex};
use burn::module::Param;
use burn::nn::BatchNormConfig;
use burn::prelude::*;
use burn::tensor::activation::relu;

type Ad = Autodiff<Flex>;

/// Values in `[offset - scale, offset + scale)` from a per-call LCG.
fn values(len: usize, seed: u64, offset: f32, scale: f32) -> Vec<f32> {
    let mut state = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
    (0..len)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            offset + scale * ((state >> 40) as f32 / (1u64 << 23) as f32 - 1.0)
        })
        .collect()
}

fn tensor<const D: usize>(v: Vec<f32>, shape: [usize; D]) -> Tensor<Ad, D> {
    Tensor::from_data(TensorData::new(v, shape), &Default::default())
}

fn max_diff<B: Backend, const D: usize>(a: Tensor<B, D>, b: Tensor<B, D>) -> f32 {
    let (a, b) = (a.into_data(), b.into_data());
    a.iter::<f32>()
        .zip(b.iter::<f32>())
        .fold(0.0, |m, (a, b)| m.max((a - b).abs() / (1.0 + b.abs())))
}

#[test]
fn matches_burn_nn_batch_norm_with_and_without_relu() {
    for (shape, relu_after) in [
        ([4, 3, 5, 6], false),
        ([4, 3, 5, 6], true),
        ([9, 16, 4, 4], true),
        ([1, 2, 1, 7], true),
    ] {
        let [_, channels, _, _] = shape;
        let len = shape.iter().product();
        let x = tensor(values(len, 1, 0.7, 2.0), shape).require_grad();
        let weights = tensor(values(len, 2, 0.0, 1.0), shape);
        let gamma = tensor(values(channels, 3, 1.0, 0.5), [channels]);
        let beta = tensor(values(channels, 4, 0.0, 0.5), [channels]);

        let mut bn = BatchNormConfig::new(channels).init::<Ad>(&Default::default());
        bn.gamma = Param::from_tensor(gamma.clone());
        bn.beta = Param::from_tensor(beta.clone());
        let theirs = bn.forward(x.clone());
        let theirs = if relu_after { relu(theirs) } else { theirs };
        let theirs_grads = (theirs.clone() * weights.clone()).sum().backward();

        let (gamma, beta) = (gamma.require_grad(), beta.require_grad());
        let ours = lthnet_flex::batch_norm_2d_train(&x, &gamma, &beta, bn.epsilon, relu_after)
            .expect("Autodiff<Flex> takes the fused path");
        let ours_grads = (ours.output.clone() * weights).sum().backward();

        let what = format!("{shape:?} relu {relu_after}");
        assert!(max_diff(ours.output, theirs) < 1e-5, "{what}: output");
        let dx = max_diff(x.grad(&ours_grads).unwrap(), x.grad(&theirs_grads).unwrap());
        assert!(dx < 1e-4, "{what}: dx {dx}");
        let dg = max_diff(
            gamma.grad(&ours_grads).unwrap(),
            bn.gamma.grad(&theirs_grads).unwrap(),
        );
        assert!(dg < 1e-4, "{what}: dγ {dg}");
        let db = max_diff(
            beta.grad(&ours_grads).unwrap(),
            bn.beta.grad(&theirs_grads).unwrap(),
        );
        assert!(db < 1e-4, "{what}: dβ {db}");

        // The batch statistics: mean and biased variance over (batch, H, W).
        let x = x.inner();
        let mean = x
            .clone()
            .mean_dim(0)
            .mean_dim(2)
            .mean_dim(3)
            .reshape([channels]);
        let centred = x - mean.clone().reshape([1, channels, 1, 1]);
        let var = centred
            .square()
            .mean_dim(0)
            .mean_dim(2)
            .mean_dim(3)
            .reshape([channels]);
        assert!(
            max_diff(ours.mean, Tensor::from_inner(mean)) < 1e-5,
            "{what}: mean"
        );
        assert!(
            max_diff(ours.var, Tensor::from_inner(var)) < 1e-5,
            "{what}: var"
        );
    }
}

#[test]
fn other_backends_and_bad_shapes_are_declined() {
    let device = Default::default();
    let x = Tensor::<Flex, 4>::ones([2, 3, 2, 2], &device);
    let g = Tensor::<Flex, 1>::ones([3], &device);
    assert!(lthnet_flex::batch_norm_2d_train(&x, &g, &g, 1e-5, true).is_none());
    let x = Tensor::<Ad, 4>::ones([2, 3, 2, 2], &device);
    let g = Tensor::<Ad, 1>::ones([4], &device);
    assert!(lthnet_flex::batch_norm_2d_train(&x, &g, &g, 1e-5, true).is_none());
}
