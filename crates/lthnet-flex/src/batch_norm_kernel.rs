//! Training-mode BatchNorm over NCHW `f32` slices, optionally fused with the ReLU after it:
//! forward (batch statistics) and backward in two passes over the activation each.
//!
//! As tensor operations through autodiff, BatchNorm + ReLU makes about twenty passes over the
//! activation per step (the reductions, the centring, the square, the scale and shift, the ReLU
//! and each of their backward steps, every one a fresh allocation). Here:
//!
//! - forward: per channel, the mean and the biased variance (two passes over the channel, the
//!   second from cache), then `y = max(0, x·scale + shift)` per image;
//! - backward: per channel, `Σ g` and `Σ g·x̂` with `g` the output gradient masked by the ReLU
//!   (recomputed from `x`, so the output is not kept), then
//!   `dx = γ·rstd · (g − Σg/M − x̂·Σg·x̂/M)`.
//!
//! Sums run in 16 `f32` lanes per image plane (so they vectorise), combined in `f64`, channel by
//! channel in a fixed order, so results do not depend on the thread count.

use rayon::prelude::*;

use crate::simd::with_avx2;

/// The shape of one BatchNorm input: `[batch, channels, pixels]` (`pixels = H · W`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NormShape {
    /// Batch size.
    pub batch: usize,
    /// Channels (BatchNorm features).
    pub channels: usize,
    /// `H · W`.
    pub pixels: usize,
}

impl NormShape {
    /// Elements per channel: `batch · pixels`.
    pub fn count(&self) -> usize {
        self.batch * self.pixels
    }

    fn len(&self) -> usize {
        self.batch * self.channels * self.pixels
    }

    /// The `pixels`-long planes of channel `c`, one per image.
    fn planes<'a>(&self, x: &'a [f32], c: usize) -> impl Iterator<Item = &'a [f32]> {
        (0..self.batch).map(move |n| &x[(n * self.channels + c) * self.pixels..][..self.pixels])
    }
}

/// Per-channel statistics of a forward pass: the batch mean, biased variance and
/// `1 / √(var + ε)`.
#[derive(Clone, Debug, PartialEq)]
pub struct BatchStats {
    /// Mean per channel.
    pub mean: Vec<f32>,
    /// Biased variance per channel.
    pub var: Vec<f32>,
    /// `1 / √(var + ε)` per channel.
    pub rstd: Vec<f32>,
}

/// `x · scale + shift`: one expression for the forward and for the backward's ReLU mask, so
/// both see the same bits.
#[inline(always)]
fn affine(x: f32, scale: f32, shift: f32) -> f32 {
    x * scale + shift
}

/// Independent partial sums: enough for the compiler to vectorise a float reduction, which it
/// may not reorder itself.
const LANES: usize = 16;

/// `Σ f(v)` over `values`, accumulated in `LANES` `f32` lanes and combined in `f64`.
#[inline(always)]
fn lane_sum(values: &[f32], f: impl Fn(f32) -> f32) -> f64 {
    let mut lanes = [0.0f32; LANES];
    let chunks = values.chunks_exact(LANES);
    let tail: f64 = chunks.remainder().iter().map(|&v| f64::from(f(v))).sum();
    for chunk in chunks {
        for (lane, &v) in lanes.iter_mut().zip(chunk) {
            *lane += f(v);
        }
    }
    lanes.iter().map(|&l| f64::from(l)).sum::<f64>() + tail
}

/// `(Σ f(a, b).0, Σ f(a, b).1)` over two equally long slices, like [`lane_sum`].
#[inline(always)]
fn lane_sum2(a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> (f32, f32)) -> (f64, f64) {
    let (mut first, mut second) = ([0.0f32; LANES], [0.0f32; LANES]);
    let (mut tail_first, mut tail_second) = (0.0f64, 0.0f64);
    let (chunks_a, chunks_b) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    for (&x, &y) in chunks_a.remainder().iter().zip(chunks_b.remainder()) {
        let (u, v) = f(x, y);
        tail_first += f64::from(u);
        tail_second += f64::from(v);
    }
    for (ca, cb) in chunks_a.zip(chunks_b) {
        for i in 0..LANES {
            let (u, v) = f(ca[i], cb[i]);
            first[i] += u;
            second[i] += v;
        }
    }
    let total = |lanes: [f32; LANES]| lanes.iter().map(|&l| f64::from(l)).sum::<f64>();
    (total(first) + tail_first, total(second) + tail_second)
}

