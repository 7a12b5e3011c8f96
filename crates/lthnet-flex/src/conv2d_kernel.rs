//! The convolution's three kernels on `f32` NCHW slices: forward, input gradient and weight
//! gradient, each as im2col (or col2im) plus one GEMM per group of images.
//!
//! For a group of `n` images the im2col matrix is `[patch_len, n · out_pixels]` (row
//! `(c · kernel_h + i) · kernel_w + j` holds input channel `c` shifted by kernel tap `(i, j)`), so
//! with the weight read as `W: [channels_out, patch_len]` (its NCHW layout, no reshuffle):
//!
//! - forward: `Y = W · col`,
//! - input gradient: `col2im(Wᵀ · dY)`,
//! - weight gradient: `dW = Σ_groups dY · colᵀ`.
//!
//! The batch is split into one chunk per thread (each chunk's GEMMs run single-threaded); a
//! batch smaller than the thread pool runs as one chunk with multi-threaded GEMMs. Images are
//! grouped so that each GEMM has at least [`TARGET_COLUMNS`] columns: late layers have few
//! output pixels per image (4 × 4 in CifarNet's last stage), and one GEMM per image would be
//! badly shaped. Every sum runs in a fixed order for a given thread count, so results are
//! deterministic on one machine.
//!
//! The weight gradient rebuilds the im2col matrix from the saved input instead of keeping the
//! forward's: that matrix is `kernel_h · kernel_w` times the input's size (9× for 3 × 3), and
//! rebuilding it is a copy per group, next to a GEMM per group.

use gemm::Parallelism;
use rayon::prelude::*;

use crate::geometry::ConvGeometry;
use crate::simd::with_avx2;

/// Minimum GEMM width (output pixels of the images in one group).
pub const TARGET_COLUMNS: usize = 256;

/// How a batch is cut: `chunk` images per parallel task, `group` images per GEMM.
#[derive(Clone, Copy, Debug)]
struct Plan {
    chunk: usize,
    group: usize,
    parallelism: Parallelism,
}

impl Plan {
    fn new(g: &ConvGeometry) -> Self {
        let threads = rayon::current_num_threads().max(1);
        let (chunk, parallelism) = if g.batch >= threads {
            (g.batch.div_ceil(threads), Parallelism::None)
        } else {
            (g.batch, Parallelism::Rayon(0))
        };
        let group = TARGET_COLUMNS.div_ceil(g.out_pixels()).clamp(1, chunk);
        Self {
            chunk,
            group,
            parallelism,
        }
    }
}

/// A row-major matrix view: `data[r · row_stride + c · col_stride]`.
#[derive(Clone, Copy)]
struct Matrix<'a> {
    data: &'a [f32],
    row_stride: usize,
    col_stride: usize,
}

impl<'a> Matrix<'a> {
    fn rows(data: &'a [f32], row_stride: usize) -> Self {
        Self {
            data,
            row_stride,
            col_stride: 1,
        }
    }

    /// The transpose of the row-major `data` whose rows are `row_stride` long.
    fn transposed(data: &'a [f32], row_stride: usize) -> Self {
        Self {
            data,
            row_stride: 1,
            col_stride: row_stride,
        }
    }

    fn covers(&self, rows: usize, cols: usize) -> bool {
        (rows - 1) * self.row_stride + (cols - 1) * self.col_stride < self.data.len()
    }
}

/// `dst[m × n]` (rows `dst_row_stride` apart) `= lhs · rhs`, or `+=` when `accumulate`.
#[allow(clippy::too_many_arguments)]
fn matmul(
    m: usize,
    n: usize,
    k: usize,
    dst: &mut [f32],
    dst_row_stride: usize,
    accumulate: bool,
    lhs: Matrix<'_>,
    rhs: Matrix<'_>,
    parallelism: Parallelism,
) {
    assert!(m > 0 && n > 0 && k > 0, "matmul of an empty matrix");
    assert!((m - 1) * dst_row_stride + n <= dst.len(), "dst too short");
    assert!(lhs.covers(m, k) && rhs.covers(k, n), "operand too short");
    // SAFETY: the asserts above keep every element gemm reads or writes inside the slices
    // (`dst` is borrowed mutably, so it aliases neither operand).
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            dst_row_stride as isize,
            accumulate,
            lhs.data.as_ptr(),
            lhs.col_stride as isize,
            lhs.row_stride as isize,
            rhs.data.as_ptr(),
            rhs.col_stride as isize,
            rhs.row_stride as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
}

