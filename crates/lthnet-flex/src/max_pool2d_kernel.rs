//! 2D max pooling over NCHW `f32` slices: the forward with the argmax of every window, and the
//! backward that routes each output gradient to its argmax.
//!
//! burn-flex 0.21 pools through its 3D kernel, with a bounds check per window element and an
//! `i64` index per output, and scatters the gradient on one thread: on the CifarNet training
//! step that was 13% of the time (`perf`, `docs/benchmarks.md`). Here the valid part of every
//! window is found once per row and column, indices are `u32` offsets in the plane, and both
//! passes run over groups of planes in parallel.
//!
//! **Semantics.** PyTorch's: the first maximum of a window wins a tie, and a NaN in a window is
//! its maximum (flex never picks a NaN after the window's first element, so it can hide one).
//! Padding takes no part (as `-∞` would not); a window with no element inside the input gives
//! `-∞` and no gradient.

use rayon::prelude::*;

use crate::simd::with_avx2;

/// Marks a window that lies wholly in the padding.
const NO_INDEX: u32 = u32::MAX;

/// Planes (images × channels) per parallel task: about 64 Ki input elements.
fn planes_per_task(plane_len: usize) -> usize {
    (65_536 / plane_len.max(1)).max(1)
}

/// The geometry of one 2D max pool (`ceil_mode` off: output sizes are floored).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolGeometry {
    /// `batch · channels`.
    pub planes: usize,
    /// Input height.
    pub in_h: usize,
    /// Input width.
    pub in_w: usize,
    /// Output height.
    pub out_h: usize,
    /// Output width.
    pub out_w: usize,
    /// Window `[height, width]`.
    pub kernel: [usize; 2],
    /// Stride `[height, width]`.
    pub stride: [usize; 2],
    /// Zero-free padding on each side, `[height, width]`.
    pub padding: [usize; 2],
    /// Dilation `[height, width]`.
    pub dilation: [usize; 2],
}

impl PoolGeometry {
    /// The geometry of `max_pool2d(x, kernel, stride, padding, dilation, ceil_mode = false)` on
    /// an input of `x_dims = [batch, channels, H, W]`, or `None` where this kernel does not
    /// apply (a zero kernel, stride or dilation, a window larger than the padded input, padding
    /// above half the window, which PyTorch rejects, or a plane over `u32` indices).
    pub fn new(
        x_dims: [usize; 4],
        kernel: [usize; 2],
        stride: [usize; 2],
        padding: [usize; 2],
        dilation: [usize; 2],
    ) -> Option<Self> {
        let [batch, channels, in_h, in_w] = x_dims;
        let out = |axis: usize, size: usize| -> Option<usize> {
            let (k, s, p, d) = (kernel[axis], stride[axis], padding[axis], dilation[axis]);
            if k == 0 || s == 0 || d == 0 || 2 * p > k {
                return None;
            }
            let span = d * (k - 1) + 1;
            let padded = size + 2 * p;
            (padded >= span).then(|| (padded - span) / s + 1)
        };
        let (out_h, out_w) = (out(0, in_h)?, out(1, in_w)?);
        let in_plane = in_h.checked_mul(in_w)?;
        (in_plane < NO_INDEX as usize).then_some(Self {
            planes: batch * channels,
            in_h,
            in_w,
            out_h,
            out_w,
            kernel,
            stride,
            padding,
            dilation,
        })
    }

    /// 2×2 windows at stride 2 with no padding or dilation (CifarNet's pool): windows tile
    /// the input without overlap.
    fn is_2x2_tiling(&self) -> bool {
        self.kernel == [2, 2]
            && self.stride == [2, 2]
            && self.padding == [0, 0]
            && self.dilation == [1, 1]
    }

    fn in_plane(&self) -> usize {
        self.in_h * self.in_w
    }

    fn out_plane(&self) -> usize {
        self.out_h * self.out_w
    }

    /// Input rows (or columns, `axis = 1`) of output row (column) `o`'s window, clipped to the
    /// input.
    fn taps(&self, axis: usize, o: usize) -> impl Iterator<Item = usize> + Clone {
        let size = [self.in_h, self.in_w][axis];
        let start = (o * self.stride[axis]) as isize - self.padding[axis] as isize;
        let dilation = self.dilation[axis] as isize;
        (0..self.kernel[axis] as isize)
            .map(move |k| start + k * dilation)
            .filter(move |&i| i >= 0 && (i as usize) < size)
            .map(|i| i as usize)
    }
}

/// Whether `v` replaces `best` as a window's maximum (PyTorch's rule: greater, or NaN).
#[inline(always)]
fn beats(v: f32, best: f32) -> bool {
    (v > best) | v.is_nan()
}

