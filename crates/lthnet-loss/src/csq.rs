//! CSQ: central similarity quantisation (Yuan et al., CVPR 2020) — predefined hash centres and the
//! BCE-to-centre loss.

use burn::config::Config;
use burn::module::Module;
use burn::nn::loss::Reduction;
use burn::prelude::*;
use burn::tensor::Int;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::LossError;

/// The Sylvester Hadamard matrix of order `k` (a power of two), rows of ±1.
///
/// # Panics
/// If `k` is not a power of two.
pub fn hadamard(k: usize) -> Vec<Vec<i8>> {
    assert!(
        k.is_power_of_two(),
        "Hadamard order must be a power of two, got {k}"
    );
    let mut h = vec![vec![1i8]];
    while h.len() < k {
        let n = h.len();
        let mut next = vec![vec![0i8; 2 * n]; 2 * n];
        for i in 0..n {
            for j in 0..n {
                next[i][j] = h[i][j];
                next[i][j + n] = h[i][j];
                next[i + n][j] = h[i][j];
                next[i + n][j + n] = -h[i][j];
            }
        }
        h = next;
    }
    h
}

/// A set of hash centres and the Hamming distances achieved between them.
#[derive(Debug, Clone, PartialEq)]
pub struct HashCentres {
    /// `num_classes × bits` entries of ±1, row-major.
    pub centres: Vec<i8>,
    /// Code length.
    pub bits: usize,
    /// The smallest pairwise Hamming distance actually achieved, computed exactly over all
    /// pairs (`bits` when there are fewer than two centres). [`hash_centres`] documents its
    /// floor; read this field to see whether a large class count pushed it below `bits/4`.
    pub min_distance: usize,
    /// Mean pairwise Hamming distance, exact (`bits` when there are fewer than two centres).
    pub mean_distance: f64,
}

impl HashCentres {
    /// Number of centres.
    pub fn num_classes(&self) -> usize {
        self.centres.len() / self.bits
    }

    /// The centres as a `[num_classes, bits]` float tensor of ±1.
    pub fn to_tensor<B: Backend>(&self, device: &B::Device) -> Tensor<B, 2> {
        let v: Vec<f32> = self.centres.iter().map(|&c| c as f32).collect();
        Tensor::from_data(TensorData::new(v, [self.num_classes(), self.bits]), device)
    }

    /// Centre of a multi-label item: bit `j` is the sign of `Σ_{l ∈ labels} c_{l,j}` (the sign
    /// of the mean of its labels' centres, i.e. a per-bit majority vote); a bit whose sum is 0
    /// (a tie, so only with an even number of labels, or no label at all) is `fill[j]`, one
    /// fixed random ±1 vector per run as in CSQ ([`random_fill`]). A single label gives its own
    /// centre; repeated labels count as many times as they are listed.
    ///
    /// # Panics
    /// If `fill.len() != bits` or a label is not below [`HashCentres::num_classes`].
    pub fn multi_label_centre(&self, labels: &[usize], fill: &[i8]) -> Vec<i8> {
        assert_eq!(
            fill.len(),
            self.bits,
            "fill vector must have {} entries",
            self.bits
        );
        let classes = self.num_classes();
        if let Some(&l) = labels.iter().find(|&&l| l >= classes) {
            panic!("label {l} is outside 0..{classes}");
        }
        (0..self.bits)
            .map(|j| {
                let s: i32 = labels
                    .iter()
                    .map(|&l| self.centres[l * self.bits + j] as i32)
                    .sum();
                match s.signum() {
                    0 => fill[j],
                    v => v as i8,
                }
            })
            .collect()
    }
}

fn pack(row: &[i8]) -> Vec<u64> {
    let mut w = vec![0u64; row.len().div_ceil(64)];
    for (j, &b) in row.iter().enumerate() {
        if b > 0 {
            w[j / 64] |= 1 << (j % 64);
        }
    }
    w
}

#[cfg(test)]
fn hamming(a: &[u64], b: &[u64]) -> usize {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x ^ y).count_ones() as usize)
        .sum()
}

