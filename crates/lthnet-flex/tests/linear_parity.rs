//! `lthnet_flex::linear` against Burn's own `linear` on the same backend: outputs on `Flex`;
//! outputs and the input, weight and bias gradients through `Autodiff<Flex>`; an untracked
//! input (the head's first layer); and the fallbacks (no bias, another backend's path).
//! `linear_activation` against Burn's `linear` followed by Burn's `relu` / `tanh`.

use burn::backend::{Autodiff, Flex};
use burn::nn::LinearConfig;
use burn::prelude::*;
use burn::tensor::{Distribution, Tolerance};
use lthnet_flex::Activation;

type Ad = Autodiff<Flex>;

/// `(batch, d_input, d_output)`: tiny, odd, and the head's sizes (above the parallel
/// threshold).
const CASES: [(usize, usize, usize); 4] = [(1, 3, 2), (5, 17, 9), (8, 512, 2000), (128, 2000, 64)];

fn random<B: Backend, const D: usize>(shape: [usize; D], seed: u64) -> Tensor<B, D> {
    B::seed(&Default::default(), seed);
    Tensor::random(shape, Distribution::Uniform(-1.0, 1.0), &Default::default())
}

fn tolerance() -> Tolerance<f32> {
    Tolerance::absolute(1e-4).set_relative(1e-4)
}

#[test]
fn forward_matches_burn_on_flex() {
    for &(batch, d_in, d_out) in &CASES {
        let x = random::<Flex, 2>([batch, d_in], 1);
        let w = random::<Flex, 2>([d_in, d_out], 2);
        let b = random::<Flex, 1>([d_out], 3);
        let ours = lthnet_flex::linear(x.clone(), w.clone(), Some(b.clone()));
        let burn = burn::tensor::module::linear(x, w, Some(b));
        assert_eq!(ours.dims(), [batch, d_out]);
        ours.into_data()
            .assert_approx_eq::<f32>(&burn.into_data(), tolerance());
    }
}

/// Burn's `linear` then Burn's activation.
fn burn_linear_activation<B: Backend>(
    x: Tensor<B, 2>,
    w: Tensor<B, 2>,
    b: Tensor<B, 1>,
    activation: Activation,
) -> Tensor<B, 2> {
    let z = burn::tensor::module::linear(x, w, Some(b));
    match activation {
        Activation::Identity => z,
        Activation::Relu => burn::tensor::activation::relu(z),
        Activation::Tanh => burn::tensor::activation::tanh(z),
    }
}

#[test]
fn output_and_gradients_match_burn_on_autodiff() {
    for activation in [Activation::Identity, Activation::Relu, Activation::Tanh] {
        check_autodiff(activation);
    }
}

#[test]
fn activations_match_burn_on_flex() {
    for activation in [Activation::Relu, Activation::Tanh] {
        for &(batch, d_in, d_out) in &CASES {
            let x = random::<Flex, 2>([batch, d_in], 1);
            let w = random::<Flex, 2>([d_in, d_out], 2).mul_scalar(0.1);
            let b = random::<Flex, 1>([d_out], 3);
            let ours =
                lthnet_flex::linear_activation(x.clone(), w.clone(), Some(b.clone()), activation);
            let burn = burn_linear_activation(x, w, b, activation);
            ours.into_data()
                .assert_approx_eq::<f32>(&burn.into_data(), tolerance());
        }
    }
}

fn check_autodiff(activation: Activation) {
    for &(batch, d_in, d_out) in &CASES {
        let run = |ours: bool| {
            let x = random::<Ad, 2>([batch, d_in], 1).require_grad();
            // Scaled so that the tanh is not saturated everywhere at the wide sizes.
            let w = random::<Ad, 2>([d_in, d_out], 2)
                .mul_scalar(1.0 / (d_in as f32).sqrt())
                .detach()
                .require_grad();
            let b = random::<Ad, 1>([d_out], 3).require_grad();
            let y = if ours {
                lthnet_flex::linear_activation(x.clone(), w.clone(), Some(b.clone()), activation)
            } else {
                burn_linear_activation(x.clone(), w.clone(), b.clone(), activation)
            };
            // A weight per output, so that a misplaced gradient changes the result.
            let weights = random::<Ad, 2>([batch, d_out], 4).detach();
            let grads = (y.clone() * weights).sum().backward();
            [
                y.into_data(),
                x.grad(&grads).unwrap().into_data(),
                w.grad(&grads).unwrap().into_data(),
                b.grad(&grads).unwrap().into_data(),
            ]
        };
        let (ours, burn) = (run(true), run(false));
        for (what, (o, b)) in ["output", "dx", "dw", "db"]
            .iter()
            .zip(ours.iter().zip(&burn))
        {
            assert_eq!(
                o.shape, b.shape,
                "{what}, {activation:?}, case {batch}x{d_in}x{d_out}"
            );
            o.assert_approx_eq::<f32>(b, tolerance());
        }
    }
}

#[test]
fn untracked_input_gets_no_gradient_and_the_weights_do() {
    let layer = LinearConfig::new(6, 4).init::<Ad>(&Default::default());
    let x = random::<Ad, 2>([3, 6], 5);
    let y = lthnet_flex::linear_layer(&layer, x.clone());
    let reference = layer.forward(x.clone());
    y.clone()
        .into_data()
        .assert_approx_eq::<f32>(&reference.clone().into_data(), tolerance());
    let (ours, burn) = (y.sum().backward(), reference.sum().backward());
    assert!(x.grad(&ours).is_none());
    layer
        .weight
        .grad(&ours)
        .unwrap()
        .into_data()
        .assert_approx_eq::<f32>(&layer.weight.grad(&burn).unwrap().into_data(), tolerance());
    let bias = layer.bias.as_ref().unwrap();
    bias.grad(&ours)
        .unwrap()
        .into_data()
        .assert_approx_eq::<f32>(&bias.grad(&burn).unwrap().into_data(), tolerance());
}

#[test]
fn a_layer_without_bias_falls_back_to_burn() {
    let layer = LinearConfig::new(5, 3)
        .with_bias(false)
        .init::<Ad>(&Default::default());
    let x = random::<Ad, 2>([2, 5], 6).require_grad();
    let y = lthnet_flex::linear_layer(&layer, x.clone());
    y.clone()
        .into_data()
        .assert_approx_eq::<f32>(&layer.forward(x.clone()).into_data(), tolerance());
    let grads = y.sum().backward();
    assert_eq!(x.grad(&grads).unwrap().dims(), [2, 5]);
}

#[test]
fn the_fallback_applies_the_activation() {
    let layer = LinearConfig::new(5, 3)
        .with_bias(false)
        .init::<Ad>(&Default::default());
    let x = random::<Ad, 2>([2, 5], 7);
    for (activation, reference) in [
        (
            Activation::Relu,
            burn::tensor::activation::relu(layer.forward(x.clone())),
        ),
        (
            Activation::Tanh,
            burn::tensor::activation::tanh(layer.forward(x.clone())),
        ),
    ] {
        let y = lthnet_flex::linear_layer_activation(&layer, x.clone(), activation);
        y.into_data()
            .assert_approx_eq::<f32>(&reference.into_data(), tolerance());
    }
}
