//! The fully connected layer `y = x · W + b` (Burn's `[d_input, d_output]` weight layout) and
//! its gradients as single GEMM calls into freshly allocated outputs.
//!
//! flex's matmul allocates each output as a zeroed `Vec<u8>` and then copies it into a
//! 64-byte-aligned buffer (`FlexTensor::empty`): for the LTHNet head's 2000 × 2000 weight
//! gradient that memset + memcpy was about 10% of a training step (`perf`, docs/benchmarks.md).
//! Here gemm writes every output element itself, so nothing is zeroed or copied, and the bias is
//! the GEMM's initial value instead of a second pass.

use gemm::Parallelism;

/// Products below this many multiply-adds run on one thread (burn-flex's threshold).
const PARALLEL_THRESHOLD: usize = 192 * 192 * 192;

/// The sizes of a fully connected layer applied to `batch` rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinearShape {
    /// Rows of the input.
    pub batch: usize,
    /// Input features (rows of the weight).
    pub d_input: usize,
    /// Output features (columns of the weight).
    pub d_output: usize,
}

/// A strided matrix view: element `(r, c)` is `data[r · row_stride + c · col_stride]`.
#[derive(Clone, Copy)]
struct View<'a> {
    data: &'a [f32],
    row_stride: usize,
    col_stride: usize,
}

impl<'a> View<'a> {
    /// The row-major `rows × cols` matrix in `data`.
    fn rows(data: &'a [f32], cols: usize) -> Self {
        Self {
            data,
            row_stride: cols,
            col_stride: 1,
        }
    }

    /// The transpose of the row-major matrix in `data` whose rows are `cols` long.
    fn transposed(data: &'a [f32], cols: usize) -> Self {
        Self {
            data,
            row_stride: 1,
            col_stride: cols,
        }
    }

    fn covers(&self, rows: usize, cols: usize) -> bool {
        rows == 0
            || cols == 0
            || (rows - 1) * self.row_stride + (cols - 1) * self.col_stride < self.data.len()
    }
}

/// `lhs[m × k] · rhs[k × n]` as a new row-major `m × n` matrix, added to `init` (a row-major
/// `m × n` matrix) when given.
fn product(
    m: usize,
    n: usize,
    k: usize,
    lhs: View<'_>,
    rhs: View<'_>,
    init: Option<Vec<f32>>,
) -> Vec<f32> {
    assert!(lhs.covers(m, k) && rhs.covers(k, n), "operand too short");
    let len = m * n;
    if let Some(init) = &init {
        assert_eq!(init.len(), len, "initial value size");
    }
    if len == 0 {
        return Vec::new();
    }
    let parallelism = if m.saturating_mul(n).saturating_mul(k) >= PARALLEL_THRESHOLD {
        Parallelism::Rayon(0)
    } else {
        Parallelism::None
    };
    let read_dst = init.is_some();
    let mut dst = init.unwrap_or_else(|| Vec::with_capacity(len));
    // SAFETY: `dst` has room for `len = m · n` elements and is the only pointer to them; the
    // asserts keep every operand element gemm reads inside `lhs` / `rhs`. With `read_dst`
    // false gemm never reads `dst` and writes each of its `m · n` elements (zeros when
    // `k == 0`), so after the call all `len` elements are initialised and `set_len` is sound;
    // with `read_dst` true, `dst` was initialised to begin with.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            read_dst,
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
        dst.set_len(len);
    }
    dst
}

/// `x · W + b`.
///
/// # Shapes
/// - `x`: `[batch, d_input]`, `weight`: `[d_input, d_output]`, `bias`: `[d_output]` →
///   `[batch, d_output]`
pub fn forward(s: LinearShape, x: &[f32], weight: &[f32], bias: Option<&[f32]>) -> Vec<f32> {
    assert_eq!(x.len(), s.batch * s.d_input, "input size");
    assert_eq!(weight.len(), s.d_input * s.d_output, "weight size");
    let init = bias.map(|bias| {
        assert_eq!(bias.len(), s.d_output, "bias size");
        let mut rows = Vec::with_capacity(s.batch * s.d_output);
        for _ in 0..s.batch {
            rows.extend_from_slice(bias);
        }
        rows
    });
    product(
        s.batch,
        s.d_output,
        s.d_input,
        View::rows(x, s.d_input),
        View::rows(weight, s.d_output),
        init,
    )
}

/// The input gradient `dy · Wᵀ`.
///
/// # Shapes
/// - `weight`: `[d_input, d_output]`, `dy`: `[batch, d_output]` → `[batch, d_input]`
pub fn backward_input(s: LinearShape, weight: &[f32], dy: &[f32]) -> Vec<f32> {
    assert_eq!(weight.len(), s.d_input * s.d_output, "weight size");
    assert_eq!(dy.len(), s.batch * s.d_output, "output gradient size");
    product(
        s.batch,
        s.d_input,
        s.d_output,
        View::rows(dy, s.d_output),
        View::transposed(weight, s.d_output),
        None,
    )
}

