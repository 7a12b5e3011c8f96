//! The backbones' convolution call: `lthnet-flex`'s GEMM kernels on the `flex` CPU backend
//! (feature `flex`), Burn's own convolution everywhere else.

use burn::nn::conv::Conv2d;
use burn::prelude::*;

/// `layer.forward(x)`; with the `flex` feature, through [`lthnet_flex::conv2d_layer`], whose
/// forward and gradients on `Flex` / `Autodiff<Flex>` are im2col + GEMM (burn-flex 0.21's own
/// weight gradient is 1.4–3× its forward: `docs/benchmarks.md`).
///
/// # Shapes
/// - `x`: `[batch, channels_in, height, width]` → `[batch, channels_out, out_h, out_w]`
pub fn conv2d<B: Backend>(layer: &Conv2d<B>, x: Tensor<B, 4>) -> Tensor<B, 4> {
    #[cfg(feature = "flex")]
    {
        lthnet_flex::conv2d_layer(layer, x)
    }
    #[cfg(not(feature = "flex"))]
    {
        layer.forward(x)
    }
}
