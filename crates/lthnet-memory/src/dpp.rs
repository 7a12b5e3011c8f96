//! Fast greedy MAP inference for determinantal point processes.
//!
//! L. Chen, G. Zhang, H. Zhou, *Fast Greedy MAP Inference for Determinantal Point Process to
//! Improve Recommendation Diversity*, NeurIPS 2018: Algorithm 1 (incremental Cholesky,
//! O(N·k²) time, O(N·k) memory) and Algorithm 2 (sliding window). Plain functions over `f64`,
//! no tensor backend: the kernel is given by a closure that fills one row, so an `N × N` kernel
//! never needs to exist.
//!
//! With `L_Y = V Vᵀ` (Cholesky), adding item `i` extends `V` by `[c_iᵀ, d_i]` with
//! `V c_i = L_{Y,i}` and `d_i² = L_ii − ‖c_i‖²`; the greedy gain is `log d_i²`. Each step costs
//! one kernel row and one length-|Y| dot product per item.

/// Why the greedy selection stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StopReason {
    /// `max_len` items were selected.
    Cardinality,
    /// The best remaining gain `d²` fell below `eps` (but not clearly below zero): the remaining
    /// items are numerically in the span of the selected ones (duplicates, near-collinear
    /// features, a rank-deficient kernel). Fewer than `max_len` items come back.
    Epsilon,
    /// The best remaining gain is clearly negative (below `−eps · max(1, max L_ii)`) or every
    /// remaining gain is NaN: the kernel is not positive semi-definite (or holds NaN). The items
    /// selected so far are returned; no square root of a negative number is ever taken.
    Indefinite,
    /// Every item of the ground set was selected.
    Exhausted,
    /// `max_len` was zero or the ground set is empty.
    Empty,
}

/// The result of a greedy DPP MAP run.
#[derive(Debug, Clone, PartialEq)]
pub struct Selection {
    /// Selected items, in selection order, never repeated.
    pub items: Vec<usize>,
    /// The gain `d²` of each selected item, i.e. `det(L_{Y_t}) / det(L_{Y_{t−1}})`.
    /// Non-increasing (up to round-off) for Algorithm 1, and `det(L_Y)` is their product.
    pub gains: Vec<f64>,
    /// Why the run stopped.
    pub stop: StopReason,
}

impl Selection {
    fn empty(stop: StopReason) -> Self {
        Self {
            items: Vec::new(),
            gains: Vec::new(),
            stop,
        }
    }

    /// `log det(L_Y)` of the selected set: Σ log d² (Algorithm 1; for Algorithm 2 the gains are
    /// relative to the window, so this is not a determinant).
    pub fn log_det(&self) -> f64 {
        self.gains.iter().map(|g| g.ln()).sum()
    }
}

/// Index of the largest value that is neither NaN nor −∞ (lowest index on ties), or `None`.
fn argmax(d2: &[f64]) -> Option<usize> {
    let mut best: Option<(usize, f64)> = None;
    for (i, &v) in d2.iter().enumerate() {
        if v.is_nan() || v == f64::NEG_INFINITY {
            continue;
        }
        if best.is_none_or(|(_, b)| v > b) {
            best = Some((i, v));
        }
    }
    best.map(|(i, _)| i)
}

/// The kernel diagonal with NaN replaced by −∞ (never picked), and the scale used to tell a
/// round-off negative `d²` from an indefinite kernel.
fn clean_diag(diag: &[f64]) -> (Vec<f64>, f64) {
    let d2: Vec<f64> = diag
        .iter()
        .map(|&v| if v.is_nan() { f64::NEG_INFINITY } else { v })
        .collect();
    let scale = d2
        .iter()
        .filter(|v| v.is_finite())
        .fold(1.0f64, |m, &v| m.max(v.abs()));
    (d2, scale)
}

/// The next pick, or the reason to stop.
fn next_pick(d2: &[f64], eps: f64, scale: f64, selected: usize) -> Result<usize, StopReason> {
    match argmax(d2) {
        Some(j) if d2[j] >= eps => Ok(j),
        Some(j) if d2[j] < -eps * scale => Err(StopReason::Indefinite),
        Some(_) => Err(StopReason::Epsilon),
        None if selected == d2.len() => Err(StopReason::Exhausted),
        None => Err(StopReason::Indefinite),
    }
}

/// Algorithm 1: greedy MAP inference with incremental Cholesky updates.
///
/// Each step appends the item `j = argmax_i d_i²` to `Y`, where `d_i² = L_ii − ‖c_i‖²` is the
/// factor by which adding `i` multiplies `det(L_Y)`; `c_i` gains one coefficient per step,
/// `e_i = (L_ji − ⟨c_j, c_i⟩) / d_j`, and `d_i² −= e_i²`.
///
/// # Arguments
/// - `diag`: the kernel diagonal `L_ii` (length N).
/// - `kernel_row(j, out)`: writes row `j` of `L` into `out` (`out.len() == N`). It is called
///   once per selected item except the last, so only `k − 1` rows are ever needed.
/// - `max_len`: the cardinality limit k.
/// - `eps`: stop when the best remaining `d²` is below this (1e-10 in the reference code). With
///   a cardinality limit this is the only other stopping rule (the unconstrained rule `d² < 1`
///   is not applied), so fewer than `max_len` items may come back; see [`Selection::stop`].
///
/// The first pick is `argmax L_ii`; ties go to the lowest index; selected items are masked to
/// −∞ so they can never be picked again, whatever the round-off; NaN entries are never picked.
///
/// # Implementation
/// For k ≤ 32 this is [`greedy_map_eager`] (the reference's order: every `c_i` is extended at
/// every step). For longer lists the same greedy steps are computed lazily and in blocks:
/// since `d_i²` never increases, a stale `d_i²` is an upper bound, so each step only brings the
/// candidates at the top of a max-heap up to date (the exact argmax, lowest index on ties), and
/// every 32 steps all items are brought up to date at once with a cache-blocked multi-row
/// kernel (AVX2/FMA when available, items in parallel with rayon). Same picks and gains (up to
/// round-off), time O(N·k²) worst case, memory O(N·k) (the coefficients plus the k kernel rows,
/// stored item-major).
pub fn greedy_map(
    diag: &[f64],
    kernel_row: impl FnMut(usize, &mut [f64]),
    max_len: usize,
    eps: f64,
) -> Selection {
    if max_len.min(diag.len()) <= BLOCK {
        greedy_map_eager(diag, kernel_row, max_len, eps)
    } else {
        greedy_map_blocked(diag, kernel_row, max_len, eps, BLOCK)
    }
}