with_avx2! {
    /// `Σ v` over one plane.
    fn plane_sum(plane: &[f32]) -> f64 {
        lane_sum(plane, |v| v)
    }
}

with_avx2! {
    /// `Σ (v − mean)²` over one plane.
    fn plane_squared_deviation(plane: &[f32], mean: f32) -> f64 {
        lane_sum(plane, |v| (v - mean) * (v - mean))
    }
}

with_avx2! {
    /// `y = x · scale + shift`, rectified when `relu`, over one plane.
    fn normalise_plane(y: &mut [f32], x: &[f32], scale: f32, shift: f32, relu: bool) {
        for (y, &x) in y.iter_mut().zip(x) {
            let v = affine(x, scale, shift);
            *y = if relu { v.max(0.0) } else { v };
        }
    }
}

/// The output gradient where the ReLU passed it (`y > 0`), else 0.
#[inline(always)]
fn masked(x: f32, g: f32, scale: f32, shift: f32, relu: bool) -> f32 {
    if relu && affine(x, scale, shift) <= 0.0 {
        0.0
    } else {
        g
    }
}

/// One channel's coefficients in the backward step.
#[derive(Clone, Copy, Debug)]
struct ChannelGrad {
    mean: f32,
    rstd: f32,
    scale: f32,
    shift: f32,
    /// `γ · rstd`.
    k: f32,
    /// `Σg / M`.
    mean_g: f32,
    /// `Σg·x̂ / M`.
    mean_gx: f32,
}

with_avx2! {
    /// `(Σ g, Σ g·x̂)` over one plane, `g` the masked output gradient.
    fn plane_grad_sums(x: &[f32], dy: &[f32], c: ChannelGrad, relu: bool) -> (f64, f64) {
        lane_sum2(x, dy, |x, g| {
            let g = masked(x, g, c.scale, c.shift, relu);
            (g, g * (x - c.mean) * c.rstd)
        })
    }
}

with_avx2! {
    /// `dx = γ·rstd · (g − Σg/M − x̂·Σg·x̂/M)` over one plane.
    fn plane_input_grad(dx: &mut [f32], x: &[f32], dy: &[f32], c: ChannelGrad, relu: bool) {
        for ((dx, &x), &g) in dx.iter_mut().zip(x).zip(dy) {
            let g = masked(x, g, c.scale, c.shift, relu);
            *dx = c.k * (g - c.mean_g - (x - c.mean) * c.rstd * c.mean_gx);
        }
    }
}

/// The batch statistics of `x`.
pub fn statistics(shape: NormShape, x: &[f32], epsilon: f64) -> BatchStats {
    assert_eq!(x.len(), shape.len(), "input size");
    let count = shape.count() as f64;
    let per_channel: Vec<(f32, f32, f32)> = (0..shape.channels)
        .into_par_iter()
        .map(|c| {
            let sum: f64 = shape.planes(x, c).map(plane_sum).sum();
            let mean = (sum / count) as f32;
            let squares: f64 = shape
                .planes(x, c)
                .map(|p| plane_squared_deviation(p, mean))
                .sum();
            let var = squares / count;
            (mean, var as f32, (1.0 / (var + epsilon).sqrt()) as f32)
        })
        .collect();
    BatchStats {
        mean: per_channel.iter().map(|s| s.0).collect(),
        var: per_channel.iter().map(|s| s.1).collect(),
        rstd: per_channel.iter().map(|s| s.2).collect(),
    }
}