/// `C(n, k)`, or `usize::MAX` when it does not fit.
fn binomial_saturating(n: usize, k: usize) -> usize {
    let (n, k) = (n as u128, k.min(n - k) as u128);
    let mut c: u128 = 1;
    for i in 1..=k {
        // c = C(n − k + i − 1, i − 1) ≤ usize::MAX, so the product fits in u128 and the
        // division is exact (it gives C(n − k + i, i)).
        c = c * (n - k + i) / i;
        if c > usize::MAX as u128 {
            return usize::MAX;
        }
    }
    c as usize
}

/// The largest `num_classes` that [`try_hash_centres`] accepts for `bits` bits: the number of
/// distinct centres it draws from, `C(bits, ⌊bits/2⌋)` vectors with exactly `⌊bits/2⌋` entries
/// −1, plus the all-(+1) and all-(−1) rows of `±H_bits` when `bits` is a power of two (the other
/// Hadamard rows are among the balanced vectors). 0 bits give 0, 1 bit gives 2; `usize::MAX`
/// when the count does not fit (from 68 bits on).
///
/// For example 8 for 4 bits, 20 for 6 bits, 12,872 for 16 bits, and about 1.8·10¹⁸ for 64 bits.
pub fn max_hash_centres(bits: usize) -> usize {
    match bits {
        0 => 0,
        1 => 2,
        k if k.is_power_of_two() => binomial_saturating(k, k / 2).saturating_add(2),
        k => binomial_saturating(k, k / 2),
    }
}

/// Smallest distance from `p` to the rows of `flat` (`p.len()` words each), or `None` as soon
/// as one is below `threshold`. Checked per block of rows, so the inner loop has no branch.
#[inline(always)]
fn scan_body(flat: &[u64], p: &[u64], threshold: u32) -> Option<u32> {
    const BLOCK: usize = 256;
    let mut best = u32::MAX;
    if let [p0] = *p {
        for block in flat.chunks(BLOCK) {
            let m = block
                .iter()
                .fold(u32::MAX, |m, &q| m.min((q ^ p0).count_ones()));
            if m < threshold {
                return None;
            }
            best = best.min(m);
        }
    } else {
        for block in flat.chunks(BLOCK * p.len()) {
            let m = block
                .chunks_exact(p.len())
                .map(|q| q.iter().zip(p).map(|(a, b)| (a ^ b).count_ones()).sum())
                .fold(u32::MAX, u32::min);
            if m < threshold {
                return None;
            }
            best = best.min(m);
        }
    }
    Some(best)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "popcnt")]
fn scan_popcnt(flat: &[u64], p: &[u64], threshold: u32) -> Option<u32> {
    scan_body(flat, p, threshold)
}

/// [`scan_body`] with the hardware popcount where the CPU has one.
fn scan(flat: &[u64], p: &[u64], threshold: u32) -> Option<u32> {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("popcnt") {
            // SAFETY: the CPU supports popcnt (checked just above).
            return unsafe { scan_popcnt(flat, p, threshold) };
        }
    }
    scan_body(flat, p, threshold)
}

/// The centres accepted so far, packed, with what the statistics need.
struct Accepted {
    bits: usize,
    /// Packed rows, `bits.div_ceil(64)` words each, contiguous.
    flat: Vec<u64>,
    rows: Vec<i8>,
    seen: std::collections::HashSet<Vec<u64>>,
    /// Number of rows with +1 at each bit (for the exact mean distance).
    plus: Vec<u64>,
    /// Smallest distance between two accepted rows (`u32::MAX` below two rows).
    min: u32,
}

impl Accepted {
    fn new(bits: usize, capacity: usize) -> Self {
        Self {
            bits,
            flat: Vec::with_capacity(capacity * bits.div_ceil(64)),
            rows: Vec::with_capacity(capacity * bits),
            seen: std::collections::HashSet::with_capacity(capacity),
            plus: vec![0; bits],
            min: u32::MAX,
        }
    }

    fn len(&self) -> usize {
        self.seen.len()
    }

    /// Whether `p` is at distance ≥ `threshold` from every row; its distance to the nearest.
    fn check(&self, p: &[u64], threshold: u32) -> Option<u32> {
        scan(&self.flat, p, threshold)
    }

    /// Add `row` (packed `p`), whose distance to the nearest accepted row is `nearest`.
    fn push(&mut self, row: &[i8], p: Vec<u64>, nearest: u32) {
        self.min = self.min.min(nearest);
        self.flat.extend_from_slice(&p);
        self.rows.extend_from_slice(row);
        for (n, &v) in self.plus.iter_mut().zip(row) {
            *n += u64::from(v > 0);
        }
        self.seen.insert(p);
    }

