//! BatchNorm over `[batch, channels, H, W]` with burn-nn's semantics, laid out for CPU backends.
//!
//! burn-nn's [`BatchNorm::forward`] broadcasts `[1, C, 1, 1]` statistics over `[B, C, H, W]`
//! and reduces through `swap_dims(0, 1)`. On burn-flex 0.21 neither has a fast path: the
//! broadcast (stride 0, 1, 0, 0) falls back to a scalar strided iterator, and the swap forces a
//! strided copy. In the CifarNet training step at batch 128 that was about half of the step's
//! time (profiled with `perf`; see `docs/benchmarks.md`).
//!
//! [`batch_norm_2d`] computes the same function on the `[B·C, H·W]` view of the input, so every
//! large operation is either a contiguous row reduction or a per-row scalar broadcast, both of
//! which the CPU backends vectorise; only `[B, C]`-sized tensors are expanded. It keeps
//! burn-nn's conventions exactly, so it is a drop-in replacement for the module's forward:
//! batch statistics (biased variance) when autodiff is enabled, with the running mean and
//! variance updated by `momentum`; the running statistics otherwise. (PyTorch updates its
//! running variance with the unbiased estimate; burn-nn, and so this function, uses the biased
//! one.)

use burn::nn::BatchNorm;
use burn::prelude::*;
use burn::tensor::activation::relu;

/// burn-nn's [`BatchNorm::forward`] on a 4-D input, with the same results and the same running
/// statistics update, computed on the `[B·C, H·W]` view (see the [module docs](self)).
///
/// # Shapes
/// - `x`: `[batch, channels, H, W]` → `[batch, channels, H, W]`
///
/// # Panics
/// If `channels` differs from the BatchNorm's number of features.
pub fn batch_norm_2d<B: Backend>(bn: &BatchNorm<B>, x: Tensor<B, 4>) -> Tensor<B, 4> {
    normalise(bn, x, false)
}

/// `relu(batch_norm_2d(bn, x))`. In training on `Autodiff<Flex>` (lthnet-core's `flex`
/// feature) both are one operation with its own backward step
/// ([`lthnet_flex::batch_norm_2d_train`]): two passes over the activation forward and two
/// backward, instead of about twenty.
///
/// # Shapes
/// - `x`: `[batch, channels, H, W]` → `[batch, channels, H, W]`
///
/// # Panics
/// If `channels` differs from the BatchNorm's number of features.
pub fn batch_norm_relu_2d<B: Backend>(bn: &BatchNorm<B>, x: Tensor<B, 4>) -> Tensor<B, 4> {
    normalise(bn, x, true)
}

fn normalise<B: Backend>(bn: &BatchNorm<B>, x: Tensor<B, 4>, rectify: bool) -> Tensor<B, 4> {
    let [batch, channels, height, width] = x.dims();
    let features = bn.gamma.dims()[0];
    assert_eq!(
        channels, features,
        "BatchNorm has {features} features, the input has {channels} channels"
    );
    let device = x.device();
    let rectified = |y: Tensor<B, 4>| if rectify { relu(y) } else { y };

    #[cfg(feature = "flex")]
    if B::ad_enabled(&device) {
        let (gamma, beta) = (bn.gamma.val(), bn.beta.val());
        if let Some(out) = lthnet_flex::batch_norm_2d_train(&x, &gamma, &beta, bn.epsilon, rectify)
        {
            update_running_stats(bn, out.mean, out.var);
            return out.output;
        }
    }

    let rows = x.reshape([batch * channels, height * width]);
    // A `[1, C]` per-channel value as one scalar per row of the `[B·C, H·W]` view.
    let per_row = |v: Tensor<B, 2>| v.expand([batch, channels]).reshape([batch * channels, 1]);
    let gamma = bn.gamma.val().reshape([1, channels]);
    let beta = bn.beta.val().reshape([1, channels]);

    if B::ad_enabled(&device) {
        let count = (batch * height * width) as f64;
        let channel_mean = |rows: Tensor<B, 2>| {
            rows.sum_dim(1)
                .reshape([batch, channels])
                .sum_dim(0)
                .div_scalar(count)
        };
        let mean = channel_mean(rows.clone());
        let centred = rows - per_row(mean.clone());
        let var = channel_mean(centred.clone().square());
        update_running_stats(
            bn,
            mean.reshape([channels]),
            var.clone().reshape([channels]),
        );
        let scale = gamma / var.add_scalar(bn.epsilon).sqrt();
        rectified(
            (centred * per_row(scale) + per_row(beta)).reshape([batch, channels, height, width]),
        )
    } else {
        let mean = bn
            .running_mean
            .value()
            .to_device(&device)
            .reshape([1, channels]);
        let var = bn
            .running_var
            .value()
            .to_device(&device)
            .reshape([1, channels]);
        let scale = gamma / var.add_scalar(bn.epsilon).sqrt();
        let shift = beta - mean * scale.clone();
        rectified(
            (rows * per_row(scale) + per_row(shift)).reshape([batch, channels, height, width]),
        )
    }
}

