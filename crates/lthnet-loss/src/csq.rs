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
    /// Smallest pairwise Hamming distance.
    pub min_distance: usize,
    /// Mean pairwise Hamming distance.
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

    /// Centre of a multi-label item: `sgn` of the mean of its labels' centres; entries that come
    /// out 0 are taken from `fill` (one fixed random ±1 vector per run, as CSQ does).
    pub fn multi_label_centre(&self, labels: &[usize], fill: &[i8]) -> Vec<i8> {
        assert_eq!(
            fill.len(),
            self.bits,
            "fill vector must have {} entries",
            self.bits
        );
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

fn hamming(a: &[u64], b: &[u64]) -> usize {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x ^ y).count_ones() as usize)
        .sum()
}

/// Hash centres for `num_classes` classes and `bits` bits, seeded.
///
/// - `bits` a power of two: rows of the Hadamard matrix `H_bits` and of `−H_bits` (pairwise
///   distances `bits/2`, or `bits` between a row and its negation) for the first `2·bits`
///   classes; Bernoulli centres for the rest.
/// - otherwise Bernoulli centres: random vectors with exactly `bits/2` entries −1, accepted when
///   their distance to every accepted centre is at least `bits/4` (the DeepHash-pytorch rule);
///   after 1,000 rejections in a row the threshold is lowered by one. Distances use packed `u64`
///   popcounts, so 10,000+ classes take well under a second.
pub fn hash_centres(num_classes: usize, bits: usize, seed: u64) -> HashCentres {
    assert!(bits > 0, "bits must be positive");
    let mut rows: Vec<Vec<i8>> = Vec::with_capacity(num_classes);
    if bits.is_power_of_two() {
        let h = hadamard(bits);
        for r in h.iter().take(num_classes) {
            rows.push(r.clone());
        }
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
            if rejections >= 1000 && threshold > 1 {
                threshold -= 1;
                rejections = 0;
            }
        }
    }
    let (mut min_d, mut sum, mut pairs) = (usize::MAX, 0f64, 0usize);
    for i in 0..packed.len() {
        for j in i + 1..packed.len() {
            let d = hamming(&packed[i], &packed[j]);
            min_d = min_d.min(d);
            sum += d as f64;
            pairs += 1;
        }
    }
    HashCentres {
        centres: rows.concat(),
        bits,
        min_distance: if pairs == 0 { bits } else { min_d },
        mean_distance: if pairs == 0 {
            bits as f64
        } else {
            sum / pairs as f64
        },
    }
}

/// The fixed random ±1 vector that fills the zero entries of multi-label centres
/// ([`HashCentres::multi_label_centre`]): draw it once per run, seeded.
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
    fn many_classes_are_fast_enough_and_distinct() {
        let c = hash_centres(10_000, 64, 3);
        assert_eq!(c.num_classes(), 10_000);
        assert!(c.min_distance >= 8, "{}", c.min_distance);
    }

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