    /// Add `row` if it is new (distance ≥ 1 from every row).
    fn push_if_new(&mut self, row: &[i8]) -> bool {
        let p = pack(row);
        if self.seen.contains(&p) {
            return false;
        }
        let nearest = self.check(&p, 0).unwrap_or(u32::MAX);
        self.push(row, p, nearest);
        true
    }

    /// Fill up to `target` rows with the balanced vectors not yet used, in lexicographic order
    /// of the positions of their −1 entries. It skips at most `self.len()` vectors, so it ends
    /// after at most `target + self.len()` vectors; false if it ran out of vectors (only
    /// possible beyond [`max_hash_centres`]).
    fn fill_exhaustively(&mut self, target: usize) -> bool {
        let (bits, half) = (self.bits, self.bits / 2);
        let mut idx: Vec<usize> = (0..half).collect();
        let mut row = vec![1i8; bits];
        while self.len() < target {
            row.fill(1);
            for &i in &idx {
                row[i] = -1;
            }
            self.push_if_new(&row);
            // Next combination: bump the rightmost index that can move, reset those after it.
            let Some(i) = (0..half).rev().find(|&i| idx[i] < bits - half + i) else {
                return self.len() >= target;
            };
            idx[i] += 1;
            for j in i + 1..half {
                idx[j] = idx[j - 1] + 1;
            }
        }
        true
    }

    fn finish(self) -> HashCentres {
        let n = self.len() as u128;
        let pairs = n * n.saturating_sub(1) / 2;
        // Σ_{i<j} d(i, j) = Σ_bits (#(+1) · #(−1)).
        let total: u128 = self.plus.iter().map(|&p| p as u128 * (n - p as u128)).sum();
        HashCentres {
            centres: self.rows,
            bits: self.bits,
            min_distance: if pairs == 0 {
                self.bits
            } else {
                self.min as usize
            },
            mean_distance: if pairs == 0 {
                self.bits as f64
            } else {
                total as f64 / pairs as f64
            },
        }
    }
}

/// Consecutive rejections before the distance threshold is lowered.
const PATIENCE: usize = 1000;

/// Hash centres for `num_classes` classes and `bits` bits, seeded; see [`try_hash_centres`].
///
/// # Panics
/// If `bits` is 0 or `num_classes > max_hash_centres(bits)` (the message gives both numbers);
/// [`try_hash_centres`] returns these as a [`LossError`] instead.
pub fn hash_centres(num_classes: usize, bits: usize, seed: u64) -> HashCentres {
    try_hash_centres(num_classes, bits, seed).unwrap_or_else(|e| panic!("{e}"))
}