/// Per-channel `(scale, shift)` with `y = x · scale + shift`.
fn scale_shift(stats: &BatchStats, gamma: &[f32], beta: &[f32]) -> Vec<(f32, f32)> {
    (0..gamma.len())
        .map(|c| {
            let scale = gamma[c] * stats.rstd[c];
            (scale, beta[c] - stats.mean[c] * scale)
        })
        .collect()
}

/// `γ · (x − mean) · rstd + β`, then `max(0, ·)` when `relu`, with `stats` from
/// [`statistics`].
///
/// # Shapes
/// - `x`: `[batch, channels, pixels]`, `gamma`, `beta`: `[channels]` → like `x`
pub fn forward(
    shape: NormShape,
    x: &[f32],
    stats: &BatchStats,
    gamma: &[f32],
    beta: &[f32],
    relu: bool,
) -> Vec<f32> {
    assert_eq!(x.len(), shape.len(), "input size");
    assert!(gamma.len() == shape.channels && beta.len() == shape.channels);
    let coefficients = scale_shift(stats, gamma, beta);
    let image = shape.channels * shape.pixels;
    let mut y = vec![0.0f32; x.len()];
    y.par_chunks_mut(image)
        .zip(x.par_chunks(image))
        .for_each(|(y, x)| {
            for ((y, x), &(scale, shift)) in y
                .chunks_exact_mut(shape.pixels)
                .zip(x.chunks_exact(shape.pixels))
                .zip(&coefficients)
            {
                normalise_plane(y, x, scale, shift, relu);
            }
        });
    y
}

