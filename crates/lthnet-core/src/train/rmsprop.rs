//! RMSprop with PyTorch's semantics, updated in one fused pass per parameter on CPU backends.
//!
//! PyTorch's `torch.optim.RMSprop` (no momentum, not centred), which the paper and the authors'
//! code use:
//!
//! ```text
//! g ← g + λ·p                 (L2 weight decay added to the gradient)
//! v ← α·v + (1 − α)·g²
//! p ← p − η·g / (√v + ε)      (ε outside the square root)
//! ```
//!
//! Burn's `RmsProp` computes the same thing (with `momentum 0`, `epsilon 1e-8`) as about eleven
//! whole-tensor operations per parameter, each a pass over memory, and keeps the running
//! average twice in its state. At the paper's batch size of 8 that optimizer was the largest
//! part of a training step of the LTHNet head (`docs/benchmarks.md`). [`TorchRmsProp`] does the
//! three lines above in a single pass over the parameter, its gradient and its running average
//! when the tensors live in host memory (`flex` and `ndarray`, `f32`); on other backends (GPU) or
//! element types it uses the equivalent tensor operations. Both paths compute the same values in
//! the same order of `f32` operations.

use burn::config::Config;
use burn::module::AutodiffModule;
use burn::optim::SimpleOptimizer;
use burn::optim::adaptor::OptimizerAdaptor;
use burn::prelude::*;
use burn::record::Record;
use burn::tensor::DType;
use burn::tensor::backend::AutodiffBackend;
use rayon::prelude::*;

/// How [`TorchRmsProp`] updates a parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum RmsPropUpdate {
    /// The fused host pass for `f32` tensors on the `flex` and `ndarray` CPU backends, tensor
    /// operations elsewhere (the default).
    Auto,
    /// Always whole-tensor operations (any backend, any float type).
    TensorOps,
}

/// Configuration of [`TorchRmsProp`].
#[derive(Config, Debug)]
pub struct TorchRmsPropConfig {
    /// Smoothing constant α of the running average of squared gradients.
    #[config(default = 0.99)]
    pub alpha: f64,
    /// ε added to √v (outside the square root, as PyTorch).
    #[config(default = 1e-8)]
    pub epsilon: f64,
    /// L2 weight decay λ added to the gradient.
    #[config(default = 0.0)]
    pub weight_decay: f64,
    /// Fused host pass or tensor operations.
    #[config(default = "RmsPropUpdate::Auto")]
    pub update: RmsPropUpdate,
}

impl TorchRmsPropConfig {
    /// The optimizer for module `M` on autodiff backend `B`.
    pub fn init<B: AutodiffBackend, M: AutodiffModule<B>>(
        &self,
    ) -> OptimizerAdaptor<TorchRmsProp, M, B> {
        OptimizerAdaptor::from(TorchRmsProp {
            alpha: self.alpha as f32,
            epsilon: self.epsilon as f32,
            weight_decay: self.weight_decay as f32,
            update: self.update,
        })
    }
}

/// RMSprop with PyTorch's semantics (see the module docs). Build it with
/// [`TorchRmsPropConfig::init`].
#[derive(Debug, Clone)]
pub struct TorchRmsProp {
    alpha: f32,
    epsilon: f32,
    weight_decay: f32,
    update: RmsPropUpdate,
}

/// The per-parameter state of [`TorchRmsProp`]: the running average of squared gradients.
#[derive(Record, Clone)]
pub struct TorchRmsPropState<B: Backend, const D: usize> {
    /// `v`, the running average of `g²`.
    pub square_avg: Tensor<B, D>,
}

/// Parameters below this many elements are updated on one thread.
const PARALLEL_CHUNK: usize = 1 << 15;

/// The constants of one update.
#[derive(Clone, Copy)]
struct UpdateCoefficients {
    lr: f32,
    alpha: f32,
    one_minus_alpha: f32,
    eps: f32,
    wd: f32,
}

/// The update on matching slices, in plain Rust that the compiler vectorises for whatever
/// instruction set the caller is compiled for.
#[inline(always)]
fn update_kernel(c: UpdateCoefficients, p: &mut [f32], g: &[f32], v: &mut [f32]) {
    for ((p, &g), v) in p.iter_mut().zip(g).zip(v.iter_mut()) {
        let g = g + c.wd * *p;
        let s = *v * c.alpha + c.one_minus_alpha * (g * g);
        *v = s;
        *p -= c.lr * (g / (s.sqrt() + c.eps));
    }
}

/// [`update_kernel`] compiled with AVX2: eight lanes per `sqrt` and `div`, which bound the
/// pass, instead of baseline x86-64's four. FMA stays off and `sqrt`/`div` are correctly
/// rounded, so the results are bit-identical to the baseline build.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn update_kernel_avx2(c: UpdateCoefficients, p: &mut [f32], g: &[f32], v: &mut [f32]) {
    update_kernel(c, p, g, v);
}