with_avx2! {
    /// Fill `col: [patch_len, count · out_pixels]` from `count` consecutive NCHW images.
    fn im2col(g: &ConvGeometry, images: &[f32], count: usize, col: &mut [f32]) {
        let pixels = g.out_pixels();
        let width = count * pixels;
        for c in 0..g.channels_in {
            for i in 0..g.kernel_h {
                for j in 0..g.kernel_w {
                    let k = (c * g.kernel_h + i) * g.kernel_w + j;
                    let row = &mut col[k * width..(k + 1) * width];
                    let (lo, hi) = ConvGeometry::valid_range(
                        g.out_w,
                        g.in_w,
                        j * g.dilation_w,
                        g.stride_w,
                        g.pad_left,
                    );
                    for (n, dst) in row.chunks_exact_mut(pixels).enumerate() {
                        let plane = &images[(n * g.channels_in + c) * g.in_pixels()..][..g.in_pixels()];
                        if g.stride_h == 1 && g.stride_w == 1 && g.out_w == g.in_w {
                            shifted_plane(g, plane, dst, i * g.dilation_h, (lo, hi), j * g.dilation_w);
                            continue;
                        }
                        for (oh, out_row) in dst.chunks_exact_mut(g.out_w).enumerate() {
                            let ih = (oh * g.stride_h + i * g.dilation_h) as isize - g.pad_top as isize;
                            if ih < 0 || ih as usize >= g.in_h || lo == hi {
                                out_row.fill(0.0);
                                continue;
                            }
                            let src = &plane[ih as usize * g.in_w..][..g.in_w];
                            out_row[..lo].fill(0.0);
                            out_row[hi..].fill(0.0);
                            let first = lo * g.stride_w + j * g.dilation_w - g.pad_left;
                            if g.stride_w == 1 {
                                out_row[lo..hi].copy_from_slice(&src[first..first + hi - lo]);
                            } else {
                                for (o, v) in out_row[lo..hi].iter_mut().enumerate() {
                                    *v = src[first + o * g.stride_w];
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// One im2col row of one image for a stride-1 convolution that keeps the width ("same" along
/// the rows): output pixel `d` reads input pixel `d + delta` for a fixed `delta`, so the valid
/// rows are one contiguous copy, after which the columns that fell into the padding are zeroed.
/// (Row by row, CifarNet's 4 × 4 stage would copy 4 floats at a time.)
#[inline(always)]
fn shifted_plane(
    g: &ConvGeometry,
    plane: &[f32],
    dst: &mut [f32],
    tap_h: usize,
    (lo, hi): (usize, usize),
    tap_w: usize,
) {
    let width = g.out_w;
    // Output rows whose input row `oh + tap_h − pad_top` lies inside the image.
    let row_lo = g.pad_top.saturating_sub(tap_h).min(g.out_h);
    let row_hi = (g.in_h + g.pad_top)
        .saturating_sub(tap_h)
        .min(g.out_h)
        .max(row_lo);
    if row_lo == row_hi || lo == hi {
        dst.fill(0.0);
        return;
    }
    dst[..row_lo * width].fill(0.0);
    dst[row_hi * width..].fill(0.0);
    let delta = (tap_h as isize - g.pad_top as isize) * g.in_w as isize + tap_w as isize
        - g.pad_left as isize;
    let (start, end) = (row_lo * width + lo, (row_hi - 1) * width + hi);
    let source = (start as isize + delta) as usize..(end as isize + delta) as usize;
    dst[start..end].copy_from_slice(&plane[source]);
    for out_row in dst[row_lo * width..row_hi * width].chunks_exact_mut(width) {
        for v in &mut out_row[..lo] {
            *v = 0.0;
        }
        for v in &mut out_row[hi..] {
            *v = 0.0;
        }
    }
}

with_avx2! {
    /// Add `col: [patch_len, count · out_pixels]` back into `count` NCHW image gradients: the
    /// adjoint of [`im2col`].
    fn col2im(g: &ConvGeometry, col: &[f32], count: usize, images: &mut [f32]) {
        let pixels = g.out_pixels();
        let width = count * pixels;
        for c in 0..g.channels_in {
            for i in 0..g.kernel_h {
                for j in 0..g.kernel_w {
                    let k = (c * g.kernel_h + i) * g.kernel_w + j;
                    let row = &col[k * width..(k + 1) * width];
                    let (lo, hi) = ConvGeometry::valid_range(
                        g.out_w,
                        g.in_w,
                        j * g.dilation_w,
                        g.stride_w,
                        g.pad_left,
                    );
                    if lo == hi {
                        continue;
                    }
                    for (n, src) in row.chunks_exact(pixels).enumerate() {
                        let plane =
                            &mut images[(n * g.channels_in + c) * g.in_pixels()..][..g.in_pixels()];
                        for (oh, in_row) in src.chunks_exact(g.out_w).enumerate() {
                            let ih = (oh * g.stride_h + i * g.dilation_h) as isize - g.pad_top as isize;
                            if ih < 0 || ih as usize >= g.in_h {
                                continue;
                            }
                            let dst = &mut plane[ih as usize * g.in_w..][..g.in_w];
                            let first = lo * g.stride_w + j * g.dilation_w - g.pad_left;
                            if g.stride_w == 1 {
                                for (d, s) in
                                    dst[first..first + hi - lo].iter_mut().zip(&in_row[lo..hi])
                                {
                                    *d += s;
                                }
                            } else {
                                for (o, s) in in_row[lo..hi].iter().enumerate() {
                                    dst[first + o * g.stride_w] += s;
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Copy `count` NCHW output images `[count, channels_out, pixels]` into the matrix
/// `[channels_out, count · pixels]`.
fn gather_rows(g: &ConvGeometry, images: &[f32], rows: &mut [f32], count: usize) {
    let pixels = g.out_pixels();
    for n in 0..count {
        for o in 0..g.channels_out {
            rows[(o * count + n) * pixels..][..pixels]
                .copy_from_slice(&images[(n * g.channels_out + o) * pixels..][..pixels]);
        }
    }
}

/// The inverse of [`gather_rows`].
fn scatter_rows(g: &ConvGeometry, rows: &[f32], images: &mut [f32], count: usize) {
    let pixels = g.out_pixels();
    for n in 0..count {
        for o in 0..g.channels_out {
            images[(n * g.channels_out + o) * pixels..][..pixels]
                .copy_from_slice(&rows[(o * count + n) * pixels..][..pixels]);
        }
    }
}

/// The output gradient of `count` images as a `[channels_out, count · out_pixels]` matrix:
/// in place for one image, else copied into `scratch`.
fn output_rows<'a>(
    g: &ConvGeometry,
    dy: &'a [f32],
    count: usize,
    scratch: &'a mut Vec<f32>,
) -> Matrix<'a> {
    if count == 1 {
        return Matrix::rows(dy, g.out_pixels());
    }
    scratch.resize(dy.len(), 0.0);
    gather_rows(g, dy, scratch, count);
    Matrix::rows(scratch, count * g.out_pixels())
}

/// The im2col matrix of `count` images: the images themselves for one pointwise image, else
/// built in `scratch`.
fn patches<'a>(
    g: &ConvGeometry,
    images: &'a [f32],
    count: usize,
    scratch: &'a mut Vec<f32>,
) -> &'a [f32] {
    if count == 1 && g.is_pointwise() {
        return images;
    }
    scratch.resize(g.patch_len() * count * g.out_pixels(), 0.0);
    im2col(g, images, count, scratch);
    scratch
}

/// `conv2d(x, weight)` without bias.
///
/// # Shapes
/// - `x`: `[batch, channels_in, in_h, in_w]`, `weight`: `[channels_out, channels_in, kernel_h,
///   kernel_w]` → `[batch, channels_out, out_h, out_w]`
pub fn forward(g: &ConvGeometry, x: &[f32], weight: &[f32]) -> Vec<f32> {
    assert_eq!(x.len(), g.batch * g.in_image_len(), "input size");
    assert_eq!(weight.len(), g.channels_out * g.patch_len(), "weight size");
    let plan = Plan::new(g);
    let (in_len, out_len, pixels) = (g.in_image_len(), g.out_image_len(), g.out_pixels());
    let w = Matrix::rows(weight, g.patch_len());
    let mut out = vec![0.0f32; g.batch * out_len];
    out.par_chunks_mut(plan.chunk * out_len)
        .zip(x.par_chunks(plan.chunk * in_len))
        .for_each(|(out, x)| {
            let (mut col, mut rows) = (Vec::new(), Vec::new());
            for (out, x) in out
                .chunks_mut(plan.group * out_len)
                .zip(x.chunks(plan.group * in_len))
            {
                let count = x.len() / in_len;
                let width = count * pixels;
                let col = Matrix::rows(patches(g, x, count, &mut col), width);
                // One image is written in place; a group goes through `rows`.
                let direct = count == 1;
                let dst: &mut [f32] = if direct {
                    out
                } else {
                    rows.resize(out.len(), 0.0);
                    &mut rows
                };
                matmul(
                    g.channels_out,
                    width,
                    g.patch_len(),
                    dst,
                    width,
                    false,
                    w,
                    col,
                    plan.parallelism,
                );
                if !direct {
                    scatter_rows(g, &rows, out, count);
                }
            }
        });
    out
}

/// The gradient of `conv2d(x, weight)` with respect to `x`, given the output gradient `dy`.
///
/// # Shapes
/// - `weight`: `[channels_out, channels_in, kernel_h, kernel_w]`, `dy`: `[batch,
///   channels_out, out_h, out_w]` → `[batch, channels_in, in_h, in_w]`
pub fn backward_input(g: &ConvGeometry, weight: &[f32], dy: &[f32]) -> Vec<f32> {
    assert_eq!(weight.len(), g.channels_out * g.patch_len(), "weight size");
    assert_eq!(
        dy.len(),
        g.batch * g.out_image_len(),
        "output gradient size"
    );
    let plan = Plan::new(g);
    let (in_len, out_len, pixels) = (g.in_image_len(), g.out_image_len(), g.out_pixels());
    let w_t = Matrix::transposed(weight, g.patch_len());
    let mut dx = vec![0.0f32; g.batch * in_len];
    dx.par_chunks_mut(plan.chunk * in_len)
        .zip(dy.par_chunks(plan.chunk * out_len))
        .for_each(|(dx, dy)| {
            let (mut dcol, mut rows) = (Vec::new(), Vec::new());
            for (dx, dy) in dx
                .chunks_mut(plan.group * in_len)
                .zip(dy.chunks(plan.group * out_len))
            {
                let count = dy.len() / out_len;
                let width = count * pixels;
                let dy = output_rows(g, dy, count, &mut rows);
                // One pointwise image's patch gradient is its input gradient: written in place.
                let direct = count == 1 && g.is_pointwise();
                let dst: &mut [f32] = if direct {
                    dx
                } else {
                    dcol.resize(g.patch_len() * width, 0.0);
                    &mut dcol
                };
                matmul(
                    g.patch_len(),
                    width,
                    g.channels_out,
                    dst,
                    width,
                    false,
                    w_t,
                    dy,
                    plan.parallelism,
                );
                if !direct {
                    col2im(g, &dcol, count, dx);
                }
            }
        });
    dx
}

/// The gradient of `conv2d(x, weight)` with respect to `weight`, given the output gradient
/// `dy`.
///
/// # Shapes
/// - `x`: `[batch, channels_in, in_h, in_w]`, `dy`: `[batch, channels_out, out_h, out_w]` →
///   `[channels_out, channels_in, kernel_h, kernel_w]`
pub fn backward_weight(g: &ConvGeometry, x: &[f32], dy: &[f32]) -> Vec<f32> {
    assert_eq!(x.len(), g.batch * g.in_image_len(), "input size");
    assert_eq!(
        dy.len(),
        g.batch * g.out_image_len(),
        "output gradient size"
    );
    let plan = Plan::new(g);
    let (in_len, out_len, pixels) = (g.in_image_len(), g.out_image_len(), g.out_pixels());
    let weight_len = g.channels_out * g.patch_len();
    let partials: Vec<Vec<f32>> = x
        .par_chunks(plan.chunk * in_len)
        .zip(dy.par_chunks(plan.chunk * out_len))
        .map(|(x, dy)| {
            let mut dw = vec![0.0f32; weight_len];
            let (mut col, mut rows) = (Vec::new(), Vec::new());
            for (step, (x, dy)) in x
                .chunks(plan.group * in_len)
                .zip(dy.chunks(plan.group * out_len))
                .enumerate()
            {
                let count = x.len() / in_len;
                let width = count * pixels;
                let dy = output_rows(g, dy, count, &mut rows);
                let col_t = Matrix::transposed(patches(g, x, count, &mut col), width);
                matmul(
                    g.channels_out,
                    g.patch_len(),
                    width,
                    &mut dw,
                    g.patch_len(),
                    step > 0,
                    dy,
                    col_t,
                    plan.parallelism,
                );
            }
            dw
        })
        .collect();
    let mut partials = partials.into_iter();
    let mut total = partials.next().expect("a non-empty batch has one chunk");
    for partial in partials {
        for (t, p) in total.iter_mut().zip(&partial) {
            *t += p;
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::ops::ConvOptions;

    /// Direct 7-loop convolution: the definition the kernels are checked against.
    fn reference(g: &ConvGeometry, x: &[f32], w: &[f32]) -> Vec<f32> {
        let mut y = vec![0.0f32; g.batch * g.out_image_len()];
        for n in 0..g.batch {
            for o in 0..g.channels_out {
                for oh in 0..g.out_h {
                    for ow in 0..g.out_w {
                        let mut s = 0.0f64;
                        for c in 0..g.channels_in {
                            for i in 0..g.kernel_h {
                                for j in 0..g.kernel_w {
                                    let ih = (oh * g.stride_h + i * g.dilation_h) as isize
                                        - g.pad_top as isize;
                                    let iw = (ow * g.stride_w + j * g.dilation_w) as isize
                                        - g.pad_left as isize;
                                    if ih < 0
                                        || iw < 0
                                        || ih as usize >= g.in_h
                                        || iw as usize >= g.in_w
                                    {
                                        continue;
                                    }
                                    let xv = x[((n * g.channels_in + c) * g.in_h + ih as usize)
                                        * g.in_w
                                        + iw as usize];
                                    let wv = w[((o * g.channels_in + c) * g.kernel_h + i)
                                        * g.kernel_w
                                        + j];
                                    s += f64::from(xv) * f64::from(wv);
                                }
                            }
                        }
                        y[((n * g.channels_out + o) * g.out_h + oh) * g.out_w + ow] = s as f32;
                    }
                }
            }
        }
        y
    }

    fn values(len: usize, seed: u32) -> Vec<f32> {
        // A small LCG: deterministic, no dependency, values in [-1, 1).
        let mut state = seed.wrapping_mul(747_796_405).wrapping_add(2_891_336_453);
        (0..len)
            .map(|_| {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (state >> 8) as f32 / (1u32 << 23) as f32 - 1.0
            })
            .collect()
    }

    fn dot(a: &[f32], b: &[f32]) -> f64 {
        a.iter()
            .zip(b)
            .map(|(a, b)| f64::from(*a) * f64::from(*b))
            .sum()
    }

    /// `(x, weight, stride, padding, dilation)` shapes covering 3×3 "same", stride 2,
    /// dilation, asymmetric kernels, pointwise, and a batch not divisible by the chunking.
    fn cases() -> Vec<ConvGeometry> {
        let make = |x: [usize; 4], w: [usize; 4], s: [usize; 2], p: [usize; 2], d: [usize; 2]| {
            ConvGeometry::new(x, w, &ConvOptions::new(s, p, d, 1).into()).unwrap()
        };
        vec![
            make([3, 4, 9, 7], [5, 4, 3, 3], [1, 1], [1, 1], [1, 1]),
            make([5, 3, 8, 8], [4, 3, 3, 3], [2, 2], [1, 1], [1, 1]),
            make([2, 2, 11, 9], [3, 2, 3, 2], [2, 1], [0, 2], [2, 1]),
            make([4, 6, 5, 5], [7, 6, 1, 1], [1, 1], [0, 0], [1, 1]),
            make([70, 3, 4, 4], [2, 3, 3, 3], [1, 1], [1, 1], [1, 1]),
            make([1, 8, 6, 6], [16, 8, 3, 3], [1, 1], [1, 1], [1, 1]),
            // Stride 1, width kept (the block-copy im2col): dilated, and rows not kept.
            make([2, 3, 7, 6], [4, 3, 3, 3], [1, 1], [2, 2], [2, 2]),
            make([3, 2, 6, 5], [3, 2, 3, 3], [1, 1], [0, 1], [1, 1]),
            make([2, 2, 3, 5], [2, 2, 5, 1], [1, 1], [3, 0], [1, 1]),
        ]
    }

    #[test]
    fn forward_matches_the_direct_convolution() {
        for (t, g) in cases().iter().enumerate() {
            let x = values(g.batch * g.in_image_len(), 2 * t as u32);
            let w = values(g.channels_out * g.patch_len(), 2 * t as u32 + 1);
            let want = reference(g, &x, &w);
            let got = forward(g, &x, &w);
            for (i, (a, b)) in got.iter().zip(&want).enumerate() {
                assert!((a - b).abs() < 1e-4, "case {t} index {i}: {a} vs {b}");
            }
        }
    }

    /// The gradients are the adjoints of the forward: for random `dy`,
    /// `⟨dy, conv(δx, w)⟩ = ⟨backward_input(w, dy), δx⟩` and likewise for the weight.
    #[test]
    fn backward_kernels_are_the_adjoints_of_the_forward() {
        for (t, g) in cases().iter().enumerate() {
            let seed = 10 * t as u32;
            let x = values(g.batch * g.in_image_len(), seed);
            let w = values(g.channels_out * g.patch_len(), seed + 1);
            let dy = values(g.batch * g.out_image_len(), seed + 2);
            let dx = backward_input(g, &w, &dy);
            let dw = backward_weight(g, &x, &dy);
            let y = reference(g, &x, &w);
            // Linear in x and in w: ⟨dy, y⟩ = ⟨dx, x⟩ = ⟨dw, w⟩.
            let (lhs, via_x, via_w) = (dot(&dy, &y), dot(&dx, &x), dot(&dw, &w));
            let scale = lhs.abs().max(1.0);
            assert!(
                (lhs - via_x).abs() < 1e-4 * scale,
                "case {t}: {lhs} vs {via_x}"
            );
            assert!(
                (lhs - via_w).abs() < 1e-4 * scale,
                "case {t}: {lhs} vs {via_w}"
            );
            // Element-wise: dw[o, k] = ⟨dy[:, o], x shifted by tap k⟩ via one-hot weights.
            for probe in [0, w.len() / 2, w.len() - 1] {
                let mut one_hot = vec![0.0f32; w.len()];
                one_hot[probe] = 1.0;
                let want = dot(&dy, &reference(g, &x, &one_hot));
                assert!((f64::from(dw[probe]) - want).abs() < 1e-4 * want.abs().max(1.0));
            }
            for probe in [0, x.len() / 3, x.len() - 1] {
                let mut one_hot = vec![0.0f32; x.len()];
                one_hot[probe] = 1.0;
                let want = dot(&dy, &reference(g, &one_hot, &w));
                assert!((f64::from(dx[probe]) - want).abs() < 1e-4 * want.abs().max(1.0));
            }
        }
    }
}
