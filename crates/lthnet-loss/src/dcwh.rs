//! DCWH: deep class-wise hashing (Zhe, Chen, Yan, IEEE TNNLS 2020), and the IDCWH extension with
//! centre-similarity learning (Zhang & Yan, ICPR 2020).
//!
//! The class-wise loss is softmax cross-entropy over `z_ij = −‖h_i − μ_j‖² / (2σ²)` (a normalised
//! Gaussian), with `‖h − μ‖² = ‖h‖² + ‖μ‖² − 2⟨h, μ⟩` computed as one matmul and clamped at 0.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::loss::Reduction;
use burn::prelude::*;
use burn::tensor::Int;
use burn::tensor::activation::relu;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::stable_softplus as softplus;

use crate::cross_entropy::cross_entropy_no_reduction;

/// When DCWH's class centres are recomputed from the continuous codes.
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub enum CentreUpdate {
    /// Every `n` epochs (the re-implementation uses 2).
    EveryEpochs(usize),
}

impl CentreUpdate {
    /// Whether the centres are recomputed before epoch `epoch` (0-based).
    pub fn due(&self, epoch: usize) -> bool {
        match *self {
            CentreUpdate::EveryEpochs(n) => n > 0 && epoch.is_multiple_of(n),
        }
    }
}

/// Squared distances `[batch, num_classes]` between codes and centres, clamped at 0.
fn sq_distances<B: Backend>(h: Tensor<B, 2>, centres: Tensor<B, 2>) -> Tensor<B, 2> {
    let [batch, _] = h.dims();
    let [classes, _] = centres.dims();
    let hh = h.clone().powi_scalar(2).sum_dim(1); // [batch, 1]
    let cc = centres
        .clone()
        .powi_scalar(2)
        .sum_dim(1)
        .reshape([1, classes]);
    let cross = h.matmul(centres.transpose()); // [batch, classes]
    (hh.expand([batch, classes]) + cc.expand([batch, classes]) - cross.mul_scalar(2.0))
        .clamp_min(0.0)
}

/// The DCWH class-wise cross-entropy per sample.
fn classwise<B: Backend>(
    h: Tensor<B, 2>,
    targets: Tensor<B, 1, Int>,
    centres: Tensor<B, 2>,
    inv_sigma_sq: f64,
) -> Tensor<B, 1> {
    let logits = sq_distances(h, centres).mul_scalar(-0.5 * inv_sigma_sq);
    cross_entropy_no_reduction(logits, targets)
}

/// Reduce per-sample losses `[batch]` to `[1]`: `Mean`/`Auto`/`BatchMean` average, `Sum` sums.
pub(crate) fn reduce<B: Backend>(per_sample: Tensor<B, 1>, reduction: &Reduction) -> Tensor<B, 1> {
    match reduction {
        Reduction::Sum => per_sample.sum(),
        Reduction::Mean | Reduction::Auto | Reduction::BatchMean => per_sample.mean(),
    }
}

/// sgn with sgn(0) = +1.
fn sign<B: Backend, const D: usize>(x: Tensor<B, D>) -> Tensor<B, D> {
    x.greater_equal_elem(0.0)
        .float()
        .mul_scalar(2.0)
        .sub_scalar(1.0)
}

/// Configuration of [`DcwhLoss`].
#[derive(Config, Debug)]
pub struct DcwhLossConfig {
    /// 1/σ² of the normalised Gaussian.
    #[config(default = 1.0)]
    pub inv_sigma_sq: f64,
    /// Weight of the cubic constraint Σ relu(|h| − 1.1).
    #[config(default = 10.0)]
    pub cubic_weight: f64,
    /// Weight of the vertex constraint ‖sgn(h) − h‖².
    #[config(default = 0.01)]
    pub vertex_weight: f64,
    /// Batch reduction of [`DcwhLoss::forward`] (mean by default; `Sum` sums).
    #[config(default = "Reduction::Mean")]
    pub reduction: Reduction,
}