/// [`update_kernel`] with the widest instruction set this CPU has.
fn update_kernel_dispatch(c: UpdateCoefficients, p: &mut [f32], g: &[f32], v: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2 (detected just above).
        unsafe { update_kernel_avx2(c, p, g, v) };
        return;
    }
    update_kernel(c, p, g, v);
}

impl TorchRmsProp {
    /// The update in one pass over host slices.
    fn update_slices(&self, lr: f32, p: &mut [f32], g: &[f32], v: &mut [f32]) {
        let c = UpdateCoefficients {
            lr,
            alpha: self.alpha,
            one_minus_alpha: 1.0 - self.alpha,
            eps: self.epsilon,
            wd: self.weight_decay,
        };
        if p.len() < 2 * PARALLEL_CHUNK {
            update_kernel_dispatch(c, p, g, v);
        } else {
            p.par_chunks_mut(PARALLEL_CHUNK)
                .zip(g.par_chunks(PARALLEL_CHUNK))
                .zip(v.par_chunks_mut(PARALLEL_CHUNK))
                .for_each(|((p, g), v)| update_kernel_dispatch(c, p, g, v));
        }
    }
}

impl<B: Backend> SimpleOptimizer<B> for TorchRmsProp {
    type State<const D: usize> = TorchRmsPropState<B, D>;