/// [`forward`] on one plane for the 2×2, stride-2 pool without padding or dilation: each output
/// row reads one pair of input rows, with no window list.
fn pool_plane_2x2(g: &PoolGeometry, x: &[f32], y: &mut [f32], mut idx: Option<&mut [u32]>) {
    let (w, out_w) = (g.in_w, g.out_w);
    for oh in 0..g.out_h {
        let top = 2 * oh * w;
        let (r0, r1) = (&x[top..][..2 * out_w], &x[top + w..][..2 * out_w]);
        let y_row = &mut y[oh * out_w..][..out_w];
        match idx.as_deref_mut() {
            Some(idx) => {
                let idx_row = &mut idx[oh * out_w..][..out_w];
                pool_row_2x2(r0, r1, y_row, idx_row, top as u32, w as u32);
            }
            None => pool_row_2x2_values(r0, r1, y_row),
        }
    }
}

/// Outputs per step of the 2×2 row kernels (one AVX2 vector).
const LANES: usize = 8;

/// Window `j`'s four taps, `LANES` windows from `first`: `[top-left, top-right, bottom-left,
/// bottom-right]`, each as one lane array.
#[inline(always)]
fn taps_2x2(r0: &[f32], r1: &[f32], first: usize) -> [[f32; LANES]; 4] {
    let (r0, r1) = (&r0[2 * first..][..2 * LANES], &r1[2 * first..][..2 * LANES]);
    let mut taps = [[0.0; LANES]; 4];
    for l in 0..LANES {
        taps[0][l] = r0[2 * l];
        taps[1][l] = r0[2 * l + 1];
        taps[2][l] = r1[2 * l];
        taps[3][l] = r1[2 * l + 1];
    }
    taps
}

/// Lane-wise [`max_of_window`]: the maxima and their positions 0..4.
#[inline(always)]
fn max_of_windows(taps: &[[f32; LANES]; 4]) -> ([f32; LANES], [u32; LANES]) {
    let (mut m, mut k) = (taps[0], [0u32; LANES]);
    for (t, tap) in taps.iter().enumerate().skip(1) {
        for l in 0..LANES {
            let take = beats(tap[l], m[l]);
            m[l] = if take { tap[l] } else { m[l] };
            k[l] = if take { t as u32 } else { k[l] };
        }
    }
    (m, k)
}

with_avx2! {
    /// One output row of the 2×2 pool: `y[j]` and its plane offset `top + …` from input rows
    /// `r0`, `r1` (`2 · y.len()` long, `w` apart). Fixed-width lane arrays, so that the
    /// data-dependent choices compile to vector blends, not branches.
    fn pool_row_2x2(r0: &[f32], r1: &[f32], y: &mut [f32], idx: &mut [u32], top: u32, w: u32) {
        let full = y.len() / LANES * LANES;
        for first in (0..full).step_by(LANES) {
            let (m, k) = max_of_windows(&taps_2x2(r0, r1, first));
            y[first..][..LANES].copy_from_slice(&m);
            for (l, i) in idx[first..][..LANES].iter_mut().enumerate() {
                *i = top + 2 * (first + l) as u32 + (k[l] & 1) + (k[l] >> 1) * w;
            }
        }
        for j in full..y.len() {
            let (m, k) = max_of_window(r0[2 * j], r0[2 * j + 1], r1[2 * j], r1[2 * j + 1]);
            y[j] = m;
            idx[j] = top + 2 * j as u32 + (k & 1) + (k >> 1) * w;
        }
    }
}

with_avx2! {
    /// [`pool_row_2x2`] without the argmax (inference).
    fn pool_row_2x2_values(r0: &[f32], r1: &[f32], y: &mut [f32]) {
        let full = y.len() / LANES * LANES;
        for first in (0..full).step_by(LANES) {
            y[first..][..LANES].copy_from_slice(&max_of_windows(&taps_2x2(r0, r1, first)).0);
        }
        for j in full..y.len() {
            y[j] = max_of_window(r0[2 * j], r0[2 * j + 1], r1[2 * j], r1[2 * j + 1]).0;
        }
    }
}

/// The maximum of a 2×2 window in reading order and its position 0..4 (first wins a tie).
#[inline(always)]
fn max_of_window(a: f32, b: f32, c: f32, d: f32) -> (f32, u32) {
    let (mut m, mut k) = (a, 0);
    for (v, i) in [(b, 1), (c, 2), (d, 3)] {
        let take = beats(v, m);
        m = if take { v } else { m };
        k = if take { i } else { k };
    }
    (m, k)
}