/// Algorithm 1 exactly as the reference orders it: at every step, every item's `c_i` and
/// `d_i²` are updated with the new kernel row (one pass over the `t × N` coefficient matrix per
/// step, cache-blocked, AVX2/FMA when available). Same contract as [`greedy_map`], which uses
/// it for short lists; time O(N·k²), memory O(N·k).
pub fn greedy_map_eager(
    diag: &[f64],
    mut kernel_row: impl FnMut(usize, &mut [f64]),
    max_len: usize,
    eps: f64,
) -> Selection {
    let n = diag.len();
    if n == 0 || max_len == 0 {
        return Selection::empty(StopReason::Empty);
    }
    let mut sel = Selection::empty(StopReason::Empty);
    let k = max_len.min(n);
    // c[t * n + i]: the t-th Cholesky coefficient of item i.
    let mut c = vec![0.0f64; k * n];
    let (mut d2, scale) = clean_diag(diag);
    let mut row = vec![0.0f64; n];
    let mut j = match next_pick(&d2, eps, scale, 0) {
        Ok(j) => j,
        Err(stop) => {
            sel.stop = stop;
            return sel;
        }
    };
    loop {
        let t = sel.items.len();
        sel.items.push(j);
        sel.gains.push(d2[j]);
        if sel.items.len() == k {
            sel.stop = if k == max_len {
                StopReason::Cardinality
            } else {
                StopReason::Exhausted
            };
            return sel;
        }
        let dj = d2[j].sqrt();
        kernel_row(j, &mut row);
        // e = (L_j· − Σ_s c[s][j]·c[s][·]) / d_j, as contiguous row updates (axpy) so the
        // coefficient matrix is streamed row by row.
        let (done, rest) = c.split_at_mut(t * n);
        let e = &mut rest[..n];
        e.copy_from_slice(&row);
        let cj: Vec<f64> = (0..t).map(|s| done[s * n + j]).collect();
        update_chunks(e, done, &cj, n);
        let inv = 1.0 / dj;
        for (ei, di) in e.iter_mut().zip(d2.iter_mut()) {
            *ei *= inv;
            if *di != f64::NEG_INFINITY {
                *di -= *ei * *ei;
            }
        }
        d2[j] = f64::NEG_INFINITY;
        match next_pick(&d2, eps, scale, sel.items.len()) {
            Ok(next) => j = next,
            Err(stop) => {
                sel.stop = stop;
                return sel;
            }
        }
    }
}

#[inline(always)]
fn chunk_body(ec: &mut [f64], c: &[f64], cj: &[f64], n: usize, a: usize) {
    let b = a + ec.len();
    let t = cj.len();
    let mut s = 0;
    while s + 4 <= t {
        let (w0, w1, w2, w3) = (cj[s], cj[s + 1], cj[s + 2], cj[s + 3]);
        let r0 = &c[s * n + a..s * n + b];
        let r1 = &c[(s + 1) * n + a..(s + 1) * n + b];
        let r2 = &c[(s + 2) * n + a..(s + 2) * n + b];
        let r3 = &c[(s + 3) * n + a..(s + 3) * n + b];
        for i in 0..ec.len() {
            ec[i] -= w0 * r0[i] + w1 * r1[i] + w2 * r2[i] + w3 * r3[i];
        }
        s += 4;
    }
    while s < t {
        let w = cj[s];
        for (x, &y) in ec.iter_mut().zip(&c[s * n + a..s * n + b]) {
            *x -= w * y;
        }
        s += 1;
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn chunk_avx2(ec: &mut [f64], c: &[f64], cj: &[f64], n: usize, a: usize) {
    chunk_body(ec, c, cj, n, a)
}

/// `e[i] -= Σ_s cj[s] · c[s·n + i]` over column chunks of 256 items (kept in L1 while all `t`
/// coefficient rows stream past), four rows at a time, chunks in parallel for large `n`; the
/// kernel uses AVX2/FMA when the CPU has them (runtime detection).
fn update_chunks(e: &mut [f64], c: &[f64], cj: &[f64], n: usize) {
    const CHUNK: usize = 256;
    #[cfg(target_arch = "x86_64")]
    let avx2 =
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma");
    let work = |(k, ec): (usize, &mut [f64])| {
        #[cfg(target_arch = "x86_64")]
        if avx2 {
            // SAFETY: AVX2 and FMA are available (checked above).
            unsafe { chunk_avx2(ec, c, cj, n, k * CHUNK) };
            return;
        }
        chunk_body(ec, c, cj, n, k * CHUNK)
    };
    if n * cj.len() >= 1 << 18 {
        use rayon::prelude::*;
        e.par_chunks_mut(CHUNK).enumerate().for_each(work);
    } else {
        e.chunks_mut(CHUNK).enumerate().for_each(work);
    }
}

/// Steps between two full refreshes in [`greedy_map_blocked`], and the largest list
/// [`greedy_map`] leaves to [`greedy_map_eager`].
const BLOCK: usize = 32;

/// Offset of row `s` of the packed strictly-lower Cholesky factor (row `s` has `s` entries).
fn tri(s: usize) -> usize {
    s * s.saturating_sub(1) / 2
}

/// A max-heap entry: `d²` (a bound or exact), then the lowest index first.
#[derive(Clone, Copy, PartialEq)]
struct Entry(f64, usize);

impl Eq for Entry {}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Entry {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0).then(other.1.cmp(&self.1))
    }
}

/// `Σ_q row[q]·x[q]` for four rows at once (portable: 4 independent lanes per row).
#[inline(always)]
fn dot4<const FMA: bool>(rows: [&[f64]; 4], x: &[f64]) -> [f64; 4] {
    #[cfg(target_arch = "x86_64")]
    if FMA {
        // SAFETY: FMA = true is only instantiated from `extend_avx2`, which runs only when AVX2
        // and FMA were detected at run time.
        return unsafe { dot4_avx2(rows, x) };
    }
    let n = x.len();
    let (xc, xt) = x.as_chunks::<4>();
    let (r0, t0) = rows[0][..n].as_chunks::<4>();
    let (r1, t1) = rows[1][..n].as_chunks::<4>();
    let (r2, t2) = rows[2][..n].as_chunks::<4>();
    let (r3, t3) = rows[3][..n].as_chunks::<4>();
    let mut acc = [[0.0f64; 4]; 4];
    for ((((xv, a), b), c), d) in xc.iter().zip(r0).zip(r1).zip(r2).zip(r3) {
        for l in 0..4 {
            acc[0][l] += a[l] * xv[l];
            acc[1][l] += b[l] * xv[l];
            acc[2][l] += c[l] * xv[l];
            acc[3][l] += d[l] * xv[l];
        }
    }
    let mut out = [0.0; 4];
    for (o, (a, t)) in out.iter_mut().zip(acc.iter().zip([t0, t1, t2, t3])) {
        let mut s = (a[0] + a[1]) + (a[2] + a[3]);
        for (&r, &v) in t.iter().zip(xt) {
            s += r * v;
        }
        *o = s;
    }
    out
}