impl DcwhLossConfig {
    /// Build the loss.
    ///
    /// # Panics
    /// If `inv_sigma_sq` is not positive.
    pub fn init(&self) -> DcwhLoss {
        assert!(
            self.inv_sigma_sq > 0.0,
            "inv_sigma_sq must be positive, got {}",
            self.inv_sigma_sq
        );
        DcwhLoss {
            inv_sigma_sq: self.inv_sigma_sq,
            cubic_weight: self.cubic_weight,
            vertex_weight: self.vertex_weight,
            reduction: self.reduction.clone(),
        }
    }
}

/// DCWH (Zhe, Chen, Yan, *Deep Class-Wise Hashing*, IEEE TNNLS 2020): per sample
///
/// `ℓ_b = −log softmax_j(−‖h_b − μ_j‖² / (2σ²))_{y_b} + w_c·Σ relu(|h_b| − 1.1) + w_v·‖sgn(h_b) − h_b‖²`
///
/// with fixed centres `μ` passed to `forward` (constants: recompute them with [`class_means`] on
/// the schedule of a [`CentreUpdate`]), `D = ‖h‖² + ‖μ‖² − 2hμᵀ` clamped at 0 and the CE by
/// log-sum-exp. Each term is averaged over the batch exactly once (the re-implementation
/// divides some terms by the batch size twice); `sgn` (with sgn(0) = +1) has no gradient.
#[derive(Module, Debug, Clone)]
pub struct DcwhLoss {
    inv_sigma_sq: f64,
    cubic_weight: f64,
    vertex_weight: f64,
    #[module(skip)]
    reduction: Reduction,
}

impl DcwhLoss {
    /// Per-sample total loss.
    ///
    /// # Shapes
    /// - `h`: `[batch, bits]`, `targets`: `[batch]`, `centres`: `[num_classes, bits]` → `[batch]`
    pub fn forward_no_reduction<B: Backend>(
        &self,
        h: Tensor<B, 2>,
        targets: Tensor<B, 1, Int>,
        centres: Tensor<B, 2>,
    ) -> Tensor<B, 1> {
        let [batch, _] = h.dims();
        let clw = classwise(h.clone(), targets, centres, self.inv_sigma_sq);
        let cubic = relu(h.clone().abs().sub_scalar(1.1))
            .sum_dim(1)
            .reshape([batch]);
        let vertex = (sign(h.clone().detach()) - h)
            .powi_scalar(2)
            .sum_dim(1)
            .reshape([batch]);
        clw + cubic.mul_scalar(self.cubic_weight) + vertex.mul_scalar(self.vertex_weight)
    }

    /// The batch loss, reduced as configured (mean by default).
    ///
    /// # Arguments
    /// - `h`: the continuous (tanh) codes.
    /// - `targets`: class indices in `0..num_classes`.
    /// - `centres`: the class centres, treated as constants (detach them if they carry a graph).
    ///
    /// # Shapes
    /// - `h`: `[batch, bits]`, `targets`: `[batch]`, `centres`: `[num_classes, bits]` → `[1]`
    pub fn forward<B: Backend>(
        &self,
        h: Tensor<B, 2>,
        targets: Tensor<B, 1, Int>,
        centres: Tensor<B, 2>,
    ) -> Tensor<B, 1> {
        reduce(
            self.forward_no_reduction(h, targets, centres),
            &self.reduction,
        )
    }
}

/// Class means of continuous codes (`labels.len() × bits`, row-major), accumulated in f64.
/// A class without samples keeps `previous`'s row when given, else is an error naming it.
pub fn class_means(
    codes: &[f32],
    bits: usize,
    labels: &[u32],
    num_classes: usize,
    previous: Option<&[f32]>,
) -> Result<Vec<f32>, String> {
    let mut sums = vec![0f64; num_classes * bits];
    let mut counts = vec![0usize; num_classes];
    for (row, &l) in codes.chunks_exact(bits).zip(labels) {
        let c = l as usize;
        if c >= num_classes {
            return Err(format!("label {l} outside 0..{num_classes}"));
        }
        counts[c] += 1;
        for (s, &v) in sums[c * bits..(c + 1) * bits].iter_mut().zip(row) {
            *s += v as f64;
        }
    }
    let mut out = vec![0f32; num_classes * bits];
    for c in 0..num_classes {
        let dst = &mut out[c * bits..(c + 1) * bits];
        if counts[c] == 0 {
            match previous {
                Some(p) => dst.copy_from_slice(&p[c * bits..(c + 1) * bits]),
                None => return Err(format!("class {c} has no samples: its centre is undefined")),
            }
        } else {
            for (d, s) in dst.iter_mut().zip(&sums[c * bits..(c + 1) * bits]) {
                *d = (*s / counts[c] as f64) as f32;
            }
        }
    }
    Ok(out)
}