/// Max pool of `x` (`[planes, in_h, in_w]`, contiguous): `(output, argmax)`, both
/// `[planes, out_h, out_w]`, the argmax as an offset in its input plane (`u32::MAX` for a window
/// wholly in the padding). With `want_indices` off, the argmax vector is empty.
///
/// # Panics
/// If `x.len()` is not `planes · in_h · in_w`.
pub fn forward(g: &PoolGeometry, x: &[f32], want_indices: bool) -> (Vec<f32>, Vec<u32>) {
    let (in_plane, out_plane) = (g.in_plane(), g.out_plane());
    assert_eq!(x.len(), g.planes * in_plane, "max_pool2d: input length");
    let mut y = vec![0.0f32; g.planes * out_plane];
    let mut indices = vec![0u32; if want_indices { y.len() } else { 0 }];
    let chunk = planes_per_task(in_plane);
    // The clipped windows, the same for every plane (the 2×2 tiling needs none).
    let tiling = g.is_2x2_tiling();
    let windows = |axis: usize, count: usize| -> Vec<Vec<usize>> {
        if tiling {
            return Vec::new();
        }
        (0..count).map(|o| g.taps(axis, o).collect()).collect()
    };
    let (rows, cols) = (windows(0, g.out_h), windows(1, g.out_w));
    let pool_plane = |x: &[f32], y: &mut [f32], idx: Option<&mut [u32]>| {
        if tiling {
            pool_plane_2x2(g, x, y, idx);
            return;
        }
        let mut idx = idx;
        for (oh, rows) in rows.iter().enumerate() {
            for (ow, cols) in cols.iter().enumerate() {
                let mut best = f32::NEG_INFINITY;
                let mut arg = NO_INDEX;
                for &ih in rows {
                    let row = &x[ih * g.in_w..][..g.in_w];
                    for &iw in cols {
                        let v = row[iw];
                        // Branch-free: the comparisons are data-dependent and mispredict.
                        let take = (arg == NO_INDEX) | beats(v, best);
                        best = if take { v } else { best };
                        arg = if take { (ih * g.in_w + iw) as u32 } else { arg };
                    }
                }
                let o = oh * g.out_w + ow;
                y[o] = best;
                if let Some(idx) = idx.as_deref_mut() {
                    idx[o] = arg;
                }
            }
        }
    };
    let x_tasks = x.par_chunks(chunk * in_plane);
    let y_tasks = y.par_chunks_mut(chunk * out_plane);
    if want_indices {
        x_tasks
            .zip(y_tasks)
            .zip(indices.par_chunks_mut(chunk * out_plane))
            .for_each(|((x, y), idx)| {
                let planes = x
                    .chunks(in_plane)
                    .zip(y.chunks_mut(out_plane))
                    .zip(idx.chunks_mut(out_plane));
                for ((x, y), idx) in planes {
                    pool_plane(x, y, Some(idx));
                }
            });
    } else {
        x_tasks.zip(y_tasks).for_each(|(x, y)| {
            for (x, y) in x.chunks(in_plane).zip(y.chunks_mut(out_plane)) {
                pool_plane(x, y, None);
            }
        });
    }
    (y, indices)
}