    fn step<const D: usize>(
        &self,
        lr: f64,
        tensor: Tensor<B, D>,
        grad: Tensor<B, D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<B, D>, Option<Self::State<D>>) {
        let lr = lr as f32;
        let device = tensor.device();
        let host = self.update == RmsPropUpdate::Auto
            && matches!(B::name(&device).as_str(), "flex" | "ndarray")
            && tensor.dtype() == DType::F32
            && grad.dtype() == DType::F32
            && state
                .as_ref()
                .is_none_or(|s| s.square_avg.dtype() == DType::F32);
        if host {
            // `into_data` hands over flex's buffer without a copy when the tensor is not
            // shared, and `from_data` takes it back the same way: the update runs in place.
            // (`into_vec`/`TensorData::new` would copy twice per tensor to change alignment.)
            let mut p = tensor.into_data();
            let g = grad.into_data();
            let mut v = match state {
                Some(s) => s.square_avg.into_data(),
                None => TensorData::zeros::<f32, _>(p.shape.clone()),
            };
            self.update_slices(
                lr,
                p.as_mut_slice::<f32>()
                    .expect("f32 tensor data (dtype checked)"),
                g.as_slice::<f32>()
                    .expect("f32 tensor data (dtype checked)"),
                v.as_mut_slice::<f32>()
                    .expect("f32 tensor data (dtype checked)"),
            );
            let p = Tensor::from_data(p, &device);
            let v = Tensor::from_data(v, &device);
            return (p, Some(TorchRmsPropState { square_avg: v }));
        }
        let g = if self.weight_decay != 0.0 {
            grad.add(tensor.clone().mul_scalar(self.weight_decay))
        } else {
            grad
        };
        let g2 = g.clone().square().mul_scalar(1.0 - self.alpha);
        let v = match state {
            Some(s) => s.square_avg.mul_scalar(self.alpha).add(g2),
            None => g2,
        };
        let step = g
            .div(v.clone().sqrt().add_scalar(self.epsilon))
            .mul_scalar(lr);
        (tensor.sub(step), Some(TorchRmsPropState { square_avg: v }))
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &B::Device) -> Self::State<D> {
        TorchRmsPropState {
            square_avg: state.square_avg.to_device(device),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;
    use burn::optim::RmsPropConfig;
    use burn::optim::decay::WeightDecayConfig;

    /// `n` deterministic values in ±[0.1, 1.1): gradients well away from zero, so that the
    /// comparison is not at the mercy of RMSprop's sign-like first steps.
    fn values(n: usize, salt: usize) -> Vec<f32> {
        (0..n)
            .map(|i| {
                let u = ((i * 7919 + salt * 104_729) % 1000) as f32 / 1000.0;
                let sign = if (i + salt).is_multiple_of(3) {
                    -1.0
                } else {
                    1.0
                };
                sign * (0.1 + u)
            })
            .collect()
    }

    /// Run five steps of `opt` on a `[rows, 250]` parameter with fixed gradients.
    fn five_steps<O: SimpleOptimizer<Flex>>(opt: &O, rows: usize) -> Vec<f32> {
        let device = Default::default();
        let t =
            |v: Vec<f32>| Tensor::<Flex, 2>::from_data(TensorData::new(v, [rows, 250]), &device);
        let n = rows * 250;
        let mut p = t(values(n, 0));
        let mut state = None;
        for step in 1..=5 {
            let (next, s) = opt.step(1e-3, p, t(values(n, step)), state);
            p = next;
            state = s;
        }
        p.into_data().into_vec::<f32>().unwrap()
    }

    /// The fused pass, the tensor-op path and Burn's `RmsProp` configured as PyTorch's agree
    /// over five steps with weight decay, on parameters below and above the parallel threshold.
    #[test]
    fn fused_and_tensor_paths_match_burns_rmsprop() {
        let ours = |update| TorchRmsProp {
            alpha: 0.99,
            epsilon: 1e-8,
            weight_decay: 5e-4,
            update,
        };
        let burn_rms = RmsPropConfig::new()
            .with_momentum(0.0)
            .with_epsilon(1e-8)
            .with_weight_decay(Some(WeightDecayConfig::new(5e-4)))
            .build();
        for rows in [3, 400] {
            let start = values(rows * 250, 0);
            let reference = five_steps(&burn_rms, rows);
            let moved = reference
                .iter()
                .zip(&start)
                .filter(|(a, b)| (*a - *b).abs() > 1e-3)
                .count();
            assert!(
                moved > reference.len() * 9 / 10,
                "only {moved} of {} weights moved by > 1e-3",
                reference.len()
            );
            for (name, w) in [
                ("fused", five_steps(&ours(RmsPropUpdate::Auto), rows)),
                (
                    "tensor ops",
                    five_steps(&ours(RmsPropUpdate::TensorOps), rows),
                ),
            ] {
                let worst = w
                    .iter()
                    .zip(&reference)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0f32, f32::max);
                assert!(
                    worst < 1e-6,
                    "{name} ({rows} rows) differs from burn's RmsProp by {worst}"
                );
            }
        }
    }

    /// The kernel the CPU dispatch picks (AVX2 on this project's machines) gives, over full
    /// vectors and a scalar tail, exactly the bits of PyTorch's three lines evaluated one
    /// element at a time: the dispatch adds no dependence on the CPU of its own.
    #[test]
    fn dispatched_kernel_matches_scalar_reference_bit_for_bit() {
        let (lr, alpha, eps, wd) = (1e-3f32, 0.99f32, 1e-8f32, 5e-4f32);
        let c = UpdateCoefficients {
            lr,
            alpha,
            one_minus_alpha: 1.0 - alpha,
            eps,
            wd,
        };
        // 1,003 elements: full vectors of any width plus a tail.
        let g = values(1003, 1);
        let start = values(1003, 0);
        let (mut p, mut v) = (start.clone(), vec![0.0f32; 1003]);
        let (mut p_ref, mut v_ref) = (start.clone(), vec![0.0f32; 1003]);
        for _ in 0..3 {
            update_kernel_dispatch(c, &mut p, &g, &mut v);
            for i in 0..p_ref.len() {
                let gi = g[i] + wd * p_ref[i];
                v_ref[i] = v_ref[i] * alpha + (1.0 - alpha) * (gi * gi);
                p_ref[i] -= lr * (gi / (v_ref[i].sqrt() + eps));
            }
        }
        let bits = |x: &[f32]| x.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&p), bits(&p_ref), "parameters differ");
        assert_eq!(bits(&v), bits(&v_ref), "running averages differ");
        assert_ne!(bits(&p), bits(&start), "the update did nothing");
    }

    /// One step from zero state matches the closed form.
    #[test]
    fn first_step_closed_form() {
        let opt = TorchRmsProp {
            alpha: 0.99,
            epsilon: 1e-8,
            weight_decay: 0.1,
            update: RmsPropUpdate::Auto,
        };
        let start = [(1.0f32, 0.2f32), (-2.0, 0.0), (0.5, -1.0)];
        let mut p: Vec<f32> = start.iter().map(|s| s.0).collect();
        let g: Vec<f32> = start.iter().map(|s| s.1).collect();
        let mut v = vec![0.0f32; 3];
        opt.update_slices(0.01, &mut p, &g, &mut v);
        for (i, &(p0, g0)) in start.iter().enumerate() {
            let g = g0 as f64 + 0.1 * p0 as f64;
            let s = 0.01 * g * g;
            assert!(
                (v[i] as f64 - s).abs() < 1e-5 * s,
                "v[{i}] = {} vs {s}",
                v[i]
            );
            let p1 = p0 as f64 - 0.01 * g / (s.sqrt() + 1e-8);
            assert!((p[i] as f64 - p1).abs() < 1e-6, "p[{i}] = {} vs {p1}", p[i]);
        }
    }
}