/// Hash centres for `num_classes` classes and `bits` bits, seeded.
///
/// - `bits` a power of two: rows of the Hadamard matrix `H_bits` and of `−H_bits` (pairwise
///   distances `bits/2`, or `bits` between a row and its negation) for the first `2·bits`
///   classes; Bernoulli centres for the rest.
/// - otherwise Bernoulli centres: random vectors with exactly `⌊bits/2⌋` entries −1, accepted
///   when their distance to every accepted centre is at least the threshold `max(bits/4, 1)`
///   (the DeepHash-pytorch rule); after 1,000 rejections in a row the threshold is lowered by
///   one, never below 1.
///
/// **Minimum distance.** The centres are always distinct, and from 3 bits on all pairwise
/// distances are even, so `min_distance ≥ 2` whenever there are Bernoulli centres (it is
/// exactly `bits/2` for two or more Hadamard centres alone, from 2 bits on). The threshold `max(bits/4, 1)` is the floor for as long as it is not
/// lowered, i.e. until 1,000 draws in a row fail, which happens only when the class count nears
/// the number of centres that fit at that distance: 40,000 classes at 64 bits keep
/// `min_distance ≥ 16`, while at 16 bits the threshold of 4 gives out somewhere between 500 and
/// 2,000 classes (2,000 classes reach 2). The distance actually achieved is
/// [`HashCentres::min_distance`] (exact, over all pairs): check it when the class count is large
/// for the code length.
///
/// **Termination.** Once the threshold is 1 and another 1,000 draws in a row were duplicates
/// (the balanced vectors are nearly used up), the remaining centres are the unused balanced
/// vectors in lexicographic order, so generation always ends, even at
/// `num_classes = max_hash_centres(bits)`. Up to that point the output is that of the plain
/// rejection loop, draw for draw.
///
/// **Cost.** A candidate is compared with every accepted centre (packed `u64` words, hardware
/// popcount where available), and the statistics come from the same scans, so the work is
/// about `num_classes²/2` popcounts: 40,000 classes at 64 bits take about half a second even
/// at `opt-level = 1` (the former loop, which also rescanned every pair for the statistics,
/// took 6.5 s there). Once the threshold is at most 2 a duplicate is found with a hash set.
///
/// # Errors
/// [`LossError::ZeroBits`] for `bits = 0`; [`LossError::TooManyCentres`] when `num_classes`
/// exceeds [`max_hash_centres`]`(bits)`, the number of distinct centres (e.g. 9 classes at 4
/// bits, 12,873 at 16 bits).
pub fn try_hash_centres(
    num_classes: usize,
    bits: usize,
    seed: u64,
) -> Result<HashCentres, LossError> {
    if bits == 0 {
        return Err(LossError::ZeroBits { bits });
    }
    let max = max_hash_centres(bits);
    if num_classes > max {
        return Err(LossError::TooManyCentres {
            num_classes,
            bits,
            max,
        });
    }
    let mut acc = Accepted::new(bits, num_classes);
    if bits.is_power_of_two() && num_classes > 0 {
        let h = hadamard(bits);
        let negated = h
            .iter()
            .take(num_classes.saturating_sub(bits))
            .map(|r| r.iter().map(|&v| -v).collect::<Vec<i8>>());
        for r in h.iter().take(num_classes).cloned().chain(negated) {
            let added = acc.push_if_new(&r);
            debug_assert!(added, "Hadamard rows are distinct");
        }
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut threshold = (bits / 4).max(1);
    let mut rejections = 0;
    let mut base: Vec<i8> = (0..bits)
        .map(|j| if j < bits / 2 { -1 } else { 1 })
        .collect();
    while acc.len() < num_classes {
        if threshold == 1 && rejections >= PATIENCE {
            if !acc.fill_exhaustively(num_classes) {
                return Err(LossError::TooManyCentres {
                    num_classes,
                    bits,
                    max,
                });
            }
            break;
        }
        base.shuffle(&mut rng);
        let p = pack(&base);
        // All distances between the rows here are even (every row has 0, ⌊bits/2⌋ or `bits`
        // entries −1, and bits/2 is even when a Hadamard row joins a balanced one), so a
        // threshold of at most 2 only asks for a new vector.
        let nearest = if threshold <= 2 {
            (!acc.seen.contains(&p)).then(|| acc.check(&p, 0).unwrap_or(u32::MAX))
        } else {
            acc.check(&p, threshold as u32)
        };
        match nearest {
            Some(d) => {
                acc.push(&base, p, d);
                rejections = 0;
            }
            None => {
                rejections += 1;
                if rejections >= PATIENCE && threshold > 1 {
                    threshold -= 1;
                    rejections = 0;
                }
            }
        }
    }
    Ok(acc.finish())
}

/// The fixed random ±1 vector that fills the tied entries of multi-label centres
/// ([`HashCentres::multi_label_centre`]): `bits` independent fair ±1 draws from ChaCha8 seeded
/// with `seed`, so the same seed gives the same vector on every platform. Draw it once per run.
pub fn random_fill(bits: usize, seed: u64) -> Vec<i8> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..bits)
        .map(|_| if rng.random::<bool>() { 1 } else { -1 })
        .collect()
}

/// Configuration of [`CsqLoss`].
#[derive(Config, Debug)]
pub struct CsqLossConfig {
    /// Weight λ of the quantisation term mean((|u| − 1)²) (1e-4 as in DeepHash-pytorch; the
    /// official code uses 0.05 for ResNet-50).
    #[config(default = 1e-4)]
    pub lambda: f64,
    /// Batch reduction of [`CsqLoss::forward`] (mean by default).
    #[config(default = "Reduction::Mean")]
    pub reduction: Reduction,
}