/// burn-nn's running statistics update: `running ← (1 − momentum)·running + momentum·batch`
/// (biased variance), outside the autodiff graph.
fn update_running_stats<B: Backend>(bn: &BatchNorm<B>, mean: Tensor<B, 1>, var: Tensor<B, 1>) {
    let momentum = bn.momentum;
    let device = mean.device();
    let blend = |running: Tensor<B, 1>, batch: Tensor<B, 1>| {
        running
            .to_device(&device)
            .mul_scalar(1.0 - momentum)
            .add(batch.detach().mul_scalar(momentum))
            .detach()
    };
    bn.running_mean
        .update(blend(bn.running_mean.value_sync(), mean));
    bn.running_var
        .update(blend(bn.running_var.value_sync(), var));
}

#[cfg(test)]
mod tests {
    use burn::backend::{Autodiff, Flex};
    use burn::module::{Param, RunningState};
    use burn::nn::BatchNormConfig;
    use burn::tensor::Distribution;

    use super::*;

    type B = Autodiff<Flex>;

    fn assert_close<const D: usize>(a: Tensor<impl Backend, D>, b: Tensor<impl Backend, D>) {
        let a = a.into_data().to_vec::<f32>().unwrap();
        let b = b.into_data().to_vec::<f32>().unwrap();
        assert_eq!(a.len(), b.len());
        let worst = a
            .iter()
            .zip(&b)
            .map(|(x, y)| (x - y).abs() / (1.0 + y.abs()))
            .fold(0.0f32, f32::max);
        assert!(worst < 1e-5, "max relative difference {worst}");
    }

    /// Non-trivial γ, β, running mean and running variance for `channels` features.
    fn values<B: Backend>(channels: usize, device: &B::Device) -> [Tensor<B, 1>; 4] {
        let random =
            |lo, hi| Tensor::<B, 1>::random([channels], Distribution::Uniform(lo, hi), device);
        [
            random(0.5, 2.0),
            random(-1.0, 1.0),
            random(-1.0, 1.0),
            random(0.5, 3.0),
        ]
    }

    /// An independent BatchNorm (own parameters and running state) holding `values`.
    fn batch_norm<B: Backend>(values: &[Tensor<B, 1>; 4]) -> BatchNorm<B> {
        let [gamma, beta, mean, var] = values.clone();
        let mut bn = BatchNormConfig::new(gamma.dims()[0])
            .with_momentum(0.3)
            .init::<B>(&gamma.device());
        bn.gamma = Param::from_tensor(gamma);
        bn.beta = Param::from_tensor(beta);
        bn.running_mean = RunningState::new(mean);
        bn.running_var = RunningState::new(var);
        bn
    }