/// `Σ_q row[q]·x[q]` (portable: 4 independent lanes).
#[inline(always)]
fn dot1<const FMA: bool>(row: &[f64], x: &[f64]) -> f64 {
    #[cfg(target_arch = "x86_64")]
    if FMA {
        // SAFETY: as in `dot4`.
        return unsafe { dot1_avx2(row, x) };
    }
    let n = x.len();
    let (xc, xt) = x.as_chunks::<4>();
    let (rc, rt) = row[..n].as_chunks::<4>();
    let mut a = [0.0f64; 4];
    for (xv, rv) in xc.iter().zip(rc) {
        for l in 0..4 {
            a[l] += rv[l] * xv[l];
        }
    }
    let mut s = (a[0] + a[1]) + (a[2] + a[3]);
    for (&r, &v) in rt.iter().zip(xt) {
        s += r * v;
    }
    s
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn hsum_avx2(v: std::arch::x86_64::__m256d) -> f64 {
    let mut t = [0.0f64; 4];
    // SAFETY: `t` holds 4 values.
    unsafe { std::arch::x86_64::_mm256_storeu_pd(t.as_mut_ptr(), v) };
    (t[0] + t[1]) + (t[2] + t[3])
}

/// [`dot4`] with AVX2 + FMA: one load of `x` feeds four fused multiply-adds.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn dot4_avx2(rows: [&[f64]; 4], x: &[f64]) -> [f64; 4] {
    use std::arch::x86_64::*;
    let n = x.len();
    let rows = rows.map(|r| &r[..n]);
    let n4 = n - n % 4;
    let (mut a0, mut a1, mut a2, mut a3) = (
        _mm256_setzero_pd(),
        _mm256_setzero_pd(),
        _mm256_setzero_pd(),
        _mm256_setzero_pd(),
    );
    let mut q = 0;
    while q < n4 {
        // SAFETY: q + 4 ≤ n, and `x` and every row hold at least n values.
        unsafe {
            let xv = _mm256_loadu_pd(x.as_ptr().add(q));
            a0 = _mm256_fmadd_pd(_mm256_loadu_pd(rows[0].as_ptr().add(q)), xv, a0);
            a1 = _mm256_fmadd_pd(_mm256_loadu_pd(rows[1].as_ptr().add(q)), xv, a1);
            a2 = _mm256_fmadd_pd(_mm256_loadu_pd(rows[2].as_ptr().add(q)), xv, a2);
            a3 = _mm256_fmadd_pd(_mm256_loadu_pd(rows[3].as_ptr().add(q)), xv, a3);
        }
        q += 4;
    }
    let mut out = [hsum_avx2(a0), hsum_avx2(a1), hsum_avx2(a2), hsum_avx2(a3)];
    for (o, r) in out.iter_mut().zip(rows) {
        for p in n4..n {
            *o = r[p].mul_add(x[p], *o);
        }
    }
    out
}

/// [`dot1`] with AVX2 + FMA (two accumulators).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn dot1_avx2(row: &[f64], x: &[f64]) -> f64 {
    use std::arch::x86_64::*;
    let n = x.len();
    let row = &row[..n];
    let n8 = n - n % 8;
    let (mut a0, mut a1) = (_mm256_setzero_pd(), _mm256_setzero_pd());
    let mut q = 0;
    while q < n8 {
        // SAFETY: q + 8 ≤ n, and `x` and `row` hold n values.
        unsafe {
            a0 = _mm256_fmadd_pd(
                _mm256_loadu_pd(row.as_ptr().add(q)),
                _mm256_loadu_pd(x.as_ptr().add(q)),
                a0,
            );
            a1 = _mm256_fmadd_pd(
                _mm256_loadu_pd(row.as_ptr().add(q + 4)),
                _mm256_loadu_pd(x.as_ptr().add(q + 4)),
                a1,
            );
        }
        q += 8;
    }
    let mut s = hsum_avx2(_mm256_add_pd(a0, a1));
    for p in n8..n {
        s = row[p].mul_add(x[p], s);
    }
    s
}

/// Bring one item from depth `from` to depth `to`: for `s ∈ [from, to)`,
/// `c_i[s] = (L_{j_s,i} − ⟨V_s, c_i[..s]⟩) / d_s` and `d_i² −= c_i[s]²`. The part of the dot
/// products over the old coefficients `[0, from)` is done four factor rows at a time, sharing
/// the loads of `c_i`; the small triangle `[from, s)` follows.
#[inline(always)]
fn extend_impl<const FMA: bool>(
    ci: &mut [f64],
    li: &[f64],
    v: &[f64],
    dsel: &[f64],
    d2: &mut f64,
    from: usize,
    to: usize,
) {
    debug_assert!(to - from <= BLOCK);
    let mut acc = [0.0f64; BLOCK];
    {
        let old = &ci[..from];
        let mut s = from;
        while s + 4 <= to {
            let d = dot4::<FMA>(panel_rows(v, s, from), old);
            acc[s - from..s - from + 4].copy_from_slice(&d);
            s += 4;
        }
        while s < to {
            acc[s - from] = dot1::<FMA>(&v[tri(s)..tri(s) + from], old);
            s += 1;
        }
    }
    finish::<FMA>(ci, li, v, dsel, d2, from, to, &acc);
}

/// Rows `s..s+4` of the factor, restricted to the old coefficients `[0, from)`.
#[inline(always)]
fn panel_rows(v: &[f64], s: usize, from: usize) -> [&[f64]; 4] {
    [
        &v[tri(s)..tri(s) + from],
        &v[tri(s + 1)..tri(s + 1) + from],
        &v[tri(s + 2)..tri(s + 2) + from],
        &v[tri(s + 3)..tri(s + 3) + from],
    ]
}

/// The triangular part of an extension, given the panel dot products `acc[s − from]`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn finish<const FMA: bool>(
    ci: &mut [f64],
    li: &[f64],
    v: &[f64],
    dsel: &[f64],
    d2: &mut f64,
    from: usize,
    to: usize,
    acc: &[f64; BLOCK],
) {
    let new = &mut ci[from..];
    for s in from..to {
        let row = &v[tri(s) + from..tri(s) + s];
        let tail = dot1::<FMA>(row, &new[..s - from]);
        let e = (li[s] - acc[s - from] - tail) / dsel[s];
        new[s - from] = e;
        if *d2 != f64::NEG_INFINITY {
            *d2 -= e * e;
        }
    }
}

/// [`extend_impl`] for three items at the same depth: each load of a factor row feeds the
/// three items (register blocking 3 items × 4 rows).
#[inline(always)]
fn extend3_impl<const FMA: bool>(
    cs: [&mut [f64]; 3],
    ls: [&[f64]; 3],
    v: &[f64],
    dsel: &[f64],
    d2s: [&mut f64; 3],
    from: usize,
    to: usize,
) {
    debug_assert!(to - from <= BLOCK);
    let mut acc = [[0.0f64; BLOCK]; 3];
    {
        let olds = [&cs[0][..from], &cs[1][..from], &cs[2][..from]];
        let mut s = from;
        while s + 4 <= to {
            let d = dot3x4::<FMA>(panel_rows(v, s, from), olds);
            for (a, di) in acc.iter_mut().zip(d) {
                a[s - from..s - from + 4].copy_from_slice(&di);
            }
            s += 4;
        }
        while s < to {
            for (a, old) in acc.iter_mut().zip(olds) {
                a[s - from] = dot1::<FMA>(&v[tri(s)..tri(s) + from], old);
            }
            s += 1;
        }
    }
    for (((ci, li), d2), a) in cs.into_iter().zip(ls).zip(d2s).zip(&acc) {
        finish::<FMA>(ci, li, v, dsel, d2, from, to, a);
    }
}

/// [`dot4`] for three vectors.
#[inline(always)]
fn dot3x4<const FMA: bool>(rows: [&[f64]; 4], xs: [&[f64]; 3]) -> [[f64; 4]; 3] {
    #[cfg(target_arch = "x86_64")]
    if FMA {
        // SAFETY: as in `dot4`.
        return unsafe { dot3x4_avx2(rows, xs) };
    }
    xs.map(|x| dot4::<FMA>(rows, x))
}

