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
//!
//! [`backend`] holds the type aliases the features select.

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

    /// Burn's `ndarray` backend.
    #[cfg(feature = "ndarray")]
    pub type NdArray = burn::backend::NdArray;
    /// Burn's `wgpu` backend.
    #[cfg(feature = "wgpu")]
    pub type Wgpu = burn::backend::Wgpu;
    /// Burn's `cuda` backend.
    #[cfg(feature = "cuda")]
    pub type Cuda = burn::backend::Cuda;
}

/// Re-export of Burn, so users need not pin it themselves.
pub use burn;

/// The types most programs need.
pub mod prelude {
    pub use crate::backend::*;
    pub use lthnet_core::train::{LossKind, RunOptions, TrainConfig, train};
    pub use lthnet_core::{FeatureSource, LthNetHead, LthNetHeadConfig, MetaEmbedding, Source};
}