/// Configuration of [`IdcwhLoss`].
#[derive(Config, Debug)]
pub struct IdcwhLossConfig {
    /// Number of classes C.
    pub num_classes: usize,
    /// Code length l.
    pub bits: usize,
    /// Weight γ of the centre-similarity loss.
    pub gamma: f64,
    /// Weight β of the quantisation loss ‖b − h‖².
    pub beta: f64,
    /// 1/σ² of the class-wise loss.
    pub inv_sigma_sq: f64,
    /// Seed of the N(0, 1) initial centres (ChaCha8, independent of the backend's RNG).
    #[config(default = 0)]
    pub seed: u64,
    /// How `L_csl` is reduced over the Z × C (batch label, centre) pairs: `Sum` (the slides'
    /// Σ, the default), `Mean`/`Auto` (mean over the pairs, so γ does not scale with C) or
    /// `BatchMean` (sum divided by Z).
    #[config(default = "Reduction::Sum")]
    pub csl_reduction: Reduction,
}

impl IdcwhLossConfig {
    fn assertions(&self) {
        assert!(
            self.num_classes > 0 && self.bits > 0,
            "num_classes and bits must be positive, got {} and {}",
            self.num_classes,
            self.bits
        );
        assert!(
            self.inv_sigma_sq > 0.0,
            "inv_sigma_sq must be positive, got {}",
            self.inv_sigma_sq
        );
        assert!(
            self.gamma >= 0.0 && self.beta >= 0.0,
            "gamma and beta must be non-negative, got {} and {}",
            self.gamma,
            self.beta
        );
    }

