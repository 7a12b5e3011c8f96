//! DCWH: deep class-wise hashing (Zhe, Chen, Yan, IEEE TNNLS 2020), and the IDCWH extension with
//! centre-similarity learning (Zhang & Yan, ICPR 2020).
//!
//! The class-wise loss is softmax cross-entropy over `z_ij = −‖h_i − μ_j‖² / (2σ²)` (a normalised
//! Gaussian), with `‖h − μ‖² = ‖h‖² + ‖μ‖² − 2⟨h, μ⟩` computed as one matmul and clamped at 0.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::prelude::*;
use burn::tensor::Int;
use burn::tensor::activation::relu;

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
        }
    }
}

/// DCWH: class-wise CE to fixed centres (passed to `forward`; recompute them with
/// [`class_means`] on the schedule of a [`CentreUpdate`]) plus the cubic and vertex constraints,
/// each averaged over the batch exactly once (the re-implementation divides some terms twice).
#[derive(Module, Debug, Clone)]
pub struct DcwhLoss {
    inv_sigma_sq: f64,
    cubic_weight: f64,
    vertex_weight: f64,
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

    /// Batch mean.
    ///
    /// # Shapes
    /// - `h`: `[batch, bits]`, `targets`: `[batch]`, `centres`: `[num_classes, bits]` → `[1]`
    pub fn forward<B: Backend>(
        &self,
        h: Tensor<B, 2>,
        targets: Tensor<B, 1, Int>,
        centres: Tensor<B, 2>,
    ) -> Tensor<B, 1> {
        self.forward_no_reduction(h, targets, centres).mean()
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
}

impl IdcwhLossConfig {
    /// Build the loss with learnable centres drawn from N(0, 1) (seed them with `B::seed`).
    ///
    /// # Panics
    /// If a size is zero or `inv_sigma_sq` is not positive.
    pub fn init<B: Backend>(&self, device: &B::Device) -> IdcwhLoss<B> {
        assert!(
            self.num_classes > 0 && self.bits > 0,
            "num_classes and bits must be positive"
        );
        assert!(self.inv_sigma_sq > 0.0, "inv_sigma_sq must be positive");
        let centres = Tensor::random(
            [self.num_classes, self.bits],
            burn::tensor::Distribution::Normal(0.0, 1.0),
            device,
        );
        IdcwhLoss {
            centres: Param::from_tensor(centres),
            gamma: self.gamma,
            beta: self.beta,
            inv_sigma_sq: self.inv_sigma_sq,
        }
    }
}

/// IDCWH: `L_clw(h; μ) + γ·L_csl(U, μ) + β·L_quant`, with learnable centres `μ` (a parameter of
/// this module: optimise it together with the network).
///
/// - `U`: one binary centre per distinct label in the batch, `u_z = sgn(Σ_{b: y_b = z} sgn(h_b))`
///   (a bitwise majority vote, ties → +1), a constant for autodiff.
/// - `L_csl = mean_{z, j} [softplus(θ_zj) − s_zj·θ_zj]` with `θ_zj = ½·l·cos(u_z, μ_j)`,
///   `s_zj = 1{z = j}`. **\[decision\]** averaged over the Z × C pairs (the slides sum them), so γ
///   does not scale with the number of classes.
/// - `L_quant = mean_b ‖sgn(h_b) − h_b‖²`.
#[derive(Module, Debug)]
pub struct IdcwhLoss<B: Backend> {
    /// Learnable class centres `[num_classes, bits]`.
    pub centres: Param<Tensor<B, 2>>,
    gamma: f64,
    beta: f64,
    inv_sigma_sq: f64,
}

impl<B: Backend> IdcwhLoss<B> {
    /// The centre-similarity loss alone.
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
        let z = present.sum();
        term.sum() / (z.mul_scalar(classes as f32))
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