    /// `ours` against `theirs` in training, each on its own copy of the BatchNorm holding
    /// `trained`: output, the gradients of `x`, γ and β for a weighted sum, and the running
    /// statistics afterwards. Returns our BatchNorm for further checks.
    fn assert_training_matches(
        trained: &[Tensor<B, 1>; 4],
        x: Tensor<B, 4>,
        ours: impl Fn(&BatchNorm<B>, Tensor<B, 4>) -> Tensor<B, 4>,
        theirs: impl Fn(&BatchNorm<B>, Tensor<B, 4>) -> Tensor<B, 4>,
    ) -> BatchNorm<B> {
        let (bn, ours_bn) = (batch_norm(trained), batch_norm(trained));
        let x = x.require_grad();
        // A weighted sum, so the gradient is not the (zero) gradient of a plain sum.
        let weights = Tensor::<B, 4>::random(x.dims(), Distribution::Default, &x.device());
        let y_ours = ours(&ours_bn, x.clone());
        let y_theirs = theirs(&bn, x.clone());
        assert_close(y_ours.clone(), y_theirs.clone());

        let grads_ours = (y_ours * weights.clone()).sum().backward();
        let grads_theirs = (y_theirs * weights).sum().backward();
        assert_close(x.grad(&grads_ours).unwrap(), x.grad(&grads_theirs).unwrap());
        for (a, b) in [(&ours_bn.gamma, &bn.gamma), (&ours_bn.beta, &bn.beta)] {
            assert_close(a.grad(&grads_ours).unwrap(), b.grad(&grads_theirs).unwrap());
        }
        assert_close(
            ours_bn.running_mean.value_sync(),
            bn.running_mean.value_sync(),
        );
        assert_close(
            ours_bn.running_var.value_sync(),
            bn.running_var.value_sync(),
        );
        ours_bn
    }

    #[test]
    fn training_matches_burn_nn_forward_backward_and_running_stats() {
        let device = Default::default();
        let values = values::<B>(5, &device);
        let x = Tensor::<B, 4>::random([3, 5, 4, 6], Distribution::Normal(2.0, 3.0), &device);
        let ours_bn = assert_training_matches(&values, x, batch_norm_2d, |bn, x| bn.forward(x));
        // The statistics moved (momentum 0.3 towards the batch's mean ≈ 2, variance ≈ 9).
        let moved = (ours_bn.running_var.value_sync() - values[3].clone())
            .abs()
            .max()
            .into_scalar();
        assert!(moved > 0.5, "running variance moved by only {moved}");
    }

    /// With or without the `flex` feature (fused or tensor-op path), in training and inference.
    #[test]
    fn batch_norm_relu_is_relu_of_batch_norm() {
        let device = Default::default();
        let x = Tensor::<B, 4>::random([3, 4, 5, 5], Distribution::Normal(0.5, 2.0), &device);
        assert_training_matches(&values::<B>(4, &device), x, batch_norm_relu_2d, |bn, x| {
            relu(bn.forward(x))
        });
        let inference = batch_norm(&values::<Flex>(4, &device));
        let x = Tensor::<Flex, 4>::random([2, 4, 3, 3], Distribution::Default, &device);
        assert_close(
            batch_norm_relu_2d(&inference, x.clone()),
            relu(inference.forward(x)),
        );
    }

    #[test]
    fn inference_matches_burn_nn() {
        let device = Default::default();
        let bn = batch_norm(&values::<Flex>(7, &device));
        let x = Tensor::<Flex, 4>::random([2, 7, 3, 5], Distribution::Normal(0.5, 2.0), &device);
        assert_close(batch_norm_2d(&bn, x.clone()), bn.forward(x));
    }

    #[test]
    #[should_panic(expected = "BatchNorm has 4 features, the input has 3 channels")]
    fn channel_mismatch_is_named() {
        let device = Default::default();
        let bn = BatchNormConfig::new(4).init::<Flex>(&device);
        batch_norm_2d(&bn, Tensor::zeros([1, 3, 2, 2], &device));
    }
}