impl CsqLossConfig {
    /// Build the loss.
    ///
    /// # Panics
    /// If λ is negative or not finite.
    pub fn init(&self) -> CsqLoss {
        assert!(
            self.lambda >= 0.0 && self.lambda.is_finite(),
            "lambda must be non-negative and finite, got {}",
            self.lambda
        );
        CsqLoss {
            lambda: self.lambda,
            reduction: self.reduction.clone(),
        }
    }
}

/// CSQ loss on the **pre-tanh** hash output `z` (u = tanh z):
/// `BCE(½(u+1), ½(c+1)) + λ·mean((|u|−1)²)`, with the BCE computed exactly and stably as
/// `softplus(2z) − 2z·t` (since ½(tanh z + 1) = sigmoid(2z)), averaged over bits.
#[derive(Module, Debug, Clone)]
pub struct CsqLoss {
    lambda: f64,
    #[module(skip)]
    reduction: Reduction,
}

impl CsqLoss {
    /// Per-sample losses given each sample's target centre (`[batch, bits]` of ±1).
    ///
    /// # Shapes
    /// - `z`: `[batch, bits]`, `target_centres`: `[batch, bits]` → `[batch]`
    pub fn forward_no_reduction<B: Backend>(
        &self,
        z: Tensor<B, 2>,
        target_centres: Tensor<B, 2>,
    ) -> Tensor<B, 1> {
        let [batch, _] = z.dims();
        let t = target_centres.add_scalar(1.0).mul_scalar(0.5);
        let z2 = z.clone().mul_scalar(2.0);
        let bce = (crate::stable_softplus(z2.clone()) - z2 * t)
            .mean_dim(1)
            .reshape([batch]);
        let u = z.tanh();
        let quant = u
            .abs()
            .sub_scalar(1.0)
            .powi_scalar(2)
            .mean_dim(1)
            .reshape([batch]);
        bce + quant.mul_scalar(self.lambda)
    }