/// [`dot3x4`] with AVX2 + FMA: 12 accumulators, 7 loads per 12 fused multiply-adds.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn dot3x4_avx2(rows: [&[f64]; 4], xs: [&[f64]; 3]) -> [[f64; 4]; 3] {
    use std::arch::x86_64::*;
    let n = xs[0].len();
    let rows = rows.map(|r| &r[..n]);
    let xs = xs.map(|x| &x[..n]);
    let n4 = n - n % 4;
    let mut acc = [[_mm256_setzero_pd(); 4]; 3];
    let mut q = 0;
    while q < n4 {
        // SAFETY: q + 4 ≤ n, and every row and vector holds at least n values.
        unsafe {
            let r = [
                _mm256_loadu_pd(rows[0].as_ptr().add(q)),
                _mm256_loadu_pd(rows[1].as_ptr().add(q)),
                _mm256_loadu_pd(rows[2].as_ptr().add(q)),
                _mm256_loadu_pd(rows[3].as_ptr().add(q)),
            ];
            for (a, x) in acc.iter_mut().zip(xs) {
                let xv = _mm256_loadu_pd(x.as_ptr().add(q));
                a[0] = _mm256_fmadd_pd(r[0], xv, a[0]);
                a[1] = _mm256_fmadd_pd(r[1], xv, a[1]);
                a[2] = _mm256_fmadd_pd(r[2], xv, a[2]);
                a[3] = _mm256_fmadd_pd(r[3], xv, a[3]);
            }
        }
        q += 4;
    }
    let mut out = [[0.0f64; 4]; 3];
    for ((o, a), x) in out.iter_mut().zip(acc).zip(xs) {
        for ((oo, aa), r) in o.iter_mut().zip(a).zip(rows) {
            let mut s = hsum_avx2(aa);
            for p in n4..n {
                s = r[p].mul_add(x[p], s);
            }
            *oo = s;
        }
    }
    out
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn extend3_avx2(
    cs: [&mut [f64]; 3],
    ls: [&[f64]; 3],
    v: &[f64],
    dsel: &[f64],
    d2s: [&mut f64; 3],
    from: usize,
    to: usize,
) {
    extend3_impl::<true>(cs, ls, v, dsel, d2s, from, to)
}

