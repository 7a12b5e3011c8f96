//! # lthnet-baselines
//!
//! The shallow, unsupervised hashing baselines of the LTHNet paper's tables, fitted on a feature
//! matrix (the same backbone features LTHNet uses) and producing ±1 codes:
//!
//! - [`Lsh`]: sign of random Gaussian projections of the centred features (Charikar 2002).
//! - [`Pcah`]: sign of the top principal components (Wang et al. 2010).
//! - [`Itq`]: PCA followed by the iterative quantisation rotation (Gong & Lazebnik, CVPR 2011).
//!
//! Matrices are row-major `f32` slices of `n × d`. Fitting is seeded and deterministic.
//!
//! ```
//! use lthnet_baselines::{HashFit, Itq, ItqConfig};
//! // 6 points in 3-d, 2 bits.
//! let x = [1.0, 0.1, 0.0,  0.9, 0.0, 0.1,  1.1, 0.1, 0.1,
//!          -1.0, 0.0, 0.1, -0.9, 0.1, 0.0, -1.1, 0.0, 0.0f32];
//! let itq = Itq::fit(&ItqConfig::new(2), &x, 3);
//! let codes = itq.encode(&x, 3);
//! assert_eq!(codes.len(), 6 * 2);
//! assert!(codes.iter().all(|&b| b == 1.0 || b == -1.0));
//! // The two clusters get different codes.
//! assert_ne!(codes[0..2], codes[10..12]);
//! ```

use nalgebra::{DMatrix, DVector, SymmetricEigen};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

/// A fitted linear hash function `b = sgn((x − mean)·W)` with sgn(0) = +1.
pub trait HashFit {
    /// Code length.
    fn num_bits(&self) -> usize;

    /// Encode `x` (`n × d`, row-major) into ±1 codes (`n × num_bits`, row-major, as `f32`).
    ///
    /// # Panics
    /// If `x.len()` is not a multiple of `d` or `d` differs from the fitted dimension.
    fn encode(&self, x: &[f32], d: usize) -> Vec<f32>;
}

/// A centred linear projection, shared by the three methods.
#[derive(Debug, Clone)]
struct Projection {
    mean: DVector<f64>,
    /// `d × bits`
    w: DMatrix<f64>,
}

impl Projection {
    fn encode(&self, x: &[f32], d: usize) -> Vec<f32> {
        assert_eq!(
            d,
            self.mean.len(),
            "fitted on d = {}, got d = {d}",
            self.mean.len()
        );
        assert!(
            x.len().is_multiple_of(d),
            "x has {} values, not a multiple of d = {d}",
            x.len()
        );
        let bits = self.w.ncols();
        let n = x.len() / d;
        let mut out = Vec::with_capacity(n * bits);
        for row in x.chunks_exact(d) {
            for j in 0..bits {
                let mut s = 0.0f64;
                for (i, &v) in row.iter().enumerate() {
                    s += (v as f64 - self.mean[i]) * self.w[(i, j)];
                }
                out.push(if s >= 0.0 { 1.0 } else { -1.0 });
            }
        }
        out
    }
}

fn to_matrix(x: &[f32], d: usize) -> DMatrix<f64> {
    assert!(d > 0, "feature dimension must be positive");
    assert!(
        x.len().is_multiple_of(d),
        "x has {} values, not a multiple of d = {d}",
        x.len()
    );
    let n = x.len() / d;
    assert!(n > 0, "cannot fit on an empty matrix");
    DMatrix::from_row_iterator(n, d, x.iter().map(|&v| v as f64))
}

fn centre(m: &mut DMatrix<f64>) -> DVector<f64> {
    let n = m.nrows() as f64;
    let mean = DVector::from_iterator(m.ncols(), m.column_iter().map(|c| c.sum() / n));
    for (j, mut col) in m.column_iter_mut().enumerate() {
        col.add_scalar_mut(-mean[j]);
    }
    mean
}

/// Top-`bits` principal directions (`d × bits`), largest eigenvalue first.
fn principal_directions(xc: &DMatrix<f64>, bits: usize) -> DMatrix<f64> {
    let d = xc.ncols();
    assert!(
        bits <= d,
        "PCA-based hashing needs num_bits ≤ d, got {bits} bits for d = {d}"
    );
    let cov = xc.transpose() * xc;
    let eig = SymmetricEigen::new(cov);
    let mut order: Vec<usize> = (0..d).collect();
    order.sort_by(|&a, &b| {
        eig.eigenvalues[b]
            .total_cmp(&eig.eigenvalues[a])
            .then(a.cmp(&b))
    });
    let mut w = DMatrix::zeros(d, bits);
    for (j, &k) in order.iter().take(bits).enumerate() {
        let mut v = eig.eigenvectors.column(k).clone_owned();
        // Fix the sign for determinism: largest-magnitude entry positive.
        let (imax, _) = v.iter().enumerate().fold((0, 0.0f64), |acc, (i, &x)| {
            if x.abs() > acc.1 { (i, x.abs()) } else { acc }
        });
        if v[imax] < 0.0 {
            v.neg_mut();
        }
        w.set_column(j, &v);
    }
    w
}