/// Gradients of [`forward`]: `(dx, dγ, dβ)` from the output gradient `dy` and the forward's
/// input and statistics.
///
/// # Shapes
/// - `x`, `dy`: `[batch, channels, pixels]` → `dx` like `x`, `dγ`, `dβ`: `[channels]`
pub fn backward(
    shape: NormShape,
    x: &[f32],
    dy: &[f32],
    stats: &BatchStats,
    gamma: &[f32],
    beta: &[f32],
    relu: bool,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    assert_eq!(x.len(), shape.len(), "input size");
    assert_eq!(dy.len(), shape.len(), "output gradient size");
    let coefficients = scale_shift(stats, gamma, beta);
    let channel = |c: usize| ChannelGrad {
        mean: stats.mean[c],
        rstd: stats.rstd[c],
        scale: coefficients[c].0,
        shift: coefficients[c].1,
        k: gamma[c] * stats.rstd[c],
        mean_g: 0.0,
        mean_gx: 0.0,
    };
    // Pass 1, per channel: Σg = dβ and Σg·x̂ = dγ.
    let sums: Vec<(f32, f32)> = (0..shape.channels)
        .into_par_iter()
        .map(|c| {
            let (mut sum_g, mut sum_gx) = (0.0f64, 0.0f64);
            for (x, dy) in shape.planes(x, c).zip(shape.planes(dy, c)) {
                let (g, gx) = plane_grad_sums(x, dy, channel(c), relu);
                sum_g += g;
                sum_gx += gx;
            }
            (sum_g as f32, sum_gx as f32)
        })
        .collect();
    let d_beta: Vec<f32> = sums.iter().map(|s| s.0).collect();
    let d_gamma: Vec<f32> = sums.iter().map(|s| s.1).collect();
    // Pass 2, per image: dx.
    let count = shape.count() as f32;
    let channels: Vec<ChannelGrad> = (0..shape.channels)
        .map(|c| ChannelGrad {
            mean_g: d_beta[c] / count,
            mean_gx: d_gamma[c] / count,
            ..channel(c)
        })
        .collect();
    let image = shape.channels * shape.pixels;
    let mut dx = vec![0.0f32; x.len()];
    dx.par_chunks_mut(image)
        .zip(x.par_chunks(image).zip(dy.par_chunks(image)))
        .for_each(|(dx, (x, dy))| {
            for (((dx, x), dy), &c) in dx
                .chunks_exact_mut(shape.pixels)
                .zip(x.chunks_exact(shape.pixels))
                .zip(dy.chunks_exact(shape.pixels))
                .zip(&channels)
            {
                plane_input_grad(dx, x, dy, c, relu);
            }
        });
    (dx, d_gamma, d_beta)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(len: usize, seed: u32, offset: f32) -> Vec<f32> {
        let mut state = seed.wrapping_mul(747_796_405).wrapping_add(2_891_336_453);
        (0..len)
            .map(|_| {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (state >> 8) as f32 / (1u32 << 23) as f32 - 1.0 + offset
            })
            .collect()
    }

    /// `Σ y ⊙ w` for a fixed random `w`: a scalar loss whose gradients are checked by central
    /// differences in `f64`-accumulated arithmetic.
    fn loss(
        shape: NormShape,
        x: &[f32],
        gamma: &[f32],
        beta: &[f32],
        relu: bool,
        w: &[f32],
    ) -> f64 {
        let stats = statistics(shape, x, 1e-5);
        let y = forward(shape, x, &stats, gamma, beta, relu);
        y.iter()
            .zip(w)
            .map(|(y, w)| f64::from(*y) * f64::from(*w))
            .sum()
    }

    #[test]
    fn statistics_are_the_per_channel_batch_moments() {
        let shape = NormShape {
            batch: 3,
            channels: 2,
            pixels: 4,
        };
        let x = values(24, 1, 2.0);
        let stats = statistics(shape, &x, 0.0);
        for c in 0..2 {
            let v: Vec<f64> = (0..3)
                .flat_map(|n| (0..4).map(move |p| (n, p)))
                .map(|(n, p)| f64::from(x[(n * 2 + c) * 4 + p]))
                .collect();
            let mean = v.iter().sum::<f64>() / 12.0;
            let var = v.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / 12.0;
            assert!((f64::from(stats.mean[c]) - mean).abs() < 1e-6);
            assert!((f64::from(stats.var[c]) - var).abs() < 1e-6);
            assert!((f64::from(stats.rstd[c]) - 1.0 / var.sqrt()).abs() < 1e-4);
        }
    }

    #[test]
    fn backward_matches_finite_differences() {
        let shape = NormShape {
            batch: 3,
            channels: 3,
            pixels: 5,
        };
        let x = values(shape.len(), 7, 0.3);
        let gamma = vec![1.5, -0.7, 0.9];
        let beta = vec![0.1, 0.2, -0.3];
        let w = values(shape.len(), 8, 0.0);
        for relu in [false, true] {
            let stats = statistics(shape, &x, 1e-5);
            let (dx, d_gamma, d_beta) = backward(shape, &x, &w, &stats, &gamma, &beta, relu);
            let h = 1e-2f32;
            let numeric = |f: &dyn Fn(f32) -> f64| (f(h) - f(-h)) / (2.0 * f64::from(h));
            for i in [0, 4, 17, 31, shape.len() - 1] {
                let f = |d: f32| {
                    let mut x = x.clone();
                    x[i] += d;
                    loss(shape, &x, &gamma, &beta, relu, &w)
                };
                let want = numeric(&f);
                assert!(
                    (f64::from(dx[i]) - want).abs() < 2e-3,
                    "relu {relu} dx[{i}]: {} vs {want}",
                    dx[i]
                );
            }
            for c in 0..3 {
                let fg = |d: f32| {
                    let mut g = gamma.clone();
                    g[c] += d;
                    loss(shape, &x, &g, &beta, relu, &w)
                };
                let fb = |d: f32| {
                    let mut b = beta.clone();
                    b[c] += d;
                    loss(shape, &x, &gamma, &b, relu, &w)
                };
                assert!(
                    (f64::from(d_gamma[c]) - numeric(&fg)).abs() < 2e-3,
                    "relu {relu} dγ[{c}]"
                );
                assert!(
                    (f64::from(d_beta[c]) - numeric(&fb)).abs() < 2e-3,
                    "relu {relu} dβ[{c}]"
                );
            }
        }
    }
}