/// The input gradient, `[planes, in_h, in_w]`: each output gradient added at its window's
/// argmax (windows may overlap, so several can land on one input).
///
/// # Panics
/// If `dy` or `indices` is not `planes · out_h · out_w` long, or an index lies outside its
/// plane.
pub fn backward(g: &PoolGeometry, dy: &[f32], indices: &[u32]) -> Vec<f32> {
    let (in_plane, out_plane) = (g.in_plane(), g.out_plane());
    assert_eq!(
        dy.len(),
        g.planes * out_plane,
        "max_pool2d: gradient length"
    );
    assert_eq!(indices.len(), dy.len(), "max_pool2d: index length");
    let mut dx = vec![0.0f32; g.planes * in_plane];
    let chunk = planes_per_task(in_plane);
    dx.par_chunks_mut(chunk * in_plane)
        .zip(dy.par_chunks(chunk * out_plane))
        .zip(indices.par_chunks(chunk * out_plane))
        .for_each(|((dx, dy), idx)| {
            let planes = dx
                .chunks_mut(in_plane)
                .zip(dy.chunks(out_plane))
                .zip(idx.chunks(out_plane));
            for ((dx, dy), idx) in planes {
                for (&d, &i) in dy.iter().zip(idx) {
                    if i != NO_INDEX {
                        dx[i as usize] += d;
                    }
                }
            }
        });
    dx
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Direct definition: every window scanned with explicit bounds checks.
    fn reference(g: &PoolGeometry, x: &[f32]) -> (Vec<f32>, Vec<u32>) {
        let mut y = Vec::new();
        let mut idx = Vec::new();
        for p in 0..g.planes {
            let plane = &x[p * g.in_h * g.in_w..][..g.in_h * g.in_w];
            for oh in 0..g.out_h {
                for ow in 0..g.out_w {
                    let mut best = (f32::NEG_INFINITY, NO_INDEX);
                    for kh in 0..g.kernel[0] {
                        for kw in 0..g.kernel[1] {
                            let ih = (oh * g.stride[0] + kh * g.dilation[0]) as isize
                                - g.padding[0] as isize;
                            let iw = (ow * g.stride[1] + kw * g.dilation[1]) as isize
                                - g.padding[1] as isize;
                            if ih < 0 || iw < 0 || ih >= g.in_h as isize || iw >= g.in_w as isize {
                                continue;
                            }
                            let i = ih as usize * g.in_w + iw as usize;
                            if best.1 == NO_INDEX || plane[i] > best.0 {
                                best = (plane[i], i as u32);
                            }
                        }
                    }
                    y.push(best.0);
                    idx.push(best.1);
                }
            }
        }
        (y, idx)
    }

    fn data(n: usize, seed: u64) -> Vec<f32> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                // A coarse grid of values, so that windows hold ties.
                ((s >> 40) % 17) as f32 - 8.0
            })
            .collect()
    }

    /// `(input shape, kernel, stride, padding, dilation)`.
    type Case = ([usize; 4], [usize; 2], [usize; 2], [usize; 2], [usize; 2]);

    const GEOMETRIES: [Case; 7] = [
        ([2, 3, 8, 8], [2, 2], [2, 2], [0, 0], [1, 1]),
        ([1, 2, 9, 7], [2, 2], [2, 2], [0, 0], [1, 1]),
        ([2, 2, 11, 10], [3, 3], [2, 2], [1, 1], [1, 1]),
        ([1, 3, 7, 9], [3, 2], [1, 2], [1, 0], [1, 1]),
        ([1, 1, 9, 9], [2, 3], [2, 1], [1, 1], [2, 2]),
        // More planes than one task holds; rows of whole lane groups plus a tail.
        ([3, 40, 32, 32], [2, 2], [2, 2], [0, 0], [1, 1]),
        ([1, 2, 7, 43], [2, 2], [2, 2], [0, 0], [1, 1]),
    ];

    #[test]
    fn forward_matches_direct_definition_with_first_index_on_ties() {
        for (i, &(dims, k, s, p, d)) in GEOMETRIES.iter().enumerate() {
            let g = PoolGeometry::new(dims, k, s, p, d).unwrap();
            let x = data(dims.iter().product(), i as u64);
            let (y, idx) = forward(&g, &x, true);
            assert_eq!((y, idx), reference(&g, &x), "geometry {i}");
            assert!(forward(&g, &x, false).1.is_empty());
        }
    }

    #[test]
    fn backward_adds_each_gradient_at_its_argmax() {
        for (i, &(dims, k, s, p, d)) in GEOMETRIES.iter().enumerate() {
            let g = PoolGeometry::new(dims, k, s, p, d).unwrap();
            let x = data(dims.iter().product(), 10 + i as u64);
            let (_, idx) = forward(&g, &x, true);
            let dy: Vec<f32> = (0..idx.len()).map(|j| 1.0 + (j % 7) as f32).collect();
            let mut expected = vec![0.0f32; x.len()];
            for (j, (&d, &a)) in dy.iter().zip(&idx).enumerate() {
                expected[j / (g.out_h * g.out_w) * g.in_h * g.in_w + a as usize] += d;
            }
            assert_eq!(backward(&g, &dy, &idx), expected, "geometry {i}");
        }
    }

    #[test]
    fn nan_is_the_maximum_and_padding_never_wins() {
        let g = PoolGeometry::new([1, 1, 2, 4], [2, 2], [2, 2], [0, 0], [1, 1]).unwrap();
        let x = [1.0, 5.0, -3.0, -2.0, f32::NAN, 2.0, -4.0, -1.0];
        let (y, idx) = forward(&g, &x, true);
        assert!(y[0].is_nan());
        assert_eq!((y[1], &idx[..]), (-1.0, &[4, 7][..]));
        // All-negative input with padding: the maximum is an input value, not a padded zero.
        let g = PoolGeometry::new([1, 1, 2, 2], [3, 3], [1, 1], [1, 1], [1, 1]).unwrap();
        let (y, _) = forward(&g, &[-4.0, -3.0, -2.0, -1.0], true);
        assert_eq!(y, [-1.0; 4]);
    }

    #[test]
    fn geometry_rejects_what_pytorch_rejects() {
        assert!(PoolGeometry::new([1, 1, 4, 4], [2, 2], [0, 2], [0, 0], [1, 1]).is_none());
        assert!(PoolGeometry::new([1, 1, 4, 4], [2, 2], [2, 2], [2, 0], [1, 1]).is_none());
        assert!(PoolGeometry::new([1, 1, 2, 2], [3, 3], [1, 1], [0, 0], [1, 1]).is_none());
        let g = PoolGeometry::new([2, 3, 5, 6], [2, 2], [2, 2], [0, 0], [1, 1]).unwrap();
        assert_eq!((g.planes, g.out_h, g.out_w), (6, 2, 3));
    }
}
