//! The backbones' max-pool call: `lthnet-flex`'s kernel on the `flex` CPU backend (feature
//! `flex`), Burn's own max pool everywhere else.

use burn::nn::pool::MaxPool2d;
use burn::prelude::*;

/// `layer.forward(x)`; with the `flex` feature, through [`lthnet_flex::max_pool2d_layer`]
/// (burn-flex 0.21's max pool took 13% of the CifarNet training step: `docs/benchmarks.md`).
///
/// # Shapes
/// - `x`: `[batch, channels, height, width]` → `[batch, channels, out_h, out_w]`
pub fn max_pool2d<B: Backend>(layer: &MaxPool2d, x: Tensor<B, 4>) -> Tensor<B, 4> {
    #[cfg(feature = "flex")]
    {
        lthnet_flex::max_pool2d_layer(layer, x)
    }
    #[cfg(not(feature = "flex"))]
    {
        layer.forward(x)
    }
}
