//! # lthnet
//!
//! Learning compact binary hash codes from **long-tail** labelled data and searching them by
//! Hamming distance, in pure Rust on [Burn](https://burn.dev). It implements LTHNet
//! (Long-Tail Hashing Network, Chen et al., SIGIR 2021) and the methods it is judged against.
//!
//! This crate is the facade: it re-exports the member crates as named modules.
//!
//! | module | crate | what |
//! |---|---|---|
//! | [`model`] | `lthnet-core` | backbones, the LTHNet head, the Algorithm 1 trainer |
//! | [`memory`] | `lthnet-memory` | class centroids + DPP prototypes (fast greedy MAP inference) |
//! | [`loss`] | `lthnet-loss` | CE, class-balanced CE, square loss, DCWH, IDCWH, CSQ |
//! | [`data`] | `lthnet-data` | CIFAR-10/100, image folders, list files, IDX; long-tail splits |
//! | [`retrieval`] | `lthnet-retrieval` | packed codes, Hamming search, MAP and friends |
//! | [`baselines`] | `lthnet-baselines` | LSH, PCAH, ITQ on the same features |
//! | [`flex`] | `lthnet-flex` | the `flex` backend's convolution with GEMM gradients (feature `flex`) |
//!
//! ## Feature flags
//!
//! Backends are chosen at compile time; the modules are generic over `B: Backend`.
//!
//! - `flex` *(default)*: Burn's `flex` CPU backend — faster than `ndarray` for LTHNet's shapes
//!   (see `docs/benchmarks.md`).
//! - `ndarray`: Burn's `ndarray` CPU backend.
//! - `wgpu`: GPU through wgpu (Vulkan, Metal, DX12).
//! - `cuda`: NVIDIA GPUs through CUDA (needs `libcuda` at run time only).
//! - `x86-v4` *(default, acts with `flex`)*: AVX-512 matrix-multiply kernels, picked at run
//!   time on CPUs that have AVX-512 (others keep the AVX2 ones). On an Intel Xeon with
//!   full-width 512-bit FMA units the CNN training step at batch 128 took about 30% less time;
//!   on an AMD EPYC (Zen 4, AVX-512 as two 256-bit halves) it made no difference
//!   (`docs/benchmarks.md`). Turn it off with `default-features = false, features = ["flex"]`
//!   to save its build time.
//!
//! [`backend`] holds the type aliases the features select.
//!
//! ## Train and evaluate in ten lines
//!
//! Features in, codes and MAP out: a [`FeatureSplit`](experiment::FeatureSplit) holds the
//! training, query and database items (here four long-tailed synthetic classes; in practice
//! backbone features, e.g. [`experiment::Cifar100Features`]), a [`TrainConfig`](prelude::TrainConfig)
//! the model and Algorithm 1's settings.
//!
//! ```
//! use lthnet::experiment::{FeatureSplit, Method, run_method};
//! use lthnet::prelude::*;
//! use lthnet::report::evaluate_codes;
//! # fn blobs(per_class: &[usize], salt: u32) -> FeatureSource {
//! #     // Four Gaussian-ish clusters in 16-d (a hash-based PRNG keeps the doctest dependency-free).
//! #     let mut state = 0x9E37_79B9u32 ^ salt;
//! #     let mut noise = move || { state ^= state << 13; state ^= state >> 17; state ^= state << 5;
//! #         (state as f32 / u32::MAX as f32) - 0.5 };
//! #     let (mut x, mut y) = (Vec::new(), Vec::new());
//! #     for (c, &n) in per_class.iter().enumerate() {
//! #         for _ in 0..n {
//! #             x.extend((0..16).map(|j| if j % 4 == c { 0.5 } else { 0.0 } + noise()));
//! #             y.push(c as u32);
//! #         }
//! #     }
//! #     FeatureSource::new(x, 16, y)
//! # }
//! # fn main() -> Result<(), lthnet::model::CoreError> {
//! let split = FeatureSplit {
//!     train: blobs(&[40, 20, 10, 5], 1), // long-tailed training set
//!     query: blobs(&[20; 4], 2),
//!     database: blobs(&[50; 4], 3),
//! };
//! let config = TrainConfig::new(LthNetHeadConfig::new(16, 4, 32).with_d_feature(64))
//!     .with_num_epochs(10)
//!     .with_learning_rate(1e-3);
//! let method = Method::LthNet { name: "LTHNet".into(), config };
//! let codes = run_method::<Autodiff<Cpu>>(&method, &split, 32, &Default::default(), &RunOptions::default())?;
//! let report = evaluate_codes("LTHNet", &codes, split.query.labels(), split.database.labels(), &split.train_class_sizes())?;
//! println!("MAP@all {:.3}", report.eval.map);
//! assert!(report.eval.map > 0.7); // 0.79 here; LSH on the same features: 0.59
//! # Ok(())
//! # }
//! ```