    /// The batch loss (reduced as configured, mean by default), with class targets looked up in
    /// `centres` (`[num_classes, bits]` of ±1, e.g. [`HashCentres::to_tensor`]). For multi-label
    /// data build the per-sample centres with [`HashCentres::multi_label_centre`] and call
    /// [`CsqLoss::forward_no_reduction`].
    ///
    /// # Shapes
    /// - `z`: `[batch, bits]`, `targets`: `[batch]`, `centres`: `[num_classes, bits]` → `[1]`
    pub fn forward<B: Backend>(
        &self,
        z: Tensor<B, 2>,
        targets: Tensor<B, 1, Int>,
        centres: Tensor<B, 2>,
    ) -> Tensor<B, 1> {
        let c = centres.select(0, targets);
        crate::dcwh::reduce(self.forward_no_reduction(z, c), &self.reduction)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;

    #[test]
    fn hadamard_rows_are_orthogonal() {
        let h = hadamard(16);
        for i in 0..16 {
            for j in 0..16 {
                let dot: i32 = (0..16).map(|k| h[i][k] as i32 * h[j][k] as i32).sum();
                assert_eq!(dot, if i == j { 16 } else { 0 });
            }
        }
    }

    /// The generator before it was bounded and sped up (`Vec<Vec<_>>` rows, every pair scanned
    /// again for the statistics): the new one must give the same centres, draw for draw.
    fn plain_rejection_loop(num_classes: usize, bits: usize, seed: u64) -> HashCentres {
        let mut rows: Vec<Vec<i8>> = Vec::new();
        if bits.is_power_of_two() {
            let h = hadamard(bits);
            rows.extend(h.iter().take(num_classes).cloned());
            for r in h.iter().take(num_classes.saturating_sub(bits)) {
                rows.push(r.iter().map(|&v| -v).collect());
            }
        }
        let mut packed: Vec<Vec<u64>> = rows.iter().map(|r| pack(r)).collect();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut threshold = (bits / 4).max(1);
        let mut rejections = 0;
        let mut base: Vec<i8> = (0..bits)
            .map(|j| if j < bits / 2 { -1 } else { 1 })
            .collect();
        while rows.len() < num_classes {
            base.shuffle(&mut rng);
            let p = pack(&base);
            if packed.iter().all(|q| hamming(q, &p) >= threshold) {
                rows.push(base.clone());
                packed.push(p);
                rejections = 0;
            } else {
                rejections += 1;
                assert!(rejections < 100_000, "reference loop stuck");
                if rejections >= 1000 && threshold > 1 {
                    threshold -= 1;
                    rejections = 0;
                }
            }
        }
        let (min_distance, mean_distance) = brute_force_stats(&packed, bits);
        HashCentres {
            centres: rows.concat(),
            bits,
            min_distance,
            mean_distance,
        }
    }

    fn brute_force_stats(packed: &[Vec<u64>], bits: usize) -> (usize, f64) {
        let (mut min_d, mut sum, mut pairs) = (usize::MAX, 0f64, 0usize);
        for i in 0..packed.len() {
            for j in i + 1..packed.len() {
                let d = hamming(&packed[i], &packed[j]);
                min_d = min_d.min(d);
                sum += d as f64;
                pairs += 1;
            }
        }
        if pairs == 0 {
            (bits, bits as f64)
        } else {
            (min_d, sum / pairs as f64)
        }
    }

    fn assert_distinct(c: &HashCentres) {
        let rows: std::collections::HashSet<&[i8]> = c.centres.chunks(c.bits).collect();
        assert_eq!(
            rows.len(),
            c.num_classes(),
            "{} bits: repeated centre",
            c.bits
        );
        assert!(c.centres.iter().all(|&v| v == 1 || v == -1));
    }

    #[test]
    fn centres_distance_guarantees() {
        let c = hash_centres(100, 64, 0);
        assert_eq!(c.num_classes(), 100);
        assert_eq!(c.min_distance, 32);
        let c = hash_centres(100, 48, 0);
        assert!(c.min_distance >= 12, "{}", c.min_distance);
        assert!(c.mean_distance > 20.0);
        // Every Bernoulli centre is balanced.
        for row in c.centres.chunks(48) {
            assert_eq!(row.iter().filter(|&&v| v < 0).count(), 24);
        }
    }

    #[test]
    fn same_centres_as_the_plain_rejection_loop() {
        // Hadamard only, Hadamard + Bernoulli, Bernoulli without and with a lowered threshold
        // (12 and 16 bits), odd length.
        for (c, bits, seed) in [
            (20, 32, 0),
            (200, 64, 4),
            (100, 48, 0),
            (500, 20, 3),
            (300, 12, 1),
            (2000, 16, 2),
            (30, 7, 5),
        ] {
            let ours = hash_centres(c, bits, seed);
            assert_eq!(ours, plain_rejection_loop(c, bits, seed), "{c} × {bits}");
        }
    }

    #[test]
    fn min_and_mean_distance_are_exact() {
        for (c, bits, seed) in [(3000, 64, 1), (2000, 16, 2), (700, 100, 3), (1, 8, 0)] {
            let ours = hash_centres(c, bits, seed);
            let packed: Vec<Vec<u64>> = ours.centres.chunks(bits).map(pack).collect();
            let (min_d, mean) = brute_force_stats(&packed, bits);
            assert_eq!(ours.min_distance, min_d, "{c} × {bits}");
            assert_eq!(ours.mean_distance, mean, "{c} × {bits}");
        }
        // The 16-bit threshold of 4 holds for the first classes only, and the drop is visible.
        assert_eq!(hash_centres(500, 16, 2).min_distance, 4);
        assert_eq!(hash_centres(2000, 16, 2).min_distance, 2);
    }

    #[test]
    fn forty_thousand_classes_at_64_bits() {
        let c = hash_centres(40_000, 64, 3);
        assert_eq!(c.num_classes(), 40_000);
        assert_distinct(&c);
        // The documented floor: the starting threshold bits/4 is never lowered here.
        assert!(c.min_distance >= 16, "{}", c.min_distance);
        assert!((c.mean_distance - 32.0).abs() < 0.05, "{}", c.mean_distance);
        // 128 Hadamard rows (±H_64), then balanced Bernoulli centres.
        let h = hadamard(64);
        assert_eq!(&c.centres[64..128], &h[1][..]);
        for row in c.centres.chunks(64).skip(128) {
            assert_eq!(row.iter().filter(|&&v| v < 0).count(), 32);
        }
    }

    #[test]
    fn max_hash_centres_counts_the_distinct_centres() {
        assert_eq!(max_hash_centres(0), 0);
        assert_eq!(max_hash_centres(1), 2);
        assert_eq!(max_hash_centres(2), 4);
        assert_eq!(max_hash_centres(3), 3);
        assert_eq!(max_hash_centres(4), 8);
        assert_eq!(max_hash_centres(6), 20);
        assert_eq!(max_hash_centres(16), 12_872);
        assert_eq!(max_hash_centres(64), 1_832_624_140_942_590_534 + 2);
        assert_eq!(max_hash_centres(67), 14_226_520_737_620_288_370);
        assert_eq!(max_hash_centres(68), usize::MAX);
        assert_eq!(max_hash_centres(1000), usize::MAX);
        // Every length up to 12 reaches its bound (the exhaustive fill ends the loop) and
        // fails one past it.
        for bits in 1..=12 {
            let max = max_hash_centres(bits);
            let c = try_hash_centres(max, bits, bits as u64).unwrap();
            assert_eq!(c.num_classes(), max);
            assert_distinct(&c);
            assert!(c.min_distance >= 1);
            assert_eq!(
                try_hash_centres(max + 1, bits, 0),
                Err(LossError::TooManyCentres {
                    num_classes: max + 1,
                    bits,
                    max
                })
            );
        }
    }

    #[test]
    fn sixteen_bits_reach_their_bound() {
        let c = try_hash_centres(12_872, 16, 0).unwrap();
        assert_eq!(c.num_classes(), 12_872);
        assert_distinct(&c);
        assert_eq!(c.min_distance, 2);
        assert!(try_hash_centres(12_873, 16, 0).is_err());
    }

    #[test]
    fn too_many_classes_is_an_error_with_the_numbers() {
        let e = try_hash_centres(9, 4, 0).unwrap_err();
        assert_eq!(
            e,
            LossError::TooManyCentres {
                num_classes: 9,
                bits: 4,
                max: 8
            }
        );
        let msg = e.to_string();
        assert!(
            msg.contains("9 distinct 4-bit") && msg.contains("at most 8"),
            "{msg}"
        );
        assert_eq!(
            try_hash_centres(3, 0, 0),
            Err(LossError::ZeroBits { bits: 0 })
        );
        assert_eq!(try_hash_centres(0, 5, 0).unwrap().num_classes(), 0);
    }

    #[test]
    #[should_panic(expected = "cannot build 9 distinct 4-bit hash centres: at most 8 exist")]
    fn hash_centres_panics_beyond_the_bound() {
        hash_centres(9, 4, 0);
    }

    #[test]
    fn multi_label_centre_is_the_majority_with_fill_on_ties() {
        let c = hash_centres(8, 8, 0);
        let row = |l: usize| &c.centres[l * 8..(l + 1) * 8];
        let fill = random_fill(8, 1);
        let neg: Vec<i8> = fill.iter().map(|&v| -v).collect();
        for l in 0..8 {
            assert_eq!(c.multi_label_centre(&[l], &fill), row(l));
        }
        // Two labels: where they agree, their common value; where they differ (a tie), fill.
        let (a, b) = (row(2), row(5));
        let got = c.multi_label_centre(&[2, 5], &fill);
        let got_neg = c.multi_label_centre(&[2, 5], &neg);
        let mut ties = 0;
        for j in 0..8 {
            if a[j] == b[j] {
                assert_eq!((got[j], got_neg[j]), (a[j], a[j]), "bit {j}");
            } else {
                assert_eq!((got[j], got_neg[j]), (fill[j], neg[j]), "bit {j}");
                ties += 1;
            }
        }
        assert_eq!(ties, 4); // Hadamard rows differ in bits/2 places.
        // Three labels never tie: the sign of the sum, whatever the fill.
        let three = c.multi_label_centre(&[1, 3, 6], &fill);
        assert_eq!(three, c.multi_label_centre(&[1, 3, 6], &neg));
        for (j, &v) in three.iter().enumerate() {
            let s: i32 = [1, 3, 6].iter().map(|&l| row(l)[j] as i32).sum();
            assert_eq!(v as i32, s.signum(), "bit {j}");
        }
        // A label listed twice outvotes a single one; no label at all is the fill.
        assert_eq!(c.multi_label_centre(&[4, 4, 7], &fill), row(4));
        assert_eq!(c.multi_label_centre(&[], &fill), fill);
    }

    #[test]
    #[should_panic(expected = "label 8 is outside 0..8")]
    fn multi_label_centre_rejects_unknown_labels() {
        hash_centres(8, 8, 0).multi_label_centre(&[1, 8], &[1; 8]);
    }

    #[test]
    #[should_panic(expected = "fill vector must have 8 entries")]
    fn multi_label_centre_rejects_a_short_fill() {
        hash_centres(8, 8, 0).multi_label_centre(&[1], &[1; 7]);
    }

    #[test]
    fn random_fill_is_seeded_fair_and_sized() {
        assert_eq!(random_fill(4096, 7), random_fill(4096, 7));
        assert_ne!(random_fill(64, 7), random_fill(64, 8));
        assert!(random_fill(0, 7).is_empty());
        let f = random_fill(10_000, 3);
        assert_eq!(f.len(), 10_000);
        assert!(f.iter().all(|&v| v == 1 || v == -1));
        let plus = f.iter().filter(|&&v| v == 1).count();
        assert!((4_800..=5_200).contains(&plus), "{plus}");
        // A prefix of a longer fill (one draw per bit).
        assert_eq!(&random_fill(100, 3)[..], &f[..100]);
        // The stream is pinned: a change of RNG would change every multi-label target.
        assert_eq!(random_fill(16, 0), PINNED_FILL_16_SEED_0.to_vec());
    }

    const PINNED_FILL_16_SEED_0: [i8; 16] = [1, 1, 1, -1, 1, 1, 1, -1, -1, 1, 1, 1, -1, 1, 1, 1];

    #[test]
    fn shipped_csq_centres_have_our_hadamard_structure() {
        let dir = std::env::var("LTHNET_DATA_DIR").unwrap_or_else(|_| {
            concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data").to_string()
        });
        let path = std::path::Path::new(&dir).join("csq-hash-centers/64_imagenet_100_class.npy");
        let Ok(bytes) = std::fs::read(&path) else {
            eprintln!(
                "skipping: {} not found (set LTHNET_DATA_DIR)",
                path.display()
            );
            return;
        };
        // int8 (100, 64) .npy: the data is the last 6400 bytes.
        let data = &bytes[bytes.len() - 6400..];
        let theirs: Vec<Vec<u64>> = data
            .chunks(64)
            .map(|r| pack(&r.iter().map(|&b| b as i8).collect::<Vec<_>>()))
            .collect();
        let ours = hash_centres(100, 64, 0);
        let ours: Vec<Vec<u64>> = ours.centres.chunks(64).map(pack).collect();
        let stats = |p: &[Vec<u64>]| {
            let mut hist = std::collections::BTreeMap::new();
            for i in 0..p.len() {
                for j in i + 1..p.len() {
                    *hist.entry(hamming(&p[i], &p[j])).or_insert(0usize) += 1;
                }
            }
            hist
        };
        assert_eq!(stats(&theirs), stats(&ours));
    }

    #[test]
    fn bce_is_stable_and_correct() {
        let d = Default::default();
        let z = Tensor::<Flex, 2>::from_data(
            TensorData::new(vec![0.3f32, -1.2, 1e4, -1e4], [2, 2]),
            &d,
        );
        let c = Tensor::<Flex, 2>::from_data(
            TensorData::new(vec![1.0f32, -1.0, -1.0, 1.0], [2, 2]),
            &d,
        );
        let v = CsqLossConfig::new()
            .with_lambda(0.0)
            .init()
            .forward_no_reduction(z, c)
            .into_data()
            .to_vec::<f32>()
            .unwrap();
        // Sample 0: BCE(sigmoid(0.6), 1) and BCE(sigmoid(-2.4), 0).
        let sp = |x: f64| x.max(0.0) + (-x.abs()).exp().ln_1p();
        let want0 = ((sp(0.6) - 0.6) + sp(-2.4)) / 2.0;
        assert!((v[0] as f64 - want0).abs() < 1e-6, "{v:?}");
        // Sample 1: confidently wrong on both bits: ≈ 2·1e4 per bit.
        assert!(v[1].is_finite() && (v[1] - 2e4).abs() < 1.0, "{v:?}");
    }
}
