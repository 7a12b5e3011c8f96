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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// `max_len` items were selected.
    Cardinality,
    /// The best remaining gain `d²` fell below `eps`: the remaining items are (numerically) in
    /// the span of the selected ones — duplicates, a rank-deficient or non-PSD kernel.
    Epsilon,
    /// Every item was selected.
    Exhausted,
    /// `max_len` was zero or the ground set empty.
    Empty,
}

/// The result of a greedy DPP MAP run.
#[derive(Debug, Clone, PartialEq)]
pub struct Selection {
    /// Selected items, in selection order, never repeated.
    pub items: Vec<usize>,
    /// The gain `d²` of each selected item (non-increasing up to round-off for Algorithm 1);
    /// `det(L_Y)` is their product.
    pub gains: Vec<f64>,
    /// Why the run stopped.
    pub stop: StopReason,
}

impl Selection {
    /// `log det(L_Y)` of the selected set: Σ log d².
    pub fn log_det(&self) -> f64 {
        self.gains.iter().map(|g| g.ln()).sum()
    }
}

/// Index of the largest finite value (lowest index on ties), or `None` when all are −∞/NaN.
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

/// Algorithm 1: greedy MAP inference with incremental Cholesky updates.
///
/// # Arguments
/// - `diag`: the kernel diagonal `L_ii` (length N).
/// - `kernel_row(j, out)`: writes row `j` of `L` (`out.len() == N`).
/// - `max_len`: the cardinality limit k.
/// - `eps`: stop when the best remaining `d²` is below this (1e-10 in the reference code).
///
/// The first pick is `argmax L_ii`; ties go to the lowest index; selected items are masked to
/// −∞ so they can never be picked again, whatever the round-off.
pub fn greedy_map(
    diag: &[f64],
    mut kernel_row: impl FnMut(usize, &mut [f64]),
    max_len: usize,
    eps: f64,
) -> Selection {
    let n = diag.len();
    let mut sel = Selection {
        items: Vec::new(),
        gains: Vec::new(),
        stop: StopReason::Empty,
    };
    if n == 0 || max_len == 0 {
        return sel;
    }
    let k = max_len.min(n);
    // c[t * n + i]: the t-th Cholesky coefficient of item i.
    let mut c = vec![0.0f64; k * n];
    let mut d2: Vec<f64> = diag
        .iter()
        .map(|&v| if v.is_nan() { f64::NEG_INFINITY } else { v })
        .collect();
    let mut row = vec![0.0f64; n];
    let Some(mut j) = argmax(&d2) else {
        sel.stop = StopReason::Epsilon;
        return sel;
    };
    if d2[j] < eps {
        sel.stop = StopReason::Epsilon;
        return sel;
    }
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
        match argmax(&d2) {
            Some(next) if d2[next] >= eps => j = next,
            _ => {
                sel.stop = if sel.items.len() == n {
                    StopReason::Exhausted
                } else {
                    StopReason::Epsilon
                };
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

/// Algorithm 2: greedy MAP inference where diversity counts only within a sliding window: each
/// new item maximises `det(L_W∪{i})` where `W` is the last `window − 1` selected items (so a
/// `window` of w consecutive items is diverse). With `window > max_len` it equals
/// [`greedy_map`]; with `window = 1` it ranks by quality `L_ii` alone. Selected items stay masked.
///
/// This implementation keeps the kernel rows of the window items and refactors the window
/// (w × w Cholesky) at each step: O(w²·N) per step, O(w·N) memory. It is simpler than the paper's
/// Givens-rotation downdate (O(w·N) per step) and exact; LTHNet itself uses [`greedy_map`].
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
    let mut sel = Selection {
        items: Vec::new(),
        gains: Vec::new(),
        stop: StopReason::Empty,
    };
    if n == 0 || max_len == 0 {
        return sel;
    }
    let k = max_len.min(n);
    let mut masked = vec![false; n];
    let mut win: std::collections::VecDeque<(usize, Vec<f64>)> = std::collections::VecDeque::new();
    let clean = |v: f64| if v.is_nan() { f64::NEG_INFINITY } else { v };
    let mut d2: Vec<f64> = diag.iter().map(|&v| clean(v)).collect();
    loop {
        let next = argmax(&d2);
        match next {
            Some(j) if d2[j] >= eps => {
                sel.items.push(j);
                sel.gains.push(d2[j]);
                masked[j] = true;
                if sel.items.len() == k {
                    sel.stop = if k == max_len {
                        StopReason::Cardinality
                    } else {
                        StopReason::Exhausted
                    };
                    return sel;
                }
                let mut row = vec![0.0; n];
                kernel_row(j, &mut row);
                win.push_back((j, row));
                while win.len() > window - 1 {
                    win.pop_front();
                }
            }
            _ => {
                sel.stop = if sel.items.is_empty() || sel.items.len() < n {
                    StopReason::Epsilon
                } else {
                    StopReason::Exhausted
                };
                return sel;
            }
        }
        // Cholesky of L_W.
        let w = win.len();
        let mut v = vec![0.0f64; w * w];
        let mut ok = true;
        for a in 0..w {
            for b in 0..=a {
                let mut s = win[a].1[win[b].0];
                for t in 0..b {
                    s -= v[a * w + t] * v[b * w + t];
                }
                if a == b {
                    if s <= 0.0 {
                        ok = false;
                        break;
                    }
                    v[a * w + a] = s.sqrt();
                } else {
                    v[a * w + b] = s / v[b * w + b];
                }
            }
            if !ok {
                break;
            }
        }
        if !ok {
            sel.stop = StopReason::Epsilon;
            return sel;
        }
        let mut c = vec![0.0f64; w];
        for i in 0..n {
            if masked[i] {
                d2[i] = f64::NEG_INFINITY;
                continue;
            }
            // Forward substitution V c = L_{W,i}.
            let mut norm = 0.0;
            for a in 0..w {
                let mut s = win[a].1[i];
                for t in 0..a {
                    s -= v[a * w + t] * c[t];
                }
                c[a] = s / v[a * w + a];
                norm += c[a] * c[a];
            }
            d2[i] = clean(diag[i]) - norm;
        }
    }
}

/// Greedy MAP over the kernel `L = diag(r)·S·diag(r)` with `S_ab = ⟨f_a, f_b⟩` for the rows of
/// `features` L2-normalised as `f = v / max(‖v‖, 1e-12)` (zero vectors stay zero, so they get
/// `L_ii = 0` and are never picked), computing kernel rows lazily.
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
    let normed: Vec<f64> = features
        .chunks_exact(dim.max(1))
        .flat_map(|row| {
            let norm = row
                .iter()
                .map(|&v| (v as f64) * (v as f64))
                .sum::<f64>()
                .sqrt();
            let inv = 1.0 / norm.max(1e-12);
            row.iter().map(move |&v| v as f64 * inv)
        })
        .collect();
    let diag: Vec<f64> = (0..n)
        .map(|i| {
            let f = &normed[i * dim..(i + 1) * dim];
            qualities[i] * qualities[i] * f.iter().map(|x| x * x).sum::<f64>()
        })
        .collect();
    greedy_map(
        &diag,
        |j, out| {
            let fj = &normed[j * dim..(j + 1) * dim];
            for (i, o) in out.iter_mut().enumerate() {
                let fi = &normed[i * dim..(i + 1) * dim];
                let s: f64 = fi.iter().zip(fj).map(|(a, b)| a * b).sum();
                *o = qualities[i] * s * qualities[j];
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

    /// log det of the principal submatrix by Cholesky; None if not PD.
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
            if s <= 1e-12 {
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

    fn brute_greedy(l: &[f64], n: usize, k: usize) -> Vec<usize> {
        let mut ys: Vec<usize> = Vec::new();
        while ys.len() < k {
            let mut best: Option<(usize, f64)> = None;
            for i in 0..n {
                if ys.contains(&i) {
                    continue;
                }
                let mut cand = ys.clone();
                cand.push(i);
                if let Some(v) = log_det(l, n, &cand)
                    && best.is_none_or(|(_, b)| v > b + 1e-9)
                {
                    best = Some((i, v));
                }
            }
            match best {
                Some((i, _)) => ys.push(i),
                None => break,
            }
        }
        ys
    }

    fn psd_kernel(n: usize, rank: usize, seed: &[f64]) -> Vec<f64> {
        // L = B Bᵀ with B n × rank from the seed values.
        let b: Vec<f64> = (0..n * rank)
            .map(|i| {
                seed[i % seed.len()] * ((i * 7 + 3) % 11) as f64 / 11.0
                    + ((i * 13) % 5) as f64 * 0.1
            })
            .collect();
        let mut l = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                l[i * n + j] = (0..rank).map(|r| b[i * rank + r] * b[j * rank + r]).sum();
            }
        }
        l
    }

    fn run(l: &[f64], n: usize, k: usize) -> Selection {
        let diag: Vec<f64> = (0..n).map(|i| l[i * n + i]).collect();
        greedy_map(
            &diag,
            |j, out| out.copy_from_slice(&l[j * n..(j + 1) * n]),
            k,
            1e-10,
        )
    }

    proptest! {
        #[test]
        fn matches_brute_force_greedy(
            n in 1usize..12,
            k in 1usize..8,
            vals in proptest::collection::vec(-2.0f64..2.0, 12..40),
        ) {
            let l = psd_kernel(n, n, &vals);
            let sel = run(&l, n, k);
            // No repeats.
            let mut s = sel.items.clone();
            s.sort();
            s.dedup();
            prop_assert_eq!(s.len(), sel.items.len());
            // Gains non-increasing (submodularity), product = det.
            for w in sel.gains.windows(2) {
                prop_assert!(w[1] <= w[0] * (1.0 + 1e-6) + 1e-9);
            }
            if !sel.items.is_empty() && sel.gains.iter().all(|g| *g > 1e-6) {
                let ld = log_det(&l, n, &sel.items).unwrap();
                prop_assert!((ld - sel.log_det()).abs() < 1e-6 * (1.0 + ld.abs()));
            }
            // Equal to brute-force greedy where the gains are well separated.
            let brute = brute_greedy(&l, n, k);
            let m = sel.items.len().min(brute.len());
            prop_assert_eq!(&sel.items[..m.min(1)], &brute[..m.min(1)]);
            if m > 0 {
                let bl = log_det(&l, n, &brute[..m]);
                let sl = log_det(&l, n, &sel.items[..m]);
                if let (Some(b), Some(s)) = (bl, sl) {
                    prop_assert!((b - s).abs() < 1e-6 * (1.0 + b.abs()), "brute {:?} {} vs fast {:?} {}", brute, b, sel.items, s);
                }
            }
        }

        #[test]
        fn window_equals_plain_when_window_is_large(
            n in 1usize..12,
            k in 1usize..8,
            vals in proptest::collection::vec(-2.0f64..2.0, 12..40),
        ) {
            let l = psd_kernel(n, n, &vals);
            let diag: Vec<f64> = (0..n).map(|i| l[i * n + i]).collect();
            let a = run(&l, n, k);
            let b = greedy_map_window(&diag, |j, out| out.copy_from_slice(&l[j * n..(j + 1) * n]), k, k + 1, 1e-10);
            prop_assert_eq!(a.items, b.items);
        }
    }

    #[test]
    fn first_pick_is_largest_diagonal_and_ties_go_low() {
        let l = [1.0, 0.0, 0.0, 0.0, 2.0, 0.0, 0.0, 0.0, 2.0];
        let sel = run(&l, 3, 1);
        assert_eq!(sel.items, vec![1]);
        assert_eq!(sel.stop, StopReason::Cardinality);
    }

    #[test]
    fn duplicates_stop_early() {
        // Items 0 and 1 identical, 2 orthogonal; rank 2 → at most 2 items.
        let f = [1.0f32, 0.0, 1.0, 0.0, 0.0, 1.0];
        let sel = greedy_map_features(&f, 2, &[1.0, 1.0, 1.0], 3, 1e-10);
        assert_eq!(sel.items.len(), 2);
        assert_eq!(sel.stop, StopReason::Epsilon);
        assert!(sel.items.contains(&2));
    }

    #[test]
    fn zero_vectors_are_never_picked_and_never_nan() {
        let f = [0.0f32, 0.0, 3.0, 4.0];
        let sel = greedy_map_features(&f, 2, &[1.0, 1.0], 2, 1e-10);
        assert_eq!(sel.items, vec![1]);
        assert!(sel.gains.iter().all(|g| g.is_finite()));
    }

    #[test]
    fn empty_inputs() {
        assert_eq!(run(&[], 0, 3).items, Vec::<usize>::new());
        assert_eq!(run(&[1.0], 1, 0).stop, StopReason::Empty);
        let sel = run(&[1.0], 1, 3);
        assert_eq!(
            (sel.items.clone(), sel.stop),
            (vec![0], StopReason::Exhausted)
        );
    }

    #[test]
    fn window_of_one_ignores_diversity() {
        // With window 1 only the quality (diagonal) and the last item matter.
        let l = [4.0, 3.9, 0.0, 3.9, 4.0, 0.0, 0.0, 0.0, 1.0];
        let diag = [4.0, 4.0, 1.0];
        let plain = run(&l, 3, 2);
        assert_eq!(plain.items, vec![0, 2]);
        let w = greedy_map_window(
            &diag,
            |j, out| out.copy_from_slice(&l[j * 3..(j + 1) * 3]),
            2,
            1,
            1e-10,
        );
        assert_eq!(w.items, vec![0, 1]);
        let w2 = greedy_map_window(
            &diag,
            |j, out| out.copy_from_slice(&l[j * 3..(j + 1) * 3]),
            2,
            2,
            1e-10,
        );
        assert_eq!(w2.items, plain.items);
    }
}