/// The weight gradient `xᵀ · dy`.
///
/// # Shapes
/// - `x`: `[batch, d_input]`, `dy`: `[batch, d_output]` → `[d_input, d_output]`
pub fn backward_weight(s: LinearShape, x: &[f32], dy: &[f32]) -> Vec<f32> {
    assert_eq!(x.len(), s.batch * s.d_input, "input size");
    assert_eq!(dy.len(), s.batch * s.d_output, "output gradient size");
    product(
        s.d_input,
        s.d_output,
        s.batch,
        View::transposed(x, s.d_input),
        View::rows(dy, s.d_output),
        None,
    )
}

/// The bias gradient: `dy` summed over its rows, in row order.
///
/// # Shapes
/// - `dy`: `[batch, d_output]` → `[d_output]`
pub fn backward_bias(s: LinearShape, dy: &[f32]) -> Vec<f32> {
    assert_eq!(dy.len(), s.batch * s.d_output, "output gradient size");
    let mut sum = vec![0.0f32; s.d_output];
    for row in dy.chunks_exact(s.d_output.max(1)) {
        for (t, &g) in sum.iter_mut().zip(row) {
            *t += g;
        }
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `x[r][c]` of a row-major matrix with `cols` columns, filled with distinct small values.
    fn matrix(rows: usize, cols: usize, seed: f32) -> Vec<f32> {
        (0..rows * cols)
            .map(|i| ((i as f32 * 0.37 + seed).sin() * 4.0).round() / 8.0)
            .collect()
    }

    /// `a[m × k] · b[k × n]`, both row-major, in f64.
    fn reference(a: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> Vec<f64> {
        let mut out = vec![0.0f64; m * n];
        for i in 0..m {
            for j in 0..n {
                out[i * n + j] = (0..k)
                    .map(|p| a[i * k + p] as f64 * b[p * n + j] as f64)
                    .sum();
            }
        }
        out
    }

    fn transpose(a: &[f32], rows: usize, cols: usize) -> Vec<f32> {
        (0..cols * rows)
            .map(|i| a[(i % rows) * cols + i / rows])
            .collect()
    }

    fn assert_close(got: &[f32], want: &[f64]) {
        assert_eq!(got.len(), want.len());
        for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
            assert!(
                (g as f64 - w).abs() <= 1e-4 * (1.0 + w.abs()),
                "element {i}: {g} against {w}"
            );
        }
    }

    /// Shapes below and above the parallel threshold, with odd sizes and a single row.
    const SHAPES: [LinearShape; 4] = [
        LinearShape {
            batch: 1,
            d_input: 7,
            d_output: 5,
        },
        LinearShape {
            batch: 3,
            d_input: 17,
            d_output: 9,
        },
        LinearShape {
            batch: 9,
            d_input: 33,
            d_output: 20,
        },
        LinearShape {
            batch: 130,
            d_input: 257,
            d_output: 300,
        },
    ];

    #[test]
    fn forward_and_gradients_match_the_definitions() {
        for s in SHAPES {
            let x = matrix(s.batch, s.d_input, 0.1);
            let w = matrix(s.d_input, s.d_output, 0.7);
            let b = matrix(1, s.d_output, 1.3);
            let dy = matrix(s.batch, s.d_output, 2.9);
            let mut want = reference(&x, &w, s.batch, s.d_input, s.d_output);
            assert_close(&forward(s, &x, &w, None), &want);
            for (i, y) in want.iter_mut().enumerate() {
                *y += b[i % s.d_output] as f64;
            }
            assert_close(&forward(s, &x, &w, Some(&b)), &want);
            let w_t = transpose(&w, s.d_input, s.d_output);
            let dx = reference(&dy, &w_t, s.batch, s.d_output, s.d_input);
            assert_close(&backward_input(s, &w, &dy), &dx);
            let x_t = transpose(&x, s.batch, s.d_input);
            let dw = reference(&x_t, &dy, s.d_input, s.batch, s.d_output);
            assert_close(&backward_weight(s, &x, &dy), &dw);
            let ones = vec![1.0f32; s.batch];
            let db = reference(&ones, &dy, 1, s.batch, s.d_output);
            assert_close(&backward_bias(s, &dy), &db);
        }
    }

    #[test]
    fn empty_batch_gives_zero_weight_and_bias_gradients() {
        let s = LinearShape {
            batch: 0,
            d_input: 4,
            d_output: 3,
        };
        assert!(forward(s, &[], &[0.5; 12], Some(&[1.0; 3])).is_empty());
        assert!(backward_input(s, &[0.5; 12], &[]).is_empty());
        assert_eq!(backward_weight(s, &[], &[]), vec![0.0; 12]);
        assert_eq!(backward_bias(s, &[]), vec![0.0; 3]);
    }

    #[test]
    #[should_panic(expected = "weight size")]
    fn a_wrong_weight_size_is_refused() {
        let s = LinearShape {
            batch: 2,
            d_input: 4,
            d_output: 3,
        };
        forward(s, &[0.0; 8], &[0.0; 11], None);
    }
}