fn gaussian_matrix(rows: usize, cols: usize, seed: u64) -> DMatrix<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    DMatrix::from_fn(rows, cols, |_, _| StandardNormal.sample(&mut rng))
}

macro_rules! config {
    ($(#[$doc:meta])* $name:ident, $seed:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
        pub struct $name {
            /// Code length.
            pub num_bits: usize,
            /// Seed of the random parts.
            pub seed: u64,
        }

        impl $name {
            /// A configuration with `num_bits` bits and the default seed.
            pub fn new(num_bits: usize) -> Self {
                Self { num_bits, seed: $seed }
            }

            /// Set the seed.
            pub fn with_seed(mut self, seed: u64) -> Self {
                self.seed = seed;
                self
            }
        }
    };
}

config!(
    /// Configuration of [`Lsh`].
    LshConfig,
    0
);
config!(
    /// Configuration of [`Pcah`] (it has no random part; the seed is unused).
    PcahConfig,
    0
);

/// Configuration of [`Itq`].
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ItqConfig {
    /// Code length (≤ feature dimension).
    pub num_bits: usize,
    /// Seed of the initial random rotation.
    pub seed: u64,
    /// Iterations of the rotation update (50 in the paper).
    pub iterations: usize,
}

impl ItqConfig {
    /// `num_bits` bits, seed 0, 50 iterations.
    pub fn new(num_bits: usize) -> Self {
        Self {
            num_bits,
            seed: 0,
            iterations: 50,
        }
    }

    /// Set the seed.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
}

/// Locality-sensitive hashing: `sgn((x − mean)·W)` with Gaussian `W`.
#[derive(Debug, Clone)]
pub struct Lsh(Projection);

impl Lsh {
    /// Fit on `x` (`n × d`): only the mean is learned.
    pub fn fit(config: &LshConfig, x: &[f32], d: usize) -> Self {
        assert!(config.num_bits > 0, "num_bits must be positive");
        let mut m = to_matrix(x, d);
        let mean = centre(&mut m);
        Lsh(Projection {
            mean,
            w: gaussian_matrix(d, config.num_bits, config.seed),
        })
    }
}

/// PCA hashing: `sgn((x − mean)·P)` with the top principal directions `P`.
#[derive(Debug, Clone)]
pub struct Pcah(Projection);

impl Pcah {
    /// Fit on `x` (`n × d`).
    ///
    /// # Panics
    /// If `num_bits > d`.
    pub fn fit(config: &PcahConfig, x: &[f32], d: usize) -> Self {
        assert!(config.num_bits > 0, "num_bits must be positive");
        let mut m = to_matrix(x, d);
        let mean = centre(&mut m);
        let w = principal_directions(&m, config.num_bits);
        Pcah(Projection { mean, w })
    }
}

/// Iterative quantisation: PCA to `num_bits` dimensions, then the orthogonal rotation `R`
/// minimising the quantisation error ‖B − V R‖², found by alternating
/// `B = sgn(V R)` and `R = Ŝ Sᵀ` from the SVD `Bᵀ V = S Ω Ŝᵀ`.
#[derive(Debug, Clone)]
pub struct Itq {
    proj: Projection,
    /// Quantisation error ‖B − V R‖²/n after each iteration (non-increasing).
    pub quantisation_error: Vec<f64>,
}

impl Itq {
    /// Fit on `x` (`n × d`).
    ///
    /// # Panics
    /// If `num_bits > d`.
    pub fn fit(config: &ItqConfig, x: &[f32], d: usize) -> Self {
        assert!(config.num_bits > 0, "num_bits must be positive");
        let mut m = to_matrix(x, d);
        let mean = centre(&mut m);
        let p = principal_directions(&m, config.num_bits);
        let v = &m * &p;
        let n = v.nrows() as f64;
        // Random orthogonal initial rotation: Q of a Gaussian matrix.
        let g = gaussian_matrix(config.num_bits, config.num_bits, config.seed);
        let mut r = g.qr().q();
        let mut errors = Vec::with_capacity(config.iterations);
        for _ in 0..config.iterations {
            let vr = &v * &r;
            let b = vr.map(|z| if z >= 0.0 { 1.0 } else { -1.0 });
            errors.push((&b - &vr).norm_squared() / n);
            let c = b.transpose() * &v; // bits × bits
            let svd = c.svd(true, true);
            let (u, vt) = (svd.u.expect("u"), svd.v_t.expect("v_t"));
            // R = Ŝ Sᵀ with C = S Ω Ŝᵀ  ⇒  R = vtᵀ uᵀ.
            r = vt.transpose() * u.transpose();
        }
        Itq {
            proj: Projection { mean, w: p * r },
            quantisation_error: errors,
        }
    }
}

macro_rules! impl_fit {
    ($t:ty, $($field:tt)+) => {
        impl HashFit for $t {
            fn num_bits(&self) -> usize {
                self.$($field)+.w.ncols()
            }
            fn encode(&self, x: &[f32], d: usize) -> Vec<f32> {
                self.$($field)+.encode(x, d)
            }
        }
    };
}
impl_fit!(Lsh, 0);
impl_fit!(Pcah, 0);
impl_fit!(Itq, proj);

#[cfg(test)]
mod tests {
    use super::*;

    fn blobs(n_per: usize, d: usize, seed: u64) -> (Vec<f32>, Vec<u32>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut x = Vec::new();
        let mut y = Vec::new();
        for c in 0..4u32 {
            for _ in 0..n_per {
                for j in 0..d {
                    let centre = if j as u32 % 4 == c { 3.0 } else { 0.0 };
                    let z: f64 = StandardNormal.sample(&mut rng);
                    x.push((centre + 0.3 * z) as f32);
                }
                y.push(c);
            }
        }
        (x, y)
    }

    #[test]
    fn itq_error_decreases_and_codes_are_signs() {
        let (x, _) = blobs(50, 16, 1);
        let itq = Itq::fit(&ItqConfig::new(8), &x, 16);
        let e = &itq.quantisation_error;
        assert!(e.windows(2).all(|w| w[1] <= w[0] + 1e-9), "{e:?}");
        assert!(e.last().unwrap() < &e[0]);
        let codes = itq.encode(&x, 16);
        assert_eq!(codes.len(), 200 * 8);
        assert!(codes.iter().all(|&b| b == 1.0 || b == -1.0));
    }

    #[test]
    fn pcah_directions_are_orthonormal_and_deterministic() {
        let (x, _) = blobs(30, 12, 2);
        let a = Pcah::fit(&PcahConfig::new(5), &x, 12);
        let b = Pcah::fit(&PcahConfig::new(5), &x, 12);
        let wtw = a.0.w.transpose() * &a.0.w;
        assert!((wtw - DMatrix::<f64>::identity(5, 5)).abs().max() < 1e-9);
        assert_eq!(a.encode(&x, 12), b.encode(&x, 12));
    }

    #[test]
    fn lsh_is_seeded() {
        let (x, _) = blobs(10, 8, 3);
        let a = Lsh::fit(&LshConfig::new(16).with_seed(7), &x, 8).encode(&x, 8);
        let b = Lsh::fit(&LshConfig::new(16).with_seed(7), &x, 8).encode(&x, 8);
        let c = Lsh::fit(&LshConfig::new(16).with_seed(8), &x, 8).encode(&x, 8);
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn codes_separate_clusters() {
        // Same-cluster items must be closer in Hamming distance than cross-cluster ones, on average.
        let (x, y) = blobs(25, 16, 4);
        for codes in [
            Itq::fit(&ItqConfig::new(16), &x, 16).encode(&x, 16),
            Pcah::fit(&PcahConfig::new(4), &x, 16).encode(&x, 16),
        ] {
            let bits = codes.len() / y.len();
            let (mut same, mut ns, mut diff, mut nd) = (0.0, 0, 0.0, 0);
            for i in 0..y.len() {
                for j in 0..y.len() {
                    let h = (0..bits)
                        .filter(|&k| codes[i * bits + k] != codes[j * bits + k])
                        .count() as f64;
                    if y[i] == y[j] {
                        same += h;
                        ns += 1;
                    } else {
                        diff += h;
                        nd += 1;
                    }
                }
            }
            assert!(same / ns as f64 + 1.0 < diff / nd as f64);
        }
    }

    #[test]
    #[should_panic(expected = "num_bits ≤ d")]
    fn pcah_rejects_too_many_bits() {
        Pcah::fit(&PcahConfig::new(9), &[0.0; 16], 8);
    }
}