/// Kernels for the `flex` CPU backend that burn-flex 0.21 lacks (`lthnet-flex`): a 2D
/// convolution with im2col + GEMM forward and gradients, which the backbones use.
#[cfg(feature = "flex")]
pub mod flex {
    pub use lthnet_flex::*;
}

/// The LTHNet model, backbones and trainer (`lthnet-core`).
pub mod model {
    pub use lthnet_core::*;
}

/// The DPP-enriched memory (`lthnet-memory`).
pub mod memory {
    pub use lthnet_memory::*;
}

/// Hashing losses (`lthnet-loss`).
pub mod loss {
    pub use lthnet_loss::*;
}

/// Datasets and long-tail splits (`lthnet-data`).
pub mod data {
    pub use lthnet_data::*;
}

/// Binary codes, Hamming search and ranking metrics (`lthnet-retrieval`).
pub mod retrieval {
    pub use lthnet_retrieval::*;
}

/// Shallow hashing baselines: LSH, PCAH, ITQ (`lthnet-baselines`).
pub mod baselines {
    pub use lthnet_baselines::*;
}

pub mod experiment;
pub mod paper;
pub mod report;

/// Backend type aliases selected by the crate features.
pub mod backend {
    pub use burn::backend::Autodiff;

    /// The default CPU backend (`flex` when enabled, else `ndarray`).
    #[cfg(feature = "flex")]
    pub type Cpu = burn::backend::Flex;
    /// The default CPU backend (`flex` when enabled, else `ndarray`).
    #[cfg(all(feature = "ndarray", not(feature = "flex")))]
    pub type Cpu = burn::backend::NdArray;

    /// The backend the enabled features select, the one the examples run on: `cuda` if enabled,
    /// else `wgpu`, else the CPU backend.
    #[cfg(feature = "cuda")]
    pub type Selected = burn::backend::Cuda;
    /// The backend the enabled features select, the one the examples run on: `cuda` if enabled,
    /// else `wgpu`, else the CPU backend.
    #[cfg(all(feature = "wgpu", not(feature = "cuda")))]
    pub type Selected = burn::backend::Wgpu;
    /// The backend the enabled features select, the one the examples run on: `cuda` if enabled,
    /// else `wgpu`, else the CPU backend.
    #[cfg(not(any(feature = "cuda", feature = "wgpu")))]
    pub type Selected = Cpu;

    /// Burn's `ndarray` backend.
    #[cfg(feature = "ndarray")]
    pub type NdArray = burn::backend::NdArray;
    /// Burn's `wgpu` backend.
    #[cfg(feature = "wgpu")]
    pub type Wgpu = burn::backend::Wgpu;
    /// Burn's `cuda` backend.
    #[cfg(feature = "cuda")]
    pub type Cuda = burn::backend::Cuda;

    /// Build rayon's global thread pool, the one the CPU backends run their parallel loops on
    /// (`flex`, `ndarray`, gemm and `lthnet-flex`'s kernels), with the calling thread as one of
    /// its `threads` workers (`None`: `RAYON_NUM_THREADS`, else one per CPU).
    ///
    /// Call it once, first thing in `main`, before any tensor op. Without it rayon starts
    /// `threads` workers *beside* the calling thread; the caller then runs a training step's
    /// serial parts (autodiff bookkeeping, small ops) while the idle workers spin, so with as
    /// many workers as cores there is one runnable thread too many and the caller is preempted.
    /// With the caller as worker 0 (what PyTorch's intra-op pool does) the CifarNet training
    /// step went from 11,000–17,000 involuntary context switches per bench run to 200–700 on
    /// two cores (`docs/benchmarks.md`). The examples, benches and the `lthnet` CLI call it.
    ///
    /// # Errors
    /// If the global pool already exists (a parallel op ran before, or a second call).
    ///
    /// # Example
    /// ```
    /// lthnet::backend::init_cpu_thread_pool(Some(2)).expect("first call");
    /// assert!(lthnet::backend::init_cpu_thread_pool(Some(2)).is_err());
    /// ```
    pub fn init_cpu_thread_pool(threads: Option<usize>) -> Result<(), rayon::ThreadPoolBuildError> {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads.unwrap_or(0))
            .use_current_thread()
            .build_global()
    }
}

/// Re-export of Burn, so users need not pin it themselves.
pub use burn;

/// The types most programs need.
pub mod prelude {
    pub use crate::backend::*;
    pub use lthnet_core::train::{LossKind, RunOptions, TrainConfig, train};
    pub use lthnet_core::{FeatureSource, LthNetHead, LthNetHeadConfig, MetaEmbedding, Source};
}