/// [`extend3_impl`] with FMA when the CPU has it.
#[allow(clippy::too_many_arguments)]
fn extend3(
    fma: bool,
    cs: [&mut [f64]; 3],
    ls: [&[f64]; 3],
    v: &[f64],
    dsel: &[f64],
    d2s: [&mut f64; 3],
    from: usize,
    to: usize,
) {
    #[cfg(target_arch = "x86_64")]
    if fma {
        // SAFETY: `fma` is true only when AVX2 and FMA were detected at run time.
        unsafe { extend3_avx2(cs, ls, v, dsel, d2s, from, to) };
        return;
    }
    let _ = fma;
    extend3_impl::<false>(cs, ls, v, dsel, d2s, from, to)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn extend_avx2(
    ci: &mut [f64],
    li: &[f64],
    v: &[f64],
    dsel: &[f64],
    d2: &mut f64,
    from: usize,
    to: usize,
) {
    extend_impl::<true>(ci, li, v, dsel, d2, from, to)
}

/// [`extend_impl`] with FMA when the CPU has it (`fma` is the runtime check's result).
#[allow(clippy::too_many_arguments)]
fn extend(
    fma: bool,
    ci: &mut [f64],
    li: &[f64],
    v: &[f64],
    dsel: &[f64],
    d2: &mut f64,
    from: usize,
    to: usize,
) {
    #[cfg(target_arch = "x86_64")]
    if fma {
        // SAFETY: `fma` is true only when AVX2 and FMA were detected at run time.
        unsafe { extend_avx2(ci, li, v, dsel, d2, from, to) };
        return;
    }
    let _ = fma;
    extend_impl::<false>(ci, li, v, dsel, d2, from, to)
}

/// Algorithm 1 by lazy, blocked updates (see [`greedy_map`]); `block` ≤ [`BLOCK`] steps
/// between full refreshes.
fn greedy_map_blocked(
    diag: &[f64],
    mut kernel_row: impl FnMut(usize, &mut [f64]),
    max_len: usize,
    eps: f64,
    block: usize,
) -> Selection {
    use rayon::prelude::*;
    use std::collections::BinaryHeap;

    assert!((1..=BLOCK).contains(&block), "block must be in 1..={BLOCK}");
    let n = diag.len();
    if n == 0 || max_len == 0 {
        return Selection::empty(StopReason::Empty);
    }
    #[cfg(target_arch = "x86_64")]
    let fma =
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma");
    #[cfg(not(target_arch = "x86_64"))]
    let fma = false;
    let k = max_len.min(n);
    let mut sel = Selection::empty(StopReason::Empty);
    let (mut d2, scale) = clean_diag(diag);
    // Item-major: c[i·k + s] is the s-th Cholesky coefficient of item i, l[i·k + s] = L_{j_s, i}.
    let mut c = vec![0.0f64; n * k];
    let mut l = vec![0.0f64; n * k];
    let mut depth = vec![0usize; n];
    // Packed rows of the selected items' factor (V_s = c_{j_s}[..s]) and their d_s.
    let mut v = vec![0.0f64; tri(k)];
    let mut dsel = Vec::with_capacity(k);
    let mut row = vec![0.0f64; n];
    let build_heap = |d2: &[f64]| -> BinaryHeap<Entry> {
        d2.iter()
            .enumerate()
            .filter(|(_, x)| !x.is_nan() && **x != f64::NEG_INFINITY)
            .map(|(i, &x)| Entry(x, i))
            .collect()
    };
    let mut heap = build_heap(&d2);
    loop {
        let t = sel.items.len();
        // The exact argmax: pop until the top is up to date.
        let pick = loop {
            let Some(Entry(_, i)) = heap.pop() else {
                break None;
            };
            if depth[i] == t {
                break Some(i);
            }
            extend(
                fma,
                &mut c[i * k..(i + 1) * k],
                &l[i * k..(i + 1) * k],
                &v,
                &dsel,
                &mut d2[i],
                depth[i],
                t,
            );
            depth[i] = t;
            if !d2[i].is_nan() {
                heap.push(Entry(d2[i], i));
            }
        };
        let j = match pick {
            Some(j) if d2[j] >= eps => j,
            Some(j) if d2[j] < -eps * scale => {
                sel.stop = StopReason::Indefinite;
                return sel;
            }
            Some(_) => {
                sel.stop = StopReason::Epsilon;
                return sel;
            }
            None => {
                sel.stop = if t == n {
                    StopReason::Exhausted
                } else {
                    StopReason::Indefinite
                };
                return sel;
            }
        };
        sel.items.push(j);
        sel.gains.push(d2[j]);
        if sel.items.len() == k {
            sel.stop = if k == max_len {
                StopReason::Cardinality
            } else {
                StopReason::Exhausted
            };
            return sel;
        }
        v[tri(t)..tri(t) + t].copy_from_slice(&c[j * k..j * k + t]);
        dsel.push(d2[j].sqrt());
        d2[j] = f64::NEG_INFINITY;
        kernel_row(j, &mut row);
        for (li, &r) in l.chunks_exact_mut(k).zip(&row) {
            li[t] = r;
        }
        let t = t + 1;
        if t.is_multiple_of(block) && t < k {
            // Bring every remaining item up to date, items in parallel.
            let (v, dsel, depth_ref) = (&v, &dsel, &mut depth);
            let live = |d: f64, dep: usize| d != f64::NEG_INFINITY && !d.is_nan() && dep < t;
            c.par_chunks_mut(3 * k)
                .zip(l.par_chunks(3 * k))
                .zip(d2.par_chunks_mut(3))
                .zip(depth_ref.par_chunks_mut(3))
                .with_min_len(16)
                .for_each(|(((cc, ll), dd), dep)| {
                    if let ([d0, d1, d2x], [p0, p1, p2]) = (&mut *dd, &mut *dep)
                        && live(*d0, *p0)
                        && live(*d1, *p1)
                        && live(*d2x, *p2)
                        && *p0 == *p1
                        && *p1 == *p2
                    {
                        let (c0, rest) = cc.split_at_mut(k);
                        let (c1, c2) = rest.split_at_mut(k);
                        let ls = [&ll[..k], &ll[k..2 * k], &ll[2 * k..]];
                        extend3(fma, [c0, c1, c2], ls, v, dsel, [d0, d1, d2x], *p0, t);
                        *p0 = t;
                        *p1 = t;
                        *p2 = t;
                        return;
                    }
                    for (((ci, li), d), p) in cc
                        .chunks_exact_mut(k)
                        .zip(ll.chunks_exact(k))
                        .zip(dd.iter_mut())
                        .zip(dep.iter_mut())
                    {
                        if live(*d, *p) {
                            extend(fma, ci, li, v, dsel, d, *p, t);
                            *p = t;
                        }
                    }
                });
            heap = build_heap(&d2);
        }
    }
}

/// Algorithm 2: greedy MAP inference with a sliding window, where diversity counts only among
/// the last `window` items of the list.
///
/// Each new item maximises `det(L_{W∪{i}}) / det(L_W)`, where `W` holds the last `window − 1`
/// selected items. When an item leaves the window its column is eliminated from the window's
/// Cholesky factor (and from the `c` rows) by a sequence of 2×2 Givens rotations, and its
/// contribution is added back to every `d_i²`: O(w·N) per step, as in the paper and the
/// reference `dpp_sw`. Selected items stay masked, so no item is returned twice.
///
/// With `window > max_len` it equals [`greedy_map`]; with `window = 1` it ranks by the quality
/// `L_ii` alone. The gains are relative to the window. Stopping rules and tie-breaking are those
/// of [`greedy_map`].
///
/// # Panics
/// If `window` is zero.
pub fn greedy_map_window(
    diag: &[f64],
    mut kernel_row: impl FnMut(usize, &mut [f64]),
    max_len: usize,
    window: usize,
    eps: f64,
) -> Selection {
    assert!(window > 0, "window must be at least 1");
    let n = diag.len();
    if n == 0 || max_len == 0 {
        return Selection::empty(StopReason::Empty);
    }
    let mut sel = Selection::empty(StopReason::Empty);
    let k = max_len.min(n);
    // cis[t * n + i] as in `greedy_map`; v[a * k + b]: the window's lower-triangular factor.
    let mut cis = vec![0.0f64; k * n];
    let mut v = vec![0.0f64; k * k];
    let (mut d2, scale) = clean_diag(diag);
    let mut row = vec![0.0f64; n];
    let mut left = 0usize;
    let mut j = match next_pick(&d2, eps, scale, 0) {
        Ok(j) => j,
        Err(stop) => {
            sel.stop = stop;
            return sel;
        }
    };
    loop {
        let t = sel.items.len();
        sel.items.push(j);
        sel.gains.push(d2[j]);
        if sel.items.len() == k {
            sel.stop = if k == max_len {
                StopReason::Cardinality
            } else {
                StopReason::Exhausted
            };
            return sel;
        }
        let dj = d2[j].sqrt();
        for s in left..t {
            v[t * k + s] = cis[s * n + j];
        }
        v[t * k + t] = dj;
        kernel_row(j, &mut row);
        let (done, rest) = cis.split_at_mut(t * n);
        let e = &mut rest[..n];
        e.copy_from_slice(&row);
        for s in left..t {
            let w = done[s * n + j];
            for (x, &y) in e.iter_mut().zip(&done[s * n..(s + 1) * n]) {
                *x -= w * y;
            }
        }
        let inv = 1.0 / dj;
        for (ei, di) in e.iter_mut().zip(d2.iter_mut()) {
            *ei *= inv;
            *di -= *ei * *ei;
        }
        if sel.items.len() >= window {
            // Drop item `old` from the window: rotate its column of V into the others.
            let old = left;
            left += 1;
            for ind in left..=t {
                let a = v[ind * k + ind];
                let b = v[ind * k + old];
                let r = a.hypot(b);
                let (cos, sin) = (r / a, b / a);
                v[ind * k + ind] = r;
                for r2 in ind + 1..=t {
                    let x = (v[r2 * k + ind] + sin * v[r2 * k + old]) / cos;
                    v[r2 * k + ind] = x;
                    v[r2 * k + old] = cos * v[r2 * k + old] - sin * x;
                }
                let (lo, hi) = cis.split_at_mut(ind * n);
                let c_old = &mut lo[old * n..(old + 1) * n];
                let c_ind = &mut hi[..n];
                for (x, y) in c_ind.iter_mut().zip(c_old.iter_mut()) {
                    let nx = (*x + sin * *y) / cos;
                    *x = nx;
                    *y = cos * *y - sin * nx;
                }
            }
            for (di, &y) in d2.iter_mut().zip(&cis[old * n..(old + 1) * n]) {
                *di += y * y;
            }
        }
        d2[j] = f64::NEG_INFINITY;
        match next_pick(&d2, eps, scale, sel.items.len()) {
            Ok(next) => j = next,
            Err(stop) => {
                sel.stop = stop;
                return sel;
            }
        }
    }
}

/// Greedy MAP ([`greedy_map`]) over the kernel `L = diag(r)·S·diag(r)`, with
/// `S_ab = ⟨f_a, f_b⟩` for the rows of `features` normalised as `f = v / max(‖v‖, eps)`, so
/// `S` is the cosine similarity and zero vectors stay zero (their `L_ii = 0`: never picked, no
/// NaN). Kernel rows are computed lazily, O(N·dim) each, in `f64`: the N × N kernel never
/// exists.
///
/// # Arguments
/// - `features`: row-major `N × dim` (`N = qualities.len()`).
/// - `qualities`: `r`, finite and positive.
/// - `max_len`, `eps`: as in [`greedy_map`]; `eps` is also the normalisation floor.
///
/// # Panics
/// If `features.len() != qualities.len() · dim` or a quality is not finite and positive.
pub fn greedy_map_features(
    features: &[f32],
    dim: usize,
    qualities: &[f64],
    max_len: usize,
    eps: f64,
) -> Selection {
    let n = qualities.len();
    assert_eq!(
        features.len(),
        n * dim,
        "features hold {} values, expected {n} × {dim}",
        features.len()
    );
    assert!(
        qualities.iter().all(|q| q.is_finite() && *q > 0.0),
        "DPP qualities must be finite and positive"
    );
    if dim == 0 {
        return greedy_map(&vec![0.0; n], |_, out| out.fill(0.0), max_len, eps);
    }
    // Rows scaled by their quality: L_ab = ⟨r_a f_a, r_b f_b⟩.
    let scaled: Vec<f64> = features
        .chunks_exact(dim)
        .zip(qualities)
        .flat_map(|(row, &q)| {
            let norm = row
                .iter()
                .map(|&v| (v as f64) * (v as f64))
                .sum::<f64>()
                .sqrt();
            let s = q / norm.max(eps);
            row.iter().map(move |&v| v as f64 * s)
        })
        .collect();
    let diag: Vec<f64> = scaled
        .chunks_exact(dim)
        .map(|g| g.iter().map(|x| x * x).sum())
        .collect();
    greedy_map(
        &diag,
        |j, out| {
            let gj = &scaled[j * dim..(j + 1) * dim];
            for (o, gi) in out.iter_mut().zip(scaled.chunks_exact(dim)) {
                *o = gi.iter().zip(gj).map(|(a, b)| a * b).sum();
            }
        },
        max_len,
        eps,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// log det of the principal submatrix on `ys` by Cholesky; `None` if not positive definite.
    fn log_det(l: &[f64], n: usize, ys: &[usize]) -> Option<f64> {
        let m = ys.len();
        let mut a = vec![0.0; m * m];
        for (p, &i) in ys.iter().enumerate() {
            for (q, &j) in ys.iter().enumerate() {
                a[p * m + q] = l[i * n + j];
            }
        }
        let mut ld = 0.0;
        for j in 0..m {
            let mut s = a[j * m + j];
            for k in 0..j {
                s -= a[j * m + k] * a[j * m + k];
            }
            if s <= 0.0 {
                return None;
            }
            let d = s.sqrt();
            a[j * m + j] = d;
            ld += 2.0 * d.ln();
            for i in j + 1..m {
                let mut s = a[i * m + j];
                for k in 0..j {
                    s -= a[i * m + k] * a[j * m + k];
                }
                a[i * m + j] = s / d;
            }
        }
        Some(ld)
    }

    /// The window variant recomputed from scratch: each step refactors the window's Cholesky
    /// factor (O(w²·N) per step), a simple oracle for the Givens-rotation implementation.
    fn window_oracle(l: &[f64], n: usize, max_len: usize, window: usize, eps: f64) -> Vec<usize> {
        let mut items: Vec<usize> = Vec::new();
        while items.len() < max_len.min(n) {
            let w0 = items.len().saturating_sub(window - 1);
            let win = &items[w0..];
            let base = log_det(l, n, win).unwrap_or(0.0);
            let mut best: Option<(usize, f64)> = None;
            for i in 0..n {
                if items.contains(&i) {
                    continue;
                }
                let mut cand = win.to_vec();
                cand.push(i);
                let g = log_det(l, n, &cand).map_or(0.0, |v| (v - base).exp());
                if best.is_none_or(|(_, b)| g > b) {
                    best = Some((i, g));
                }
            }
            match best {
                Some((i, g)) if g >= eps => items.push(i),
                _ => break,
            }
        }
        items
    }

    /// L = B Bᵀ with B = `vals` as an `n × rank` matrix (rank-deficient when rank < n).
    fn gram(n: usize, rank: usize, vals: &[f64]) -> Vec<f64> {
        let b = |i: usize, r: usize| vals[(i * rank + r) % vals.len()];
        let mut l = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                l[i * n + j] = (0..rank).map(|r| b(i, r) * b(j, r)).sum();
            }
        }
        l
    }

    fn diag_of(l: &[f64], n: usize) -> Vec<f64> {
        (0..n).map(|i| l[i * n + i]).collect()
    }

    fn run(l: &[f64], n: usize, k: usize) -> Selection {
        greedy_map(
            &diag_of(l, n),
            |j, out| out.copy_from_slice(&l[j * n..(j + 1) * n]),
            k,
            1e-10,
        )
    }

    /// Algorithm 1 by every code path: eager, and lazy-blocked with several block sizes.
    fn implementations(l: &[f64], n: usize, k: usize) -> Vec<(&'static str, Selection)> {
        let diag = diag_of(l, n);
        let row = |j: usize, out: &mut [f64]| out.copy_from_slice(&l[j * n..(j + 1) * n]);
        vec![
            ("eager", greedy_map_eager(&diag, row, k, 1e-10)),
            ("blocked-1", greedy_map_blocked(&diag, row, k, 1e-10, 1)),
            ("blocked-2", greedy_map_blocked(&diag, row, k, 1e-10, 2)),
            ("blocked-3", greedy_map_blocked(&diag, row, k, 1e-10, 3)),
        ]
    }

    fn run_window(l: &[f64], n: usize, k: usize, w: usize) -> Selection {
        greedy_map_window(
            &diag_of(l, n),
            |j, out| out.copy_from_slice(&l[j * n..(j + 1) * n]),
            k,
            w,
            1e-10,
        )
    }

    proptest! {
        #[test]
        fn matches_brute_force_greedy(
            n in 1usize..=12,
            rank in 1usize..=12,
            k in 1usize..=12,
            vals in proptest::collection::vec(-2.0f64..2.0, 144),
        ) {
            let l = gram(n, rank, &vals);
            for (name, sel) in implementations(&l, n, k) {
                // Never an item twice.
                let mut s = sel.items.clone();
                s.sort_unstable();
                s.dedup();
                prop_assert_eq!(s.len(), sel.items.len(), "{}: repeated item in {:?}", name, sel.items);
                // Gains non-increasing (log det is submodular).
                for w in sel.gains.windows(2) {
                    prop_assert!(w[1] <= w[0] * (1.0 + 1e-9) + 1e-12, "{}: gains {:?}", name, sel.gains);
                }
                // At every step the pick is the brute-force argmax of det(L_{Y∪{i}}) given the
                // same prefix: exactly (lowest index) where the best is ahead by a clear margin,
                // else a maximiser up to round-off. The product of gains is det(L_Y).
                let mut prefix: Vec<usize> = Vec::new();
                for (t, &pick) in sel.items.iter().enumerate() {
                    let base = if prefix.is_empty() { 0.0 } else { log_det(&l, n, &prefix).unwrap() };
                    let mut gains: Vec<(usize, f64)> = (0..n)
                        .filter(|i| !prefix.contains(i))
                        .map(|i| {
                            let mut c = prefix.clone();
                            c.push(i);
                            (i, log_det(&l, n, &c).map_or(0.0, |v| (v - base).exp()))
                        })
                        .collect();
                    gains.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
                    let scale = 1.0 + gains[0].1.abs();
                    let mine = gains.iter().find(|g| g.0 == pick).unwrap().1;
                    prop_assert!((mine - gains[0].1).abs() <= 1e-7 * scale,
                        "{}: step {}: {:?} vs {:?}", name, t, pick, gains);
                    if gains.len() < 2 || gains[0].1 - gains[1].1 > 1e-6 * scale {
                        prop_assert_eq!(pick, gains[0].0, "{}: step {}: {:?}", name, t, gains);
                    }
                    prop_assert!((sel.gains[t] - gains[0].1).abs() <= 1e-7 * scale,
                        "{}: step {}: gain {} vs {}", name, t, sel.gains[t], gains[0].1);
                    prefix.push(pick);
                    let ld = log_det(&l, n, &prefix).unwrap();
                    let partial: f64 = sel.gains[..=t].iter().map(|g| g.ln()).sum();
                    prop_assert!((ld - partial).abs() < 1e-6 * (1.0 + ld.abs()),
                        "{}: step {}: log det {} vs Σ log gains {}", name, t, ld, partial);
                }
                // An early stop means no candidate had gain ≥ eps (up to round-off).
                match sel.stop {
                    StopReason::Cardinality => prop_assert_eq!(sel.items.len(), k, "{}", name),
                    StopReason::Exhausted => prop_assert_eq!(sel.items.len(), n, "{}", name),
                    StopReason::Epsilon | StopReason::Indefinite => {
                        prop_assert!(sel.items.len() < k.min(n), "{}: {:?}", name, sel);
                        prop_assert!(sel.items.len() <= rank, "{}: {:?}", name, sel);
                    }
                    StopReason::Empty => prop_assert!(false, "{}: unexpected Empty", name),
                }
            }
        }

        #[test]
        fn window_on_indefinite_kernels_stops_cleanly(
            n in 1usize..=10,
            k in 1usize..=10,
            w in 1usize..=6,
            vals in proptest::collection::vec(-2.0f64..2.0, 100),
        ) {
            // A random symmetric matrix: indefinite (or with a negative diagonal) as often as not.
            let mut l = vec![0.0; n * n];
            for i in 0..n {
                for j in 0..=i {
                    l[i * n + j] = vals[i * 10 + j];
                    l[j * n + i] = vals[i * 10 + j];
                }
            }
            let sel = run_window(&l, n, k, w);
            let mut s = sel.items.clone();
            s.sort_unstable();
            s.dedup();
            prop_assert_eq!(s.len(), sel.items.len(), "repeated item: {:?}", sel);
            prop_assert_eq!(sel.gains.len(), sel.items.len());
            // Only gains ≥ eps are ever taken, so no square root of a negative number.
            prop_assert!(sel.gains.iter().all(|g| g.is_finite() && *g >= 1e-10), "{:?}", sel);
            match sel.stop {
                StopReason::Cardinality => prop_assert_eq!(sel.items.len(), k),
                StopReason::Exhausted => prop_assert_eq!(sel.items.len(), n),
                StopReason::Epsilon | StopReason::Indefinite => {
                    prop_assert!(sel.items.len() < k.min(n), "{:?}", sel)
                }
                StopReason::Empty => prop_assert!(false, "unexpected Empty"),
            }
            // The first pick is the largest positive diagonal entry, if any.
            let best = (0..n).filter(|&i| l[i * n + i] >= 1e-10)
                .max_by(|&a, &b| l[a * n + a].total_cmp(&l[b * n + b]).then(b.cmp(&a)));
            prop_assert_eq!(sel.items.first().copied(), best);
        }

        #[test]
        fn window_matches_oracle_and_plain(
            n in 1usize..=10,
            rank in 1usize..=10,
            k in 1usize..=10,
            w in 1usize..=6,
            vals in proptest::collection::vec(-2.0f64..2.0, 100),
        ) {
            let l = gram(n, rank, &vals);
            let fast = run_window(&l, n, k, w);
            let mut s = fast.items.clone();
            s.sort_unstable();
            s.dedup();
            prop_assert_eq!(s.len(), fast.items.len());
            let oracle = window_oracle(&l, n, k, w, 1e-10);
            // Equal up to the first near-tie (random Gram matrices make exact ties rare; on a
            // near-tie both choices are valid greedy steps and the lists may diverge).
            let m = fast.items.len().min(oracle.len());
            let first_diff = (0..m).find(|&i| fast.items[i] != oracle[i]);
            if let Some(i) = first_diff {
                // Both picks must give the same gain within round-off.
                let w0 = i.saturating_sub(w - 1);
                let win = &oracle[w0..i];
                let base = log_det(&l, n, win).unwrap_or(0.0);
                let g = |x: usize| {
                    let mut c = win.to_vec();
                    c.push(x);
                    log_det(&l, n, &c).map_or(0.0, |v| (v - base).exp())
                };
                prop_assert!((g(fast.items[i]) - g(oracle[i])).abs() < 1e-6 * (1.0 + g(oracle[i])),
                    "fast {:?} oracle {:?}", fast.items, oracle);
            } else if fast.items.len() != oracle.len() {
                // Same prefix, one list longer: its extra gain is at round-off level.
                let longer = if fast.items.len() > oracle.len() { &fast.items } else { &oracle };
                let w0 = m.saturating_sub(w - 1);
                let win = &longer[w0..m];
                let base = log_det(&l, n, win).unwrap_or(0.0);
                let mut c = win.to_vec();
                c.push(longer[m]);
                let g = log_det(&l, n, &c).map_or(0.0, |v| (v - base).exp());
                prop_assert!(g < 1e-6, "fast {:?} oracle {:?}", fast.items, oracle);
            }
            if w > k {
                prop_assert_eq!(&fast.items, &run(&l, n, k).items);
            }
        }
    }

    #[test]
    fn first_pick_is_largest_diagonal_and_ties_go_low() {
        let l = [1.0, 0.0, 0.0, 0.0, 2.0, 0.0, 0.0, 0.0, 2.0];
        let sel = run(&l, 3, 1);
        assert_eq!(sel.items, vec![1]);
        assert_eq!(sel.stop, StopReason::Cardinality);
        assert_eq!(run(&l, 3, 3).items, vec![1, 2, 0]);
    }

    #[test]
    fn blocked_equals_eager_on_a_larger_problem() {
        // 300 items of rank 40, 60 picks (past the rank: early stop), block sizes 1..32.
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let vals: Vec<f64> = (0..12_000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 11) as f64 / (1u64 << 53) as f64 - 0.5
            })
            .collect();
        let l = gram(300, 40, &vals);
        let diag = diag_of(&l, 300);
        let row = |j: usize, out: &mut [f64]| out.copy_from_slice(&l[j * 300..(j + 1) * 300]);
        let eager = greedy_map_eager(&diag, row, 60, 1e-10);
        assert_eq!(eager.items.len(), 40);
        for block in [1, 4, 7, 32] {
            let b = greedy_map_blocked(&diag, row, 60, 1e-10, block);
            assert_eq!(b.items, eager.items, "block {block}");
            assert_eq!(b.stop, eager.stop);
            for (x, y) in b.gains.iter().zip(&eager.gains) {
                assert!((x - y).abs() <= 1e-9 * (1.0 + y.abs()), "{x} vs {y}");
            }
        }
        let public = greedy_map(&diag, row, 60, 1e-10);
        assert_eq!(public.items, eager.items);
    }

    #[test]
    fn determinant_is_the_product_of_gains() {
        let l = gram(6, 6, &[0.3, -1.2, 0.8, 0.1, 1.5, -0.4, 0.9, 0.2, -0.7, 1.1]);
        let sel = run(&l, 6, 4);
        assert_eq!(sel.items.len(), 4);
        let ld = log_det(&l, 6, &sel.items).unwrap();
        assert!((ld - sel.log_det()).abs() < 1e-9 * (1.0 + ld.abs()));
    }

    #[test]
    fn duplicates_stop_early() {
        // Items 0 and 1 identical, 2 orthogonal; rank 2 → at most 2 items.
        let f = [1.0f32, 0.0, 1.0, 0.0, 0.0, 1.0];
        let sel = greedy_map_features(&f, 2, &[1.0, 1.0, 1.0], 3, 1e-10);
        assert_eq!(sel.items, vec![0, 2]);
        assert_eq!(sel.stop, StopReason::Epsilon);
        let w = greedy_map_window(
            &[1.0, 1.0, 1.0],
            |j, out| {
                let rows = [[1.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 1.0]];
                out.copy_from_slice(&rows[j]);
            },
            3,
            3,
            1e-10,
        );
        assert_eq!((w.items, w.stop), (vec![0, 2], StopReason::Epsilon));
    }

    #[test]
    fn indefinite_kernels_stop_cleanly() {
        // [[1, 2], [2, 1]] has eigenvalues 3 and −1: the second gain is 1 − 4 = −3.
        let l = [1.0, 2.0, 2.0, 1.0];
        let sel = run(&l, 2, 2);
        assert_eq!(
            (sel.items.clone(), sel.stop),
            (vec![0], StopReason::Indefinite)
        );
        assert!(sel.gains.iter().all(|g| g.is_finite()));
        // A negative diagonal: nothing to pick.
        let sel = run(&[-1.0], 1, 1);
        assert_eq!((sel.items.len(), sel.stop), (0, StopReason::Indefinite));
        // NaN entries are never picked.
        let l = [f64::NAN, 0.0, 0.0, 1.0];
        let sel = run(&l, 2, 2);
        assert_eq!((sel.items, sel.stop), (vec![1], StopReason::Indefinite));
    }

    #[test]
    fn window_stops_cleanly_on_an_indefinite_kernel() {
        // The leading 3 × 3 block is positive definite; [[2, 3], [3, 1]] (items 2, 3) has
        // determinant −7. With a window of 2 the list is 0, 1, 2 (the window slides twice,
        // through non-trivial Givens rotations since L_01 ≠ 0); item 3's gain given the window
        // {2} is 1 − 3²/2 = −3.5, clearly negative: the run stops with 3 of the 4 items asked.
        #[rustfmt::skip]
        let l = [
            4.0, 1.0, 0.0, 0.0,
            1.0, 3.0, 0.5, 0.0,
            0.0, 0.5, 2.0, 3.0,
            0.0, 0.0, 3.0, 1.0,
        ];
        let sel = run_window(&l, 4, 4, 2);
        assert_eq!(sel.items, vec![0, 1, 2]);
        assert_eq!(sel.stop, StopReason::Indefinite);
        let want = [4.0, 3.0 - 1.0 / 4.0, 2.0 - 0.25 / 3.0];
        for (g, w) in sel.gains.iter().zip(want) {
            assert!((g - w).abs() < 1e-12, "{:?}", sel.gains);
        }
        // The same kernel without a window (window > max_len): also three items, then the stop.
        let plain = run_window(&l, 4, 4, 5);
        assert_eq!(
            (plain.items.clone(), plain.stop),
            (vec![0, 1, 2], StopReason::Indefinite)
        );
        assert_eq!(plain.items, run(&l, 4, 4).items);
        // [[1, 2], [2, 1]]: the second gain is −3 whatever the window (≥ 2); a window of 1
        // ignores the coupling and returns both.
        let l = [1.0, 2.0, 2.0, 1.0];
        for w in [2, 3] {
            let sel = run_window(&l, 2, 2, w);
            assert_eq!(
                (sel.items, sel.stop),
                (vec![0], StopReason::Indefinite),
                "window {w}"
            );
        }
        let sel = run_window(&l, 2, 2, 1);
        assert_eq!((sel.items, sel.stop), (vec![0, 1], StopReason::Cardinality));
        // A negative diagonal everywhere: nothing to pick, no NaN.
        let sel = run_window(&[-1.0, 0.0, 0.0, -2.0], 2, 2, 2);
        assert_eq!((sel.items.len(), sel.stop), (0, StopReason::Indefinite));
    }

    #[test]
    fn zero_vectors_are_never_picked_and_never_nan() {
        let f = [0.0f32, 0.0, 3.0, 4.0];
        let sel = greedy_map_features(&f, 2, &[1.0, 1.0], 2, 1e-10);
        assert_eq!(sel.items, vec![1]);
        assert_eq!(sel.stop, StopReason::Epsilon);
        assert!(sel.gains.iter().all(|g| g.is_finite()));
        let none = greedy_map_features(&[0.0f32; 4], 2, &[1.0, 1.0], 2, 1e-10);
        assert_eq!((none.items.len(), none.stop), (0, StopReason::Epsilon));
    }

    #[test]
    fn features_equal_the_explicit_kernel() {
        let f = [
            1.0f32, 2.0, 0.5, -1.0, 0.0, 3.0, 2.0, 2.0, 1.0, 0.1, 0.2, 0.3,
        ];
        let q = [1.2, 0.7, 1.0, 1.5];
        let rows: Vec<Vec<f64>> = f
            .chunks(3)
            .zip(q)
            .map(|(r, q)| {
                let nrm = r.iter().map(|&v| (v as f64).powi(2)).sum::<f64>().sqrt();
                r.iter().map(|&v| v as f64 * q / nrm).collect()
            })
            .collect();
        let mut l = vec![0.0; 16];
        for a in 0..4 {
            for b in 0..4 {
                l[a * 4 + b] = rows[a].iter().zip(&rows[b]).map(|(x, y)| x * y).sum();
            }
        }
        let a = greedy_map_features(&f, 3, &q, 3, 1e-10);
        let b = run(&l, 4, 3);
        assert_eq!(a.items, b.items);
        for (x, y) in a.gains.iter().zip(&b.gains) {
            assert!((x - y).abs() < 1e-12);
        }
    }

    #[test]
    fn empty_inputs() {
        assert_eq!(run(&[], 0, 3).stop, StopReason::Empty);
        assert_eq!(run(&[1.0], 1, 0).stop, StopReason::Empty);
        let sel = run(&[1.0], 1, 3);
        assert_eq!((sel.items, sel.stop), (vec![0], StopReason::Exhausted));
        let sel = run_window(&[1.0], 1, 3, 2);
        assert_eq!((sel.items, sel.stop), (vec![0], StopReason::Exhausted));
        assert_eq!(run_window(&[], 0, 3, 2).stop, StopReason::Empty);
    }

    #[test]
    fn window_of_one_ignores_diversity() {
        // With window 1 only the quality (diagonal) matters.
        let l = [4.0, 3.9, 0.0, 3.9, 4.0, 0.0, 0.0, 0.0, 1.0];
        let plain = run(&l, 3, 2);
        assert_eq!(plain.items, vec![0, 2]);
        assert_eq!(run_window(&l, 3, 2, 1).items, vec![0, 1]);
        assert_eq!(run_window(&l, 3, 2, 2).items, plain.items);
    }

    #[test]
    fn window_slides_on_a_long_list() {
        // 40 items in 8 dimensions, 30 picks with a window of 4: agrees with the oracle.
        let vals: Vec<f64> = (0..320)
            .map(|i| ((i * 37 % 101) as f64 / 50.0) - 1.0)
            .collect();
        let l = gram(40, 8, &vals);
        let fast = run_window(&l, 40, 30, 4);
        assert_eq!(fast.items, window_oracle(&l, 40, 30, 4, 1e-10));
        assert_eq!(fast.items.len(), 30);
    }

    #[test]
    fn selections_are_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Selection>();
        check::<StopReason>();
    }
}
