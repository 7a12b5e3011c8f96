//! The head's fully connected layers: `lthnet-flex`'s GEMM kernels (with the activation fused
//! in) on the `flex` CPU backend (feature `flex`), Burn's own `Linear::forward` and activations
//! everywhere else.

use burn::nn::Linear;
use burn::prelude::*;

/// `layer.forward(x)`; with the `flex` feature, through [`lthnet_flex::linear_layer`] (flex's
/// matmul zeroes and copies every output: about 10% of a head training step at batch 128,
/// `docs/benchmarks.md`).
///
/// # Shapes
/// - `x`: `[batch, d_input]` → `[batch, d_output]`
pub(crate) fn linear<B: Backend>(layer: &Linear<B>, x: Tensor<B, 2>) -> Tensor<B, 2> {
    #[cfg(feature = "flex")]
    {
        lthnet_flex::linear_layer(layer, x)
    }
    #[cfg(not(feature = "flex"))]
    {
        layer.forward(x)
    }
}

/// `relu(layer.forward(x))`, fused on flex ([`lthnet_flex::linear_layer_activation`]).
///
/// # Shapes
/// - `x`: `[batch, d_input]` → `[batch, d_output]`
pub(crate) fn linear_relu<B: Backend>(layer: &Linear<B>, x: Tensor<B, 2>) -> Tensor<B, 2> {
    #[cfg(feature = "flex")]
    {
        lthnet_flex::linear_layer_activation(layer, x, lthnet_flex::Activation::Relu)
    }
    #[cfg(not(feature = "flex"))]
    {
        burn::tensor::activation::relu(layer.forward(x))
    }
}

/// `tanh(layer.forward(x))`, fused on flex ([`lthnet_flex::linear_layer_activation`]: a
/// vectorised tanh within 5·10⁻⁷ of the exact one, where flex's is libm's scalar `tanhf` and
/// Burn's backward computes it twice).
///
/// # Shapes
/// - `x`: `[batch, d_input]` → `[batch, d_output]`
pub(crate) fn linear_tanh<B: Backend>(layer: &Linear<B>, x: Tensor<B, 2>) -> Tensor<B, 2> {
    #[cfg(feature = "flex")]
    {
        lthnet_flex::linear_layer_activation(layer, x, lthnet_flex::Activation::Tanh)
    }
    #[cfg(not(feature = "flex"))]
    {
        burn::tensor::activation::tanh(layer.forward(x))
    }
}