    /// Build the loss with learnable centres drawn from N(0, 1) with [`IdcwhLossConfig::seed`]
    /// (the same centres on every backend).
    ///
    /// # Panics
    /// If a size is zero, `inv_sigma_sq` is not positive or a weight is negative.
    pub fn init<B: Backend>(&self, device: &B::Device) -> IdcwhLoss<B> {
        self.assertions();
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        let values: Vec<f32> = (0..self.num_classes * self.bits)
            .map(|_| {
                // Box–Muller.
                let u: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
                let v: f64 = rng.random();
                ((-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()) as f32
            })
            .collect();
        let centres = Tensor::from_data(
            TensorData::new(values, [self.num_classes, self.bits]),
            device,
        );
        IdcwhLoss {
            centres: Param::from_tensor(centres),
            gamma: self.gamma,
            beta: self.beta,
            inv_sigma_sq: self.inv_sigma_sq,
            csl_reduction: self.csl_reduction.clone(),
        }
    }
}

/// IDCWH (Zhang & Yan, *Improved Deep Classwise Hashing With Centers Similarity Learning*,
/// ICPR 2020): `L_clw(h; μ) + γ·L_csl(U, μ) + β·L_quant`, with learnable centres `μ` (a
/// parameter of this module: optimise it together with the network).
///
/// - `L_clw`: the DCWH class-wise CE (see [`DcwhLoss`]) to the learnable centres, batch mean.
/// - `U`: one binary centre per distinct label z in the batch,
///   `u_z = sgn(Σ_{b: y_b = z} sgn(h_b))` (a bitwise majority vote of exact integer-valued sums,
///   ties → +1), a constant for autodiff, so `L_csl` reaches only `μ`.
/// - `L_csl = Σ_{z, j} softplus(θ_zj) − s_zj·θ_zj` with `θ_zj = ½·l·cos(u_z, μ_j)` and
///   `s_zj = 1{z = j}`, softplus computed stably; reduced over the pairs as configured
///   ([`IdcwhLossConfig::csl_reduction`], the slides' sum by default).
/// - `L_quant = mean_b ‖sgn(h_b) − h_b‖²`.
#[derive(Module, Debug)]
pub struct IdcwhLoss<B: Backend> {
    /// Learnable class centres `[num_classes, bits]`.
    pub centres: Param<Tensor<B, 2>>,
    gamma: f64,
    beta: f64,
    inv_sigma_sq: f64,
    #[module(skip)]
    csl_reduction: Reduction,
}

impl<B: Backend> IdcwhLoss<B> {
    /// The centre-similarity loss `L_csl` alone (its gradient reaches only the centres).
    ///
    /// # Shapes
    /// - `h`: `[batch, bits]`, `targets`: `[batch]` → `[1]`
    pub fn centre_similarity(&self, h: Tensor<B, 2>, targets: Tensor<B, 1, Int>) -> Tensor<B, 1> {
        let mu = self.centres.val();
        let [classes, bits] = mu.dims();
        let y = targets.one_hot::<2>(classes).float(); // [batch, C]
        let votes = y.clone().transpose().matmul(sign(h.detach())); // [C, bits]
        let present = y.sum_dim(0).reshape([classes, 1]).greater_elem(0.0).float(); // [C, 1]
        let u = sign(votes); // [C, bits]; rows of absent classes are unused
        let mu_norm = mu.clone().powi_scalar(2).sum_dim(1).sqrt().clamp_min(1e-12); // [C, 1]
        let cos = u.matmul(mu.transpose()).div_scalar((bits as f32).sqrt())
            / mu_norm.reshape([1, classes]).expand([classes, classes]);
        let theta = cos.mul_scalar(0.5 * bits as f32);
        let s = Tensor::<B, 2>::eye(classes, &theta.device());
        let term =
            (softplus(theta.clone()) - s * theta) * present.clone().expand([classes, classes]);
        let total = term.sum();
        let z = present.sum();
        match self.csl_reduction {
            Reduction::Sum => total,
            Reduction::Mean | Reduction::Auto => total / z.mul_scalar(classes as f32),
            Reduction::BatchMean => total / z,
        }
    }

    /// Per-sample class-wise + quantisation losses (the centre-similarity term is a batch term;
    /// see [`IdcwhLoss::forward`]).
    ///
    /// # Shapes
    /// - `h`: `[batch, bits]`, `targets`: `[batch]` → `[batch]`
    pub fn forward_no_reduction(
        &self,
        h: Tensor<B, 2>,
        targets: Tensor<B, 1, Int>,
    ) -> Tensor<B, 1> {
        let [batch, _] = h.dims();
        let clw = classwise(h.clone(), targets, self.centres.val(), self.inv_sigma_sq);
        let quant = (sign(h.clone().detach()) - h)
            .powi_scalar(2)
            .sum_dim(1)
            .reshape([batch]);
        clw + quant.mul_scalar(self.beta)
    }

