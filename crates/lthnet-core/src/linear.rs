//! The head's fully connected layers: `lthnet-flex`'s GEMM kernels on the `flex` CPU backend
//! (feature `flex`), Burn's own `Linear::forward` everywhere else.

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