    /// The full IDCWH objective.
    ///
    /// # Shapes
    /// - `h`: `[batch, bits]`, `targets`: `[batch]` → `[1]`
    pub fn forward(&self, h: Tensor<B, 2>, targets: Tensor<B, 1, Int>) -> Tensor<B, 1> {
        self.forward_no_reduction(h.clone(), targets.clone()).mean()
            + self.centre_similarity(h, targets).mul_scalar(self.gamma)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::{Autodiff, Flex};

    type TB = Flex;

    fn t2<B: Backend>(v: Vec<f32>, s: [usize; 2]) -> Tensor<B, 2> {
        Tensor::from_data(TensorData::new(v, s), &Default::default())
    }
    fn ti<B: Backend>(v: Vec<i64>) -> Tensor<B, 1, Int> {
        let n = v.len();
        Tensor::from_data(TensorData::new(v, [n]), &Default::default())
    }

    #[test]
    fn classwise_matches_numpy() {
        // numpy reference (tests/fixtures/make_fixtures.py, case "dcwh"):
        // h=[[.5,-.5],[.2,.9]], mu=[[1,-1],[-1,1],[1,1]], y=[0,2], inv_sigma_sq=1
        // d = [[.5,4.5,2.5],[4.25,1.45,.65]]; loss = mean(CE(-d/2))
        let loss = DcwhLossConfig::new()
            .with_cubic_weight(0.0)
            .with_vertex_weight(0.0)
            .init();
        let v = loss
            .forward(
                t2::<TB>(vec![0.5, -0.5, 0.2, 0.9], [2, 2]),
                ti::<TB>(vec![0, 2]),
                t2::<TB>(vec![1., -1., -1., 1., 1., 1.], [3, 2]),
            )
            .into_scalar();
        let ce = |d: [f64; 3], y: usize| {
            let z: Vec<f64> = d.iter().map(|x| -x / 2.0).collect();
            let m = z.iter().cloned().fold(f64::MIN, f64::max);
            let lse = m + z.iter().map(|x| (x - m).exp()).sum::<f64>().ln();
            lse - z[y]
        };
        let want = (ce([0.5, 4.5, 2.5], 0) + ce([4.25, 1.45, 0.65], 2)) / 2.0;
        assert!((v as f64 - want).abs() < 1e-5, "{v} vs {want}");
    }

    #[test]
    fn far_codes_stay_finite() {
        let loss = DcwhLossConfig::new().init();
        let v = loss
            .forward(
                t2::<TB>(vec![1e4, -1e4], [1, 2]),
                ti::<TB>(vec![1]),
                t2::<TB>(vec![1., 1., -1., -1.], [2, 2]),
            )
            .into_scalar();
        assert!(v.is_finite());
    }

    #[test]
    fn class_means_and_empty_classes() {
        let m = class_means(
            &[1.0, 2.0, 3.0, 4.0],
            2,
            &[1, 1],
            2,
            Some(&[9.0, 9.0, 0.0, 0.0]),
        )
        .unwrap();
        assert_eq!(m, vec![9.0, 9.0, 2.0, 3.0]);
        assert!(
            class_means(&[1.0, 2.0], 2, &[1], 2, None)
                .unwrap_err()
                .contains("class 0")
        );
        assert!(CentreUpdate::EveryEpochs(2).due(0) && !CentreUpdate::EveryEpochs(2).due(1));
    }

    #[test]
    fn idcwh_gradient_matches_finite_differences() {
        type AB = Autodiff<Flex>;
        let device = Default::default();
        AB::seed(&device, 1);
        let cfg = IdcwhLossConfig::new(3, 4, 0.5, 0.1, 1.0);
        let loss = cfg.init::<AB>(&device);
        let h0 = vec![0.3f32, -0.2, 0.7, -0.9, 0.1, 0.4, -0.5, 0.8];
        let y = vec![0i64, 2];
        let eval = |h: &[f32]| {
            loss.forward(t2::<AB>(h.to_vec(), [2, 4]), ti::<AB>(y.clone()))
                .into_scalar()
                .elem::<f64>()
        };
        let h = t2::<AB>(h0.clone(), [2, 4]).require_grad();
        let l = loss.forward(h.clone(), ti::<AB>(y.clone()));
        let grads = l.backward();
        let g = h.grad(&grads).unwrap().into_data().to_vec::<f32>().unwrap();
        for i in 0..h0.len() {
            let eps = 1e-2f32;
            let mut p = h0.clone();
            p[i] += eps;
            let mut m = h0.clone();
            m[i] -= eps;
            let fd = (eval(&p) - eval(&m)) / (2.0 * eps as f64);
            assert!(
                (fd - g[i] as f64).abs() < 2e-2 * (1.0 + fd.abs()),
                "grad {i}: fd {fd} vs {}",
                g[i]
            );
        }
        // The centres get a gradient from both the class-wise and centre-similarity terms.
        let cg = loss.centres.val().grad(&grads);
        assert!(cg.is_some());
    }
}
